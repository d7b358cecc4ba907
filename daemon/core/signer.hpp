#pragma once
// OKX V5 request signing: sign = base64(HMAC-SHA256(secret, prehash)), where the
// secret is used as its ASCII bytes. The HMAC key schedule is computed once per
// key and kept in guarded memory (common/hmac_sha256.hpp); each signature starts
// from it.
// A Signer is immutable after construction and safe to use from many threads.

#include <span>
#include <string>
#include <string_view>

#include "common/hmac_sha256.hpp"
#include "common/secret.hpp"
#include "common/timestamp.hpp"

namespace okxvault {

class Signer {
 public:
  explicit Signer(std::span<const unsigned char> secret);
  explicit Signer(const SecretBytes& secret) : Signer(secret.bytes()) {}

  // base64(HMAC-SHA256(secret, timestamp + method + request_path + body)).
  std::string sign(std::string_view timestamp, std::string_view method, std::string_view request_path,
                   std::string_view body) const;

 private:
  HmacSha256 hmac_;  // 64 bytes of guarded memory per key
};

}  // namespace okxvault
