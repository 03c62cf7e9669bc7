#!/usr/bin/env bash
# Disk full, for real: a pre-training run on a tmpfs with room for one checkpoint but not two.
# Its second checkpoint's write fails with ENOSPC: the run stops (exit 1) with an error naming the
# file, the step, and the last complete checkpoint, leaving neither the half-written folder nor a
# temporary file. Once there is room again, --resume continues from that last checkpoint and
# ends bit for bit as a straight run.
# Mounting needs a private mount namespace (unshare; for a user other than root, in a user
# namespace), which some containers and hardened kernels refuse: then the script exits 77 and says
# why (the test shows as skipped); the unit test "training loop: a checkpoint the disk refuses ..."
# covers the same path everywhere, by a file-size limit.
# Usage: disk_full.sh DNABERT WORK_DIR GENOME.fa CONFIG.json   (exit 0 only if all holds)
set -euo pipefail
dnabert=$1 work=$2 genome=$3 config=$4
source "$(dirname "$0")/resume_checks.sh"
skip() { echo "cannot run here: $*"; exit 77; }
if [[ ${DNABERT_DISK_FULL_NAMESPACE:-} != 1 ]]; then
  # The mount lives and dies with this namespace: nothing is left mounted, whatever happens. A user
  # other than root becomes root of a user namespace of its own, where it may mount a tmpfs.
  namespace=(unshare --mount --propagation private)
  (( $(id -u) == 0 )) || namespace=(unshare --user --map-root-user --mount --propagation private)
  why=$("${namespace[@]}" true 2>&1) || skip "no private mount namespace (${namespace[*]}: $why)"
  DNABERT_DISK_FULL_NAMESPACE=1 exec "${namespace[@]}" bash "$0" "$@"
fi

steps=60 every=20
run=(pretrain --input "$genome" --max-steps $steps --save-steps $every --save-total-limit 0 --batch-size 2 --lr 1e-3
     --threads 1 --seed 7 --logging-steps 1)
full=$work/full
rm -rf "$work/straight" "$work/moved" "$full"
mkdir -p "$work" "$full"
"$dnabert" "${run[@]}" --config "$config" --output "$work/straight" > "$work/straight.txt" 2>&1 ||
  { cat "$work/straight.txt"; fail "the straight run failed"; }

# Room for the run's files and one checkpoint and a half (tmpfs counts whole 4 KiB pages, as du).
checkpoint_kib=$(du -sk "$work/straight/checkpoint-$every" | cut -f1)
size_kib=$((checkpoint_kib * 3 / 2 + 96))
mount -t tmpfs -o size=${size_kib}k tmpfs "$full" || skip "mount -t tmpfs refused"
echo "a tmpfs of $size_kib KiB; a checkpoint takes $checkpoint_kib KiB"

status=0
"$dnabert" "${run[@]}" --config "$config" --output "$full" > "$work/full.txt" 2>&1 || status=$?
output=$(cat "$work/full.txt")
(( status == 1 )) || { echo "$output"; fail "exit status $status on a full disk, expected 1"; }
error=$(grep "^dnabert: error: " <<< "$output") || { echo "$output"; fail "no error message"; }
echo "$error"
second=$((2 * every))
grep -qE "^dnabert: error: training stopped at step $second: cannot write $full/checkpoint-$second\\.partial/[a-z_.]+: .*: No space left on device \\($full/checkpoint-$second was not written; the last checkpoint is $full/checkpoint-$every\\)\$" <<< "$error" ||
  fail "the error does not name the file, the step and the last checkpoint"
[[ ! -e $full/checkpoint-$second && ! -e $full/checkpoint-$second.partial ]] || fail "a half-written checkpoint was left"
leftovers=$(find "$full" -name '.*.tmp-*')
[[ -z $leftovers ]] || fail "temporary files were left: $leftovers"

# Room again, as after moving the folder to a bigger disk: its files leave the tmpfs for the disk
# below (a remount to a larger size is refused inside a user namespace).
cp -a "$full" "$work/moved"
umount "$full"
cp -a "$work/moved/." "$full/"
resumed=$("$dnabert" "${run[@]}" --resume --output "$full" 2>&1) || { echo "$resumed"; fail "the resumed run failed"; }
grep -qE "resuming $full/checkpoint-$every at step $every([^0-9]|\$)" <<< "$resumed" ||
  { echo "$resumed"; fail "it did not resume checkpoint-$every"; }
same_as_straight "$work/straight" "$full"
echo "ENOSPC at checkpoint-$second named the file; resumed from checkpoint-$every: identical to the straight run"
