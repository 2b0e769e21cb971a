#!/usr/bin/env bash
# Every benchmark behind BENCHMARKS.md, in one go (`make bench`). Run it on a quiet machine: on a shared
# 2-core box an OpenMP region stalls whenever another process holds a core. Results go to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
SEEK_WITH_TORCH=1 bash scripts/install-deps.sh
build_release bench_gemm bench_attention bench_moe bench_train_step bench_infer \
  bench_tokenizer bench_sandbox seek
mkdir -p bench/results
export OMP_NUM_THREADS=2
# What the numbers were measured on and with, for whoever compares them later; each line says "unavailable"
# rather than stopping the run when its tool or package is missing.
pkg_version() {  # the installed version of Debian package $1, or "not installed"
  local v
  v=$(dpkg-query -W -f='${Status}|${Version}' "$1" 2>/dev/null) || true
  case $v in "install ok installed|"*) echo "${v#*|}" ;; *) echo "not installed" ;; esac
}
{
  lscpu | grep -E "Model name|^CPU\(s\)|L2|L3" || echo "lscpu: unavailable"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unavailable)"
  # Untracked files count too: a new source file changes the build as much as an edited one.
  if ! changes=$(git status --porcelain 2>/dev/null); then
    echo "uncommitted changes (files): unavailable"
  elif [ -z "$changes" ]; then
    echo "uncommitted changes (files): 0"
  else
    echo "uncommitted changes (files): $(printf '%s\n' "$changes" | wc -l)"
  fi
  echo "g++: $(g++ --version 2>/dev/null | sed -n 1p || echo unavailable)"
  echo "oneDNN (libdnnl-dev): $(pkg_version libdnnl-dev)"
  echo "PyTorch (python3-torch): $(pkg_version python3-torch)"
  # libblas.so.3 is a Debian alternative: OpenBLAS when libopenblas0-pthread is installed, else the reference.
  echo "libblas.so.3: $(readlink -e "/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)/libblas.so.3" \
    || echo unavailable)"
  echo "OpenBLAS (libopenblas0-pthread): $(pkg_version libopenblas0-pthread)"
} > bench/results/machine.txt
./build/release/bench/bench_gemm --benchmark_min_time=0.3 --benchmark_repetitions=3 | tee bench/results/gemm.txt
./build/release/bench/bench_attention --benchmark_min_time=0.3 | tee bench/results/attention.txt
./build/release/bench/bench_moe --benchmark_min_time=0.5 | tee bench/results/moe.txt
bash bench/step-vs-torch.sh configs/small.json 8 256 3 | tee bench/results/step_vs_torch.txt
bash bench/train-e2e.sh | tee bench/results/train_e2e.txt
bash bench/kernel-compiles.sh | tee bench/results/kernel_compiles.txt
bash bench/grpo-step.sh | tee bench/results/grpo_step.txt
./build/release/bench/bench_sandbox --benchmark_min_time=1 --benchmark_repetitions=3 \
  --benchmark_enable_random_interleaving=true | tee bench/results/sandbox.txt
sh bench/infer/run.sh build/release | tee bench/results/infer.txt
sh bench/infer/vs-torch.sh build/release 5 | tee bench/results/infer_vs_torch.txt
bash bench/tokenizer/run_bench.sh build/release | tee bench/results/tokenizer.txt
