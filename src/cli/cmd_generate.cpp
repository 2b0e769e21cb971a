// `seek generate` and `seek chat`: text generation with the inference engine (src/infer). generate streams
// the completion of one prompt (or prints n samples, or JSON with per-token log-probs) and ends with a timing
// line on stderr; chat is an interactive DeepSeek-format conversation that shows the <think> part apart from
// the answer. Options shared by both are added by add_model_options / add_sampling_options.
#include <fmt/core.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/infer_flags.hpp"
#include "cli/registry.hpp"
#include "core/error.hpp"
#include "infer/engine.hpp"
#include "infer/model.hpp"
#include "infer/token_ids.hpp"
#include "tokenizer/tokenizer.hpp"

namespace seek::cli {
namespace {

struct ModelOptions {
  std::string dir;
  bool bf16 = false, naive = false;
  CacheType kv_cache = CacheType::F32;
  int64_t ctx = 0;
  int max_batch = 64;
};

void add_model_options(CLI::App& app, ModelOptions& o) {
  app.add_option("--model", o.dir, "model directory (config.json, safetensors, optional tokenizer.json)")
      ->required();
  app.add_flag("--bf16", o.bf16,
               "keep projection weights as bf16 in memory: half the traffic; fp32 accumulation, inputs "
               "rounded to bf16 in the products oneDNN runs (README, Limits)");
  app.add_flag("--naive", o.naive, "naive MLA (decompressed per-head KV cache) instead of the absorbed form");
  add_kv_cache_option(app, o.kv_cache);
  app.add_option("--ctx", o.ctx, "context limit in tokens (default: max_position_embeddings)");
  app.add_option("--max-batch", o.max_batch, "sequences decoded at once")->check(CLI::PositiveNumber);
}

void add_sampling_options(CLI::App& app, SamplingParams& p) {
  app.add_option("--max-new-tokens,-n", p.max_new_tokens, "tokens to generate at most");
  app.add_option("--temperature,-t", p.temperature, "0 = greedy");
  app.add_option("--top-k", p.top_k, "keep the k most likely tokens (0 = off)");
  app.add_option("--top-p", p.top_p, "nucleus: smallest set with this much probability (1 = off)");
  app.add_option("--min-p", p.min_p, "drop tokens below min_p times the best probability (0 = off)");
  app.add_option("--repetition-penalty", p.repetition_penalty, "CTRL-style penalty on prompt+output tokens");
  app.add_option("--presence-penalty", p.presence_penalty, "subtracted from tokens already generated");
  app.add_option("--frequency-penalty", p.frequency_penalty, "subtracted per earlier occurrence");
  app.add_option("--seed", p.seed, "random seed (samples repeat for a fixed seed)");
  app.add_option("--stop", p.stop, "stop string (repeatable)");
  app.add_option("--stop-token", p.stop_tokens, "stop token id (repeatable; EOS always stops)");
  app.add_flag("--ignore-eos", p.ignore_eos, "keep generating after EOS");
}

struct Loaded {
  std::unique_ptr<InferModel> model;
  std::unique_ptr<Tokenizer> tok;
};

Loaded load(const ModelOptions& o) {
  Loaded l;
  InferLoadOptions lo;
  lo.format = o.bf16 ? WeightFormat::BF16 : WeightFormat::F32;
  l.model = InferModel::load(o.dir, lo);
  l.tok = load_tokenizer(o.dir);
  return l;
}

EngineOptions engine_options(const ModelOptions& o) {
  EngineOptions e;
  e.form = o.naive ? AttnForm::Naive : AttnForm::Absorbed;
  e.cache_type = o.kv_cache;
  e.max_context = o.ctx;
  e.max_batch = o.max_batch;
  return e;
}

std::string timing_line(const Engine& e) {
  const EngineStats& s = e.stats();
  return fmt::format(
      "[seek] prompt {} tokens, {:.1f} tokens/s | generated {} tokens, {:.1f} tokens/s | KV cache {} "
      "bytes/token ({} {}), peak {:.2f} MB",
      s.prompt_tokens, s.prompt_tps(), s.generated_tokens, s.decode_tps(), s.cache_bytes_per_token,
      e.form() == AttnForm::Absorbed ? "absorbed latent" : "naive", cache_type_name(e.cache().type()),
      double(s.peak_cache_bytes) / 1e6);
}

// ---- generate
// ----------------------------------------------------------------------------------------------

struct GenerateOptions {
  ModelOptions model;
  SamplingParams sampling;
  std::string prompt, ids;
  bool chat = false, no_bos = false, json = false;
  int samples = 1;
  int logprobs = 0;
};

void run_generate(GenerateOptions& o) {
  Loaded l = load(o.model);
  GenRequest req;
  SEEK_CHECK(!o.prompt.empty() || !o.ids.empty(), "give a --prompt or --ids");
  if (!o.ids.empty()) {
    req.prompt = parse_token_ids(o.ids);
  } else if (o.chat) {
    ChatOptions co;
    co.add_generation_prompt = true;
    req.prompt = encode_chat(*l.tok, {{"user", o.prompt}}, co);
  } else {
    req.prompt = l.tok->encode(o.prompt, !o.no_bos, true);
  }
  req.params = o.sampling;
  req.params.top_logprobs = o.logprobs;
  req.n = o.samples;
  Engine engine(*l.model, l.tok.get(), engine_options(o.model));
  const bool stream = o.samples == 1 && !o.json;
  if (stream)
    engine.on_token = [](const TokenEvent& ev) {
      if (ev.text.empty()) return;
      fmt::print("{}", ev.text);
      std::fflush(stdout);
    };
  engine.submit(std::move(req));
  engine.run();
  const auto& out = engine.completions(0);
  if (o.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const Completion& c : out) {
      nlohmann::json top = nlohmann::json::array();
      for (const auto& alts : c.top) {
        nlohmann::json a = nlohmann::json::array();
        for (const auto& t : alts) a.push_back({{"token", t.token}, {"logprob", t.logprob}});
        top.push_back(a);
      }
      j.push_back({{"text", c.text},
                   {"tokens", c.tokens},
                   {"logprobs", c.logprobs},
                   {"top_logprobs", top},
                   {"finish_reason", finish_reason_name(c.finish)}});
    }
    fmt::print("{}\n", j.dump());
  } else if (stream) {
    fmt::print("\n");
  } else {
    for (size_t s = 0; s < out.size(); ++s)
      fmt::print("--- sample {} ({}) ---\n{}\n", s, finish_reason_name(out[s].finish), out[s].text);
  }
  if (o.logprobs > 0 && !o.json) {
    for (size_t i = 0; i < out[0].tokens.size(); ++i) {
      std::string alts;
      for (const auto& t : out[0].top[i]) alts += fmt::format(" {}:{:.3f}", t.token, t.logprob);
      fmt::print(stderr, "token {:>6} logprob {:8.4f} | top{}\n", out[0].tokens[i], out[0].logprobs[i], alts);
    }
  }
  fmt::print(stderr, "{} | finish: {}\n", timing_line(engine), finish_reason_name(out[0].finish));
}

RegisterCommand reg_generate(
    "generate", "Generate text from a prompt (streams tokens, then a timing line)", [](CLI::App& app) {
      auto o = std::make_shared<GenerateOptions>();
      o->sampling.temperature = 0.8f;
      o->sampling.top_k = 40;
      o->sampling.top_p = 0.95f;
      o->sampling.min_p = 0.05f;
      o->sampling.max_new_tokens = 128;
      add_model_options(app, o->model);
      app.add_option("--prompt,-p", o->prompt, "prompt text");
      app.add_option("--ids", o->ids, "prompt as comma-separated token ids instead of text");
      app.add_flag("--chat", o->chat, "wrap the prompt as one user turn in the DeepSeek chat format");
      app.add_flag("--no-bos", o->no_bos, "do not add the tokenizer's BOS token");
      app.add_option("--samples", o->samples, "samples of the prompt (share its prefill)")
          ->check(CLI::PositiveNumber);
      app.add_option("--logprobs", o->logprobs, "also show the top-N alternatives of each token");
      app.add_flag("--json", o->json, "print the completions as JSON (text, tokens, logprobs)");
      add_sampling_options(app, o->sampling);
      app.callback([o] { run_generate(*o); });
    });

// ---- chat
// --------------------------------------------------------------------------------------------------

struct ChatCliOptions {
  ModelOptions model;
  SamplingParams sampling;
  std::string style = "v3", system;
};

// Splits streamed text into the reasoning (<think> ... </think>) and the answer, printing the reasoning
// dimmed (or under a header when stdout is not a terminal).
class ThinkPrinter {
 public:
  ThinkPrinter(bool in_think, bool tty) : in_think_(in_think), tty_(tty) {
    if (in_think_) open();
  }
  void feed(const std::string& s) {
    pending_ += s;
    for (;;) {
      const std::string_view tag = in_think_ ? tokens::kEndThink : tokens::kThink;
      size_t at = pending_.find(tag);
      if (at == std::string::npos) {
        // Keep a possible partial tag back.
        size_t keep = std::min(pending_.size(), tag.size() - 1);
        emit(pending_.substr(0, pending_.size() - keep));
        pending_.erase(0, pending_.size() - keep);
        return;
      }
      emit(pending_.substr(0, at));
      pending_.erase(0, at + tag.size());
      if (in_think_) {
        close();
      } else {
        open();
      }
    }
  }
  void end() {
    emit(pending_);
    pending_.clear();
    if (in_think_) close();
    fmt::print("\n");
  }

