#!/bin/sh
# Before/after comparison of two bench_infer binaries on this noisy host: the two run alternately, ROUNDS
# times each, so that a drift in memory bandwidth (up to 2x over minutes here) hits both alike; every round
# also measures the bandwidth. Usage, from the repository root:
#   sh bench/infer/ab.sh BEFORE_BINARY AFTER_BINARY 'benchmark filter' [ROUNDS, default 2]
# e.g. build the old commit in a worktree, copy its build/release/bench/bench_infer aside, then
#   sh bench/infer/ab.sh /tmp/bench_before build/release/bench/bench_infer '^decode/v2lite/' 3
# Each row runs for at least MIN_TIME seconds (default 0.3); MIN_TIME=3 steadies rows whose steps vary.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 BEFORE AFTER FILTER [ROUNDS]" >&2; exit 2; }
BEFORE=$1 AFTER=$2 FILTER=$3 ROUNDS=${4:-2}
# OMP_WAIT_POLICY: ACTIVE unless set; set it empty (OMP_WAIT_POLICY= sh bench/infer/ab.sh ...) to run each
# binary with its own default, as a user who never sets it does: bench_infer, like seek, then starts with
# GOMP_SPINCOUNT=1000 (src/core/openmp_wait.hpp), but one built before 68bde74 with libgomp's long spin, so
# give both sides GOMP_SPINCOUNT explicitly to compare code rather than defaults.
export OMP_NUM_THREADS=2 OMP_WAIT_POLICY=${OMP_WAIT_POLICY-ACTIVE}
[ -n "$OMP_WAIT_POLICY" ] || unset OMP_WAIT_POLICY
i=0
while [ "$i" -lt "$ROUNDS" ]; do
  for side in before after; do
    bin=$BEFORE
    [ "$side" = after ] && bin=$AFTER
    echo "== round $((i + 1)), $side ($bin)"
    "$bin" --benchmark_filter="$FILTER|memory_bandwidth" --benchmark_min_time=${MIN_TIME:-0.3} 2>/dev/null |
      grep -E '/real_time' | awk '{ printf "%-62s %10s %-3s %s\n", $1, $2, $3, $NF }'
  done
  i=$((i + 1))
done
