cmake_minimum_required(VERSION 3.24)
# Fails unless CTest in BUILD_DIR holds exactly as many entries labelled LABEL as EXECUTABLE has
# doctest cases (a case split in two, or registered twice, or left out, changes one of the counts),
# and prints the whole suite's composition.
execute_process(COMMAND ${EXECUTABLE} --list-test-cases RESULT_VARIABLE status OUTPUT_VARIABLE listing)
if(NOT status EQUAL 0 OR NOT listing MATCHES "unskipped test cases passing the current filters: ([0-9]+)")
  message(FATAL_ERROR "${EXECUTABLE} --list-test-cases failed (${status}):\n${listing}")
endif()
set(cases ${CMAKE_MATCH_1})

# Counts the entries `ctest -N` lists with the extra arguments; sets `var`.
function(count_entries var)
  execute_process(COMMAND ${CTEST} --test-dir ${BUILD_DIR} -N ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE output)
  if(NOT status EQUAL 0 OR NOT output MATCHES "Total Tests: ([0-9]+)")
    message(FATAL_ERROR "ctest -N ${ARGN} failed (${status}):\n${output}")
  endif()
  set(${var} ${CMAKE_MATCH_1} PARENT_SCOPE)
endfunction()
count_entries(labelled -L "^${LABEL}$")
count_entries(total)
math(EXPR others "${total} - ${labelled}")
if(NOT labelled EQUAL cases)
  message(FATAL_ERROR "CTest has ${labelled} entries labelled ${LABEL} but ${EXECUTABLE} has ${cases} test cases")
endif()
message(STATUS "${total} CTest entries: ${cases} doctest cases of ${EXECUTABLE}, one each, and ${others} others")
