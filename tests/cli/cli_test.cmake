# add_cli_test: every CLI test is one command run by check_cli.cmake, which asserts its exit status
# and its output (see there).
#
#   add_cli_test(NAME name [EXPECT_ERROR] [STDOUT_ONLY] [OUTPUT regex] [NOT_OUTPUT regex]
#                [COMPARE expected actual [expected actual ...]] [TOLERANCE compare_numbers flags...]
#                [GPU] [FIXTURES_SETUP ...] [FIXTURES_REQUIRED ...] [RESOURCE_LOCK ...] [LABELS ...]
#                [ONLY_COMMAND var] COMMAND command args...)
#
# Each test owns the folder ${cli_scratch}/<name>, emptied before its run and its working
# directory; @DIR@ in COMMAND and COMPARE stands for it. A test reading another test's files names
# that folder and requires its fixture, so a failed setup stops it instead of leaving old files.
# STDOUT_ONLY: the regexes see stdout without stderr. GPU: labelled gpu, skipped where
# dnabert_cuda_smoke sees no device. The regexes are stored
# verbatim in a spec file (bracket arguments), so ';', tabs and newlines in them survive.

set(cli_scratch ${CMAKE_CURRENT_BINARY_DIR}/scratch)
set(cli_skip_marker "cli test skipped: no CUDA device is visible")

# `text` as a CMake bracket argument whose '=' count does not occur in it. The newline after the
# opening bracket is dropped by CMake, so a leading newline of `text` survives.
function(cli_bracket out text)
  set(equals "=")
  while(text MATCHES "]${equals}]")
    string(APPEND equals "=")
  endwhile()
  set(${out} "[${equals}[\n${text}]${equals}]" PARENT_SCOPE)
endfunction()

function(add_cli_test)
  set(properties FIXTURES_SETUP FIXTURES_REQUIRED RESOURCE_LOCK LABELS ENVIRONMENT)
  cmake_parse_arguments(PARSE_ARGV 0 arg "EXPECT_ERROR;STDOUT_ONLY;GPU" "NAME;OUTPUT;NOT_OUTPUT;ONLY_COMMAND"
                        "COMPARE;TOLERANCE;COMMAND;${properties}")
  if(arg_UNPARSED_ARGUMENTS OR NOT arg_NAME OR NOT arg_COMMAND)
    message(FATAL_ERROR "add_cli_test(${arg_NAME}): needs NAME and COMMAND; unexpected: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  list(LENGTH arg_COMPARE compare_length)
  math(EXPR odd "${compare_length} % 2")
  if(odd)
    message(FATAL_ERROR "add_cli_test(${arg_NAME}): COMPARE takes expected/actual pairs")
  endif()
  set(folder ${cli_scratch}/${arg_NAME})
  list(TRANSFORM arg_COMMAND REPLACE "@DIR@" "${folder}")
  list(TRANSFORM arg_COMPARE REPLACE "@DIR@" "${folder}")
  cli_bracket(output "${arg_OUTPUT}")
  cli_bracket(not_output "${arg_NOT_OUTPUT}")
  cli_bracket(skip "${cli_skip_marker}")
  set(spec ${CMAKE_CURRENT_BINARY_DIR}/specs/${arg_NAME}.cmake)
  file(WRITE ${spec}
    "set(folder \"${folder}\")\nset(expect_error ${arg_EXPECT_ERROR})\nset(stdout_only ${arg_STDOUT_ONLY})\n"
    "set(output_regex ${output})\n"
    "set(not_output_regex ${not_output})\nset(compare \"${arg_COMPARE}\")\nset(tolerance \"${arg_TOLERANCE}\")\n"
    "set(skip_marker ${skip})\n")
  set(checker ${CMAKE_COMMAND} -DSPEC=${spec} -DNUMBERS=$<TARGET_FILE:compare_numbers>)
  if(arg_GPU)
    list(APPEND checker -DGPU_PROBE=$<TARGET_FILE:dnabert_cuda_smoke>)
  endif()
  set(checker ${checker} -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/check_cli.cmake -- ${arg_COMMAND})
  if(arg_ONLY_COMMAND)  # the checker's self-tests run it as the command of another test
    set(${arg_ONLY_COMMAND} ${checker} PARENT_SCOPE)
    return()
  endif()

  add_test(NAME ${arg_NAME} COMMAND ${checker})
  foreach(property IN LISTS properties)
    if(arg_${property})
      set_tests_properties(${arg_NAME} PROPERTIES ${property} "${arg_${property}}")
    endif()
  endforeach()
  if(arg_GPU)
    set_property(TEST ${arg_NAME} APPEND PROPERTY LABELS gpu)
    set_tests_properties(${arg_NAME} PROPERTIES SKIP_REGULAR_EXPRESSION "${cli_skip_marker}")
  endif()
endfunction()
