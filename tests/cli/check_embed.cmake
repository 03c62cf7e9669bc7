cmake_minimum_required(VERSION 3.24)
# Runs `dnabert embed` and checks the .npy header (float32, shape (3, 32)) and the ids file.
execute_process(COMMAND ${CLI} embed --model ${MODEL} --input ${INPUT} --output ${OUT} --pooling mean RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "dnabert embed failed with ${status}")
endif()
file(STRINGS ${OUT} header LIMIT_COUNT 1 REGEX "descr")  # the ASCII part of the binary file
if(NOT header MATCHES "'descr': '<f4', 'fortran_order': False, 'shape': \\(3, 32\\)")
  message(FATAL_ERROR "unexpected .npy header: ${header}")
endif()
file(SIZE ${OUT} size)
if(NOT size EQUAL 512)  # 128-byte header (data 64-byte aligned) + 3 * 32 float32
  message(FATAL_ERROR ".npy is ${size} bytes, expected 512")
endif()
string(REGEX REPLACE "\\.npy$" ".ids.txt" ids_path ${OUT})
file(STRINGS ${ids_path} ids)
if(NOT ids STREQUAL "seq0;seq1;seq2")
  message(FATAL_ERROR "ids file holds '${ids}'")
endif()
