cmake_minimum_required(VERSION 3.24)
# Fails when a header includes a header of a higher layer (docs/architecture.md):
#   core ← ops ← autograd ← nn ← model ← train | analysis, with tokenizer, io and parallel (the
#   communicators of data-parallel runs) resting on core;
#   the backends (backend/cpu, backend/cuda) implement ops/ and only the top-level headers
#   (dnabert.hpp, cpu.hpp, cuda.hpp) name them: no layer above ops includes a backend header.
# Also fails when a CUDA source sits in the installed header tree (they belong in src/cuda/).
set(allowed_core core)
set(allowed_tokenizer core tokenizer)
set(allowed_io core tokenizer io)  # io reads tokenizer.json into a BPE tokenizer's vocabulary
set(allowed_parallel core parallel)
set(allowed_ops core ops)
set(allowed_backend core ops parallel backend)
set(allowed_autograd core ops autograd)
set(allowed_nn core ops autograd nn)
set(allowed_model core ops autograd nn tokenizer io model)
set(allowed_train core ops autograd nn tokenizer io parallel model train)
set(allowed_analysis core ops autograd nn tokenizer io parallel model analysis)

file(GLOB_RECURSE headers RELATIVE ${INCLUDE_DIR}/dnabert ${INCLUDE_DIR}/dnabert/*/*.hpp)
file(GLOB_RECURSE cuda_sources RELATIVE ${INCLUDE_DIR} ${INCLUDE_DIR}/*.cu ${INCLUDE_DIR}/*.cuh)
set(violations "")
foreach(source IN LISTS cuda_sources)
  string(APPEND violations "\n  ${source}: a CUDA source in the installed header tree (move it to src/cuda/)")
endforeach()
foreach(header IN LISTS headers)
  string(REGEX MATCH "^[^/]+" layer ${header})
  if(NOT DEFINED allowed_${layer})
    string(APPEND violations "\n  ${header}: folder '${layer}' is not a known layer")
    continue()
  endif()
  file(STRINGS ${INCLUDE_DIR}/dnabert/${header} includes REGEX "^#include [\"<]dnabert/")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "^#include [\"<]dnabert/([^/\">]+).*" "\\1" target ${line})
    if(NOT target IN_LIST allowed_${layer})
      string(APPEND violations "\n  ${header} (layer ${layer}) includes ${line}")
    endif()
  endforeach()
endforeach()
if(violations)
  message(FATAL_ERROR "headers include higher layers:${violations}")
endif()
list(LENGTH headers count)
message(STATUS "${count} headers respect the layering")
