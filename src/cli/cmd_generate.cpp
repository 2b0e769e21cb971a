// `seek generate` and `seek chat`: text generation with the inference engine (src/infer). generate streams
// the completion of one prompt (or prints n samples, or JSON with per-token log-probs) and ends with a timing
// line on stderr; chat is an interactive DeepSeek-format conversation that shows the <think> part apart from
// the answer. Options shared by both are added by add_model_options / add_sampling_options.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cli/infer_flags.hpp"
#include "cli/registry.hpp"
#include "core/count_of.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/resources.hpp"
#include "core/sigpipe_blocked.hpp"
#include "core/stderr.hpp"
#include "core/stdout.hpp"
#include "core/stop_signal.hpp"
#include "infer/engine.hpp"
#include "infer/generation_config.hpp"
#include "infer/model.hpp"
#include "infer/think_printer.hpp"
#include "infer/token_ids.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/utf8.hpp"

namespace seek::cli {
namespace {

// engine.step(), running `end_line` before an error propagates (a penalty that overflows mid-reply): streamed
// text then ends its line instead of running into the error message.
template <typename EndLine>
bool step_ending_line_on_error(Engine& engine, EndLine end_line) {
  try {
    return engine.step();
  } catch (const Error&) {
    end_line();
    flush_stdout();
    throw;
  }
}

struct ModelOptions {
  std::string dir;
  bool bf16 = false, naive = false;
  CacheType kv_cache = CacheType::F32;
  int64_t ctx = 0;
  int max_batch = 64;
  double cache_gib = 0;  // 0: the engine's default budget
  bool no_generation_config = false;
  // The generation_config.json keys whose flag was given on the command line (the flag wins).
  std::set<std::string> sampling_flags_given;
};

void add_model_options(CLI::App& app, ModelOptions& o) {
  app.add_option("--model", o.dir, "model folder (config.json, safetensors, optional tokenizer.json)")
      ->required();
  add_forward_options(app, o.bf16, o.naive, o.kv_cache);
  app.add_option("--ctx", o.ctx,
                 "context limit in tokens, prompt included, at most the model's (default: "
                 "max_position_embeddings)")
      ->transform(at_least<int64_t>(2));
  app.add_flag("--no-generation-config", o.no_generation_config,
               "ignore the model folder's generation_config.json (its sampling defaults and end tokens)");
  app.add_option("--max-batch", o.max_batch,
                 "engine limit on sequences decoded at once across requests (one request's samples always "
                 "run together)")
      ->transform(at_least<int>(1))
      ->capture_default_str();
  app.add_option("--cache-mem", o.cache_gib,
                 "KV cache budget in GiB (default: 90% of the memory available at start); a request that "
                 "could outgrow it is refused before it runs")
      ->check(positive_number("GiB"));
}

// The defaults differ between generate and chat, so --help shows each command's own.
void add_sampling_options(CLI::App& app, SamplingParams& p) {
  app.add_option("--max-new-tokens,-n", p.max_new_tokens, "tokens to generate at most")
      ->transform(at_least<int>(0))
      ->capture_default_str();
  const auto finite = [](float v) { return std::isfinite(v); };
  app.add_option("--temperature,-t", p.temperature, "0 = greedy")
      ->check(temperature_value())
      ->capture_default_str();
  app.add_option("--top-k", p.top_k, "keep the k most likely tokens (0 = off)")
      ->transform(at_least<int>(0))
      ->capture_default_str();
  app.add_option("--top-p", p.top_p, "nucleus: smallest set with this much probability (1 = off)")
      ->check(number_where<float>("in (0, 1]", [](float v) { return v > 0 && v <= 1; }))
      ->capture_default_str();
  app.add_option("--min-p", p.min_p, "drop tokens below min_p times the best probability (0 = off)")
      ->check(number_where<float>("in [0, 1]", [](float v) { return v >= 0 && v <= 1; }))
      ->capture_default_str();
  app.add_option("--repetition-penalty", p.repetition_penalty, "CTRL-style penalty on prompt+output tokens")
      ->check(number_where<float>("a finite number > 0", [](float v) { return std::isfinite(v) && v > 0; }))
      ->capture_default_str();
  app.add_option("--presence-penalty", p.presence_penalty, "subtracted from tokens already generated")
      ->check(number_where<float>("a finite number", finite))
      ->capture_default_str();
  app.add_option("--frequency-penalty", p.frequency_penalty, "subtracted per earlier occurrence")
      ->check(number_where<float>("a finite number", finite))
      ->capture_default_str();
  app.add_option("--seed", p.seed, "random seed (samples repeat for a fixed seed and thread count)")
      ->transform(seed_value())  // transform: its decimal rewrite ("010" is 10, not octal 8) must reach CLI11
      ->capture_default_str();
  // One value per flag: `--stop Q Z` took Z as a second stop string where the user meant "Q Z" (an error
  // now, naming Z).
  app.add_option("--stop", p.stop, "stop string (repeat the flag for more)")
      ->allow_extra_args(false)
      ->check(CLI::Validator(
          [](const std::string& s) {
            return s.empty() ? std::string("a stop string must not be empty") : "";
          },
          ""));
  app.add_option("--stop-token", p.stop_tokens,
                 "stop token id (repeat the flag for more; EOS stops too, unless --ignore-eos)")
      ->transform(at_least<int32_t>(0))
      ->allow_extra_args(false);
  app.add_flag("--ignore-eos", p.ignore_eos, "keep generating after EOS");
}

struct Loaded {
  std::unique_ptr<InferModel> model;
  ModelTokenizer tok;
};

Loaded load(const ModelOptions& o) {
  check_model_dir(o.dir);
  Loaded l;
  InferLoadOptions lo;
  lo.format = o.bf16 ? WeightFormat::BF16 : WeightFormat::F32;
  l.model = InferModel::load(o.dir, lo);
  if (o.ctx > 0) check_context_flag(o.ctx, l.model->config(), "--ctx");
  l.tok = load_model_tokenizer(o.dir);
  return l;
}

// The sampling flags whose defaults generation_config.json may replace, by the file's key.
constexpr std::pair<const char*, const char*> kGenerationConfigFlags[] = {
    {"temperature", "--temperature"},
    {"top_k", "--top-k"},
    {"top_p", "--top-p"},
    {"min_p", "--min-p"},
    {"repetition_penalty", "--repetition-penalty"},
    {"max_new_tokens", "--max-new-tokens"},
};

// What opens the next user turn, a stop string for a chat reply: should the model write that turn instead of
// ending, the reply ends there. V3, R1 and V3.1 open it with a special token, V2 with plain text.
std::string next_user_turn(ChatStyle style) {
  return style == ChatStyle::V2 ? std::string("\n\nUser:") : std::string(tokens::kUser);
}

void note_sampling_flags_given(const CLI::App& app, ModelOptions& o) {
  for (const auto& [key, flag] : kGenerationConfigFlags)
    if (app.count(flag) > 0) o.sampling_flags_given.insert(key);
}

// The model's generation_config.json (infer/generation_config.hpp), as Hugging Face's generate() and vLLM
// read it. Read before the model loads, so a bad file costs no load time: its sampling values replace the
// command's defaults in `p` (flags given win). The note saying what changed and what seek ignores is shown by
// add_generation_config_eos once the model is loaded and the file's end tokens are checked against it, not
// before an error that refuses them.
struct AppliedGenerationConfig {
  std::optional<GenerationConfig> config;
  std::string note;
};

AppliedGenerationConfig use_generation_config(const ModelOptions& o, SamplingParams& p) {
  AppliedGenerationConfig a;
  if (o.no_generation_config) return a;
  a.config = load_generation_config(o.dir);
  if (!a.config) return a;
  const GenerationConfig& g = *a.config;
  const std::string changed =
      apply_generation_config(g, p, [&](const char* key) { return o.sampling_flags_given.count(key) > 0; });
  std::string eos;
  for (int64_t id : g.eos_token_ids) eos += fmt::format("{}{}", eos.empty() ? "" : ", ", id);
  if (!changed.empty() || !eos.empty())
    a.note = fmt::format(
        "[seek] from generation_config.json: {}{}{} (flags override it; --no-generation-config ignores the "
        "file)\n",
        changed, !changed.empty() && !eos.empty() ? "; " : "", eos.empty() ? "" : "end tokens " + eos);
  for (const std::string& u : g.unsupported)
    a.note +=
        fmt::format("[seek] generation_config.json sets {}, which seek does not implement: ignored\n", u);
  return a;
}

// The ids sampling can draw: the engine never samples the rows past the tokenizer's vocabulary (checkpoints
// pad theirs), so an end or stop token there can never end a sample, which is worth a word.
int64_t sampled_vocab(const Loaded& l) {
  return std::min<int64_t>(l.model->config().vocab_size, int64_t(l.tok.tok->vocab_size()));
}

// Once the model is loaded: the file's end tokens join the engine's, and its note is shown.
void add_generation_config_eos(const AppliedGenerationConfig& a, const Loaded& l, EngineOptions& eo) {
  if (!a.config) return;
  const GenerationConfig& g = *a.config;
  check_generation_config_eos(g, l.model->config().vocab_size);
  print_stderr("{}", a.note);
  const int64_t sampled = sampled_vocab(l);
  for (int64_t id : g.eos_token_ids) {
    if (id >= sampled)
      print_stderr(
          "[seek] generation_config.json: end token {} is past the tokenizer's {} tokens, so it is never "
          "generated\n",
          id, sampled);
    eo.extra_eos.push_back(int32_t(id));
  }
}

// --stop-token ids against the model's vocabulary, once it is loaded: the engine would refuse them too, but
// chat only sends a request after the first message is typed.
void check_stop_tokens(const SamplingParams& p, const Loaded& l) {
  const int64_t vocab_size = l.model->config().vocab_size, sampled = sampled_vocab(l);
  for (int32_t t : p.stop_tokens) {
    SEEK_CHECK(t < vocab_size, "--stop-token {} is not a token id: the vocabulary has {} tokens (0 to {})", t,
               vocab_size, vocab_size - 1);
    if (t >= sampled)
      print_stderr("[seek] --stop-token {} is past the tokenizer's {} tokens, so it is never generated\n", t,
                   sampled);
  }
}

EngineOptions engine_options(const ModelOptions& o) {
  EngineOptions e;
  e.form = o.naive ? AttnForm::Naive : AttnForm::Absorbed;
  e.cache_type = o.kv_cache;
  e.max_context = o.ctx;
  e.max_batch = o.max_batch;
  if (o.cache_gib > 0)  // at least one byte (0 would mean the default), at most what int64 holds
    e.max_cache_bytes = int64_t(std::clamp(std::ceil(o.cache_gib * double(int64_t(1) << 30)), 1.0, 9.2e18));
  return e;
}

// The samples' finish reasons: each in sample order for a few samples, else how many ended each way (100000
// samples made a 700 kB line).
std::string finish_reasons(const std::vector<Completion>& out) {
  constexpr size_t kListed = 8;
  std::string text;
  if (out.size() <= kListed) {
    for (const Completion& c : out)
      text += fmt::format("{}{}", text.empty() ? "" : ", ", finish_reason_name(c.finish));
    return text;
  }
  std::vector<std::pair<FinishReason, int64_t>> counts;  // in order of first appearance
  for (const Completion& c : out) {
    auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& n) { return n.first == c.finish; });
    if (it == counts.end()) {
      counts.emplace_back(c.finish, 1);
    } else {
      ++it->second;
    }
  }
  for (const auto& [reason, n] : counts)
    text += fmt::format("{}{} ×{}", text.empty() ? "" : ", ", finish_reason_name(reason), n);
  return text;
}

