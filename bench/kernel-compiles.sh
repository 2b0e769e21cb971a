#!/usr/bin/env bash
# How many oneDNN kernels a `seek train` run of configs/small.json compiles, and the time their creation
# takes: each new GEMM shape costs a JIT, so shapes that change from step to step (each expert's rows) cost
# time every step unless they repeat (src/kernels/gemm.hpp: gemm_rows_bucket). Counts oneDNN's own
# verbose lines (DNNL_VERBOSE=2: one "create:cache_miss" line per primitive created, with its time in ms).
#   bench/kernel-compiles.sh [steps, default 30]
# SEEK=path/to/seek runs that binary instead of building this checkout's (e.g. one built at an older commit).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
steps=${1:-30}
use_seek kernel-compiles.sh
make_scratch
write_word_corpus "$work/corpus.txt" 1 300 "the cat sat on mat dog ran far away and then came back home"
DNNL_VERBOSE=2 OMP_NUM_THREADS=2 "$SEEK" train --config configs/small.json --data "$work/corpus.txt" \
  --out "$work/run" --steps "$steps" --batch-size 8 --seq-len 256 --eval-every 0 --checkpoint-every 0 \
  >"$work/verbose.log" 2>/dev/null
python3 - "$work/verbose.log" "$work/run/metrics.jsonl" "$SEEK" "$steps" <<'PY'
import json, sys
created = [l for l in open(sys.argv[1]) if ",create:cache_miss," in l]
ms = sum(float(l.rsplit(",", 1)[1]) for l in created)
loss = [json.loads(l) for l in open(sys.argv[2])][-1]["loss"]
print(f"{sys.argv[3]}: {len(created)} oneDNN primitives created in {sys.argv[4]} steps of configs/small.json "
      f"(batch 8 x 256), {ms / 1e3:.2f} s creating them; last loss {loss!r}")
PY
