// SecretPool: small secrets share guarded slabs. What the sharing must not cost:
// a freed slot holds nothing of its secret, a slab is unmapped once its last
// slot is freed, and no two live slots overlap, from any number of threads.

#include "common/secret_pool.hpp"

#include <sodium.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/secret.hpp"

namespace okxvault {
namespace {

// Whether the page holding `address` is mapped at all, asked of the kernel.
bool mapped(const unsigned char* address) {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  void* start = reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(address) / page * page);
  return ::msync(start, page, MS_ASYNC) == 0;
}

bool all(const unsigned char* data, std::size_t size, unsigned char value) {
  return std::all_of(data, data + size, [&](unsigned char c) { return c == value; });
}

class SecretPoolTest : public ::testing::Test {
 protected:
  void SetUp() override { ensure_sodium(); }
  SecretPool pool_;
};

TEST_F(SecretPoolTest, ASlotIsZeroedAndWipedTheMomentItIsFreed) {
  unsigned char* keep = pool_.allocate(40);  // keeps the slab mapped, so the freed slot can be read
  unsigned char* slot = pool_.allocate(40);
  ASSERT_TRUE(all(slot, 64, 0)) << "a new slot must be zeroed";
  std::memset(slot, 0x5a, 40);
  std::memset(keep, 0x5b, 40);
  EXPECT_FALSE(pool_.wiped(slot)) << "a slot in use is not reported as wiped";
  pool_.free(slot);
  EXPECT_TRUE(pool_.wiped(slot)) << "the freed slot still holds its secret";
  EXPECT_TRUE(all(keep, 40, 0x5b)) << "freeing one slot touched its neighbour";
  pool_.free(keep);
}

TEST_F(SecretPoolTest, AFreedSlotIsTheNextOneGivenOutZeroed) {
  unsigned char* keep = pool_.allocate(200);
  unsigned char* slot = pool_.allocate(200);
  std::memset(slot, 0x77, 200);
  pool_.free(slot);
  unsigned char* again = pool_.allocate(208);
  EXPECT_EQ(again, slot);
  EXPECT_TRUE(all(again, 208, 0));
  EXPECT_EQ(pool_.slabs(), 1u);
  pool_.free(again);
  pool_.free(keep);
}

TEST_F(SecretPoolTest, EachSizeGoesToTheSmallestSlotThatHoldsIt) {
  std::vector<unsigned char*> slots;
  for (const std::size_t size : SecretPool::kSlotBytes) slots.push_back(pool_.allocate(size));
  EXPECT_EQ(pool_.slabs(), SecretPool::kSlotBytes.size()) << "one slab per size class";
  slots.push_back(pool_.allocate(SecretPool::kSlotBytes[0] + 1));
  EXPECT_EQ(pool_.slabs(), SecretPool::kSlotBytes.size()) << "a size just above a class goes to the next one";
  EXPECT_THROW(pool_.allocate(0), std::invalid_argument);
  EXPECT_THROW(pool_.allocate(SecretPool::kLargestSlot + 1), std::invalid_argument);
  for (unsigned char* slot : slots) pool_.free(slot);
  EXPECT_EQ(pool_.slabs(), 0u);
}

TEST_F(SecretPoolTest, ASlabIsUnmappedWhenItsLastSlotIsFreed) {
  const std::size_t per_slab = SecretPool::kSlabBytes / 256;
  std::vector<unsigned char*> slots;
  for (std::size_t i = 0; i < per_slab + 1; ++i) slots.push_back(pool_.allocate(256));
  ASSERT_EQ(pool_.slabs(), 2u);
  unsigned char* last = slots.back();
  ASSERT_TRUE(mapped(last));
  slots.pop_back();
  pool_.free(last);
  EXPECT_EQ(pool_.slabs(), 1u);
  EXPECT_FALSE(mapped(last)) << "the empty slab is still mapped";
  EXPECT_TRUE(mapped(slots.front()));
  for (unsigned char* slot : slots) pool_.free(slot);
  EXPECT_EQ(pool_.slabs(), 0u);
  EXPECT_FALSE(mapped(slots.front()));
}

TEST_F(SecretPoolTest, ABatchKeepsEmptySlabsUntilItEnds) {
  unsigned char* slot = nullptr;
  {
    const SecretPool::Batch batch(pool_);
    for (int i = 0; i < 100; ++i) {
      slot = pool_.allocate(100);
      std::memset(slot, 0x33, 100);
      pool_.free(slot);
      EXPECT_EQ(pool_.slabs(), 1u);
    }
    EXPECT_TRUE(pool_.wiped(slot)) << "a slot freed during a batch must be wiped all the same";
    { const SecretPool::Batch nested(pool_); }
    EXPECT_EQ(pool_.slabs(), 1u) << "an inner batch ending must not unmap what the outer one keeps";
  }
  EXPECT_EQ(pool_.slabs(), 0u);
  EXPECT_FALSE(mapped(slot));
}

TEST_F(SecretPoolTest, ManyThreadsNeverShareASlot) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 300;
  std::vector<std::thread> threads;
  std::vector<int> overlaps(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const auto mark = static_cast<unsigned char>(t + 1);
      for (int round = 0; round < kRounds; ++round) {
        std::vector<std::pair<unsigned char*, std::size_t>> held;
        for (std::size_t i = 0; i < 40; ++i) {
          const std::size_t size = 1 + (static_cast<std::size_t>(round) * 37 + i * 101) % SecretPool::kLargestSlot;
          unsigned char* slot = pool_.allocate(size);
          overlaps[static_cast<std::size_t>(t)] += !all(slot, size, 0);
          std::memset(slot, mark, size);
          held.emplace_back(slot, size);
        }
        std::this_thread::yield();
        for (const auto& [slot, size] : held) {
          overlaps[static_cast<std::size_t>(t)] += !all(slot, size, mark);
          pool_.free(slot);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(overlaps[static_cast<std::size_t>(t)], 0) << "thread " << t;
  EXPECT_EQ(pool_.slabs(), 0u);
}

// Through SecretBytes: what made 10,000 keys impossible before the pool.
TEST(SecretBytesInThePool, TenThousandKeySchedulesShareAFewSlabs) {
  constexpr std::size_t kSecrets = 10'000;
  constexpr std::size_t kScheduleBytes = 208;  // sizeof(crypto_auth_hmacsha256_state)
  const std::size_t before = SecretPool::global().slabs();
  std::vector<SecretBytes> secrets;
  for (std::size_t i = 0; i < kSecrets; ++i) {
    secrets.push_back(SecretBytes::copy_of(std::string(kScheduleBytes, static_cast<char>('a' + i % 26))));
  }
  static_assert(kScheduleBytes == sizeof(crypto_auth_hmacsha256_state));
  EXPECT_NE(std::find(SecretPool::kSlotBytes.begin(), SecretPool::kSlotBytes.end(), kScheduleBytes),
            SecretPool::kSlotBytes.end())
      << "every key holds one: a slot of exactly its size wastes nothing";
  EXPECT_LE(SecretPool::global().slabs() - before, kSecrets * kScheduleBytes / SecretPool::kSlabBytes + 1);
  for (std::size_t i = 0; i < kSecrets; ++i) {
    ASSERT_EQ(secrets[i].reveal(), std::string(kScheduleBytes, static_cast<char>('a' + i % 26)))
        << "secret " << i << " was overwritten by another";
  }
  secrets.clear();
  EXPECT_EQ(SecretPool::global().slabs(), before);
}

TEST(SecretBytesInThePool, LargeSecretsStayOutOfThePool) {
  const std::size_t before = SecretPool::global().slabs();
  const SecretBytes large = SecretBytes::random(SecretPool::kLargestSlot + 1);
  EXPECT_EQ(SecretPool::global().slabs(), before);
}

}  // namespace
}  // namespace okxvault
