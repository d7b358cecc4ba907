#!/usr/bin/env bash
# Follows README.md's service recipes ("Install as a service", "Several vaults on
# one host", "Rotating a credential", the audit log's logrotate snippet, "Backup,
# restore and moving keys") on a throwaway copy of this machine
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

for name in install without-package instance rotate backup restore-clash move seal; do
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

paper_admin=/run/okx-vault/paper/admin.sock
paper() { OKX_VAULT_SOCKET=$paper_admin okx-vault "$@"; }
# last_hash FILE: the hash the last line of an audit log ends its chain with.
last_hash() { tail -1 "$1" | sed -n 's/.*"hash":"\([0-9a-f]\{64\}\)".*/\1/p'; }

step "logrotate, with the snippet as installed, moves the audit logs; each daemon goes on in a new file that continues the moved one"
signs || fail "the vault does not sign before the log rotation"
paper status > /dev/null || fail "the instance paper does not answer"
# logrotate runs postrotate with /bin/sh, which sees no shell function: the
# stand-in systemctl goes first on its PATH as a program.
mkdir -p "$SCRATCH/bin"
printf '#!/bin/bash\nsource %q\nsystemctl "$@"\n' "$here/emulate_systemd.sh" > "$SCRATCH/bin/systemctl"
chmod 0755 "$SCRATCH/bin/systemctl"
PATH="$SCRATCH/bin:$PATH" logrotate --force --state "$SCRATCH/logrotate.state" /etc/logrotate.d/okx-vault \
  > "$SCRATCH/logrotate.log" 2>&1 || fail "logrotate failed: $(cat "$SCRATCH/logrotate.log")"
signs || fail "the vault does not sign after the log rotation"
paper status > /dev/null || fail "the instance paper does not answer after the log rotation"
for log in /var/lib/okx-vault/audit.log /var/lib/okx-vault/paper/audit.log; do
  [ -s "$log.1" ] || fail "logrotate did not move $log"
  for _ in $(seq 100); do [ -s "$log" ] && break; sleep 0.05; done
  [ "$(stat -c '%U %a' "$log")" = "okx-vault 600" ] || fail "$log is $(stat -c '%U %a' "$log" 2>&1) after the rotation"
  head -1 "$log" | grep -q '"action":"reopen-log"' || fail "$log does not begin with a reopen-log record"
  okx-vault audit verify "$log.1" > /dev/null || fail "the moved $log.1 does not verify"
  okx-vault audit verify "$log" --follows "$(last_hash "$log.1")" > "$SCRATCH/follows.log" 2>&1 ||
    fail "$log does not continue $log.1: $(cat "$SCRATCH/follows.log")"
done
grep -q '"decision":"allow"' <(tail -1 /var/lib/okx-vault/audit.log) || fail "the sign after the rotation is not in the new log"

