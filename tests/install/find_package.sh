#!/usr/bin/env bash
# The C++ client library as a bot's build sees it: install the Development
# component into an empty prefix, then configure, build and run a small project
# that finds it with find_package(okxvault) and links okxvault::client.
# Usage: find_package.sh SOURCE-DIR BUILD-DIR CXX-COMPILER [CMAKE-ARG...]
set -euo pipefail
source_dir=$1 build_dir=$2 compiler=$3
shift 3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
prefix=$dir/prefix

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

cmake --install "$build_dir" --prefix "$prefix" --component Development
for file in include/okxvault/client/client.hpp include/okxvault/proto/messages.hpp; do
  [ -f "$prefix/$file" ] || fail "$file was not installed"
done
# The package stands on its own: no path back into the tree it was built from.
if leaks=$(find "$prefix" \( -name '*.cmake' -o -name '*.hpp' \) -exec grep -l -e "$source_dir" -e "$build_dir" {} +); then
  fail "installed files name the source or build tree: $leaks"
fi

cmake -S "$source_dir/tests/install/consumer" -B "$dir/build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_COMPILER="$compiler" -DCMAKE_BUILD_TYPE=Release "$@" || fail "find_package(okxvault) failed"
cmake --build "$dir/build" || fail "the consumer did not build against the installed library"
"$dir/build/bot" "$dir/no-daemon.sock" || fail "the consumer did not get Code::unreachable"
echo "find_package(okxvault): installed, found, built and linked"
