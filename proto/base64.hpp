#pragma once
// Standard base64 (RFC 4648, padded) with libsodium, for the public bytes the
// wire carries as text: sealed backups, sealed keys, host keys.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace okxvault::proto {

std::string to_base64(std::span<const unsigned char> bytes);

// The bytes of `text`, or nothing if it is not all padded base64.
std::optional<std::vector<unsigned char>> from_base64(std::string_view text);

}  // namespace okxvault::proto
