#!/usr/bin/env bash
# Crash-consistency soak: a pre-training run is killed with SIGKILL again and again at random
# moments, and resumed each time with `--resume` (the newest complete checkpoint, chosen by
# dnabert); once it has been killed KILLS times it runs to the end, which must equal a straight
# run bit for bit (log.jsonl, the model, the last checkpoints) and leave no temporary file behind.
# Checkpoints come every 2 steps, so that kills land inside checkpoint writes: every third kill is
# aimed at one (sent as soon as a checkpoint-<step>.partial folder appears), the others come after
# a random number of steps plus a random delay. After each kill the script reads what the run left
# on disk to tell where the kill landed, checks that every complete checkpoint is whole, and
# prints a table of landings at the end (docs/benchmarks.md, "Crash consistency").
# Usage: crash_soak.sh DNABERT WORK_DIR GENOME.fa CONFIG.json KILLS   (exit 0 only if all holds)
#   DNABERT_SOAK_SEED=N repeats a soak's random choices (the seed is printed).
set -euo pipefail
dnabert=$1 work=$2 genome=$3 config=$4 kills=$5
steps=$((40 + 8 * kills))  # a kill lets a run advance at most ~6 steps past its checkpoint
seed=${DNABERT_SOAK_SEED:-$((($$ + SECONDS) % 32768))}
RANDOM=$seed
run=(pretrain --input "$genome" --max-steps "$steps" --save-steps 2 --save-total-limit 2 --batch-size 2 --lr 1e-3
     --threads 1 --seed 7 --logging-steps 1)
out=$work/soaked
source "$(dirname "$0")/resume_checks.sh"
echo "$kills kills in a run of $steps steps (DNABERT_SOAK_SEED=$seed repeats the soak)"
rm -rf "$work/straight" "$out"
mkdir -p "$work"

"$dnabert" "${run[@]}" --config "$config" --output "$work/straight" > "$work/straight.txt" 2>&1 ||
  { cat "$work/straight.txt"; fail "the straight run failed"; }

last_step() {  # the last step log.jsonl holds whole (a line cut by the kill is not counted)
  [[ -f $out/log.jsonl ]] || { echo 0; return; }
  local line
  line=$(grep -E '^\{.*"step":[0-9]+.*\}$' "$out/log.jsonl" | tail -1 || true)
  if [[ -n $line ]]; then sed -E 's/.*"step":([0-9]+).*/\1/' <<< "$line"; else echo 0; fi
}
complete_checkpoints() {  # checkpoint-<step> folders holding trainer_state.json, by step
  local state
  for state in "$out"/checkpoint-*/trainer_state.json; do
    if [[ -f $state && $(basename "$(dirname "$state")") =~ ^checkpoint-([0-9]+)$ ]]; then echo "${BASH_REMATCH[1]}"; fi
  done | sort -n
}
log_inode() { stat -c %i "$out/log.jsonl" 2>/dev/null || echo none; }
# Where the kill of process `pid` landed, from what it left: inside the checkpoint write of the
# step it had logged last (and the file it was writing: temporary files carry the writer's pid),
# inside the removal of an old checkpoint, inside a write of curves.svg, or in a step with no
# write open.
landing() {
  local pid=$1 started=$2 at partial writing
  at=$(last_step)
  partial=$out/checkpoint-$at.partial
  if [[ -d $partial ]]; then
    writing=$(cd "$partial" && ls -A | sed -nE "s/^\\.(.*)\\.tmp-$pid-[0-9]+\$/\\1/p" | head -1)
    if [[ -n $writing ]]; then echo "checkpoint write: $writing"
    else echo "checkpoint write: between files ($(ls "$partial" | wc -l) of 5 written)"; fi
  elif compgen -G "$out/checkpoint-*.removing" > /dev/null; then echo "removal of an old checkpoint"
  elif compgen -G "$out/.curves.svg.tmp-$pid-*" > /dev/null; then echo "curves.svg write"
  elif (( at <= started )); then echo "start-up: log rewritten, no step yet"
  else echo "training step (no write open)"; fi
}