// Ends with the samples' finish reasons.
std::string timing_line(const Engine& e, const std::vector<Completion>& out) {
  const EngineStats& s = e.stats();
  // The steps that prefill the prompt also sample the first token, so with one new token there is no
  // decode-only step to time: a rate of 0 would be a made-up number.
  const std::string decode_rate = s.decode_step_tokens > 0 && s.decode_seconds > 0
                                      ? fmt::format("{:.1f} tokens/s", s.decode_tps())
                                      : std::string("n/a tokens/s (no decode-only steps)");
  // Chat: the rows the last turn's cache held were not prefilled again.
  const std::string reused =
      s.reused_prompt_tokens > 0 ? fmt::format(" (+{} cached)", s.reused_prompt_tokens) : std::string();
  return fmt::format(
      "[seek] prompt {}{}, {:.1f} tokens/s | generated {}, {} | KV cache {} bytes/token ({} {}), "
      "peak {:.2f} MB | finish: {}",
      count_of(s.prompt_tokens, "token"), reused, s.prompt_tps(), count_of(s.generated_tokens, "token"),
      decode_rate, s.cache_bytes_per_token, e.form() == AttnForm::Absorbed ? "absorbed latent" : "naive",
      cache_type_name(e.cache().type()), double(s.peak_cache_bytes) / 1e6, finish_reasons(out));
}

