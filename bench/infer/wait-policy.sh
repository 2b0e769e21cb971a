#!/bin/sh
# What OpenMP's wait policy does to seek's decode: small.json's batch-1 and batch-64 decode rows and the
# V2-Lite-shaped batch-1 one, with seek's default (neither variable set: GOMP_SPINCOUNT=1000, see
# src/core/openmp_wait.hpp), libgomp's own default (GOMP_SPINCOUNT=300000, what a program gets that does not
# choose), OMP_WAIT_POLICY=ACTIVE and OMP_WAIT_POLICY=PASSIVE; first on the quiet machine, then with one busy
# process per core beside it (a machine shared with other jobs).
# Usage, from the repository root after building bench_infer in build/release:
#   sh bench/infer/wait-policy.sh [build dir, default build/release]
set -eu
BUILD=${1:-build/release}
FILTER='^decode/small/absorbed/batch:(1|64)/|^decode/v2lite/absorbed/batch:1/|memory_bandwidth'
export OMP_NUM_THREADS=2
run() {  # $1 = label; the policy comes from the environment
  "$BUILD/bench/bench_infer" --benchmark_filter="$FILTER" --benchmark_min_time=0.5 2>/dev/null |
    awk -v label="$1" '/real_time/ { for (i = 1; i <= NF; ++i) if ($i ~ /^(tok|GB)_s=/) v = $i;
                                     printf "%-40s %-50s %s\n", label, $1, v }'
}
measure() {  # $1 = machine state
  (unset OMP_WAIT_POLICY GOMP_SPINCOUNT; run "$1, seek's default")
  (unset OMP_WAIT_POLICY; GOMP_SPINCOUNT=300000 run "$1, libgomp's default")
  (unset GOMP_SPINCOUNT; OMP_WAIT_POLICY=ACTIVE run "$1, ACTIVE")
  (unset GOMP_SPINCOUNT; OMP_WAIT_POLICY=PASSIVE run "$1, PASSIVE")
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
