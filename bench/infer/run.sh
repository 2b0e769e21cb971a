#!/bin/sh
# Inference benchmark of the C++ engine (bench_infer): prefill, decode, absorbed vs naive, attention, sampling.
# The comparison with PyTorch is bench/infer/vs-torch.sh. Usage, from the repository root after building
# bench_infer in build/release:
#   sh bench/infer/run.sh [build dir]           (results: bench/infer/results/*.json)
# and ends with the ratios of bench/infer/summary.py over those files (each row against its peer of this run).
# 2 threads, OMP_WAIT_POLICY=ACTIVE unless set: seek's best on a dedicated machine (see vs-torch.sh). On a
# machine shared with other jobs, OpenMP regions stall whenever another process holds a core; run when the
# machine is quiet, and compare the counters' real time rather than CPU time.
set -eu
BUILD=${1:-build/release}
OUT=bench/infer/results
mkdir -p "$OUT"
export OMP_NUM_THREADS=2 OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-ACTIVE}
lscpu | grep -E "Model name|^CPU\(s\)|L3" > "$OUT/machine.txt"
# This host's memory bandwidth drifts by up to 2x over minutes, which moves memory-bound rows (batch 1, the
# naive cache) against compute-bound ones (batch 64, the absorbed cache). So each row runs 3 times with the
# repetitions of all rows shuffled together, and the JSON keeps mean / median / stddev (cite the median).
REPS="--benchmark_repetitions=3 --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true"
"$BUILD/bench/bench_infer" --benchmark_filter='memory|small' --benchmark_min_time=0.5 $REPS \
  --benchmark_out="$OUT/cpp_small.json" --benchmark_out_format=json
"$BUILD/bench/bench_infer" --benchmark_filter='^(prefill|experts)/v2lite[-/]|^(decode|context)/v2lite/|memory' --benchmark_min_time=0.3 $REPS \
  --benchmark_out="$OUT/cpp_v2lite.json" --benchmark_out_format=json
"$BUILD/bench/bench_infer" --benchmark_filter='cache_attention' --benchmark_min_time=0.3 $REPS \
  --benchmark_out="$OUT/cpp_cache_attention.json" --benchmark_out_format=json
# Decode through the engine, sampling included (the decode rows take a greedy pick instead).
"$BUILD/bench/bench_infer" --benchmark_filter='^generate/|memory' --benchmark_min_time=0.3 $REPS \
  --benchmark_out="$OUT/cpp_generate.json" --benchmark_out_format=json
"$BUILD/bench/bench_infer" --benchmark_filter='^sample/|^sort/' $REPS \
  --benchmark_out="$OUT/cpp_sample.json" --benchmark_out_format=json
# One V2-Lite MoE layer alone (a 2048-token vocabulary), absorbed vs naive: the part of a step that grows
# with depth, where the 2-layer model's step is mostly its output head and dense layer.
"$BUILD/bench/bench_infer" --benchmark_filter='^layer/|memory' --benchmark_min_time=0.3 $REPS \
  --benchmark_out="$OUT/cpp_layer.json" --benchmark_out_format=json
# The V2-Lite-shaped decode rows once more, 5 repetitions each, for the batch-64 / batch-1 ratios and the
# packed vs row-major comparison, whose batch-1 rows move most with the bandwidth.
"$BUILD/bench/bench_infer" --benchmark_filter='^decode/v2lite/|memory' --benchmark_min_time=0.5 \
  --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \
  --benchmark_out="$OUT/cpp_v2lite_decode.json" --benchmark_out_format=json
# The 4K-context rows of both forms once more, 5 repetitions each: the naive form streams its cache, so its
# rows move with the bandwidth while the absorbed ones do not.
"$BUILD/bench/bench_infer" --benchmark_filter='^(context/v2lite|layer)/.*ctx:4096|memory' --benchmark_min_time=0.3 \
  --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \
  --benchmark_out="$OUT/cpp_4k.json" --benchmark_out_format=json
# Both forms at 4K with bf16 weights (fp32 and bf16 caches), 5 repetitions: a run of their own, since the
# bench holds one model at a time and interleaving them with the fp32 rows would rebuild it for every row.
"$BUILD/bench/bench_infer" --benchmark_filter='^context/v2lite-bf16/|memory' --benchmark_min_time=0.3 \
  --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \
  --benchmark_out="$OUT/cpp_4k_bf16.json" --benchmark_out_format=json
python3 bench/infer/summary.py "$OUT"
