#pragma once
// The master key the store seeds in corpus/store were made with (see
// make_store_seeds.cpp), so that the store fuzzer can open what it mutates.

#include "common/secret.hpp"

namespace okxvault::fuzz {

inline SecretBytes seed_master_key() {
  unsigned char key[32];
  for (unsigned i = 0; i < sizeof key; ++i) key[i] = static_cast<unsigned char>(0xa0 + i);
  return SecretBytes::copy_of(std::span<const unsigned char>(key, sizeof key));
}

// The first byte of a store fuzz input says which of the file's two trailing
// hashes the fuzzer recomputes before parsing, so that mutations get past them.
enum Repair : unsigned char { kRepairChecksum = 1, kRepairMac = 2 };

}  // namespace okxvault::fuzz
