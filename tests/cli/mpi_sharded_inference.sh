#!/usr/bin/env bash
# `mpiexec -n 2 dnabert predict|embed|scan|variants` (predict also as an ensemble) splits the
# input's chunks over the ranks and rank 0 writes the files one process writes, byte for byte (an
# odd number of chunks: the last round is uneven); standard input, which reaches rank 0 only, and
# commands that do not share their work are refused.
# Usage: mpi_sharded_inference.sh DNABERT WORK_DIR MODEL FASTA GENOME REGIONS_BED vcf|no-vcf MPIEXEC...
#   (no-vcf: dnabert was built without htslib, so variants --vcf is not tried; exit 0 only if all holds)
set -euo pipefail
dnabert=$1 work=$2 model=$3 fasta=$4 genome=$5 regions=$6 vcf=$7
shift 7
mpiexec=("$@")
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work" && mkdir -p "$work" && cd "$work"  # the checker may run us inside it
for command in predict embed; do
  out=$([[ $command == predict ]] && echo tsv || echo npy)
  # The same chunks in one process (a batch's rows can change a GEMM's sums in the last bit).
  "$dnabert" $command --model "$model" --input "$fasta" --threads 1 --chunk-size 1 --output "$work/alone.$out" 2> /dev/null ||
    fail "$command in one process failed"
  "${mpiexec[@]}" "$dnabert" $command --model "$model" --input "$fasta" --threads 1 --chunk-size 1 \
    --output "$work/ranks.$out" 2> "$work/$command.err" || fail "$command on 2 ranks failed: $(cat "$work/$command.err")"
  cmp "$work/alone.$out" "$work/ranks.$out" || fail "$command on 2 ranks wrote other bytes"
done
cmp "$work/alone.ids.txt" "$work/ranks.ids.txt" || fail "embed on 2 ranks wrote other ids"
# Per-token embeddings of an inner layer: rows wait in rank 0's scratch file for L_max, the same bytes.
tokens=(embed --model "$model" --input "$fasta" --threads 1 --chunk-size 1 --pooling none --layer 1)
"$dnabert" "${tokens[@]}" --output "$work/alone_tokens.npy" 2> /dev/null || fail "embed --pooling none in one process failed"
"${mpiexec[@]}" "$dnabert" "${tokens[@]}" --output "$work/ranks_tokens.npy" 2> "$work/tokens.err" ||
  fail "embed --pooling none on 2 ranks failed: $(cat "$work/tokens.err")"
for file in tokens.npy tokens.tokens.tsv tokens.ids.txt; do
  cmp "$work/alone_$file" "$work/ranks_$file" || fail "embed --pooling none on 2 ranks wrote another $file"
done
[[ $(wc -l < "$work/ranks.tsv") -ge 4 ]] || fail "predict wrote fewer than 3 rows"
# An ensemble (the model twice: the path of several models, each rank loading them all) shards alike.
ensemble=(predict --model "$model" --model "$model" --input "$fasta" --threads 1 --chunk-size 1)
"$dnabert" "${ensemble[@]}" --output "$work/alone.ensemble.tsv" 2> /dev/null || fail "an ensemble in one process failed"
"${mpiexec[@]}" "$dnabert" "${ensemble[@]}" --output "$work/ranks.ensemble.tsv" 2> "$work/ensemble.err" ||
  fail "an ensemble on 2 ranks failed: $(cat "$work/ensemble.err")"
cmp "$work/alone.ensemble.tsv" "$work/ranks.ensemble.tsv" || fail "an ensemble on 2 ranks wrote other bytes"
grep -q "m2_prob_1" "$work/ranks.ensemble.tsv" || fail "the ensemble wrote no per-model columns"
# Stride 5 over the regions: 3 chunks of 256 windows, the last round uneven.
scan=(scan --model "$model" --fasta "$genome" --regions "$regions" --stride 5 --batch-size 4 --threads 1 --threshold 0.05)
"$dnabert" "${scan[@]}" --output "$work/alone.bedGraph" --peaks "$work/alone.peaks" 2> /dev/null || fail "scan in one process failed"
"${mpiexec[@]}" "$dnabert" "${scan[@]}" --output "$work/ranks.bedGraph" --peaks "$work/ranks.peaks" 2> "$work/scan.err" ||
  fail "scan on 2 ranks failed: $(cat "$work/scan.err")"
cmp "$work/alone.bedGraph" "$work/ranks.bedGraph" || fail "scan on 2 ranks wrote another bedGraph"
cmp "$work/alone.peaks" "$work/ranks.peaks" || fail "scan on 2 ranks wrote other peaks"
[[ $(grep -c "^scan: .* contigs" "$work/scan.err") -eq 1 ]] || fail "the scan summary is not printed once: $(cat "$work/scan.err")"
[[ $(wc -l < "$work/ranks.bedGraph") -gt 513 ]] || fail "the bedGraph holds 512 windows or fewer (one chunk per rank or less)"
# 300 SNVs on the genome's first record (2 chunks of 256: one per rank), REF read from the FASTA.
if [[ $vcf == vcf ]]; then
  cp "$genome" "$work/genome.fa"
  awk 'NR == 1 { sub(/^>/, ""); name = $1; next } /^>/ { exit } { seq = seq $0 }
       END { print "##fileformat=VCFv4.2"; print "##contig=<ID=" name ",length=" length(seq) ">";
             print "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO";
             for (p = 1000; p < 1300; ++p) { r = toupper(substr(seq, p, 1)); a = (r == "A") ? "C" : "A";
               print name "\t" p "\tsnv" p "\t" r "\t" a "\t.\tPASS\t." } }' "$genome" > "$work/snvs.vcf"
  variants=(variants --model "$model" --fasta "$work/genome.fa" --vcf "$work/snvs.vcf" --batch-size 4 --threads 1)
  "$dnabert" "${variants[@]}" --output "$work/alone.variants.tsv" 2> /dev/null || fail "variants in one process failed"
  "${mpiexec[@]}" "$dnabert" "${variants[@]}" --output "$work/ranks.variants.tsv" 2> "$work/variants.err" ||
    fail "variants on 2 ranks failed: $(cat "$work/variants.err")"
  cmp "$work/alone.variants.tsv" "$work/ranks.variants.tsv" || fail "variants on 2 ranks wrote other bytes"
  [[ $(wc -l < "$work/ranks.variants.tsv") -eq 301 ]] || fail "variants did not score 300 SNVs"
  [[ $(grep -c "^variants: 300 alleles" "$work/variants.err") -eq 1 ]] || fail "the summary is not printed once: $(cat "$work/variants.err")"
fi
status=0
"${mpiexec[@]}" "$dnabert" tokenize --input "$fasta" --output "$work/tokens.txt" 2> "$work/tokenize.err" || status=$?
[[ $status -ne 0 ]] || fail "tokenize on 2 ranks was accepted"
grep -q "tokenize runs in one process" "$work/tokenize.err" || fail "the refusal does not say why: $(cat "$work/tokenize.err")"
status=0
"${mpiexec[@]}" "$dnabert" predict --model "$model" --input - --output "$work/stdin.tsv" < "$fasta" 2> "$work/stdin.err" || status=$?
[[ $status -ne 0 ]] || fail "standard input on 2 ranks was accepted"
grep -q "standard input reaches rank 0 only" "$work/stdin.err" || fail "the refusal does not say why: $(cat "$work/stdin.err")"
echo "predict, embed, scan$([[ $vcf == vcf ]] && echo " and variants") on 2 ranks: the bytes of one process"
