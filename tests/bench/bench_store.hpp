#pragma once
// A vault with many keys written in one store write, for the benchmarks (adding
// 10,000 keys through the daemon rewrites the store 10,000 times). The keys are
// k00000..k(N-1) with random secrets and no grants, so admins sign with them.
// The result is an ordinary STATE-DIR/vault.store with STATE-DIR/master.key.

#include <filesystem>
#include <string>

namespace okxvault::bench {

std::string key_name(unsigned long index);  // "k00042"
void write_store(const std::filesystem::path& state_dir, unsigned long keys);

}  // namespace okxvault::bench
