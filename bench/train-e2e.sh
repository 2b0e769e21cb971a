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
use_seek train-e2e.sh
make_scratch
write_word_corpus "$work/corpus.txt" 0 3000 "the model learns to add numbers and reason about them step by step"
OMP_NUM_THREADS=2 "$SEEK" train --config configs/small.json --data "$work/corpus.txt" \
  --out "$work/run" --steps "$steps" --batch-size 8 --seq-len 256 --eval-every 0 --checkpoint-every 0 \
  --log-every 100 >/dev/null
python3 - "$work/run/metrics.jsonl" "$SEEK" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][2:]
tps = sum(r["tokens_per_s"] for r in rows) / len(rows)
print(f"{sys.argv[2]} train, configs/small.json, batch 8 x 256: {tps:.0f} tokens/s (mean of steps 3-{len(rows) + 2})")
PY
