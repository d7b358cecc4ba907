// The backup file (proto/backup.hpp): what it holds comes back whole with its
// passphrase; a wrong passphrase, a file cut or damaged anywhere, an edited
// header and a future version are each refused with their own error, and never
// open.

#include "proto/backup.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace okxvault {
namespace {

using Bytes = std::vector<unsigned char>;

constexpr std::uint64_t kMadeAt = 1796083200000;  // 2026-12-01T00:00:00.000Z
// Where the header's fields are (backup.hpp).
constexpr std::size_t kVersionAt = 8, kOpslimitAt = 11, kMemlimitAt = 19, kKeysAt = 51, kSealedAt = 83;

std::vector<proto::BackupKey> two_keys() {
  std::vector<proto::BackupKey> keys(2);
  keys[0].name = "main";
  keys[0].api_key = "37c5e7d2-96a3-4d4f-9d4b-1f0a2b3c8418";
  keys[0].secret = SecretBytes::copy_of(std::string_view("CODEC-SECRET-1b2c3d4e5f"));
  keys[0].passphrase = SecretBytes::copy_of(std::string_view("Codec-Pass-1"));
  keys[0].created = "2026-11-25T21:29:17.503Z";
  keys[0].expires = "2027-01-01T00:00:00.000Z";
  keys[0].last_used = "2026-11-30T08:00:00.001Z";
  keys[0].sign_count = 42;
  proto::GrantInfo trader;
  trader.name = "bot";
  trader.id = 1001;
  trader.allow = {"POST /api/v5/trade/"};
  trader.ws = true;
  proto::Limits limits;
  limits.inst = {"BTC-USDT"};
  limits.max_sz = {{"BTC-USDT", "0.5"}};
  limits.orders_per_minute = 30;
  trader.limits = limits;
  proto::GrantInfo readers;
  readers.kind = proto::GrantInfo::Kind::group;
  readers.name = "bots";
  readers.id = 2000;
  readers.read_only = true;
  readers.expires = "2027-06-01T00:00:00.000Z";
  keys[0].grants = {trader, readers};
  keys[1].name = "demo";
  keys[1].api_key = "5a1f0000-0000-0000-0000-000000000000";
  keys[1].secret = SecretBytes::copy_of(std::string_view("CODEC-SECRET-demo"));
  keys[1].passphrase = SecretBytes::copy_of(std::string_view("Codec-Pass-2"));
  keys[1].simulated = true;
  keys[1].created = "2026-11-26T00:00:00.000Z";
  return keys;
}

const SecretBytes& passphrase() {
  static const SecretBytes value = SecretBytes::copy_of(std::string_view("correct horse battery"));
  return value;
}

Bytes sealed() { return proto::seal_backup(two_keys(), passphrase(), proto::kTestBackupCost, kMadeAt); }

// The file's checksum made right again, as someone editing it on purpose would.
void fix_checksum(Bytes& bytes) {
  crypto_generichash(bytes.data() + bytes.size() - 32, 32, bytes.data(), bytes.size() - 32, nullptr, 0);
}

struct Refusal {
  Code code = Code::internal;
  std::string message;
  bool opened = false;
};

Refusal open(const Bytes& bytes, const SecretBytes& with = passphrase()) {
  try {
    proto::open_backup(bytes, with);
  } catch (const Error& e) {
    return {e.code(), e.what()};
  }
  return {Code::internal, {}, true};
}

bool contains(const Bytes& bytes, std::string_view text) {
  return std::search(bytes.begin(), bytes.end(), text.begin(), text.end()) != bytes.end();
}

TEST(BackupCodec, EverythingAKeyHasComesBackWithThePassphrase) {
  const std::vector<proto::BackupKey> keys = two_keys();
  const std::vector<proto::BackupKey> opened = proto::open_backup(sealed(), passphrase());
  ASSERT_EQ(opened.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(opened[i].name, keys[i].name);
    EXPECT_EQ(opened[i].api_key, keys[i].api_key);
    EXPECT_TRUE(opened[i].secret.equals(keys[i].secret.bytes()));
    EXPECT_TRUE(opened[i].passphrase.equals(keys[i].passphrase.bytes()));
    EXPECT_EQ(opened[i].simulated, keys[i].simulated);
    EXPECT_EQ(opened[i].created, keys[i].created);
    EXPECT_EQ(opened[i].expires, keys[i].expires);
    EXPECT_EQ(opened[i].last_used, keys[i].last_used);
    EXPECT_EQ(opened[i].sign_count, keys[i].sign_count);
    EXPECT_EQ(proto::encode(opened[i].grants), proto::encode(keys[i].grants));
  }
  EXPECT_TRUE(opened[0].grants.at(0).limits.has_value());
}

TEST(BackupCodec, HoldsNoSecretInClearAndSaysItsHeaderWithoutThePassphrase) {
  const Bytes bytes = sealed();
  for (std::string_view clear :
       {"CODEC-SECRET-1b2c3d4e5f", "Codec-Pass-1", "CODEC-SECRET-demo", "37c5e7d2", "main", "correct horse battery"}) {
    EXPECT_FALSE(contains(bytes, clear)) << clear;
  }
  const proto::BackupHeader header = proto::read_backup_header(bytes);
  EXPECT_EQ(header.version, proto::kBackupVersion);
  EXPECT_EQ(header.keys, 2u);
  EXPECT_EQ(header.created_ms, kMadeAt);
  EXPECT_EQ(header.cost.opslimit, proto::kTestBackupCost.opslimit);
  EXPECT_EQ(header.cost.memlimit, proto::kTestBackupCost.memlimit);
  // Salt and nonce are fresh each time.
  EXPECT_NE(sealed(), bytes);
}

TEST(BackupCodec, AWrongPassphraseIsTold) {
  const Refusal refusal = open(sealed(), SecretBytes::copy_of(std::string_view("correct horse battery!")));
  EXPECT_EQ(refusal.code, Code::wrong_passphrase);
  EXPECT_NE(refusal.message.find("wrong backup passphrase"), std::string::npos) << refusal.message;
}

TEST(BackupCodec, AnEmptyVaultMakesABackupOfNoKeys) {
  const Bytes bytes = proto::seal_backup({}, passphrase(), proto::kTestBackupCost, kMadeAt);
  EXPECT_EQ(proto::read_backup_header(bytes).keys, 0u);
  EXPECT_TRUE(proto::open_backup(bytes, passphrase()).empty());
}

TEST(BackupCodec, APassphraseOfEightTo1024BytesSealsIt) {
  for (const std::size_t size : {std::size_t{0}, std::size_t{7}, std::size_t{1025}}) {
    try {
      proto::seal_backup(two_keys(), SecretBytes::copy_of(std::string(size, 'p')), proto::kTestBackupCost, kMadeAt);
      ADD_FAILURE() << size << " bytes sealed it";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::bad_request);
      EXPECT_STREQ(e.what(), "a backup passphrase must be 8 to 1024 bytes long");
    }
  }
  for (const std::size_t size : {std::size_t{8}, std::size_t{1024}}) {
    const SecretBytes pass = SecretBytes::copy_of(std::string(size, 'p'));
    EXPECT_EQ(proto::open_backup(proto::seal_backup(two_keys(), pass, proto::kTestBackupCost, kMadeAt), pass).size(),
              2u);
  }
}

