#!/usr/bin/env bash
# The benchmark: okx-vaultd against a baseline, nginx returning a fixed answer of
# the same size over the same kind of Unix socket, driven by the same closed-loop
# load program with the same request: okxv-lean (tests/bench/lean.cpp), a raw
# blocking socket loop with as little user-space work per request as a client
# can do (its CPU per request, mostly the kernel's, is printed). Each daemon figure
# is a ratio to the baseline measured seconds before it; every scenario is
# repeated and the median and the spread are reported, with pass/fail against
# the targets in README.md (Performance). Beside them, for reference, the floor
# of the daemon's stack (tests/bench/floor.cpp: the same kind of server answering
# a fixed reply, with no handler). Beside them too, the same baseline and daemon
# runs driven by okxv-load (tests/bench/load.cpp), the first load program, which
# parses more of each reply: not targets, a second view. Ends with the in-process
# micro-benchmarks. Installs nginx and Google Benchmark if missing; builds in
# build-bench/. Needs nothing else: the daemon and nginx run from a temp dir.
#
# Usage: scripts/bench.sh
#   BENCH_SECONDS=2   measured seconds per run (after 0.5 s of warm-up)
#   BENCH_REPEAT=9    runs per scenario: on a shared VM one run of the same server
#                     varies by a third, so many short rounds beat a few long ones
#   BENCH_JSON=FILE   also write the summary as JSON (default build-bench/bench.json)
#   BENCH_MANY_KEYS=10000  keys of the many-key vault
#
# scripts/bench.sh changes: only the slow-change scenario. Sign p99 at steady
# load, then with an admin rekeying and changing the passphrase (real Argon2id
# cost) in a loop for the whole run; the target is p99
# during changes at most twice the steady p99 of the same round.
#   BENCH_CHANGE_KEYS=1000  keys of its vault
#   BENCH_DAEMON=PATH       the okx-vaultd to measure (default: the one built here)
#   BENCH_BUILD_DIR=DIR     where to build (default build-bench)
#
# scripts/bench.sh instructions: only the instruction count, which does not
# depend on the machine's load. okx-vaultd (1 key) runs under valgrind
# --tool=callgrind and okxv-load --count sends it signs one after another on
# one connection: a warm-up, then BENCH_SIGNS more. The same run without the
# BENCH_SIGNS is subtracted, so what is left is the user-space instructions of
# those signs in every thread of the daemon (start, warm-up and stop cancel
# out), divided by their number; once with the audit log and once with
# --benchmark-without-audit. The target is at most 15,000 per sign with it.
# Beside it, measured the same way (the same request, warm-up subtracted), the
# instructions per request of okxv-floor and of nginx (one process:
# master_process off, daemon off, so that valgrind follows it), each answering
# the fixed reply of a sign's size.
#   BENCH_SIGNS=2000        signs measured
#   BENCH_WARMUP_SIGNS=200  signs before them, in both runs
#
# scripts/bench.sh limits: what trading limits cost a sign. A 1-key vault; the
# bench's uid holds one grant on it, in turn without limits and with limits that
# a limit order keeps (instruments, a max size, a price range, order types,
# sides, modes, and a per-minute count too high to refuse); okxv-load --order
# signs that order. BENCH_REPEAT alternating rounds at 8 connections, the
# median ratio of signs/s with limits to without (target >= 0.9), and
# user-space instructions per sign under callgrind both ways.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${BENCH_SECONDS:-2}
repeat=${BENCH_REPEAT:-9}
summary_json=${BENCH_JSON:-build-bench/bench.json}
many_keys=${BENCH_MANY_KEYS:-10000}

scenario=${1:-all}
change_keys=${BENCH_CHANGE_KEYS:-1000}

build_dir=${BENCH_BUILD_DIR:-build-bench}
if [ "$scenario" = changes ]; then
  scripts/deps.sh libbenchmark-dev
  targets=(okx-vaultd okxv-load okxv-bench-store)
elif [ "$scenario" = instructions ]; then
  scripts/deps.sh nginx-light libbenchmark-dev valgrind
  targets=(okx-vaultd okxv-load okxv-bench-store okxv-floor)
