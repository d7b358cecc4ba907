#!/usr/bin/env bash
# The service's .deb installed, upgraded, removed and purged with dpkg, on a
# throwaway copy of this machine (scratch_root.sh: overlays over /etc, /usr and
# /var in a private mount namespace), so that the real package database, users
# and /etc are untouched. Systemd is not PID 1: the maintainer scripts must take
# their no-systemd paths without failing, and still mask, unmask and forget the
# units' enablement with deb-systemd-helper.
# Usage: deb_lifecycle.sh BUILD-DIR [--require]
set -euo pipefail
build_dir=$(realpath "$1")
OKXVAULT_REQUIRE=0
[ "${2:-}" = --require ] && OKXVAULT_REQUIRE=1
here=$(dirname "$(realpath "$0")")
source "$here/scratch_root.sh"
source "$here/make_deb.sh"
scratch_root_enter "$@"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "=== $*"; }
conf=/etc/okx-vault/okx-vaultd.conf
masked() { [ "$(readlink "/etc/systemd/system/$1" 2> /dev/null)" = /dev/null ]; }

mkdir -p "$SCRATCH/deb"
make_deb "$build_dir" "$SCRATCH/deb"
dpkg-query -W okx-vault > /dev/null 2>&1 && fail "okx-vault is installed on this machine already; this test wants a machine without it"

step "dpkg -i"
dpkg -i "$deb" || fail "dpkg -i failed"
getent passwd okx-vault > /dev/null || fail "no user okx-vault"
getent group okx-vault-admin > /dev/null || fail "no group okx-vault-admin"
[ "$(stat -c '%U:%G %a' /etc/okx-vault)" = "root:okx-vault 750" ] || fail "/etc/okx-vault is $(stat -c '%U:%G %a' /etc/okx-vault)"
dpkg-query -W -f='${Conffiles}\n' okx-vault | grep -q "^ $conf " || fail "$conf is not a conffile"
dpkg-query -W -f='${Conffiles}\n' okx-vault | grep -q "^ /etc/okx-vault/okx-vault.conf " || fail "the CLI's okx-vault.conf is not a conffile"
# The audit log's rotation: logrotate's snippet, a conffile, and the reload that reopens the log.
dpkg-query -W -f='${Conffiles}\n' okx-vault | grep -q "^ /etc/logrotate.d/okx-vault " ||
  fail "/etc/logrotate.d/okx-vault is not a conffile"
grep -q 'systemctl kill --kill-who=main --signal=HUP okx-vault.service' /etc/logrotate.d/okx-vault ||
  fail "/etc/logrotate.d/okx-vault does not signal the daemon"
if command -v logrotate > /dev/null; then
  logrotate --debug --state "$SCRATCH/logrotate.state" /etc/logrotate.d/okx-vault > "$SCRATCH/logrotate.log" 2>&1 ||
    fail "logrotate refuses /etc/logrotate.d/okx-vault: $(cat "$SCRATCH/logrotate.log")"
fi
[ -x /usr/sbin/okx-vaultd ] && [ -x /usr/bin/okx-vault ] || fail "the programs were not installed"
# The clients: Debian's python3 imports the Python package and runs its launcher;
# node requires the JavaScript package from /usr/share/nodejs (a path Debian's
# nodejs searches; this machine's node may not, hence the full path).
(cd / && /usr/bin/python3 -c "import okx_vault, okx_vault.aio, okx_vault.ccxt_shim") || fail "python3 cannot import okx_vault"
okx-vault-ccxt --help | grep -q "^usage: okx-vault-ccxt" || fail "okx-vault-ccxt does not run"
if command -v node > /dev/null; then
  (cd / && node -e "require('/usr/share/nodejs/okx-vault/okx_vault.js'); require('/usr/share/nodejs/okx-vault/register.js')") ||
    fail "node cannot require /usr/share/nodejs/okx-vault"
fi
for unit in okx-vault.service okx-vault.socket okx-vault-admin.socket okx-vault@.service okx-vault@.socket okx-vault-admin@.socket; do
  [ -f "/usr/lib/systemd/system/$unit" ] || fail "$unit was not installed"
