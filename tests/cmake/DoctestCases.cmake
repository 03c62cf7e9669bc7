# One CTest entry per doctest case, registered after each build of the test program from its own
# listing (tests/support/doctest_main.hpp refuses names CTest would split). Each entry runs its case
# with --one-case, so a filter that matched nothing fails instead of passing with 0 cases.

set(DNABERT_LIST_DOCTEST_CASES ${CMAKE_CURRENT_LIST_DIR}/list_doctest_cases.cmake)

# dnabert_add_doctest_cases(TARGET PREFIX <name prefix> LABELS <labels...> [PROPERTIES <test properties...>]
#                           [LAUNCHER <command...>])  -- LAUNCHER runs each case (e.g. mpiexec -n 2)
function(dnabert_add_doctest_cases target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "PREFIX" "LABELS;PROPERTIES;LAUNCHER")
  set(cases_file ${CMAKE_CURRENT_BINARY_DIR}/${target}_cases.cmake)
  set(include_file ${CMAKE_CURRENT_BINARY_DIR}/${target}_include.cmake)
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -DEXECUTABLE=$<TARGET_FILE:${target}> -DCASES_FILE=${cases_file}
            -DPREFIX=${arg_PREFIX} "-DLABELS=${arg_LABELS}" "-DPROPERTIES=${arg_PROPERTIES}" "-DLAUNCHER=${arg_LAUNCHER}"
            -DWORKING_DIRECTORY=${CMAKE_CURRENT_BINARY_DIR} -P ${DNABERT_LIST_DOCTEST_CASES}
    BYPRODUCTS ${cases_file}
    VERBATIM)
  # Until the program is built, one failing entry says so (CTest never silently runs fewer tests).
  file(WRITE ${include_file}
    "if(EXISTS \"${cases_file}\")\n"
    "  include(\"${cases_file}\")\n"
    "else()\n"
    "  add_test(${arg_PREFIX}NOT_BUILT ${target}_NOT_BUILT)\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include_file})
endfunction()