// ---- generate
// ----------------------------------------------------------------------------------------------

struct GenerateOptions {
  ModelOptions model;
  SamplingParams sampling;
  std::string prompt, ids, file;
  bool chat = false, think = false, no_bos = false, json = false, no_parse_special = false;
  // Given on the command line, even as "": an empty --prompt is BOS alone (unconditional generation).
  bool prompt_given = false, ids_given = false, file_given = false;
  int samples = 1;
  int logprobs = 0;
};

void run_generate(GenerateOptions& o) {
  check_one_prompt_source(o.prompt_given, o.file_given, o.ids_given);
  if (o.file_given) {
    o.prompt = read_prompt_file(o.file);  // before the model loads
    o.prompt_given = true;
  } else if (o.prompt_given) {
    check_utf8_text(o.prompt, "--prompt");
  }
  SEEK_CHECK(
      !o.ids_given || (!o.chat && !o.no_bos && !o.no_parse_special),
      "--chat, --no-bos and --no-parse-special shape --prompt text; --ids go to the model as given, so "
      "drop {}",
      o.chat     ? "--chat"
      : o.no_bos ? "--no-bos"
                 : "--no-parse-special");
  // The chat format's own markers are special tokens written into the same text as the message, as Hugging
  // Face's chat templates write them; only a plain prompt can be read without any.
  SEEK_CHECK(
      !(o.chat && o.no_parse_special),
      "--no-parse-special reads a plain prompt's special-token strings as text; with --chat the format's "
      "markers are such tokens, so drop one of the two");
  SEEK_CHECK(!o.think || o.chat, "--think opens the thinking of a --chat prompt; add --chat");
  // From the model folder's chat template, before the model loads: --think on a model without the switch
  // costs nothing.
  ChatOptions co;
  if (o.chat) {
    check_model_dir(o.model.dir);  // a folder that cannot be opened is named as --model, not by a file in it
    co.style = with_thinking(chat_style_of_noted(o.model.dir, ""), o.think, "--think");
    co.add_generation_prompt = true;
    co.add_bos = !o.no_bos;
  }
  GenRequest req;
  // Parsed and checked before the model loads: a typo in the ids or a sampling flag costs nothing.
  if (o.ids_given) req.prompt = parse_token_ids(o.ids, "--ids");
  req.params = o.sampling;
  req.params.top_logprobs = o.logprobs;
  req.params.validate();
  const AppliedGenerationConfig gc = use_generation_config(o.model, req.params);
  Loaded l = load(o.model);
  check_stop_tokens(req.params, l);
  EngineOptions eo = engine_options(o.model);
  add_generation_config_eos(gc, l, eo);
  if (o.prompt_given) {
    l.tok.check_text_fits(l.model->config().vocab_size, true);
    if (o.chat) {
      req.prompt = encode_chat(*l.tok.tok, {{"user", o.prompt}}, co);
      req.params.stop.push_back(next_user_turn(co.style));
    } else {
      req.prompt = l.tok.tok->encode(o.prompt, !o.no_bos, !o.no_parse_special);
    }
    // (A --file prompt is never empty: read_prompt_file refuses that.)
    SEEK_CHECK(
        !req.prompt.empty(), "--prompt is empty and {}: the model has no token to start from",
        o.no_bos ? "--no-bos leaves out BOS (drop it to generate from BOS alone)" : why_no_bos(*l.tok.tok));
  }
  req.n = o.samples;
  // The engine refuses the same, but cannot say which limit the user set.
  const int64_t model_ctx = l.model->config().max_position_embeddings;
  const int64_t ctx = o.model.ctx > 0 ? o.model.ctx : model_ctx;
  SEEK_CHECK(int64_t(req.prompt.size()) < ctx,
             "the prompt has {} tokens and the context holds {} ({}), so there is no room to generate: {}",
             req.prompt.size(), ctx, o.model.ctx > 0 ? "--ctx" : l.model->config().context_source(),
             o.model.ctx > 0 && o.model.ctx < model_ctx
                 ? fmt::format("raise --ctx (the model allows up to {}) or shorten the prompt", model_ctx)
                 : std::string("shorten the prompt"));
  Engine engine(*l.model, l.tok.tok.get(), eo);
  const bool stream = o.samples == 1 && !o.json;
  const int64_t prompt_tokens = int64_t(req.prompt.size());
  const int max_new_tokens = req.params.max_new_tokens;
  engine.submit(std::move(req));
  // Progress on stderr while a long run shows nothing: the prefill of a streamed completion (its line cleared
  // when the first token prints), or the whole run when the completions print at the end. The token total
  // there is what the samples may reach, so the ETA is an upper bound.
  const int64_t sample_max = std::min<int64_t>(max_new_tokens, ctx - prompt_tokens);
  ProgressLine::Options po;
  po.erase = stream;
  ProgressLine progress(stream ? "prefill" : "generate", stream ? prompt_tokens : o.samples * sample_max,
                        stream ? "prompt tokens" : "tokens of the samples' budget", po);
  int64_t unused = 0;   // tokens finished samples will not generate
  size_t streamed = 0;  // bytes of a streamed sample printed so far
  engine.on_token = [&](const TokenEvent& ev) {
    if (stream) {
      progress.finish();
      if (ev.text.empty()) return;
      streamed += ev.text.size();
      // Printed as text: what the model wrote that is not UTF-8 (a sample cut inside a character, bytes that
      // start none) shows as U+FFFD, as --json writes it. An event never cuts a character it holds whole.
      fmt::print("{}", tok::utf8_repair(ev.text));
      flush_stdout();
      return;
    }
    if (ev.finished) unused += sample_max - int64_t(engine.completions(0)[size_t(ev.sample)].tokens.size());
  };
  // Ctrl-C (or SIGTERM) ends the samples where they are: what they generated is printed as usual, with finish
  // "cancelled", and the process then ends by the signal. A second one quits at once.
  bool stopped = false;
  {
    // Only while generating: a signal while the results print ends the process as usual.
    const StopOnSignal stop("");
    while (step_ending_line_on_error(engine, [&] {
      if (streamed > 0) fmt::print("\n");
    })) {
      check_stdout_writable();
      if (stop.requested("generate")) {
        engine.cancel(0);
        // A signal in the step that finished every sample cut nothing: the run ends as if none had come.
        const auto& done = engine.completions(0);
        stopped = std::any_of(done.begin(), done.end(),
                              [](const Completion& c) { return c.finish == FinishReason::Cancelled; });
        break;
      }
      if (stream)
        progress.update(engine.stats().prompt_tokens, [&](double elapsed) {
          return fmt::format("{:.1f} tokens/s", double(engine.stats().prompt_tokens) / elapsed);
        });
      else
        progress.update(engine.stats().generated_tokens + unused, [&](double elapsed) {
          return fmt::format("{} generated, {:.1f} tokens/s", engine.stats().generated_tokens,
                             double(engine.stats().generated_tokens) / elapsed);
        });
    }
  }
  progress.finish();
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
                   // null when not asked for, as OpenAI's API leaves it out: [] read as "no token".
                   {"top_logprobs", o.logprobs > 0 ? top : nlohmann::json()},
                   {"finish_reason", finish_reason_name(c.finish)}});
    }
    // A completion cut by -n or a stop token can end inside a multi-byte character; strict dump() throws on
    // that, so invalid bytes become U+FFFD (as rl/evaluate.cpp writes completions).
    fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else if (stream) {
    // The tail a stopped sample held back while it could still become a stop string.
    if (stopped)
      fmt::print("{}", tok::utf8_repair(out[0].text.substr(std::min(out[0].text.size(), streamed))));
    fmt::print("\n");
  } else {
    for (size_t s = 0; s < out.size(); ++s)
      fmt::print("--- sample {} ({}) ---\n{}\n", s, finish_reason_name(out[s].finish),
                 tok::utf8_repair(out[s].text));
  }
  flush_stdout();  // the text ends before stderr's lines when both go to one pipe (2>&1 | tee log)
  if (o.logprobs > 0 && !o.json) {
    // Output asked for, not a note: unlike print_stderr's, a failed write is an error (exit 1).
    std::string lines;
    for (size_t s = 0; s < out.size(); ++s) {
      const Completion& c = out[s];
      if (out.size() > 1) lines += fmt::format("--- sample {} log-probabilities ---\n", s);
      for (size_t i = 0; i < c.tokens.size(); ++i) {
        std::string alts;
        // An alternative far below a tiny temperature's peak (-7e44) in 45 digits would be unreadable.
        for (const auto& t : c.top[i])
          alts += t.logprob > -1e6 ? fmt::format(" {}:{:.3f}", t.token, t.logprob)
                                   : fmt::format(" {}:{:.3e}", t.token, t.logprob);
        lines += fmt::format("token {:>6} logprob {:8.4f} | top{}\n", c.tokens[i], c.logprobs[i], alts);
      }
    }
    const SigpipeBlocked no_sigpipe;  // a reader that has gone is a failed write (EPIPE), as a full disk is
    SEEK_CHECK(std::fwrite(lines.data(), 1, lines.size(), stderr) == lines.size() && std::fflush(stderr) == 0,
               "could not write the log-probabilities to standard error ({}); --json prints them on standard "
               "output",
               std::strerror(errno));
  }
  if (stopped) print_stderr("[seek] stopped by a signal\n");
  print_stderr("{}\n", timing_line(engine, out));
  if (stopped) end_by_stop_signal();
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
      app.add_option("--file,-f", o->file,
                     "prompt text from a file ('-': standard input), less one final newline");
      app.add_option("--ids", o->ids,
                     "prompt as token ids instead of text (commas and/or spaces between, [ ] allowed)");
      app.add_flag("--chat", o->chat, "wrap the prompt as one user turn in the DeepSeek chat format");
      app.add_flag("--think", o->think,
                   "with --chat on a DeepSeek-V3.1 model: open its thinking (<think>) instead of closing it");
      app.add_flag("--no-bos", o->no_bos, "do not add the tokenizer's BOS token");
      app.add_flag("--no-parse-special", o->no_parse_special,
                   "read the text of tokens marked special in tokenizer.json (BOS, EOS, ...) in the prompt "
                   "as plain text");
      app.add_option("--samples", o->samples, "samples of the prompt (share its prefill)")
          ->transform(at_least<int>(1))
          ->capture_default_str();
      app.add_option("--logprobs", o->logprobs, "also show the top-N alternatives of each token")
          ->transform(at_least<int>(0));
      app.add_flag("--json", o->json, "print the completions as JSON (text, tokens, logprobs)");
      add_sampling_options(app, o->sampling);
      app.callback([o, &app] {
        o->prompt_given = app.count("--prompt") > 0;
        o->ids_given = app.count("--ids") > 0;
        o->file_given = app.count("--file") > 0;
        note_sampling_flags_given(app, o->model);
        run_generate(*o);
      });
    });

