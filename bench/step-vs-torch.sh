#!/usr/bin/env bash
# One full training step (forward + backward + AdamW) of a config, seek vs the PyTorch reference
# (tests/reference/deepseek_ref.py, float32), same batch, sequence length and 2 threads, measured in the same
# run; prints both JSON lines and the tokens/s ratio.
#   bench/step-vs-torch.sh [config] [batch] [seq] [steps] [warmup steps, default 10]
# The warm-up steps are untimed on both sides: seek's first steps compile oneDNN kernels for the shapes they meet
# (each expert's rows come in buckets, src/kernels/gemm.hpp, which the first steps fill), PyTorch's fill its
# allocator's caches; a training run spends its time in the steady state after them.
# PyTorch gets its best settings on this CPU: Debian's OpenBLAS (libopenblas0-pthread) behind libblas.so.3,
# OPENBLAS_CORETYPE=SKYLAKEX (0.3.21 misdetects the CPU otherwise; set only on a CPU with AVX-512, as that
# core type's kernels use it) and OMP_WAIT_POLICY=PASSIVE.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
config=${1:-configs/small.json}
batch=${2:-8}
seq=${3:-256}
steps=${4:-3}
warmup=${5:-10}
. bench/torch-peer.sh
torch_peer_ready step-vs-torch.sh
torch_env=(OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE)
# SKYLAKEX selects AVX-512 kernels: on a CPU without it they would stop at the first illegal instruction.
if grep -qw avx512f /proc/cpuinfo; then torch_env+=(OPENBLAS_CORETYPE=SKYLAKEX); fi
build_release bench_train_step
# Alternate the two a few times and keep each one's best round: on a shared machine, noise only slows runs
# down, so the best round is the closest to what each implementation can do.
rounds=${ROUNDS:-3}
seek_all=""
torch_all=""
for ((r = 1; r <= rounds; r++)); do
  seek_all+=$(OMP_NUM_THREADS=2 ./build/release/bench/bench_train_step --config "$config" --batch "$batch" \
    --seq "$seq" --steps "$steps" --warmup "$warmup")$'\n'
  torch_all+=$(env "${torch_env[@]}" /usr/bin/python3 bench/torch_step.py --config "$config" --batch "$batch" \
    --seq "$seq" --steps "$steps" --warmup "$warmup" --threads 2 | tail -n 1)$'\n'
done
echo "seek rounds:"
printf '%s' "$seek_all"
echo "torch rounds:"
printf '%s' "$torch_all"
/usr/bin/python3 - "$seek_all" "$torch_all" <<'PY'
import json, sys
seek = [json.loads(l) for l in sys.argv[1].splitlines() if l.strip()]
torch = [json.loads(l) for l in sys.argv[2].splitlines() if l.strip()]
s = max(seek, key=lambda r: r["tokens_per_s"])
t = max(torch, key=lambda r: r["tokens_per_s"])
print(f"best of {len(seek)} rounds each: seek {s['tokens_per_s']:.0f} tok/s ({s['gflops']:.0f} GFLOP/s achieved, "
      f"peak RSS {s['peak_rss_mb']:.0f} MB), torch {t['tokens_per_s']:.0f} tok/s (peak RSS {t['peak_rss_mb']:.0f} MB)")
print(f"ratio seek/torch tokens/s: {s['tokens_per_s'] / t['tokens_per_s']:.2f}x")
PY
