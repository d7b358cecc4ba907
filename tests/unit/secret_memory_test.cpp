// Secrets in the daemon's memory, seen from inside: this process scans its own
// readable memory (/proc/self/maps, /proc/self/mem) for a key's secret, its
// passphrase and its HMAC key schedule. While the key is held they are in
// locked pages (VmLck grows); once it is revoked, or the vault destroyed, no copy
// is left anywhere, freed heap included.

#include <fcntl.h>
#include <sodium.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "daemon/api/handler.hpp"
#include "daemon/core/vault.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sanitizers.hpp"

namespace okxvault {
namespace {
namespace http = boost::beast::http;

constexpr unsigned char kMask = 0xa5;
// malloc links a freed chunk into its free lists through the first 16 bytes of
// what it held: a copy freed unwiped keeps only the bytes after those.
constexpr std::size_t kFreeListLinks = 16;
constexpr std::size_t kChunk = 1 << 20;
// Larger readable mappings are sanitizer shadow memory, never the heap.
constexpr std::size_t kMaxRegion = std::size_t{1} << 30;
// The sanitizers' interceptors turn mlock() into a no-op.
constexpr bool kMlockWorks = !test::kAddressSanitizer && !test::kThreadSanitizer;

// Bytes to look for, kept masked so that the pattern itself is not a copy.
struct Needle {
  std::string what;
  std::vector<unsigned char> masked;

  Needle(std::string name, std::span<const unsigned char> bytes) : what(std::move(name)) {
    for (unsigned char b : bytes) masked.push_back(b ^ kMask);
  }
  bool at(const unsigned char* p) const {
    for (std::size_t i = 0; i < masked.size(); ++i) {
      if ((p[i] ^ kMask) != masked[i]) return false;
    }
    return true;
  }
};

// Counts the copies of each needle in every readable mapping of this process.
class MemoryScanner {
 public:
  MemoryScanner()
      : buffer_(static_cast<unsigned char*>(
            ::mmap(nullptr, kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))),
        mem_(::open("/proc/self/mem", O_RDONLY | O_CLOEXEC)) {}
  ~MemoryScanner() {
    ::munmap(buffer_, kChunk);
    ::close(mem_);
  }

  std::vector<std::size_t> count(const std::vector<Needle>& needles) {
    std::vector<std::size_t> hits(needles.size());
    std::size_t longest = 0;
    for (const Needle& n : needles) longest = std::max(longest, n.masked.size());
    std::ifstream maps("/proc/self/maps");
    for (std::string line; std::getline(maps, line);) {
      std::uintptr_t begin = 0, end = 0;
      char perms[5] = {};
      if (std::sscanf(line.c_str(), "%lx-%lx %4s", &begin, &end, perms) != 3 || perms[0] != 'r') continue;
      const auto self = reinterpret_cast<std::uintptr_t>(buffer_);
      if (begin == self || end - begin > kMaxRegion || line.find("[vvar]") != std::string::npos) continue;
      // Chunks overlap by a needle's length, so that no copy straddles two unseen.
      for (std::uintptr_t at = begin; at < end; at += kChunk - longest) {
        const std::size_t want = std::min<std::size_t>(kChunk, end - at);
        const ssize_t got = ::pread(mem_, buffer_, want, static_cast<off_t>(at));
        if (got <= 0) break;
        scanned_ += static_cast<std::size_t>(got);
        for (std::size_t i = 0; i < needles.size(); ++i) {
          const auto& n = needles[i];
          if (static_cast<std::size_t>(got) < n.masked.size()) continue;
          // A copy wholly inside the overlap was counted with the previous chunk.
          const std::size_t from = at == begin ? 0 : longest - n.masked.size() + 1;
          const unsigned char first = n.masked[0] ^ kMask;
          for (std::size_t j = from; j + n.masked.size() <= static_cast<std::size_t>(got); ++j) {
            const void* p = std::memchr(buffer_ + j, first, static_cast<std::size_t>(got) - n.masked.size() + 1 - j);
            if (p == nullptr) break;
            j = static_cast<std::size_t>(static_cast<const unsigned char*>(p) - buffer_);
            hits[i] += n.at(buffer_ + j);
          }
        }
        if (static_cast<std::size_t>(got) < want || at + want >= end) break;
      }
    }
    return hits;
  }
  std::size_t scanned() const { return scanned_; }

