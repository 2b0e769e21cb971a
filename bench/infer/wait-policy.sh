#!/bin/sh
# What OpenMP's wait policy does to seek's decode: small.json's batch-1 decode row and the V2-Lite-shaped one
# under OMP_WAIT_POLICY unset (libgomp's default: spin a while, then sleep), ACTIVE and PASSIVE, first on
# the quiet machine, then with one busy process per core beside it (a machine shared with other jobs).
# Usage, from the repository root after building bench_infer in build/release:
#   sh bench/infer/wait-policy.sh [build dir, default build/release]
set -eu
BUILD=${1:-build/release}
FILTER='^decode/(small|v2lite)/absorbed/batch:1/|memory_bandwidth'
export OMP_NUM_THREADS=2
run() {  # $1 = label; the policy comes from the environment
  "$BUILD/bench/bench_infer" --benchmark_filter="$FILTER" --benchmark_min_time=0.5 2>/dev/null |
    awk -v label="$1" '/real_time/ { for (i = 1; i <= NF; ++i) if ($i ~ /^(tok|GB)_s=/) v = $i;
                                     printf "%-22s %-52s %s\n", label, $1, v }'
}
measure() {  # $1 = machine state
  (unset OMP_WAIT_POLICY; run "$1, unset")
  OMP_WAIT_POLICY=ACTIVE run "$1, ACTIVE"
  OMP_WAIT_POLICY=PASSIVE run "$1, PASSIVE"
}
measure quiet
cores=$(nproc)
pids=""
i=0
while [ "$i" -lt "$cores" ]; do
  sh -c 'while :; do :; done' &
  pids="$pids $!"
  i=$((i + 1))
done
trap 'kill $pids 2>/dev/null' EXIT INT TERM
measure "$cores busy processes"
