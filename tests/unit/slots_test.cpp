// Passphrase slots, locking and the slot changes of a Vault, on real files.

#include <gtest/gtest.h>
#include <sodium.h>

#include <filesystem>
#include <functional>
#include <thread>

#include "common/error.hpp"
#include "daemon/core/passphrase_gate.hpp"
#include "daemon/core/vault.hpp"
#include "daemon/store/store_file.hpp"
#include "tests/support/code_of.hpp"
#include "tests/support/process.hpp"
#include "tests/support/reference_sign.hpp"

namespace okxvault {
namespace {
namespace fs = std::filesystem;
using test::code_of;
using test::read_file;
using test::write_file;

constexpr auto kCost = store::kTestPassphraseCost;
constexpr std::string_view kTimestamp = "2020-12-08T09:08:57.715Z";

const Peer& root() {
  static const Peer peer{0, 0, 1, {}, {}};
  return peer;
}

SecretBytes text(std::string_view value) { return SecretBytes::copy_of(value); }

proto::AddKeyRequest key_request(const std::string& name) {
  proto::AddKeyRequest request;
  request.name = name;
  request.api_key = "api-key-of-" + name;
  request.secret = text("SECRET-OF-" + name);
  request.passphrase = text("PASS-OF-" + name);
  return request;
}

std::string signature(Vault& vault, const std::string& name) {
  const auto headers =
      proto::decode_sign_reply(
          vault.sign(name, Caller{root(), true}, kTimestamp, "GET", "/api/v5/account/balance", "").body)
          .headers;
  for (const auto& [header, value] : headers) {
    if (header == "OK-ACCESS-SIGN") return value;
  }
  return {};
}

std::string expected_signature(const std::string& name) {
  return test::okx_signature("SECRET-OF-" + name, std::string(kTimestamp) + "GET/api/v5/account/balance");
}

// The unkeyed checksum recomputed, as someone editing the file would.
std::string with_fresh_checksum(std::string file) {
  file.resize(file.size() - 32);
  std::array<unsigned char, 32> sum{};
  crypto_generichash(sum.data(), sum.size(), reinterpret_cast<const unsigned char*>(file.data()), file.size(), nullptr,
                     0);
  return file + std::string(sum.begin(), sum.end());
}

store::Image image_of(const fs::path& path) {
  const auto bytes = read_private_file(path);
  return store::parse(bytes);
}

TEST(PassphraseSlot, RoundTripOpensWithThePassphraseOnly) {
  const auto key = store::DataKey::generate();
  const std::vector<store::Slot> slots{store::wrap_with_passphrase(key, text("correct horse"), kCost)};
  EXPECT_EQ(slots[0].params.size(), 33u);
  EXPECT_TRUE(store::unwrap_with_passphrase(slots, text("correct horse")).key().equals(key.key().bytes()));
  EXPECT_EQ(code_of([&] { store::unwrap_with_passphrase(slots, text("correct horsE")); }), Code::wrong_passphrase);
  EXPECT_EQ(code_of([&] { store::unwrap_with_key_file(slots, SecretBytes::random(32)); }), Code::wrong_master_key);
  EXPECT_EQ(store::cost_of(slots[0]).opslimit, kCost.opslimit);
  EXPECT_EQ(store::cost_of(slots[0]).memlimit, kCost.memlimit);
}

TEST(PassphraseSlot, EveryEditedParameterByteStopsTheSlotOpening) {
  const auto key = store::DataKey::generate();
  const store::Slot slot = store::wrap_with_passphrase(key, text("correct horse"), kCost);
  for (std::size_t i = 0; i < slot.params.size(); ++i) {
    std::vector<store::Slot> edited{slot};
    edited[0].params[i] ^= 0x01;
    const Code code = code_of([&] { store::unwrap_with_passphrase(edited, text("correct horse")); });
    EXPECT_TRUE(code == Code::wrong_passphrase || code == Code::corrupt_store) << "byte " << i;
  }
}

TEST(PassphraseSlot, OutOfRangeParametersAreRefusedBeforeHashing) {
  const auto key = store::DataKey::generate();
  store::Slot slot = store::wrap_with_passphrase(key, text("correct horse"), kCost);
  slot.params[9 + 7] = 0x40;  // memlimit's top byte: 2^62 bytes
  EXPECT_EQ(code_of([&] { store::unwrap_with_passphrase(std::vector{slot}, text("correct horse")); }),
            Code::corrupt_store);
  slot.params.pop_back();
  EXPECT_EQ(code_of([&] { store::cost_of(slot); }), Code::corrupt_store);
}

TEST(PassphraseSlot, TooShortOrTooLongPassphrasesAreBadRequest) {
  const auto key = store::DataKey::generate();
  EXPECT_EQ(code_of([&] { store::wrap_with_passphrase(key, text("short"), kCost); }), Code::bad_request);
  EXPECT_EQ(code_of([&] { store::wrap_with_passphrase(key, text(std::string(1025, 'x')), kCost); }), Code::bad_request);
}

// A store written by okx-vaultd before passphrase slots existed (tests/data/README.md).
class V1Fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"vault.store", "master.key"}) {
      fs::copy_file(fs::path(OKXVAULT_TEST_DATA) / "v1-keyfile" / name, dir_ / name);
      fs::permissions(dir_ / name, fs::perms::owner_read | fs::perms::owner_write);
    }
  }
  test::TempDir dir_;
};

