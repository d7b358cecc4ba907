#!/usr/bin/env bash
# Formats the project's C++ sources with clang-format-14 and the root .clang-format.
# Usage: scripts/format.sh            (rewrites the files in place)
#        scripts/format.sh --check    (changes nothing; lists each file that is
#                                      not formatted, with its diff, and fails)
# The files: every *.cpp, *.hpp and *.h that git tracks, but for third-party code
# and build output (neither is tracked under the project's folders).
set -euo pipefail
cd "$(dirname "$0")/.."

clang_format=${CLANG_FORMAT:-clang-format-14}
command -v "$clang_format" > /dev/null || scripts/deps.sh clang-format-14

mapfile -t files < <(git ls-files -- '*.cpp' '*.hpp' '*.h' ':!:*/third_party/*' ':!:*/node_modules/*')
[ ${#files[@]} -gt 0 ] || exit 0

if [ "${1:-}" != "--check" ]; then
  printf '%s\0' "${files[@]}" | xargs -0 -n 16 -P "$(nproc)" "$clang_format" -i --style=file
  exit 0
fi

diff_file=$(mktemp)
trap 'rm -f "$diff_file"' EXIT
unformatted=0
for file in "${files[@]}"; do
  if ! "$clang_format" --style=file "$file" | diff -u --label "$file" --label "$file (formatted)" "$file" - > "$diff_file"; then
    cat "$diff_file"
    unformatted=$((unformatted + 1))
  fi
done
if [ "$unformatted" -gt 0 ]; then
  echo "format: $unformatted file(s) not formatted; scripts/format.sh formats them" >&2
  exit 1
fi
echo "format: ${#files[@]} files formatted"
