#!/usr/bin/env bash
# The project's lint: the format check (scripts/format.sh --check) and clang-tidy
# with the root .clang-tidy over every project source in compile_commands.json.
# Any finding fails the run.
# Usage: scripts/lint.sh [--tidy-only] [--shipped] [BUILD_DIR]
#   --tidy-only: no format check
#   --shipped: clang-tidy on the code that ships only (daemon/, client/, proto/,
#   common/), not on tests/: scripts/test.sh's choice, since a test file, with
#   GoogleTest and Boost in it, costs clang-tidy the most and runs under three
#   sanitizers anyway
#   BUILD_DIR: a configured clang++-14 build whose precompiled header is built
#   (scripts/test.sh passes its ThreadSanitizer build); without one, build-lint/
#   is configured and only its precompiled header is built. The header is what
#   makes clang-tidy cheap: without it every file parses Asio, Beast and JSON anew.
set -euo pipefail
cd "$(dirname "$0")/.."

format=1
folders='daemon|client|proto|common|tests'
while [ $# -gt 0 ]; do
  case $1 in
    --tidy-only) format= ;;
    --shipped) folders='daemon|client|proto|common' ;;
    *) break ;;
  esac
  shift
done
build=${1:-}

scripts/deps.sh
if [ -n "$format" ]; then
  echo "== lint: clang-format"
  scripts/format.sh --check
fi

if [ -z "$build" ]; then
  build="build-lint"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-14 > /dev/null
  cmake --build "$build" --target okxvault_pch > /dev/null
fi
[ -f "$build/compile_commands.json" ] || { echo "lint: no $build/compile_commands.json" >&2; exit 1; }

# The project's own sources, in either folder layout; not the pch's stub.
mapfile -t sources < <(python3 - "$build/compile_commands.json" "$PWD" "$folders" << 'PY'
import json, os, re, sys
root = os.path.realpath(sys.argv[2]) + "/"
folders = sys.argv[3]
seen = set()
for entry in json.load(open(sys.argv[1])):
    path = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
    rel = path[len(root):] if path.startswith(root) else None
    if rel and re.match(r"(" + folders + r")/", rel) and not rel.endswith("/pch.cpp") and rel not in seen:
        seen.add(rel)
        print(rel)
PY
)
echo "== lint: clang-tidy, ${#sources[@]} files"
start=$SECONDS
# One clang-tidy per file, as many at once as there are CPUs; each prints its
# findings whole, and any finding (all are errors) fails the run.
if ! printf '%s\0' "${sources[@]}" |
    xargs -0 -n 1 -P "$(nproc)" clang-tidy-14 -p "$build" --quiet 2> /dev/null; then
  echo "lint: clang-tidy found the above" >&2
  exit 1
fi
echo "== lint: clang-tidy found nothing ($((SECONDS - start)) s)"
