#!/usr/bin/env bash
# Builds okx-vaultd and runs it on a development vault inside the checkout:
# state in dev/state, socket at dev/okx-vault.sock. No root paths, no systemd.
# Installs what is missing first. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOKXVAULT_WERROR=ON > /dev/null
cmake --build build -j "$(nproc)" --target okx-vaultd okx-vault

state="$PWD/dev/state"
socket="$PWD/dev/okx-vault.sock"
mkdir -p dev
[ -f "$state/vault.store" ] || build/daemon/okx-vaultd --init --state-dir "$state"

cat <<MSG

okx-vaultd: development vault in $state
socket:     $socket

In another terminal:
  export OKX_VAULT_SOCKET=$socket
  build/client/okx-vault add main --api-key YOUR-API-KEY     # prompts for secret and passphrase
  curl -s --unix-socket $socket http://okx-vault/v1/keys/main/sign \\
       -d '{"method":"GET","path":"/api/v5/account/balance?ccy=BTC"}'

MSG
exec build/daemon/okx-vaultd --state-dir "$state" --socket "$socket"
