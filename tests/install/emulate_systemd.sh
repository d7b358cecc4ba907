# Sourced by tests/install/readme_recipes.sh, inside scratch_root.sh's namespace.
# Stand-ins for what the README's recipes ask of a machine where systemd is PID 1,
# doing what systemd would do with the units as installed (found on systemd's
# search path, /etc/systemd/system, /usr/local/lib/systemd/system, /usr/lib/...;
# never read from the source tree):
#
#   sudo [-u USER] CMD   runs CMD as root, or as USER (setpriv, with USER's groups)
#   systemctl ...        start|enable --now|stop|restart of okx-vault's units,
#                        kill --kill-who=main --signal=SIG of its services;
#                        daemon-reload, disable: nothing to do here
#   systemd-run --wait -p User= -p Group= -p StateDirectory= -p UMask=
#                -p LoadCredential[Encrypted]=ID:PATH CMD...
#
# A started "service" is systemd-socket-activate listening on the units'
# ListenStream= paths, chowned and chmodded as SocketUser=/SocketGroup=/SocketMode=
# say, with the FileDescriptorName=s, which on the first connection runs the
# unit's ExecStart= (%i filled in) as its User= and Group= with its UMask=, its
# StateDirectory= made as StateDirectoryMode= says, and its credentials decrypted
# into a CREDENTIALS_DIRECTORY. Not emulated: the sandboxing (ProtectSystem=, the
# system-call filter, ...), the watchdog and Restart=; systemd_test.cpp checks
# those settings with systemd-analyze.
#
# Every function exits non-zero when what it stands for would fail.

EMULATED_STATE=${EMULATED_STATE:-$SCRATCH/emulated-systemd}
mkdir -p "$EMULATED_STATE"
export EMULATED_STATE

# find_unit NAME: the unit file systemd would load, from its search path.
find_unit() {
  local dir
  for dir in /etc/systemd/system /usr/local/lib/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
    if [ -f "$dir/$1" ]; then
      echo "$dir/$1"
      return 0
    fi
  done
  echo "emulated systemctl: $1: no such unit" >&2
  return 1
}

# unit_value FILE KEY: the last KEY= of FILE (with %i replaced by $instance).
unit_value() {
  local value
  value=$(sed -n "s/^$2=//p" "$1" | tail -1)
  printf '%s' "${value//%i/$instance}"
}

# run_as USER [GROUP] -- CMD...: CMD as USER with USER's supplementary groups.
run_as() {
  local user=$1 group=$2
  shift 2
  [ "$1" = -- ] && shift
  [ -n "$group" ] || group=$(id -gn "$user")
  setpriv --reuid="$user" --regid="$group" --init-groups -- "$@"
}

sudo() {
  local user=
  while [ $# -gt 0 ]; do
    case $1 in
      -u) user=$2; shift 2 ;;
      -*) echo "emulated sudo: unsupported option $1" >&2; return 2 ;;
      *) break ;;
    esac
  done
  local -a command=("$@")
  [ -n "$user" ] && command=(run_as "$user" "" -- "$@")
  # In the background (`sudo ... &`), become the command: killing the job's
  # pid then stops it, as the real sudo forwards the signal.
  if [ "$BASHPID" != "$$" ] && [ -z "$user" ] && [ "$(type -t "$1")" = file ]; then exec "$@"; fi
  "${command[@]}"
}

# load_credentials DIR SPEC...: writes each ID:PATH credential into DIR as systemd
# does (the directory and files readable by the service's user only).
load_credentials() {
  local dir=$1 user=$2 spec id path
  shift 2
  # Modes given, not left to the umask: systemd's is not the caller's.
  install -d -m 0755 "$(dirname "$dir")"
  install -d -m 0700 "$dir"
  for spec in "$@"; do
    id=${spec%%:*} path=${spec#*:}
    case $spec in
      encrypted:*) id=${spec#encrypted:}; path=${id#*:}; id=${id%%:*}
                   systemd-creds decrypt --name="$id" "$path" "$dir/$id" || return 1 ;;
      *) cp "$path" "$dir/$id" || return 1 ;;
    esac
    chmod 0400 "$dir/$id"
  done
  chown -R "$user" "$dir"
  chmod 0500 "$dir"
}

# make_state_directory NAME USER GROUP MODE: /var/lib/NAME as systemd makes it.
# Parents that are missing are made root's, 0755; existing ones are left alone.
make_state_directory() {
  local parent
  parent=$(dirname "/var/lib/$1")
  [ -d "$parent" ] || install -d -m 0755 "$parent"
  install -d -m "$4" -o "$2" -g "$3" "/var/lib/$1"
}

