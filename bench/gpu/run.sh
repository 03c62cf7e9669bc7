#!/usr/bin/env bash
# One prepared run on a GPU machine: the GPU test label, then the GPU benchmarks and PyTorch on the
# same card; results under $OUT (or ./gpu-results). The programs come prebuilt in $DNABERT_GPU_BIN
# (bench/gpu/stage.sh fills it where the build dependencies are installed); without it they are
# built here first (needs the README's packages and nvcc).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/gpu-results}
mkdir -p "$out"
bin=${DNABERT_GPU_BIN:-}
if [ -z "$bin" ]; then
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DDNABERT_ENABLE_CUDA=ON -DDNABERT_BUILD_BENCH=ON &&
    cmake --build build-gpu --target dnabert_cuda_smoke dnabert_cuda_tests bench_cuda || exit 1
  bin=build-gpu/bin
  mkdir -p "$bin"
  cmake --build build-gpu --target dnabert_cli || exit 1
  cp build-gpu/tests/cuda/dnabert_cuda_smoke build-gpu/tests/cuda/dnabert_cuda_tests build-gpu/bench/bench_cuda build-gpu/dnabert "$bin"
fi
export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}:$PWD/$bin/lib
# The test programs find tests/data at the path they were built in.
data_dir=$(cat "$bin/source_dir" 2>/dev/null || echo "$PWD")
if [ ! -e "$data_dir/tests/data" ]; then mkdir -p "$(dirname "$data_dir")" && ln -s "$PWD" "$data_dir"; fi

{ nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv; date -u; } | tee "$out/device.txt"
echo "::: GPU tests"
timeout 60 "$bin/dnabert_cuda_smoke" 2>&1 | tee "$out/tests.log"
timeout 300 "$bin/dnabert_cuda_tests" --duration=true 2>&1 | tee -a "$out/tests.log"
echo "tests exit status: ${PIPESTATUS[0]}" | tee -a "$out/tests.log"
echo "::: the dnabert program on the GPU: the model-running commands on both devices, a short fine-tune on the GPU"
# Runs `dnabert ARGS...` with --device cpu, then cuda; @OUT@ in ARGS stands for $out/NAME_<device>.
both() {  # NAME ARGS...
  local name=$1 device
  shift
  for device in cpu cuda; do
    "$bin/dnabert" "${@//@OUT@/$out/${name}_$device}" --device $device --threads 4 >/dev/null ||
      { echo "$name: --device $device failed" | tee -a "$out/tests.log"; return 1; }
  done
}
# Largest |cuda - cpu| over COLUMNS (1-based, space-separated) of the TSVs `both` wrote as
# $out/NAME_<device>SUFFIX; fails when the rows differ in number or a difference reaches TOL.
compare() {  # NAME SUFFIX COLUMNS TOL
  paste "$out/$1_cpu$2" "$out/$1_cuda$2" | awk -F'\t' -v name="$1" -v cols="$3" -v tol="$4" '
    NR == 1 { n = NF / 2; split(cols, c, " "); next }
    { if (NF != 2 * n) uneven = 1; for (i in c) { d = $(c[i]) - $(c[i] + n); if (d < 0) d = -d; if (d > worst) worst = d } }
    END { print name ": max |cuda - cpu| over columns " cols ":", worst + 0, (uneven ? "(row counts differ)" : ""); exit uneven || !(worst < tol) }' |
    tee -a "$out/tests.log"
}
# `plot` and `motifs` write pictures and discrete motifs: the GPU run must succeed; sameness is reported.
same_files() {  # NAME SUFFIX
  cmp -s "$out/$1_cpu$2" "$out/$1_cuda$2" && echo "$1: $1_*$2 identical on both devices" || echo "$1: $1_*$2 differ between devices"
}
if [ -x "$bin/dnabert" ]; then
  model=tests/data/parity/cls_k6 input=tests/data/cli/three.fa
  both predict predict --model $model --input $input --output @OUT@.tsv && compare predict .tsv "3 4 5 6" 1e-5  # probabilities, logits
  for precision in tf32 bf16; do  # the tensor-core precisions against the CPU's float32 probabilities
    "$bin/dnabert" predict --model $model --input $input --output "$out/predict_${precision}_cuda.tsv" --device cuda \
      --precision $precision >/dev/null && cp "$out/predict_cpu.tsv" "$out/predict_${precision}_cpu.tsv" &&
      compare predict_$precision .tsv "3 4" 0.05
  done
  both attention attention --model $model --combine-with tests/data/parity/mlm_k3 --input $input --layer all --format tsv \
    --output @OUT@.tsv && compare attention .tsv 3 1e-4
  both plot plot attention --model $model --input $input --all --output @OUT@ && same_files plot /seq1.svg | tee -a "$out/tests.log"
  both plot_heads plot heads --model $model --input $input --id seq1 --output @OUT@.svg &&
    same_files plot_heads .svg | tee -a "$out/tests.log"
  both motifs motifs --model $model --input tests/data/cli/three_labelled.csv --min-len 3 --output @OUT@ &&
    same_files motifs /motifs.tsv | tee -a "$out/tests.log"
  both variants variants --model $model --input tests/data/variants/dev.tsv --mut-file tests/data/variants/mut.txt \
    --output @OUT@.tsv && compare variants .tsv "4 6" 1e-5  # orig_pred, mut_pred
  both mutate mutate --model $model --input $input --id seq1 --attention --output @OUT@.tsv --svg @OUT@.svg &&
    compare mutate .tsv "5 6 7" 1e-5  # p_ref, p_alt, delta
  "$bin/dnabert" finetune --model $model --train tests/data/cli/three_labelled.csv --dev tests/data/cli/three_labelled.csv \
    --output /tmp/finetuned_cuda --max-steps 6 --device cuda 2>&1 | tail -2 | tee -a "$out/tests.log"
  "$bin/dnabert" predict --model /tmp/finetuned_cuda --input $input --output - --device cuda 2>/dev/null | tee -a "$out/tests.log"
  "$bin/dnabert" finetune --model $model --train tests/data/cli/three_labelled.csv --dev tests/data/cli/three_labelled.csv \
    --output /tmp/finetuned_bf16 --max-steps 6 --device cuda --precision bf16 2>&1 | tail -2 | tee -a "$out/tests.log"
  "$bin/dnabert" predict --model /tmp/finetuned_bf16 --input $input --output - --device cuda --precision bf16 2>/dev/null |
    tee -a "$out/tests.log"
fi
[ -n "${DNABERT_GPU_SKIP_BENCH:-}" ] && exit 0
echo "::: dnabert benchmarks"
timeout 240 "$bin/bench_cuda" --benchmark_filter="${DNABERT_GPU_BENCH_FILTER:-.}" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_out="$out/bench_cuda.json" --benchmark_out_format=json 2>&1 | tee "$out/bench_cuda.log"
if [ -z "${DNABERT_GPU_SKIP_PEER:-}" ]; then
echo "::: PyTorch on the same card"
PYTHONUNBUFFERED=1 timeout 200 python3 bench/gpu/torch_peer.py >"$out/torch_peer.json" 2>"$out/torch_peer.log"
echo "torch peer exit status: $?"
tail -5 "$out/torch_peer.log"
fi
if command -v compute-sanitizer >/dev/null; then
  echo "::: GPU tests under compute-sanitizer memcheck"
  timeout 150 compute-sanitizer --tool memcheck --error-exitcode 3 "$bin/dnabert_cuda_tests" -tce="*failures are exceptions*" 2>&1 | tail -15 | tee "$out/memcheck.log"
fi
