#include "infer/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.hpp"
#include "kernels/vecmath.hpp"
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
  // from; -inf is a token ruled out, but not every token can be. The maximum and the check run as one
  // vector pass; the offender is looked for only when there is one.
  const float* w = work_.data();
  const float inf = std::numeric_limits<float>::infinity();
  float mx = -inf;
  int bad = 0;
  int64_t best = 0;  // the first token of the first block holding the maximum, then the token itself
  for (int64_t b = 0; b < V; b += kBlock) {
    const int64_t e = std::min(b + kBlock, V);
    float bm = -inf;
#pragma omp simd reduction(max : bm) reduction(| : bad)
    for (int64_t i = b; i < e; ++i) {
      bad |= !(w[i] < inf);  // NaN or +inf
      bm = w[i] > bm ? w[i] : bm;
    }
    if (bm > mx) {
      mx = bm;
      best = b;
    }
  }
  if (bad)
    for (int64_t i = 0; i < V; ++i)
      if (!(w[i] < inf)) fail_non_finite(logits[i], w[i], i, p);
  SEEK_CHECK(mx != -inf, "every one of the {} logits is -inf: nothing can be sampled", V);
  while (w[best] != mx) ++best;
  SampledToken out;
  greedy_ = p.temperature == 0.0f;
  if (greedy_) {
    greedy_token_ = int32_t(best);
    out.token = greedy_token_;
    out.logprob = 0.0f;
    if (p.top_logprobs > 0) out.top.push_back({greedy_token_, 0.0f});
    return out;
  }
  // Tempered softmax weights exp((l − max) / T) in float (kernels/vecmath's fast_exp, relative error ~1e-7;
  // std::exp in double cost 0.4 ms a token over a 102,400-token vocabulary), summed in double. The maximum
  // is subtracted before scaling, in double: (l − max) · (1/T) is exact for the maximum itself at any T,
  // where l / T − max / T leaves a rounding error that grows with 1/T (every weight underflowed at T =
  // 1e-20). Log-probabilities are not logs of these weights but (l − max) / T − log Z in double, so a token
  // whose weight underflows (more than 87 below the maximum) still gets its finite log-probability.
  inv_t_ = 1.0 / double(p.temperature);
  max_ = double(mx);
  weight_.resize(size_t(V));
  float* wt = weight_.data();
  const double invT = inv_t_, dmx = max_;
