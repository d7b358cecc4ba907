#pragma once
// OKX V5 request signing: sign = base64(HMAC-SHA256(secret, prehash)), where the
// secret is used as its ASCII bytes. The HMAC key schedule is computed once per
// key and kept in guarded memory; each signature starts from it.
// A Signer is immutable after construction and safe to use from many threads.

#include <span>
#include <string>
#include <string_view>

#include "proto/secret.hpp"
#include "proto/timestamp.hpp"

namespace okxvault {

class Signer {
 public:
  explicit Signer(std::span<const unsigned char> secret);
  explicit Signer(const SecretBytes& secret) : Signer(secret.bytes()) {}

  // base64(HMAC-SHA256(secret, timestamp + method + request_path + body)).
  std::string sign(std::string_view timestamp, std::string_view method,
                   std::string_view request_path, std::string_view body) const;

 private:
  // The SHA-256 chaining values after the inner and the outer padded key: all
  // that a crypto_auth_hmacsha256_state holds after init that depends on the
  // key, 64 bytes of guarded memory per key.
  SecretBytes chaining_;
};

// What an OKX V5 key signs with: its api key, passphrase and demo flag. The api
// key is a view: the vault keeps it once, in the key's record, which outlives this.
struct Credentials {
  std::string_view api_key;
  SecretBytes passphrase;
  bool simulated = false;
};

// The reply bodies of sign and ws-login (proto/PROTOCOL.md), written with the
// passphrase read straight from `credentials`: the returned string is its only
// copy, for the caller to wipe once it is sent.
//
// The sign reply: the timestamp and the headers for one request, which are the
// four OK-ACCESS-* headers, Content-Type: application/json on POST, and
// x-simulated-trading: 1 for demo keys. method must already be upper case; the
// body is signed byte for byte.
std::string sign_reply(const Signer& signer, const Credentials& credentials, std::string_view timestamp,
                       std::string_view method, std::string_view request_path, std::string_view body);

// The WebSocket login frame for the given epoch-seconds timestamp.
std::string ws_login_reply(const Signer& signer, const Credentials& credentials, std::string_view timestamp);

}  // namespace okxvault
