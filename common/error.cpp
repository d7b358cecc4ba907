#include "common/error.hpp"

#include <array>

namespace okxvault {
namespace {

struct CodeInfo {
  Code code;
  std::string_view name;
  int status;
};

constexpr std::array kCodes{
    CodeInfo{Code::bad_request, "bad_request", 400},
    CodeInfo{Code::invalid_json, "invalid_json", 400},
    CodeInfo{Code::invalid_name, "invalid_name", 400},
    CodeInfo{Code::forbidden, "forbidden", 403},
    CodeInfo{Code::policy_denied, "policy_denied", 403},
    CodeInfo{Code::key_expired, "key_expired", 403},
    CodeInfo{Code::not_found, "not_found", 404},
    CodeInfo{Code::key_not_found, "key_not_found", 404},
    CodeInfo{Code::method_not_allowed, "method_not_allowed", 405},
    CodeInfo{Code::key_exists, "key_exists", 409},
    CodeInfo{Code::payload_too_large, "payload_too_large", 413},
    CodeInfo{Code::headers_too_large, "headers_too_large", 431},
    CodeInfo{Code::timestamp_skew, "timestamp_skew", 400},
    CodeInfo{Code::too_many_connections, "too_many_connections", 503},
    CodeInfo{Code::vault_locked, "vault_locked", 423},
    CodeInfo{Code::wrong_passphrase, "wrong_passphrase", 403},
    CodeInfo{Code::too_many_attempts, "too_many_attempts", 429},
    CodeInfo{Code::last_slot, "last_slot", 409},
    CodeInfo{Code::rate_limited, "rate_limited", 429},
    CodeInfo{Code::internal, "internal", 500},
    CodeInfo{Code::io_error, "io_error", 500},
    CodeInfo{Code::not_persisted, "not_persisted", 507},
    CodeInfo{Code::audit_unavailable, "audit_unavailable", 503},
    CodeInfo{Code::corrupt_store, "corrupt_store", 500},
    CodeInfo{Code::tampered_store, "tampered_store", 500},
    CodeInfo{Code::wrong_master_key, "wrong_master_key", 500},
    CodeInfo{Code::unsupported_version, "unsupported_version", 500},
    CodeInfo{Code::insecure_permissions, "insecure_permissions", 500},
    CodeInfo{Code::rollback, "rollback", 500},
    CodeInfo{Code::unreachable, "unreachable", 503},
    CodeInfo{Code::protocol_error, "protocol_error", 502},
    CodeInfo{Code::untrusted_server, "untrusted_server", 502},
};

constexpr bool table_follows_enum() {
  for (std::size_t i = 0; i < kCodes.size(); ++i) {
    if (static_cast<std::size_t>(kCodes[i].code) != i) return false;
  }
  return true;
}
static_assert(table_follows_enum(), "kCodes must list every Code in declaration order");

const CodeInfo& info(Code code) noexcept { return kCodes[static_cast<std::size_t>(code)]; }

}  // namespace

std::string_view code_name(Code code) noexcept { return info(code).name; }

int http_status(Code code) noexcept { return info(code).status; }

Code code_from_name(std::string_view name) noexcept {
  for (const auto& entry : kCodes) {
    if (entry.name == name) return entry.code;
  }
  return Code::internal;
}

}  // namespace okxvault
