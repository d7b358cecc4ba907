#pragma once
// Reads a store file into a new key table, without touching any vault: the
// slow part of a start or an unlock (Argon2id, the MAC, every record opened) runs
// before the vault takes anything in. Records are opened by two threads when
// there are many.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "daemon/core/key_table.hpp"
#include "daemon/store/store.hpp"

namespace okxvault {

// What opens the data key from the store's slots.
using Unwrap = std::function<store::DataKey(std::span<const store::Slot>)>;

struct LoadedStore {
  std::uint64_t generation = 0;
  std::uint64_t audit_line = 0;
  std::string audit_hash;
  std::vector<store::Slot> slots;
  std::vector<unsigned char> audit_key;  // sealed; empty: none
  KeyTable table;
  std::optional<store::DataKey> data_key;  // with `unwrap` only
};

// Metadata always; with `unwrap`, also the data key and every secret, after
// checking the MAC. A store older than `min_generation` is Error(rollback).
// Errors name the file.
LoadedStore load_store(const std::filesystem::path& path, const Unwrap* unwrap, std::uint64_t min_generation);

// The store's slots and generation, read before any key can authenticate them.
store::Header read_store_header(const std::filesystem::path& path);

// Reading or writing the store of 10,000 keys frees megabytes of temporaries
// (the file, its records, their metadata) spread through the heap, which glibc
// keeps resident unless asked to give them back.
void release_freed_memory();

// Called first in the daemon, before any thread starts. glibc's thresholds
// grow with the largest block freed so far, so after one store write the
// thread that wrote it keeps megabytes in an arena of its own, which
// malloc_trim never gives back (it trims only the main arena's top): a
// 10,000-key daemon grew from 14.2 to 18.2 MiB at its first usage save. With
// fixed thresholds a block of 256 KiB or more is mapped and unmapped on its
// own, and an arena's free top beyond 256 KiB goes back at the free that
// leaves it.
void bound_retained_memory();

}  // namespace okxvault