TEST_F(V1Fixture, OpensUnchangedAndSignsWithItsKey) {
  const std::string before = read_file(dir_ / "vault.store");
  auto vault = Vault::open(dir_ / "vault.store", read_key_file(dir_ / "master.key"));
  EXPECT_FALSE(vault->locked());
  EXPECT_EQ(vault->slots(), std::vector<std::string>{"key_file"});
  const auto headers =
      proto::decode_sign_reply(
          vault->sign("fixture-key", Caller{root(), true}, kTimestamp, "GET", "/api/v5/account/balance", "").body)
          .headers;
  EXPECT_NE(std::find(headers.begin(), headers.end(),
                      std::pair<std::string, std::string>{"OK-ACCESS-SIGN",
                                                          test::okx_signature("FIXTURE-SECRET-abc123",
                                                                              std::string(kTimestamp) +
                                                                                  "GET/api/v5/account/balance")}),
            headers.end());
  EXPECT_EQ(vault->generation(), 0u) << "a version 1 store has generation 0";
  vault.reset();
  EXPECT_EQ(read_file(dir_ / "vault.store"), before) << "opening an old store must not rewrite it";
}

TEST_F(V1Fixture, ItsFirstWriteIsTheCurrentVersionAtGeneration1) {
  auto vault = Vault::open(dir_ / "vault.store", read_key_file(dir_ / "master.key"));
  vault->add(key_request("second"));
  const store::Image image = image_of(dir_ / "vault.store");
  EXPECT_EQ(image.version, store::kFormatVersion);
  EXPECT_EQ(image.generation, 1u);
  vault.reset();
  vault = Vault::open(dir_ / "vault.store", read_key_file(dir_ / "master.key"));
  EXPECT_EQ(vault->size(), 2u);
  EXPECT_EQ(vault->generation(), 1u);
}

class LockingVault : public ::testing::Test {
 protected:
  void SetUp() override {
    auto vault = Vault::create(path_, master_);
    vault->add(key_request("alpha"));
    vault->add(key_request("beta"));
    vault->set_passphrase(nullptr, text("first passphrase"), kCost);
  }
  test::TempDir dir_;
  fs::path path_ = dir_ / "vault.store";
  SecretBytes master_ = SecretBytes::random(32);
};

TEST_F(LockingVault, LockedItListsButRefusesSignsAndChangesUntilUnlocked) {
  auto vault = Vault::open(path_, master_);
  EXPECT_EQ(signature(*vault, "alpha"), expected_signature("alpha"));
  vault->lock();
  EXPECT_TRUE(vault->locked());
  EXPECT_EQ(vault->list(Caller{root(), true}).size(), 2u);
  const std::string before = read_file(path_);
  EXPECT_EQ(code_of([&] { signature(*vault, "alpha"); }), Code::vault_locked);
  EXPECT_EQ(code_of([&] { vault->ws_login("alpha", Caller{root(), true}, "1538054050"); }), Code::vault_locked);
  EXPECT_EQ(code_of([&] { vault->add(key_request("gamma")); }), Code::vault_locked);
  EXPECT_EQ(code_of([&] { vault->remove("alpha"); }), Code::vault_locked);
  EXPECT_EQ(code_of([&] { vault->set_grants("alpha", {}); }), Code::vault_locked);
  EXPECT_EQ(code_of([&] { vault->rotate_key_file(dir_ / "master.key"); }), Code::vault_locked);
  EXPECT_EQ(read_file(path_), before) << "a locked vault wrote its store";

  EXPECT_EQ(code_of([&] { vault->unlock(text("wrong passphrase")); }), Code::wrong_passphrase);
  EXPECT_TRUE(vault->locked());
  vault->unlock(text("first passphrase"));
  EXPECT_EQ(signature(*vault, "beta"), expected_signature("beta"));
}

