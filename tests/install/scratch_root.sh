# Sourced by the tests in tests/install/ that install the package or follow the
# README's service recipes as root. scratch_root_enter "$@" re-runs the calling
# script in a private mount namespace in which /etc, /usr, /var and /root (where
# the README's recipes keep backups) are overlays over this machine's own (their
# changes go to a tmpfs) and /run is an empty
# tmpfs. dpkg, apt, systemd-sysusers, useradd, systemd-creds and the daemon then
# work on a throwaway copy of the machine: the package database, users and
# groups, /etc/okx-vault, /var/lib/okx-vault and the host's credential key all
# vanish with the namespace, and nothing outside it sees them. Chosen over
# `dpkg --root` (which chroots the maintainer scripts into a root that would
# need its own shell, dpkg and systemd) and over the real root (which a test
# must not change). Without systemd as PID 1, /run/systemd/system does not
# exist, so the maintainer scripts take their no-systemd paths.
#
# It needs root: not root, the test exits 77 (skipped) and says so. As root it
# also needs unshare and overlayfs in a mount namespace; without them it is
# skipped too, unless OKXVAULT_REQUIRE_TEST_TOOLS=ON was configured (the test is
# then given --require, and fails instead).

scratch_root_skip() {
  if [ "${OKXVAULT_REQUIRE:-0}" = 1 ]; then
    echo "FAIL: $*" >&2
    exit 1
  fi
  echo "SKIPPED: $*" >&2
  exit 77
}

scratch_root_enter() {
  if [ "${OKXVAULT_IN_SCRATCH_ROOT:-}" != 1 ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "SKIPPED: needs root, to mount a throwaway copy of /etc, /usr and /var" >&2
      exit 77
    fi
    command -v unshare > /dev/null || scratch_root_skip "needs unshare (util-linux)"
    OKXVAULT_IN_SCRATCH_ROOT=1 exec unshare --mount --propagation private bash "$0" "$@"
  fi
  SCRATCH=$(mktemp -d)
  trap scratch_root_exit EXIT
  mount -t tmpfs -o mode=0755 okx-vault-scratch "$SCRATCH" ||
    scratch_root_skip "cannot mount a tmpfs in a private mount namespace here"
  local dir
  for dir in etc usr var root; do
    mkdir -p "$SCRATCH/overlay/$dir-upper" "$SCRATCH/overlay/$dir-work"
    mount -t overlay okx-vault-scratch \
      -o "lowerdir=/$dir,upperdir=$SCRATCH/overlay/$dir-upper,workdir=$SCRATCH/overlay/$dir-work" "/$dir" ||
      scratch_root_skip "overlayfs over /$dir is not available in a private mount namespace here"
  done
  mount -t tmpfs -o mode=0755 okx-vault-scratch /run
  mkdir -p /run/lock
  # The test's own files: in the tmpfs, not in /tmp (which is the real one).
  mkdir -p "$SCRATCH/work"
  export SCRATCH TMPDIR="$SCRATCH/tmp"
  mkdir -p "$TMPDIR"
}

# Run at exit: the test's own cleanup (scratch_root_cleanup, if it defines one),
# then the tmpfs goes, and its empty mount point in the real /tmp.
scratch_root_exit() {
  local status=$?
  if declare -F scratch_root_cleanup > /dev/null; then scratch_root_cleanup || true; fi
  cd /
  umount -l "$SCRATCH" 2> /dev/null || true
  rmdir "$SCRATCH" 2> /dev/null || true
  exit "$status"
}
