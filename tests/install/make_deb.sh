# Sourced: make_deb BUILD-DIR OUT-DIR builds the service's .deb from the build
# tree with cpack, into OUT-DIR, and sets $deb to its path.
make_deb() {
  cpack --config "$1/CPackConfig.cmake" -G DEB -B "$2" > "$2/cpack.log" 2>&1 || {
    cat "$2/cpack.log" >&2
    echo "FAIL: cpack -G DEB failed" >&2
    exit 1
  }
  deb=$(ls "$2"/okx-vault_*.deb)
}
