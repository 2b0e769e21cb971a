#!/bin/sh
# seek against the PyTorch generation loop (bench/torch_generate.py), each under the OpenMP wait policy that
# suits it (the measurements behind these choices are in BENCHMARKS.md, "Against PyTorch"). PyTorch runs under
# OMP_WAIT_POLICY=PASSIVE, its best here: under ACTIVE its OpenBLAS threads and its OpenMP threads spin against
# each other on the two cores, and with the policy unset its prefill and batched decode run several times
# slower. seek runs twice: as a user runs it (neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT set, so it picks a
# short spin, src/core/openmp_wait.hpp), which the ratio counts, and under ACTIVE (idle threads spin, which
# saves their wake-up between the many short parallel regions of a decode step); PASSIVE costs seek most on
# small.json, whose step is mostly such regions. The runs alternate for ROUNDS
# rounds so that a drift in this host's memory bandwidth hits all alike; each row's median over the rounds is
# compared. Usage, from the repository root after building bench_infer in build/release:
#   sh bench/infer/vs-torch.sh [build dir, default build/release] [ROUNDS, default 3]
# Output: bench/infer/results/vs-torch/*.json(l) and a table on stdout.
set -eu
BUILD=${1:-build/release}
ROUNDS=${2:-3}
OUT=bench/infer/results/vs-torch
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.jsonl
export OMP_NUM_THREADS=2
unset GOMP_SPINCOUNT
lscpu | grep -E "Model name|^CPU\(s\)|L3" > "$OUT/machine.txt"
# Checked first (PyTorch importable, on OpenBLAS): otherwise the script would fail only after the seek side of
# its first round, or, over the reference BLAS, print ratios ~35× too kind to seek.
. bench/torch-peer.sh
torch_peer_ready vs-torch.sh "$OUT/machine.txt"
FILTER='memory_bandwidth|^prefill/(small|v2lite)/|^decode/(small|v2lite)/absorbed/'
# PyTorch's settings, as bench/step-vs-torch.sh gives them: its OpenBLAS threads capped at OMP_NUM_THREADS, and
# the core type named, as OpenBLAS 0.3.21 misdetects this CPU, but only on a CPU with AVX-512: SKYLAKEX selects
# AVX-512 kernels, which elsewhere would stop at the first illegal instruction.
torch_env="OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=2"
if grep -qw avx512f /proc/cpuinfo; then torch_env="$torch_env OPENBLAS_CORETYPE=SKYLAKEX"; fi
i=1
while [ "$i" -le "$ROUNDS" ]; do
  echo "== round $i of $ROUNDS: seek, its default wait" >&2
  env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$BUILD/bench/bench_infer" --benchmark_filter="$FILTER" \
    --benchmark_min_time=0.5 --benchmark_out="$OUT/seek-$i.json" --benchmark_out_format=json > /dev/null
  echo "== round $i of $ROUNDS: seek, OMP_WAIT_POLICY=ACTIVE" >&2
  env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=ACTIVE "$BUILD/bench/bench_infer" --benchmark_filter="$FILTER" \
    --benchmark_min_time=0.5 --benchmark_out="$OUT/seek-active-$i.json" --benchmark_out_format=json > /dev/null
  echo "== round $i of $ROUNDS: PyTorch, OMP_WAIT_POLICY=PASSIVE" >&2
  # shellcheck disable=SC2086  # $torch_env is a list of NAME=value words
  env $torch_env /usr/bin/python3 bench/torch_generate.py --config configs/small.json --batch 1 16 64 --ctx 128 \
    --prefill 512 > "$OUT/torch-$i.jsonl"
  # shellcheck disable=SC2086
  env $torch_env /usr/bin/python3 bench/torch_generate.py --config bench/infer/v2lite-2layer.json --batch 1 16 64 \
    --ctx 128 --prefill 256 --min-time 0.5 >> "$OUT/torch-$i.jsonl"
  i=$((i + 1))
done
/usr/bin/python3 bench/infer/vs_torch_table.py "$OUT"
