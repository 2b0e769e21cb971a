#!/usr/bin/env bash
# GRPO settings compared on the base models of finished `seek demo` runs: for each demo folder and each
# variant, the demo's GRPO run again (its grpo/settings.json, the variant's flags on top) from its base/model,
# then the demo's held-out evaluation (its 200 problems from base-eval.jsonl, 4 samples at temperature 1, the
# demo's seed) of the new policy. Base models differ far more between seeds than GRPO settings do, so the
# settings are compared on the same bases. Prints a table of held-out pass@1 (pass@4), one row per base.
#   bench/demo-grpo-variants.sh 'NAME=FLAGS' ... -- DEMO_DIR ...
# e.g. bench/demo-grpo-variants.sh 'plain=--steps 150 --dynamic-sampling false' \
#        'dynamic=--steps 300 --dynamic-sampling true --dynamic-sampling-metric accuracy' -- runs/demo runs/demo-seed7
# The runs go to $OUT (default: a temporary folder, removed at the end); a run whose result is there is not
# run again. SEEK=path/to/seek runs that binary instead of building this checkout's.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
variants=()
while (($# > 0)) && [ "$1" != -- ]; do
  [[ "$1" == *=* ]] || { echo "demo-grpo-variants.sh: '$1' is not NAME=FLAGS (put -- before the demo folders)" >&2; exit 2; }
  variants+=("$1")
  shift
done
(($# > 1)) && (( ${#variants[@]} > 0 )) || {
  echo "usage: bench/demo-grpo-variants.sh 'NAME=FLAGS' ... -- DEMO_DIR ..." >&2
  exit 2
}
shift
for d in "$@"; do
  for f in grpo/settings.json base/model/config.json base-eval.jsonl; do
    [ -f "$d/$f" ] || { echo "demo-grpo-variants.sh: $d is not a finished seek demo folder (no $f)" >&2; exit 2; }
  done
done
use_seek demo-grpo-variants.sh
if [ -n "${OUT:-}" ]; then
  work=$OUT
  mkdir -p "$work"
else
  make_scratch
fi

header="base"
for v in "${variants[@]}"; do header+=" | ${v%%=*}"; done
rows=()
for d in "$@"; do
  seed=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["seed"])' "$d/grpo/settings.json")
  # The demo's held-out problems, in its order, as a dataset.
  held="$work/held-$seed-$(basename "$d").jsonl"
  python3 - "$d/base-eval.jsonl" "$held" <<'PY'
import json, sys
seen = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    seen.setdefault(r["prompt"], r["answer"])
with open(sys.argv[2], "w") as f:
    for p, a in seen.items():
        f.write(json.dumps({"prompt": p, "answer": a}) + "\n")
PY
  row="$d"
  for v in "${variants[@]}"; do
    name=${v%%=*}
    read -r -a flags <<<"${v#*=}"
    run="$work/$name/$(echo "$d" | tr '/' '_')"
    if [ ! -f "$run.result" ]; then
      mkdir -p "$work/$name"
      echo "== $d: $name (${v#*=})" >&2
      rm -rf "$run"
      "$SEEK" grpo --run-config "$d/grpo/settings.json" --init "$d/base/model" --out "$run" \
        --checkpoint-every 0 "${flags[@]}" >"$run.log" 2>&1 || {
        echo "demo-grpo-variants.sh: seek grpo failed; the end of $run.log:" >&2
        tail -n 5 "$run.log" >&2
        exit 1
      }
      "$SEEK" eval --model "$run/model" --data "$held" --problems 0 --samples 4 --temperature 1 \
        --max-new-tokens 48 --seed "$seed" --threads "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["threads"])' "$d/grpo/settings.json")" \
        >"$run.eval" 2>&1
      python3 - "$run.eval" >"$run.result" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
p1 = re.search(r"^pass@1: ([0-9.]+)", text, re.M)
p4 = re.search(r"^pass@4: ([0-9.]+)", text, re.M)
if not (p1 and p4):
    sys.exit(f"no pass@1/pass@4 in {sys.argv[1]}")
print(f"{100 * float(p1.group(1)):.1f}% ({100 * float(p4.group(1)):.1f}%)")
PY
    fi
    row+=" | $(cat "$run.result")"
  done
  rows+=("$row")
  echo "$row" >&2
done
echo "held-out pass@1 (pass@4) after GRPO, per demo base model and variant:"
echo "$header"
printf '%s\n' "${rows[@]}"
