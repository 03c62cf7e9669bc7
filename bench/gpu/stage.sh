#!/usr/bin/env bash
# Builds the GPU programs here (nvcc, no GPU needed) and stages them with the shared libraries a
# bare CUDA machine may lack into DIR (default .gpu), for bench/gpu/run.sh with DNABERT_GPU_BIN=DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-.gpu}
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DDNABERT_ENABLE_CUDA=ON -DDNABERT_BUILD_BENCH=ON \
  -DDNABERT_BLAS=eigen >/dev/null
cmake --build build-gpu --target dnabert_cuda_smoke dnabert_cuda_tests bench_cuda dnabert_cli
rm -rf "$dir" && mkdir -p "$dir/lib"
cp build-gpu/tests/cuda/dnabert_cuda_smoke build-gpu/tests/cuda/dnabert_cuda_tests build-gpu/bench/bench_cuda build-gpu/dnabert "$dir"
echo "$PWD" >"$dir/source_dir"
# Everything but glibc, libstdc++ and the CUDA libraries, which the GPU machine's image provides.
ldd "$dir"/bench_cuda "$dir"/dnabert_cuda_tests "$dir"/dnabert | awk '$3 ~ /^\// {print $3}' | sort -u |
  grep -Ev '/(libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+|ld-linux[^/]*|libcu[a-zA-Z]*)\.so' |
  xargs -r cp -L -t "$dir/lib"
du -sh "$dir"
