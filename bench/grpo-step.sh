#!/usr/bin/env bash
# Time per GRPO step on configs/small.json with G × prompts = 64 sequences, the share of the step spent in
# generation vs training, and rollout throughput (completion tokens/s), against the same step with unbatched
# generation (the engine decoding one sequence at a time). The policy is a freshly initialised small.json
# (random weights; completion lengths run to the limit, which makes the work per step the same for both).
# Prints one line per rollout batch, then the batched / unbatched ratios of the two.
#   bench/grpo-step.sh [steps]
# SEEK=path/to/seek runs that binary instead of building this checkout's (e.g. one built at an older commit).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
steps=${1:-3}
use_seek grpo-step.sh
make_scratch
python3 - "$work/config.json" <<'PY'
import json, sys
c = json.load(open("configs/small.json")); c["vocab_size"] = 512
json.dump(c, open(sys.argv[1], "w"))
PY
# a random policy: one training step on a tiny corpus just to write a model directory
printf '1+1=2\n%.0s' $(seq 1 2000) > "$work/corpus.txt"
"$SEEK" train --config "$work/config.json" --data "$work/corpus.txt" --out "$work/base" --steps 1 \
  --batch-size 1 --seq-len 64 --eval-every 0 --log-every 1 >/dev/null
# A random policy scores 0 on every completion, so every advantage is 0, and since b519e4f such a step makes no
# update; the entropy bonus gives every step a gradient, so training is timed as in a step that learns.
for rb in 64 1; do
  "$SEEK" grpo --init "$work/base/model" --task arithmetic --task-options '{"template": "plain"}' \
    --out "$work/grpo-$rb" --steps "$steps" --prompts-per-step 8 --group-size 8 --max-completion-length 64 \
    --rollout-batch "$rb" --checkpoint-every 0 --entropy-coef 1e-3 --threads 2 >/dev/null
  python3 - "$work/grpo-$rb/metrics.jsonl" "$rb" "$work/means-$rb.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][1:] or [json.loads(l) for l in open(sys.argv[1])]
if any(r.get("loss") is None for r in rows):
    sys.exit(f"{sys.argv[1]}: a step made no update (loss null), so its training time is not a step's")
gen = sum(r["generation_s"] for r in rows) / len(rows)
train = sum(r["training_s"] for r in rows) / len(rows)
toks = sum(r["generated_tokens"] for r in rows) / len(rows)
print(f"rollout_batch {sys.argv[2]:>2}: step {gen + train:.2f} s (generation {gen:.2f} s = {100 * gen / (gen + train):.0f}%, "
      f"training {train:.2f} s), {toks / gen:.0f} completion tokens/s, {toks:.0f} tokens per step")
json.dump({"step_s": gen + train, "generation_s": gen, "tok_s": toks / gen}, open(sys.argv[3], "w"))
PY
done
# the peer: the same steps with unbatched generation, measured above in this run
python3 - "$work/means-64.json" "$work/means-1.json" <<'PY'
import json, sys
b, u = (json.load(open(p)) for p in sys.argv[1:3])
print(f"batched / unbatched: rollout throughput {b['tok_s'] / u['tok_s']:.2f}x, "
      f"generation time {b['generation_s'] / u['generation_s']:.2f}x, step time {b['step_s'] / u['step_s']:.2f}x "
      f"(the step {u['step_s'] / b['step_s']:.2f}x faster batched)")
PY
