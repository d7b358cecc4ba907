#!/usr/bin/env bash
# Follows README.md's service recipes ("Install as a service", "Several vaults on
# one host", "Rotating a credential") on a throwaway copy of this machine
# (scratch_root.sh), and fails when a step fails or leaves the machine otherwise
# than the README says. The commands are read from README.md itself, each block
# after its `<!-- recipe: NAME ... -->` marker, so the README and this test
# cannot drift apart; systemctl, systemd-run and sudo are stand-ins that do what
# systemd would with the units as installed (emulate_systemd.sh). apt, dpkg,
# systemd-sysusers, usermod, systemd-creds, cmake, cpack, okx-vault and
# okx-vaultd are the real ones.
#
# Usage: readme_recipes.sh SOURCE-DIR BUILD-DIR deb|without-package [--require]
#   deb              the package, as the README's first block builds and installs it
#   without-package  `cmake --install` into /usr/local and the hand-made steps
set -euo pipefail
source_dir=$(realpath "$1") build_dir=$(realpath "$2") recipe_mode=$3
OKXVAULT_REQUIRE=0
[ "${4:-}" = --require ] && OKXVAULT_REQUIRE=1
here=$(dirname "$(realpath "$0")")
source "$here/scratch_root.sh"
scratch_root_enter "$@"
source "$here/emulate_systemd.sh"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive
unset OKX_VAULT_SOCKET

scratch_root_cleanup() { emulated_stop_all; }

