// The generation engine: continuous batching over the runner (infer/runner.hpp) and the paged KV cache.
//
// A request is a prompt, sampling parameters and a sample count n. Its prompt is prefilled once (in chunks of
// at most prefill_chunk tokens per step, each chunk one batched forward); the n samples are then forks of the
// prompt's cache (they share its blocks; only the partly filled last block is copied when a sample first
// writes into it) and their first tokens are drawn from the same last-position logits. That is what GRPO
// rollouts need: G completions of one prompt for the cost of one prefill.
// Every step() builds one batch out of (a) the next token of every running sample and (b) prompt chunks of
// waiting requests, runs one forward, and samples. Sequences join as soon as there is room (max_batch running
// samples and enough of the cache budget for all of them) and leave when they finish, independently of each
// other; a request with n > max_batch samples waits until nothing else runs and then runs alone. A request
// whose samples could outgrow the whole budget is refused at submit().
// Sample s of request r draws from its own Rng seeded with (params.seed, s), so its tokens do not depend on
// what else is in the batch (beyond float rounding of batched GEMMs).
// Finishing: EOS (unless ignore_eos) or a stop token (the token is kept in `tokens`, not in `text`), a stop
// string (text is cut before it; tokens keep the token that completed it), max_new_tokens, or the context
// limit. Streaming events carry the newly printable text; text that might still become a stop string is held
// back until it cannot.
// An error inside step() (logits that cannot be sampled, memory running out, an on_token callback throwing)
// leaves requests half-stepped, so the engine refuses further work after it: every later call names the
// first error.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "infer/kv_cache.hpp"
#include "infer/runner.hpp"
#include "infer/sampler.hpp"

namespace seek {

class Tokenizer;

struct GenRequest {
  std::vector<int32_t> prompt;
  SamplingParams params;
  int n = 1;  // samples sharing the prompt's prefill
};

enum class FinishReason { None, Length, Eos, StopToken, StopString, Context, Cancelled };
const char* finish_reason_name(FinishReason r);

struct Completion {
  std::vector<int32_t> tokens;
  std::vector<double> logprobs;                // per token, under the distribution it was drawn from
  std::vector<std::vector<TokenLogprob>> top;  // per token, when params.top_logprobs > 0
  std::string text;                            // decoded (needs a tokenizer), stop string removed
  FinishReason finish = FinishReason::None;
};

struct TokenEvent {
  int request = 0, sample = 0;
  SampledToken token;  // token.token = -1: the sample finished without drawing one (max_new_tokens 0)
  std::string text;    // newly printable text, whole UTF-8 characters until the sample finishes
  bool finished = false;
  FinishReason finish = FinishReason::None;
};

struct EngineOptions {
  AttnForm form = AttnForm::Absorbed;
  CacheType cache_type = CacheType::F32;  // element type of the KV cache (infer/kv_cache.hpp)
  int max_batch = 64;                     // samples decoding at once
  int64_t prefill_chunk = 512;            // prompt tokens per step
  int64_t max_context = 0;                // tokens per sequence, prompt included; 0: max_position_embeddings
  int64_t block_tokens = 64;              // KV cache block size
  // KV cache budget in bytes; 0: 90% of the memory available when the engine is made (or no limit where
  // that is unknown). A request reserves the cache its samples can reach (prompt + max_new_tokens, within the
  // context) when it is admitted, so a running sequence never runs out of cache midway.
  int64_t max_cache_bytes = 0;
  // Keep the KV cache of the last single-sample request to finish (or be cancelled), so that a later prompt
  // that starts with its tokens prefills only the rest: the next turn of a chat, whose prompt is the whole
  // conversation so far. Its blocks count against the budget until a request is admitted (which takes what it
  // shares and drops the rest) or needs the room.
  bool keep_last_sequence = false;
  // Cap the context at the tokens the KV cache budget holds for one sample: seek chat, whose one conversation
  // grows turn by turn, then drops its oldest turns to fit instead of a request being refused midway.
  bool context_within_budget = false;
  // More end-of-sequence ids, beside config.json's and the tokenizer's (generation_config.json's
  // eos_token_id).
  std::vector<int32_t> extra_eos;
};

struct EngineStats {
  int64_t prompt_tokens = 0, generated_tokens = 0, steps = 0;
  double prompt_seconds = 0, decode_seconds = 0;  // time of steps with prompt tokens / decode-only steps
  int64_t cache_bytes_per_token = 0, peak_cache_bytes = 0, cache_budget_bytes = 0;
  double prompt_tps() const { return prompt_seconds > 0 ? double(prompt_tokens) / prompt_seconds : 0; }
  double decode_tps() const;
  int64_t decode_step_tokens = 0;  // tokens generated by decode-only steps
  int64_t reused_prompt_tokens =
      0;  // prompt tokens whose cache rows came from a kept sequence, not prefilled
  // Steps at which a waiting request was held back by the cache budget alone (the batch had room for it).
  int64_t steps_held_by_budget = 0;
};

// For the user, when the cache budget held requests back although the batch had room (steps_held_by_budget):
// the rows that decode together then depend on the budget, by default on the memory free when the engine
// started, and rows decoded together change the last bits of each other's logits (and so a token drawn near a
// tie), so the run is bit-identical only to runs under the same budget. Empty when it did not.
std::string cache_budget_note(const EngineStats& stats, int max_batch);

class Engine {
 public:
  // tokenizer may be null: then no text and no stop strings. EOS: the config's eos_token_id (every id of
  // a list) and the tokenizer's end-of-sequence token, any one.
  Engine(const InferModel& model, const Tokenizer* tokenizer, const EngineOptions& opt = {});
  ~Engine();

