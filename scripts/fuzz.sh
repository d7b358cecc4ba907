#!/usr/bin/env bash
# Builds the fuzz targets of tests/fuzz as libFuzzer fuzzers (clang, ASan + UBSan)
# and runs each for a bounded time from its seed corpus and kept crashes. A crash
# or a broken invariant fails the run and leaves its input in
# tests/fuzz/regressions/TARGET/, which the replay tests of every build run from
# then on: commit it together with the fix.
# Usage: scripts/fuzz.sh [TARGET...]        (default: http path sign store)
#        OKXVAULT_FUZZ_SECONDS=N scripts/fuzz.sh   (seconds per target, default 60)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
seconds=${OKXVAULT_FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(http path sign store)

echo "== build-fuzz: configure and build"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 -DOKXVAULT_FUZZ=ON -DOKXVAULT_WERROR=ON > /dev/null
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

# The HTTP fuzzer's vault fsyncs on every change: keep its temp dirs in memory.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
for target in "${targets[@]}"; do
  echo "== fuzz_$target: ${seconds} s"
  learned=build-fuzz/corpus/$target  # inputs it finds go here; the committed seeds stay as they are
  regressions=tests/fuzz/regressions/$target
  mkdir -p "$learned" "$regressions"
  dict=()
  [ -f "tests/fuzz/$target.dict" ] && dict=("-dict=tests/fuzz/$target.dict")
  build-fuzz/tests/fuzz/fuzz_"$target" "$learned" "tests/fuzz/corpus/$target" "$regressions" "${dict[@]}" \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 -artifact_prefix="$regressions/"
done
echo "== fuzzing found nothing"
