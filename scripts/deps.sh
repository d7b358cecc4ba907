#!/usr/bin/env bash
# Installs the Debian 12 packages that okx-vault builds, runs and tests with,
# skipping those already installed. Needs root (or sudo) only if something is missing.
# Extra package names as arguments are installed too (scripts/bench.sh uses this).
set -euo pipefail

packages=(
  cmake g++ make pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
  libsodium-dev nettle-dev libspdlog-dev libsystemd-dev libgtest-dev
  curl util-linux passwd systemd valgrind
  groff-base  # the man page tests render okx-vault(1) and okx-vaultd(8)
  zsh  # the zsh completion's test
  logrotate  # the package test checks the audit log's logrotate snippet with logrotate --debug
  # packaging: cpack's dpkg-shlibdeps, the maintainer scripts' deb-systemd-helper, lintian
  dpkg-dev init-system-helpers lintian
  python3 nodejs
  openssl  # the JavaScript register test's stand-in OKX serves HTTPS with a throwaway certificate
  # what Python ccxt imports (shared/third_party/README.md: ccxt itself is not in Debian)
  python3-requests python3-aiohttp python3-certifi python3-yarl python3-typing-extensions python3-cryptography
  python3-pip python3-setuptools python3-wheel  # python_launcher: pip installs client/python, offline
  clang-14 libclang-rt-14-dev  # scripts/fuzz.sh: clang++-14 and the libFuzzer runtime
  clang-format-14 clang-tidy-14  # scripts/format.sh and scripts/lint.sh
  "$@"
)
# Debian packages npm apart from nodejs; other nodejs builds bring their own.
command -v npm > /dev/null || packages+=(npm)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "Installing: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
