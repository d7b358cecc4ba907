#pragma once
// A key's metadata as the store keeps it: a JSON object in plaintext beside the
// sealed record, authenticated by the file's MAC. Decoding refuses any malformed
// value (Error tampered_store): under a valid MAC only a bug or a forgery makes one.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/core/policy.hpp"

namespace okxvault {

struct KeyMetadata {
  bool simulated = false;
  std::int64_t created_ms = 0;
  std::optional<std::int64_t> expires_ms;
  std::int64_t last_used_ms = 0;
  std::uint64_t sign_count = 0;
  std::vector<Grant> grants;
};

std::string encode_metadata(const KeyMetadata& metadata);
// `name` is the record's, for the error message.
KeyMetadata decode_metadata(std::string_view text, std::string_view name);

}  // namespace okxvault
