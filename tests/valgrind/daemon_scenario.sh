#!/usr/bin/env bash
# okx-vaultd under valgrind memcheck for a short life driven by the real CLI: add,
# sign, ws-login, list, revoke, SIGTERM. Any memory error, and any definite,
# indirect or possible leak, fails. No suppressions.
# Usage: daemon_scenario.sh VALGRIND OKX-VAULTD OKX-VAULT
set -euo pipefail
valgrind=$1 daemon=$2 cli=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
socket=$dir/okx-vault.sock
state=(--state-dir "$dir/state" --socket "$socket")

"$daemon" --init "${state[@]}" 2> /dev/null
"$valgrind" --tool=memcheck --error-exitcode=99 --leak-check=full \
  --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
  --log-file="$dir/valgrind.log" "$daemon" "${state[@]}" --threads 2 2> "$dir/daemon.log" &
pid=$!

fail() {
  echo "FAIL: $*" >&2
  kill -KILL "$pid" 2> /dev/null || true
  cat "$dir/daemon.log" "$dir/valgrind.log" >&2
  exit 1
}
vault() { "$cli" --socket "$socket" "$@"; }

for _ in $(seq 600); do
  vault status > /dev/null 2>&1 && break
  kill -0 "$pid" 2> /dev/null || fail "the daemon exited during startup"
  sleep 0.1
done
out=$(printf 'VALGRIND-SECRET-0123456789abcdef\nvalgrind-pass\n' | vault add main --api-key 8f2e0a4c-5b1d-4e7f-9a3c 2>&1) ||
  fail "add: $out"
# Outputs are captured whole: grep -q closing a pipe early would fail the pipeline.
out=$(vault sign main POST /api/v5/trade/order --body '{"instId":"BTC-USDT"}') || fail "sign"
grep -q '^OK-ACCESS-SIGN: ' <<< "$out" || fail "sign: $out"
out=$(vault ws-login main) || fail "ws-login"
grep -q '"op":"login"' <<< "$out" || fail "ws-login: $out"
out=$(vault list --json) || fail "list"
grep -q '"name":"main"' <<< "$out" || fail "list: $out"
vault sign nope GET /api/v5/account/balance > /dev/null 2>&1 && fail "signing with an unknown key succeeded"
out=$(vault revoke main --yes 2>&1) || fail "revoke: $out"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|All heap blocks' "$dir/valgrind.log" || true
[ "$status" -eq 0 ] || fail "okx-vaultd under valgrind exited with $status (99: memcheck found errors or leaks)"
grep -q 'ERROR SUMMARY: 0 errors' "$dir/valgrind.log" || fail "memcheck reported errors"
echo "valgrind: no errors, no leaks"
