#!/bin/sh
# What OpenMP's wait settings do to seek's decode: small.json's batch-1 and batch-64 decode rows, its prefill
# and the V2-Lite-shaped batch-1 decode, under
#   seek's default     neither variable set: seek starts with GOMP_SPINCOUNT=1000 (src/core/openmp_wait.hpp)
#   libgomp's default  GOMP_SPINCOUNT=300000, what a program gets that does not choose
#   ACTIVE / PASSIVE   OMP_WAIT_POLICY
# first on the quiet machine, then beside another seek process with the same settings (bench_infer's
# small.json batch-64 decode in a loop) and one busy single-threaded process (a compiler, say), as when runs
# and builds share a machine. The settings alternate for ROUNDS rounds; the table gives each row's median.
# Usage, from the repository root after building bench_infer in build/release:
#   sh bench/infer/wait-policy.sh [build dir, default build/release] [ROUNDS, default 3]
set -eu
BUILD=${1:-build/release}
ROUNDS=${2:-3}
BIN=$BUILD/bench/bench_infer
OUT=bench/infer/results/wait-policy
mkdir -p "$OUT"
rm -f "$OUT"/*.txt
FILTER='^decode/small/absorbed/batch:(1|64)/|^prefill/small/|^decode/v2lite/absorbed/batch:1/|memory_bandwidth'
export OMP_NUM_THREADS=2
# Every process started in the background (the load, and the measured run itself) is recorded here, and the
# EXIT trap kills them all: started by a non-interactive shell they ignore Ctrl-C, so they would otherwise
# outlive the script. The settings are applied per command (`env`), not in subshells, so that these variables
# stay in this shell, where the trap reads them.
pids=""
run=""
stop_load() {
  # shellcheck disable=SC2086  # $pids is a list
  [ -z "$pids$run" ] || kill $pids $run 2>/dev/null || true
  pids=""
  run=""
}
trap stop_load EXIT
# sh runs the EXIT trap on exit, not when a signal kills it; a trap that only stopped the load would let the
# loop go on to the next setting.
trap 'exit 130' INT
trap 'exit 143' TERM
measure() {  # $1 = settings label, $2 = quiet or busy, then the env command that sets its variables
  label=$1 state=$2
  shift 2
  if [ "$state" = busy ]; then
    "$@" "$BIN" --benchmark_filter='^decode/small/absorbed/batch:64/' --benchmark_min_time=1000 >/dev/null 2>&1 &
    pids="$!"
    sh -c 'while :; do :; done' &
    pids="$pids $!"
    sleep 2
  fi
  # In the background and waited for: a signal interrupts `wait` at once, where it would wait for a
  # foreground command to finish before the trap runs.
  "$@" "$BIN" --benchmark_filter="$FILTER" --benchmark_min_time=0.5 > "$OUT/run.out" 2>/dev/null &
  run=$!
  wait "$run" || { echo "wait-policy.sh: $BIN failed (exit $?) under $label, $state" >&2; exit 1; }
  run=""
  awk -v label="$state|$label" '/real_time/ { for (i = 1; i <= NF; ++i) if ($i ~ /^(tok|GB)_s=/) v = $i;
                                              print label "|" $1 "|" v }' "$OUT/run.out" >> "$OUT/rows.txt"
  stop_load
}
for state in quiet busy; do
  i=1
  while [ "$i" -le "$ROUNDS" ]; do
    echo "== $state, round $i of $ROUNDS" >&2
    measure "seek's default" "$state" env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT
    measure "libgomp's default" "$state" env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=300000
    measure "ACTIVE" "$state" env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=ACTIVE
    measure "PASSIVE" "$state" env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=PASSIVE
    i=$((i + 1))
  done
done
rm -f "$OUT/run.out"
/usr/bin/python3 - "$OUT/rows.txt" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    state, setting, name, value = line.strip().split("|")
    v = value.split("=")[1].removesuffix("/s")
    rows[(state, name, setting)].append(float(v[:-1]) * 1000 if v.endswith("k") else float(v))
settings = ["seek's default", "libgomp's default", "ACTIVE", "PASSIVE"]
print(f"{'machine':<6} {'row (tok/s; GB/s)':<50}" + "".join(f"{s:>19}" for s in settings))
for state in ("quiet", "busy"):
    names = sorted({n for (st, n, _) in rows if st == state})
    for n in names:
        cells = [rows.get((state, n, s)) for s in settings]
        print(f"{state:<6} {n[:50]:<50}" + "".join(f"{statistics.median(c):>19,.1f}" if c else f"{'':>19}"
                                                   for c in cells))
PY
