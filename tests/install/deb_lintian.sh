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
# (Not --show-overrides: with it lintian 2.116 exits 2 on overridden tags alone.)
echo "overrides shipped in the package, each with its reason:"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/lintian/overrides/okx-vault | sed 's/^/  /'
status=0
lintian --fail-on error,warning --display-info "$deb" || status=$?
[ "$status" -eq 0 ] || { echo "FAIL: lintian reports errors or warnings (above)" >&2; exit 1; }
echo "PASS: no lintian error or warning"