// ---- chat
// --------------------------------------------------------------------------------------------------

struct ChatCliOptions {
  ModelOptions model;
  SamplingParams sampling;
  std::string style = "auto", system;
  bool think = false;
};

enum class LineRead { Line, TooLong, End };

// One line of `in` without its '\n', if it has at most `cap` bytes; TooLong as soon as it has more, so an
// endless stream (/dev/zero) or a 200 MB line costs neither the memory nor the time of tokenizing it. End:
// the input ended with nothing read.
LineRead read_capped_line(std::istream& in, std::string& line, size_t cap) {
  line.clear();
  std::streambuf* buf = in.rdbuf();
  bool any = false;
  for (int c; (c = buf->sbumpc()) != std::char_traits<char>::eof();) {
    any = true;
    if (c == '\n') break;
    if (line.size() == cap) return LineRead::TooLong;
    line.push_back(char(c));
  }
  return any ? LineRead::Line : LineRead::End;
}

// The chat prompt for `history` (system prompt, then user / assistant turns, the newest user message last),
// after dropping the oldest turns until the reply has `room` tokens left in the context of `ctx`. Only the
// system prompt and the newest message are never dropped: if those alone leave no token free, returns an
// empty prompt and leaves the history as it was.
std::vector<int32_t> fit_history(std::vector<ChatMessage>& history, const Tokenizer& tok,
                                 const ChatOptions& co, int64_t ctx, int64_t room, const std::string& limit) {
  const size_t first = !history.empty() && history[0].role == "system" ? 1 : 0;
  std::vector<ChatMessage> h = history;
  std::vector<int32_t> prompt = encode_chat(tok, h, co);
  size_t dropped = 0;
  while (int64_t(prompt.size()) + room > ctx && h.size() > first + 1) {
    // A turn is a user message and the reply to it.
    const size_t n = h.size() > first + 2 && h[first + 1].role == "assistant" ? 2 : 1;
    h.erase(h.begin() + std::ptrdiff_t(first), h.begin() + std::ptrdiff_t(first + n));
    dropped += n;
    prompt = encode_chat(tok, h, co);
  }
  if (int64_t(prompt.size()) >= ctx) return {};
  if (dropped > 0) {
    print_stderr("[seek] dropped the {} to fit {}\n",
                 dropped == 1 ? "oldest message" : count_of(dropped, "oldest message"), limit);
    history = std::move(h);
  }
  return prompt;
}