 private:
  unsigned char* buffer_;
  int mem_;
  std::size_t scanned_ = 0;
};

long vm_locked_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmLck:")) return std::stol(line.substr(6));
  }
  return -1;
}

// Random printable text born in guarded memory: no other copy ever exists.
SecretBytes random_text(std::size_t size) {
  SecretBytes text = SecretBytes::random(size);
  for (std::size_t i = 0; i < size; ++i) text.data()[i] = static_cast<unsigned char>('A' + text.data()[i] % 26);
  return text;
}

class SecretMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    // Both in the pool's 128-byte class, which the key schedule (64 bytes) does
    // not share: the vault's copy of it needs a locked page of its own.
    SecretBytes secret = random_text(100), passphrase = random_text(120);
    crypto_auth_hmacsha256_state schedule;
    crypto_auth_hmacsha256_init(&schedule, secret.data(), secret.size());
    needles_ = {Needle("secret", secret.bytes().subspan(kFreeListLinks)),
                Needle("passphrase", passphrase.bytes().subspan(kFreeListLinks)),
                Needle("HMAC key schedule",
                       {reinterpret_cast<const unsigned char*>(&schedule.ictx.state), sizeof schedule.ictx.state})};
    sodium_memzero(&schedule, sizeof schedule);
    // The control: the scan finds both where this test holds them.
    const auto hits = scanner_.count(needles_);
    EXPECT_GE(hits[0], 1u) << "the scan cannot see the secret the test holds";
    EXPECT_GE(hits[1], 1u) << "the scan cannot see the passphrase the test holds";
    request_ = proto::AddKeyRequest{"main", "8f2e0a4c-5b1d-4e7f-9a3c", std::move(secret), std::move(passphrase)};
    vault_ = Vault::create(dir_ / "vault.store", master_key_);
  }

  // Copies of the secret, passphrase and key schedule, in that order.
  std::vector<std::size_t> copies() { return scanner_.count(needles_); }

  void expect_none_left(const std::string& after) {
    const auto hits = copies();
    for (std::size_t i = 0; i < needles_.size(); ++i) {
      EXPECT_EQ(hits[i], 0u) << needles_[i].what << " still in memory after " << after;
    }
  }

  test::TempDir dir_;
  SecretBytes master_key_ = SecretBytes::random(32);
  MemoryScanner scanner_;
  std::vector<Needle> needles_;
  proto::AddKeyRequest request_;
  std::unique_ptr<Vault> vault_;
};

TEST_F(SecretMemoryTest, AVaultHoldsKeysInLockedMemoryAndLeavesNothingBehind) {
  const long locked_before = vm_locked_kib();
  vault_->add(request_);
  const long locked_holding = vm_locked_kib();  // the request's pages and the vault's copies
  request_ = {};
  const Peer peer{0, 0, 1};
  auto signed_request =
      vault_->sign("main", Caller{peer, true}, "2020-12-08T09:08:57.715Z", "GET", "/api/v5/account/balance", "");
  signed_request.body.clear();  // it carries the passphrase: clearing wipes it
  auto login = vault_->ws_login("main", Caller{peer, true}, "1607418537");
  login.body.clear();

  auto hits = copies();
  const long locked_held = vm_locked_kib();
  std::cout << "held: " << hits[0] << " secret, " << hits[1] << " passphrase, " << hits[2]
            << " key schedule copies; VmLck " << locked_before << " KiB with the request, " << locked_holding
            << " KiB after the add, " << locked_held << " KiB with the request gone; " << scanner_.scanned() / (1 << 20)
            << " MiB scanned\n";
  EXPECT_EQ(hits[0], 0u) << "the raw secret is kept; only its HMAC key schedule should be";
  EXPECT_EQ(hits[1], 1u) << "the passphrase should be held once";
  EXPECT_EQ(hits[2], 1u) << "the key schedule should be held once";
  if (kMlockWorks) {
    EXPECT_GT(locked_holding, locked_before) << "the key's pages are not locked";
  }

  vault_->remove("main");
  expect_none_left("revoke");
  const long locked_after = vm_locked_kib();
  std::cout << "VmLck " << locked_after << " KiB after the revoke\n";
  if (kMlockWorks) {
    EXPECT_LT(locked_after, locked_held) << "revoke left the key's pages locked";
  }

  // Opened from disk, the key is held the same way, and destruction wipes it.
  vault_.reset();
  vault_ = Vault::open(dir_ / "vault.store", master_key_);
  ASSERT_EQ(vault_->size(), 0u);
  SecretBytes secret2 = random_text(40);
  vault_->add(proto::AddKeyRequest{"other", "8f2e0a4c-5b1d-4e7f-9a3c", std::move(secret2), random_text(20)});
  vault_.reset();
  vault_ = Vault::open(dir_ / "vault.store", master_key_);
  ASSERT_EQ(vault_->size(), 1u);
  vault_.reset();
  expect_none_left("destruction");
}

