#include "infer/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.hpp"
#include "tokenizer/utf8.hpp"

namespace seek {

void SamplingParams::validate() const {
  SEEK_CHECK(std::isfinite(temperature) && temperature >= 0,
             "temperature must be a finite number >= 0, got {}", temperature);
  SEEK_CHECK(top_k >= 0, "top-k must be >= 0 (0 = off), got {}", top_k);
  SEEK_CHECK(top_p > 0 && top_p <= 1, "top-p must be in (0, 1], got {}", top_p);
  SEEK_CHECK(min_p >= 0 && min_p <= 1, "min-p must be in [0, 1], got {}", min_p);
  SEEK_CHECK(std::isfinite(repetition_penalty) && repetition_penalty > 0,
             "repetition penalty must be a finite number > 0, got {}", repetition_penalty);
  SEEK_CHECK(std::isfinite(presence_penalty), "presence penalty must be a finite number, got {}",
             presence_penalty);
  SEEK_CHECK(std::isfinite(frequency_penalty), "frequency penalty must be a finite number, got {}",
             frequency_penalty);
  SEEK_CHECK(max_new_tokens >= 0, "max new tokens must be >= 0, got {}", max_new_tokens);
  SEEK_CHECK(top_logprobs >= 0, "top logprobs must be >= 0, got {}", top_logprobs);
  for (const auto& s : stop) {
    SEEK_CHECK(!s.empty(), "stop strings must not be empty");
    // Text is matched as bytes: a stop string that is part of a character (a lone continuation byte) would
    // match inside one and cut the output mid-character. Valid UTF-8 can only match whole characters.
    SEEK_CHECK(tok::utf8_is_valid(s), "stop string '{}' is not valid UTF-8 text (invalid from its byte {})",
               tok::utf8_repair(s), tok::utf8_valid_prefix(s));
  }
}

namespace {

// A logit that is NaN or +inf: the model's, or one a penalty pushed past the float range (a penalty of -1e38,
// or a repetition penalty of 1e-38 dividing a positive logit), which is the flag's fault, not the model's.
[[noreturn]] void fail_non_finite(float raw, float penalised, int64_t token, const SamplingParams& p) {
  if (!std::isnan(raw) && raw != std::numeric_limits<float>::infinity())
    fail(
        "the penalties (repetition {}, presence {}, frequency {}) turned the logit {} of token {} into {}: "
        "nothing can be sampled; use smaller penalties",
        p.repetition_penalty, p.presence_penalty, p.frequency_penalty, raw, token, penalised);
  fail("the model produced a non-finite logit ({}) for token {}: nothing can be sampled", raw, token);
}

}  // namespace

SampledToken Sampler::sample(const float* logits, int64_t V, const SamplingParams& p,
                             std::span<const int32_t> context, std::span<const int32_t> generated, Rng& rng) {
  V_ = V;
  work_.assign(logits, logits + V);
  if (p.repetition_penalty != 1.0f) {
    // Each distinct token once, as Hugging Face's RepetitionPenaltyLogitsProcessor does (gather/scatter).
    flags_.assign(size_t(V), 0);
    for (int32_t t : context) {
      if (t < 0 || t >= V || flags_[size_t(t)]) continue;
      flags_[size_t(t)] = 1;
      float& l = work_[size_t(t)];
      l = l > 0 ? l / p.repetition_penalty : l * p.repetition_penalty;
    }
  }
  if (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
    counts_.assign(size_t(V), 0);
    for (int32_t t : generated)
      if (t >= 0 && t < V) ++counts_[size_t(t)];
    for (int64_t i = 0; i < V; ++i)
      if (counts_[size_t(i)] > 0)
        work_[size_t(i)] -= p.presence_penalty + p.frequency_penalty * float(counts_[size_t(i)]);
  }
  // Logits that are NaN or +inf (a model fault, or an fp8 cache overflowing) have no distribution to draw
  // from; -inf is a token ruled out, but not every token can be.
  int64_t best = 0;
  for (int64_t i = 0; i < V; ++i) {
    const float l = work_[size_t(i)];
    if (std::isnan(l) || l == std::numeric_limits<float>::infinity()) fail_non_finite(logits[i], l, i, p);
    if (l > work_[size_t(best)]) best = i;
  }
  SEEK_CHECK(work_[size_t(best)] != -std::numeric_limits<float>::infinity(),
             "every one of the {} logits is -inf: nothing can be sampled", V);
  SampledToken out;
  greedy_ = p.temperature == 0.0f;
  if (greedy_) {
    greedy_token_ = int32_t(best);
    out.token = greedy_token_;
    out.logprob = 0.0f;
    if (p.top_logprobs > 0) out.top.push_back({greedy_token_, 0.0f});
    return out;
  }
  // Tempered softmax in double. The maximum is subtracted before scaling: (l − max) · (1/T) is exact for the
  // maximum itself at any T, where l · (1/T) − max / T, fused into one multiply-add, leaves a rounding error
  // that grows with 1/T (every exp() underflowed to 0 at T = 1e-20).
  const double invT = 1.0 / double(p.temperature);
  const double mx = double(work_[size_t(best)]);
  prob_.resize(size_t(V));
  double z = 0;
  for (int64_t i = 0; i < V; ++i) z += (prob_[size_t(i)] = std::exp((double(work_[size_t(i)]) - mx) * invT));
  for (double& v : prob_) v /= z;
  // Candidates most likely first (ties: lower id first). Only as long a prefix of that order is sorted as
  // the truncation rules look at: a nucleus or min-p set is usually a few hundred of 100K+ tokens, and
  // sorting them all cost ~10 ms a token.
  order_.resize(size_t(V));
  std::iota(order_.begin(), order_.end(), 0);
  auto more_likely = [&](int32_t a, int32_t b) {
    return prob_[size_t(a)] > prob_[size_t(b)] || (prob_[size_t(a)] == prob_[size_t(b)] && a < b);
  };
  int64_t sorted = 0;  // order_[0, sorted) are the most likely tokens, in order
  auto sort_prefix = [&](int64_t n) {
    n = std::min(n, V);
    if (n <= sorted) return;
    std::partial_sort(order_.begin() + sorted, order_.begin() + n, order_.end(), more_likely);
    sorted = n;
  };
  auto nth = [&](int64_t i) {  // the i-th most likely token
    if (i >= sorted) sort_prefix(std::max<int64_t>(4 * sorted, 256));
    return order_[size_t(i)];
  };
  int64_t keep = V;
  if (p.top_k > 0 && p.top_k < V) {
    keep = p.top_k;
    sort_prefix(keep);
  }
  // top-p's mass is that of the top-k set, before min-p. The min-p set (p >= min_p · p_max) and the top-p
  // set are both prefixes of the order, so the kept set is the shorter one, and counting the min-p set
  // first (no sorting) bounds how far the top-p walk sorts.
  double mass = 0;
  if (p.top_p < 1.0f) {
    if (keep == V)
      for (double v : prob_) mass += v;
    else
      for (int64_t i = 0; i < keep; ++i) mass += prob_[size_t(order_[size_t(i)])];
  }
  if (p.min_p > 0.0f) {
    const double thr = double(p.min_p) * prob_[size_t(best)];
    int64_t n = 0;
    if (keep == V)
      for (double v : prob_) n += v >= thr;
    else
      for (int64_t i = 0; i < keep; ++i) n += prob_[size_t(order_[size_t(i)])] >= thr;
    keep = std::max<int64_t>(n, 1);
  }
  if (p.top_p < 1.0f) {
    double cum = 0;
    int64_t n = 0;
    while (n < keep) {
      cum += prob_[size_t(nth(n))] / mass;
      ++n;
      if (cum >= double(p.top_p)) break;
    }
    keep = std::max<int64_t>(n, 1);
  }
  if (keep < V) sort_prefix(keep);  // the kept set, for the renormalisation below
  sort_prefix(std::min<int64_t>(p.top_logprobs, keep));
  // Renormalise over the kept set; zero everything else.
  double kept = 0;
  if (keep < V) {
    flags_.assign(size_t(V), 0);
    for (int64_t i = 0; i < keep; ++i) flags_[size_t(order_[size_t(i)])] = 1;
    for (int64_t i = 0; i < V; ++i)
      if (!flags_[size_t(i)]) prob_[size_t(i)] = 0.0;
  }
  for (int64_t i = 0; i < V; ++i) kept += prob_[size_t(i)];
  for (double& v : prob_) v /= kept;
  // Draw: walk the kept tokens in id order (independent of how the candidates were sorted).
  const double u = rng.uniform();
  double cum = 0;
  int32_t tok = -1;
  for (int64_t i = 0; i < V; ++i) {
    if (prob_[size_t(i)] == 0.0) continue;
    tok = int32_t(i);
    cum += prob_[size_t(i)];
    if (u < cum) break;
  }
  out.token = tok;
  out.logprob = float(std::log(prob_[size_t(tok)]));
  const int64_t ntop = std::min<int64_t>(p.top_logprobs, keep);
  for (int64_t i = 0; i < ntop; ++i) {
    const int32_t t = order_[size_t(i)];
    if (prob_[size_t(t)] == 0.0) break;  // a kept token that cannot be drawn (its logit was -inf)
    out.top.push_back({t, float(std::log(prob_[size_t(t)]))});
  }
  return out;
}

std::vector<float> Sampler::last_logprobs() const {
  std::vector<float> out(size_t(V_), -std::numeric_limits<float>::infinity());
  if (greedy_) {
    out[size_t(greedy_token_)] = 0.0f;
    return out;
  }
  for (int64_t i = 0; i < V_; ++i)
    if (prob_[size_t(i)] > 0) out[size_t(i)] = float(std::log(prob_[size_t(i)]));
  return out;
}

}  // namespace seek
