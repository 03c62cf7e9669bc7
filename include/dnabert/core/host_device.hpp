#pragma once
// DNABERT_HOST_DEVICE marks a function that device code calls too: __host__ __device__ when nvcc
// compiles the file, nothing otherwise, so the same definition is tested by the CPU suite.

#if defined(__CUDACC__)
#define DNABERT_HOST_DEVICE __host__ __device__
#else
#define DNABERT_HOST_DEVICE
#endif