// The OK-ACCESS-SIGN of a sign reply, read without copying the rest; the reply is wiped.
std::string signature_of(WipingString&& reply) {
  constexpr std::string_view kField = R"("OK-ACCESS-SIGN":")";
  const std::size_t at = reply.find(kField) + kField.size();
  std::string sign(std::string_view(reply).substr(at, reply.find('"', at) - at));
  reply.clear();
  return sign;
}

// Locking wipes every secret and unlocks their pages; unlocking brings the key
// back, in locked pages, signing as before.
TEST_F(SecretMemoryTest, LockWipesTheKeysAndUnlockBringsThemBack) {
  vault_->add(request_);
  request_ = {};
  const Peer peer{0, 0, 1};
  const auto sign = [&] {
    return signature_of(
        vault_->sign("main", Caller{peer, true}, "2020-12-08T09:08:57.715Z", "GET", "/api/v5/account/balance", "")
            .body);
  };
  const std::string signature = sign();
  auto hits = copies();
  const long locked_held = vm_locked_kib();
  EXPECT_EQ(hits[0], 0u) << "the raw secret is kept";
  EXPECT_EQ(hits[1], 1u) << "the passphrase should be held once";
  EXPECT_EQ(hits[2], 1u) << "the key schedule should be held once";

  vault_->lock();
  expect_none_left("lock");
  const long locked_locked = vm_locked_kib();
  std::cout << "VmLck " << locked_held << " KiB unlocked, " << locked_locked << " KiB locked\n";
  if (kMlockWorks) {
    EXPECT_LT(locked_locked, locked_held) << "lock left the key's pages locked";
  }
  EXPECT_THROW(sign(), Error);

  vault_->unlock_with_key_file(master_key_);
  hits = copies();
  EXPECT_EQ(hits[0], 0u) << "unlocking kept the raw secret";
  EXPECT_EQ(hits[1], 1u) << "after unlock the passphrase should be held once";
  EXPECT_EQ(hits[2], 1u) << "after unlock the key schedule should be held once";
  if (kMlockWorks) {
    EXPECT_GT(vm_locked_kib(), locked_locked) << "the unlocked key's pages are not locked";
  }
  EXPECT_EQ(sign(), signature);

  vault_->remove("main");
  expect_none_left("lock, unlock and revoke");
}

// The handler's replies carry the passphrase from guarded memory into the
// response body and nowhere else; the server wipes that body once it is sent.
TEST_F(SecretMemoryTest, TheHandlerLeavesNoCopyOfARequestOrReply) {
  Audit audit(dir_ / "audit.log");
  const Handler handler(*vault_, audit, HandlerOptions{std::chrono::seconds(30), 0, {}});
  const Peer root{0, 0, 1};
  // As the server does: the request body arrives; every body wipes itself.
  const auto call = [&](http::verb verb, std::string target, std::string_view body) {
    Request request{verb, target, 11};
    request.body().assign(body);
    request.prepare_payload();
    return handler.handle(request, root).result_int();
  };
  {
    const SecretBytes add = proto::encode(request_);
    EXPECT_EQ(call(http::verb::post, "/v1/keys", add.reveal()), 201u);
  }
  request_ = {};
  EXPECT_EQ(call(http::verb::post, "/v1/keys/main/sign", R"({"method":"GET","path":"/api/v5/account/balance"})"), 200u);
  EXPECT_EQ(call(http::verb::post, "/v1/keys/main/ws-login", ""), 200u);
  EXPECT_EQ(call(http::verb::get, "/v1/keys", ""), 200u);
  EXPECT_EQ(copies()[1], 1u) << "the passphrase should be held once";
  EXPECT_EQ(call(http::verb::delete_, "/v1/keys/main", ""), 204u);
  expect_none_left("add, sign, ws-login and revoke through the handler");
}

}  // namespace
}  // namespace okxvault
