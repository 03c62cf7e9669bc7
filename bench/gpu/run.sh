#!/usr/bin/env bash
# One prepared run on a lent GPU machine, at most 6 minutes (each step's `timeout` is cut to what
# is left; a step with no time left is reported as not run): libraries, device, each GPU test case
# on its own under both kernel sets (DNABERT_CUDA_KERNELS=standard, the default, and the opt-in
# fused), compute-sanitizer on the newest kernels' tests, the GPU benchmarks that decide (bf16
# inference and training under both sets, fused against GEMM attention), and the program on both
# devices; then a PASS/FAIL verdict, and a non-zero exit on FAIL. Six result files under $OUT (default ./gpu-results): verdict.txt, cases.tsv, tests.log,
# sanitizer.log, bench.json, cli.log. The programs come prebuilt in $DNABERT_GPU_BIN
# (bench/gpu/stage.sh); without it they are built here first (the README's packages and nvcc).
# The PyTorch peer's GPU numbers are in docs/benchmarks.md already (bench/gpu/torch_peer.py).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/gpu-results}
mkdir -p "$out"
bin=${DNABERT_GPU_BIN:-}
if [ -z "$bin" ]; then
  timeout 900 bash bench/gpu/stage.sh .gpu >/dev/null || { echo "VERDICT: FAIL (the GPU programs did not build)"; exit 1; }
  bin=.gpu
fi
export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}:$PWD/$bin/lib
# The test programs find tests/data at the path they were built in.
data_dir=$(cat "$bin/source_dir" 2>/dev/null || echo "$PWD")
if [ ! -e "$data_dir/tests/data" ]; then mkdir -p "$(dirname "$data_dir")" && ln -s "$PWD" "$data_dir"; fi

failures=()
fail() { failures+=("$1"); }
budget=360
# Seconds for a step that wants $1: at most what is left before the budget, less $2 kept for later steps.
within() { local left=$((budget - SECONDS - ${2:-0})); [ "$1" -lt "$left" ] && echo "$1" || echo $((left > 1 ? left : 1)); }
verdict() { echo "$*" | tee -a "$out/verdict.txt"; }
: >"$out/verdict.txt"

# 1. Libraries the programs need and the machine lacks.
for program in dnabert_cuda_tests bench_cuda dnabert; do
  missing=$(ldd "$bin/$program" 2>&1 | grep "not found" | tr -s ' \t' ' ')
  [ -z "$missing" ] || fail "$program: missing libraries:$missing"
done

# 2. The device.
device=$(timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1) || fail "nvidia-smi: $device"
timeout 30 "$bin/dnabert_cuda_smoke" >/dev/null 2>&1 || fail "no CUDA device usable (dnabert_cuda_smoke)"

# 3. Each GPU test case on its own (one crash cannot hide the others), under each kernel set:
# cases.tsv, tests.log.
: >"$out/tests.log"
printf 'case\tkernels\tresult\tseconds\n' >"$out/cases.tsv"
cases=$(timeout 30 "$bin/dnabert_cuda_tests" --list-test-cases 2>/dev/null | awk '/^=+$/ { rule++; next } rule == 1')
for kernels in standard fused; do
  deadline=$((SECONDS + 90))
  while IFS= read -r name; do
    [ -n "$name" ] || continue
    if [ $SECONDS -ge $deadline ]; then printf '%s\t%s\tNOT RUN (time)\t0\n' "$name" $kernels >>"$out/cases.tsv"; fail "test time ran out ($kernels)"; continue; fi
    start=$SECONDS
    echo "::: $name ($kernels)" >>"$out/tests.log"
    DNABERT_CUDA_KERNELS=$kernels timeout "$(within 60 150)" "$bin/dnabert_cuda_tests" --test-case="${name//,/\\,}" --one-case \
      >>"$out/tests.log" 2>&1
    status=$?
    result=$([ $status -eq 0 ] && echo PASS || { [ $status -eq 77 ] && echo SKIPPED || echo "FAIL ($status)"; })
    printf '%s\t%s\t%s\t%d\n' "$name" $kernels "$result" $((SECONDS - start)) >>"$out/cases.tsv"
    [ "$result" = PASS ] || fail "test ($kernels): $name: $result"
  done <<<"$cases"
done
[ -n "$cases" ] || fail "dnabert_cuda_tests listed no test case"

# 4. compute-sanitizer memcheck on the tests of the kernels no GPU had run before.
if command -v compute-sanitizer >/dev/null; then
  DNABERT_CUDA_KERNELS=fused timeout "$(within 60 100)" compute-sanitizer --tool memcheck --error-exitcode 3 "$bin/dnabert_cuda_tests" \
    --test-case="*flash*,*fused*,*embedding*,*dropout*,*dense-layer*,*bf16*" >"$out/sanitizer.log" 2>&1 ||
    fail "compute-sanitizer memcheck (sanitizer.log)"
