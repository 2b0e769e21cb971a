#!/usr/bin/env bash
# GRPO settings compared on the base models of finished `seek demo` runs: for each demo folder and each
# variant, the demo's GRPO run again (its grpo/settings.json, the variant's flags on top) from its base/model,
# then the demo's held-out evaluation of the new policy (`seek eval` on the demo's task, problems, samples,
# temperature 1, 48 new tokens, seed and threads: the same problems, order and scoring as the demo's table).
# Base models differ far more between seeds than GRPO settings do, so settings are compared on the same bases.
# Prints a table of held-out pass@1 (pass@k), one row per demo, beside its base model's from summary.json.
#   bench/demo-grpo-variants.sh 'NAME=FLAGS' ... -- DEMO_DIR ...
# e.g. bench/demo-grpo-variants.sh 'plain=--steps 150 --dynamic-sampling false' \
#        'dynamic=--steps 300 --dynamic-sampling true --dynamic-sampling-metric accuracy' -- runs/demo runs/demo-7
# FLAGS are split at spaces (no quoting: a JSON value with spaces cannot be given). Paths are taken from the
# directory the script is run in. The runs go to $OUT (default: a temporary folder, removed at the end); a
# result there made by the same binary, flags and demo is reused. SEEK=path/to/seek runs that binary instead
# of building this checkout's.
set -euo pipefail
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
[ -n "${OUT:-}" ] && OUT=$(absolute "$OUT")
[ -n "${SEEK:-}" ] && SEEK=$(absolute "$SEEK")
variants=()
while (($# > 0)) && [ "$1" != -- ]; do
  [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*=. ]] || {
    echo "demo-grpo-variants.sh: '$1' is not NAME=FLAGS (NAME of letters, digits, _ . -; put -- before the demo folders)" >&2
    exit 2
  }
  variants+=("$1")
  shift
done
if (($# < 2)) || ((${#variants[@]} == 0)); then
  echo "usage: bench/demo-grpo-variants.sh 'NAME=FLAGS' ... -- DEMO_DIR ..." >&2
  exit 2
fi
shift
demos=()
for d in "$@"; do
  d=$(absolute "${d%/}")
  for f in grpo/settings.json base/model/config.json summary.json; do
    [ -f "$d/$f" ] || { echo "demo-grpo-variants.sh: $d is not a finished seek demo folder (no $f)" >&2; exit 2; }
  done
  demos+=("$d")
done
cd "$(dirname "$0")/.."
. bench/lib.sh
use_seek demo-grpo-variants.sh
SEEK=$(absolute "$SEEK")
if [ -n "${OUT:-}" ]; then
  work=$OUT
  mkdir -p "$work"
else
  make_scratch
fi

# The demo's evaluation: task options, seed and threads from its GRPO settings, problems and samples per
# problem from its summary.json. One line of shell words.
eval_flags() {
  python3 - "$1/grpo/settings.json" "$1/summary.json" <<'PY'
import json, shlex, sys
s = json.load(open(sys.argv[1]))
base = json.load(open(sys.argv[2]))["base"]
problems = int(base["problems"])
samples = int(base["completions"]) // problems
print(shlex.join(["--task", s["task"], "--task-options", json.dumps(s["task_options"]), "--problems",
                  str(problems), "--samples", str(samples), "--temperature", "1", "--max-new-tokens", "48",
                  "--seed", str(s["seed"]), "--threads", str(s["threads"])]))
PY
}
# "pass@1% (pass@k%)" from an evaluation's output (k: the largest reported).
pass_cell() {
  python3 - "$1" <<'PY'
import re, sys
found = dict(re.findall(r"^pass@(\d+): ([0-9.]+)", open(sys.argv[1]).read(), re.M))
if "1" not in found:
    sys.exit(f"no pass@1 in {sys.argv[1]}")
k = max(found, key=int)
print(f"{100 * float(found['1']):.2f}%" + (f" ({100 * float(found[k]):.2f}%)" if k != "1" else ""))
PY
}

header="demo | base model"
for v in "${variants[@]}"; do header+=" | ${v%%=*}"; done
rows=()
for d in "${demos[@]}"; do
  eflags=$(eval_flags "$d")
  eval "eargs=($eflags)"
  row="$d | $(python3 -c 'import json, sys; print("%.2f%%" % (100 * json.load(open(sys.argv[1]))["base"]["pass@1"]))' "$d/summary.json")"
  for v in "${variants[@]}"; do
    name=${v%%=*}
    read -r -a flags <<<"${v#*=}"
    run="$work/$name/$(echo "$d" | sed 's/[^A-Za-z0-9._-]/_/g')-$(echo -n "$d" | cksum | cut -d' ' -f1)"
    key="$SEEK $(cksum <"$SEEK") | ${v#*=} | $eflags"
    if [ ! -f "$run.result" ] || [ "$(cat "$run.key" 2>/dev/null)" != "$key" ]; then
      mkdir -p "$work/$name"
      rm -rf "$run" "$run.result"
      echo "== $d: $name (${v#*=})" >&2
      "$SEEK" grpo --run-config "$d/grpo/settings.json" --init "$d/base/model" --out "$run" \
        --checkpoint-every 0 "${flags[@]}" >"$run.log" 2>&1 || {
        echo "demo-grpo-variants.sh: seek grpo failed; the end of $run.log:" >&2
        tail -n 5 "$run.log" >&2
        exit 1
      }
      "$SEEK" eval --model "$run/model" "${eargs[@]}" >"$run.eval" 2>&1 || {
        echo "demo-grpo-variants.sh: seek eval failed; the end of $run.eval:" >&2
        tail -n 5 "$run.eval" >&2
        exit 1
      }
      pass_cell "$run.eval" >"$run.result.tmp"
      echo "$key" >"$run.key"
      mv "$run.result.tmp" "$run.result"
    fi
    row+=" | $(cat "$run.result")"
  done
  rows+=("$row")
  echo "$row" >&2
done
echo "held-out pass@1 (pass@k) of each demo's base model and after GRPO with each variant:"
echo "$header"
printf '%s\n' "${rows[@]}"
