// Token sampling with exact log-probabilities.
// Order of operations on the logits of one sequence (vLLM / Hugging Face order):
//   1. penalties: repetition (CTRL: a positive logit is divided by it, a negative one multiplied) over the
//      prompt and generated tokens; presence (subtracted once) and frequency (subtracted per occurrence) over
//      the generated tokens (OpenAI semantics);
//   2. temperature: logits / T; T = 0 means greedy (argmax, lowest id on ties);
//   3. truncation on the tempered distribution p = softmax(logits / T): top-k (the k most likely), then
//      top-p (the smallest most-likely prefix whose mass reaches p), then min-p (drop tokens with
//      p < min_p · p_max); at least one token always survives;
//   4. the kept probabilities are renormalised and one token is drawn.
// The log-probability returned with a token is log of its probability in exactly that final distribution
// (after temperature and truncation; 0 for greedy, which is a point mass), computed in double from the
// logits; the draw itself uses float weights, each within ~1e-7 (relative) of those probabilities. Optional
// top-n alternatives come from the same distribution (tokens outside the kept set have log-probability -inf
// and are not listed). Deterministic: a token depends only on the logits, the parameters and the Rng state.
// A NaN or +inf logit, or logits that are all -inf, are an error (seek::Error), never a made-up token.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/rng.hpp"

namespace seek {

struct SamplingParams {
  float temperature = 1.0f;  // 0: greedy
  int top_k = 0;             // 0: off
  float top_p = 1.0f;        // 1: off
  float min_p = 0.0f;        // 0: off
  float repetition_penalty = 1.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint64_t seed = 0;
  int max_new_tokens = 256;
  std::vector<std::string> stop;     // stop strings: generation ends before the first occurrence
  std::vector<int32_t> stop_tokens;  // in addition to EOS
  bool ignore_eos = false;
  int top_logprobs = 0;  // alternatives to return per token

  void validate() const;  // throws seek::Error naming the bad parameter
};

struct TokenLogprob {
  int32_t token = -1;
  // double: an alternative far below a tiny temperature's peak (-7e44 at T = 1e-45) is finite only there.
  double logprob = 0.0;
};

struct SampledToken {
  int32_t token = -1;
  double logprob = 0.0;           // the same value as the token's entry in `top`
  std::vector<TokenLogprob> top;  // most likely first, size min(top_logprobs, tokens kept): a token
                                  // kept with weight 0 (~87 nats below the top) is listed with its finite
                                  // log-probability
};

class Sampler {
 public:
  // logits: [V] (not modified). context: the prompt and generated tokens so far (repetition penalty);
  // generated: the generated tokens only (presence / frequency).
  SampledToken sample(const float* logits, int64_t V, const SamplingParams& p,
                      std::span<const int32_t> context, std::span<const int32_t> generated, Rng& rng);

  // The final distribution of the last sample() call: log-probabilities [V], -inf outside the kept set.
  // (Used by tests to check that returned log-probs are those of the distribution drawn from.)
  std::vector<float> last_logprobs() const;

 private:
  double logprob_of(int64_t token) const;  // in the last non-greedy draw's final distribution
  double sum_weights();                    // of weight_, filling block_sums_
  int32_t draw(double target) const;       // the token whose cumulative weight (id order) first passes target
  int64_t nucleus(double target);          // top-p over the whole vocabulary: the kept set's size

  static constexpr int64_t kBlock = 256;  // tokens per block of the scans that find the maximum and draw
  static constexpr int64_t kBand = 512;   // tokens nucleus() sorts at its boundary

  std::vector<float> work_;         // penalised logits
  std::vector<float> weight_;       // exp((work_ − max) / T), 0 outside the kept set
  std::vector<double> block_sums_;  // weight_ summed over each kBlock tokens
  std::vector<int32_t> order_;      // candidate ids, most likely first
  std::vector<int32_t> band_;       // nucleus(): the tokens at its boundary
  std::vector<int32_t> counts_;     // occurrences in `generated`
  std::vector<char> flags_;         // per token: seen in the context, then: in the kept set
  double max_ = 0;                  // the largest penalised logit
  double inv_t_ = 1;                // 1 / temperature
  double log_z_ = 0;                // log of the kept weights' sum
  bool truncated_ = false;          // flags_ marks the kept set
  bool greedy_ = false;
  int32_t greedy_token_ = -1;
  int64_t V_ = 0;
};

}  // namespace seek
