#include "common/secret_pool.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <new>
#include <stdexcept>

namespace okxvault {

SecretPool& SecretPool::global() {
  static SecretPool* const pool = new SecretPool;
  return *pool;
}

SecretPool::~SecretPool() {
  for (const auto& slabs : by_class_) {
    for (const auto& slab : slabs) sodium_free(slab->memory);
  }
}

unsigned char* SecretPool::allocate(std::size_t size) {
  const auto fits = std::find_if(kSlotBytes.begin(), kSlotBytes.end(), [&](std::size_t s) { return s >= size; });
  if (size == 0 || fits == kSlotBytes.end()) throw std::invalid_argument("SecretPool: slot size out of range");
  const auto size_class = static_cast<std::size_t>(fits - kSlotBytes.begin());
  auto& slabs = by_class_[size_class];

  std::lock_guard lock(mutex_);
  const auto with_room =
      std::find_if(slabs.rbegin(), slabs.rend(), [](const auto& slab) { return !slab->free.empty(); });
  Slab* slab = with_room == slabs.rend() ? nullptr : with_room->get();
  if (slab == nullptr) {
    auto fresh = std::make_unique<Slab>(Slab{nullptr, size_class, {}});
    // Every index fits from the start, so that free() never allocates.
    const std::size_t slots = slots_per_slab(size_class);
    fresh->free.reserve(slots);
    for (std::size_t i = slots; i-- > 0;) fresh->free.push_back(static_cast<std::uint16_t>(i));
    slabs.reserve(slabs.size() + 1);
    fresh->memory = static_cast<unsigned char*>(sodium_malloc(kSlabBytes));  // mlock'd, between guard pages
    if (fresh->memory == nullptr) throw std::bad_alloc();
    try {
      by_address_.emplace(fresh->memory, fresh.get());
    } catch (...) {
      sodium_free(fresh->memory);
      throw;
    }
    sodium_memzero(fresh->memory, kSlabBytes);  // sodium_malloc fills it with garbage
    slab = fresh.get();
    slabs.push_back(std::move(fresh));
  }
  const std::size_t index = slab->free.back();
  slab->free.pop_back();
  return slab->memory + index * kSlotBytes[size_class];
}

void SecretPool::free(unsigned char* slot) noexcept {
  std::lock_guard lock(mutex_);
  Slab* slab = slab_of(slot);
  if (slab == nullptr) std::abort();  // not from this pool: taking it would corrupt memory
  sodium_memzero(slot, kSlotBytes[slab->size_class]);
  slab->free.push_back(static_cast<std::uint16_t>(slot_index(*slab, slot)));
  if (batches_ == 0 && empty(*slab)) unmap(*slab);
}

std::size_t SecretPool::slots_per_slab(std::size_t size_class) { return kSlabBytes / kSlotBytes[size_class]; }

bool SecretPool::empty(const Slab& slab) { return slab.free.size() == slots_per_slab(slab.size_class); }

std::size_t SecretPool::slot_index(const Slab& slab, const unsigned char* slot) {
  return static_cast<std::size_t>(slot - slab.memory) / kSlotBytes[slab.size_class];
}

SecretPool::Slab* SecretPool::slab_of(const unsigned char* address) const {
  auto after = by_address_.upper_bound(address);
  if (after == by_address_.begin()) return nullptr;
  Slab* slab = std::prev(after)->second;
  return address < slab->memory + kSlabBytes ? slab : nullptr;
}

void SecretPool::unmap(const Slab& slab) noexcept {
  sodium_free(slab.memory);  // wipes, unlocks and unmaps
  by_address_.erase(slab.memory);
  auto& slabs = by_class_[slab.size_class];
  slabs.erase(std::find_if(slabs.begin(), slabs.end(), [&](const auto& s) { return s.get() == &slab; }));
}

void SecretPool::unmap_empty_slabs() noexcept {
  for (auto& slabs : by_class_) {
    std::vector<const Slab*> empty_slabs;
    for (const auto& slab : slabs) {
      if (empty(*slab)) empty_slabs.push_back(slab.get());
    }
    for (const Slab* slab : empty_slabs) unmap(*slab);
  }
}

SecretPool::Batch::Batch(SecretPool& pool) : pool_(pool) {
  std::lock_guard lock(pool_.mutex_);
  ++pool_.batches_;
}

SecretPool::Batch::~Batch() {
  std::lock_guard lock(pool_.mutex_);
  if (--pool_.batches_ == 0) pool_.unmap_empty_slabs();
}

std::size_t SecretPool::slabs() const {
  std::lock_guard lock(mutex_);
  return by_address_.size();
}

bool SecretPool::wiped(const unsigned char* slot) const {
  std::lock_guard lock(mutex_);
  const Slab* slab = slab_of(slot);
  if (slab == nullptr) return false;
  const std::size_t slot_bytes = kSlotBytes[slab->size_class];
  const auto index = static_cast<std::uint16_t>(slot_index(*slab, slot));
  return slab->memory + index * slot_bytes == slot &&
         std::find(slab->free.begin(), slab->free.end(), index) != slab->free.end() &&
         sodium_is_zero(slot, slot_bytes) == 1;
}

}  // namespace okxvault
