#include "common/secret.hpp"

#include <sodium.h>

#include <cstring>
#include <new>
#include <stdexcept>

#include "common/secret_pool.hpp"

namespace okxvault {

void ensure_sodium() {
  // sodium_init is itself thread-safe and idempotent; the static makes it once.
  static const int result = sodium_init();
  if (result < 0) throw std::runtime_error("libsodium failed to initialize");
}

SecretBytes::SecretBytes(std::size_t size) {
  if (size == 0) return;
  ensure_sodium();
  if (size <= SecretPool::kLargestSlot) {
    data_ = SecretPool::global().allocate(size);  // zeroed
  } else {
    void* memory = sodium_malloc(size);
    if (memory == nullptr) throw std::bad_alloc();
    data_ = static_cast<unsigned char*>(memory);
    sodium_memzero(data_, size);
  }
  size_ = size;
}

SecretBytes SecretBytes::copy_of(std::span<const unsigned char> bytes) {
  const std::size_t size = bytes.size();
  SecretBytes secret(size);
  if (size != 0) std::memcpy(secret.data_, bytes.data(), size);
  return secret;
}

SecretBytes SecretBytes::copy_of(std::string_view text) {
  return copy_of(std::span(reinterpret_cast<const unsigned char*>(text.data()), text.size()));
}

SecretBytes SecretBytes::random(std::size_t size) {
  SecretBytes secret(size);
  if (size != 0) randombytes_buf(secret.data_, size);
  return secret;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    release();
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

SecretBytes::~SecretBytes() { release(); }

void SecretBytes::release() noexcept {
  if (data_ != nullptr) {
    if (size_ <= SecretPool::kLargestSlot) {
      SecretPool::global().free(data_);  // wipes the slot
    } else {
      sodium_free(data_);  // wipes, then unlocks and unmaps the pages
    }
    data_ = nullptr;
    size_ = 0;
  }
}

bool SecretBytes::equals(std::span<const unsigned char> other) const noexcept {
  if (other.size() != size_) return false;
  return size_ == 0 || sodium_memcmp(data_, other.data(), size_) == 0;
}

void wipe(void* data, std::size_t size) noexcept {
  if (data != nullptr && size != 0) sodium_memzero(data, size);
}

void WipingString::clear() noexcept {
  // Every byte of the capacity, not only those in use now: a shorter string
  // assigned over a longer one leaves the rest of it behind the end.
  Base::resize(Base::capacity());
  wipe(Base::data(), Base::size());
  Base::clear();
}

void wipe(std::string& buffer) noexcept {
  buffer.resize(buffer.capacity());
  wipe(buffer.data(), buffer.size());
  buffer.clear();
}

}  // namespace okxvault
