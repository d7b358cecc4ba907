#pragma once
// SecretBytes: bytes that must never leak. They live in libsodium's guarded,
// mlock'd memory (sodium_malloc; up to 512 bytes in a slot of a shared slab, see
// secret_pool.hpp), are wiped when freed, cannot be copied, and have
// no conversion to a string and no stream or fmt output, so a secret cannot reach
// a log line or a std::string by accident. Reading them is explicit: bytes() or
// reveal(). Not thread-safe for concurrent mutation; const access is safe.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace okxvault {

// Initializes libsodium once; safe to call from any thread, any number of times.
void ensure_sodium();

class SecretBytes {
 public:
  SecretBytes() noexcept = default;
  // size zero bytes in guarded memory. Throws std::bad_alloc on failure.
  explicit SecretBytes(std::size_t size);
  static SecretBytes copy_of(std::span<const unsigned char> bytes);
  static SecretBytes copy_of(std::string_view text);
  static SecretBytes random(std::size_t size);

  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes();

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  unsigned char* data() noexcept { return data_; }
  const unsigned char* data() const noexcept { return data_; }
  std::span<const unsigned char> bytes() const noexcept { return {data_, size_}; }
  // The bytes as text, for the one place they must travel (the passphrase header).
  std::string_view reveal() const noexcept { return {reinterpret_cast<const char*>(data_), size_}; }
  // Constant-time comparison.
  bool equals(std::span<const unsigned char> other) const noexcept;

 private:
  void release() noexcept;

  unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

// Wipes a buffer that carried secret bytes (a request body, a line read from stdin).
void wipe(void* data, std::size_t size) noexcept;
// Wipes the whole capacity of the string, then empties it.
void wipe(std::string& buffer) noexcept;

// An allocator of ordinary heap that wipes every block it frees: for a buffer
// that grows by copying (a socket's read buffer), so that no block it left
// behind keeps what passed through it.
template <typename T>
struct WipeOnFree {
  using value_type = T;
  WipeOnFree() noexcept = default;
  template <typename U>
  WipeOnFree(const WipeOnFree<U>&) noexcept {}  // NOLINT(google-explicit-constructor): allocators convert
  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    wipe(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const WipeOnFree<U>&) const noexcept {
    return true;
  }
};

// Text that may carry a secret on its way through (a request body, a reply that
// carries the passphrase): ordinary heap memory, for what parsers and sockets
// must handle, but never left behind. A block it outgrows is wiped as it is
// freed; clear(), assignment and destruction wipe all of its capacity, the
// short-string buffer included; a string moved from is left wiped.
class WipingString : public std::basic_string<char, std::char_traits<char>, WipeOnFree<char>> {
 public:
  using Base = std::basic_string<char, std::char_traits<char>, WipeOnFree<char>>;
  using Base::Base;
  using Base::operator=;
  WipingString() noexcept = default;
  explicit WipingString(std::string_view text) : Base(text.data(), text.size()) {}
  WipingString(const WipingString& other) = default;
  WipingString(WipingString&& other) noexcept : Base(std::move(static_cast<Base&>(other))) { other.clear(); }
  WipingString& operator=(const WipingString& other) {
    if (this != &other) {
      clear();
      Base::operator=(other);
    }
    return *this;
  }
  WipingString& operator=(WipingString&& other) noexcept {
    if (this != &other) {
      clear();
      Base::operator=(std::move(static_cast<Base&>(other)));
      other.clear();
    }
    return *this;
  }
  ~WipingString() { clear(); }

  void clear() noexcept;
};

}  // namespace okxvault
