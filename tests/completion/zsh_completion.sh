#!/usr/bin/env bash
# The zsh completion (client/completions/_okx-vault), run by a real zsh against
# the real CLI and daemon. The completion system's own functions (compadd,
# _files, _sequence, ...) are replaced by ones that print what would be
# offered, one word a line; _okx_vault is called with `words` and `CURRENT` as
# zsh would set them for a command line.
# Usage: zsh_completion.sh ZSH OKX-VAULTD OKX-VAULT COMPLETION-FILE
set -euo pipefail
zsh=$1 daemon=$2 cli=$3 completion=$4
dir=$(mktemp -d)
trap 'kill -TERM "${pid:-}" 2> /dev/null || true; rm -rf "$dir"' EXIT
socket=$dir/okx-vault.sock
state=(--state-dir "$dir/state" --socket "$socket")

"$daemon" --init "${state[@]}" 2> /dev/null
"$daemon" "${state[@]}" 2> "$dir/daemon.log" &
pid=$!
vault() { "$cli" --socket "$socket" "$@"; }
for _ in $(seq 300); do
  vault status > /dev/null 2>&1 && break
  kill -0 "$pid" 2> /dev/null || { cat "$dir/daemon.log" >&2; exit 1; }
  sleep 0.1
done
printf 'ZSH-SECRET-0123456789abcdef\nzsh-pass\n' | vault add bot --api-key 8f2e0a4c-5b1d-4e7f-9a3c > /dev/null 2>&1
printf 'ZSH-SECRET-0123456789abcdef\nzsh-pass\n' | vault add demo --api-key 8f2e0a4c-5b1d-4e7f-9a3d --simulated > /dev/null 2>&1

# complete LINE: what the completion offers for LINE (words split at spaces; a
# trailing space starts an empty word), sorted, on one line.
complete() {
  OKX_VAULT_SOCKET=$socket LINE=$1 COMPLETION=$completion "$zsh" -f -c '
    compadd() {
      local -a words_offered
      while (( $# )); do
        case $1 in
          -a) shift; words_offered+=(${(P)1}) ;;
          -) shift; words_offered+=("$@"); break ;;
          -*) ;;
          *) words_offered+=("$1") ;;
        esac
        shift
      done
      print -l -- $words_offered
    }
    _sequence() { compadd "$@"; }
    _files() { print -- "<files>"; }
    _users() { print -- "<users>"; }
    _groups() { print -- "<groups>"; }
    _call_program() { shift; eval "$*"; }
    words=(${=LINE})
    [[ $LINE == *" " ]] && words+=("")
    CURRENT=${#words}
    PREFIX=${words[CURRENT]}
    source $COMPLETION
  ' | sort | { grep -- "^${1##* }" || true; } | tr '\n' ' ' | sed 's/ $//'
}
failed=0
expect() {
  local got
  got=$(complete "$1")
  if [ "$got" != "$2" ]; then
    echo "FAIL: '$1' offered '$got', expected '$2'" >&2
    failed=1
  fi
}

commands=$("$cli" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p' | sort | tr '\n' ' ' | sed 's/ $//')
[ "$(wc -w <<< "$commands")" -ge 15 ] || { echo "FAIL: --help lists only: $commands" >&2; exit 1; }
expect "$cli " "$commands"
expect "$cli re" "rekey restore revoke"
expect "$cli help gra" "grant grants"
expect "$cli grant bot --re" "--read-only --reduce-only --replace"
expect "$cli grant bot --user 0 --inst-type S" "SPOT SWAP"
expect "$cli grant bot --user 0 --max-sz " ""
expect "$cli grant bot --user " "<users>"
expect "$cli sign " "bot demo"
expect "$cli sign d" "demo"
expect "$cli curl bot " "GET POST"
expect "$cli passphrase " "change remove set"
expect "$cli --admin" "--admin-socket"
expect "$cli --socket " "<files>"
# Key names come from the socket typed on the command line.
expect "$cli --socket $dir/none.sock revoke " ""
expect "$cli --socket $socket revoke " "bot demo"
[ "$failed" -eq 0 ] || exit 1
echo "zsh completion: every case offered what it should"
