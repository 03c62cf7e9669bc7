cmake_minimum_required(VERSION 3.24)
# The one checker of every CLI test (add_cli_test in cli_test.cmake writes its SPEC):
#   cmake -DSPEC=file [-DNUMBERS=compare_numbers] [-DGPU_PROBE=program] -P check_cli.cmake -- COMMAND...
# It empties the test's own folder, runs COMMAND there with stdout and stderr merged (saved as
# command_output.txt) and fails, printing the command, its status and its output, unless
#   * the exit status is exactly 0, or with expect_error a non-zero exit code below 126 (a signal
#     or a shell's "cannot run" is a crash, not an error report), and then the output holds
#     `dnabert: error: ` unless output_regex says what the error looks like;
#   * output_regex matches and not_output_regex does not (CMake regexes: ^ and $ anchor the whole
#     output, as in CTest's PASS_REGULAR_EXPRESSION), and no sanitizer report starts a line; with
#     stdout_only the regexes see stdout alone (a table on stdout, while a slow run may draw
#     progress lines on stderr);
#   * each expected/actual pair in `compare` agrees by compare_numbers with `tolerance` (its flags).
# With GPU_PROBE (a program that exits 77 when no CUDA device is visible) and no GPU, it prints
# the skip marker that the test's SKIP_REGULAR_EXPRESSION turns into "skipped", running nothing
# (a cmake -P script cannot exit 77 itself before CMake 3.29's cmake_language(EXIT)).
include(${SPEC})

math(EXPR last "${CMAKE_ARGC} - 1")
set(command "")
set(collecting FALSE)
foreach(i RANGE ${last})
  if(collecting)
    if(CMAKE_ARGV${i} MATCHES ";")
      message(FATAL_ERROR "argument '${CMAKE_ARGV${i}}' holds a ';', which a CMake list cannot carry")
    endif()
    list(APPEND command "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} STREQUAL "--")
    set(collecting TRUE)
  endif()
endforeach()
if(NOT command)
  message(FATAL_ERROR "no command after --")
endif()
list(JOIN command " " command_line)

if(DEFINED GPU_PROBE)
  execute_process(COMMAND ${GPU_PROBE} RESULT_VARIABLE probe OUTPUT_VARIABLE probe_output ERROR_VARIABLE probe_output)
  if(probe STREQUAL "77")
    message("${skip_marker}")
    return()
  elseif(NOT probe STREQUAL "0")
    message(FATAL_ERROR "the GPU probe ${GPU_PROBE} failed (${probe}); build it with the target dnabert_cuda_smoke:\n${probe_output}")
  endif()
endif()

file(REMOVE_RECURSE ${folder})
file(MAKE_DIRECTORY ${folder})
if(stdout_only)
  execute_process(COMMAND ${command} WORKING_DIRECTORY ${folder}
                  RESULT_VARIABLE status OUTPUT_VARIABLE checked ERROR_VARIABLE errors)
  set(output "${checked}${errors}")
else()
  execute_process(COMMAND ${command} WORKING_DIRECTORY ${folder}
                  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
  set(checked "${output}")
endif()
file(WRITE ${folder}/command_output.txt "${output}")

function(fail why)
  string(LENGTH "${output}" length)
  if(length GREATER 20000)
    math(EXPR from "${length} - 20000")
    string(SUBSTRING "${output}" ${from} -1 output)
    set(output "[... the last 20000 characters]\n${output}")
  endif()
  message(FATAL_ERROR "${why}\ncommand: ${command_line}\nexit status: ${status}\noutput:\n${output}")
endfunction()

if(expect_error)
  if(NOT status MATCHES "^[0-9]+$" OR status EQUAL 0 OR status GREATER_EQUAL 126)
    fail("expected an error report: a non-zero exit code below 126")
  endif()
  if(output_regex STREQUAL "")
    set(output_regex "dnabert: error: ")
  endif()
elseif(NOT status STREQUAL "0")
  fail("expected exit status 0")
endif()
if(NOT output_regex STREQUAL "" AND NOT checked MATCHES "${output_regex}")
  fail("the output does not match the regex:\n${output_regex}")
endif()
if(NOT not_output_regex STREQUAL "" AND checked MATCHES "${not_output_regex}")
  fail("the output matches the forbidden regex:\n${not_output_regex}")
endif()
# Sanitizer reports start a line ("==PID==ERROR: AddressSanitizer", "file:line: runtime error:").
if(output MATCHES "(^|\n)(==[0-9]+==(ERROR|WARNING): |WARNING: ThreadSanitizer|[^ \n][^\n]*: runtime error: )")
  fail("a sanitizer reported a problem")
endif()

set(agreements "")
while(compare)
  list(POP_FRONT compare expected actual)
  execute_process(COMMAND ${NUMBERS} ${tolerance} ${expected} ${actual}
                  RESULT_VARIABLE compared OUTPUT_VARIABLE report ERROR_VARIABLE report)
  if(NOT compared STREQUAL "0")
    fail("the output files do not agree (${compared}):\n${report}")
  endif()
  string(APPEND agreements "${report}")
endwhile()
message("${output}${agreements}exit status ${status} as expected")
