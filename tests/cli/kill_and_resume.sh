#!/usr/bin/env bash
# Kill-and-resume contract: a pre-training run killed with SIGKILL at a random point after a
# checkpoint, then resumed with --resume, ends with the same log and weights as a straight run.
# Usage: kill_and_resume.sh DNABERT WORK_DIR GENOME.fa CONFIG.json
set -euo pipefail
dnabert=$1 work=$2 genome=$3 config=$4
steps=300 checkpoint_every=50
run=(pretrain --input "$genome" --max-steps $steps --save-steps $checkpoint_every --batch-size 8 --lr 1e-3
     --threads 2 --seed 7 --save-total-limit 0)
rm -rf "$work" && mkdir -p "$work"

"$dnabert" "${run[@]}" --config "$config" --output "$work/straight" > /dev/null 2>&1

"$dnabert" "${run[@]}" --config "$config" --output "$work/killed" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 30000); do  # up to 5 min for the first checkpoint (sanitizer builds are slow)
  [[ -f "$work/killed/checkpoint-$checkpoint_every/trainer_state.json" ]] && break
  sleep 0.01
done
sleep "0.0$((RANDOM % 10))"
if [[ -f "$work/killed/checkpoint-$steps/trainer_state.json" ]] || ! kill -0 "$pid" 2>/dev/null; then
  echo "FAIL: the run ended before it could be killed; make it longer"; exit 1
fi
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
killed_at=$(wc -l < "$work/killed/log.jsonl")
echo "killed after $killed_at logged steps; newest checkpoint: $(ls -d "$work"/killed/checkpoint-* | sort -V | tail -1)"

"$dnabert" "${run[@]}" --resume --output "$work/killed" 2>&1 | grep -E "resuming|pre-trained"

cmp "$work/straight/log.jsonl" "$work/killed/log.jsonl" || { echo "FAIL: logs differ"; exit 1; }
for f in model.safetensors checkpoint-$steps/model.safetensors checkpoint-$steps/optimizer.safetensors \
         checkpoint-$steps/trainer_state.json; do
  cmp "$work/straight/$f" "$work/killed/$f" || { echo "FAIL: $f differs"; exit 1; }
done
echo "resumed run identical to the straight run"
