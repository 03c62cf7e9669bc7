# dnabert::cuda: the CUDA backend's kernels, compiled once (the only compiled part of dnabert).
# Its headers (dnabert/cuda.hpp: backend/cuda/backend.hpp, backend/cuda/ops.hpp) are plain C++: consumers compile with
# their usual compiler and link this library.
set(DNABERT_CUDA_ARCHITECTURES "90" CACHE STRING "GPU architectures the CUDA kernels are built for (90: H100/H200)")

file(GLOB DNABERT_CUDA_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/cuda/*.cu)
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

if(DNABERT_INSTALL)
  install(TARGETS dnabert_cuda EXPORT dnabertTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
