#!/usr/bin/env bash
# Checks the sources' format (scripts/format.sh), then builds okx-vault and
# runs every test: a normal build; a build with
# AddressSanitizer + UndefinedBehaviorSanitizer; a clang build of the unit and
# integration tests with ThreadSanitizer, whose compile database then serves the
# lint (scripts/lint.sh); then each fuzzer for a bounded time (scripts/fuzz.sh).
# Installs what is missing first. Ends with the time each stage took.
# Usage: scripts/test.sh            (every stage)
#        OKXVAULT_SKIP_SANITIZE=1 scripts/test.sh   (no AddressSanitizer build)
#        OKXVAULT_SKIP_TSAN=1 scripts/test.sh       (no ThreadSanitizer build, hence no lint)
#        OKXVAULT_SKIP_LINT=1 scripts/test.sh       (no clang-tidy, scripts/lint.sh)
#        OKXVAULT_SKIP_FUZZ=1 scripts/test.sh       (no fuzzing)
#        OKXVAULT_FUZZ_SECONDS=N scripts/test.sh    (seconds per fuzzer, default 30 here)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
jobs=$(nproc)
times=()

# stage NAME COMMAND...: runs it and notes how long it took.
stage() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  times+=("$name $((SECONDS - start)) s")
}

# These builds keep line tables only (-g1): every backtrace, a sanitizer's or
# a debugger's, still names file and line, and there is far less to compile,
# write and link than with -g.
# Every test runs here: a program a test needs that is missing fails the configure
# instead of skipping the test. Python is Debian's, which has the modules
# deps.sh installed.
configure() {
  local dir=$1
  shift
  echo "== $dir: configure and build"
  cmake -S . -B "$dir" -DOKXVAULT_REQUIRE_TEST_TOOLS=ON -DPython3_EXECUTABLE=/usr/bin/python3 -DOKXVAULT_WERROR=ON "$@" > /dev/null
}
run_suite() {
  local dir=$1
  shift
  configure "$dir" "$@"
  cmake --build "$dir" -j "$jobs"
  echo "== $dir: test"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}

# The unit and integration tests, and the daemon and CLI they run, under
# ThreadSanitizer (clang, so also the clang build: -Wthread-safety, -Werror).
# A report from any process, a test or a daemon it started, fails the stage.
tsan_suite() {
  local dir=build-tsan
  configure "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DCMAKE_CXX_COMPILER=clang++-14 -DOKXVAULT_TSAN=ON
  cmake --build "$dir" -j "$jobs" --target unit_tests integration_tests
  echo "== $dir: test"
  local reports=$PWD/$dir/tsan-reports
  rm -rf "$reports"
  mkdir -p "$reports"
  TSAN_OPTIONS="suppressions=$PWD/tests/support/tsan.supp log_path=$reports/report second_deadlock_stack=1" \
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" -L 'unit|integration'
  if compgen -G "$reports/report*" > /dev/null; then
    cat "$reports"/report*
    echo "== $dir: ThreadSanitizer reported the above" >&2
    return 1
  fi
}

stage format scripts/format.sh --check  # seconds; scripts/format.sh fixes what it finds
stage build run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
if [ -z "${OKXVAULT_SKIP_SANITIZE:-}" ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    stage build-sanitize run_suite build-sanitize -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
    -DOKXVAULT_SANITIZE=ON  # -O0 compiles fastest
fi
if [ -z "${OKXVAULT_SKIP_TSAN:-}" ]; then
  stage build-tsan tsan_suite
  # clang-tidy over the shipped sources, with the ThreadSanitizer build's
  # compile database and precompiled header: about 27 CPU-minutes (Boost's
  # headers, walked once per file), the longest stage.
  if [ -z "${OKXVAULT_SKIP_LINT:-}" ]; then
    stage lint scripts/lint.sh --tidy-only --shipped build-tsan
  fi
fi
if [ -z "${OKXVAULT_SKIP_FUZZ:-}" ]; then
  OKXVAULT_FUZZ_SECONDS=${OKXVAULT_FUZZ_SECONDS:-30} stage fuzz scripts/fuzz.sh
fi
echo "== all tests passed"
printf '   %s\n' "${times[@]}"
