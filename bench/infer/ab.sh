#!/bin/sh
# Before/after comparison of two bench_infer binaries on this noisy host: the two run alternately, ROUNDS
# times each, so that a drift in memory bandwidth (up to 2x over minutes here) hits both alike; every round
# also measures the bandwidth. Usage, from the repository root:
#   sh bench/infer/ab.sh BEFORE_BINARY AFTER_BINARY 'benchmark filter' [ROUNDS, default 2]
# e.g. build the old commit in a worktree, copy its build/release/bench/bench_infer aside, then
#   sh bench/infer/ab.sh /tmp/bench_before build/release/bench/bench_infer '^decode/v2lite/' 3
# Each row runs for at least MIN_TIME seconds (default 0.3); MIN_TIME=3 steadies rows whose steps vary.
# REPS=N (default 1) repeats each row N times within a round and takes the median of those, as
# --benchmark_repetitions does.
# Output: each round's rows as they come (wall time and the row's counters), then a table with, per row, the
# median over the rounds of each side's wall time, after/before (below 1: the after binary is faster) and the
# speed-up before/after, and the medians of its counters (tok_s, GB_s, ...) before -> after. Every row counts,
# whether or not it was registered with UseRealTime (names are shown without Google Benchmark's /real_time);
# a row only one binary has shows "-" for the other. Exit status 1 when a run fails, a run gives no row for
# FILTER (besides memory_bandwidth) or a row reports an error; 2 for bad usage.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 BEFORE AFTER FILTER [ROUNDS]" >&2; exit 2; }
BEFORE=$1 AFTER=$2 FILTER=$3 ROUNDS=${4:-2} REPS=${REPS:-1}
for n in "$ROUNDS" "$REPS"; do
  case $n in
    '' | *[!0-9]* | 0) echo "ab.sh: ROUNDS and REPS must be positive integers (got '$ROUNDS', '$REPS')" >&2; exit 2 ;;
  esac
done
# Check both up front: otherwise a typo in the after path shows only after the before side's first round.
for bin in "$BEFORE" "$AFTER"; do
  if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then echo "ab.sh: '$bin' is not an executable file" >&2; exit 2; fi
done
# OMP_WAIT_POLICY: ACTIVE unless set; set it empty (OMP_WAIT_POLICY= sh bench/infer/ab.sh ...) to run each
# binary with its own default, as a user who never sets it does: bench_infer, like seek, then starts with
# GOMP_SPINCOUNT=1000 (src/core/openmp_wait.hpp), but one built before 68bde74 with libgomp's long spin, so
# give both sides GOMP_SPINCOUNT explicitly to compare code rather than defaults.
export OMP_NUM_THREADS=2 OMP_WAIT_POLICY="${OMP_WAIT_POLICY-ACTIVE}"
[ -n "$OMP_WAIT_POLICY" ] || unset OMP_WAIT_POLICY
work=$(mktemp -d)
# sh runs the EXIT trap on exit, not when a signal kills it: turn Ctrl-C and TERM into an exit.
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
reps=""
# report_aggregates_only keeps the JSON to the mean/median/stddev/cv rows; the median is the one used.
[ "$REPS" -eq 1 ] || reps="--benchmark_repetitions=$REPS --benchmark_report_aggregates_only=true"