else
  echo "compute-sanitizer not installed" >"$out/sanitizer.log"
  fail "compute-sanitizer not installed"
fi

# 5. The benchmarks that decide, once each under each kernel set (bench.json: one list per set).
filter='cuda_inference/bf16/(8|256)/128|cuda_train_step/bf16/32/512|cuda_attention/(fused|gemm)/(fp32|bf16)/64/(128|512)'
for kernels in standard fused; do
  DNABERT_CUDA_KERNELS=$kernels timeout "$(within 50 80)" "$bin/bench_cuda" --benchmark_filter="$filter" \
    --benchmark_out="/tmp/bench_$kernels.json" --benchmark_out_format=json >/dev/null 2>&1 || fail "bench_cuda ($kernels)"
done
python3 -c 'import json, sys; json.dump({k: json.load(open(f"/tmp/bench_{k}.json")) for k in ("standard", "fused")}, open(sys.argv[1], "w"))' \
  "$out/bench.json" 2>/dev/null || fail "bench.json not written"

# 6. The program on both devices: predict's probabilities within 1e-5, a short bf16 fine-tune (cli.log).
model=tests/data/parity/cls_k6 input=tests/data/cli/three.fa
: >"$out/cli.log"
for where in cpu cuda; do
  timeout "$(within 30 40)" "$bin/dnabert" predict --model $model --input $input --output "/tmp/predict_$where.tsv" --device $where \
    --threads 4 >>"$out/cli.log" 2>&1 || fail "dnabert predict --device $where"
done
paste /tmp/predict_cpu.tsv /tmp/predict_cuda.tsv 2>/dev/null | awk -F'\t' 'NR > 1 { n = NF / 2; for (c = 3; c <= n; ++c) {
    d = $c - $(c + n); if (d < 0) d = -d; if (d > worst) worst = d } } END { print "predict: max |cuda - cpu| " worst + 0; exit !(NR > 1 && worst < 1e-5) }' \
  >>"$out/cli.log" 2>&1 || fail "predict differs between devices by 1e-5 or more (cli.log)"
timeout "$(within 40)" "$bin/dnabert" finetune --model $model --train tests/data/cli/three_labelled.csv --dev tests/data/cli/three_labelled.csv \
  --output /tmp/finetuned_bf16 --max-steps 6 --device cuda --precision bf16 >>"$out/cli.log" 2>&1 || fail "bf16 finetune"

# 7. The verdict.
verdict "device: ${device:-unknown}"
verdict "test cases: $(grep -c $'\tPASS\t' "$out/cases.tsv") passed, $(grep -vc -e $'\tPASS\t' -e '^case' "$out/cases.tsv") not (cases.tsv)"
grep -h "shapes without a cuBLASLt algorithm" "$out/tests.log" | sed 's/.*MESSAGE: *//' | head -1 |
  sed 's/^/cuBLASLt: /' | tee -a "$out/verdict.txt"
grep -h "max error\|relative error\|bound" "$out/tests.log" | sed 's/.*MESSAGE: *//' | head -12 | tee -a "$out/verdict.txt"
if [ -s "$out/bench.json" ] && command -v python3 >/dev/null; then
  python3 - "$out/bench.json" <<'PY' | tee -a "$out/verdict.txt"
import json, sys
sets = json.load(open(sys.argv[1]))
def show(kernels, name, *counters):
    b = {b["name"]: b for b in sets[kernels]["benchmarks"]}.get(name)
    if b is None:
        print(f"{kernels} {name}: not run")
        return
    extra = ", ".join(f"{c} {b[c]:.3g}" for c in counters if c in b)
    print(f"{kernels} {name}: {b['real_time']:.3f} {b['time_unit']}" + (f", {extra}" if extra else ""))
for kernels in ("standard", "fused"):
    for shape in ("8/128", "256/128"):
        show(kernels, f"cuda_inference/bf16/{shape}/real_time", "tokens/s")
    show(kernels, "cuda_train_step/bf16/32/512/real_time", "tokens/s", "MFU")
for precision in ("fp32", "bf16"):
    for seq in ("128", "512"):
        for path in ("fused", "gemm"):
            show("fused", f"cuda_attention/{path}/{precision}/64/{seq}/real_time", "TFLOP/s")
PY
fi
if [ ${#failures[@]} -eq 0 ]; then
  verdict "VERDICT: PASS"
  exit 0
fi
verdict "VERDICT: FAIL"
for failure in "${failures[@]}"; do verdict "  - $failure"; done
exit 1
