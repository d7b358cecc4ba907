#pragma once
// The one error type of okx-vault. Every failure the daemon, store or client can
// report is an okxvault::Error with a Code; the Code's wire name and HTTP status
// are fixed here, in one table, and documented in proto/PROTOCOL.md.

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace okxvault {

enum class Code {
  // Request errors (4xx).
  bad_request,
  invalid_json,
  invalid_name,
  forbidden,
  policy_denied,
  key_expired,
  not_found,
  key_not_found,
  method_not_allowed,
  key_exists,
  payload_too_large,
  headers_too_large,
  timestamp_skew,
  too_many_connections,
  vault_locked,
  wrong_passphrase,
  too_many_attempts,
  last_slot,
  rate_limited,
  // Server and store errors (5xx on the wire, startup failures in the daemon).
  internal,
  io_error,
  not_persisted,
  audit_unavailable,
  corrupt_store,
  tampered_store,
  wrong_master_key,
  unsupported_version,
  insecure_permissions,
  rollback,
  // Client-side only: the daemon could not be reached or answered nonsense, or
  // what listens on the socket is not one to trust with a secret.
  unreachable,
  protocol_error,
  untrusted_server,
};

// Stable wire name, e.g. "key_not_found".
std::string_view code_name(Code code) noexcept;
// Inverse of code_name; unknown names map to Code::internal.
Code code_from_name(std::string_view name) noexcept;
// HTTP status the daemon answers with for this code.
int http_status(Code code) noexcept;

class Error : public std::runtime_error {
 public:
  // `rule` names the policy rule behind a policy_denied or key_expired error.
  Error(Code code, const std::string& message, std::string rule = {})
      : std::runtime_error(message), code_(code), rule_(std::move(rule)) {}
  Code code() const noexcept { return code_; }
  const std::string& rule() const noexcept { return rule_; }

 private:
  Code code_;
  std::string rule_;
};

}  // namespace okxvault