elif [ "$scenario" = limits ]; then
  scripts/deps.sh libbenchmark-dev valgrind
  targets=(okx-vaultd okxv-load okxv-bench-store)
else
  scripts/deps.sh nginx-light libbenchmark-dev
  targets=(okx-vaultd okxv-load okxv-lean okxv-bench-store okxv-floor okxv-micro)
fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOKXVAULT_BENCH=ON -DOKXVAULT_WERROR=ON > /dev/null
cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]}" > /dev/null
bin=$(cd "$build_dir" && pwd)
load=$bin/tests/bench/okxv-load
lean=$bin/tests/bench/okxv-lean
# The load program of run(): okxv-load in the limits and changes scenarios,
# okxv-lean in the main one (with okxv-load as a second view).
client=$load
daemon=${BENCH_DAEMON:-$bin/daemon/okx-vaultd}

work=$(mktemp -d /tmp/okxv-bench.XXXXXX)
chmod 0711 "$work"
started=()
cleanup() {
  for pid in "${started[@]}"; do kill "$pid" 2> /dev/null || true; done
  wait 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

now_ns() { date +%s%N; }
field() { sed -E "s/.*\"$2\":([0-9.]+).*/\1/" <<< "$1"; }

# start_daemon NAME KEYS [OPTIONS...]: a daemon on a vault of KEYS keys; sets
# daemon_pid and start_ms (from fork to accepting on its socket: open the store,
# unlock it with the key file, decrypt every key, listen).
start_daemon() {
  local dir=$work/$1
  "$bin/tests/bench/okxv-bench-store" "$dir/state" "$2"
  shift 2
  local t0
  t0=$(now_ns)
  "$daemon" --state-dir "$dir/state" --socket "$dir/sock" --log-level warn "$@" 2>> "$dir/log" &
  daemon_pid=$!
  started+=("$daemon_pid")
  # A liveness bound only: the start time is measured, and judged, below.
  "$load" --socket "$dir/sock" --wait 60000
  start_ms=$(( ($(now_ns) - t0) / 1000000 ))
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# User + system CPU of a process so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# nginx_conf DIR SIZE [DIRECTIVES]: a config answering every request on DIR/sock
# with SIZE bytes, the same answer size as a sign reply, so both servers write
# the same bytes; DIRECTIVES go at its top.
nginx_conf() {
  local dir=$1 size=$2
  mkdir -p "$dir/tmp"
  local body
  body="{\"x\":\"$(head -c $((size - 8)) /dev/zero | tr '\0' 'a')\"}"
  cat > "$dir/nginx.conf" << CONF
${3:-worker_processes $(nproc);}
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  default_type application/json;
  server {
    listen unix:$dir/sock;
    location / { return 200 '$body'; }
  }
}
CONF
}
start_nginx() {
  local dir=$work/nginx
  nginx_conf "$dir" "$1"
  nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" &
  nginx_pid=$!
  started+=("$nginx_pid")
  "$load" --socket "$dir/sock" --wait 10000
}

# The floor of the daemon's stack: its own kind of server (tests/bench/floor.cpp)
# answering the same fixed reply, with no handler. Not a target; it says how
# much of the gap to the baseline is the stack's and how much the sign's work.
start_floor() {
  "$bin/tests/bench/okxv-floor" --socket "$work/floor.sock" --body-bytes "$1" &
  started+=("$!")
  "$load" --socket "$work/floor.sock" --wait 10000
}

# pin PID CPUS: every thread of the process and of its children.
pin() {
  local pid
  for pid in "$1" $(pgrep -P "$1" || true); do taskset -a -p -c "$2" "$pid" > /dev/null; done
}

# run LABEL SOCKET CONNECTIONS KEYS [taskset args...]: one load run, its JSON kept.
results=$work/results.jsonl
run() {
  local label=$1 socket=$2 connections=$3 keys=$4
  shift 4
  local out
  out=$("$@" "$client" --socket "$socket" --connections "$connections" --keys "$keys" --duration "$seconds" --warmup 0.5 --json)
  echo "{\"label\":\"$label\",${out#\{}" >> "$results"
  last_requests=$(field "$out" requests)
  printf '  %-14s %9.0f req/s  p50 %7.1f  p99 %7.1f  p99.9 %8.1f us  errors %s  client %5.1f us/req\n' "$label" \
    "$(field "$out" rps)" "$(field "$out" p50_us)" "$(field "$out" p99_us)" "$(field "$out" p999_us)" \
    "$(field "$out" errors)" "$(field "$out" load_cpu_us_per_request)"
}


# The slow-change scenario: the admin's calls go over their own connection to the
# socket the load runs on (the bench signs as the admin, which an admin socket
# would refuse there).
admin_call() {
  curl -s -o /dev/null -w '%{http_code}' --unix-socket "$work/changes/sock" -X "$1" "http://okx-vault$2" \
    -H 'Content-Type: application/json' --data-binary "$3"
}
# Rekeys and passphrase changes one after another until $work/changes/stop exists.
keep_changing() {
  local current=$1 next i=0 status
  while [ ! -e "$work/changes/stop" ]; do
    status=$(admin_call POST /v1/rekey "{\"passphrase\":\"$current\"}")
    [ "$status" = 200 ] || echo "   rekey answered $status" >&2
    next="bench passphrase $((++i))"
    status=$(admin_call PUT /v1/slots/passphrase "{\"passphrase\":\"$current\",\"new_passphrase\":\"$next\"}")
    [ "$status" = 200 ] || echo "   passphrase change answered $status" >&2
    current=$next
    echo "$current" > "$work/changes/passphrase"
  done
}
# callgrind_total NAME SIGNS [OPTIONS...]: sets total to the instructions of a
# daemon on a 1-key vault, under callgrind from start to stop, that answered the
# warm-up and then SIGNS signs.
callgrind_total() {
  local name=$1 signs=$2 dir=$work/$1 out=$work/$1.callgrind
  shift 2
  "$bin/tests/bench/okxv-bench-store" "$dir/state" 1
  valgrind --tool=callgrind --callgrind-out-file="$out" --log-file="$dir/valgrind.log" \
    "$daemon" --state-dir "$dir/state" --socket "$dir/sock" --log-level warn "$@" 2>> "$dir/log" &
  local pid=$!
  started+=("$pid")
  "$load" --socket "$dir/sock" --wait 120000
  [ -z "${grants_body:-}" ] || put_grants "$dir/sock" "$grants_body"
  "$load" --socket "$dir/sock" --count "$warmup_signs" "${load_args[@]}"
  [ "$signs" -eq 0 ] || "$load" --socket "$dir/sock" --count "$signs" "${load_args[@]}"
  kill -TERM "$pid"
  wait "$pid"
  total=$(awk '/^totals:/ { print $2 }' "$out")
  sha_ni_total "$out"
}
# Valgrind hides the CPU's SHA extensions, so under callgrind Nettle's SHA-256
# runs its plain x86-64 code (_nettle_sha256_compress_x86_64, ~3,000
# instructions a block). Natively, on a CPU with them, each block is
# _nettle_sha256_compress_sha_ni instead: straight-line code, so its count is
# that of its instructions in libnettle. sha_ni_total OUT sets native_total to
# total with the blocks counted so (total itself where the CPU has no SHA-NI).
sha_ni_total() {
  native_total=$total
  grep -qw sha_ni /proc/cpuinfo || return 0
  local lib per_block ir calls
  lib=$(ldd "$daemon" | awk '/libnettle/ { print $3 }')
  per_block=$(objdump -d --disassemble=_nettle_sha256_compress_sha_ni "$lib" | grep -cP '^\s+[0-9a-f]+:\t' || true)
  [ "$per_block" -gt 0 ] || return 0  # a Nettle without it runs the plain code natively too
  read -r ir calls < <(callgrind_annotate --tree=caller "$1" | awk '
    /^$/ { calls = 0 }
    / < / && match($0, /\([0-9,]+x\)/) { n = substr($0, RSTART + 1, RLENGTH - 3); gsub(",", "", n); calls += n }
    / \* .*_nettle_sha256_compress_x86_64 / { ir = $1; gsub(",", "", ir); found = calls }
    END { print ir + 0, found + 0 }')
  native_total=$((total - ir + calls * per_block))
}
# per_sign NAME TEXT [OPTIONS...]: sets and prints the instructions per sign.
per_sign() {
  local name=$1 text=$2
  shift 2
  callgrind_total "$name-0" 0 "$@"
  local without=$total native_without=$native_total
  callgrind_total "$name-$signs" "$signs" "$@"
  per_sign_value=$(((native_total - native_without) / signs))
  printf '  %-36s %7d instructions per sign (under callgrind %d: %d - %d, over %d signs)\n' "$text" \
    "$per_sign_value" $(((total - without) / signs)) "$total" "$without" "$signs"
}
# callgrind_server NAME REQUESTS COMMAND...: as callgrind_total, for a server
# that COMMAND starts listening on $work/NAME/sock: sets total to its
# instructions from start to stop, having answered the warm-up and then
# REQUESTS requests.
callgrind_server() {
  local name=$1 requests=$2 dir=$work/$1 out=$work/$1.callgrind
  shift 2
  mkdir -p "$dir"
  valgrind --tool=callgrind --callgrind-out-file="$out" --log-file="$dir/valgrind.log" "$@" 2>> "$dir/log" &
  local pid=$!
  started+=("$pid")
  "$load" --socket "$dir/sock" --wait 120000
  "$load" --socket "$dir/sock" --count "$warmup_signs"
  [ "$requests" -eq 0 ] || "$load" --socket "$dir/sock" --count "$requests"
  kill -TERM "$pid"
  wait "$pid" || true  # okxv-floor ends on the signal itself
  total=$(awk '/^totals:/ { print $2 }' "$out")
}
# per_request NAME TEXT COMMAND...: prints a server's instructions per request,
# the warm-up-only run subtracted; COMMAND may use @DIR@ for $work/<its run>.
per_request() {
  local name=$1 text=$2
  shift 2
  callgrind_server "$name-0" 0 "${@//@DIR@/$work/$name-0}"
  local without=$total
  callgrind_server "$name-$signs" "$signs" "${@//@DIR@/$work/$name-$signs}"
  printf '  %-36s %7d instructions per request (%d - %d, over %d requests)\n' "$text" \
    $(((total - without) / signs)) "$total" "$without" "$signs"
}
load_args=()
# put_grants SOCKET JSON: replaces the grants of key k00000 (the bench signs as an admin).
put_grants() {
  local code
  code=$(curl -s -o "$work/put.out" -w '%{http_code}' --unix-socket "$1" -X PUT -H 'Content-Type: application/json' \
    --data "$2" http://okx-vault/v1/keys/k00000/grants)
  [ "$code" = 200 ] || { echo "PUT grants: $code $(cat "$work/put.out")" >&2; exit 1; }
}
uid=$(id -u)
plain_grant="{\"grants\":[{\"user\":\"$uid\",\"limits\":null}]}"
limited_grant="{\"grants\":[{\"user\":\"$uid\",\"limits\":{\"inst\":[\"BTC-USDT\",\"ETH-USDT-SWAP\",\"BTC-USD-*\"],\
\"max_sz\":[{\"inst\":\"BTC-USDT\",\"sz\":\"0.5\"},{\"inst\":\"ETH-USDT-SWAP\",\"sz\":\"10\"}],\
\"px_range\":[{\"inst\":\"BTC-USDT\",\"min\":\"10000\",\"max\":\"90000\"}],\"ord_types\":[\"limit\",\"post_only\"],\
\"sides\":[\"buy\",\"sell\"],\"td_modes\":[\"cash\",\"cross\"],\"max_leverage\":\"5\",\"orders_per_minute\":1000000}}]}"

if [ "$scenario" = limits ]; then
  signs=${BENCH_SIGNS:-2000}
  warmup_signs=${BENCH_WARMUP_SIGNS:-200}
  load_args=(--order)
  echo "== trading limits: a limit order signed under a grant without and with limits"
  echo "== machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  start_daemon limits 1
  for i in $(seq "$repeat"); do
    put_grants "$work/limits/sock" "$plain_grant"
    run "plain $i" "$work/limits/sock" 8 1 env
    plain_rps=$(field "$(tail -n 1 "$results")" rps)
    put_grants "$work/limits/sock" "$limited_grant"
    run "limits $i" "$work/limits/sock" 8 1 env
    limited_rps=$(field "$(tail -n 1 "$results")" rps)
    awk -v a="$limited_rps" -v b="$plain_rps" 'BEGIN { printf "%.3f\n", a / b }' >> "$work/ratios"
  done
  ratio=$(sort -n "$work/ratios" | awk '{ r[NR] = $1 } END { print r[int((NR + 1) / 2)] }')
  printf '  signs/s with limits / without: median %s over %d rounds (%s) (target >= 0.9) %s\n' "$ratio" "$repeat" \
    "$(sort -n "$work/ratios" | paste -sd ' ')" "$(awk -v r="$ratio" 'BEGIN { print (r >= 0.9) ? "PASS" : "FAIL" }')"
  echo "== user-space instructions per sign of that order under callgrind, 1 connection, $warmup_signs + $signs signs"
  grants_body=$plain_grant per_sign plain "grant without limits"
  plain_instructions=$per_sign_value
  grants_body=$limited_grant per_sign limited "grant with limits"
  printf '  %-36s %7d instructions per sign\n' "the limits" $((per_sign_value - plain_instructions))
  exit 0
fi

if [ "$scenario" = instructions ]; then
  signs=${BENCH_SIGNS:-2000}
  warmup_signs=${BENCH_WARMUP_SIGNS:-200}
  echo "== user-space instructions per sign: okx-vaultd under callgrind, 1 connection, $warmup_signs + $signs signs"
  grep -qw sha_ni /proc/cpuinfo &&
    echo "   (SHA-256 blocks counted as with the CPU's SHA-NI, which valgrind hides; the count under callgrind in parentheses)"
  per_sign audit "with the audit log"
  audit_on=$per_sign_value
  per_sign noaudit "without (--benchmark-without-audit)" --benchmark-without-audit
  printf '  %-36s %7d instructions per sign\n' "the audit log" $((audit_on - per_sign_value))
  printf '  with the audit log: %d per sign (target <= 15000) %s\n' "$audit_on" \
    "$([ "$audit_on" -le 15000 ] && echo PASS || echo FAIL)"
  # The fixed reply of the floor and of nginx has the size of a sign's reply.
  start_daemon size 1
  reply_bytes=$(curl -s --unix-socket "$work/size/sock" http://okx-vault/v1/keys/k00000/sign \
    -d '{"method":"GET","path":"/api/v5/account/balance?ccy=BTC"}' | wc -c)
  kill -TERM "$daemon_pid"
  wait "$daemon_pid" || true
  echo "== the same count for a fixed reply of $reply_bytes bytes, the same request: user-space instructions per request"
  per_request floor "okxv-floor (the daemon's stack)" \
    "$bin/tests/bench/okxv-floor" --socket @DIR@/sock --body-bytes "$reply_bytes"
  for run_dir in "$work/nginx-0" "$work/nginx-$signs"; do
    nginx_conf "$run_dir" "$reply_bytes" 'worker_processes 1; master_process off;'
  done
  per_request nginx "nginx (master_process off)" nginx -p @DIR@ -e @DIR@/error.log -c @DIR@/nginx.conf
  exit 0
fi

if [ "$scenario" = changes ]; then
  echo "== machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "== slow changes: $daemon, $change_keys keys, 8 connections, ${seconds} s per run"
  start_daemon changes "$change_keys"
  passphrase="bench passphrase 0"
  [ "$(admin_call PUT /v1/slots/passphrase "{\"new_passphrase\":\"$passphrase\"}")" = 200 ]
  echo "$passphrase" > "$work/changes/passphrase"
  for round in $(seq "$repeat"); do
    echo "== round $round of $repeat"
    run changes_steady "$work/changes/sock" 8 "$change_keys"
    rm -f "$work/changes/stop"
    keep_changing "$(cat "$work/changes/passphrase")" &
    changer=$!
    run changes_during "$work/changes/sock" 8 "$change_keys"
    touch "$work/changes/stop"
    wait "$changer"
  done
  awk '
    function num(line, key) { return match(line, "\"" key "\":[0-9.]+") ? substr(line, RSTART + length(key) + 3, RLENGTH - length(key) - 3) + 0 : 0 }
    function sort(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
    function median(a, n) { sort(a, n); return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    /"label":"changes_steady"/ { n++; sp[n] = num($0, "p99_us"); sr[n] = num($0, "rps"); errors += num($0, "errors") }
    /"label":"changes_during"/ { m++; dp[m] = num($0, "p99_us"); dr[m] = num($0, "rps"); dx[m] = num($0, "max_us"); errors += num($0, "errors"); ratio[m] = dp[m] / sp[m] }
    END {
      printf "== summary (median over %d rounds)\n", n
      printf "  steady:           %9.0f signs/s  p99 %9.1f us\n", median(sr, n), median(sp, n)
      printf "  during changes:   %9.0f signs/s  p99 %9.1f us  max %9.1f us\n", median(dr, m), median(dp, m), median(dx, m)
      r = median(ratio, m)
      printf "  p99 during changes / steady p99: %.2f (target <= 2) %s; errors %d\n", r, r <= 2 ? "PASS" : "FAIL", errors
    }' "$results"
  exit 0
fi

echo "== machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
start_daemon one 1
one_pid=$daemon_pid
one_start_ms=$start_ms
one_rss_kib=$(rss_kib "$one_pid")
start_daemon many "$many_keys"
many_pid=$daemon_pid
many_start_ms=$start_ms
# What the audit log costs, measured directly: the same daemon without it.
start_daemon noaudit 1 --benchmark-without-audit
reply_bytes=$(curl -s --unix-socket "$work/one/sock" http://okx-vault/v1/keys/k00000/sign \
  -d '{"method":"GET","path":"/api/v5/account/balance?ccy=BTC"}' | wc -c)
start_nginx "$reply_bytes"
start_floor "$reply_bytes"
echo "   sign reply body $reply_bytes bytes; baseline answers the same size"
echo "   daemon start with 1 key ${one_start_ms} ms, with $many_keys keys ${many_start_ms} ms"

all_cpus=0-$(( $(nproc) - 1 ))
client=$lean
for round in $(seq "$repeat"); do
  echo "== round $round of $repeat (${seconds} s per run)"
  run base_c8 "$work/nginx/sock" 8 1
  run floor_c8 "$work/floor.sock" 8 1
  ticks=$(cpu_ticks "$one_pid")
  run vault_c8 "$work/one/sock" 8 1
  echo "{\"label\":\"vault_cpu\",\"us_per_sign\":$(( ($(cpu_ticks "$one_pid") - ticks) * 1000000 / $(getconf CLK_TCK) / last_requests ))}" >> "$results"
  run vault_noaudit_c8 "$work/noaudit/sock" 8 1
  run vault_10k_c8 "$work/many/sock" 8 "$many_keys"
  run base_c1 "$work/nginx/sock" 1 1
  run floor_c1 "$work/floor.sock" 1 1
  run vault_c1 "$work/one/sock" 1 1
  pin "$nginx_pid" 0
  pin "$one_pid" 0
  run base_pin_c8 "$work/nginx/sock" 8 1 taskset -c 0
  run vault_pin_c8 "$work/one/sock" 8 1 taskset -c 0
  pin "$nginx_pid" "$all_cpus"
  pin "$one_pid" "$all_cpus"
  client=$load run heavy_base_c8 "$work/nginx/sock" 8 1
  client=$load run heavy_vault_c8 "$work/one/sock" 8 1
  client=$load run heavy_base_c1 "$work/nginx/sock" 1 1
  client=$load run heavy_vault_c1 "$work/one/sock" 1 1
done
many_rss_kib=$(rss_kib "$many_pid")

echo "== in-process micro-benchmarks"
micro_json=${summary_json%.json}-micro.json
"$bin/tests/bench/okxv-micro" --benchmark_min_time=0.5 --benchmark_out="$micro_json" --benchmark_out_format=json
# Process CPU (every thread) per call, in ns, of one micro-benchmark.
micro_cpu() {
  grep -A 12 "\"name\": \"$1\"" "$micro_json" | awk -F': ' '/"cpu_time"/ { sub(",", "", $2); print $2; exit }'
}
audit_ns=$(micro_cpu BM_AuditSignRecord/process_time/real_time)
handler_ns=$(micro_cpu BM_HandlerSign/keys:1/process_time/real_time)

echo "== summary (median over $repeat runs, [min..max]; ratios are daemon / baseline of the same round;"
echo "   okxv-lean drives every run but the heavy_ ones, which okxv-load drives; client: its CPU per request)"
awk -v many_keys="$many_keys" -v one_start="$one_start_ms" -v many_start="$many_start_ms" \
    -v one_rss="$one_rss_kib" -v many_rss="$many_rss_kib" -v json_out="$summary_json" \
    -v audit_ns="$audit_ns" -v handler_ns="$handler_ns" '
  function num(line, key,   m) { return match(line, "\"" key "\":[0-9.]+") ? substr(line, RSTART + length(key) + 3, RLENGTH - length(key) - 3) + 0 : 0 }
  function sort(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
  function median(a, n) { sort(a, n); return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  function stats(name, a, n,   lo, hi) { sort(a, n); lo = a[1]; hi = a[n]; med[name] = median(a, n); spread[name] = sprintf(lo >= 1000 ? "[%.0f..%.0f]" : "[%.3g..%.3g]", lo, hi) }
  {
    label = num_label($0); round[label]++; r = round[label]
    if (label == "vault_cpu") { cpu[r] = num($0, "us_per_sign"); next }
    rps[label, r] = num($0, "rps"); p50[label, r] = num($0, "p50_us"); p99[label, r] = num($0, "p99_us")
    p999[label, r] = num($0, "p999_us"); errors += num($0, "errors"); rounds = r > rounds ? r : rounds
    client[label, r] = num($0, "load_cpu_us_per_request")
  }
  function num_label(line) { match(line, /"label":"[a-z0-9_]+"/); return substr(line, RSTART + 9, RLENGTH - 10) }
  function ratio(name, top, bottom, field,   i, a) {
    for (i = 1; i <= rounds; i++) a[i] = (field == "rps" ? rps[top, i] / rps[bottom, i] : p99[top, i] / p99[bottom, i])
    stats(name, a, rounds)
  }
  function metric(name, label, arr,   i, a) { for (i = 1; i <= rounds; i++) a[i] = arr[label, i]; stats(name, a, rounds) }
  function check(what, value, spread_text, op, target,   ok) {
    ok = (op == ">=" ? value >= target : value <= target)
    printf "  %-44s %10.3f %-18s %s %-8g %s\n", what, value, spread_text, op, target, ok ? "PASS" : "FAIL"
    fails += !ok
    js = js sprintf("%s{\"target\":\"%s\",\"value\":%.4f,\"spread\":\"%s\",\"op\":\"%s\",\"limit\":%g,\"pass\":%s}",
                    js == "" ? "" : ",", what, value, spread_text, op, target, ok ? "true" : "false")
  }
  END {
    n_labels = split("base_c8 floor_c8 vault_c8 vault_noaudit_c8 vault_10k_c8 base_c1 floor_c1 vault_c1 base_pin_c8 vault_pin_c8 heavy_base_c8 heavy_vault_c8 heavy_base_c1 heavy_vault_c1", labels, " ")
    printf "  %-14s %10s %-18s %8s %8s %9s %10s\n", "run", "req/s", "spread", "p50 us", "p99 us", "p99.9 us", "client us"
    for (k = 1; k <= n_labels; k++) {
      l = labels[k]; metric(l, l, rps); metric(l "_p50", l, p50); metric(l "_p99", l, p99); metric(l "_p999", l, p999)
      metric(l "_client", l, client)
      printf "  %-14s %10.0f %-18s %8.1f %8.1f %9.1f %10.2f\n", l, med[l], spread[l], med[l "_p50"], med[l "_p99"], med[l "_p999"], med[l "_client"]
      runs = runs sprintf("%s\"%s\":{\"rps\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"client_cpu_us_per_request\":%.2f}", k > 1 ? "," : "", l, med[l], med[l "_p50"], med[l "_p99"], med[l "_p999"], med[l "_client"])
    }
    ratio("r8", "vault_c8", "base_c8", "rps"); ratio("r1", "vault_c1", "base_c1", "rps")
    ratio("p99_8", "vault_c8", "base_c8", "p99"); ratio("p99_1", "vault_c1", "base_c1", "p99")
    ratio("pin", "vault_pin_c8", "base_pin_c8", "rps"); ratio("keys", "vault_10k_c8", "vault_c8", "rps")
    ratio("audit", "vault_c8", "vault_noaudit_c8", "rps")
    ratio("f8", "floor_c8", "base_c8", "rps"); ratio("f1", "floor_c1", "base_c1", "rps")
    ratio("fp8", "floor_c8", "base_c8", "p99"); ratio("fp1", "floor_c1", "base_c1", "p99")
    ratio("vf8", "vault_c8", "floor_c8", "rps"); ratio("vf1", "vault_c1", "floor_c1", "rps")
    ratio("h8", "heavy_vault_c8", "heavy_base_c8", "rps"); ratio("h1", "heavy_vault_c1", "heavy_base_c1", "rps")
    ratio("hp8", "heavy_vault_c8", "heavy_base_c8", "p99"); ratio("hp1", "heavy_vault_c1", "heavy_base_c1", "p99")
    print ""
    check("signs/s ratio to baseline, 8 connections", med["r8"], spread["r8"], ">=", 0.9)
    check("signs/s ratio to baseline, 1 connection", med["r1"], spread["r1"], ">=", 0.95)
    check("p99 ratio to baseline, 8 connections", med["p99_8"], spread["p99_8"], "<=", 1.25)
    check("p99 ratio to baseline, 1 connection", med["p99_1"], spread["p99_1"], "<=", 1.25)
    check("pinned to one CPU: signs/s ratio to baseline", med["pin"], spread["pin"], ">=", 0.8)
    check("signs/s with " many_keys " keys / with 1 key", med["keys"], spread["keys"], ">=", 0.9)
    check("RSS MiB with " many_keys " keys (1 key: " sprintf("%.1f", one_rss / 1024) ")", many_rss / 1024, "", "<=", 16)
    check("start + unlock ms with " many_keys " keys (1 key: " one_start ")", many_start, "", "<=", 100)
    check("signs/s with the audit log / without, 8 conns", med["audit"], spread["audit"], ">=", 0.95)
    check("errors in all runs", errors, "", "<=", 0)
    printf "{\"runs\":{%s},\"targets\":[%s]}\n", runs, js > json_out
    for (i = 1; i <= rounds; i++) cpu_rounds[i] = cpu[i]
    stats("cpu", cpu_rounds, rounds)
    printf "  (daemon CPU %.1f us per sign at 8 connections; in-process, without the socket: audit %.1f us of %.1f us of handler CPU per sign)\n", med["cpu"], audit_ns / 1000, handler_ns / 1000
    printf "  (the stack'"'"'s floor, okxv-floor, to the baseline: req/s %.3f %s and p99 %.3f %s at 8 connections, req/s %.3f %s and p99 %.3f %s at 1;\n", med["f8"], spread["f8"], med["fp8"], spread["fp8"], med["f1"], spread["f1"], med["fp1"], spread["fp1"]
    printf "   the daemon to the floor: req/s %.3f %s at 8 connections, %.3f %s at 1)\n", med["vf8"], spread["vf8"], med["vf1"], spread["vf1"]
    printf "  (okxv-lean CPU %.2f us per request at 8 connections, %.2f at 1, with the daemon; okxv-load %.2f and %.2f)\n", med["vault_c8_client"], med["vault_c1_client"], med["heavy_vault_c8_client"], med["heavy_vault_c1_client"]
    printf "  (with okxv-load, the heavy client: signs/s ratio %.3f %s and p99 ratio %.3f %s at 8 connections,\n", med["h8"], spread["h8"], med["hp8"], spread["hp8"]
    printf "   signs/s ratio %.3f %s and p99 ratio %.3f %s at 1; not targets)\n", med["h1"], spread["h1"], med["hp1"], spread["hp1"]
    if (fails) { printf "\n%d target(s) missed\n", fails } else { print "\nall targets met" }
  }' "$results"
echo "   (summary also in $summary_json, micro-benchmarks in $micro_json)"
