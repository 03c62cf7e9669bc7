#!/usr/bin/env bash
# `mpiexec -n 2 dnabert predict|embed` splits the input's chunks over the ranks and rank 0 writes
# the files one process writes, byte for byte (an odd number of chunks: the last round is
# uneven); standard input, which reaches rank 0 only, is refused.
# Usage: mpi_sharded_inference.sh DNABERT WORK_DIR MODEL FASTA MPIEXEC...   (exit 0 only if all holds)
set -euo pipefail
dnabert=$1 work=$2 model=$3 fasta=$4
shift 4
mpiexec=("$@")
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work" && mkdir -p "$work" && cd "$work"  # the checker may run us inside it
for command in predict embed; do
  out=$([[ $command == predict ]] && echo tsv || echo npy)
  "$dnabert" $command --model "$model" --input "$fasta" --threads 1 --output "$work/alone.$out" 2> /dev/null ||
    fail "$command in one process failed"
  "${mpiexec[@]}" "$dnabert" $command --model "$model" --input "$fasta" --threads 1 --chunk-size 1 \
    --output "$work/ranks.$out" 2> "$work/$command.err" || fail "$command on 2 ranks failed: $(cat "$work/$command.err")"
  cmp "$work/alone.$out" "$work/ranks.$out" || fail "$command on 2 ranks wrote other bytes"
done
cmp "$work/alone.ids.txt" "$work/ranks.ids.txt" || fail "embed on 2 ranks wrote other ids"
[[ $(wc -l < "$work/ranks.tsv") -ge 4 ]] || fail "predict wrote fewer than 3 rows"
status=0
"${mpiexec[@]}" "$dnabert" predict --model "$model" --input - --output "$work/stdin.tsv" < "$fasta" 2> "$work/stdin.err" || status=$?
[[ $status -ne 0 ]] || fail "standard input on 2 ranks was accepted"
grep -q "standard input reaches rank 0 only" "$work/stdin.err" || fail "the refusal does not say why: $(cat "$work/stdin.err")"
echo "predict and embed on 2 ranks: the bytes of one process"
