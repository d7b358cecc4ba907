#include "daemon/core/signer.hpp"

#include <cstdint>

namespace okxvault {
namespace {

// base64 (RFC 4648, padded) of the signature, which is public: table lookups,
// not libsodium's constant-time encoder, which is for secrets and costs ten
// times as much.
std::string base64(const HmacSha256::Digest& mac) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out((mac.size() + 2) / 3 * 4, '=');
  char* at = out.data();
  std::size_t i = 0;
  for (; i + 3 <= mac.size(); i += 3) {
    const std::uint32_t group = std::uint32_t{mac[i]} << 16 | std::uint32_t{mac[i + 1]} << 8 | mac[i + 2];
    *at++ = kAlphabet[group >> 18];
    *at++ = kAlphabet[(group >> 12) & 63];
    *at++ = kAlphabet[(group >> 6) & 63];
    *at++ = kAlphabet[group & 63];
  }
  static_assert(std::tuple_size_v<HmacSha256::Digest> % 3 == 2);  // two bytes left: three characters, then the '='
  const std::uint32_t group = std::uint32_t{mac[i]} << 16 | std::uint32_t{mac[i + 1]} << 8;
  *at++ = kAlphabet[group >> 18];
  *at++ = kAlphabet[(group >> 12) & 63];
  *at = kAlphabet[(group >> 6) & 63];
  return out;
}

}  // namespace

Signer::Signer(std::span<const unsigned char> secret) : hmac_(secret) {}

std::string Signer::sign(std::string_view timestamp, std::string_view method, std::string_view request_path,
                         std::string_view body) const {
  return base64(hmac_.mac({timestamp, method, request_path, body}));
}

}  // namespace okxvault
