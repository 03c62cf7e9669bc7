#!/usr/bin/env bash
# Preemption contract: a training run sent SIGTERM (a cluster scheduler) or SIGINT (Ctrl-C) at a
# random step finishes that step, writes checkpoint-<step>/, prints the command that resumes it
# and exits 128 + the signal (143, 130); running that command ends with the same log.jsonl,
# weights and optimizer state as a straight run, bit for bit.
# The signal follows the run's progress, not the clock: it is sent once log.jsonl holds a random
# step (DNABERT_STOP_AT fixes it, to repeat a failure).
# Usage: stop_and_resume.sh DNABERT WORK_DIR TERM|INT STEPS RUN_ARGS...
#   RUN_ARGS: the pretrain/finetune command and its flags, without --output and --max-steps, with
#   --logging-steps 1 where the command has it (a log line per step).   (exit 0 only if all holds)
set -euo pipefail
dnabert=$1 work=$2 signal=$3 steps=$4
shift 4
run=("$@" --max-steps "$steps")
source "$(dirname "$0")/resume_checks.sh"
case $signal in TERM) status=143 ;; INT) status=130 ;; *) fail "signal must be TERM or INT, not $signal" ;; esac
stop_at=${DNABERT_STOP_AT:-$((5 + RANDOM % (steps * 2 / 3 - 5)))}
echo "SIG$signal once log.jsonl reaches step $stop_at of $steps (DNABERT_STOP_AT=$stop_at repeats it)"
rm -rf "$work/straight" "$work/stopped"
mkdir -p "$work"

"$dnabert" "${run[@]}" --output "$work/straight" > "$work/straight.txt" 2>&1 ||
  { cat "$work/straight.txt"; fail "the straight run failed"; }

# Job control gives the run its own process group with SIGINT as it is in a terminal: a script's
# background job would otherwise start with SIGINT ignored, which dnabert keeps ignoring.
# Niced, so that on a busy machine this script keeps up with the run's steps.
set -m
nice -n 10 "$dnabert" "${run[@]}" --output "$work/stopped" > "$work/stopped.txt" 2>&1 &
pid=$!
set +m
steps_logged() {  # grep -c prints 0 itself (and fails) when no step is logged yet
  if [[ -f "$work/stopped/log.jsonl" ]]; then grep -c '"loss"' "$work/stopped/log.jsonl" || true; else echo 0; fi
}
for _ in $(seq 1 60000); do  # up to 10 min (sanitizer builds are slow)
  (( $(steps_logged) >= stop_at )) && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.01
done
kill -"$signal" "$pid" 2>/dev/null || fail "the run had ended before step $stop_at: $(cat "$work/stopped.txt")"
got=0
wait "$pid" || got=$?
output=$(cat "$work/stopped.txt")
(( got == status )) || { echo "$output"; fail "exit status $got after SIG$signal, expected $status"; }

# What the run says: the step it stopped after, its checkpoint, and the command to resume it.
stopped_line=$(grep -E "stopped by SIG$signal after step [0-9]+; checkpoint .* written$" <<< "$output") ||
  { echo "$output"; fail "no 'stopped by SIG$signal after step N; checkpoint ... written' line"; }
echo "$stopped_line"
step=$(sed -E 's/.*after step ([0-9]+);.*/\1/' <<< "$stopped_line")
checkpoint="$work/stopped/checkpoint-$step"
grep -qF "; checkpoint $checkpoint written" <<< "$stopped_line" || fail "the checkpoint named is not $checkpoint"
(( step >= stop_at && step < steps )) || fail "stopped after step $step, not between $stop_at and the end"
[[ -f $checkpoint/trainer_state.json && -f $checkpoint/optimizer.safetensors ]] || fail "$checkpoint is not complete"
grep -qE "\"step\": $step,?\$" "$checkpoint/trainer_state.json" || fail "$checkpoint/trainer_state.json is not at step $step"
(( $(steps_logged) == step )) || fail "log.jsonl holds $(steps_logged) steps, the run stopped after $step"
resume=$(sed -n 's/^to resume: //p' <<< "$output")
[[ -n $resume ]] || { echo "$output"; fail "no 'to resume:' line"; }
[[ $resume == *" --resume $checkpoint" ]] || fail "the resume command does not end with --resume $checkpoint: $resume"
echo "to resume: $resume"

resumed=$(eval "$resume" 2>&1) || { echo "$resumed"; fail "the printed resume command failed"; }
grep -qE "resuming $checkpoint at step $step([^0-9]|\$)" <<< "$resumed" || { echo "$resumed"; fail "it did not resume $checkpoint"; }

same_as_straight "$work/straight" "$work/stopped"
echo "stopped by SIG$signal after step $step, exit status $status, resumed: identical to the straight run"
