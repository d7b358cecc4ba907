#pragma once
// A sealed key (okx-vault seal, POST /v1/import): one OKX key's name, api key,
// secret, passphrase and flags, sealed on an operator's workstation to one
// vault's host key (libsodium's sealed box: X25519 and XSalsa20-Poly1305 with an
// ephemeral key), so that only that vault opens it. PROTOCOL.md's "Sealed key"
// is the normative description. Pure functions, safe from any thread.
//
// The file is one line of base64 (standard alphabet, padded) of:
//   "OKXVSEAL"  magic, 8 bytes
//   u16         format version (1), little endian
//   32 bytes    the host key it is sealed to
//   ...         crypto_box_seal of: the same magic, version and host key (so
//               that none of the three can be changed outside), then u8 N, name;
//               u16 A, api key; u16 S, secret; u16 P, passphrase; u8 flags
//               (bit 0: simulated); u8 E, expiry (ISO 8601 UTC with
//               milliseconds; E = 0: none)

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/secret.hpp"
#include "proto/messages.hpp"

namespace okxvault::proto {

inline constexpr std::uint16_t kSealedKeyVersion = 1;

// A vault's X25519 public key, as okx-vault host-key prints it (base64).
using HostKey = std::array<unsigned char, 32>;
std::string encode_host_key(const HostKey& key);
// Error(bad_request) unless it is the base64 of 32 bytes.
HostKey decode_host_key(std::string_view text);

// What a sealed key holds is what an add carries (POST /v1/keys).
using SealedKey = AddKeyRequest;

// The file's text, newline included. Error(bad_request) for a field too long
// for its length (the daemon's limits are checked when the key is added).
std::string seal_key(const SealedKey& key, const HostKey& to);

// The host key a sealed key is for, read without opening it. Error(bad_request):
// not a sealed key, or a version this build does not read.
HostKey sealed_to(std::string_view text);

// Opens it with this vault's key pair. Error(bad_request), saying which: not a
// sealed key, a version this build does not read, sealed to another host key,
// or damaged or altered (it does not open, or what is inside does not match).
SealedKey open_sealed_key(std::string_view text, const HostKey& public_key, const SecretBytes& secret_key);

}  // namespace okxvault::proto
