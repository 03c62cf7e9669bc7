cmake_minimum_required(VERSION 3.24)
# Writes CASES_FILE: one add_test per test case of EXECUTABLE (named PREFIX<case name>, labelled
# LABELS, with PROPERTIES), run with --one-case (through LAUNCHER, a command list, when given). Fails (and so fails the build) when the program
# refuses a case name, or when the names read back do not add up to the program's own count.
execute_process(COMMAND ${EXECUTABLE} --list-test-cases
  RESULT_VARIABLE status OUTPUT_VARIABLE listing ERROR_VARIABLE problems WORKING_DIRECTORY ${WORKING_DIRECTORY})
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${EXECUTABLE} --list-test-cases failed (${status}):\n${problems}${listing}")
endif()
if(NOT listing MATCHES "unskipped test cases passing the current filters: ([0-9]+)")
  message(FATAL_ERROR "${EXECUTABLE} --list-test-cases printed no case count:\n${listing}")
endif()
set(expected ${CMAKE_MATCH_1})

# The names are the lines between the two rules of '=' (the names hold no ';' or unbalanced brackets: the
# program refused those above).
string(REGEX MATCH "\n=+\n(.*)\n=+\n" block "${listing}")
string(REPLACE "\n" ";" names "${CMAKE_MATCH_1}")
list(LENGTH names count)
if(expected EQUAL 0)
  set(count 0)
endif()
if(NOT count EQUAL expected)
  message(FATAL_ERROR "${EXECUTABLE}: read ${count} case names but the program counts ${expected}")
endif()

set(launcher "")
foreach(word IN LISTS LAUNCHER)
  string(APPEND launcher "[==[${word}]==] ")
endforeach()
set(script "")
foreach(name IN LISTS names)
  string(REPLACE "," "\\," filter "${name}")  # doctest splits filters at unescaped commas
  string(APPEND script
    "add_test([==[${PREFIX}${name}]==] ${launcher}[==[${EXECUTABLE}]==] [==[--test-case=${filter}]==] --one-case)\n"
    "set_tests_properties([==[${PREFIX}${name}]==] PROPERTIES WORKING_DIRECTORY [==[${WORKING_DIRECTORY}]==]"
    " SKIP_RETURN_CODE 77 LABELS [==[${LABELS}]==] ${PROPERTIES})\n")
endforeach()
file(WRITE ${CASES_FILE} "${script}")
message(STATUS "${EXECUTABLE}: ${count} test cases registered with CTest")
