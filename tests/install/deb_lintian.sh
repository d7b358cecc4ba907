#!/usr/bin/env bash
# The service's .deb passes lintian with no error and no warning. Overrides are
# shipped in the package (systemd/debian/lintian-overrides), each with its reason.
# Usage: deb_lintian.sh BUILD-DIR
set -euo pipefail
here=$(dirname "$(realpath "$0")")
source "$here/make_deb.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
make_deb "$1" "$dir"
echo "lintian $(lintian --version | awk '{print $2}') on $(basename "$deb"):"
status=0
lintian --fail-on error,warning --display-info --show-overrides "$deb" || status=$?
[ "$status" -eq 0 ] || { echo "FAIL: lintian reports errors or warnings (above)" >&2; exit 1; }
echo "PASS: no lintian error or warning"
