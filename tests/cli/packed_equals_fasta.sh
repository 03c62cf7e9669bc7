#!/usr/bin/env bash
# A corpus packed by `dnabert corpus` (from gzip here) pre-trains to the same bytes as its FASTA
# (model.safetensors, and the loss of every log.jsonl line), as training and as evaluation input;
# a damaged packed corpus, packing one twice and packing a FASTA over itself are refused with
# exit status 1.
# Usage: packed_equals_fasta.sh DNABERT WORK_DIR FASTA CONFIG   (exit 0 only if all holds)
set -euo pipefail
dnabert=$1 work=$2 fasta=$3 config=$4
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$work"
# The fixture, then records with N runs in both cases, soft-masked stretches, an IUPAC code and
# records shorter than k.
{ cat "$fasta"; printf '>masked\nACGTACGTTTGACCAnnnnnNNNNacgtacgtgggtcaTTGACRGTAACGTTGCA\n>short\nAC\n>n\nNNNN\n>tail\nacgtNNacgtACGTTGCAAGCTAGCTAG\n'; } > "$work/genome.fa"
gzip -c "$work/genome.fa" > "$work/genome.fa.gz"
"$dnabert" corpus --fasta "$work/genome.fa.gz" --output "$work/genome.dna" --check 2> "$work/corpus.err" ||
  fail "dnabert corpus failed: $(cat "$work/corpus.err")"
grep -q "packed into $work/genome.dna (checked)" "$work/corpus.err" || fail "no summary: $(cat "$work/corpus.err")"
run=(pretrain --config "$config" --max-steps 6 --batch-size 4 --threads 1 --save-steps 0 --eval-steps 3 --seed 5)
"$dnabert" "${run[@]}" --input "$work/genome.fa" --eval-input "$work/genome.fa" --output "$work/from-fasta" > /dev/null 2>&1 ||
  fail "pre-training from the FASTA failed"
"$dnabert" "${run[@]}" --input "$work/genome.dna" --eval-input "$work/genome.dna" --output "$work/from-packed" > /dev/null 2> "$work/packed.err" ||
  fail "pre-training from the packed corpus failed: $(cat "$work/packed.err")"
grep -q "memory-mapped" "$work/packed.err" || fail "pretrain does not say it maps the packed corpus"
cmp "$work/from-fasta/model.safetensors" "$work/from-packed/model.safetensors" || fail "the weights differ"
losses() { grep -o '"[a-z_]*loss":[^,}]*' "$1/log.jsonl"; }
[[ $(losses "$work/from-fasta" | wc -l) -ge 6 ]] || fail "log.jsonl holds fewer than 6 losses"
[[ "$(losses "$work/from-fasta")" == "$(losses "$work/from-packed")" ]] || fail "the logged losses differ"
head -c 300 "$work/genome.dna" > "$work/truncated.dna"
status=0
"$dnabert" pretrain --config "$config" --max-steps 1 --input "$work/truncated.dna" --output "$work/bad" 2> "$work/bad.err" || status=$?
[[ $status -eq 1 ]] || fail "a truncated corpus exits with $status, expected 1"
grep -q "truncated.dna: truncated" "$work/bad.err" || fail "the error does not name the file: $(cat "$work/bad.err")"
status=0
"$dnabert" corpus --fasta "$work/genome.dna" --output "$work/again.dna" 2> "$work/again.err" || status=$?
[[ $status -eq 1 ]] || fail "packing a packed corpus exits with $status, expected 1"
[[ ! -e $work/again.dna ]] || fail "packing a packed corpus left a file"
cp "$work/genome.fa" "$work/kept.fa"
status=0
"$dnabert" corpus --fasta "$work/genome.fa" --output "$work/genome.fa" 2> "$work/self.err" || status=$?
[[ $status -eq 1 ]] || fail "packing a FASTA over itself exits with $status, expected 1"
cmp -s "$work/genome.fa" "$work/kept.fa" || fail "packing a FASTA over itself changed it"
echo "packed corpus: the same weights and losses as its FASTA; damaged or repacked ones refused"