done
grep -qx 'ExecStart=/usr/sbin/okx-vaultd --config /etc/okx-vault/okx-vaultd.conf' /usr/lib/systemd/system/okx-vault.service ||
  fail "the packaged unit does not run /usr/sbin/okx-vaultd"
grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' /usr/lib/systemd/system/okx-vault.service ||
  fail "the packaged unit has no ExecReload that reopens the audit log"
for unit in okx-vault.socket okx-vault-admin.socket; do
  [ -e "/etc/systemd/system/sockets.target.wants/$unit" ] && fail "$unit was enabled on install (the service needs its credential first)"
done

step "dpkg -i again (an upgrade to the same version)"
dpkg -i "$deb" || fail "reinstalling failed"

step "the admin enables the sockets, edits the config, then dpkg -r"
systemctl --root=/ enable okx-vault.socket okx-vault-admin.socket
[ -L /etc/systemd/system/sockets.target.wants/okx-vault.socket ] || fail "systemctl enable did nothing"
echo "# edited by the admin" >> "$conf"
dpkg -r okx-vault || fail "dpkg -r failed"
[ -f "$conf" ] && grep -q "edited by the admin" "$conf" || fail "dpkg -r did not keep the conffile $conf"
[ "$(dpkg-query -W -f='${Status}' okx-vault)" = "deinstall ok config-files" ] || fail "status after dpkg -r: $(dpkg-query -W -f='${Status}' okx-vault)"
[ -e /usr/sbin/okx-vaultd ] && fail "dpkg -r left /usr/sbin/okx-vaultd"
for unit in okx-vault.service okx-vault.socket okx-vault-admin.socket; do
  masked "$unit" || fail "$unit is not masked after dpkg -r"
done

step "dpkg -i after dpkg -r: the admin's config and enablement stay, the masks go"
dpkg -i "$deb" || fail "installing again failed"
grep -q "edited by the admin" "$conf" || fail "the admin's config was replaced"
for unit in okx-vault.service okx-vault.socket okx-vault-admin.socket; do
  masked "$unit" && fail "$unit is still masked after installing again"
done
[ -L /etc/systemd/system/sockets.target.wants/okx-vault.socket ] || fail "the sockets' enablement was lost"

step "dpkg -P: the config, the masks, the enablement and /etc/okx-vault's owner go; the vault stays"
install -d -m 0700 -o okx-vault -g okx-vault /var/lib/okx-vault
echo "a vault" > /var/lib/okx-vault/vault.store
dpkg -r okx-vault || fail "dpkg -r failed"
dpkg -P okx-vault 2> "$SCRATCH/purge.log" || { cat "$SCRATCH/purge.log"; fail "dpkg -P failed"; }
cat "$SCRATCH/purge.log"
dpkg-query -W okx-vault > /dev/null 2>&1 && fail "okx-vault is still known to dpkg after purge"
[ -e "$conf" ] && fail "dpkg -P left the conffile $conf"
[ -e /etc/logrotate.d/okx-vault ] && fail "dpkg -P left the conffile /etc/logrotate.d/okx-vault"
[ -e /etc/okx-vault ] && fail "dpkg -P left /etc/okx-vault (empty)"
dpkg-statoverride --list /etc/okx-vault > /dev/null && fail "dpkg -P left the statoverride of /etc/okx-vault"
for unit in okx-vault.service okx-vault.socket okx-vault-admin.socket; do
  masked "$unit" && fail "$unit is still masked after purge"
  [ -e "/etc/systemd/system/sockets.target.wants/$unit" ] && fail "$unit is still enabled after purge"
done
[ -f /var/lib/okx-vault/vault.store ] || fail "dpkg -P removed the vault"
grep -q "/var/lib/okx-vault is kept" "$SCRATCH/purge.log" || fail "dpkg -P did not say that it kept the vault"
getent passwd okx-vault > /dev/null || fail "dpkg -P removed the user okx-vault, whose files remain"

echo "PASS: dpkg -i, an upgrade, dpkg -r (conffile kept) and dpkg -P (conffile gone)"
