// SecretBytes: what the compiler refuses to do with a secret, and what it does
// at run time. The compile-time part fails the build, not a test, if a
// conversion or output path to a secret is ever added.

#include "common/secret.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace okxvault {
namespace {

template <typename T>
concept Streamable = requires(std::ostream& os, const T& value) {
  os << value;
};

// Each property is checked next to a type that has it, so the trait itself is
// shown able to tell the difference.
static_assert(std::is_copy_constructible_v<std::string>);
static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);
static_assert(std::is_nothrow_move_assignable_v<SecretBytes>);

static_assert(std::is_convertible_v<const char*, std::string>);
static_assert(!std::is_convertible_v<const SecretBytes&, std::string>);
static_assert(!std::is_convertible_v<const SecretBytes&, std::string_view>);
static_assert(!std::is_convertible_v<const SecretBytes&, const char*>);
static_assert(!std::is_constructible_v<std::string, const SecretBytes&>);
static_assert(!std::is_constructible_v<std::string_view, const SecretBytes&>);

static_assert(Streamable<std::string>);
static_assert(!Streamable<SecretBytes>);

static_assert(fmt::is_formattable<std::string>::value);
static_assert(!fmt::is_formattable<SecretBytes>::value);

std::span<const unsigned char> bytes_of(std::string_view text) {
  return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

TEST(SecretBytes, CopyOfTextPreservesEveryByte) {
  constexpr char kBytes[] = "pass\0phrase\xff\x01 end";
  const std::string text(kBytes, sizeof kBytes - 1);
  const SecretBytes secret = SecretBytes::copy_of(std::string_view(text));
  ASSERT_EQ(secret.size(), text.size());
  EXPECT_EQ(std::memcmp(secret.data(), text.data(), text.size()), 0);
  EXPECT_EQ(secret.reveal(), text);
  EXPECT_FALSE(secret.empty());
}

TEST(SecretBytes, CopyOfBytesPreservesEveryByte) {
  std::vector<unsigned char> bytes(256);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(i);
  const SecretBytes secret = SecretBytes::copy_of(std::span<const unsigned char>(bytes));
  ASSERT_EQ(secret.size(), bytes.size());
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), secret.bytes().begin(), secret.bytes().end()));
}

TEST(SecretBytes, DefaultAndEmptyCopiesAreEmpty) {
  const SecretBytes none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.size(), 0u);
  const SecretBytes empty = SecretBytes::copy_of(std::string_view());
  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(empty.equals({}));
}

TEST(SecretBytes, SizedConstructorGivesZeroedBytes) {
  const SecretBytes secret(48);
  ASSERT_EQ(secret.size(), 48u);
  EXPECT_TRUE(std::all_of(secret.bytes().begin(), secret.bytes().end(), [](unsigned char c) { return c == 0; }));
}

TEST(SecretBytes, RandomGivesTheRequestedSizeAndFreshBytesEachTime) {
  const SecretBytes a = SecretBytes::random(32);
  const SecretBytes b = SecretBytes::random(32);
  ASSERT_EQ(a.size(), 32u);
  ASSERT_EQ(b.size(), 32u);
  EXPECT_FALSE(a.equals(b.bytes()));
  EXPECT_FALSE(std::all_of(a.bytes().begin(), a.bytes().end(), [](unsigned char c) { return c == 0; }));
}

TEST(SecretBytes, MoveConstructionTransfersTheBytesAndEmptiesTheSource) {
  SecretBytes source = SecretBytes::copy_of(std::string_view("moving secret"));
  const unsigned char* memory = source.data();
  SecretBytes target(std::move(source));
  EXPECT_EQ(target.reveal(), "moving secret");
  EXPECT_EQ(target.data(), memory) << "a move must not copy the secret elsewhere";
  EXPECT_EQ(source.size(), 0u);  // NOLINT(bugprone-use-after-move): specified moved-from state
  EXPECT_EQ(source.data(), nullptr);
  EXPECT_TRUE(source.empty());
}

TEST(SecretBytes, MoveAssignmentTransfersTheBytesAndEmptiesTheSource) {
  SecretBytes source = SecretBytes::copy_of(std::string_view("new secret"));
  SecretBytes target = SecretBytes::copy_of(std::string_view("old secret that is replaced"));
  target = std::move(source);
  EXPECT_EQ(target.reveal(), "new secret");
  EXPECT_EQ(source.size(), 0u);  // NOLINT(bugprone-use-after-move): specified moved-from state
  EXPECT_EQ(source.data(), nullptr);
}

TEST(SecretBytes, SelfMoveAssignmentKeepsTheBytes) {
  SecretBytes secret = SecretBytes::copy_of(std::string_view("kept"));
  SecretBytes& alias = secret;
  secret = std::move(alias);
  EXPECT_EQ(secret.reveal(), "kept");
}

TEST(SecretBytes, EqualsComparesContentAndLength) {
  const SecretBytes secret = SecretBytes::copy_of(std::string_view("abc123"));
  EXPECT_TRUE(secret.equals(bytes_of("abc123")));
  EXPECT_FALSE(secret.equals(bytes_of("abc124")));
  EXPECT_FALSE(secret.equals(bytes_of("Abc123")));
  EXPECT_FALSE(secret.equals(bytes_of("abc12")));
  EXPECT_FALSE(secret.equals(bytes_of("abc1234")));
  EXPECT_FALSE(secret.equals({}));
}

TEST(Wipe, ZeroesEveryByteOfABuffer) {
  std::vector<char> buffer(100, 'S');
  wipe(buffer.data(), buffer.size());
  EXPECT_TRUE(std::all_of(buffer.begin(), buffer.end(), [](char c) { return c == 0; }));

  std::array<unsigned char, 33> array{};
  array.fill(0xA5);
  wipe(array.data(), array.size());
  EXPECT_TRUE(std::all_of(array.begin(), array.end(), [](unsigned char c) { return c == 0; }));
}

TEST(Wipe, TouchesOnlyTheGivenRange) {
  std::array<char, 8> buffer{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
  wipe(buffer.data() + 2, 4);
  EXPECT_EQ(buffer, (std::array<char, 8>{'a', 'b', 0, 0, 0, 0, 'g', 'h'}));
}

TEST(Wipe, AcceptsAnEmptyRange) {
  wipe(nullptr, 0);
  char c = 'x';
  wipe(&c, 0);
  EXPECT_EQ(c, 'x');
}

// Whether the string's former capacity was zeroed cannot be observed through a
// defined std::string operation (the bytes past size() are not readable), so this
// checks what is observable: the string is empty afterwards, short or long.
TEST(Wipe, EmptiesAString) {
  std::string short_text = "pw";
  wipe(short_text);
  EXPECT_TRUE(short_text.empty());

  std::string long_text(1000, 'S');
  long_text.resize(10);
  wipe(long_text);
  EXPECT_TRUE(long_text.empty());

  std::string empty;
  wipe(empty);
  EXPECT_TRUE(empty.empty());
}

TEST(EnsureSodium, IsIdempotentAndSafeFromManyThreads) {
  ensure_sodium();
  ensure_sodium();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([] { ensure_sodium(); });
  for (auto& thread : threads) thread.join();
  // sodium_init() answers 1 when the library was already initialized.
  EXPECT_EQ(sodium_init(), 1);
}

}  // namespace
}  // namespace okxvault