TEST_F(LockingVault, UnlockRefusesAStoreWhoseMetadataWasEditedWhileLocked) {
  auto vault = Vault::open_locked(path_);
  std::string file = read_file(path_);
  const auto at = file.find("\"sign_count\":0");
  ASSERT_NE(at, std::string::npos);
  file[at + 13] = '9';
  write_file(path_, with_fresh_checksum(file));
  EXPECT_EQ(code_of([&] { vault->unlock(text("first passphrase")); }), Code::tampered_store);
  EXPECT_TRUE(vault->locked());
}

TEST_F(LockingVault, IdleVaultLocksAfterTheTimeAndNotBefore) {
  auto vault = Vault::open(path_, master_);
  EXPECT_FALSE(vault->lock_if_idle(std::chrono::hours(1)));
  signature(*vault, "alpha");
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_TRUE(vault->lock_if_idle(std::chrono::milliseconds(20)));
  EXPECT_TRUE(vault->locked());
}

TEST_F(LockingVault, ChangeNeedsTheCurrentPassphraseAndReplacesIt) {
  auto vault = Vault::open(path_, master_);
  EXPECT_EQ(code_of([&] { vault->set_passphrase(nullptr, text("second passphrase"), kCost); }), Code::bad_request);
  const SecretBytes wrong = text("not the passphrase");
  EXPECT_EQ(code_of([&] { vault->set_passphrase(&wrong, text("second passphrase"), kCost); }), Code::wrong_passphrase);
  const SecretBytes current = text("first passphrase");
  vault->set_passphrase(&current, text("second passphrase"), kCost);
  vault.reset();

  auto reopened = Vault::open_locked(path_);
  EXPECT_EQ(code_of([&] { reopened->unlock(text("first passphrase")); }), Code::wrong_passphrase);
  reopened->unlock(text("second passphrase"));
  EXPECT_EQ(signature(*reopened, "alpha"), expected_signature("alpha"));
}

TEST_F(LockingVault, TheLastSlotCannotBeRemoved) {
  auto vault = Vault::create_with_passphrase(dir_ / "other.store", text("only passphrase"), kCost);
  const std::string before = read_file(dir_ / "other.store");
  EXPECT_EQ(code_of([&] { vault->remove_passphrase(text("only passphrase")); }), Code::last_slot);
  EXPECT_EQ(read_file(dir_ / "other.store"), before);

  auto both = Vault::open(path_, master_);
  EXPECT_EQ(code_of([&] { both->remove_passphrase(text("wrong passphrase")); }), Code::wrong_passphrase);
  both->remove_passphrase(text("first passphrase"));
  EXPECT_EQ(both->slots(), std::vector<std::string>{"key_file"});
  EXPECT_EQ(code_of([&] { both->remove_passphrase(text("first passphrase")); }), Code::not_found);
}

TEST_F(LockingVault, RotatedKeyFileOpensAndTheOldOneNoLonger) {
  write_file(dir_ / "master.key", std::string(reinterpret_cast<const char*>(master_.data()), master_.size()));
  fs::permissions(dir_ / "master.key", fs::perms::owner_read | fs::perms::owner_write);
  Vault::open(path_, master_)->rotate_key_file(dir_ / "master.key");
  const SecretBytes rotated = read_key_file(dir_ / "master.key");
  EXPECT_FALSE(rotated.equals(master_.bytes()));
  EXPECT_EQ(code_of([&] { Vault::open(path_, master_); }), Code::wrong_master_key);
  EXPECT_EQ(signature(*Vault::open(path_, rotated), "beta"), expected_signature("beta"));
  EXPECT_EQ(image_of(path_).slots.size(), 2u) << "one key-file slot and the passphrase slot";
}

TEST_F(LockingVault, StoreLeftWithBothKeyFileSlotsOpensWithEitherAndDropsTheOther) {
  // What an interrupted rotation leaves: the store with the old and the new slot.
  auto vault = Vault::open(path_, master_);
  const SecretBytes next = SecretBytes::random(32);
  const auto data_key = store::unwrap_with_key_file(image_of(path_).slots, master_);
  store::Image image = image_of(path_);
  image.slots.push_back(store::wrap_with_key_file(data_key, next));
  write_file(path_, [&] {
    const auto bytes = store::serialize(image, data_key);
    return std::string(bytes.begin(), bytes.end());
  }());
  vault.reset();
  EXPECT_EQ(signature(*Vault::open(path_, next), "alpha"), expected_signature("alpha"));
  EXPECT_EQ(code_of([&] { Vault::open(path_, master_); }), Code::wrong_master_key) << "the old slot was dropped";
}