  // Checks the request (non-empty prompt, token ids in the vocabulary, prompt within the context, valid
  // parameters) and queues it; returns its id (0, 1, 2, ... in submission order).
  int submit(GenRequest req);
  // One batched forward plus sampling. Returns false when there was nothing to do.
  bool step();
  // step() until every submitted request has finished.
  void run();
  bool idle() const;
  // Ends a request now: its unfinished samples finish with FinishReason::Cancelled (no event), keeping what
  // they generated; a request still waiting or prefilling finishes with no tokens. Done requests are left.
  void cancel(int request);
  // Zeroes the counters of stats() and starts the cache peak over from the cache in use now, e.g. to report
  // one chat turn.
  void reset_stats();

  const std::vector<Completion>& completions(int request) const;
  std::function<void(const TokenEvent&)> on_token;

  const EngineStats& stats() const { return stats_; }
  const KvCache& cache() const { return cache_; }
  Runner& runner() { return runner_; }
  AttnForm form() const { return runner_.form(); }
  int64_t max_context() const { return max_context_; }
  // Token ids [0, sample_vocab()) are sampled: the model's vocabulary cut to the tokenizer's.
  int64_t sample_vocab() const { return sample_vocab_; }

 private:
  struct Sample {
    int seq = -1;  // cache handle
    Rng rng;
    std::vector<int32_t> context;  // prompt + generated
    std::string text;
    size_t emitted = 0;
    bool done = false;
  };
  struct Request {
    GenRequest req;
    int id = 0;
    int prompt_seq = -1;
    int64_t prefilled = 0;
    bool admitted = false, started = false, done = false;
    std::vector<Sample> samples;
    size_t samples_done = 0;  // counted, not searched for: a request may have many samples
    std::vector<Completion> out;
  };
  bool advance();  // step() without the check for an earlier error
  void check_usable() const;
  int64_t sample_tokens(const GenRequest& req) const;  // prompt + new tokens a sample can reach
  int64_t cache_need(const GenRequest& req) const;     // bytes of the budget held from admission to the end
  void start_samples(Request& r, const float* logits);
  void accept(Request& r, int s, const SampledToken& t);
  void finish(Request& r, int s, FinishReason why);
  // keep_last_sequence: `seq` (its first `rows` rows written, for `tokens`) replaces the kept sequence.
  void keep(int seq, std::vector<int32_t> tokens);
  void drop_kept();

  const InferModel& model_;
  const Tokenizer* tok_;
  EngineOptions opt_;
  Runner runner_;
  KvCache cache_;
  int64_t max_context_ = 0;
  std::vector<int32_t> eos_;  // ids that end a sample
  int64_t sample_vocab_ = 0;  // ids [0, sample_vocab_) can be sampled
  std::vector<std::unique_ptr<Request>> reqs_;
  int running_ = 0;                                // samples admitted and not finished
  int64_t cache_budget_ = 0, cache_reserved_ = 0;  // bytes; reserved: by admitted requests not yet done
  EngineStats stats_;
  RunnerBatch batch_;
  std::vector<float> logits_;
  std::string failure_;  // what made an earlier step() throw; empty while usable
  struct Kept {
    int seq = -1;                 // cache handle; -1: none
    std::vector<int32_t> tokens;  // the tokens of its rows
    int64_t bytes = 0;            // its blocks, counted in cache_reserved_
  } kept_;
};

}  // namespace seek
