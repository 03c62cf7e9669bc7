# Sourced by the CLI tests that stop a training run and resume it: `fail`, and the check that a
# resumed run ended exactly as a straight one.

fail() { echo "FAIL: $*"; exit 1; }

# same_as_straight STRAIGHT_DIR RESUMED_DIR [FILE...]: log.jsonl, the model and the newest
# checkpoint's weights, optimizer state and trainer state (plus any FILE named) are the same bytes.
same_as_straight() {
  local straight=$1 resumed=$2 last f
  shift 2
  cmp "$straight/log.jsonl" "$resumed/log.jsonl" || fail "logs differ"
  last=$(basename "$(ls -d "$straight"/checkpoint-* | sort -V | tail -1)")
  for f in model.safetensors "$last/model.safetensors" "$last/optimizer.safetensors" "$last/trainer_state.json" "$@"; do
    cmp "$straight/$f" "$resumed/$f" || fail "$f differs"
  done
}
