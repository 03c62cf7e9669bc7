#!/usr/bin/env bash
# Data-parallel scale-out on one machine: pre-training tokens/s and scan windows/s with
# `mpiexec -n 1` and `-n 2` (one thread per rank; pre-training also with --no-overlap, the
# gradient sum after the backward pass) against one process with 2 threads, in one run on the
# same machine, plus the size of the gradient sum per step. Prints a table for
# docs/benchmarks.md. Usage: bench/scale_out.sh BUILD_DIR [GENOME.fa]   (run as root: --allow-run-as-root)
set -euo pipefail
build=$1
genome=${2:-/usr/share/htslib-test/test/ce.fa}
dnabert=$build/dnabert
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mpiexec=(mpiexec --oversubscribe --allow-run-as-root --bind-to none)

# A 4-layer, 256-wide DNABERT-6 with 128 positions (6.3 M parameters): big enough that compute,
# not start-up, dominates a step; 8 pieces of 126 6-mers per rank and micro-batch.
cat > "$work/config.json" << 'JSON'
{"architectures": ["BertForMaskedLM"], "model_type": "bert", "vocab_size": 4101, "hidden_size": 256,
 "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024, "max_position_embeddings": 128,
 "type_vocab_size": 1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
 "layer_norm_eps": 1e-12, "initializer_range": 0.02, "pad_token_id": 0}
JSON
steps=40
extra=()
run_pretrain() {  # LABEL THREADS ACCUMULATION LAUNCHER...
  local label=$1 threads=$2 accumulation=$3
  shift 3
  local start end
  start=$(date +%s.%N)
  "$@" "$dnabert" pretrain --config "$work/config.json" --input "$genome" --output "$work/$label" --max-steps $steps \
    --batch-size 8 --gradient-accumulation "$accumulation" --threads "$threads" --save-steps 0 --warmup-steps 2 --seed 1 \
    "${extra[@]}" \
    > /dev/null 2> "$work/$label.err"
  end=$(date +%s.%N)
  local tokens
  tokens=$(tail -1 "$work/$label/log.jsonl" | grep -o '"tokens":[0-9]*' | cut -d: -f2)
  printf '| pretrain | %s | %d tokens in %.2f s | %.0f tokens/s |\n' "$label" "$tokens" "$(echo "$end - $start" | bc)" \
    "$(echo "$tokens / ($end - $start)" | bc -l)"
}
run_scan() {  # LABEL THREADS LAUNCHER...
  local label=$1 threads=$2
  shift 2
  "$@" "$dnabert" scan --model "$work/scan-model" --fasta "$genome" --stride 64 --batch-size 32 --threads "$threads" \
    --output "$work/$label.bedGraph" 2> "$work/$label.scan.err"
  local rate
  rate=$(grep -o '[0-9.]*[kM]* windows/s' "$work/$label.scan.err" | tail -1)
  printf '| scan | %s | %s |\n' "$label" "$rate"
}

echo "machine: $(lscpu | grep 'Model name' | sed 's/ *Model name: *//'), $(nproc) CPUs; $(date -u +%Y-%m-%dT%H:%MZ)"
echo "| job | how | measured | rate |"
echo "|---|---|---|---|"
run_pretrain "one process, 2 threads, accumulation 2" 2 2
run_pretrain "mpiexec -n 1, 1 thread, accumulation 2" 1 2 "${mpiexec[@]}" -n 1
run_pretrain "mpiexec -n 2, 1 thread each" 1 1 "${mpiexec[@]}" -n 2
extra=(--no-overlap)
run_pretrain "mpiexec -n 2, 1 thread each, --no-overlap" 1 1 "${mpiexec[@]}" -n 2
extra=()
cmp "$work/one process, 2 threads, accumulation 2/model.safetensors" "$work/mpiexec -n 2, 1 thread each/model.safetensors" > /dev/null &&
  echo "(-n 2 and one process accumulating 2 micro-batches: the same model.safetensors)" ||
  echo "(-n 2 and one process with 2 threads differ: a 2-thread GEMM sums in another order)"
# A 2-class model of the same shape for scan (the classifier head is initialised: speed only).
sed 's/BertForMaskedLM/BertForSequenceClassification/' "$work/config.json" > "$work/cls.json"
"$dnabert" pretrain --config "$work/config.json" --input "$genome" --output "$work/scan-mlm" --max-steps 1 --batch-size 1 \
  --threads 1 --save-steps 0 > /dev/null 2>&1
"$dnabert" finetune --model "$work/scan-mlm" --train <(printf 'sequence\tlabel\nACGTACGTAC\t0\nTTGACCAGTG\t1\n') \
  --dev <(printf 'sequence\tlabel\nACGTACGTAC\t0\nTTGACCAGTG\t1\n') --output "$work/scan-model" --max-steps 1 --batch-size 2 \
  --threads 1 > /dev/null 2>&1
run_scan "one process, 2 threads" 2
run_scan "mpiexec -n 1, 1 thread" 1 "${mpiexec[@]}" -n 1
run_scan "mpiexec -n 2, 1 thread each" 1 "${mpiexec[@]}" -n 2
params=$(python3 -c "
v,h,L,i,p=4101,256,4,1024,128
print(v*h+p*h+h*2+L*(4*h*h+4*h+2*h*i+i+h+4*h)+h*h+h+2*h+v)" 2>/dev/null || echo "?")
echo "gradient sum per step: $params float32 gradients = $((params * 4)) bytes (each rank sends and receives about twice that in all)"
