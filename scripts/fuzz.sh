#!/usr/bin/env bash
# Builds the fuzz targets of tests/fuzz as libFuzzer fuzzers (clang, ASan + UBSan)
# and runs each for a bounded time from its seed corpus and kept crashes. A crash
# or a broken invariant fails the run and leaves its input in
# tests/fuzz/regressions/TARGET/, which the replay tests of every build run from
# then on: commit it together with the fix.
# The fuzzers run side by side, one per CPU.
# Usage: scripts/fuzz.sh [TARGET...]        (default: http path sign sign_json store limits)
#        OKXVAULT_FUZZ_SECONDS=N scripts/fuzz.sh   (seconds per target, default 60)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
seconds=${OKXVAULT_FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(http path sign sign_json store limits)

echo "== build-fuzz: configure and build"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_CXX_COMPILER=clang++-14 -DOKXVAULT_FUZZ=ON -DOKXVAULT_WERROR=ON > /dev/null
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

# The HTTP fuzzer's vault fsyncs on every change: keep its temp dirs in memory.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
# fuzz TARGET: one fuzzer's run, its output in build-fuzz/TARGET.log.
fuzz() {
  local target=$1
  local learned=build-fuzz/corpus/$target  # inputs it finds go here; the committed seeds stay as they are
  local regressions=tests/fuzz/regressions/$target
  mkdir -p "$learned" "$regressions"
  local dict=()
  [ -f "tests/fuzz/$target.dict" ] && dict=("-dict=tests/fuzz/$target.dict")
  build-fuzz/tests/fuzz/fuzz_"$target" "$learned" "tests/fuzz/corpus/$target" "$regressions" "${dict[@]}" \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 -artifact_prefix="$regressions/" \
    > "build-fuzz/$target.log" 2>&1
}
# One fuzzer per CPU at a time (each is single-threaded), every one for the full time.
failed=()
report() {  # report TARGET STATUS
  local target=$1
  echo "== fuzz_$target: ${seconds} s"
  cat "build-fuzz/$target.log"
  [ "$2" -eq 0 ] || failed+=("$target")
}
declare -A pids=()
for target in "${targets[@]}"; do
  while [ ${#pids[@]} -ge "$(nproc)" ]; do
    status=0
    wait -n -p done_pid "${!pids[@]}" || status=$?
    report "${pids[$done_pid]}" "$status"
    unset "pids[$done_pid]"
  done
  fuzz "$target" &
  pids[$!]=$target
done
for pid in "${!pids[@]}"; do
  status=0
  wait "$pid" || status=$?
  report "${pids[$pid]}" "$status"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "== fuzzing failed: ${failed[*]} (inputs kept in tests/fuzz/regressions/)" >&2
  exit 1
fi
echo "== fuzzing found nothing"