TEST_F(LockingVault, RekeyResealsEveryRecordSoTheOldDataKeyOpensNothing) {
  write_file(dir_ / "master.key", std::string(reinterpret_cast<const char*>(master_.data()), master_.size()));
  fs::permissions(dir_ / "master.key", fs::perms::owner_read | fs::perms::owner_write);
  const auto old_key = store::unwrap_with_key_file(image_of(path_).slots, master_);
  auto vault = Vault::open(path_, master_);
  EXPECT_EQ(code_of([&] { vault->rekey(nullptr, dir_ / "master.key"); }), Code::bad_request) << "passphrase needed";
  const SecretBytes wrong = text("wrong passphrase");
  EXPECT_EQ(code_of([&] { vault->rekey(&wrong, dir_ / "master.key"); }), Code::wrong_passphrase);
  const SecretBytes current = text("first passphrase");
  EXPECT_EQ(code_of([&] { vault->rekey(&current, dir_ / "absent.key"); }), Code::io_error);
  const std::optional<SecretBytes> audit_key = vault->audit_key();
  ASSERT_TRUE(audit_key);
  vault->rekey(&current, dir_ / "master.key");
  EXPECT_EQ(signature(*vault, "alpha"), expected_signature("alpha")) << "memory follows the new key";
  EXPECT_TRUE(vault->audit_key()->equals(audit_key->bytes())) << "the audit log goes on with the same key";
  vault.reset();

  const store::Image after = image_of(path_);
  const auto new_key = store::unwrap_with_key_file(after.slots, master_);
  EXPECT_FALSE(new_key.key().equals(old_key.key().bytes()));
  EXPECT_TRUE(store::open_audit_key(new_key, after.audit_key).equals(audit_key->bytes()));
  EXPECT_EQ(code_of([&] { store::open_audit_key(old_key, after.audit_key); }), Code::tampered_store);
  for (const store::Record& record : after.records) {
    EXPECT_EQ(code_of([&] { store::open_record(old_key, record); }), Code::tampered_store) << record.name;
  }
  EXPECT_TRUE(store::unwrap_with_passphrase(after.slots, text("first passphrase")).key().equals(new_key.key().bytes()));
  auto locked = Vault::open_locked(path_);
  locked->unlock(text("first passphrase"));
  EXPECT_EQ(signature(*locked, "beta"), expected_signature("beta"));
}

TEST(PassphraseGate, DelaysDoubleFromAQuarterSecondAndEarlyAttemptsAreNotEvaluated) {
  PassphraseGate gate;
  std::vector<long> holds;
  for (int i = 0; i < 3; ++i) {
    std::chrono::milliseconds hold{0};
    EXPECT_EQ(code_of([&] { gate.run([] { throw Error(Code::wrong_passphrase, "wrong"); }, hold); }),
              Code::wrong_passphrase);
    holds.push_back(hold.count());
    bool ran = false;
    std::chrono::milliseconds ignored{0};
    EXPECT_EQ(code_of([&] { gate.run([&] { ran = true; }, ignored); }), Code::too_many_attempts);
    EXPECT_FALSE(ran);
    std::this_thread::sleep_for(hold);
  }
  EXPECT_EQ(holds, (std::vector<long>{250, 500, 1000}));
  EXPECT_EQ(gate.failures(), 3u);
}

TEST(PassphraseGate, OtherErrorsNeitherCountNorReset) {
  PassphraseGate gate;
  std::chrono::milliseconds hold{0};
  code_of([&] { gate.run([] { throw Error(Code::bad_request, "no"); }, hold); });
  EXPECT_EQ(gate.failures(), 0u);
  EXPECT_EQ(hold.count(), 0);
  code_of([&] { gate.run([] { throw Error(Code::wrong_passphrase, "wrong"); }, hold); });
  std::this_thread::sleep_for(hold);
  gate.run([] {}, hold);
  EXPECT_EQ(gate.failures(), 0u);
}

TEST(PassphraseGate, OneAttemptAtATime) {
  PassphraseGate gate;
  std::chrono::milliseconds hold{0};
  Code concurrent = Code::internal;
  gate.run(
      [&] {
        std::thread other([&] { concurrent = code_of([&] { gate.run([] {}, hold); }); });
        other.join();
      },
      hold);
  EXPECT_EQ(concurrent, Code::too_many_attempts);
}

}  // namespace
}  // namespace okxvault
