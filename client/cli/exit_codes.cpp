#include "client/cli/exit_codes.hpp"

namespace okxvault::cli {

ExitCode exit_code_for(Code code) noexcept {
  switch (code) {
    case Code::unreachable:
    case Code::protocol_error:
    case Code::too_many_attempts:
      return kExitUnreachable;
    case Code::vault_locked:
      return kExitLocked;
    case Code::untrusted_server:
      return kExitUntrusted;
    case Code::wrong_passphrase:
    case Code::forbidden:
    case Code::policy_denied:
    case Code::key_expired:
      return kExitForbidden;
    case Code::not_found:
    case Code::key_not_found:
      return kExitNotFound;
    case Code::bad_request:
    case Code::invalid_json:
    case Code::invalid_name:
    case Code::key_exists:
    case Code::timestamp_skew:
    case Code::payload_too_large:
    case Code::headers_too_large:
    case Code::last_slot:
      return kExitInvalidInput;
    default:
      return kExitFailure;
  }
}

}  // namespace okxvault::cli
