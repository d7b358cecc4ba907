# Programs some tests need that the build itself does not: node and npm (the
# JavaScript client), valgrind, Python (the Python client) and zsh. Without one of
# them the tests that need it are still registered, and report themselves
# skipped with the name of what is missing; configuring does not fail.
# scripts/test.sh installs them all and sets OKXVAULT_REQUIRE_TEST_TOOLS, so
# that there a missing program fails the configure instead of skipping a test.

# Exit code of a test that could not run here; ctest reports it as skipped.
set(OKXVAULT_SKIP_RETURN_CODE 77)

# okxvault_skip_tests(<what is missing> <test>...): registers each test as one
# that only says what it needs and reports itself skipped. Installing the
# program and configuring again turns them into the real tests.
function(okxvault_skip_tests missing)
  if(OKXVAULT_REQUIRE_TEST_TOOLS)
    message(FATAL_ERROR "${missing} not found; the tests ${ARGN} need it (OKXVAULT_REQUIRE_TEST_TOOLS is on)")
  endif()
  list(JOIN ARGN ", " tests)
  message(STATUS "${missing} not found: ${tests} will be skipped")
  foreach(test IN LISTS ARGN)
    add_test(NAME ${test}
             COMMAND sh -c "echo \"$0\"; exit ${OKXVAULT_SKIP_RETURN_CODE}"
                     "${test} needs ${missing}, which was not found when the build was configured: skipped")
    set_tests_properties(${test} PROPERTIES SKIP_RETURN_CODE ${OKXVAULT_SKIP_RETURN_CODE})
  endforeach()
endfunction()
