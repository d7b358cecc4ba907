#pragma once
// An OKX V5 key's credentials, and the two reply bodies that carry them with a
// signature (proto/PROTOCOL.md): the only place the passphrase leaves guarded
// memory.

#include <string>
#include <string_view>

#include "common/secret.hpp"
#include "daemon/core/signer.hpp"

namespace okxvault {

// What an OKX V5 key signs with: its api key, passphrase and demo flag. The api
// key is a view: the vault keeps it once, in the key's record, which outlives this.
struct Credentials {
  std::string_view api_key;
  SecretBytes passphrase;
  bool simulated = false;
};

// The reply bodies of sign and ws-login (proto/PROTOCOL.md), written with the
// passphrase read straight from `credentials`: the returned text is its only
// copy, and wipes itself.
//
// The sign reply: the timestamp and the headers for one request, which are the
// four OK-ACCESS-* headers, Content-Type: application/json on POST, and
// x-simulated-trading: 1 for demo keys. method must already be upper case; the
// body is signed byte for byte.
WipingString sign_reply(const Signer& signer, const Credentials& credentials, std::string_view timestamp,
                        std::string_view method, std::string_view request_path, std::string_view body);

// The WebSocket login frame for the given epoch-seconds timestamp.
WipingString ws_login_reply(const Signer& signer, const Credentials& credentials, std::string_view timestamp);

}  // namespace okxvault
