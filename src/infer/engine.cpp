#include "infer/engine.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <exception>

#include "core/count_of.hpp"
#include "core/error.hpp"
#include "core/partial_match.hpp"
#include "core/resources.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/utf8.hpp"

namespace seek {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::None:
      return "none";
    case FinishReason::Length:
      return "length";
    case FinishReason::Eos:
      return "eos";
    case FinishReason::StopToken:
      return "stop_token";
    case FinishReason::StopString:
      return "stop";
    case FinishReason::Context:
      return "context";
    case FinishReason::Cancelled:
      return "cancelled";
  }
  return "?";
}

double EngineStats::decode_tps() const {
  return decode_seconds > 0 ? double(decode_step_tokens) / decode_seconds : 0;
}

namespace {

int64_t context_limit(const ModelConfig& c, const EngineOptions& opt) {
  SEEK_CHECK(opt.max_context >= 0, "the context limit must be >= 0 (0: the model's), got {}",
             opt.max_context);
  return opt.max_context > 0 ? std::min(opt.max_context, c.max_position_embeddings)
                             : c.max_position_embeddings;
}

}  // namespace

Engine::Engine(const InferModel& model, const Tokenizer* tokenizer, const EngineOptions& opt)
    : model_(model),
      tok_(tokenizer),
      opt_(opt),
      runner_(model, opt.form, opt.cache_type, context_limit(model.config(), opt)),
      cache_(runner_.make_cache(opt.block_tokens)),
      max_context_(context_limit(model.config(), opt)) {
  const ModelConfig& c = model.config();
  SEEK_CHECK(opt.max_batch > 0 && opt.prefill_chunk > 0, "max batch and prefill chunk must be positive");
  // The model's end of sequence (config.json, as Hugging Face's generate() uses it) and the tokenizer's: the
  // same id in DeepSeek's checkpoints, but models saved before seek train wrote its tokenizer's ids into
  // config.json name a placeholder there, and they were trained to end with the tokenizer's.
  if (c.eos_token_id >= 0) eos_.push_back(int32_t(c.eos_token_id));
  std::vector<int32_t> more(c.extra_eos_token_ids.begin(), c.extra_eos_token_ids.end());
  if (tok_ && tok_->eos_id() >= 0) more.push_back(tok_->eos_id());
  for (int32_t id : opt.extra_eos) {
    SEEK_CHECK(id >= 0 && id < c.vocab_size,
               "end-of-sequence id {} is not a token id of the {}-token vocabulary", id, c.vocab_size);
    more.push_back(id);
  }
  for (int32_t id : more)
    if (std::find(eos_.begin(), eos_.end(), id) == eos_.end()) eos_.push_back(id);
  // Checkpoints often pad the vocabulary past the tokenizer (DeepSeek-V3: 129280 rows for ~128.8K tokens);
  // ids without a token are never sampled.
  sample_vocab_ = c.vocab_size;
  if (tok_) sample_vocab_ = std::min<int64_t>(sample_vocab_, int64_t(tok_->vocab_size()));
  // Every id below that is sampled, so one without a token would be drawn and then fail to print (and
  // GRPO's log-probabilities would count it): refused before anything runs.
  if (const TokenId gap = tok_ ? tok_->first_missing_id() : -1; gap >= 0 && gap < sample_vocab_)
    fail(
        "the tokenizer has no token for id {}, below its largest id {}: ids without a token cannot be "
        "sampled or printed; fill the gap in tokenizer.json (DeepSeek's tokenizers fill theirs with "
        "placeholder tokens)",
        gap, tok_->vocab_size() - 1);
  stats_.cache_bytes_per_token = cache_.bytes_per_token();
  SEEK_CHECK(opt.max_cache_bytes >= 0, "the KV cache budget must be >= 0 bytes (0: from free memory), got {}",
             opt.max_cache_bytes);
  const long long avail = available_memory_bytes();
  cache_budget_ = opt.max_cache_bytes > 0 ? opt.max_cache_bytes
                  : avail > 0             ? int64_t(double(avail) * 0.9)
                                          : INT64_MAX;
  stats_.cache_budget_bytes = cache_budget_;
  if (opt.context_within_budget) {
    const int64_t block_bytes = opt.block_tokens * cache_.bytes_per_token();
    SEEK_CHECK(cache_budget_ >= block_bytes,
               "the KV cache budget of {} holds no block of {} tokens ({} per block): a larger budget, or a "
               "bf16 or fp8 cache, is needed",
               format_bytes(cache_budget_), opt.block_tokens, format_bytes(block_bytes));
    max_context_ = std::min(max_context_, cache_budget_ / block_bytes * opt.block_tokens);
  }
}