systemd-run() {
  local wait=0 user= group= umask=0022
  local -a state=() credentials=()
  while [ $# -gt 0 ]; do
    case $1 in
      --wait) wait=1; shift ;;
      -p) case $2 in
            User=*) user=${2#User=} ;;
            Group=*) group=${2#Group=} ;;
            UMask=*) umask=${2#UMask=} ;;
            StateDirectory=*) state+=("${2#StateDirectory=}") ;;
            LoadCredentialEncrypted=*) credentials+=("encrypted:${2#LoadCredentialEncrypted=}") ;;
            LoadCredential=*) credentials+=("${2#LoadCredential=}") ;;
            *) echo "emulated systemd-run: unsupported property $2" >&2; return 2 ;;
          esac
          shift 2 ;;
      -*) echo "emulated systemd-run: unsupported option $1" >&2; return 2 ;;
      *) break ;;
    esac
  done
  [ "$wait" = 1 ] || { echo "emulated systemd-run: only --wait is emulated" >&2; return 2; }
  [ -n "$user" ] || user=root
  [ -n "$group" ] || group=$(id -gn "$user")
  local run=$EMULATED_STATE/run-$RANDOM s
  for s in "${state[@]}"; do make_state_directory "$s" "$user" "$group" 0755 || return 1; done
  local -a env=()
  if [ ${#credentials[@]} -gt 0 ]; then
    load_credentials "$run/credentials" "$user" "${credentials[@]}" || return 1
    env=(CREDENTIALS_DIRECTORY="$run/credentials")
  fi
  local program
  program=$(command -v "$1") || { echo "emulated systemd-run: $1: not found" >&2; return 1; }
  shift
  local status=0
  (umask "$umask" && run_as "$user" "$group" -- env "${env[@]}" "$program" "$@") || status=$?
  rm -rf "$run"
  return "$status"
}

# The instance a unit name belongs to: "" for okx-vault's own units, NAME for
# okx-vault@NAME.service and its sockets.
unit_instance() {
  case $1 in
    okx-vault.service | okx-vault.socket | okx-vault-admin.socket) echo "" ;;
    okx-vault@*.service | okx-vault@*.socket | okx-vault-admin@*.socket) local name=${1#*@}; echo "${name%.*}" ;;
    *) echo "emulated systemctl: not one of okx-vault's units: $1" >&2; return 1 ;;
  esac
}