# report round FILE BINARY FILTER: print one run's rows; fail when it has none for FILTER or an error row.
# report summary FILTER ROUNDS DIR: the before/after table over DIR/{before,after}-{1..ROUNDS}.json.
report() {
  /usr/bin/python3 - "$@" <<'PY'
import json, math, statistics, sys

SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
KNOWN = {"name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
         "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit", "aggregate_name",
         "aggregate_unit", "label", "error_occurred", "error_message", "skipped", "skip_message"}


def load(path, binary):
    """{name: (seconds, unit, {counter: value})} in run order, and the error rows' messages."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"ab.sh: no benchmark output from {binary} ({e})")
    rows, medians, errors = {}, set(), []
    for b in doc.get("benchmarks", []):
        name = b["run_name"].removesuffix("/real_time")
        if b.get("error_occurred"):
            errors.append(f"{name}: {b.get('error_message', 'error')}")
            continue
        # With REPS > 1 only the median aggregate counts; with REPS = 1 there are only plain iteration rows.
        if b["run_type"] == "aggregate":
            if b.get("aggregate_name") != "median":
                continue
            medians.add(name)
        elif name in medians:
            continue
        counters = {k: v for k, v in b.items() if k not in KNOWN and isinstance(v, (int, float))}
        rows[name] = (b["real_time"] * SECONDS[b["time_unit"]], b["time_unit"], counters)
    return rows, errors


def four_digits(x):
    """x to 4 significant digits, trailing zeros kept so that the columns line up (12.30, 0.08751, 1234)."""
    return f"{x:.{max(0, 3 - math.floor(math.log10(abs(x))))}f}" if x and math.isfinite(x) else f"{x:g}"


def fmt_time(seconds, unit):
    return four_digits(seconds / SECONDS[unit])


def fmt_counter(v):
    return four_digits(v / 1e3) + "k" if abs(v) >= 1e4 else four_digits(v)


def is_bandwidth(name):
    return name.startswith("memory_bandwidth")


mode = sys.argv[1]
if mode == "round":
    path, binary, filt = sys.argv[2:5]
    rows, errors = load(path, binary)
    for name, (t, unit, counters) in rows.items():
        extra = " ".join(f"{k}={fmt_counter(v)}" for k, v in counters.items())
        print(f"{name:<62} {fmt_time(t, unit):>10} {unit:<3} {extra}".rstrip())
    for e in errors:
        print(f"ab.sh: {binary}: {e}", file=sys.stderr)
    # memory_bandwidth is always in the filter: a run with nothing else means FILTER matched nothing here.
    if "memory_bandwidth" not in filt and all(is_bandwidth(n) for n in rows):
        sys.exit(f"ab.sh: {binary} has no benchmark matching '{filt}'")
    sys.exit(1 if errors else 0)

filt, rounds, folder = sys.argv[2], int(sys.argv[3]), sys.argv[4]
sides = {}
for side in ("before", "after"):
    runs = [load(f"{folder}/{side}-{i}.json", side)[0] for i in range(1, rounds + 1)]
    sides[side] = runs
names = []
for side in ("before", "after"):
    for run in sides[side]:
        names += [n for n in run if n not in names]
# Bandwidth last: it is the check on the host, not one of the rows compared.
names.sort(key=is_bandwidth)


def median_of(side, name):
    got = [run[name] for run in sides[side] if name in run]
    if not got:
        return None
    t = statistics.median(g[0] for g in got)
    keys = [k for k in got[0][2]]
    counters = {k: statistics.median(g[2][k] for g in got if k in g[2]) for k in keys}
    return t, got[0][1], counters


print(f"\nmedian of {rounds} round(s) each; after/before < 1 and speed-up > 1 mean the after binary is faster")
print(f"{'row':<50} {'before':>10} {'after':>10} {'unit':<4} {'after/before':>12} {'speed-up':>9}  counters before -> after")
for name in names:
    b, a = median_of("before", name), median_of("after", name)
    unit = (b or a)[1]
    cells = [fmt_time(x[0], unit) if x else "-" for x in (b, a)]
    ratio = f"{a[0] / b[0]:.3f}" if a and b else "-"
    speedup = f"{b[0] / a[0]:.3f}x" if a and b else "-"
    keys = list(dict.fromkeys(list((b or a)[2]) + list((a or b)[2])))
    counters = "  ".join(f"{k} {fmt_counter(b[2][k]) if b and k in b[2] else '-'} -> "
                         f"{fmt_counter(a[2][k]) if a and k in a[2] else '-'}" for k in keys)
    print(f"{name:<50} {cells[0]:>10} {cells[1]:>10} {unit:<4} {ratio:>12} {speedup:>9}  {counters}".rstrip())
PY
}

i=1
while [ "$i" -le "$ROUNDS" ]; do
  for side in before after; do
    bin=$BEFORE
    [ "$side" = after ] && bin=$AFTER
    echo "== round $i, $side ($bin)"
    # JSON, not the console table, so that every row is read the same way whatever its name; stderr stays
    # on the terminal, where the binary's own errors belong.
    rc=0
    # shellcheck disable=SC2086  # $reps is empty or two options
    "$bin" --benchmark_filter="$FILTER|memory_bandwidth" --benchmark_min_time="${MIN_TIME:-0.3}" $reps \
      --benchmark_format=json > "$work/$side-$i.json" || rc=$?
    [ "$rc" -eq 0 ] || { echo "ab.sh: $bin exited with status $rc" >&2; exit 1; }
    report round "$work/$side-$i.json" "$bin" "$FILTER"
  done
  i=$((i + 1))
done
report summary "$FILTER" "$ROUNDS" "$work"
