#!/usr/bin/env bash
# Bounded-memory contract: predict, embed (pooled and per token), attention and variants --mut-file over a generated input
# of 300 reads piped in gzip-compressed and run 37 reads at a time (--chunk-size) in batches of 5
# write byte for byte what they write holding the whole input as one chunk in batches of 32.
# Usage: streamed_equals_whole.sh DNABERT WORK_DIR MODEL OTHER_MODEL [WHOLE_BATCH STREAMED_BATCH]
#   (both models k = 3; exit 0 only if all holds). Batch sizes 32 and 5 by default; a build whose
#   GEMM is not batch-invariant (not oneDNN: tests/support/batch_invariance.hpp) passes 1 and 1,
#   so that only the chunking differs.
set -euo pipefail
dnabert=$1 work=$2 model=$3 other=$4 whole_batch=${5:-32} streamed_batch=${6:-5}
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$work/whole" "$work/streamed"
# Reads of 3 to 300 nt (pieces of one to five lengths: batches mix lengths), and a mutation for every third.
awk 'BEGIN { srand(7); for (i = 0; i < 300; i++) { n = 3 + int(rand() * 298); s = "";
             for (j = 0; j < n; j++) s = s substr("ACGT", 1 + int(rand() * 4), 1); print ">r" i; print s } }' > "$work/reads.fa"
awk 'NR % 6 == 1 { printf "%s\t1\t2\tT\n", substr($0, 2) }' "$work/reads.fa" > "$work/mutations.txt"
[[ $(grep -c '^>' "$work/reads.fa") == 300 ]] || fail "the generated input does not hold 300 reads"

runs=("predict.tsv predict --model $model"
      "embed.npy embed --model $model --pooling mean"
      "tokens.npy embed --model $model --pooling none --layer 1"
      "attention.npy attention --model $model --combine-with $other"
      "attention.bedgraph attention --model $model --format bedgraph"
      "mutations.tsv variants --model $model --mut-file $work/mutations.txt")
for run in "${runs[@]}"; do
  read -r name args <<< "$run"
  # shellcheck disable=SC2086  # the arguments split on purpose
  "$dnabert" $args --input "$work/reads.fa" --output "$work/whole/$name" --chunk-size 100000 --batch-size "$whole_batch" --threads 1 2> /dev/null ||
    fail "$name: the run holding the whole input failed"
  # shellcheck disable=SC2086
  gzip -c "$work/reads.fa" | "$dnabert" $args --input - --output "$work/streamed/$name" --chunk-size 37 --batch-size "$streamed_batch" --threads 1 2> /dev/null ||
    fail "$name: the streamed run failed"
done
for file in "$work/whole"/*; do
  cmp "$file" "$work/streamed/$(basename "$file")" || fail "$(basename "$file") streamed differs from whole"
done
rows=$(($(wc -l < "$work/whole/predict.tsv") - 1))
[[ $rows == 300 ]] || fail "predict.tsv holds $rows rows, not 300"
echo "${#runs[@]} runs, $(ls "$work/whole" | wc -l) files, of 300 reads streamed in chunks of 37: identical to the whole input at once"
