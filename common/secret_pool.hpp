#pragma once
// SecretPool: guarded, locked memory for small secrets, shared between them. A
// slab is one sodium_malloc (guard pages around it, mlock'd) cut into slots of
// one size. A slot is wiped as it is freed, and a slab is wiped and unmapped as
// soon as its last slot is freed, so locked memory follows what is held.
// Thread-safe.
//
// Mappings and locked memory grow with the slabs in use, not by a guarded
// mapping of its own (two guard pages and a locked page) per secret, so that
// tens of thousands of secrets stay within the mapping and mlock limits. The
// price: secrets in one slab have no guard page between them.

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace okxvault {

class SecretPool {
 public:
  static constexpr std::size_t kSlabBytes = 64 * 1024;
  // 208: a whole crypto_auth_hmacsha256_state.
  static constexpr std::array<std::size_t, 6> kSlotBytes{32, 64, 128, 208, 256, 512};
  static constexpr std::size_t kLargestSlot = kSlotBytes.back();

  // The pool SecretBytes uses. Never destroyed: a secret held by a static may be
  // freed after every other static is gone.
  static SecretPool& global();

  SecretPool() = default;
  SecretPool(const SecretPool&) = delete;
  SecretPool& operator=(const SecretPool&) = delete;
  ~SecretPool();  // unmaps every slab; any slot still in use is wiped with it

  // A zeroed slot of at least `size` bytes (1 to kLargestSlot; std::invalid_argument
  // otherwise). Throws std::bad_alloc when out of memory.
  unsigned char* allocate(std::size_t size);
  // Wipes the slot and takes it back; `slot` must come from allocate() on this pool.
  void free(unsigned char* slot) noexcept;

  // While a Batch lives, a slab whose last slot is freed stays mapped (its slots
  // wiped) for the next secrets; empty slabs are freed when the last Batch ends.
  // For loops that make and drop secrets of sizes nothing else holds, which would
  // otherwise map and unmap a slab for every one (opening 10,000 records).
  class Batch {
   public:
    explicit Batch(SecretPool& pool);
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

   private:
    SecretPool& pool_;
  };

  // For tests and the benchmark: slabs mapped, and whether the bytes at `slot`,
  // a freed slot of a mapped slab, are all zero (false if it is not one).
  std::size_t slabs() const;
  bool wiped(const unsigned char* slot) const;

 private:
  struct Slab {
    unsigned char* memory;
    std::size_t size_class;           // an index into kSlotBytes
    std::vector<std::uint16_t> free;  // indices of the free slots, the next one last
  };

  static std::size_t slots_per_slab(std::size_t size_class);
  static bool empty(const Slab& slab);
  static std::size_t slot_index(const Slab& slab, const unsigned char* slot);
  // The slab holding `address`, or nullptr; caller holds the lock.
  Slab* slab_of(const unsigned char* address) const;
  void unmap(const Slab& slab) noexcept;  // caller holds the lock
  void unmap_empty_slabs() noexcept;      // caller holds the lock

  mutable std::mutex mutex_;
  // Per size class, newest last: allocation looks from the newest, which during
  // a load is the one with room.
  std::array<std::vector<std::unique_ptr<Slab>>, kSlotBytes.size()> by_class_;
  std::map<const unsigned char*, Slab*> by_address_;  // keyed by slab start
  int batches_ = 0;
};

}  // namespace okxvault
