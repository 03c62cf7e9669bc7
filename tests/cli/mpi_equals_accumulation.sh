#!/usr/bin/env bash
# `mpiexec -n 2 dnabert pretrain|finetune` writes, from rank 0 alone, the bytes one process writes
# with --gradient-accumulation 2 (model.safetensors and log.jsonl); its checkpoint resumes
# exactly on 2 ranks or in one process; a rank killed mid-run ends the whole job, and the last
# checkpoint then resumes.
# Usage: mpi_equals_accumulation.sh DNABERT WORK_DIR GENOME MLM_CONFIG CLS_MODEL LABELLED_CSV MPIEXEC...
#   (MPIEXEC...: the command that starts 2 ranks; exit 0 only if all holds)
set -euo pipefail
dnabert=$1 work=$2 genome=$3 config=$4 cls_model=$5 labelled=$6
shift 6
mpiexec=("$@")
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work" && mkdir -p "$work" && cd "$work"  # the checker may run us inside it

run=(pretrain --input "$genome" --max-steps 20 --batch-size 4 --threads 1 --save-steps 10 --save-total-limit 0 --seed 5)
"${mpiexec[@]}" "$dnabert" "${run[@]}" --config "$config" --output "$work/ranks" > "$work/ranks.out" 2> "$work/ranks.err" ||
  fail "pre-training on 2 ranks failed: $(cat "$work/ranks.err")"
"$dnabert" "${run[@]}" --config "$config" --gradient-accumulation 2 --output "$work/alone" > /dev/null 2>&1 || fail "pre-training in one process failed"
cmp "$work/ranks/model.safetensors" "$work/alone/model.safetensors" || fail "the weights differ"
cmp "$work/ranks/log.jsonl" "$work/alone/log.jsonl" || fail "log.jsonl differs"
[[ $(grep -c '"loss"' "$work/ranks/log.jsonl") -eq 20 ]] || fail "log.jsonl does not hold 20 steps"
[[ $(grep -c "pre-trained 20 steps" "$work/ranks.out") -eq 1 ]] || fail "the result is not printed once: $(cat "$work/ranks.out")"
grep -q "2 ranks" "$work/ranks.err" || fail "pretrain does not say it runs on 2 ranks"

# Resume checkpoint-10 on 2 ranks, and in one process accumulating the same micro-batches.
"${mpiexec[@]}" "$dnabert" "${run[@]}" --output "$work/resumed-ranks" --resume "$work/ranks/checkpoint-10" > /dev/null 2>&1 ||
  fail "resuming on 2 ranks failed"
cmp "$work/ranks/model.safetensors" "$work/resumed-ranks/model.safetensors" || fail "resumed on 2 ranks, the weights differ"
"$dnabert" "${run[@]}" --gradient-accumulation 2 --output "$work/resumed-alone" --resume "$work/ranks/checkpoint-10" > /dev/null 2>&1 ||
  fail "resuming in one process failed"
cmp "$work/ranks/model.safetensors" "$work/resumed-alone/model.safetensors" || fail "resumed in one process, the weights differ"
status=0
"$dnabert" "${run[@]}" --output "$work/mismatch" --resume "$work/ranks/checkpoint-10" 2> "$work/mismatch.err" || status=$?
[[ $status -eq 1 ]] || fail "resuming with other micro-batches per step exits with $status, expected 1"
grep -q "gradient accumulation 2" "$work/mismatch.err" || fail "the refusal does not say why: $(cat "$work/mismatch.err")"

# Fine-tuning: the same equality.
tune=(finetune --model "$cls_model" --train "$labelled" --dev "$labelled" --max-steps 4 --batch-size 1 --threads 1 --eval-steps 2 --seed 7)
"${mpiexec[@]}" "$dnabert" "${tune[@]}" --output "$work/tuned-ranks" > /dev/null 2> "$work/tune.err" ||
  fail "fine-tuning on 2 ranks failed: $(cat "$work/tune.err")"
"$dnabert" "${tune[@]}" --gradient-accumulation 2 --output "$work/tuned-alone" > /dev/null 2>&1 || fail "fine-tuning in one process failed"
cmp "$work/tuned-ranks/model.safetensors" "$work/tuned-alone/model.safetensors" || fail "the fine-tuned weights differ"
cmp "$work/tuned-ranks/log.jsonl" "$work/tuned-alone/log.jsonl" || fail "the fine-tuning logs differ"

# A rank killed mid-run ends the job (no rank waits forever); the last checkpoint resumes.
long=(pretrain --input "$genome" --batch-size 4 --threads 1 --save-steps 5 --seed 5)
"${mpiexec[@]}" "$dnabert" "${long[@]}" --max-steps 1000000 --config "$config" --output "$work/killed" > /dev/null 2> "$work/killed.err" &
job=$!
newest() { ls "$work/killed" 2> /dev/null | grep -E '^checkpoint-[0-9]+$' | sed 's/checkpoint-//' | sort -n | tail -1; }
for _ in $(seq 1 300); do
  [[ -n $(newest) ]] && break
  sleep 0.1
done
[[ -n $(newest) ]] || fail "the long run wrote no checkpoint: $(cat "$work/killed.err")"
victim=$(pgrep -f -n -- "--output $work/killed") || fail "no rank process found"
kill -9 "$victim"
status=0
timeout 60 tail --pid="$job" -f /dev/null || fail "the job did not end within 60 s of a rank's death"
wait "$job" || status=$?
[[ $status -ne 0 ]] || fail "the job ended with status 0 after a rank was killed"
last=$(newest)
"$dnabert" "${long[@]}" --max-steps $((last + 5)) --gradient-accumulation 2 --output "$work/killed" --resume > /dev/null 2> "$work/after.err" ||
  fail "the last checkpoint ($last) did not resume in one process: $(cat "$work/after.err")"
grep -q "resuming .*checkpoint-$last at step $last" "$work/after.err" || fail "it did not resume checkpoint-$last: $(cat "$work/after.err")"
echo "2 ranks: the bytes of one process accumulating 2 micro-batches; resumed exactly; a killed rank ends the job"
