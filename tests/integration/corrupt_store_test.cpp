// A damaged store stops the real daemon at startup: a flipped byte anywhere,
// or a truncation, is a non-zero exit with a message naming the file and the
// cause, and the file stays byte for byte as it was.

#include <gtest/gtest.h>
#include <chrono>
#include <iostream>
#include <regex>

#include "client/client.hpp"
#include "tests/support/process.hpp"

namespace okxvault {
namespace {
using test::Daemon;
using test::TempDir;

// Every offset of the header (magic, version, slot) is tried (every other one
// when sanitized), then a dense sample of the rest: each try is a daemon start.
constexpr std::size_t kHeader = 64;
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kHeaderStride = 2, kStride = 16;
#else
constexpr std::size_t kHeaderStride = 1, kStride = 4;
#endif

std::size_t next_offset(std::size_t at) { return at + (at < kHeader ? kHeaderStride : kStride); }

class CorruptStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Daemon daemon(dir_.path());
    Client(daemon.socket().string())
        .add({"main", "8f2e0a4c-5b1d-4e7f", SecretBytes::copy_of("9D3F6A1C7E2B48D5"), SecretBytes::copy_of("pass-1")});
    ASSERT_EQ(daemon.stop(), 0);
    store_ = daemon.store_file();
    argv_ = {"/usr/bin/timeout", "20", test::daemon_binary()};
    for (const auto& a : daemon.args()) argv_.push_back(a);
    good_ = test::read_file(store_);
  }

  // Starts the daemon on `bytes` as the store and expects a refusal.
  void expect_refused(const std::string& bytes, const std::string& what) {
    test::write_file(store_, bytes);
    const test::Output out = test::run(argv_);
    ++runs_;
    ASSERT_NE(out.exit_code, 124) << what << ": the daemon started on a damaged store";
    ASSERT_NE(out.exit_code, 0) << what;
    ASSERT_NE(out.err.find(store_.string() + ": "), std::string::npos) << what << ": " << out.err;
    ASSERT_TRUE(std::regex_search(out.err, kCause)) << what << ": " << out.err;
    ASSERT_EQ(test::read_file(store_), bytes) << what << ": the daemon changed the file";
  }

  const std::regex kCause{"corrupt|truncated|bad magic|tampered|authentication|not supported"};
  TempDir dir_;
  std::filesystem::path store_;
  std::vector<std::string> argv_;
  std::string good_;
  int runs_ = 0;
};

TEST_F(CorruptStoreTest, EveryFlippedByteIsRefused) {
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t offset = 0; offset < good_.size() && !HasFatalFailure(); offset = next_offset(offset)) {
    std::string bad = good_;
    bad[offset] = static_cast<char>(bad[offset] ^ (1 << (offset % 8)));
    expect_refused(bad, "byte " + std::to_string(offset) + " flipped");
  }
  std::cout << "flipped bytes: " << runs_ << " daemon starts over a " << good_.size() << "-byte store, "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s\n";

  // The control: the undamaged store still opens.
  test::write_file(store_, good_);
  Daemon daemon(dir_.path());
  EXPECT_EQ(Client(daemon.socket().string()).list().size(), 1u);
}

TEST_F(CorruptStoreTest, EveryTruncationIsRefused) {
  for (std::size_t size = 0; size < good_.size() && !HasFatalFailure(); size = next_offset(size) + kStride) {
    expect_refused(good_.substr(0, size), "truncated to " + std::to_string(size) + " bytes");
  }
  expect_refused(good_.substr(0, good_.size() - 1), "last byte cut");
  expect_refused(good_ + '\0', "one byte appended");
  std::cout << "truncations: " << runs_ << " daemon starts\n";
}

}  // namespace
}  // namespace okxvault