// A system prompt, or a context, that leaves no room for a message, checked before the first one is typed:
// otherwise every message would be refused in turn. A message is at least one token, and the prompt must
// leave the reply one.
void check_system_fits(const std::vector<ChatMessage>& history, const Tokenizer& tok, const ChatOptions& co,
                       int64_t ctx, const std::string& limit, const std::string& raise) {
  std::vector<ChatMessage> h = history;
  h.push_back({"user", ""});
  const size_t n = encode_chat(tok, h, co).size();
  if (int64_t(n) + 1 < ctx) return;
  if (!history.empty())
    fail(
        "--system takes the whole context: with the chat format and an empty message it is {} tokens, "
        "which leaves no room for a message in {}; shorten it{}",
        n, limit, raise);
  fail(
      "the chat format alone takes {} tokens with an empty message, which leaves no room for a message in "
      "{}{}",
      n, limit, raise.empty() ? std::string() : "; " + raise.substr(std::string(" or ").size()));
}

void run_chat(ChatCliOptions& o) {
  std::map<std::string, ChatStyle> styles;
  for (ChatStyle s : {ChatStyle::V2, ChatStyle::V3, ChatStyle::R1, ChatStyle::V31, ChatStyle::V31Thinking})
    styles[chat_style_name(s)] = s;
  SEEK_CHECK(o.style == "auto" || styles.count(o.style),
             "--style must be auto, v2, v3, r1, v3.1 or v3.1-think, not '{}'", o.style);
  // Before the model loads, like every other flag mistake.
  ChatOptions co;
  check_model_dir(o.model.dir);  // a folder that cannot be opened is named as --model, not by a file in it
  co.style = with_thinking(
      o.style == "auto" ? chat_style_of_noted(o.model.dir, " (--style picks another)") : styles.at(o.style),
      o.think, "--think");
  o.style = chat_style_name(co.style);
  co.add_generation_prompt = true;
  o.sampling.validate();  // a bad flag is an error now, not when the first message is sent
  check_utf8_text(o.system, "--system");
  // main puts a write-only /dev/null where the caller closed stdin (`<&-`): reading it fails, which would
  // end the chat at once, exit 0, as if the user had left.
  SEEK_CHECK((::fcntl(0, F_GETFL) & O_ACCMODE) != O_WRONLY,
             "standard input is closed: seek chat reads the messages from it (type them, or pipe them in)");
  // A folder reads as an error, which std::cin shows as the end of the input: the chat ended, exit 0.
  struct stat in_stat {};
  SEEK_CHECK(::fstat(0, &in_stat) != 0 || !S_ISDIR(in_stat.st_mode),
             "standard input is a folder, not a file: seek chat reads the messages from it");
  const AppliedGenerationConfig gc = use_generation_config(o.model, o.sampling);
  Loaded l = load(o.model);
  l.tok.check_text_fits(l.model->config().vocab_size, false);
  check_stop_tokens(o.sampling, l);
  EngineOptions eo = engine_options(o.model);
  eo.keep_last_sequence = true;
  eo.context_within_budget = true;
  add_generation_config_eos(gc, l, eo);
  // One engine for the whole chat, keeping the cache of each reply: the next turn's prompt is the
  // conversation so far, and only what the last turn's cache does not hold (the reply as the chat format
  // writes it, the new message) is prefilled.
  Engine engine(*l.model, l.tok.tok.get(), eo);
  // The conversation fits the context, or the fewer tokens the KV cache budget holds (then old turns go to
  // fit those: a request past the budget would be refused).
  const int64_t model_ctx = l.model->config().max_position_embeddings;
  const int64_t ctx = engine.max_context();
  const bool budget_bound = ctx < (o.model.ctx > 0 ? std::min(o.model.ctx, model_ctx) : model_ctx);
  const std::string limit = budget_bound ? fmt::format("the {} tokens the KV cache budget of {} holds", ctx,
                                                       format_bytes(engine.stats().cache_budget_bytes))
                                         : fmt::format("the context of {} tokens", ctx);
  const std::string raise = budget_bound      ? " or raise --cache-mem (or use --kv-cache bf16 or fp8)"
                            : o.model.ctx > 0 ? " or raise --ctx"
                                              : "";
  // Old turns go before the reply is squeezed: it keeps room for --max-new-tokens, or half the context where
  // that is less (else a long --max-new-tokens would leave no history at all).
  // (At least 1: the prompt must leave the reply a token, also with -n 0.)
  const int64_t room = std::max<int64_t>(1, std::min<int64_t>(o.sampling.max_new_tokens, ctx / 2));
  std::vector<ChatMessage> history;
  if (!o.system.empty()) history.push_back({"system", o.system});
  check_system_fits(history, *l.tok.tok, co, ctx, limit, raise);
  // Typed at a terminal: a prompt, on stdout when it is the terminal too, else on stderr, so `seek chat | tee
  // log` shows it without logging it. The reasoning is dimmed only on a terminal.
  const bool typed = isatty(0) != 0, tty = isatty(1) != 0;
  const auto prompt = [&](const char* text) {
    if (!typed) return;
    if (tty) {
      fmt::print("{}", text);
    } else {
      print_stderr("{}", text);
    }
  };
  print_stderr("seek chat: {} ({} style); Ctrl-C stops a reply; empty line or Ctrl-D ends\n", o.model.dir,
               o.style);
  std::string line;
  // Each reply's seed: --seed, then the next number per message sent to the model (one stopped in its prefill
  // takes one too; a refused line takes none, so it does not change the replies after it).
  uint64_t turn = 0;
  int refused = 0;       // messages answered with an error: the chat went on, but its exit status tells
  int64_t answered = 0;  // not `turn`: a message stopped in its prefill took a seed but got no reply
  for (;;) {
    prompt("> ");
    flush_stdout();
    const LineRead got = read_capped_line(std::cin, line, size_t(kMaxPromptBytes) + 1);  // + a CRLF's \r
    if (got == LineRead::End) {
      // Any other failure to read (EIO from a terminal that went away) also ends the input for std::cin.
      SEEK_CHECK(!std::ferror(stdin), "cannot read standard input: {}", std::strerror(errno));
      // Ctrl-D leaves the cursor after the prompt.
      prompt("\n");
      break;
    }
    // Not a message anyone typed, and the rest of the stream cannot be trusted to start a new one.
    SEEK_CHECK(got != LineRead::TooLong,
               "a message on standard input is longer than {} MiB: no context holds a prompt that long",
               kMaxPromptBytes >> 20);
    if (!line.empty() && line.back() == '\r') line.pop_back();  // CRLF input
    if (line.empty()) break;
    try {
      check_utf8_text(line, "this message");
    } catch (const Error& e) {  // the chat goes on: the next line may be fine
      print_stderr("seek: error: {}\n", e.what());
      ++refused;
      continue;
    }
    // As it was before this message: a reply stopped before it began leaves the conversation so, also the
    // turns dropped to make room for it.
    const std::vector<ChatMessage> before = history;
    history.push_back({"user", line});
    GenRequest req;
    req.prompt = fit_history(history, *l.tok.tok, co, ctx, room, limit);
    if (req.prompt.empty()) {
      print_stderr("seek: error: this message{} takes all of {}; send a shorter one{}\n",
                   history[0].role == "system" ? " with the system prompt" : "", limit, raise);
      history.pop_back();
      ++refused;
      continue;
    }
    req.params = o.sampling;
    req.params.seed = o.sampling.seed + turn++;
    req.params.stop.push_back(next_user_turn(co.style));
    engine.reset_stats();
    // R1's generation prompt, and V3.1's thinking one, already opened <think>.
    ThinkPrinter printer(generation_prompt_opens_think(co.style), tty);
    size_t shown = 0;  // bytes of the reply printed so far
    // A long prefill (the first turn, or history the kept cache does not hold) shows progress until the reply
    // starts.
    ProgressLine::Options po;
    po.erase = true;
    ProgressLine prefill("prefill", int64_t(req.prompt.size()), "prompt tokens", po);
    engine.on_token = [&](const TokenEvent& ev) {
      prefill.finish();
      shown += ev.text.size();
      printer.feed(tok::utf8_repair(ev.text));  // as generate prints it
    };
    const int id = engine.submit(std::move(req));
    bool stopped = false;
    {
      // Ctrl-C ends the reply, not the chat (a second one, or one at the prompt, ends the chat).
      const StopOnSignal stop("");
      while (step_ending_line_on_error(engine, [&] { printer.end(); })) {
        check_stdout_writable();
        prefill.update(engine.stats().reused_prompt_tokens + engine.stats().prompt_tokens);
        if (stop.requested("reply")) {
          stopped = true;
          engine.cancel(id);
          break;
        }
      }
    }
    prefill.finish();
    // A stopped reply stays in the history as far as it got: the next message answers what the user saw. So
    // the user sees all of it, also the tail the engine held back while it could still become a stop string.
    const Completion& done = engine.completions(id)[0];
    const std::string& reply = done.text;
    if (reply.size() > shown) printer.feed(tok::utf8_repair(reply.substr(shown)));
    if (done.tokens.empty() && done.finish == FinishReason::Cancelled)
      printer.end_before_it_began();
    else
      printer.end();
    // SIGTERM (kill, timeout, a service manager) and SIGHUP (the terminal closed) end the chat, as they end
    // every other command; Ctrl-C only the reply.
    // (Also one after the last check of the reply: the next turn's StopOnSignal would forget it.)
    const bool terminate =
        StopOnSignal::signal_received() == SIGTERM || StopOnSignal::signal_received() == SIGHUP;
    // A reply that ended in the step the signal came in keeps its own finish reason, and no "stopped".
    const bool cancelled = stopped && done.finish == FinishReason::Cancelled;
    if (cancelled && done.tokens.empty() && !terminate) {
      // Stopped in the prefill: no reply to keep, and an empty one would tell the model it answered nothing.
      history = before;
      print_stderr("[seek] stopped before the reply began: this message is left out of the conversation\n");
    } else {
      history.push_back(chat_reply_message(co.style, reply));
      ++answered;
      if (cancelled && !terminate) print_stderr("[seek] reply stopped by Ctrl-C\n");
    }
    flush_stdout();
    print_stderr("{}\n", timing_line(engine, engine.completions(id)));
    if (terminate) end_by_stop_signal();
  }
  // A script piping messages in learns that some were not answered (each refusal said why above).
  SEEK_CHECK(refused == 0, "{} refused (the errors above); {}",
             refused == 1 ? std::string("a message was") : fmt::format("{} messages were", refused),
             answered == 0 ? std::string("the chat answered none")
                           : fmt::format("the chat answered {}", count_of(answered, "message")));
}

RegisterCommand reg_chat("chat", "Interactive chat in the DeepSeek format (<think> shown apart)",
                         [](CLI::App& app) {
                           auto o = std::make_shared<ChatCliOptions>();
                           o->sampling.temperature = 0.6f;
                           o->sampling.top_p = 0.95f;
                           o->sampling.max_new_tokens = 1024;
                           add_model_options(app, o->model);
                           app.add_option("--style", o->style,
                                          "chat format: auto (from the model's tokenizer_config.json chat "
                                          "template), v2, v3, r1, v3.1 or v3.1-think (r1 and v3.1-think "
                                          "start the reply inside <think>)")
                               ->capture_default_str();
                           app.add_flag("--think", o->think,
                                        "on a DeepSeek-V3.1 model: open its thinking (<think>) instead of "
                                        "closing it (same as --style v3.1-think)");
                           app.add_option("--system", o->system, "system prompt");
                           add_sampling_options(app, o->sampling);
                           app.callback([o, &app] {
                             note_sampling_flags_given(app, o->model);
                             run_chat(*o);
                           });
                         });

}  // namespace
}  // namespace seek::cli
