# Writes the systemd units from their .in templates: okx-vault.service and its
# two sockets, and the template units okx-vault@.service, okx-vault@.socket and
# okx-vault-admin@.socket (one more vault per instance name), all from the same
# text, so the instances' hardening is the single vault's.
#
# Run at install time (systemd/CMakeLists.txt), when the prefix is known: a
# `cmake --install` into /usr/local gets ExecStart=/usr/local/sbin/okx-vaultd,
# the .deb (prefix /usr) gets /usr/sbin/okx-vaultd. Also usable as a script:
#   cmake -DSBINDIR=DIR -DDOCDIR=DIR -DOUT_DIR=DIR -P units.cmake
# Variables: SBINDIR, DOCDIR (absolute), OUT_DIR (where the units go),
# optionally UNITS_MANIFEST (a variable name to append the written paths to).
cmake_minimum_required(VERSION 3.25)
foreach(var SBINDIR DOCDIR OUT_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "units.cmake: ${var} is not set")
  endif()
endforeach()
set(_okxvault_units_source "${CMAKE_CURRENT_LIST_DIR}")
file(MAKE_DIRECTORY "${OUT_DIR}")

function(_okxvault_write_units template)
  if(template)
    set(AT "@%i")
    set(DESCRIPTION_SUFFIX " (%i)")
    set(CONFIG "/etc/okx-vault/%i.conf")
    # On the command line, so that no instance's config can point it at another's state.
    set(EXTRA_ARGS " --state-dir /var/lib/okx-vault/%i")
    set(STATE_DIRECTORY "okx-vault/%i")
    set(RUN_DIR "/run/okx-vault/%i")
    set(CREDENTIAL "/etc/okx-vault/%i.key.cred")
    set(INSTANCE_COMMENT "A template: okx-vault@NAME.service is one more vault, with its config in /etc/okx-vault/NAME.conf, its state in /var/lib/okx-vault/NAME, its sockets in /run/okx-vault/NAME/ (README.md, \"Several vaults on one host\").")
  else()
    set(AT "")
    set(DESCRIPTION_SUFFIX "")
    set(CONFIG "/etc/okx-vault/okx-vaultd.conf")
    set(EXTRA_ARGS "")
    set(STATE_DIRECTORY "okx-vault")
    set(RUN_DIR "/run/okx-vault")
    set(CREDENTIAL "/etc/okx-vault/okx-vault.key.cred")
    set(INSTANCE_COMMENT "More vaults on the same host: the template units okx-vault@.service and its sockets.")
  endif()
  set(written)
  foreach(unit okx-vault.service okx-vault.socket okx-vault-admin.socket)
    string(REPLACE "okx-vault." "okx-vault${AT}." name "${unit}")
    string(REPLACE "okx-vault-admin." "okx-vault-admin${AT}." name "${name}")
    string(REPLACE "%i" "" name "${name}")
    configure_file("${_okxvault_units_source}/${unit}.in" "${OUT_DIR}/${name}" @ONLY)
    list(APPEND written "${OUT_DIR}/${name}")
  endforeach()
  set(_okxvault_written ${_okxvault_written} ${written} PARENT_SCOPE)
endfunction()

set(_okxvault_written)
_okxvault_write_units(OFF)
_okxvault_write_units(ON)
foreach(file IN LISTS _okxvault_written)
  message(STATUS "Installing: ${file}")
endforeach()
if(DEFINED UNITS_MANIFEST)
  list(APPEND ${UNITS_MANIFEST} ${_okxvault_written})
endif()
