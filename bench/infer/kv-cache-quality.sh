#!/bin/sh
# How much a compressed KV cache changes a trained model's predictions: `seek perplexity` over the same text
# with --kv-cache f32 (exact), bf16 and fp8, absorbed and naive.
#   sh bench/infer/kv-cache-quality.sh MODEL_DIR TEXT_FILE [CTX] [build dir]
# BENCHMARKS.md used the base model of `seek demo --out DIR` (DIR/base/model) and, as text, the first 3,000
# examples of DIR/base-data.jsonl written out as "prompt completion" lines:
#   head -n 3000 DIR/base-data.jsonl | python3 -c 'import sys, json
#   for l in sys.stdin: d = json.loads(l); print(d["prompt"] + d["completion"])' > /tmp/demo-text.txt
set -eu
MODEL=$1
TEXT=$2
CTX=${3:-256}
BUILD=${4:-build/release}
for form in "" "--naive"; do
  for t in f32 bf16 fp8; do
    printf '%-8s %-5s ' "${form:-absorbed}" "$t"
    OMP_NUM_THREADS=2 "$BUILD/seek" perplexity --model "$MODEL" --file "$TEXT" --ctx "$CTX" --kv-cache "$t" $form
  done
done
