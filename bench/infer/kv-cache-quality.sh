#!/bin/sh
# What a compressed KV cache costs in answers on a trained model: `seek eval` (greedy) of the `seek demo` GRPO
# policy on up to 1,000 held-out problems of its task (each once: the demo's options hold 470 distinct ones),
# once per --kv-cache type, and how many completions are identical to the f32 cache's.
#   sh bench/infer/kv-cache-quality.sh DEMO_DIR [problems] [build dir]
# DEMO_DIR is the --out folder of `seek demo` (it holds grpo/model and grpo/settings.json).
set -eu
DEMO=$1
PROBLEMS=${2:-1000}
BUILD=${3:-build/release}
TASK=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["task"])' "$DEMO/grpo/settings.json")
OPTS=$(/usr/bin/python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))["task_options"]))' \
  "$DEMO/grpo/settings.json")
OUT=$(mktemp -d)
# Removed however the script ends; sh runs the EXIT trap on exit, not when a signal kills it, hence INT/TERM.
trap 'rm -rf "$OUT"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
for t in f32 bf16 fp8; do
  printf '%-5s ' "$t"
  OMP_NUM_THREADS=2 "$BUILD/seek" eval --model "$DEMO/grpo/model" --task "$TASK" --task-options "$OPTS" \
    --problems "$PROBLEMS" --kv-cache "$t" --out "$OUT/$t.jsonl" | grep "pass@1"
done
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
load = lambda t: [json.loads(l)["completion"] for l in open(f"{sys.argv[1]}/{t}.jsonl")]
ref = load("f32")
for t in ("bf16", "fp8"):
    got = load(t)
    print(f"{t}: {sum(a == b for a, b in zip(ref, got))} of {len(ref)} completions identical to f32")
PY
