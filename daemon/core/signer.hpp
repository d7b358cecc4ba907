#pragma once
// OKX V5 request signing: sign = base64(HMAC-SHA256(secret, prehash)), where the
// secret is used as its ASCII bytes. The HMAC key schedule is computed once per
// key and kept in guarded memory; each signature starts from it.
// A Signer is immutable after construction and safe to use from many threads.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

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

  // What sign() wipes of the stack below its own frame, since Nettle wipes
  // nothing: more than sign() uses with its callees, compression included
  // (about 500 bytes with or without the SHA instructions;
  // Signer.UsesLessStackThanItWipes measures it), and less than glibc's 2 KiB
  // threshold for `rep stosb`, which callgrind counts byte by byte.
  static constexpr std::size_t kWipedStackBytes = 1024;

 private:
  // The SHA-256 chaining values after the inner and the outer padded key: all
  // that a crypto_auth_hmacsha256_state holds after init that depends on the
  // key, 64 bytes of guarded memory per key.
  SecretBytes chaining_;
};

}  // namespace okxvault
