// A sealed key (proto/sealed_key.hpp): only the vault it is sealed to opens it,
// whole; another vault's key, an edit anywhere, a cut, or a future version is
// refused with its own message; nothing of the key is in clear.

#include "proto/sealed_key.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace okxvault {
namespace {

struct Pair {
  proto::HostKey public_key{};
  SecretBytes secret_key{crypto_box_SECRETKEYBYTES};
  Pair() { crypto_box_keypair(public_key.data(), secret_key.data()); }
};

proto::SealedKey key() {
  proto::SealedKey out;
  out.name = "main";
  out.api_key = "37c5e7d2-96a3-4d4f-9d4b-1f0a2b3c8418";
  out.secret = SecretBytes::copy_of(std::string_view("SEALED-SECRET-9a8b7c6d"));
  out.passphrase = SecretBytes::copy_of(std::string_view("Sealed-Pass-4"));
  out.simulated = true;
  out.expires = "2027-01-01T00:00:00.000Z";
  return out;
}

std::vector<unsigned char> decoded(const std::string& text) {
  std::vector<unsigned char> out(text.size());
  std::size_t size = 0;
  sodium_base642bin(out.data(), out.size(), text.data(), text.size(), "\n", &size, nullptr,
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(size);
  return out;
}

std::string encoded(const std::vector<unsigned char>& bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();
  return out + "\n";
}

std::string refusal(const std::string& text, const Pair& to) {
  try {
    proto::open_sealed_key(text, to.public_key, to.secret_key);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::bad_request) << e.what();
    return e.what();
  }
  return "(opened)";
}

TEST(SealedKey, TheVaultItIsSealedToOpensItWhole) {
  const Pair vault;
  const std::string text = proto::seal_key(key(), vault.public_key);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << "one line";
  EXPECT_EQ(proto::sealed_to(text), vault.public_key);
  const proto::SealedKey opened = proto::open_sealed_key(text, vault.public_key, vault.secret_key);
  EXPECT_EQ(opened.name, "main");
  EXPECT_EQ(opened.api_key, key().api_key);
  EXPECT_TRUE(opened.secret.equals(key().secret.bytes()));
  EXPECT_TRUE(opened.passphrase.equals(key().passphrase.bytes()));
  EXPECT_TRUE(opened.simulated);
  EXPECT_EQ(opened.expires, key().expires);

  proto::SealedKey plain = key();
  plain.simulated = false;
  plain.expires.reset();
  const proto::SealedKey live =
      proto::open_sealed_key(proto::seal_key(plain, vault.public_key), vault.public_key, vault.secret_key);
  EXPECT_FALSE(live.simulated);
  EXPECT_FALSE(live.expires);
}

TEST(SealedKey, HoldsNothingOfTheKeyInClear) {
  const Pair vault;
  const std::string text = proto::seal_key(key(), vault.public_key);
  const std::vector<unsigned char> bytes = decoded(text);
  for (std::string_view clear : {"SEALED-SECRET-9a8b7c6d", "Sealed-Pass-4", "37c5e7d2", "main", "2027-01-01"}) {
    EXPECT_EQ(std::search(bytes.begin(), bytes.end(), clear.begin(), clear.end()), bytes.end()) << clear;
    EXPECT_EQ(text.find(clear), std::string::npos) << clear;
  }
}

TEST(SealedKey, AnotherVaultIsToldWhoseKeyItIsFor) {
  const Pair vault, other;
  const std::string message = refusal(proto::seal_key(key(), vault.public_key), other);
  EXPECT_NE(message.find("the key was sealed to another vault: to host key " +
                         proto::encode_host_key(vault.public_key).substr(0, 12)),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("this vault's is " + proto::encode_host_key(other.public_key).substr(0, 12)),
            std::string::npos)
      << message;
}

TEST(SealedKey, AnEditAnywhereNeverOpens) {
  const Pair vault;
  const std::vector<unsigned char> bytes = decoded(proto::seal_key(key(), vault.public_key));
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    std::vector<unsigned char> edited = bytes;
    edited[at] ^= 0x01;
    const std::string message = refusal(encoded(edited), vault);
    EXPECT_NE(message, "(opened)") << "an edit at byte " << at << " opened";
  }
  // Every cut, too.
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    const std::string message =
        refusal(encoded({bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size)}), vault);
    EXPECT_NE(message, "(opened)") << "cut to " << size << " bytes, it opened";
  }
}

TEST(SealedKey, AHostKeyChangedOutsideDoesNotMakeAnotherVaultsKeyOpen) {
  const Pair vault, other;
  // Sealed to another vault, its header edited to name this one: it does not open here.
  std::vector<unsigned char> bytes = decoded(proto::seal_key(key(), other.public_key));
  std::copy(vault.public_key.begin(), vault.public_key.end(), bytes.begin() + 10);
  EXPECT_NE(refusal(encoded(bytes), vault).find("damaged or altered"), std::string::npos);
}

TEST(SealedKey, AFutureVersionAndSomethingElseAreNamed) {
  const Pair vault;
  std::vector<unsigned char> bytes = decoded(proto::seal_key(key(), vault.public_key));
  bytes[8] = 2;
  EXPECT_NE(refusal(encoded(bytes), vault)
                .find("sealed-key format version 2 is not one this okx-vault reads (version 1): import it with the "
                      "okx-vault that sealed it, or a newer one"),
            std::string::npos);
  EXPECT_THROW(proto::sealed_to(encoded(bytes)), Error);
  for (const std::string& text :
       {std::string(), std::string("hello"), encoded({'O', 'K', 'X', 'V', 'A', 'U', 'L', 'T'}),
        std::string("not base64 at all!\n")}) {
    EXPECT_NE(refusal(text, vault).find("not a sealed okx-vault key"), std::string::npos) << text;
  }
}

TEST(SealedKey, AHostKeyIsThirtyTwoBytesOfBase64) {
  const Pair vault;
  EXPECT_EQ(proto::decode_host_key(proto::encode_host_key(vault.public_key)), vault.public_key);
  EXPECT_EQ(proto::decode_host_key(proto::encode_host_key(vault.public_key) + "\n"), vault.public_key);
  for (const std::string& text : {std::string(), std::string("abc"), encoded(std::vector<unsigned char>(31, 1)),
                                  encoded(std::vector<unsigned char>(33, 1))}) {
    EXPECT_THROW(proto::decode_host_key(text), Error) << text;
  }
}

}  // namespace
}  // namespace okxvault
