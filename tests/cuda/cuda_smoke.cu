// Proves the CUDA toolchain compiles and links, and that a kernel runs where a GPU exists.
#include <cuda_runtime.h>

#include <cstdio>

__global__ void add_one(int* value) { *value += 1; }

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::puts("no CUDA device visible: skipped");
    return 77;
  }
  int* value = nullptr;
  if (cudaMalloc(&value, sizeof(int)) != cudaSuccess) return 1;
  const int start = 41;
  cudaMemcpy(value, &start, sizeof(int), cudaMemcpyHostToDevice);
  add_one<<<1, 1>>>(value);
  int result = 0;
  cudaMemcpy(&result, value, sizeof(int), cudaMemcpyDeviceToHost);
  cudaFree(value);
  if (result != 42) {
    std::printf("kernel gave %d, expected 42\n", result);
    return 1;
  }
  std::puts("CUDA kernel ran");
  return 0;
}
