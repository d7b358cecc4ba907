// The store: its format (daemon/store/store.hpp), its files (daemon/store/store_file.hpp) and
// the Vault that keeps them (daemon/core/vault.hpp), exercised on real files.
//
// What a user relies on: keys survive restarts; a wrong key, a corrupt file or a
// tampered file is refused with an error that names the file, and the file is
// left exactly as it was; the secrets never reach the disk in the clear; a failed
// write leaves the previous store intact.

#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/secret.hpp"
#include "daemon/core/peer.hpp"
#include "daemon/core/vault.hpp"
#include "daemon/store/store.hpp"
#include "daemon/store/store_file.hpp"
#include "proto/messages.hpp"
#include "tests/support/process.hpp"
#include "tests/support/reference_sign.hpp"

namespace okxvault {
namespace {

namespace fs = std::filesystem;
using test::read_file;
using test::TempDir;

constexpr std::string_view kTimestamp = "2020-12-08T09:08:57.715Z";
constexpr std::string_view kPath = "/api/v5/account/balance?ccy=BTC";

// --- helpers ---------------------------------------------------------------

std::span<const unsigned char> bytes_of(std::string_view text) {
  return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

std::string base64(std::string_view text, int variant) {
  std::string out(sodium_base64_ENCODED_LEN(text.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes_of(text).data(), text.size(), variant);
  out.pop_back();
  return out;
}

std::string hex(std::string_view text) {
  std::string out(text.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes_of(text).data(), text.size());
  out.pop_back();
  return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
  return text;
}

// Writes a file the store will agree to read (mode 0600).
void write_private(const fs::path& path, const std::string& bytes) {
  test::write_file(path, bytes);
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
}

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

std::set<std::string> entries_of(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename().string());
  return names;
}

// The vault's operations as an admin (root) asks for them: grants and policy
// are not what these tests are about (see policy_test.cpp and handler_test.cpp).
Caller admin() {
  static const Peer root = [] {
    Peer peer;
    peer.uid = 0;
    peer.gid = 0;
    peer.pid = 1;
    return peer;
  }();
  return Caller{root, true};
}

proto::Headers sign(Vault& vault, std::string_view name, std::string_view timestamp, std::string_view method,
                    std::string_view path, std::string_view body) {
  return proto::decode_sign_reply(vault.sign(name, admin(), timestamp, method, path, body).body).headers;
}

proto::WsLoginFrame ws_login(Vault& vault, std::string_view name, std::string_view timestamp) {
  return proto::decode_ws_login_frame(vault.ws_login(name, admin(), timestamp).body);
}

std::vector<proto::KeyInfo> list_all(const Vault& vault) { return vault.list(admin()); }

struct Key {
  std::string name;
  std::string api_key;
  std::string secret;
  std::string passphrase;
  bool simulated = false;
};

proto::AddKeyRequest request_for(const Key& key) {
  proto::AddKeyRequest request;
  request.name = key.name;
  request.api_key = key.api_key;
  request.secret = SecretBytes::copy_of(key.secret);
  request.passphrase = SecretBytes::copy_of(key.passphrase);
  request.simulated = key.simulated;
  return request;
}

Key numbered_key(int i) {
  char name[16];
  std::snprintf(name, sizeof name, "key-%02d", i);
  char api_key[40];
  const auto n = static_cast<unsigned>(i);
  std::snprintf(api_key, sizeof api_key, "%04x41a1-1d5a-4b3c-9e8f-10fe7a03%04x", 0x1000u + n, 0x2000u + n);
  char secret[40];
  std::snprintf(secret, sizeof secret, "%08X%08X%08X%08X", 0x22582BD0u + n, 0xCFF14C41u, 0xEDBF1AB9u, 0x8506u * n);
  return Key{name, api_key, secret, "Pass-" + std::to_string(i) + "#x", i % 3 == 0};
}

std::optional<std::string> header(const proto::Headers& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

// The vault signs with exactly this key's secret, api key, passphrase and demo flag.
void expect_signs_as(Vault& vault, const Key& key) {
  SCOPED_TRACE("key " + key.name);
  const proto::Headers headers = sign(vault, key.name, kTimestamp, "GET", kPath, "");
  const std::string prehash = std::string(kTimestamp) + "GET" + std::string(kPath);
  EXPECT_EQ(header(headers, "OK-ACCESS-SIGN"), test::okx_signature(key.secret, prehash));
  EXPECT_EQ(header(headers, "OK-ACCESS-KEY"), key.api_key);
  EXPECT_EQ(header(headers, "OK-ACCESS-PASSPHRASE"), key.passphrase);
  EXPECT_EQ(header(headers, "OK-ACCESS-TIMESTAMP"), std::string(kTimestamp));
  EXPECT_EQ(header(headers, "x-simulated-trading"), key.simulated ? std::optional<std::string>("1") : std::nullopt);
}

// Runs `action`, which must throw okxvault::Error with `code`; returns the message.
std::string error_of(Code code, const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << "got " << code_name(e.code()) << ": " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error; expected " << code_name(code);
  return {};
}

// Vault::open must fail with `code`, name the file, and leave it byte for byte unchanged.
std::string expect_open_refused(const fs::path& path, const SecretBytes& master, Code code) {
  const std::string before = read_file(path);
  const std::string message = error_of(code, [&] { Vault::open(path, master); });
  EXPECT_TRUE(contains(message, path.string())) << "message does not name the file: " << message;
  EXPECT_EQ(read_file(path), before) << "the refused file was modified";
  return message;
}

// The unkeyed BLAKE2b-256 checksum of everything before it.
std::string checksum(std::string_view body) {
  std::array<unsigned char, 32> out{};
  crypto_generichash(out.data(), out.size(), bytes_of(body).data(), body.size(), nullptr, 0);
  return std::string(out.begin(), out.end());
}

// Replaces the trailing checksum so the file passes the corruption check and
// whatever was edited reaches the deeper checks.
std::string with_fresh_checksum(std::string file) {
  file.resize(file.size() - 32);
  return file + checksum(file);
}

void put_le(std::string& out, std::uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

// Writes an image in the layout documented in daemon/store/store.hpp, with the given
// keyed MAC copied from a genuine file (it cannot be recomputed without the data
// key) and a fresh unkeyed checksum: what an attacker with write access can do.
std::string encode_documented_layout(const store::Image& image, std::string_view keyed_mac, std::uint16_t version = 3) {
  std::string out = "OKXVAULT";
  put_le(out, version, 2);
  if (version >= 2) {
    for (const std::uint64_t value : {image.generation, image.audit_line}) {
      put_le(out, static_cast<std::uint32_t>(value), 4);
      put_le(out, static_cast<std::uint32_t>(value >> 32), 4);
    }
    out += image.audit_hash;
  }
  if (version >= 3) {
    put_le(out, static_cast<std::uint32_t>(image.audit_key.size()), 2);
    out.append(image.audit_key.begin(), image.audit_key.end());
  }
  put_le(out, static_cast<std::uint32_t>(image.slots.size()), 2);
  for (const store::Slot& slot : image.slots) {
    put_le(out, static_cast<std::uint8_t>(slot.kind), 1);
    put_le(out, static_cast<std::uint32_t>(slot.params.size()), 2);
    out.append(slot.params.begin(), slot.params.end());
    put_le(out, static_cast<std::uint32_t>(slot.sealed.size()), 2);
    out.append(slot.sealed.begin(), slot.sealed.end());
  }
  put_le(out, static_cast<std::uint32_t>(image.records.size()), 4);
  for (const store::Record& record : image.records) {
    put_le(out, static_cast<std::uint32_t>(record.name.size()), 1);
    out += record.name;
    put_le(out, static_cast<std::uint32_t>(record.api_key.size()), 2);
    out += record.api_key;
    put_le(out, static_cast<std::uint32_t>(record.metadata.size()), 4);
    out += record.metadata;
    put_le(out, static_cast<std::uint32_t>(record.sealed.size()), 4);
    out.append(record.sealed.begin(), record.sealed.end());
  }
  out += keyed_mac;
  return out + checksum(out);
}

std::string keyed_mac_of(const std::string& file) { return file.substr(file.size() - 64, 32); }

store::Image parse_file(const std::string& file) { return store::parse(bytes_of(file)); }

// A vault with two keys whose names and api keys have equal lengths.
class SmallStore : public ::testing::Test {
 protected:
  void SetUp() override {
    auto vault = Vault::create(path_, master_);
    for (const Key& key : keys_) vault->add(request_for(key));
    original_ = read_file(path_);
  }

  TempDir dir_;
  const fs::path path_ = dir_ / "vault.store";
  const SecretBytes master_ = SecretBytes::random(store::kMasterKeyBytes);
  const std::vector<Key> keys_ = {
      {"alpha", "aaaa41a1-1d5a-4b3c-9e8f-10fe7a03aaaa", "AAAA2BD0CFF14C41EDBF1AB98506AAAA", "pass-alpha", false},
      {"bravo", "bbbb41a1-1d5a-4b3c-9e8f-10fe7a03bbbb", "BBBB2BD0CFF14C41EDBF1AB98506BBBB", "pass-bravo", true},
  };
  std::string original_;

  // Writes `bytes` to a fresh 0600 file next to the store and returns its path.
  fs::path mutated(const std::string& bytes) const {
    const fs::path path = dir_ / "mutated.store";
    write_private(path, bytes);
    return path;
  }
};

// --- round trip ------------------------------------------------------------

TEST(VaultRoundTrip, FiftyKeysSurviveCloseAndReopenAndSignAsTheirOwnSecrets) {
  TempDir dir;
  const fs::path path = dir / "vault.store";
  const SecretBytes master = SecretBytes::random(store::kMasterKeyBytes);
  std::vector<Key> keys;
  for (int i = 0; i < 50; ++i) keys.push_back(numbered_key(i));

  {
    auto vault = Vault::create(path, master);
    EXPECT_EQ(vault->size(), 0u);
    for (const Key& key : keys) {
      const proto::KeyInfo added = vault->add(request_for(key));
      EXPECT_EQ(added.name, key.name);
      EXPECT_EQ(added.simulated, key.simulated);
    }
    EXPECT_EQ(vault->size(), 50u);
  }
  EXPECT_EQ(mode_of(path), 0600u);

  for (int restart = 0; restart < 2; ++restart) {
    SCOPED_TRACE("open #" + std::to_string(restart + 1));
    auto vault = Vault::open(path, master);
    ASSERT_EQ(vault->size(), 50u);
    const std::vector<proto::KeyInfo> listed = list_all(*vault);
    ASSERT_EQ(listed.size(), 50u);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const Key& key = keys[i];  // numbered names sort in insertion order
      SCOPED_TRACE(key.name);
      EXPECT_EQ(listed[i].name, key.name);
      EXPECT_EQ(listed[i].simulated, key.simulated);
      // Masked as "37c5…8418": the first and last four characters only.
      EXPECT_EQ(listed[i].api_key, key.api_key.substr(0, 4) + "…" + key.api_key.substr(key.api_key.size() - 4));
      EXPECT_FALSE(contains(listed[i].api_key, key.api_key.substr(4, key.api_key.size() - 8)));
      expect_signs_as(*vault, key);
    }
  }
}

TEST(VaultRoundTrip, WsLoginUsesTheStoredKey) {
  TempDir dir;
  const SecretBytes master = SecretBytes::random(store::kMasterKeyBytes);
  const Key key = numbered_key(7);
  Vault::create(dir / "vault.store", master)->add(request_for(key));
  auto vault = Vault::open(dir / "vault.store", master);
  const proto::WsLoginFrame frame = ws_login(*vault, key.name, "1538054050");
  EXPECT_EQ(frame.api_key, key.api_key);
  EXPECT_EQ(frame.passphrase, key.passphrase);
  EXPECT_EQ(frame.timestamp, "1538054050");
  EXPECT_EQ(frame.sign, test::okx_signature(key.secret, "1538054050GET/users/self/verify"));
}

// A store of many keys, written directly (an add per key would fsync each).
// Records are opened on two threads from a few hundred keys on: every key must
// still be itself, and the first bad record in file order is the one named.
class ManyKeys : public ::testing::Test {
 protected:
  static constexpr int kKeys = 600;

  void SetUp() override {
    for (int i = 0; i < kKeys; ++i) keys_.push_back(numbered_key(i));
    for (const Key& key : keys_) records_.push_back(record_for(key));
  }

  store::Record record_for(const Key& key) const {
    const std::string metadata = R"({"simulated":)" + std::string(key.simulated ? "true" : "false") +
                                 R"(,"created_ms":1767225600000,"last_used_ms":0,"sign_count":0,"grants":[]})";
    return store::seal_record(data_key_, key.name, key.api_key, metadata, SecretBytes::copy_of(key.secret),
                              SecretBytes::copy_of(key.passphrase));
  }

  fs::path write(const std::vector<store::Record>& records) const {
    const store::Image image{{store::wrap_with_key_file(data_key_, master_)}, records};
    const std::vector<unsigned char> bytes = store::serialize(image, data_key_);
    return mutated_at(std::string(bytes.begin(), bytes.end()));
  }

  fs::path mutated_at(const std::string& bytes) const {
    write_private(path_, bytes);
    return path_;
  }

  TempDir dir_;
  const fs::path path_ = dir_ / "vault.store";
  const SecretBytes master_ = SecretBytes::random(store::kMasterKeyBytes);
  const store::DataKey data_key_ = store::DataKey::generate();
  std::vector<Key> keys_;
  std::vector<store::Record> records_;
};

TEST_F(ManyKeys, EveryKeyOpensAsItselfAndSignsWithItsOwnSecret) {
  auto vault = Vault::open(write(records_), master_);
  ASSERT_EQ(vault->size(), static_cast<std::size_t>(kKeys));
  for (const Key& key : keys_) expect_signs_as(*vault, key);
}

TEST_F(ManyKeys, TheFirstTamperedRecordInTheFileIsTheOneNamed) {
  for (const auto& [first, second] : {std::pair{450, 451}, std::pair{10, 451}, std::pair{10, 11}}) {
    SCOPED_TRACE(std::to_string(first) + " and " + std::to_string(second));
    std::vector<store::Record> records = records_;
    std::swap(records[first].sealed, records[first + 1].sealed);
    std::swap(records[second].sealed, records[second + 1].sealed);
    const std::string message = expect_open_refused(write(records), master_, Code::tampered_store);
    EXPECT_TRUE(contains(message, "record '" + keys_[static_cast<std::size_t>(first)].name + "' failed authentication"))
        << message;
  }
}

TEST_F(ManyKeys, ADuplicateBeforeATamperedRecordIsTheOneNamed) {
  std::vector<store::Record> records = records_;
  records[400] = records[3];
  std::swap(records[500].sealed, records[501].sealed);
  const std::string message = expect_open_refused(write(records), master_, Code::tampered_store);
  EXPECT_TRUE(contains(message, "record '" + keys_[3].name + "' appears twice")) << message;
}

// Records are taken in chunks by whichever thread is free: a bad record late in
// the file, in the last chunk or the one before, is named all the same.
TEST_F(ManyKeys, ALateBadRecordIsNamedWhicheverThreadOpensIt) {
  for (const std::size_t bad : {std::size_t{kKeys - 1}, std::size_t{kKeys - 70}}) {
    SCOPED_TRACE("record " + std::to_string(bad));
    std::vector<store::Record> records = records_;
    std::swap(records[bad].sealed, records[bad - 1].sealed);
    std::string message = expect_open_refused(write(records), master_, Code::tampered_store);
    EXPECT_TRUE(contains(message, "record '" + keys_[bad - 1].name + "' failed authentication")) << message;

    records = records_;
    records[bad].metadata = R"({"simulated":"yes"})";
    message = expect_open_refused(write(records), master_, Code::tampered_store);
    EXPECT_TRUE(contains(message, "record '" + keys_[bad].name + "' has invalid metadata")) << message;
  }
}

// The MAC is hashed on the second thread while records are opened: a record
// removed from a file whose checksum was recomputed still fails it.
TEST_F(ManyKeys, ARemovedRecordFailsTheMac) {
  const std::string genuine = read_file(write(records_));
  std::vector<store::Record> records = records_;
  records.erase(records.begin() + 500);
  const store::Image image{parse_file(genuine).slots, records};
  const std::string message = expect_open_refused(mutated_at(encode_documented_layout(image, keyed_mac_of(genuine))),
                                                  master_, Code::tampered_store);
  EXPECT_TRUE(contains(message, "records were added, removed")) << message;
}

// A flipped byte anywhere in a large store, the checksum's own included, is
// corruption, though records are opened on two threads while the file is hashed.
TEST_F(ManyKeys, AFlippedByteAnywhereIsCorruptStore) {
  const std::string genuine = read_file(write(records_));
  const auto at = [&](double where) { return static_cast<std::size_t>(static_cast<double>(genuine.size()) * where); };
  for (const std::size_t offset : {at(0.1), at(0.6), at(0.95), genuine.size() - 1}) {
    SCOPED_TRACE("flipped byte at offset " + std::to_string(offset));
    std::string bytes = genuine;
    bytes[offset] = static_cast<char>(bytes[offset] ^ 0x40);
    const std::string message = expect_open_refused(mutated_at(bytes), master_, Code::corrupt_store);
    EXPECT_TRUE(contains(message, "checksum mismatch")) << message;
  }
}

TEST(VaultRoundTrip, AnEmptyVaultReopensEmpty) {
  TempDir dir;
  const SecretBytes master = SecretBytes::random(store::kMasterKeyBytes);
  Vault::create(dir / "vault.store", master);
  EXPECT_EQ(Vault::open(dir / "vault.store", master)->size(), 0u);
}

// --- master key ------------------------------------------------------------

TEST_F(SmallStore, WrongMasterKeyIsRefusedNamingTheFileAndLeavingItUntouched) {
  const SecretBytes other = SecretBytes::random(store::kMasterKeyBytes);
  expect_open_refused(path_, other, Code::wrong_master_key);
  // A key of the wrong size is a wrong key too, not a crash.
  expect_open_refused(path_, SecretBytes::random(31), Code::wrong_master_key);
  expect_open_refused(path_, SecretBytes::random(33), Code::wrong_master_key);
  expect_open_refused(path_, SecretBytes(), Code::wrong_master_key);
  // And the right key still opens it.
  auto vault = Vault::open(path_, master_);
  for (const Key& key : keys_) expect_signs_as(*vault, key);
}

TEST(VaultCreate, RefusesAMasterKeyOfTheWrongSize) {
  TempDir dir;
  error_of(Code::wrong_master_key, [&] { Vault::create(dir / "vault.store", SecretBytes::random(16)); });
}

// --- corruption ------------------------------------------------------------

TEST_F(SmallStore, DocumentedLayoutDescribesTheFileExactly) {
  ASSERT_EQ(original_.substr(0, 8), "OKXVAULT");
  EXPECT_EQ(encode_documented_layout(parse_file(original_), keyed_mac_of(original_)), original_);
}

// The file ends with an unkeyed checksum, so any single flipped bit, the
// checksum's own included, is seen as corruption (not as a wrong key or
// tampering) before anything else is tried, with the key or without it.
// --- generation ------------------------------------------------------------

TEST_F(SmallStore, EachWriteIsTheNextGeneration) {
  EXPECT_EQ(parse_file(original_).generation, 3u) << "created, then two keys added";
  EXPECT_EQ(Vault::generation_of(path_), 3u);
  auto vault = Vault::open(path_, master_);
  EXPECT_EQ(vault->generation(), 3u);
  vault->remove("alpha");
  EXPECT_EQ(vault->generation(), 4u);
  EXPECT_EQ(parse_file(read_file(path_)).generation, 4u);
  EXPECT_EQ(Vault::open_locked(path_)->generation(), 4u);
}

// The generation is read before the MAC can be checked (a locked start); the
// MAC covers it, so an edited one never opens.
TEST_F(SmallStore, AnEditedGenerationIsReadUnlockedButRefusedAsTamperedWithTheKey) {
  std::string bytes = original_;
  bytes[10] = static_cast<char>(bytes[10] + 7);
  const fs::path path = mutated(with_fresh_checksum(bytes));
  EXPECT_EQ(Vault::generation_of(path), 10u);
  expect_open_refused(path, master_, Code::tampered_store);
}

TEST_F(SmallStore, AVersion1FileReadsAsGenerationZeroAndIsWrittenBackAsItWas) {
  const std::string v1 = encode_documented_layout(parse_file(original_), keyed_mac_of(original_), 1);
  const store::Image image = parse_file(v1);
  EXPECT_EQ(image.version, 1u);
  EXPECT_EQ(image.generation, 0u);
  const auto key = store::DataKey::generate();
  const auto again = store::serialize(image, key);
  EXPECT_EQ(std::string(again.begin(), again.end() - 64), v1.substr(0, v1.size() - 64));
  store::Image wrong = image;
  wrong.generation = 1;
  error_of(Code::internal, [&] { store::serialize(wrong, key); });
}

// --- audit key ---------------------------------------------------------------

// A store written before the audit key (version 2) gets one when the daemon first
// asks for it, written to disk before it is used; every later open gives it back.
TEST_F(SmallStore, AVersion2StoreGetsAnAuditKeyOnDiskBeforeItIsUsed) {
  store::Image image = parse_file(original_);
  const auto data_key = store::unwrap_with_key_file(image.slots, master_);
  image.version = 2;
  image.audit_key.clear();
  const std::vector<unsigned char> v2 = store::serialize(image, data_key);
  write_private(path_, std::string(v2.begin(), v2.end()));

  std::optional<SecretBytes> key;
  {
    auto vault = Vault::open(path_, master_);
    key = vault->audit_key();
    ASSERT_TRUE(key);
    EXPECT_EQ(key->size(), store::kAuditKeyBytes);
  }
  const store::Image upgraded = parse_file(read_file(path_));
  EXPECT_EQ(upgraded.version, store::kFormatVersion);
  EXPECT_TRUE(store::open_audit_key(data_key, upgraded.audit_key).equals(key->bytes()));
  auto vault = Vault::open(path_, master_);
  EXPECT_TRUE(vault->audit_key()->equals(key->bytes()));
  for (const Key& k : keys_) expect_signs_as(*vault, k);
  EXPECT_FALSE(Vault::open_locked(path_)->audit_key()) << "locked, there is no key to give";
}

// The audit key of another vault, put in with the MAC and checksum of this one
// recomputed as only its owner could, still does not open.
TEST_F(SmallStore, AnAuditKeySealedForAnotherVaultIsTampering) {
  store::Image image = parse_file(original_);
  const auto data_key = store::unwrap_with_key_file(image.slots, master_);
  image.audit_key = store::seal_audit_key(store::DataKey::generate(), SecretBytes::random(store::kAuditKeyBytes));
  const std::vector<unsigned char> swapped = store::serialize(image, data_key);
  const std::string message =
      expect_open_refused(mutated(std::string(swapped.begin(), swapped.end())), master_, Code::tampered_store);
  EXPECT_TRUE(contains(message, "audit key")) << message;
}

TEST_F(SmallStore, EverySingleFlippedBitIsCorruptStore) {
  ASSERT_GT(original_.size(), 200u);
  ASSERT_LT(original_.size(), 2000u);
  for (std::size_t i = 0; i < original_.size(); ++i) {
    SCOPED_TRACE("flipped byte at offset " + std::to_string(i));
    std::string bytes = original_;
    bytes[i] = static_cast<char>(bytes[i] ^ 0x01);
    const fs::path path = mutated(bytes);
    expect_open_refused(path, master_, Code::corrupt_store);
    error_of(Code::corrupt_store, [&] { Vault::open_locked(path); });
    if (HasFailure()) break;  // one offset explains it; do not print hundreds
  }
}

TEST_F(SmallStore, EveryTruncationIsCorruptStore) {
  for (std::size_t length = 0; length < original_.size(); ++length) {
    SCOPED_TRACE("truncated to " + std::to_string(length) + " bytes");
    const fs::path path = mutated(original_.substr(0, length));
    expect_open_refused(path, master_, Code::corrupt_store);
    if (HasFailure()) break;
  }
}

TEST_F(SmallStore, TrailingBytesAreCorruptStore) {
  expect_open_refused(mutated(original_ + '\0'), master_, Code::corrupt_store);
  // Even with a checksum recomputed over them.
  std::string extended = original_.substr(0, original_.size() - 32) + "x";
  expect_open_refused(mutated(extended + checksum(extended)), master_, Code::corrupt_store);
}

TEST_F(SmallStore, BadMagicIsCorruptStoreSayingSo) {
  std::string bytes = original_;
  bytes.replace(0, 8, "OKXVAULU");
  const std::string message = expect_open_refused(mutated(with_fresh_checksum(bytes)), master_, Code::corrupt_store);
  EXPECT_TRUE(contains(message, "magic")) << message;
}

TEST_F(SmallStore, AnotherFormatVersionIsUnsupportedVersion) {
  for (const std::uint16_t version : {0, 4, 0xffff}) {
    SCOPED_TRACE("version " + std::to_string(version));
    std::string bytes = original_;
    bytes[8] = static_cast<char>(version & 0xff);
    bytes[9] = static_cast<char>(version >> 8);
    const std::string message =
        expect_open_refused(mutated(with_fresh_checksum(bytes)), master_, Code::unsupported_version);
    EXPECT_TRUE(contains(message, std::to_string(version))) << message;
  }
}

TEST_F(SmallStore, FileThatIsNotAStoreIsCorruptStore) {
  expect_open_refused(mutated("this is not a vault, just some text that is long enough to be one........."
                              "........................................................................."),
                      master_, Code::corrupt_store);
  expect_open_refused(mutated(std::string(original_.size(), '\0')), master_, Code::corrupt_store);
}

// --- tampering -------------------------------------------------------------
// Each edit below keeps the file well formed and its checksum valid: only the
// cryptography can tell.

TEST_F(SmallStore, SwappedSealedSecretsAreTamperedStoreNamingTheRecord) {
  store::Image image = parse_file(original_);
  ASSERT_EQ(image.records.size(), 2u);
  std::swap(image.records[0].sealed, image.records[1].sealed);
  const std::string message = expect_open_refused(mutated(encode_documented_layout(image, keyed_mac_of(original_))),
                                                  master_, Code::tampered_store);
  EXPECT_TRUE(contains(message, "'" + image.records[0].name + "'")) << message;
  EXPECT_TRUE(contains(message, "tampered with or swapped")) << message;
}

TEST_F(SmallStore, SwappedNamesAreTamperedStore) {
  store::Image image = parse_file(original_);
  ASSERT_EQ(image.records.size(), 2u);
  std::swap(image.records[0].name, image.records[1].name);
  const std::string message = expect_open_refused(mutated(encode_documented_layout(image, keyed_mac_of(original_))),
                                                  master_, Code::tampered_store);
  EXPECT_TRUE(contains(message, "'" + image.records[0].name + "'")) << message;
  EXPECT_TRUE(contains(message, "tampered with or swapped")) << message;
}

TEST_F(SmallStore, SwappedApiKeysAreTamperedStore) {
  store::Image image = parse_file(original_);
  ASSERT_EQ(image.records.size(), 2u);
  std::swap(image.records[0].api_key, image.records[1].api_key);
  const std::string message = expect_open_refused(mutated(encode_documented_layout(image, keyed_mac_of(original_))),
                                                  master_, Code::tampered_store);
  // Caught by the record's own authentication (the api key is associated data),
  // not only by the file MAC.
  EXPECT_TRUE(contains(message, "'" + image.records[0].name + "'")) << message;
  EXPECT_TRUE(contains(message, "tampered with or swapped")) << message;
}

TEST_F(SmallStore, RemovedRecordIsTamperedStore) {
  for (std::size_t drop = 0; drop < 2; ++drop) {
    SCOPED_TRACE("dropped record " + std::to_string(drop));
    store::Image image = parse_file(original_);
    image.records.erase(image.records.begin() + static_cast<std::ptrdiff_t>(drop));
    expect_open_refused(mutated(encode_documented_layout(image, keyed_mac_of(original_))), master_,
                        Code::tampered_store);
  }
}

TEST_F(SmallStore, ReorderedRecordsAreTamperedStore) {
  store::Image image = parse_file(original_);
  std::swap(image.records[0], image.records[1]);
  expect_open_refused(mutated(encode_documented_layout(image, keyed_mac_of(original_))), master_, Code::tampered_store);
}

TEST_F(SmallStore, DuplicatedRecordIsTamperedStore) {
  store::Image image = parse_file(original_);
  image.records.push_back(image.records[0]);
  expect_open_refused(mutated(encode_documented_layout(image, keyed_mac_of(original_))), master_, Code::tampered_store);
}

// Turning a demo key into a live one (or back) must not go unnoticed.
TEST_F(SmallStore, EditedMetadataIsTamperedStore) {
  for (std::size_t r = 0; r < 2; ++r) {
    store::Image image = parse_file(original_);
    std::string& metadata = image.records[r].metadata;
    SCOPED_TRACE(image.records[r].name + " metadata " + metadata);
    for (const auto& [from, to] : {std::pair{"\"simulated\":false", "\"simulated\":true"},
                                   std::pair{"\"simulated\":true", "\"simulated\":false"}}) {
      if (const auto at = metadata.find(from); at != std::string::npos) {
        metadata.replace(at, std::string_view(from).size(), to);
        break;
      }
    }
    ASSERT_NE(metadata, parse_file(original_).records[r].metadata) << "no simulated flag found to flip";
    expect_open_refused(mutated(encode_documented_layout(image, keyed_mac_of(original_))), master_,
                        Code::tampered_store);
  }
}

TEST_F(SmallStore, EditedSignCountOfTheSameLengthIsTamperedStore) {
  std::string bytes = original_;
  const auto at = bytes.find("\"sign_count\":0");
  ASSERT_NE(at, std::string::npos);
  bytes[at + std::string_view("\"sign_count\":").size()] = '9';
  expect_open_refused(mutated(with_fresh_checksum(bytes)), master_, Code::tampered_store);
}

// Metadata the MAC vouches for but no build of the daemon writes (a bug, or a
// forged file made with the data key): refused, naming the record it is in.
TEST(StoreMetadata, InvalidMetadataUnderAValidMacIsTamperedStoreNamingTheKey) {
  TempDir dir;
  const SecretBytes master = SecretBytes::random(store::kMasterKeyBytes);
  const store::DataKey data_key = store::DataKey::generate();
  const std::string valid =
      R"({"simulated":false,"created_ms":1767225600000,"expires_ms":null,"last_used_ms":0,"sign_count":0,"grants":[]})";
  for (const std::string metadata :
       {R"({"simulated":false,"created_ms":"yesterday","last_used_ms":0,"sign_count":0,"grants":[]})",
        R"({"simulated":false,"created_ms":1767225600000,"last_used_ms":0,"sign_count":-1,"grants":[]})",
        R"({"simulated":false,"created_ms":1767225600000,"last_used_ms":0,"sign_count":0,"grants":[{"id":"root"}]})",
        R"({"simulated":"no","created_ms":1767225600000,"last_used_ms":0,"sign_count":0,"grants":[]})",
        R"(["not", "an", "object"])"}) {
    SCOPED_TRACE(metadata);
    const store::Image image{{store::wrap_with_key_file(data_key, master)},
                             {store::seal_record(data_key, "alpha", "aaaa41a1-1d5a-4b3c", valid,
                                                 SecretBytes::copy_of("SECRET"), SecretBytes::copy_of("pass")),
                              store::seal_record(data_key, "bravo-key", "bbbb41a1-1d5a-4b3c", metadata,
                                                 SecretBytes::copy_of("SECRET"), SecretBytes::copy_of("pass"))}};
    const fs::path path = dir / "vault.store";
    const std::vector<unsigned char> bytes = store::serialize(image, data_key);
    write_private(path, std::string(bytes.begin(), bytes.end()));
    const std::string message = expect_open_refused(path, master, Code::tampered_store);
    EXPECT_TRUE(contains(message, "record 'bravo-key' has invalid metadata")) << message;
  }
}

TEST_F(SmallStore, RecordsTakenFromAnotherVaultAreTamperedStore) {
  // Another vault under the same master key: its records are sealed under a
  // different data key.
  const fs::path other_path = dir_ / "other.store";
  {
    auto other = Vault::create(other_path, master_);
    for (const Key& key : keys_) other->add(request_for(key));
  }
  store::Image image = parse_file(original_);
  image.records = parse_file(read_file(other_path)).records;
  expect_open_refused(mutated(encode_documented_layout(image, keyed_mac_of(original_))), master_, Code::tampered_store);
}

// --- no plaintext at rest ----------------------------------------------------

TEST(StoreAtRest, SecretsAndPassphrasesNeverAppearInTheFiles) {
  TempDir dir;
  const fs::path key_path = dir / "master.key";
  const fs::path path = dir / "vault.store";
  const SecretBytes master = create_key_file(key_path);
  const Key key{"plain", "37c541a1-1d5a-4b3c-9e8f-10fe7a038418", "SeCrEtMaRkEr0123456789QwErTyZxCv",
                "PaSsPhRaSeMaRkEr#2024", false};
  {
    auto vault = Vault::create(path, master);
    vault->add(request_for(key));
    vault->add(request_for(numbered_key(1)));
    sign(*vault, key.name, kTimestamp, "GET", kPath, "");
    vault->remove(numbered_key(1).name);  // one more save after a sign
  }
  const std::string store_bytes = read_file(path);
  const std::string key_bytes = read_file(key_path);
  ASSERT_FALSE(store_bytes.empty());

  std::vector<std::string> forbidden;
  for (const std::string& text : {key.secret, key.passphrase}) {
    forbidden.push_back(text);
    forbidden.push_back(base64(text, sodium_base64_VARIANT_ORIGINAL));
    forbidden.push_back(base64(text, sodium_base64_VARIANT_ORIGINAL_NO_PADDING));
    forbidden.push_back(base64(text, sodium_base64_VARIANT_URLSAFE_NO_PADDING));
    forbidden.push_back(hex(text));
    forbidden.push_back(upper(hex(text)));
  }
  for (const std::string& needle : forbidden) {
    EXPECT_FALSE(contains(store_bytes, needle)) << "store file contains " << needle;
    EXPECT_FALSE(contains(key_bytes, needle)) << "key file contains " << needle;
  }
  EXPECT_FALSE(contains(store_bytes, std::string(master.reveal()))) << "store file contains the master key";

  // And the key is really in there.
  expect_signs_as(*Vault::open(path, master), key);
}

// --- permissions and key files --------------------------------------------

TEST_F(SmallStore, StoreReadableByGroupOrOthersIsRefusedAndLeftAsIs) {
  // 0640, 0604, 0660, 0644: anyone but the owner may read it.
  for (const fs::perms extra :
       {fs::perms::group_read, fs::perms::others_read, fs::perms::group_read | fs::perms::group_write,
        fs::perms::group_read | fs::perms::others_read}) {
    fs::permissions(path_, fs::perms::owner_read | fs::perms::owner_write | extra, fs::perm_options::replace);
    const unsigned mode = mode_of(path_);
    SCOPED_TRACE("mode " + std::to_string(mode));
    const std::string message = expect_open_refused(path_, master_, Code::insecure_permissions);
    EXPECT_EQ(mode_of(path_), mode) << "the vault changed the file's mode";
  }
  fs::permissions(path_, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  EXPECT_EQ(Vault::open(path_, master_)->size(), 2u);
}

TEST(StoreFile, MissingStoreIsIoErrorNamingTheFile) {
  TempDir dir;
  const std::string message =
      error_of(Code::io_error, [&] { Vault::open(dir / "absent.store", SecretBytes::random(32)); });
  EXPECT_TRUE(contains(message, (dir / "absent.store").string())) << message;
}

TEST(KeyFile, CreateMakesA32ByteFileOfMode0600ThatReadsBack) {
  TempDir dir;
  const fs::path path = dir / "master.key";
  const SecretBytes key = create_key_file(path);
  ASSERT_EQ(key.size(), store::kMasterKeyBytes);
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(fs::file_size(path), store::kMasterKeyBytes);
  EXPECT_TRUE(read_key_file(path).equals(key.bytes()));
  EXPECT_TRUE(key.equals(bytes_of(read_file(path))));
}

TEST(KeyFile, CreateNeverReplacesAnExistingFile) {
  TempDir dir;
  const fs::path path = dir / "master.key";
  const SecretBytes first = create_key_file(path);
  const std::string before = read_file(path);
  const std::string message = error_of(Code::io_error, [&] { create_key_file(path); });
  EXPECT_TRUE(contains(message, path.string())) << message;
  EXPECT_EQ(read_file(path), before);
  EXPECT_TRUE(read_key_file(path).equals(first.bytes()));

  write_private(dir / "other", "not a key");
  error_of(Code::io_error, [&] { create_key_file(dir / "other"); });
  EXPECT_EQ(read_file(dir / "other"), "not a key");
}

TEST(KeyFile, KeyFileOfTheWrongLengthIsWrongMasterKey) {
  TempDir dir;
  for (const std::size_t size : {0, 1, 31, 33, 64}) {
    SCOPED_TRACE(std::to_string(size) + " bytes");
    const fs::path path = dir / ("key" + std::to_string(size));
    write_private(path, std::string(size, 'k'));
    const std::string message = error_of(Code::wrong_master_key, [&] { read_key_file(path); });
    EXPECT_TRUE(contains(message, path.string())) << message;
  }
}

TEST(KeyFile, KeyFileReadableByOthersIsInsecurePermissions) {
  TempDir dir;
  const fs::path path = dir / "master.key";
  create_key_file(path);
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read,
                  fs::perm_options::replace);
  const std::string message = error_of(Code::insecure_permissions, [&] { read_key_file(path); });
  EXPECT_TRUE(contains(message, path.string())) << message;
}

TEST(KeyFile, AVaultOpensOnlyWithItsOwnKeyFile) {
  TempDir dir;
  const SecretBytes master = create_key_file(dir / "master.key");
  const SecretBytes other = create_key_file(dir / "other.key");
  Vault::create(dir / "vault.store", master)->add(request_for(numbered_key(3)));
  expect_signs_as(*Vault::open(dir / "vault.store", read_key_file(dir / "master.key")), numbered_key(3));
  expect_open_refused(dir / "vault.store", read_key_file(dir / "other.key"), Code::wrong_master_key);
}

// --- failed writes ---------------------------------------------------------

// Makes the next store write fail, in a child process, and reports what the
// vault did. Tests run as root, which ignores directory permissions, so a
// read-only directory cannot make the write fail; a file size limit
// (RLIMIT_FSIZE, with SIGXFSZ ignored so write() returns EFBIG) does, for root
// too, and confining it to a forked child keeps the test process unaffected.
// Exit codes: 0 the vault behaved as specified; others say what went wrong.
int in_child_with_file_size_limit(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{100, 100};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(90);
    int code = 91;
    try {
      code = body();
    } catch (...) {
      code = 92;
    }
    ::_exit(code);
  }
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(SmallStore, FailedAddLeavesThePreviousStoreAndMemoryIntact) {
  auto vault = Vault::open(path_, master_);
  const Key extra = numbered_key(9);
  const int child = in_child_with_file_size_limit([&] {
    try {
      vault->add(request_for(extra));
      return 1;  // the write should have failed
    } catch (const Error& e) {
      if (e.code() != Code::io_error) return 2;
      if (!contains(e.what(), dir_.path().string())) return 3;  // names the file
    }
    if (vault->size() != keys_.size()) return 4;  // memory follows the disk
    try {
      sign(*vault, extra.name, kTimestamp, "GET", kPath, "");
      return 5;
    } catch (const Error& e) {
      if (e.code() != Code::key_not_found) return 6;
    }
    return 0;
  });
  EXPECT_EQ(child, 0) << "1 add succeeded, 2 wrong code, 3 message lacks the path, 4 key added in memory, "
                         "5/6 the unsaved key signs";

  EXPECT_EQ(read_file(path_), original_);
  EXPECT_EQ(entries_of(dir_.path()), (std::set<std::string>{"vault.store", "vault.store.reserve"}))
      << "a temporary file was left behind";
  auto reopened = Vault::open(path_, master_);
  EXPECT_EQ(reopened->size(), keys_.size());
  for (const Key& key : keys_) expect_signs_as(*reopened, key);
}

// A revoke whose write fails, even into the reserved space, takes effect in
// memory all the same and says it is not on disk; the store is left as it was.
TEST_F(SmallStore, FailedRemoveTakesEffectInMemoryAndLeavesThePreviousStore) {
  auto vault = Vault::open(path_, master_);
  const int child = in_child_with_file_size_limit([&] {
    try {
      vault->remove(keys_[0].name);
      return 1;
    } catch (const Error& e) {
      if (e.code() != Code::not_persisted) return 2;
    }
    if (vault->size() != keys_.size() - 1) return 4;
    try {
      sign(*vault, keys_[0].name, kTimestamp, "GET", kPath, "");
      return 5;
    } catch (const Error& e) {
      if (e.code() != Code::key_not_found) return 6;
    }
    return 0;
  });
  EXPECT_EQ(child, 0) << "1 remove succeeded, 2 wrong code, 4 key still in memory, 5/6 the revoked key signs";

  EXPECT_EQ(read_file(path_), original_);
  EXPECT_EQ(entries_of(dir_.path()), std::set<std::string>{"vault.store"}) << "a temporary file was left behind";
  EXPECT_EQ(Vault::open(path_, master_)->size(), keys_.size());
}

// --- validation at the store boundary --------------------------------------

TEST_F(SmallStore, ValidNamesAreAccepted) {
  auto vault = Vault::open(path_, master_);
  std::size_t n = keys_.size();
  for (const std::string& name : std::vector<std::string>{"a", "main-1", "bot_2.x", "0day", std::string(64, 'n')}) {
    SCOPED_TRACE(name);
    EXPECT_NO_THROW(store::validate_name(name));
    Key key = numbered_key(static_cast<int>(n));
    key.name = name;
    EXPECT_NO_THROW(vault->add(request_for(key)));
    EXPECT_EQ(vault->size(), ++n);
    expect_signs_as(*vault, key);
  }
}

TEST_F(SmallStore, InvalidNamesAreInvalidNameAndChangeNothing) {
  auto vault = Vault::open(path_, master_);
  const std::vector<std::string> names = {"",
                                          "A",
                                          "Main",
                                          "-x",
                                          ".x",
                                          "_x",
                                          "a b",
                                          "a/b",
                                          "../a",
                                          "a\nb",
                                          std::string("a\0b", 3),
                                          std::string(65, 'n'),
                                          "\xc3\xa9",
                                          "caf\xc3\xa9"};
  for (const std::string& name : names) {
    SCOPED_TRACE("name \"" + name + "\"");
    error_of(Code::invalid_name, [&] { store::validate_name(name); });
    Key key = numbered_key(5);
    key.name = name;
    error_of(Code::invalid_name, [&] { vault->add(request_for(key)); });
  }
  EXPECT_EQ(vault->size(), keys_.size());
  EXPECT_EQ(read_file(path_), original_);
}

struct FieldCase {
  std::string field;  // "api_key", "secret" or "passphrase"
  std::string value;
};

// Values that must be refused; each carries a marker that must not be echoed.
std::vector<FieldCase> invalid_field_values() {
  const std::vector<std::pair<std::string, std::size_t>> fields = {{"api_key", store::kMaxApiKeyBytes},
                                                                   {"secret", store::kMaxSecretBytes},
                                                                   {"passphrase", store::kMaxPassphraseBytes}};
  std::vector<FieldCase> cases;
  for (const auto& [field, max] : fields) {
    cases.push_back({field, ""});
    cases.push_back({field, "LEAKMARK with space"});
    cases.push_back({field, " LEAKMARK"});
    cases.push_back({field, "LEAKMARK\x01"});
    cases.push_back({field, "LEAKMARK\ttab"});
    cases.push_back({field, "LEAKMARK\nline"});
    cases.push_back({field, "LEAKMARK\x7f"});
    cases.push_back({field, std::string("LEAKMARK\0nul", 12)});
    cases.push_back({field, "LEAKMARK\xc3\xa9"});
    cases.push_back({field, "LEAKMARK" + std::string(max + 1 - 8, 'x')});
  }
  return cases;
}

TEST_F(SmallStore, InvalidFieldsAreBadRequestWithoutEchoingTheValue) {
  auto vault = Vault::open(path_, master_);
  for (const FieldCase& c : invalid_field_values()) {
    SCOPED_TRACE(c.field + " of " + std::to_string(c.value.size()) + " bytes: \"" + c.value.substr(0, 20) + "\"");
    Key key = numbered_key(5);
    if (c.field == "api_key") key.api_key = c.value;
    if (c.field == "secret") key.secret = c.value;
    if (c.field == "passphrase") key.passphrase = c.value;
    const std::string message = error_of(Code::bad_request, [&] { vault->add(request_for(key)); });
    EXPECT_FALSE(contains(message, "LEAKMARK")) << message;
    EXPECT_TRUE(contains(message, c.field)) << "message does not say which field: " << message;
  }
  EXPECT_EQ(vault->size(), keys_.size());
  EXPECT_EQ(read_file(path_), original_);
}

TEST_F(SmallStore, FieldsAtTheirMaximumLengthAreAccepted) {
  auto vault = Vault::open(path_, master_);
  Key key{"longest", std::string(store::kMaxApiKeyBytes, 'K'), std::string(store::kMaxSecretBytes, 'S'),
          std::string(store::kMaxPassphraseBytes, 'P'), false};
  key.api_key.front() = '!';
  key.secret.back() = '~';  // the printable range is inclusive at both ends
  vault->add(request_for(key));
  expect_signs_as(*vault, key);
  expect_signs_as(*Vault::open(path_, master_), key);
}

TEST_F(SmallStore, DuplicateNameIsKeyExistsAndTheFirstKeyStillSigns) {
  auto vault = Vault::open(path_, master_);
  Key impostor = numbered_key(4);
  impostor.name = keys_[0].name;
  const std::string message = error_of(Code::key_exists, [&] { vault->add(request_for(impostor)); });
  EXPECT_FALSE(contains(message, impostor.secret)) << message;
  EXPECT_EQ(vault->size(), keys_.size());
  expect_signs_as(*vault, keys_[0]);
  EXPECT_EQ(read_file(path_), original_);
  expect_signs_as(*Vault::open(path_, master_), keys_[0]);
}

TEST_F(SmallStore, RemoveOfAnUnknownKeyIsKeyNotFound) {
  auto vault = Vault::open(path_, master_);
  error_of(Code::key_not_found, [&] { vault->remove("charlie"); });
  EXPECT_EQ(vault->size(), keys_.size());
  EXPECT_EQ(read_file(path_), original_);
}

TEST_F(SmallStore, RemovedKeyIsGoneNowAndAfterReopening) {
  auto vault = Vault::open(path_, master_);
  vault->remove(keys_[0].name);
  EXPECT_EQ(vault->size(), 1u);
  error_of(Code::key_not_found, [&] { sign(*vault, keys_[0].name, kTimestamp, "GET", kPath, ""); });
  error_of(Code::key_not_found, [&] { ws_login(*vault, keys_[0].name, "1538054050"); });
  error_of(Code::key_not_found, [&] { vault->remove(keys_[0].name); });
  vault.reset();

  auto reopened = Vault::open(path_, master_);
  const std::vector<proto::KeyInfo> listed = list_all(*reopened);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name, keys_[1].name);
  error_of(Code::key_not_found, [&] { sign(*reopened, keys_[0].name, kTimestamp, "GET", kPath, ""); });
  expect_signs_as(*reopened, keys_[1]);
  EXPECT_FALSE(contains(read_file(path_), keys_[0].api_key)) << "the removed key's record is still on disk";
}

TEST_F(SmallStore, ARemovedNameCanBeAddedAgainWithANewSecret) {
  auto vault = Vault::open(path_, master_);
  vault->remove(keys_[0].name);
  Key replacement = numbered_key(8);
  replacement.name = keys_[0].name;
  vault->add(request_for(replacement));
  expect_signs_as(*vault, replacement);
  expect_signs_as(*Vault::open(path_, master_), replacement);
}

TEST_F(SmallStore, SignOfAnUnknownKeyIsKeyNotFound) {
  auto vault = Vault::open(path_, master_);
  error_of(Code::key_not_found, [&] { sign(*vault, "charlie", kTimestamp, "GET", kPath, ""); });
  error_of(Code::key_not_found, [&] { ws_login(*vault, "charlie", "1538054050"); });
}

// --- create ----------------------------------------------------------------

TEST(VaultCreate, RefusesAnExistingPathAndLeavesItUnchanged) {
  TempDir dir;
  const SecretBytes master = SecretBytes::random(store::kMasterKeyBytes);
  const fs::path path = dir / "vault.store";
  write_private(path, "someone else's file");
  const std::string message = error_of(Code::io_error, [&] { Vault::create(path, master); });
  EXPECT_TRUE(contains(message, path.string())) << message;
  EXPECT_EQ(read_file(path), "someone else's file");
}

TEST(VaultCreate, RefusesToReplaceAnExistingVault) {
  TempDir dir;
  const SecretBytes master = SecretBytes::random(store::kMasterKeyBytes);
  const fs::path path = dir / "vault.store";
  Vault::create(path, master)->add(request_for(numbered_key(1)));
  const std::string before = read_file(path);
  error_of(Code::io_error, [&] { Vault::create(path, master); });
  EXPECT_EQ(read_file(path), before);
  expect_signs_as(*Vault::open(path, master), numbered_key(1));
}

TEST(VaultCreate, RefusesADanglingSymlink) {
  TempDir dir;
  const fs::path path = dir / "vault.store";
  fs::create_symlink(dir / "elsewhere", path);
  error_of(Code::io_error, [&] { Vault::create(path, SecretBytes::random(store::kMasterKeyBytes)); });
  EXPECT_FALSE(fs::exists(dir / "elsewhere"));
}

}  // namespace
}  // namespace okxvault