emulated_start() {
  local instance=$1 at= suffix=
  [ -n "$instance" ] && at=@ suffix="@$instance"
  local pidfile=$EMULATED_STATE/service$suffix.pid
  if [ -f "$pidfile" ] && alive "$(cat "$pidfile")"; then return 0; fi
  local service
  service=$(find_unit "okx-vault$at.service") || return 1
  local user group umask state state_mode exec
  user=$(unit_value "$service" User) group=$(unit_value "$service" Group)
  umask=$(unit_value "$service" UMask) state=$(unit_value "$service" StateDirectory)
  state_mode=$(unit_value "$service" StateDirectoryMode) exec=$(unit_value "$service" ExecStart)
  [ -n "$state" ] && { make_state_directory "$state" "$user" "$group" "${state_mode:-0755}" || return 1; }
  local run=$EMULATED_STATE/service$suffix
  rm -rf "$run"
  local -a credentials=() env=() listen=() names=() sockets=()
  local spec
  while IFS= read -r spec; do
    [ -n "$spec" ] && credentials+=("encrypted:${spec//%i/$instance}")
  done < <(sed -n 's/^LoadCredentialEncrypted=//p' "$service")
  while IFS= read -r spec; do
    [ -n "$spec" ] && credentials+=("${spec//%i/$instance}")
  done < <(sed -n 's/^LoadCredential=//p' "$service")
  # A drop-in, as `systemctl edit` makes (the README's machines without a TPM).
  local dropin
  for dropin in /etc/systemd/system/okx-vault$suffix.service.d/*.conf /etc/systemd/system/okx-vault$at.service.d/*.conf; do
    [ -f "$dropin" ] || continue
    if grep -q '^LoadCredentialEncrypted=$' "$dropin"; then credentials=(); fi
    while IFS= read -r spec; do
      [ -n "$spec" ] && credentials+=("${spec//%i/$instance}")
    done < <(sed -n 's/^LoadCredential=//p' "$dropin")
  done
  if [ ${#credentials[@]} -gt 0 ]; then
    load_credentials "$run/credentials" "$user" "${credentials[@]}" || return 1
    env=(-E CREDENTIALS_DIRECTORY="$run/credentials")
  fi
  local socket
  for socket in okx-vault$at.socket okx-vault-admin$at.socket; do
    socket=$(find_unit "$socket") || return 1
    local path
    path=$(unit_value "$socket" ListenStream)
    install -d -m "$(unit_value "$socket" DirectoryMode)" "$(dirname "$path")"
    rm -f "$path"
    listen+=(--listen="$path")
    names+=("$(unit_value "$socket" FileDescriptorName)")
    sockets+=("$path:$(unit_value "$socket" SocketUser):$(unit_value "$socket" SocketGroup):$(unit_value "$socket" SocketMode)")
  done
  local -a command
  read -r -a command <<< "$exec"
  (
    umask "${umask:-0022}"
    exec systemd-socket-activate "${listen[@]}" --fdname="$(IFS=:; echo "${names[*]}")" "${env[@]}" \
      setpriv --reuid="$user" --regid="$group" --init-groups -- "${command[@]}"
  ) > "$EMULATED_STATE/service$suffix.log" 2>&1 &
  echo $! > "$pidfile"
  local entry tries owner sgroup mode
  for entry in "${sockets[@]}"; do
    IFS=: read -r path owner sgroup mode <<< "$entry"
    for tries in $(seq 200); do [ -S "$path" ] && break; sleep 0.05; done
    [ -S "$path" ] || { echo "emulated systemctl: $path never appeared" >&2; cat "$EMULATED_STATE/service$suffix.log" >&2; return 1; }
    chown "$owner:$sgroup" "$path" && chmod "$mode" "$path" || return 1
  done
}

# A process that exists and is not a zombie.
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2> /dev/null) || return 1
  [ -n "$state" ] && [ "${state#Z}" = "$state" ]
}

emulated_stop() {
  local suffix=
  [ -n "$1" ] && suffix="@$1"
  local pidfile=$EMULATED_STATE/service$suffix.pid
  [ -f "$pidfile" ] || return 0
  local pid
  pid=$(cat "$pidfile")
  rm -f "$pidfile"
  kill -TERM "$pid" 2> /dev/null || return 0
  local tries
  for tries in $(seq 400); do alive "$pid" || break; sleep 0.05; done
  if alive "$pid"; then
    echo "emulated systemctl: okx-vault$suffix did not stop in 20 s (TimeoutStopSec=20s)" >&2
    kill -KILL "$pid"
    return 1
  fi
  wait "$pid" 2> /dev/null || true
}

systemctl() {
  local action=$1 now=0 unit instance
  shift
  case $action in
    daemon-reload) return 0 ;;
    kill) emulated_kill "$@"; return ;;
  esac
  local -a units=()
  for unit in "$@"; do
    case $unit in
      --now) now=1 ;;
      -*) echo "emulated systemctl: unsupported option $unit" >&2; return 2 ;;
      *) units+=("$unit") ;;
    esac
  done
  local -A instances=()
  for unit in "${units[@]}"; do
    instance=$(unit_instance "$unit") || return 1
    instances["x$instance"]=1
  done
  for instance in "${!instances[@]}"; do
    instance=${instance#x}
    case $action in
      start) emulated_start "$instance" || return 1 ;;
      enable | disable) [ "$now" = 1 ] || continue
                        if [ "$action" = enable ]; then emulated_start "$instance" || return 1
                        else emulated_stop "$instance" || return 1; fi ;;
      stop) emulated_stop "$instance" || return 1 ;;
      restart) emulated_stop "$instance" && emulated_start "$instance" || return 1 ;;
      *) echo "emulated systemctl: unsupported action $action" >&2; return 2 ;;
    esac
  done
}

# systemctl kill --kill-who=main --signal=SIG UNIT...: SIG to the main process
# of each running service; a pattern (okx-vault@*.service) matches the
# instances. A service whose socket has not activated it yet has no main
# process and is passed over; as systemd, fails when nothing was signalled.
emulated_kill() {
  local signal=TERM unit pidfile pid sent=0
  local -a patterns=()
  for unit in "$@"; do
    case $unit in
      --kill-who=main) ;;
      --signal=*) signal=${unit#--signal=} ;;
      -*) echo "emulated systemctl: unsupported option $unit" >&2; return 2 ;;
      okx-vault.service) patterns+=("$EMULATED_STATE/service.pid") ;;
      okx-vault@*.service) unit=${unit#okx-vault@}; patterns+=("$EMULATED_STATE/service@${unit%.service}.pid") ;;
      *) echo "emulated systemctl: kill: not one of okx-vault's services: $unit" >&2; return 1 ;;
    esac
  done
  for pidfile in "${patterns[@]}"; do
    for pidfile in $pidfile; do
      [ -f "$pidfile" ] || continue
      pid=$(cat "$pidfile")
      [ "$(cat "/proc/$pid/comm" 2> /dev/null)" = okx-vaultd ] || continue
      kill -s "$signal" "$pid" && sent=1
    done
  done
  [ "$sent" = 1 ]
}

emulated_stop_all() {
  local pidfile name
  for pidfile in "$EMULATED_STATE"/service*.pid; do
    [ -f "$pidfile" ] || continue
    name=$(basename "$pidfile" .pid)
    name=${name#service}
    emulated_stop "${name#@}" || true
  done
}

export -f find_unit alive unit_value run_as sudo load_credentials make_state_directory systemd-run unit_instance \
  emulated_start emulated_stop emulated_kill systemctl
