// okxv-bench-store STATE-DIR N: a vault with N keys for the benchmark (bench_store.hpp).

#include <cstdio>
#include <exception>
#include <string>

#include "tests/bench/bench_store.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: okxv-bench-store STATE-DIR KEY-COUNT\n");
    return 2;
  }
  try {
    okxvault::bench::write_store(argv[1], std::stoul(argv[2]));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "okxv-bench-store: %s\n", e.what());
    return 1;
  }
}
