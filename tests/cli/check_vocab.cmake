# Runs `dnabert vocab --k K --output OUT` and compares the file's SHA-256 with DNABERT's.
execute_process(COMMAND ${CLI} vocab --k ${K} --output ${OUT} RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "dnabert vocab --k ${K} failed with ${status}")
endif()
file(SHA256 ${OUT} actual)
if(NOT actual STREQUAL SHA256)
  message(FATAL_ERROR "vocab.txt for k=${K}: SHA-256 ${actual}, DNABERT's is ${SHA256}")
endif()
