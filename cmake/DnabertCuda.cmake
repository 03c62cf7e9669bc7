# dnabert::cuda: the CUDA backend's kernels, compiled once (the only compiled part of dnabert).
# Its headers (dnabert/cuda.hpp: backend/cuda/backend.hpp, backend/cuda/ops.hpp) are plain C++: consumers compile with
# their usual compiler and link this library.
set(DNABERT_CUDA_ARCHITECTURES "90" CACHE STRING "GPU architectures the CUDA kernels are built for (90: H100/H200)")

file(GLOB DNABERT_CUDA_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/cuda/*.cu)
# NCCL, where the CUDA toolkit ships it: nccl_communicator (backend/cuda/nccl.hpp) for
# data-parallel training on GPUs; its users get DNABERT_WITH_NCCL defined.
find_path(DNABERT_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
find_library(DNABERT_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib)
if(NOT (DNABERT_NCCL_INCLUDE_DIR AND DNABERT_NCCL_LIBRARY))
  list(REMOVE_ITEM DNABERT_CUDA_SOURCES ${PROJECT_SOURCE_DIR}/src/cuda/nccl.cu)
  message(STATUS "dnabert: no NCCL beside the CUDA toolkit: the CUDA backend is built without nccl_communicator")
endif()
add_library(dnabert_cuda STATIC ${DNABERT_CUDA_SOURCES})
add_library(dnabert::cuda ALIAS dnabert_cuda)
set_target_properties(dnabert_cuda PROPERTIES
  CUDA_ARCHITECTURES "${DNABERT_CUDA_ARCHITECTURES}"
  POSITION_INDEPENDENT_CODE ON
  EXPORT_NAME cuda)
# C++20 by flag (CMake 3.25 does not know nvcc's C++20 dialect). Extended lambdas for the element-wise kernels; relaxed constexpr so that device code calls
# core/rng.hpp's counter-based generator (the CPU backend's, hence the same dropout masks).
target_compile_options(dnabert_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20 --extended-lambda --expt-relaxed-constexpr -Xcompiler=-Wall,-Wextra>)
target_link_libraries(dnabert_cuda PUBLIC dnabert CUDA::cudart CUDA::cublas CUDA::cublasLt)
set(DNABERT_CUDA_HAS_NCCL OFF)
if(DNABERT_NCCL_INCLUDE_DIR AND DNABERT_NCCL_LIBRARY)
  set(DNABERT_CUDA_HAS_NCCL ON)
  target_include_directories(dnabert_cuda SYSTEM PRIVATE ${DNABERT_NCCL_INCLUDE_DIR})
  # Installed consumers get dnabert::nccl, which dnabertConfig.cmake creates from their own NCCL.
  target_link_libraries(dnabert_cuda PUBLIC $<BUILD_INTERFACE:${DNABERT_NCCL_LIBRARY}> $<INSTALL_INTERFACE:dnabert::nccl>)
  target_compile_definitions(dnabert_cuda PUBLIC DNABERT_WITH_NCCL)
  message(STATUS "dnabert: NCCL for the CUDA backend from ${DNABERT_NCCL_LIBRARY}")
endif()

if(DNABERT_INSTALL)
  install(TARGETS dnabert_cuda EXPORT dnabertTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
