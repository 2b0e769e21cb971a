#!/usr/bin/env bash
# End-to-end `seek train` throughput on configs/small.json (batch 8 × 256, 2 threads): the whole loop with the
# data pipeline, AdamW, metrics and a checkpoint at the end, as a user runs it. Prints the mean tokens/s of the
# steps after the first two (which include one-time set-up) from metrics.jsonl.
#   bench/train-e2e.sh [steps]
# SEEK=path/to/seek runs that binary instead of building this checkout's, e.g. one built at an older commit:
# alternate the two a few times to compare them on this noisy host.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
steps=${1:-12}
if [ -z "${SEEK:-}" ]; then
  build_release seek
  SEEK=./build/release/seek
fi
[ -x "$SEEK" ] || { echo "train-e2e.sh: '$SEEK' is not an executable file" >&2; exit 2; }
make_scratch
python3 - "$work/corpus.txt" <<'PY'
import random, sys
random.seed(0)
words = "the model learns to add numbers and reason about them step by step".split()
with open(sys.argv[1], "w") as f:
    for d in range(3000):
        f.write(" ".join(random.choice(words) for _ in range(200)) + "\n<|endoftext|>\n")
PY
OMP_NUM_THREADS=2 "$SEEK" train --config configs/small.json --data "$work/corpus.txt" \
  --out "$work/run" --steps "$steps" --batch-size 8 --seq-len 256 --eval-every 0 --checkpoint-every 0 \
  --log-every 100 >/dev/null
python3 - "$work/run/metrics.jsonl" "$SEEK" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][2:]
tps = sum(r["tokens_per_s"] for r in rows) / len(rows)
print(f"{sys.argv[2]} train, configs/small.json, batch 8 x 256: {tps:.0f} tokens/s (mean of steps 3-{len(rows) + 2})")
PY
