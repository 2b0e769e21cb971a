// `seek logits` (float32 [T, vocab] logits of one full forward pass, written as .npy) and `seek perplexity`
// (exp of the mean next-token negative log-likelihood of a text file, in windows of --ctx tokens).
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/infer_flags.hpp"
#include "cli/output_file.hpp"
#include "cli/registry.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/read_file.hpp"
#include "core/resources.hpp"
#include "core/stderr.hpp"
#include "infer/model.hpp"
#include "infer/npy.hpp"
#include "infer/runner.hpp"
#include "infer/token_ids.hpp"
#include "tokenizer/tokenizer.hpp"

namespace seek::cli {
namespace {

struct LogitsOptions {
  std::string model, ids, prompt, file, out;
  bool bf16 = false, naive = false, no_parse_special = false;
  // Given on the command line, even as "": an empty --prompt is BOS alone.
  bool ids_given = false, prompt_given = false, file_given = false;
  CacheType kv_cache = CacheType::F32;
};

std::unique_ptr<InferModel> load_model(const std::string& dir, bool bf16) {
  check_model_dir(dir);
  InferLoadOptions lo;
  lo.format = bf16 ? WeightFormat::BF16 : WeightFormat::F32;
  return InferModel::load(dir, lo);
}

// Tokens run through the model per forward call.
constexpr int64_t kChunk = 512;

// Runs `ids` through the runner in chunks (one fresh cache); calls row(t, logits of position t) for all t.
template <typename F>
void forward_all(Runner& run, const std::vector<int32_t>& ids, int64_t chunk, F&& row) {
  const int64_t T = int64_t(ids.size()), V = run.model().config().vocab_size;
  KvCache cache = run.make_cache();
  const int s = cache.create();
  std::vector<float> logits;
  for (int64_t t0 = 0; t0 < T; t0 += chunk) {
    const int64_t n = std::min(chunk, T - t0);
    cache.prepare(s, t0, t0 + n);
    RunnerBatch b;
    for (int64_t t = t0; t < t0 + n; ++t) b.add(ids[size_t(t)], int32_t(t), s, true);
    logits.resize(size_t(n * V));
    run.forward(b, cache, logits.data());
    for (int64_t i = 0; i < n; ++i) row(t0 + i, logits.data() + i * V);
  }
}

// Refuses a run whose KV cache for `tokens` positions (whole blocks), plus `extra` bytes, cannot fit in the
// memory available, before it runs: the cache grows a block at a time, so a run that could not fit ended in
// std::bad_alloc (an internal error) or the OOM killer after minutes of work. `what` says whose cache it is.
void check_cache_memory(const Runner& run, int64_t tokens, int64_t extra, const std::string& what,
                        const std::string& shorter) {
  const KvCache probe = run.make_cache();  // allocates nothing until a sequence grows
  const int64_t bt = probe.block_tokens();
  const int64_t bytes = (tokens + bt - 1) / bt * bt * probe.bytes_per_token();
  std::string ways = shorter;
  if (run.form() == AttnForm::Naive) ways += ", run without --naive (the absorbed cache is smaller)";
  if (run.cache_type() == CacheType::F32) ways += ", or use --kv-cache bf16 or fp8";
  check_memory_for(bytes + extra,
                   fmt::format("the KV cache of {} ({} per token: {}, {}) and the logits", what,
                               format_bytes(probe.bytes_per_token()), cache_type_name(run.cache_type()),
                               run.form() == AttnForm::Naive ? "naive" : "absorbed"),
                   "; " + ways);
}

// The first value of the [T, V] logits that is NaN or infinite, as an error naming its place.
void check_finite(const std::vector<float>& all, const std::vector<int32_t>& ids, int64_t V) {
  const auto bad = std::find_if(all.begin(), all.end(), [](float x) { return !std::isfinite(x); });
  if (bad == all.end()) return;
  const int64_t at = bad - all.begin(), t = at / V;
  fail(
      "the logits are not finite: {} at token position {} (input id {}), vocab id {}; nothing written. The "
      "weights or a cache type (--bf16, --kv-cache) may overflow: check the checkpoint, or run without them",
      *bad, t, ids[size_t(t)], at % V);
}

void run_logits(const LogitsOptions& o) {
  check_one_prompt_source(o.prompt_given, o.file_given, o.ids_given);
  // Before the model loads: /dev/null, a read-only file or the model's own weights are refused at once.
  check_output_path(o.out, "--out", {o.model}, {o.file_given && o.file != "-" ? o.file : ""});
  std::vector<int32_t> ids;
  SEEK_CHECK(!(o.ids_given && o.no_parse_special),
             "--no-parse-special shapes --prompt or --file text; --ids go to the model as given, so drop it");
  if (o.ids_given) ids = parse_token_ids(o.ids, "--ids");
  const std::string text = o.file_given ? read_prompt_file(o.file) : o.prompt;
  if (!o.file_given) check_utf8_text(text, "--prompt");
  auto model = load_model(o.model, o.bf16);
  if (!o.ids_given) {
    const ModelTokenizer tok = load_model_tokenizer(o.model);
    tok.check_text_fits(model->config().vocab_size, true);
    ids = tok.tok->encode(text, true, !o.no_parse_special);
    SEEK_CHECK(!ids.empty(), "{} is empty and {}: no token to run", o.file_given ? "--file" : "--prompt",
               why_no_bos(*tok.tok));
  }
  const ModelConfig& c = model->config();
  SEEK_CHECK(int64_t(ids.size()) <= c.max_position_embeddings,
             "{} {} are longer than the context of {} tokens ({}){}", ids.size(),
             o.ids_given ? "ids" : "tokens (BOS included)", c.max_position_embeddings, c.context_source(),
             o.ids_given ? "" : "; seek perplexity scores a longer text in windows");
  for (int32_t t : ids)
    SEEK_CHECK(t < c.vocab_size, "unknown token id {} (the vocabulary has {} tokens)", t, c.vocab_size);
  // RoPE tables for the positions run, not the model's whole context (2^31 positions were gigabytes).
  Runner run(*model, o.naive ? AttnForm::Naive : AttnForm::Absorbed, o.kv_cache, int64_t(ids.size()));
  const int64_t T = int64_t(ids.size()), V = c.vocab_size;
  // All of them are held to be checked and written in one piece: T × V can outgrow memory on a real
  // vocabulary (163,840 positions of V3's 129,280 are 85 GB).
  check_memory_for(T * V * 4, fmt::format("the float32 [{}, {}] logits of {} ids", T, V, T),
                   "; give a shorter input");
  check_cache_memory(run, T, (T + std::min<int64_t>(T, kChunk)) * V * 4, fmt::format("{} ids", T),
                     "give a shorter input");
  std::vector<float> all(size_t(T * V));
  ProgressLine progress("logits", T, "tokens");
  forward_all(run, ids, kChunk, [&](int64_t t, const float* l) {
    std::copy(l, l + V, all.data() + t * V);
    progress.update(t + 1,
                    [&](double elapsed) { return fmt::format("{:.1f} tokens/s", double(t + 1) / elapsed); });
  });
  progress.finish();
  check_finite(all, ids, V);
  write_npy(o.out, all.data(), {T, V});
  print_stderr("wrote {} (float32 [{}, {}])\n", o.out, T, V);
}

RegisterCommand reg_logits(
    "logits", "Write the float32 [T, vocab] logits of a forward pass as .npy", [](CLI::App& app) {
      auto o = std::make_shared<LogitsOptions>();
      app.add_option("--model", o->model, "model directory")->required();
      app.add_option("--ids", o->ids, "token ids (commas and/or spaces between, [ ] allowed)");
      app.add_option("--prompt", o->prompt, "text (tokenized with BOS) instead of ids");
      app.add_option("--file,-f", o->file,
                     "text from a file ('-': standard input), less one final "
                     "newline, instead of ids");
      app.add_option("--out", o->out, "output .npy file")->required();
      app.add_flag("--no-parse-special", o->no_parse_special,
                   "read the text of tokens marked special in tokenizer.json (BOS, EOS, ...) as plain text");
      add_forward_options(app, o->bf16, o->naive, o->kv_cache);
      app.callback([o, &app] {
        o->ids_given = app.count("--ids") > 0;
        o->prompt_given = app.count("--prompt") > 0;
        o->file_given = app.count("--file") > 0;
        run_logits(*o);
      });
    });

struct PerplexityOptions {
  std::string model, file;
  int64_t ctx = 0, stride = 0;
  bool bf16 = false, naive = false, no_bos = false, parse_special = false;
  CacheType kv_cache = CacheType::F32;
};

void run_perplexity(const PerplexityOptions& o) {
  SEEK_CHECK(!o.file.empty(), "--file is empty; give the text file to score, or '-' for standard input");
  // Scored whole, final newline included, as the text was written (pretraining data keeps it too).
  const bool from_stdin = o.file == "-";
  const std::string source = from_stdin ? "standard input" : o.file;
  // With both flags given, before the text is read and the model loads (the default window needs
  // config.json).
  SEEK_CHECK(o.ctx == 0 || o.stride <= o.ctx,
             "--stride {} is longer than the window of {} tokens (--ctx); windows would skip tokens",
             o.stride, o.ctx);
  if (!from_stdin) refuse_device(o.file);
  const std::string text = read_input(o.file);
  SEEK_CHECK(!text.empty(), "{} is empty; nothing to score", source);
  check_utf8_file(text, source);
  auto model = load_model(o.model, o.bf16);
  const ModelTokenizer tok = load_model_tokenizer(o.model);
  const ModelConfig& c = model->config();
  if (o.ctx > 0) check_context_flag(o.ctx, c, "--ctx");
  tok.check_text_fits(c.vocab_size, false);
  // BOS first unless --no-bos, as Hugging Face's DeepSeek tokenizers encode text (add_bos_token), so the
  // first token is scored too, in the setting a Hugging Face sliding-window evaluation uses. Special-token
  // strings are plain text, as `seek train` reads pretraining text, unless --parse-special (as Hugging
  // Face's tokenizers read them by default; what chat-format transcripts need).
  std::vector<int32_t> ids = tok.tok->encode(text, !o.no_bos, o.parse_special);
  const int64_t ctx = o.ctx > 0 ? o.ctx : std::min<int64_t>(c.max_position_embeddings, 1024);
  SEEK_CHECK(ctx >= 2, "the model's context of {} tokens is too short to score a token", ctx);
  SEEK_CHECK(o.stride <= ctx,
             "--stride {} is longer than the window of {} tokens (--ctx); windows would skip tokens",
             o.stride, ctx);
  const int64_t stride = o.stride > 0 ? o.stride : ctx;
  SEEK_CHECK(ids.size() >= 2, "{} has fewer than 2 tokens ({}); nothing to score", source, ids.size());
  Runner run(*model, o.naive ? AttnForm::Naive : AttnForm::Absorbed, o.kv_cache, ctx);
  const int64_t N = int64_t(ids.size()), V = c.vocab_size;
  // One window's cache at a time (a fresh one per window), and one chunk's logits.
  const int64_t window = std::min(ctx, N);
  check_cache_memory(run, window, std::min(window, kChunk) * V * 4,
                     fmt::format("a window of {} tokens", window), "give a smaller --ctx");
  double nll = 0;
  int64_t scored = 0, processed = 0;
  const auto t0 = std::chrono::steady_clock::now();
  // Windows [begin, begin + ctx); a window scores the targets from max(begin + 1, previous window's end), so
  // every token is predicted at most once; with overlap (stride < ctx) later windows give each scored token
  // ctx - stride or more tokens of left context. Without overlap a window's first token is not scored.
  int64_t work = 0;  // positions the windows run, overlaps counted
  for (int64_t begin = 0;; begin += stride) {
    work += std::min(begin + ctx, N) - begin;
    if (begin + ctx >= N) break;
  }
  // Small strides multiply the work (stride 1 runs a whole window per token): said up front, since the
  // result line only comes at the end.
  if (work >= 4 * N)
    print_stderr(
        "note: windows of {} tokens moved by {} run {} positions for {} tokens ({:.0f}x); a larger "
        "--stride scores with less overlap\n",
        ctx, stride, work, N, double(work) / double(N));
  ProgressLine progress("perplexity", work, "positions");
  int64_t prev_end = 0;
  for (int64_t begin = 0; prev_end < N; begin += stride) {
    const int64_t end = std::min(begin + ctx, N);
    std::vector<int32_t> win(ids.begin() + begin, ids.begin() + end);
    forward_all(run, win, kChunk, [&](int64_t t, const float* l) {
      progress.update(processed + t + 1, [&](double elapsed) {
        return fmt::format("perplexity so far {:.4f} | {:.1f} tokens/s",
                           scored > 0 ? std::exp(nll / double(scored)) : NAN,
                           double(processed + t + 1) / elapsed);
      });
      const int64_t target_pos = begin + t + 1;
      if (target_pos >= end || target_pos < std::max(begin + 1, prev_end)) return;
      double mx = l[0];
      for (int64_t v = 1; v < V; ++v) mx = std::max(mx, double(l[v]));
      double z = 0;
      for (int64_t v = 0; v < V; ++v) z += std::exp(double(l[v]) - mx);
      const double lp = double(l[ids[size_t(target_pos)]]) - mx - std::log(z);
      SEEK_CHECK(std::isfinite(lp),
                 "the log-probability of token {} at position {} is {}: the model's logits there are not "
                 "finite (check the checkpoint, or run without --bf16 / --kv-cache)",
                 ids[size_t(target_pos)], target_pos, lp);
      nll -= lp;
      ++scored;
    });
    processed += end - begin;
    prev_end = end;
    if (end == N) break;
  }
  progress.finish();
  SEEK_CHECK(processed == work, "internal: perplexity ran {} positions, planned {}", processed, work);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The rate counts the positions the windows ran, which overlapping windows (stride < window) make many
  // times the tokens scored.
  fmt::print(
      "perplexity {:.6g} (mean NLL {:.6g} nats over {} token{}; window {}, stride {}; ran {} positions at "
      "{:.1f} tokens/s)\n",
      std::exp(nll / double(scored)), nll / double(scored), scored, scored == 1 ? "" : "s", ctx, stride,
      processed, double(processed) / secs);
}

RegisterCommand reg_ppl("perplexity", "Perplexity of a text file under the model", [](CLI::App& app) {
  auto o = std::make_shared<PerplexityOptions>();
  app.add_option("--model", o->model, "model directory")->required();
  app.add_option("--file,-f", o->file, "text file ('-': standard input), scored whole")->required();
  app.add_option("--ctx", o->ctx, "window in tokens, >= 2 (default min(max_position_embeddings, 1024))")
      ->transform(at_least<int64_t>(2));
  app.add_option("--stride", o->stride, "window step, at most the window (default: the window, no overlap)")
      ->transform(at_least<int64_t>(1));
  app.add_flag("--no-bos", o->no_bos,
               "score the text as it is, without a BOS token before it (nor the EOS after it that "
               "tokenizer_config.json's add_eos_token adds)");
  app.add_flag(
      "--parse-special", o->parse_special,
      "read the text of tokens marked special in tokenizer.json (BOS, EOS, ...) as those tokens, not as "
      "plain text");
  add_forward_options(app, o->bf16, o->naive, o->kv_cache);
  app.callback([o] { run_perplexity(*o); });
});

}  // namespace
}  // namespace seek::cli
