#!/usr/bin/env bash
# Kill-and-resume contract: a pre-training run killed with SIGKILL between two checkpoints, then
# resumed with --resume, ends with the same log and weights as a straight run.
# The kill point follows the run's progress, not the clock: the run is killed once log.jsonl holds
# the step halfway between the first two checkpoints; what it left on disk then decides which
# checkpoint the resume must name, however fast the run went.
# Usage: kill_and_resume.sh DNABERT WORK_DIR GENOME.fa CONFIG.json   (exit 0 only if all holds)
set -euo pipefail
dnabert=$1 work=$2 genome=$3 config=$4
steps=300 checkpoint_every=50 kill_at=75
run=(pretrain --input "$genome" --max-steps $steps --save-steps $checkpoint_every --batch-size 8 --lr 1e-3
     --threads 2 --seed 7 --save-total-limit 0)
source "$(dirname "$0")/resume_checks.sh"
rm -rf "$work/straight" "$work/killed"

"$dnabert" "${run[@]}" --config "$config" --output "$work/straight" > "$work/straight.txt" 2>&1 ||
  { cat "$work/straight.txt"; fail "the straight run failed"; }

"$dnabert" "${run[@]}" --config "$config" --output "$work/killed" > "$work/killed.txt" 2>&1 &
pid=$!
logged() { [[ -f "$work/killed/log.jsonl" ]] && wc -l < "$work/killed/log.jsonl" || echo 0; }
for _ in $(seq 1 60000); do  # up to 10 min (sanitizer builds are slow)
  (( $(logged) >= kill_at )) && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.01
done
kill -KILL "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
# Read only now that nothing can change. Complete checkpoints are checkpoint-<step> folders holding
# trainer_state.json; dnabert fills checkpoint-<step>.partial and renames it into place.
newest=$(for state in "$work"/killed/checkpoint-*/trainer_state.json; do
           name=$(basename "$(dirname "$state")")
           [[ -f $state && $name =~ ^checkpoint-[0-9]+$ ]] && echo "$name"; done | sort -V | tail -1)
killed_at=$(logged)
(( killed_at >= kill_at && killed_at < steps )) ||
  fail "killed at step $killed_at, not between step $kill_at and the end: $(cat "$work/killed.txt")"
[[ -n $newest ]] || fail "no complete checkpoint at step $killed_at"
newest_step=${newest#checkpoint-}
echo "killed at step $killed_at; newest complete checkpoint: $newest"

resumed=$("$dnabert" "${run[@]}" --resume --output "$work/killed" 2>&1) || { echo "$resumed"; fail "the resumed run failed"; }
grep -E "resuming|pre-trained" <<< "$resumed" || true
grep -qE "resuming $work/killed/$newest at step $newest_step([^0-9]|\$)" <<< "$resumed" ||
  fail "the resumed run did not start from $newest"

same_as_straight "$work/straight" "$work/killed"
echo "resumed from $newest, run identical to the straight run"