declare -A landed
killed=0 resumes=0 fresh=0
while (( killed < kills )); do
  resume=(--config "$config")
  [[ -n $(complete_checkpoints) ]] && resume=(--resume)
  if [[ ${resume[0]} == --resume ]]; then resumes=$((resumes + 1)); else fresh=$((fresh + 1)); fi
  started=$(( $(complete_checkpoints | tail -1) + 0 ))
  inode=$(log_inode)
  # Niced, so that on a busy machine this script, not the run, gets the CPU when both want it: the
  # kill comes at the step it aims at, not many steps later.
  nice -n 10 "$dnabert" "${run[@]}" "${resume[@]}" --output "$out" > "$work/run.txt" 2>&1 &
  pid=$!
  # The killed run's log holds steps past the checkpoint until this run has put its own in place.
  until [[ $(log_inode) != "$inode" ]] || ! kill -0 "$pid" 2>/dev/null; do sleep 0.002; done
  if (( killed % 3 == 2 )); then  # aimed: wait for this run's first step, then for a checkpoint folder being filled
    until (( $(last_step) > started )) || ! kill -0 "$pid" 2>/dev/null; do sleep 0.002; done
    until compgen -G "$out/checkpoint-$(last_step).partial" > /dev/null || ! kill -0 "$pid" 2>/dev/null; do :; done
  else  # random: after 0-4 more steps, then 0-79 ms but at most one more step (fast machines run many in 79 ms)
    target=$((started + RANDOM % 5))
    until (( $(last_step) >= target )) || ! kill -0 "$pid" 2>/dev/null; do sleep 0.002; done
    deadline=$(( $(date +%s%3N) + RANDOM % 80 ))
    until (( $(date +%s%3N) >= deadline || $(last_step) > target + 1 )) || ! kill -0 "$pid" 2>/dev/null; do sleep 0.001; done
  fi
  kill -KILL "$pid" 2>/dev/null || true
  status=0
  wait "$pid" 2>/dev/null || status=$?
  (( status == 137 )) ||
    { cat "$work/run.txt"; fail "kill $((killed + 1)): the run ended by itself (status $status) before the kill"; }
  killed=$((killed + 1))
  where=$(landing "$pid" "$started")
  landed[$where]=$(( ${landed[$where]:-0} + 1 ))
  echo "kill $killed at step $(last_step): $where"
  # Every complete checkpoint is whole: the files a resume reads, at the step its name says.
  for step in $(complete_checkpoints); do
    for f in config.json vocab.txt model.safetensors optimizer.safetensors trainer_state.json; do
      [[ -s $out/checkpoint-$step/$f ]] || fail "kill $killed: checkpoint-$step holds trainer_state.json but no $f"
    done
    grep -qE "\"step\": $step,?\$" "$out/checkpoint-$step/trainer_state.json" ||
      fail "kill $killed: checkpoint-$step/trainer_state.json is not at step $step"
  done
done

newest=$(complete_checkpoints | tail -1)
[[ -n $newest ]] || fail "no complete checkpoint after $killed kills"
resumed=$("$dnabert" "${run[@]}" --resume --output "$out" 2>&1) || { echo "$resumed"; fail "the last resume failed"; }
resumes=$((resumes + 1))
grep -qE "resuming $out/checkpoint-$newest at step $newest([^0-9]|\$)" <<< "$resumed" ||
  { echo "$resumed"; fail "the last resume did not start from the newest complete checkpoint, checkpoint-$newest"; }

echo "where the $killed kills landed:"
for where in "${!landed[@]}"; do printf '  %3d  %s\n' "${landed[$where]}" "$where"; done | sort -k2
in_checkpoints=0
for where in "${!landed[@]}"; do [[ $where == "checkpoint write"* ]] && in_checkpoints=$((in_checkpoints + landed[$where])); done
(( in_checkpoints > 0 )) || fail "no kill landed inside a checkpoint write"

same_as_straight "$work/straight" "$out" config.json vocab.txt
listing() { (cd "$1" && find . -mindepth 1 | sort); }
diff <(listing "$work/straight") <(listing "$out") || fail "the soaked folder holds other files than the straight run's"
echo "$killed kills ($in_checkpoints inside checkpoint writes), $resumes runs resumed the newest checkpoint" \
     "($fresh started afresh before the first), the end identical to the straight run"
