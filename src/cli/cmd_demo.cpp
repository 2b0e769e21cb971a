// `seek demo` (what `make demo` runs): pretrains configs/small.json for a few minutes on a generated
// arithmetic corpus with `seek train`'s own loop (progress line, metrics.jsonl, checkpoints), then samples
// from the trained model so a new user sees the loss fall and text appear.
#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cli/registry.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "model/model_dir.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/trainer.hpp"

namespace seek::cli {
namespace {

namespace fs = std::filesystem;

struct DemoOptions {
  std::string config = std::string(SEEK_SOURCE_DIR) + "/configs/small.json";
  std::string out = "runs/demo";
  int64_t steps = 300;
  int64_t batch = 8;
  int64_t seq = 128;
  double lr = 2e-3;
  uint64_t seed = 1234;
};

// "a+b=c" lines, 8 to a document: structure a small model learns within a few hundred steps.
void write_corpus(const fs::path& path, uint64_t seed) {
  Rng rng(seed);
  std::ofstream f(path);
  SEEK_CHECK(f.good(), "cannot write {}", path.string());
  for (int doc = 0; doc < 6000; ++doc) {
    for (int i = 0; i < 8; ++i) {
      int a = int(rng.below(100)), b = int(rng.below(100));
      f << a << "+" << b << "=" << a + b << "\n";
    }
    f << "<|endoftext|>\n";
  }
}

// Greedy continuation until a newline, recomputing the whole prefix each token (short prompts only; the
// inference engine does this properly with a latent KV cache).
std::string complete_line(Transformer<float>& model, const Tokenizer& tok, const std::string& prompt) {
  std::vector<int32_t> ids = tok.encode(prompt);
  const int64_t V = model.config().vocab_size;
  std::vector<float> logits;
  std::string out;
  for (int i = 0; i < 8; ++i) {
    const int64_t T = int64_t(ids.size());
    logits.resize(size_t(T * V));
    model.forward_logits(ids.data(), 1, T, logits.data());
    const float* last = logits.data() + (T - 1) * V;
    int32_t best = 0;
    for (int32_t v = 1; v < int32_t(tok.vocab_size()); ++v)
      if (last[v] > last[best]) best = v;
    std::string piece = tok.token_bytes(best);
    if (piece == "\n" || best == tok.eos_id()) break;
    out += piece;
    ids.push_back(best);
  }
  return out;
}

void run_demo(const DemoOptions& o) {
  fs::path out = fs::absolute(o.out);
  fs::create_directories(out);
  fs::path corpus = out / "corpus.txt";
  write_corpus(corpus, o.seed);
  fmt::print("seek demo: pretraining {} on a generated arithmetic corpus ({})\n", o.config, corpus.string());
  TrainSettings s;
  s.config = o.config;
  s.data = {corpus.string()};
  s.out = out.string();
  s.batch_size = o.batch;
  s.seq_len = o.seq;
  s.steps = o.steps;
  s.lr = o.lr;
  s.min_lr = o.lr / 10;
  s.warmup_steps = std::min<int64_t>(30, o.steps / 10);
  s.eval_every = std::max<int64_t>(1, o.steps / 5);
  s.eval_batches = 4;
  s.checkpoint_every = o.steps;
  s.keep_last = 1;
  s.log_every = std::max<int64_t>(1, o.steps / 30);
  s.seed = o.seed;
  run_training(s, false);

  auto model = load_model_dir<float>(out / "model");
  auto tok = make_byte_tokenizer();
  Rng rng(o.seed + 1);
  int correct = 0, total = 8;
  fmt::print("\nsamples from the trained model (greedy):\n");
  for (int i = 0; i < total; ++i) {
    int a = int(rng.below(100)), b = int(rng.below(100));
    std::string prompt = fmt::format("{}+{}=", a, b);
    std::string got = complete_line(*model, *tok, prompt);
    bool ok = got == std::to_string(a + b);
    correct += ok;
    fmt::print("  {}{:<6} {}\n", prompt, got, ok ? "correct" : fmt::format("(expected {})", a + b));
  }
  fmt::print("{}/{} correct. Run folder: {} (metrics.jsonl, checkpoints/, model/)\n", correct, total,
             out.string());
}

RegisterCommand reg("demo", "Pretrain configs/small.json on generated arithmetic, then sample from it",
                    [](CLI::App& app) {
                      auto o = std::make_shared<DemoOptions>();
                      app.add_option("--config", o->config, "model config.json");
                      app.add_option("--out", o->out, "run folder (default runs/demo)");
                      app.add_option("--steps", o->steps, "optimizer steps")->check(CLI::PositiveNumber);
                      app.add_option("--batch", o->batch, "sequences per step")->check(CLI::PositiveNumber);
                      app.add_option("--seq", o->seq, "tokens per sequence")->check(CLI::PositiveNumber);
                      app.add_option("--lr", o->lr, "peak learning rate");
                      app.add_option("--seed", o->seed, "random seed");
                      app.callback([o] { run_demo(*o); });
                    });

}  // namespace
}  // namespace seek::cli