TEST(BackupCodec, SomethingElseIsNotABackup) {
  for (const std::string text :
       {"", "OKXV", "OKXVAULT\x03\x00 a store, not a backup", "{\"backup\":\"T0tYVkJLVVA=\"}"}) {
    const Refusal refusal = open(Bytes(text.begin(), text.end()));
    EXPECT_EQ(refusal.code, Code::bad_request) << text;
    EXPECT_NE(refusal.message.find("not an okx-vault backup"), std::string::npos) << refusal.message;
  }
}

TEST(BackupCodec, AFutureVersionNamesItself) {
  Bytes bytes = sealed();
  bytes[kVersionAt] = 2;
  const Refusal refusal = open(bytes);
  EXPECT_EQ(refusal.code, Code::bad_request);
  EXPECT_NE(refusal.message.find("backup format version 2 is not one this okx-vault reads (version 1)"),
            std::string::npos)
      << refusal.message;
  EXPECT_THROW(proto::read_backup_header(bytes), Error);
}

TEST(BackupCodec, EveryCutIsTruncatedOrNotABackupNeverAWrongPassphrase) {
  const Bytes bytes = sealed();
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    const Refusal refusal = open(Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size)));
    ASSERT_FALSE(refusal.opened) << size;
    EXPECT_EQ(refusal.code, Code::bad_request) << size;
    const std::string expected = size < 8 ? "not an okx-vault backup" : "truncated";
    EXPECT_NE(refusal.message.find(expected), std::string::npos) << size << ": " << refusal.message;
  }
  Bytes longer = bytes;
  longer.push_back(0);
  EXPECT_NE(open(longer).message.find("bytes after its end"), std::string::npos);
}

TEST(BackupCodec, ADamagedByteAnywhereIsToldByTheChecksum) {
  const Bytes bytes = sealed();
  for (std::size_t at = kVersionAt + 2; at < bytes.size(); ++at) {
    Bytes damaged = bytes;
    damaged[at] ^= 0x01;
    const Refusal refusal = open(damaged);
    ASSERT_FALSE(refusal.opened) << at;
    EXPECT_EQ(refusal.code, Code::bad_request) << at;
    // A flipped length bit reads as a cut or lengthened file; anything else, as damage.
    const bool told = refusal.message.find("checksum mismatch") != std::string::npos ||
                      refusal.message.find("truncated") != std::string::npos ||
                      refusal.message.find("bytes after its end") != std::string::npos;
    EXPECT_TRUE(told) << at << ": " << refusal.message;
  }
}

TEST(BackupCodec, AnEditWithTheChecksumMadeRightNeverOpens) {
  const Bytes bytes = sealed();
  for (std::size_t at = kVersionAt + 2; at < bytes.size() - 32; ++at) {
    if (at >= kSealedAt - 4 && at < kSealedAt) continue;  // the length: a cut, above
    Bytes edited = bytes;
    edited[at] ^= 0x01;
    fix_checksum(edited);
    const Refusal refusal = open(edited);
    ASSERT_FALSE(refusal.opened) << "an edit at byte " << at << " opened";
    // The cost is checked before it is used; every other byte is authenticated.
    const bool cost = at >= kOpslimitAt - 1 && at < kMemlimitAt + 8;
    if (!cost || refusal.code != Code::bad_request) {
      EXPECT_EQ(refusal.code, Code::wrong_passphrase) << at;
    }
  }
}

TEST(BackupCodec, AnEditedCostIsRefusedBeforeItIsSpent) {
  Bytes bytes = sealed();
  bytes[kMemlimitAt + 4] = 0x01;  // 4 GiB more
  fix_checksum(bytes);
  const Refusal refusal = open(bytes);
  EXPECT_EQ(refusal.code, Code::bad_request);
  EXPECT_NE(refusal.message.find("parameters are out of range"), std::string::npos) << refusal.message;
}

TEST(BackupCodec, AnEditedKeyCountNeverOpens) {
  Bytes bytes = sealed();
  bytes[kKeysAt] = 1;
  fix_checksum(bytes);
  EXPECT_EQ(open(bytes).code, Code::wrong_passphrase);
}

}  // namespace
}  // namespace okxvault
