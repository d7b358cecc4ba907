#!/usr/bin/env bash
# Builds okx-vault and runs every test, twice: a normal build, then a build with
# AddressSanitizer + UndefinedBehaviorSanitizer; then runs each fuzzer for a
# bounded time (scripts/fuzz.sh). Installs what is missing first.
# Usage: scripts/test.sh            (both builds and the fuzzers)
#        OKXVAULT_SKIP_SANITIZE=1 scripts/test.sh   (no sanitizer build)
#        OKXVAULT_SKIP_FUZZ=1 scripts/test.sh       (no fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
jobs=$(nproc)

# Every test runs here: a program a test needs that is missing fails the configure
# instead of skipping the test. Python is Debian's, which has the modules
# deps.sh installed.
run_suite() {
  local dir=$1
  shift
  echo "== $dir: configure and build"
  cmake -S . -B "$dir" -DOKXVAULT_REQUIRE_TEST_TOOLS=ON -DPython3_EXECUTABLE=/usr/bin/python3 "$@" > /dev/null
  cmake --build "$dir" -j "$jobs"
  echo "== $dir: test"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOKXVAULT_WERROR=ON
if [ -z "${OKXVAULT_SKIP_SANITIZE:-}" ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-sanitize -DCMAKE_BUILD_TYPE=Debug -DOKXVAULT_SANITIZE=ON -DOKXVAULT_WERROR=ON  # -O0 compiles fastest
fi
if [ -z "${OKXVAULT_SKIP_FUZZ:-}" ]; then
  scripts/fuzz.sh
fi
echo "== all tests passed"
