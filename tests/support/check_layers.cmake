# Fails when a file includes a header of a layer above its own (ARCHITECTURE.md).
# A layer is a folder; each chain lists its layers bottom up, and a file may
# include headers of its own layer and of those below it in its chain.
# Usage: cmake -DSOURCE_DIR=<tree> -P check_layers.cmake
set(daemon_chain common proto daemon/os daemon/store daemon/core daemon/audit daemon/api daemon/net daemon/service)
set(client_chain common proto client client/cli)

function(chain_of layer out_chain)
  if(layer MATCHES "^daemon/")
    set(${out_chain} daemon_chain PARENT_SCOPE)
  elseif(layer MATCHES "^client")
    set(${out_chain} client_chain PARENT_SCOPE)
  else()  # common and proto: the bottom of both chains, the same in each
    set(${out_chain} daemon_chain PARENT_SCOPE)
  endif()
endfunction()

file(GLOB_RECURSE sources RELATIVE "${SOURCE_DIR}"
     "${SOURCE_DIR}/common/*.[ch]pp" "${SOURCE_DIR}/proto/*.[ch]pp"
     "${SOURCE_DIR}/daemon/*.[ch]pp" "${SOURCE_DIR}/client/*.[ch]pp")
set(violations "")
foreach(source IN LISTS sources)
  get_filename_component(layer "${source}" DIRECTORY)
  chain_of("${layer}" chain)
  list(FIND ${chain} "${layer}" own_rank)
  if(own_rank EQUAL -1)
    string(APPEND violations "\n  ${source}: folder ${layer} is in no layer")
    continue()
  endif()
  file(STRINGS "${SOURCE_DIR}/${source}" includes REGEX "^#include \"[^\"]+\"")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" header "${line}")
    get_filename_component(header_layer "${header}" DIRECTORY)
    list(FIND ${chain} "${header_layer}" header_rank)
    if(header_rank EQUAL -1 OR header_rank GREATER own_rank)
      string(APPEND violations "\n  ${source} (${layer}) includes ${header}")
    endif()
  endforeach()
endforeach()
if(violations)
  message(FATAL_ERROR "includes against the layers of ARCHITECTURE.md:${violations}")
endif()
list(LENGTH sources count)
message(STATUS "${count} files keep to their layers")