fail() {
  local log
  for log in "$EMULATED_STATE"/*.log; do
    [ -f "$log" ] && { echo "--- $log:"; cat "$log"; } >&2
  done
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "=== $*"; }

# recipe NAME: the lines of README.md's block marked with `<!-- recipe: NAME`.
recipe() {
  awk -v name="$1" '
    index($0, "<!-- recipe: " name " ") == 1 || $0 == "<!-- recipe: " name " -->" { marked = 1; next }
    marked && /^```sh$/ { inside = 1; marked = 0; next }
    inside && /^```$/ { exit }
    inside { print }
  ' "$source_dir/README.md"
}

# run_recipe NAME FILE: runs the block (already written to FILE) as a reader
# would paste it, stopping at the first command that fails.
run_recipe() {
  step "README recipe: $1"
  sed 's/^/  | /' "$2"
  bash -euo pipefail "$2" || fail "the README's recipe '$1' failed"
}

# The machine the README assumes: a bot user, and an admin and a stranger.
for user in freqtrade alice mallory; do useradd --system --no-create-home --shell /usr/sbin/nologin "$user"; done

work=$SCRATCH/work
mkdir -p "$work/scripts" "$work/build"
cd "$work"
# The checkout the README's first line stands in: its build tree (the packaging
# writes its own files here, not into the real build tree) and a
# scripts/test.sh that does not run the suite this test is part of.
for entry in "$build_dir"/*; do
  case $(basename "$entry") in _CPack_Packages | *.deb | install_manifest*.txt) ;; *) ln -s "$entry" build/ ;; esac
done
printf '#!/bin/sh\necho "scripts/test.sh: the test suite is running this test; not again"\n' > scripts/test.sh
chmod +x scripts/test.sh
cpack() { command cpack -B "$PWD" "$@"; }
export -f cpack

for name in install without-package instance rotate; do
  recipe "$name" > "$SCRATCH/$name.sh"
  [ -s "$SCRATCH/$name.sh" ] || fail "README.md has no block marked <!-- recipe: $name"
done

if [ "$recipe_mode" = deb ]; then
  run_recipe install "$SCRATCH/install.sh"
  sbindir=/usr/sbin unitdir=/usr/lib/systemd/system
else
  run_recipe without-package "$SCRATCH/without-package.sh"
  # Then the install block from its systemd-creds line on, as the README says.
  sed -n '/systemd-creds encrypt/,$p' "$SCRATCH/install.sh" > "$SCRATCH/install-rest.sh"
  [ -s "$SCRATCH/install-rest.sh" ] || fail "the install block has no systemd-creds encrypt line"
  run_recipe "install, from systemd-creds on" "$SCRATCH/install-rest.sh"
  sbindir=/usr/local/sbin unitdir=/usr/local/lib/systemd/system
fi

step "the units run the okx-vaultd just installed"
for unit in okx-vault.service okx-vault@.service; do
  grep -qx "ExecStart=$sbindir/okx-vaultd --config .*" "$unitdir/$unit" ||
    fail "$unitdir/$unit: $(grep ExecStart= "$unitdir/$unit")"
done
[ -x "$sbindir/okx-vaultd" ] || fail "$sbindir/okx-vaultd was not installed"
[ "$(stat -c '%U:%G %a' /etc/okx-vault)" = "root:okx-vault 750" ] ||
  fail "/etc/okx-vault is $(stat -c '%U:%G %a' /etc/okx-vault), not root:okx-vault 750"

admin=/run/okx-vault/admin.sock client=/run/okx-vault/okx-vault.sock
[ "$(stat -c '%U:%G %a' "$admin")" = "root:okx-vault-admin 660" ] || fail "$admin is $(stat -c '%U:%G %a' "$admin")"
[ "$(stat -c '%U:%G %a' "$client")" = "okx-vault:okx-vault 660" ] || fail "$client is $(stat -c '%U:%G %a' "$client")"

step "root adds a key on the admin socket; the bot signs with it on its own socket"
printf 'RECIPE-TEST-SECRET-0123456789\nRecipe#Pass1\n' | okx-vault --socket "$admin" add main --api-key ak-recipe-main ||
  fail "root could not add a key"
okx-vault --socket "$admin" grant main --user freqtrade --allow "GET /api/v5/" || fail "root could not grant"
run_as freqtrade "" -- okx-vault --socket "$client" sign main GET /api/v5/account/balance > /dev/null ||
  fail "the bot (group okx-vault) could not sign"

step "--admin-group: okx-vault-admin's members are admins on the admin socket, and only there"
run_as alice "" -- okx-vault --socket "$admin" grant main --group okx-vault --read-only > /dev/null ||
  fail "alice (group okx-vault-admin) is no admin on the admin socket"
status=0
run_as alice "" -- okx-vault --socket "$client" revoke main --yes 2> /dev/null || status=$?
[ "$status" -ne 0 ] || fail "an admin call went through the bots' socket"
status=0
run_as mallory "" -- okx-vault --socket "$admin" list > /dev/null 2>&1 || status=$?
[ "$status" -ne 0 ] || fail "mallory, in neither group, reached the admin socket"

step "an unreadable config: the daemon says it is a permission problem, as which user"
chmod 0700 /etc/okx-vault
status=0
systemd-run --wait -p User=okx-vault okx-vaultd --config /etc/okx-vault/okx-vaultd.conf 2> "$SCRATCH/denied.log" || status=$?
chmod 0750 /etc/okx-vault
cat "$SCRATCH/denied.log"
[ "$status" -ne 0 ] || fail "the daemon read a config in a directory it may not search"
grep -q "Permission denied: okx-vaultd runs as user okx-vault (uid $(id -u okx-vault))" "$SCRATCH/denied.log" ||
  fail "the error does not say permission and the user"

run_recipe instance "$SCRATCH/instance.sh"
step "the instance paper is a vault of its own"
printf 'RECIPE-TEST-PAPER-0123456789\nPaper#Pass1\n' |
  okx-vault --socket /run/okx-vault/paper/admin.sock add paper-key --api-key ak-recipe-paper --simulated ||
  fail "could not add a key to the instance paper"
[ "$(stat -c '%U:%G %a' /var/lib/okx-vault/paper)" = "okx-vault:okx-vault 700" ] || fail "paper's state directory"
okx-vault --socket "$admin" list | grep -q paper-key && fail "the instance's key shows in the default vault"
okx-vault --socket /run/okx-vault/paper/admin.sock list | grep -q ak-recipe-main && fail "the default vault's key shows in paper"

# rotate VAULT: runs the README's rotation script for VAULT ("" the default).
rotate() {
  step "README recipe: rotate${1:+ (VAULT=$1)}"
  VAULT=$1 bash "$SCRATCH/rotate.sh"
}
cred=/etc/okx-vault/okx-vault.key.cred
signs() { run_as freqtrade "" -- okx-vault --socket "$client" sign main GET /api/v5/account/balance > /dev/null; }

step "rotation fails closed: a credential that does not decrypt changes nothing"
cp "$cred" "$SCRATCH/good.cred"
head -c 200 /dev/urandom > "$cred"
cp "$cred" "$SCRATCH/bad.cred"
status=0
rotate "" > "$SCRATCH/rotate-bad.log" 2>&1 || status=$?
cat "$SCRATCH/rotate-bad.log"
[ "$status" -ne 0 ] || fail "the rotation reported success on a credential that does not decrypt"
grep -q "FAILED before the rotation" "$SCRATCH/rotate-bad.log" || fail "the failed rotation does not say what state it left"
cmp -s "$cred" "$SCRATCH/bad.cred" || fail "the failed rotation changed the credential"
cp "$SCRATCH/good.cred" "$cred"
systemctl start okx-vault.socket okx-vault-admin.socket
signs || fail "the vault does not serve after a failed rotation"

step "rotation: a new key, and the service opens the vault with it"
rotate "" || fail "the README's rotation failed"
cmp -s "$cred" "$SCRATCH/good.cred" && fail "the credential was not replaced"
signs || fail "the service does not sign after the rotation"
okx-vault --socket "$admin" status --json | grep -q '"locked":false' || fail "the vault is locked after the rotation"
systemctl stop okx-vault.service okx-vault.socket okx-vault-admin.socket
systemd-creds decrypt --name=okx-vault.key "$SCRATCH/good.cred" "$SCRATCH/old.key"
chown okx-vault: "$SCRATCH/old.key"
chmod 0600 "$SCRATCH/old.key"
chmod 0755 "$SCRATCH"
status=0
timeout 20 setpriv --reuid=okx-vault --regid=okx-vault --init-groups -- okx-vaultd --config /etc/okx-vault/okx-vaultd.conf \
  --master-key-file "$SCRATCH/old.key" --socket "$SCRATCH/old.sock" > "$SCRATCH/old.log" 2>&1 || status=$?
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "the old key still opens the vault: $(cat "$SCRATCH/old.log")"
systemctl start okx-vault.socket okx-vault-admin.socket
signs || fail "the vault does not serve after the old key was tried"

rotate paper || fail "the README's rotation of the instance paper failed"
okx-vault --socket /run/okx-vault/paper/admin.sock list | grep -q paper-key || fail "paper lost its key in the rotation"

echo "PASS: the README's recipes ($recipe_mode) work as written"