int64_t Engine::sample_tokens(const GenRequest& req) const {
  return std::min(int64_t(req.prompt.size()) + int64_t(req.params.max_new_tokens), max_context_);
}

// Blocks the request's samples can reach: the prompt's full blocks, shared by all, then for each sample the
// blocks past them (the partly filled last block of the prompt, which the last sample takes over and each
// other one copies, and its own tokens). A sample's last drawn token is never run (it ends the sample), so
// its rows are the prompt and max_new_tokens - 1: counting that token reserved a whole block more whenever it
// began one. That is never less than the prompt's own blocks while it is prefilled. In double: a huge sample
// count must not wrap around to a small number.
int64_t Engine::cache_need(const GenRequest& req) const {
  const int64_t bt = opt_.block_tokens, P = int64_t(req.prompt.size());
  // Without a second new token no sample writes (or copies) anything: the prompt's own blocks are all. So
  // with max_new_tokens 0 or 1, and with a prompt one short of the context.
  if (sample_tokens(req) <= P + 1) return (P + bt - 1) / bt * bt * cache_.bytes_per_token();
  const int64_t rows = std::max(P, sample_tokens(req) - 1);
  const double blocks = double(P / bt) + double(req.n) * double((rows + bt - 1) / bt - P / bt);
  const double bytes = blocks * double(bt) * double(cache_.bytes_per_token());
  return bytes >= 9.2e18 ? INT64_MAX : int64_t(bytes);
}

Engine::~Engine() = default;

void Engine::check_usable() const {
  SEEK_CHECK(failure_.empty(), "the generation engine stopped at an earlier error and takes no more work: {}",
             failure_);
}

int Engine::submit(GenRequest req) {
  check_usable();
  const int64_t V = model_.config().vocab_size;
  req.params.validate();
  SEEK_CHECK(
      req.params.stop.empty() || tok_,
      "stop strings need a tokenizer to turn tokens into text, and this engine has none; use stop token "
      "ids instead");
  SEEK_CHECK(req.n >= 1, "the number of samples per prompt must be >= 1, got {}", req.n);
  SEEK_CHECK(!req.prompt.empty(), "the prompt is empty (it needs at least one token)");
  // The context bounds the whole sequence, prompt and new tokens (as chat's history and GRPO's prompt
  // limit count it), so a prompt must leave room for at least one.
  SEEK_CHECK(int64_t(req.prompt.size()) < max_context_,
             "the prompt has {} tokens and the context holds {}, so there is no room to generate; the prompt "
             "must be shorter than the context",
             req.prompt.size(), max_context_);
  for (size_t i = 0; i < req.prompt.size(); ++i)
    SEEK_CHECK(req.prompt[i] >= 0 && req.prompt[i] < V,
               "unknown token id {} at prompt position {} (the vocabulary has {} tokens)", req.prompt[i], i,
               V);
  for (int32_t t : req.params.stop_tokens)
    SEEK_CHECK(t >= 0 && t < V, "unknown stop token id {} (the vocabulary has {} tokens)", t, V);
  // A request's samples are decoded together, each with a logits row, whatever max_batch says, after its
  // prompt's row. Only rows beyond those already allocated need memory (GRPO's steps reuse them).
  if (const int64_t rows = int64_t(req.n) + 1; rows * V > int64_t(logits_.capacity()))
    check_memory_for((rows * V - int64_t(logits_.capacity())) * int64_t(sizeof(float)),
                     fmt::format("the float32 logits of {} samples over a vocabulary of {} tokens", req.n, V),
                     "; fewer samples per prompt need less");
  const int64_t need = cache_need(req);
  SEEK_CHECK(
      need <= cache_budget_,
      "the request needs up to {} of KV cache ({} of up to {} cached, held in blocks of {} tokens at {} "
      "bytes per "
      "token{}), more than the budget of {}; ask for fewer samples or new tokens, a shorter context (--ctx "
      "in generate and chat), a bf16 or fp8 cache (--kv-cache), or a larger budget (--cache-mem where the "
      "command takes it; by default the budget is "
      "90% "
      "of the memory available at start)",
      // The rows a sample caches: its last drawn token is never run (cache_need).
      format_bytes(need), count_of(req.n, "sample"),
      count_of(std::max<int64_t>(int64_t(req.prompt.size()), sample_tokens(req) - 1), "token"),
      opt_.block_tokens, cache_.bytes_per_token(),
      need == INT64_MAX ? std::string()
                        : ": " + count_of(need / (opt_.block_tokens * cache_.bytes_per_token()), "block"),
      format_bytes(cache_budget_));
  auto r = std::make_unique<Request>();
  r->id = int(reqs_.size());
  r->req = std::move(req);
  r->out.resize(size_t(r->req.n));
  reqs_.push_back(std::move(r));
  return reqs_.back()->id;
}

