#!/usr/bin/env bash
# A fuzzing campaign: every libFuzzer harness runs until 10 M executions or 30 minutes (whichever
# comes first), then the inputs it found that reach new coverage are merged (minimised) into its
# committed corpus. Prints one Markdown table row per harness (executions, seconds, exec/s,
# corpus size) for docs/benchmarks.md. A crash, leak, timeout or OOM stops that harness and
# leaves the input under ARTIFACTS/<format>/; the script then exits non-zero.
# Usage: tests/fuzz/run_campaign.sh BUILD_DIR [FORMAT...]
#   BUILD_DIR: configured with clang and -DDNABERT_BUILD_FUZZERS=ON and built (see tests/fuzz/CMakeLists.txt).
# Environment: RUNS (default 10000000), SECONDS_PER_HARNESS (default 1800), ARTIFACTS (default BUILD_DIR/fuzz-artifacts).
set -uo pipefail
cd "$(dirname "$0")/../.."
build=$1
shift
runs=${RUNS:-10000000}
seconds=${SECONDS_PER_HARNESS:-1800}
artifacts=${ARTIFACTS:-$build/fuzz-artifacts}
formats=("$@")
if [ ${#formats[@]} -eq 0 ]; then
  for source in tests/fuzz/fuzz_*.cpp; do name=$(basename "$source" .cpp); formats+=("${name#fuzz_}"); done
fi
status=0
echo "| harness | executions | seconds | exec/s | corpus before | corpus after |"
echo "|---|---:|---:|---:|---:|---:|"
for format in "${formats[@]}"; do
  fuzzer=$build/tests/fuzz/fuzz_$format corpus=tests/fuzz/corpus/$format
  [ -x "$fuzzer" ] || { echo "no $fuzzer: build it first" >&2; status=1; continue; }
  found=$(mktemp -d) log=$artifacts/$format.log
  mkdir -p "$artifacts/$format"
  before=$(find "$corpus" -type f | wc -l)
  started=$(date +%s.%N)
  # The committed corpus is read-only input; new finds go to $found.
  "$fuzzer" "$found" "$corpus" -runs="$runs" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$format/" > "$log" 2>&1
  rc=$?
  elapsed=$(echo "$(date +%s.%N) - $started" | bc)
  executions=$(grep -a -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if [ $rc -ne 0 ]; then
    echo "fuzz_$format failed (exit $rc): see $log and $artifacts/$format/" >&2
    status=1
    rm -rf "$found"
    continue
  fi
  # Merging adds to the committed corpus only the finds that reach new coverage (the seeds stay:
  # some are written by tests/reference/ scripts).
  "$fuzzer" -merge=1 "$corpus" "$found" >> "$log" 2>&1 || { echo "merging fuzz_$format failed: $log" >&2; status=1; }
  after=$(find "$corpus" -type f | wc -l)
  printf '| fuzz_%s | %s | %.0f | %.0f | %s | %s |\n' "$format" "$executions" "$elapsed" \
    "$(echo "$executions / $elapsed" | bc -l)" "$before" "$after"
  rm -rf "$found"
done
exit $status