 private:
  void open() {
    in_think_ = true;
    fmt::print("{}", tty_ ? "\x1b[2m" : "[thinking]\n");
  }
  void close() {
    in_think_ = false;
    fmt::print("{}", tty_ ? "\x1b[0m\n" : "\n[answer]\n");
  }
  void emit(const std::string& s) {
    fmt::print("{}", s);
    std::fflush(stdout);
  }
  bool in_think_, tty_;
  std::string pending_;
};

void run_chat(ChatCliOptions& o) {
  SEEK_CHECK(o.style == "v3" || o.style == "r1", "--style must be v3 or r1, not '{}'", o.style);
  Loaded l = load(o.model);
  ChatOptions co;
  co.style = o.style == "r1" ? ChatStyle::R1 : ChatStyle::V3;
  co.add_generation_prompt = true;
  std::vector<ChatMessage> history;
  if (!o.system.empty()) history.push_back({"system", o.system});
  const bool tty = isatty(0) && isatty(1);
  fmt::print(stderr, "seek chat: {} ({} style); empty line or Ctrl-D ends\n", o.model.dir, o.style);
  std::string line;
  for (uint64_t turn = 0;; ++turn) {
    if (tty) fmt::print("> ");
    std::fflush(stdout);
    if (!std::getline(std::cin, line) || line.empty()) break;
    history.push_back({"user", line});
    GenRequest req;
    req.prompt = encode_chat(*l.tok, history, co);
    req.params = o.sampling;
    req.params.seed = o.sampling.seed + turn;
    req.params.stop.push_back(std::string(tokens::kUser));
    Engine engine(*l.model, l.tok.get(), engine_options(o.model));
    // R1's generation prompt already opened <think>.
    ThinkPrinter printer(co.style == ChatStyle::R1, tty);
    engine.on_token = [&](const TokenEvent& ev) { printer.feed(ev.text); };
    engine.submit(std::move(req));
    engine.run();
    printer.end();
    history.push_back({"assistant", engine.completions(0)[0].text});
    fmt::print(stderr, "{}\n", timing_line(engine));
  }
}

RegisterCommand reg_chat("chat", "Interactive chat in the DeepSeek format (<think> shown apart)",
                         [](CLI::App& app) {
                           auto o = std::make_shared<ChatCliOptions>();
                           o->sampling.temperature = 0.6f;
                           o->sampling.top_p = 0.95f;
                           o->sampling.max_new_tokens = 1024;
                           add_model_options(app, o->model);
                           app.add_option("--style", o->style,
                                          "chat format: v3 or r1 (r1 starts the answer inside <think>)");
                           app.add_option("--system", o->system, "system prompt");
                           add_sampling_options(app, o->sampling);
                           app.callback([o] { run_chat(*o); });
                         });

}  // namespace
}  // namespace seek::cli