#pragma omp simd
  for (int64_t i = 0; i < V; ++i) wt[i] = fast_exp(float((double(w[i]) - dmx) * invT));
  const double z = sum_weights();
  // Candidates most likely first (higher penalised logit; ties: lower id first). Only as long a prefix of
  // that order is sorted as the truncation rules look at: a nucleus or min-p set is usually a few hundred
  // of 100K+ tokens, and sorting them all cost ~10 ms a token. Untruncated draws never sort. Nor is the
  // whole vocabulary searched for that prefix when it can be avoided: the candidates are first the tokens
  // within 8 (tempered) nats of the maximum, then 32, then all, as many as the prefix needs; every token
  // more likely than a candidate is one, so the candidates' order begins as the vocabulary's.
  auto more_likely = [w](int32_t a, int32_t b) { return w[a] > w[b] || (w[a] == w[b] && a < b); };
  int64_t sorted = 0;  // order_[0, sorted) are the most likely tokens, in order
  int64_t candidates = 0, level = 0;
  auto sort_prefix = [&](int64_t n) {
    n = std::min(n, V);
    if (n <= sorted) return;
    order_.resize(size_t(V));
    while (candidates < n) {
      const double nats = ++level == 1 ? 8.0 : level == 2 ? 32.0 : std::numeric_limits<double>::infinity();
      const float thr = float(max_ - nats / inv_t_);  // -inf: every token
      candidates = 0;
      for (int64_t i = 0; i < V; ++i)
        if (w[i] >= thr) order_[size_t(candidates++)] = int32_t(i);
      sorted = 0;
    }
    std::partial_sort(order_.begin() + sorted, order_.begin() + n, order_.begin() + candidates, more_likely);
    sorted = n;
  };
  auto nth = [&](int64_t i) {  // the i-th most likely token
    if (i >= sorted) {
      const int64_t round = std::max<int64_t>(4 * sorted, 256);
      sort_prefix(i < candidates ? std::min(round, candidates) : round);  // within the candidates if it can
    }
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
  double mass = z;
  if (p.top_p < 1.0f && keep < V) {
    mass = 0;
    for (int64_t i = 0; i < keep; ++i) mass += double(wt[order_[size_t(i)]]);
  }
  if (p.min_p > 0.0f) {
    const float thr = float(double(p.min_p) * double(wt[best]));
    int64_t n = 0;
    if (keep == V) {
#pragma omp simd reduction(+ : n)
      for (int64_t i = 0; i < V; ++i) n += wt[i] >= thr;
    } else {
      for (int64_t i = 0; i < keep; ++i) n += wt[order_[size_t(i)]] >= thr;
    }
    keep = std::max<int64_t>(n, 1);
  }
  if (p.top_p < 1.0f) {
    double cum = 0;
    int64_t n = 0;
    while (n < keep) {
      cum += double(wt[nth(n)]) / mass;
      ++n;
      if (cum >= double(p.top_p)) break;
    }
    keep = std::max<int64_t>(n, 1);
  }
  if (keep < V) sort_prefix(keep);  // the kept set, for the renormalisation below
  sort_prefix(std::min<int64_t>(p.top_logprobs, keep));
  // Renormalise over the kept set: weights outside it become 0.
  truncated_ = keep < V;
  double kept = z;
  if (truncated_) {
    flags_.assign(size_t(V), 0);
    for (int64_t i = 0; i < keep; ++i) flags_[size_t(order_[size_t(i)])] = 1;
    const char* f = flags_.data();
#pragma omp simd
    for (int64_t i = 0; i < V; ++i) wt[i] = f[i] ? wt[i] : 0.0f;
    kept = sum_weights();
  }
  log_z_ = std::log(kept);
  // Draw: walk the kept tokens in id order (independent of how the candidates were sorted).
  const int32_t tok = draw(rng.uniform() * kept);
  out.token = tok;
  out.logprob = float(logprob_of(tok));
  const int64_t ntop = std::min<int64_t>(p.top_logprobs, keep);
  for (int64_t i = 0; i < ntop; ++i) {
    const int32_t t = order_[size_t(i)];
    if (w[t] == -inf) break;  // a kept token that cannot be drawn
    out.top.push_back({t, float(logprob_of(t))});
  }
  return out;
}

// Also the sums of blocks of kBlock weights, so that a draw skips whole blocks. A separate pass: GCC 12
// leaves a loop scalar when it both computes the weights and sums them in double.
double Sampler::sum_weights() {
  const float* wt = weight_.data();
  const int64_t V = int64_t(weight_.size());
  block_sums_.resize(size_t((V + kBlock - 1) / kBlock));
  double z = 0;
  for (int64_t b = 0; b < V; b += kBlock) {
    const int64_t e = std::min(b + kBlock, V);
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = b; i < e; ++i) s += double(wt[i]);
    block_sums_[size_t(b / kBlock)] = s;
    z += s;
  }
  return z;
}

// The first token (in id order) whose running sum of weights passes target. Sums rounded in another order
// can leave target at or past the last one; then the last token of weight > 0 is drawn.
int32_t Sampler::draw(double target) const {
  const int64_t nb = int64_t(block_sums_.size());
  double cum = 0, cum_before_last = 0;
  int64_t b = 0, last = -1;
  for (; b < nb; ++b) {
    const double s = block_sums_[size_t(b)];
    if (s > 0) {
      if (target < cum + s) break;
      last = b;
      cum_before_last = cum;
    }
    cum += s;
  }
  if (b == nb) {
    b = last;
    cum = cum_before_last;
    target = std::numeric_limits<double>::infinity();
  }
  const float* wt = weight_.data();
  const int64_t e = std::min((b + 1) * kBlock, int64_t(weight_.size()));
  int32_t tok = -1;
  for (int64_t i = b * kBlock; i < e; ++i) {
    if (wt[i] == 0.0f) continue;
    tok = int32_t(i);
    cum += double(wt[i]);
    if (target < cum) break;
  }
  return tok;
}

double Sampler::logprob_of(int64_t token) const {
  return (double(work_[size_t(token)]) - max_) * inv_t_ - log_z_;
}

std::vector<float> Sampler::last_logprobs() const {
  std::vector<float> out(size_t(V_), -std::numeric_limits<float>::infinity());
  if (greedy_) {
    out[size_t(greedy_token_)] = 0.0f;
    return out;
  }
  for (int64_t i = 0; i < V_; ++i)
    if (!truncated_ || flags_[size_t(i)]) out[size_t(i)] = float(logprob_of(i));
  return out;
}

}  // namespace seek