# The backup and fleet recipes' other hosts, bot-1 and bot-2, are the instance
# paper on this machine: ssh runs its command against paper's admin socket,
# scp copies within the machine.
ssh() {
  while [ "${1:0:1}" = - ]; do shift; done
  case $1 in root@bot-1 | root@bot-2) shift ;; *) echo "stand-in ssh: no host $1" >&2; return 255 ;; esac
  OKX_VAULT_SOCKET=$paper_admin "$@"
}
scp() {
  local to=${2#root@bot-[12]:}
  [ "${to: -1}" = / ] && to=$to$(basename "$1")
  [ "$(realpath -m "$1")" = "$(realpath -m "$to")" ] || cp "$1" "$to"
}
export -f ssh scp
export paper_admin
now() { date -u +%Y-%m-%dT%H:%M:%S.000Z; }
# signature SOCKET KEY TIME: the bot's OK-ACCESS-SIGN for a balance request.
signature() {
  run_as freqtrade "" -- okx-vault --socket "$1" sign "$2" GET /api/v5/account/balance --timestamp "$3" |
    grep '^OK-ACCESS-SIGN: '
}
paper_client=/run/okx-vault/paper/okx-vault.sock

printf 'Backup#Pass1\nBackup#Pass1\n' > "$SCRATCH/backup.answers"
run_recipe backup "$SCRATCH/backup.sh" < "$SCRATCH/backup.answers"
step "the backup brought main to bot-2 with its secret and its grant"
[ "$(stat -c '%U %a' /root/okx-vault.backup)" = "root 600" ] || fail "the backup file is not root's, 0600"
grep -a -q 'RECIPE-TEST-SECRET' /root/okx-vault.backup && fail "the backup file holds the secret in clear"
at=$(now)
theirs=$(signature "$paper_client" main "$at") || fail "the bot cannot sign with main on bot-2"
[ "$theirs" = "$(signature "$client" main "$at")" ] || fail "main signs otherwise on bot-2: $theirs"

run_recipe restore-clash "$SCRATCH/restore-clash.sh" < "$SCRATCH/backup.answers"
step "--skip-existing added nothing; --rename brought main in again as main-2025"
okx-vault --socket "$admin" list > "$SCRATCH/list.txt"
grep -q '^main-2025 ' "$SCRATCH/list.txt" || fail "no main-2025 after the restore: $(cat "$SCRATCH/list.txt")"
[ "$(grep -c '^main' "$SCRATCH/list.txt")" -eq 2 ] || fail "the vault does not hold exactly main and main-2025"
status=0
okx-vault --socket "$admin" restore /root/okx-vault.backup < "$SCRATCH/backup.answers" 2> "$SCRATCH/clash.log" || status=$?
[ "$status" -ne 0 ] && grep -q -- '--skip-existing' "$SCRATCH/clash.log" ||
  fail "a restore that clashes was not refused with the flags that resolve it: $(cat "$SCRATCH/clash.log")"

paper revoke main --yes > /dev/null || fail "could not revoke main on bot-2 before sealing it there"
printf 'RECIPE-TEST-SECRET-0123456789\nRecipe#Pass1\n' > "$SCRATCH/seal.answers"
run_recipe seal "$SCRATCH/seal.sh" < "$SCRATCH/seal.answers"
step "the playbook's import, twice: the key is added once, and the second run is what the playbook passes over"
grep -q RECIPE-TEST-SECRET main.bot-1.sealed && fail "the sealed key holds the secret in clear"
import=$(sed -n 's/^ *ansible.builtin.command: //p' "$source_dir/README.md")
[ "$import" = "okx-vault import /root/main.sealed" ] || fail "the playbook's import is '$import'"
install -m 0600 main.bot-1.sealed /root/main.sealed
ssh root@bot-1 $import || fail "the playbook's import failed"
status=0
ssh root@bot-1 $import 2> "$SCRATCH/import-again.log" || status=$?
[ "$status" -ne 0 ] && grep -q 'already exists' "$SCRATCH/import-again.log" ||
  fail "a second import did not fail with 'already exists': $(cat "$SCRATCH/import-again.log")"
paper grant main --user freqtrade --allow "GET /api/v5/" > /dev/null || fail "could not grant the imported key"
at=$(now)
[ "$(signature "$paper_client" main "$at")" = "$(signature "$client" main "$at")" ] ||
  fail "the sealed key does not sign as main does"

paper revoke main --yes > /dev/null || fail "could not revoke main on bot-2 before moving it there"
printf 'Move#Pass1\nMove#Pass1\n' > "$SCRATCH/move.answers"
at=$(now)
before=$(signature "$client" main "$at")
run_recipe move "$SCRATCH/move.sh" < "$SCRATCH/move.answers"
step "main moved: bot-2 signs with it, this vault no longer holds it"
okx-vault --socket "$admin" list | grep -q '^main ' && fail "main is still in this vault after the move"
[ "$(signature "$paper_client" main "$at")" = "$before" ] || fail "the moved key does not sign as before"

echo "PASS: the README's recipes ($recipe_mode) work as written"