bool Engine::idle() const {
  for (const auto& r : reqs_)
    if (!r->done) return false;
  return true;
}

void Engine::run() {
  while (step()) {
  }
}

const std::vector<Completion>& Engine::completions(int request) const {
  SEEK_CHECK(request >= 0 && request < int(reqs_.size()), "no request {}", request);
  return reqs_[size_t(request)]->out;
}

bool Engine::step() {
  check_usable();
  try {
    return advance();
  } catch (const std::exception& e) {
    failure_ = e.what();
    throw;
  }
}

bool Engine::advance() {
  const auto t0 = std::chrono::steady_clock::now();
  batch_.clear();
  struct Row {
    Request* r;
    int sample;  // -1: the last prompt token of r (its samples start here)
  };
  std::vector<Row> rows;
  for (auto& up : reqs_) {
    Request& r = *up;
    if (!r.started || r.done) continue;
    for (int s = 0; s < int(r.samples.size()); ++s) {
      Sample& sm = r.samples[size_t(s)];
      if (sm.done) continue;
      const int64_t pos = int64_t(sm.context.size()) - 1;
      cache_.prepare(sm.seq, pos, pos + 1);
      batch_.add(sm.context.back(), int32_t(pos), sm.seq, true);
      rows.push_back({&r, s});
    }
  }
  int64_t budget = opt_.prefill_chunk, prompt_tokens = 0;
  for (auto& up : reqs_) {
    Request& r = *up;
    if (r.started || r.done) continue;
    if (!r.admitted) {
      // First come, first served: a request that does not fit waits, and so do the ones behind it. A kept
      // sequence gives its room up first, but only when that lets the request in: one that waits anyway (a
      // full batch, or too little room even without it) may share its rows once it starts.
      const int64_t need = cache_need(r.req);
      auto fits = [&](int64_t reserved) {
        return running_ == 0 || (running_ + r.req.n <= opt_.max_batch && reserved + need <= cache_budget_);
      };
      if (!fits(cache_reserved_) && kept_.seq >= 0 && fits(cache_reserved_ - kept_.bytes)) drop_kept();
      if (!fits(cache_reserved_)) {
        if (running_ + r.req.n <= opt_.max_batch) ++stats_.steps_held_by_budget;
        break;
      }
      r.admitted = true;
      running_ += r.req.n;
      cache_reserved_ += need;
      // The rows of a kept sequence that the prompt starts with are shared, not prefilled again; the last
      // prompt token always runs, for the logits the samples start from. (The request's reservation assumed
      // all its prompt rows new: it holds at least the shared blocks.)
      const int64_t P = int64_t(r.req.prompt.size());
      int64_t shared = 0;
      if (kept_.seq >= 0) {
        const int64_t most = std::min<int64_t>(int64_t(kept_.tokens.size()), P - 1);
        while (shared < most && kept_.tokens[size_t(shared)] == r.req.prompt[size_t(shared)]) ++shared;
      }
      r.prompt_seq = shared > 0 ? cache_.fork(kept_.seq, shared) : cache_.create();
      r.prefilled = shared;
      stats_.reused_prompt_tokens += shared;
      drop_kept();
    }
    if (budget == 0) break;
    const int64_t P = int64_t(r.req.prompt.size());
    const int64_t take = std::min(budget, P - r.prefilled);
    cache_.prepare(r.prompt_seq, r.prefilled, r.prefilled + take);
    for (int64_t t = r.prefilled; t < r.prefilled + take; ++t)
      batch_.add(r.req.prompt[size_t(t)], int32_t(t), r.prompt_seq, t == P - 1);
    if (r.prefilled + take == P) rows.push_back({&r, -1});
    r.prefilled += take;
    budget -= take;
    prompt_tokens += take;
  }
  if (batch_.size() == 0) return false;

  const int64_t V = model_.config().vocab_size;
  logits_.resize(size_t(int64_t(rows.size()) * V));
  runner_.forward(batch_, cache_, logits_.data());

  // Sampling jobs: one per decode row, n per finished prompt (all reading that prompt's logits row).
  struct Job {
    Request* r;
    int sample;
    const float* logits;
    SampledToken out;
  };
  std::vector<Job> jobs;
  for (size_t i = 0; i < rows.size(); ++i) {
    const float* lg = logits_.data() + int64_t(i) * V;
    Request& r = *rows[i].r;
    if (rows[i].sample >= 0) {
      jobs.push_back({&r, rows[i].sample, lg, {}});
      continue;
    }
    // Cancelled by the event of a row before it in this step: it has no sequence left to start from.
    if (r.done) continue;
    start_samples(r, lg);
    for (int s = 0; s < int(r.samples.size()); ++s)
      if (!r.samples[size_t(s)].done) jobs.push_back({&r, s, lg, {}});
  }
  // An exception must not leave an OpenMP region: each job keeps its own, and the first (by job) is rethrown.
  std::vector<std::exception_ptr> errors(jobs.size());
#pragma omp parallel if (jobs.size() > 1)
  {
    Sampler sampler;
#pragma omp for schedule(dynamic, 1)
    for (size_t j = 0; j < jobs.size(); ++j) {
      Job& jb = jobs[j];
      Sample& sm = jb.r->samples[size_t(jb.sample)];
      const auto& ctx = sm.context;
      const size_t P = jb.r->req.prompt.size();
      try {
        jb.out = sampler.sample(jb.logits, sample_vocab_, jb.r->req.params, std::span<const int32_t>(ctx),
                                std::span<const int32_t>(ctx).subspan(P), sm.rng);
      } catch (...) {
        errors[j] = std::current_exception();
      }
    }
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  // A sample cancelled by an earlier job's event takes no token (accept skips it) and is not counted.
  int64_t accepted = 0;
  for (Job& jb : jobs) {
    accepted += !jb.r->samples[size_t(jb.sample)].done;
    accept(*jb.r, jb.sample, jb.out);
  }

  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ++stats_.steps;
  if (prompt_tokens > 0) {
    stats_.prompt_tokens += prompt_tokens;
    stats_.prompt_seconds += dt;
  } else {
    stats_.decode_seconds += dt;
    stats_.decode_step_tokens += accepted;
  }
  stats_.peak_cache_bytes = cache_.peak_bytes();
  return true;
}

void Engine::start_samples(Request& r, const float* /*logits*/) {
  const int n = r.req.n;
  const int64_t P = int64_t(r.req.prompt.size());
  r.started = true;
  r.samples.resize(size_t(n));
  for (int s = 0; s < n; ++s) {
    Sample& sm = r.samples[size_t(s)];
    // The last sample takes over the prompt's own sequence; the others share its blocks.
    sm.seq = s == n - 1 ? r.prompt_seq : cache_.fork(r.prompt_seq, P);
    // Sample s of a request draws from its own stream: independent of batch composition and of n.
    sm.rng.reseed(r.req.params.seed * 0x9E3779B97F4A7C15ull + uint64_t(s));
    sm.context = r.req.prompt;
  }
  r.prompt_seq = -1;
  // Nothing to sample: each sample still ends with its event, so a consumer waiting for them is not left
  // hanging (token -1: none was drawn).
  if (r.req.params.max_new_tokens == 0)
    for (int s = 0; s < n; ++s) {
      if (r.samples[size_t(s)].done) continue;  // cancelled by the event of an earlier sample
      finish(r, s, FinishReason::Length);
      TokenEvent ev;
      ev.request = r.id;
      ev.sample = s;
      ev.token.token = -1;
      ev.finished = true;
      ev.finish = FinishReason::Length;
      if (on_token) on_token(ev);
    }
}

void Engine::accept(Request& r, int s, const SampledToken& t) {
  Sample& sm = r.samples[size_t(s)];
  // Cancelled by an on_token callback earlier in this step (Engine::cancel): it ended there, with what it
  // had; the token drawn for it in this step is not its own, and there is no event after the cancel.
  if (sm.done) return;
  Completion& c = r.out[size_t(s)];
  const SamplingParams& p = r.req.params;
  sm.context.push_back(t.token);
  c.tokens.push_back(t.token);
  c.logprobs.push_back(t.logprob);
  if (p.top_logprobs > 0) c.top.push_back(t.top);
  ++stats_.generated_tokens;

  FinishReason why = FinishReason::None;
  size_t hold = 0;
  for (const auto& st : p.stop) hold = std::max(hold, st.size() - 1);
  if (!p.ignore_eos && std::find(eos_.begin(), eos_.end(), t.token) != eos_.end()) {
    why = FinishReason::Eos;
  } else if (std::find(p.stop_tokens.begin(), p.stop_tokens.end(), t.token) != p.stop_tokens.end()) {
    why = FinishReason::StopToken;
  } else if (tok_) {
    const size_t before = c.text.size();
    c.text += tok_->token_bytes(t.token);
    const size_t from = before > hold ? before - hold : 0;
    size_t cut = std::string::npos;
    for (const auto& st : p.stop) cut = std::min(cut, c.text.find(st, from));
    if (cut != std::string::npos) {
      c.text.resize(cut);
      why = FinishReason::StopString;
    }
  }
  if (why == FinishReason::None && int64_t(c.tokens.size()) >= p.max_new_tokens) why = FinishReason::Length;
  if (why == FinishReason::None && int64_t(sm.context.size()) >= max_context_) why = FinishReason::Context;

  TokenEvent ev;
  ev.request = r.id;
  ev.sample = s;
  ev.token = t;
  // Held back while it could still start a stop string, and not cut inside a character: each event's text
  // is whole UTF-8 where the model's output is.
  size_t partial = 0;
  if (why == FinishReason::None)
    for (const auto& st : p.stop) partial = std::max(partial, partial_match_tail(c.text, st));
  const size_t ready =
      why != FinishReason::None ? c.text.size() : tok::utf8_cut_before(c.text, c.text.size() - partial);
  if (ready > sm.emitted) {
    ev.text = c.text.substr(sm.emitted, ready - sm.emitted);
    sm.emitted = ready;
  }
  ev.finished = why != FinishReason::None;
  ev.finish = why;
  if (why != FinishReason::None) finish(r, s, why);
  if (on_token) on_token(ev);
}

void Engine::finish(Request& r, int s, FinishReason why) {
  Sample& sm = r.samples[size_t(s)];
  if (sm.done) return;
  sm.done = true;
  r.out[size_t(s)].finish = why;
  if (opt_.keep_last_sequence && r.req.n == 1)
    keep(sm.seq, sm.context);
  else
    cache_.release(sm.seq);
  sm.seq = -1;
  --running_;
  r.done = ++r.samples_done == r.samples.size();
  if (r.done) cache_reserved_ -= cache_need(r.req);
}

void Engine::keep(int seq, std::vector<int32_t> tokens) {
  drop_kept();
  // The sample's last token was drawn but never run: only the rows the cache holds are kept.
  const int64_t rows = cache_.length(seq), bt = opt_.block_tokens;
  tokens.resize(size_t(std::min<int64_t>(rows, int64_t(tokens.size()))));
  kept_.seq = seq;
  kept_.tokens = std::move(tokens);
  kept_.bytes = (rows + bt - 1) / bt * bt * cache_.bytes_per_token();
  cache_reserved_ += kept_.bytes;
}

void Engine::drop_kept() {
  if (kept_.seq < 0) return;
  cache_.release(kept_.seq);
  cache_reserved_ -= kept_.bytes;
  kept_ = Kept{};
}

void Engine::cancel(int request) {
  SEEK_CHECK(request >= 0 && request < int(reqs_.size()), "no request {}", request);
  Request& r = *reqs_[size_t(request)];
  if (r.done) return;
  if (r.started) {
    for (int s = 0; s < int(r.samples.size()); ++s) finish(r, s, FinishReason::Cancelled);
    return;
  }
  // Waiting, or prefilling: no sample exists yet. A prefilled part is kept like a finished sample.
  if (r.admitted) {
    if (opt_.keep_last_sequence && r.req.n == 1 && r.prefilled > 0)
      keep(r.prompt_seq, std::vector<int32_t>(r.req.prompt.begin(), r.req.prompt.begin() + r.prefilled));
    else
      cache_.release(r.prompt_seq);
    r.prompt_seq = -1;
    running_ -= r.req.n;
    cache_reserved_ -= cache_need(r.req);
  }
  for (Completion& c : r.out) c.finish = FinishReason::Cancelled;
  r.done = true;
}

std::string cache_budget_note(const EngineStats& stats, int max_batch) {
  if (stats.steps_held_by_budget == 0) return {};
  return fmt::format(
      "note: the KV cache budget of {} held fewer sequences at once than the batch of {} allows, so the rows "
      "decoded together, and the last bits of their logits, depend on it (by default 90% of the memory free "
      "when the engine started): runs are bit-identical only under the same budget",
      format_bytes(stats.cache_budget_bytes), max_batch);
}

void Engine::reset_stats() {
  const EngineStats cache_figures = stats_;
  stats_ = EngineStats{};
  stats_.cache_bytes_per_token = cache_figures.cache_bytes_per_token;
  cache_.reset_peak();
  stats_.peak_cache_bytes = cache_.peak_bytes();
  stats_.cache_budget_bytes = cache_figures.cache_budget_bytes;
}

}  // namespace seek
