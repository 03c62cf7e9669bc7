#!/usr/bin/env bash
# Streams contract: a command given its input through a pipe ('--input -', and gzip-compressed
# through /dev/stdin) writes byte for byte what it writes when given the file (an output folder:
# its model.safetensors).
# Usage: pipe_equals_file.sh DNABERT WORK_DIR INPUT OUTPUT_NAME COMMAND ARGS...   (exit 0 only if all holds)
set -euo pipefail
dnabert=$1 work=$2 input=$3 name=$4
shift 4
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$work/file" "$work/pipe" "$work/gzip"
"$dnabert" "$@" --input "$input" --output "$work/file/$name" || fail "the run on the file failed"
cat "$input" | "$dnabert" "$@" --input - --output "$work/pipe/$name" || fail "the run on '--input -' failed"
gzip -c "$input" | "$dnabert" "$@" --input /dev/stdin --output "$work/gzip/$name" || fail "the run on gzip through /dev/stdin failed"
for way in pipe gzip; do
  for file in "$work/file"/*; do
    other=$work/$way/$(basename "$file")
    if [[ -d $file ]]; then file=$file/model.safetensors other=$other/model.safetensors; fi
    cmp "$file" "$other" || fail "$(basename "$file") from $way differs from the file's"
  done
done
echo "$(ls "$work/file" | tr '\n' ' ')from a pipe and from gzip on stdin: identical to the file's"
