#!/usr/bin/env bash
# One writer per output folder: while a pre-training run holds its --output, a second run there is
# refused at once, naming the holder's pid; once the holder is killed with SIGKILL, the lock file it
# left does not block a new run, and a run that ends cleanly leaves no lock file.
# Usage: busy_output.sh DNABERT WORK_DIR GENOME.fa CONFIG.json   (exit 0 only if all holds)
set -euo pipefail
dnabert=$1 work=$2 genome=$3 config=$4
fail() { echo "FAIL: $*"; exit 1; }
out=$work/run
lock=$out/.dnabert.lock
run=(pretrain --input "$genome" --config "$config" --batch-size 8 --threads 1 --output "$out")
"$dnabert" "${run[@]}" --max-steps 100000000 > "$work/holder.txt" 2>&1 &
holder=$!
trap 'kill -KILL $holder 2>/dev/null || true' EXIT
for _ in $(seq 1 6000); do  # up to 60 s for the holder to start
  [[ -f $lock ]] && grep -q "^$holder " "$lock" && break
  kill -0 "$holder" 2>/dev/null || { cat "$work/holder.txt"; fail "the first run ended early"; }
  sleep 0.01
done
grep -q "^$holder " "$lock" || fail "the first run wrote no lock file naming its pid"

for second in "pretrain --input $genome --config $config --max-steps 2 --threads 1" "quantize --model $out"; do
  # shellcheck disable=SC2086  # the arguments split on purpose
  if refusal=$("$dnabert" $second --output "$out" 2>&1); then fail "'$second' ran in a busy folder"; fi
  grep -q "dnabert: error: output folder $out is in use by another dnabert run (pid $holder on " <<< "$refusal" ||
    fail "'$second' was not refused with the holder's pid: $refusal"
done
kill -0 "$holder" 2>/dev/null || fail "the holder died while the others were refused"

kill -KILL "$holder"
wait "$holder" 2>/dev/null || true
[[ -f $lock ]] || fail "SIGKILL left no lock file (the test would prove nothing)"
"$dnabert" "${run[@]}" --max-steps 2 > "$work/after.txt" 2>&1 || { cat "$work/after.txt"; fail "the stale lock file blocked a new run"; }
[[ ! -e $lock ]] || fail "a run that ended cleanly left its lock file"
echo "a second run was refused naming pid $holder; the lock file SIGKILL left did not block the next run"
