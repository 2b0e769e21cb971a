#!/usr/bin/env bash
# Every benchmark behind BENCHMARKS.md, in one go (`make bench`). Run it on a quiet machine: on a shared
# 2-core box an OpenMP region stalls whenever another process holds a core. Results go to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
SEEK_WITH_TORCH=1 bash scripts/install-deps.sh
build_release bench_gemm bench_attention bench_moe bench_train_step bench_infer \
  bench_tokenizer seek
mkdir -p bench/results
export OMP_NUM_THREADS=2
lscpu | grep -E "Model name|^CPU\(s\)|L2|L3" > bench/results/machine.txt
./build/release/bench/bench_gemm --benchmark_min_time=0.3 --benchmark_repetitions=3 | tee bench/results/gemm.txt
./build/release/bench/bench_attention --benchmark_min_time=0.3 | tee bench/results/attention.txt
./build/release/bench/bench_moe --benchmark_min_time=0.5 | tee bench/results/moe.txt
bash bench/step-vs-torch.sh configs/small.json 8 256 3 | tee bench/results/step_vs_torch.txt
bash bench/train-e2e.sh | tee bench/results/train_e2e.txt
bash bench/grpo-step.sh | tee bench/results/grpo_step.txt
sh bench/infer/run.sh build/release
sh bench/infer/vs-torch.sh build/release 5 | tee bench/results/infer_vs_torch.txt
bash bench/tokenizer/run_bench.sh build/release | tee bench/results/tokenizer.txt
