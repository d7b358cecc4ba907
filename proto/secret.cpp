#include "proto/secret.hpp"

#include <sodium.h>

#include <array>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <vector>

namespace okxvault {
namespace {

// Small secrets (master and data keys, HMAC key schedules, passphrases, OKX
// secrets) share slabs: one sodium_malloc (guard pages around it, mlock'd,
// wiped when freed) holds many fixed-size slots. A sodium_malloc per secret
// costs three pages of locked and guard memory and four system calls, which
// 10,000 keys turn into 100+ MiB and a slow start. A slot is wiped when its
// secret is freed, before it can be reused; slabs are kept for reuse.
class SecretPool {
 public:
  static constexpr std::size_t kSlabBytes = 64 * 1024;
  static constexpr std::array<std::size_t, 5> kSlotBytes{32, 64, 128, 256, 512};

  // A zeroed slot of at least `size` bytes, or nullptr if size is above the largest slot.
  unsigned char* allocate(std::size_t size) {
    const std::size_t c = size_class(size);
    if (c == kSlotBytes.size()) return nullptr;
    std::lock_guard lock(mutex_);
    std::vector<unsigned char*>& free = free_[c];
    if (free.empty()) {
      auto* slab = static_cast<unsigned char*>(sodium_malloc(kSlabBytes));
      if (slab == nullptr) throw std::bad_alloc();
      sodium_memzero(slab, kSlabBytes);
      for (std::size_t at = kSlabBytes; at >= kSlotBytes[c]; at -= kSlotBytes[c]) free.push_back(slab + at - kSlotBytes[c]);
    }
    unsigned char* slot = free.back();
    free.pop_back();
    return slot;
  }

  void release(unsigned char* slot, std::size_t size) noexcept {
    const std::size_t c = size_class(size);
    sodium_memzero(slot, kSlotBytes[c]);
    std::lock_guard lock(mutex_);
    try {
      free_[c].push_back(slot);
    } catch (...) {  // out of memory for the free list: the slot, wiped, stays unused
    }
  }

  static std::size_t size_class(std::size_t size) noexcept {
    std::size_t c = 0;
    while (c < kSlotBytes.size() && kSlotBytes[c] < size) ++c;
    return c;
  }

 private:
  std::mutex mutex_;
  std::array<std::vector<unsigned char*>, kSlotBytes.size()> free_;
};

// Never destroyed: a secret in a static may be freed after every other static.
SecretPool& pool() {
  static SecretPool* const instance = new SecretPool;
  return *instance;
}

bool pooled(std::size_t size) { return SecretPool::size_class(size) < SecretPool::kSlotBytes.size(); }

}  // namespace

void ensure_sodium() {
  // sodium_init is itself thread-safe and idempotent; the static makes it once.
  static const int result = sodium_init();
  if (result < 0) throw std::runtime_error("libsodium failed to initialize");
}

SecretBytes::SecretBytes(std::size_t size) {
  if (size == 0) return;
  ensure_sodium();
  void* memory = pooled(size) ? pool().allocate(size) : sodium_malloc(size);
  if (memory == nullptr) throw std::bad_alloc();
  data_ = static_cast<unsigned char*>(memory);
  size_ = size;
  sodium_memzero(data_, size_);
}

SecretBytes SecretBytes::copy_of(std::span<const unsigned char> bytes) {
  SecretBytes secret(bytes.size());
  if (!bytes.empty()) std::memcpy(secret.data_, bytes.data(), bytes.size());
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
    if (pooled(size_)) {
      pool().release(data_, size_);  // wipes the slot
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

void wipe(std::string& buffer) noexcept {
  buffer.resize(buffer.capacity());
  wipe(buffer.data(), buffer.size());
  buffer.clear();
}

}  // namespace okxvault
