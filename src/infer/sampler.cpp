#include "infer/sampler.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/number_text.hpp"
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
        "the penalties (repetition {}, presence {}, frequency {}) turned the logit {} of token id {} into "
        "{}: "
        "nothing can be sampled; use milder penalties (a repetition penalty nearer 1, presence and "
        "frequency penalties nearer 0)",
        p.repetition_penalty, p.presence_penalty, p.frequency_penalty, raw, token, penalised);
  fail(
      "the model produced a non-finite logit ({}) for token id {}: nothing can be sampled. The checkpoint's "
      "weights may hold NaN or inf, or bf16 weights or a bf16/fp8 KV cache may overflow: check the "
      "checkpoint, or run without --bf16 / --kv-cache",
      number_text(raw), token);
}

// The summed weights of the tokens whose logit is at least thr, and (in count) how many there are. Two loops,
// each in the one form GCC 12 vectorises (it leaves a conditional sum in double scalar).
double mass_from(const float* w, const float* wt, int64_t V, float thr, int64_t& count) {
  double m = 0;
#pragma omp simd reduction(+ : m)
  for (int64_t i = 0; i < V; ++i) m += double(wt[i]) * double(w[i] >= thr);
  int64_t n = 0;
#pragma omp simd reduction(+ : n)
  for (int64_t i = 0; i < V; ++i) n += w[i] >= thr;
  count = n;
  return m;
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
    out.logprob = 0.0;
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
  // Truncation. Each rule keeps a prefix of the order "higher penalised logit first, ties: lower id first"
  // (the order of the tempered probabilities), and the rules are defined on the logits, so the kept set does
  // not depend on the rounding of the weights. The kept set ends up in order_[0, keep) as a set; only as
  // much of it is sorted as top-k and the listed alternatives need (sorting a 100K-token vocabulary costs
  // ~10 ms a token). The search starts from candidates: the tokens within 8 (tempered) nats of the maximum,
  // then 32, then all, as far as a rule needs; every token more likely than a candidate is one, so the
  // candidates' order begins as the vocabulary's. Untruncated draws do none of this.
  auto more_likely = [w](int32_t a, int32_t b) { return w[a] > w[b] || (w[a] == w[b] && a < b); };
  if (p.top_k > 0 || p.top_p < 1.0f || p.min_p > 0.0f || p.top_logprobs > 0) order_.resize(size_t(V));
  int64_t sorted = 0;                 // order_[0, sorted) are the most likely tokens, in order
  int64_t candidates = 0, level = 0;  // order_[0, candidates): every token within level's reach
  auto widen = [&] {                  // the next level of candidates
    const double nats = ++level == 1 ? 8.0 : level == 2 ? 32.0 : std::numeric_limits<double>::infinity();
    const float thr = float(max_ - nats / inv_t_);  // -inf: every token
    candidates = 0;
    for (int64_t i = 0; i < V; ++i)
      if (w[i] >= thr) order_[size_t(candidates++)] = int32_t(i);
    sorted = 0;
  };
  auto sort_prefix = [&](int64_t n) {  // n <= V
    if (n <= sorted) return;
    while (candidates < n) widen();
    std::partial_sort(order_.begin() + sorted, order_.begin() + n, order_.begin() + candidates, more_likely);
    sorted = n;
  };
  int64_t keep = V;
  if (p.top_k > 0 && p.top_k < V) {
    keep = p.top_k;
    sort_prefix(keep);
  }
  // The min-p set: p >= min_p · p_max, i.e. a logit at most T · log(1 / min_p) below the maximum, or at least
  // the smallest float at or above that.
  int64_t min_p_set = V;
  double min_p_mass = z;  // its weights' sum, where keep == V
  float min_p_thr = -inf;
  if (p.min_p > 0.0f) {
    const double logit = max_ + std::log(double(p.min_p)) / inv_t_;
    min_p_thr = float(logit);
    if (double(min_p_thr) < logit) min_p_thr = std::nextafter(min_p_thr, inf);
    int64_t n = 0;
    if (keep == V)
      min_p_mass = mass_from(w, wt, V, min_p_thr, n);
    else
      while (n < keep && w[order_[size_t(n)]] >= min_p_thr) ++n;
    min_p_set = std::max<int64_t>(n, 1);
  }
  auto collect_min_p = [&] {  // order_[0, n): the min-p set, in id order
    int64_t n = 0;
    for (int64_t i = 0; i < V; ++i)
      if (w[i] >= min_p_thr) order_[size_t(n++)] = int32_t(i);
    sorted = 0;
    return n;
  };
  if (p.top_p < 1.0f) {
    // The smallest most likely prefix of the top-k set whose share of its mass reaches top_p; if the min-p
    // set is shorter, that is the kept set.
    int64_t n = 0;
    if (keep < V) {  // sorted: walk it
      double mass = 0;
      for (int64_t i = 0; i < keep; ++i) mass += double(wt[order_[size_t(i)]]);
      double cum = 0;
      while (n < std::min(keep, min_p_set)) {
        cum += double(wt[order_[size_t(n++)]]) / mass;
        if (cum >= double(p.top_p)) break;
      }
    } else {
      // A min-p set that falls short of top_p's mass is shorter than the nucleus; else it holds it.
      const double target = double(p.top_p) * z;
      // (Sums rounded in another order can take the nucleus past the min-p set by a token at the edge.)
      n = min_p_mass < target ? collect_min_p() : nucleus(target);
      if (n > min_p_set) n = collect_min_p();
      sorted = 0;
    }
    keep = std::max<int64_t>(n, 1);
  } else if (min_p_set < keep) {
    if (keep == V) collect_min_p();
    keep = min_p_set;
  }
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
  out.logprob = logprob_of(tok);
  // The listed alternatives: the most likely of the kept set, in order.
  const int64_t ntop = std::min<int64_t>(p.top_logprobs, keep);
  if (ntop > sorted) {
    if (truncated_)
      std::partial_sort(order_.begin() + sorted, order_.begin() + ntop, order_.begin() + keep, more_likely);
    else
      sort_prefix(ntop);
  }
  for (int64_t i = 0; i < ntop; ++i) {
    const int32_t t = order_[size_t(i)];
    if (w[t] == -inf) break;  // a kept token that cannot be drawn
    out.top.push_back({t, logprob_of(t)});
  }
  return out;
}

// The smallest most likely set of tokens whose weights sum to at least target, over the whole vocabulary: its
// size, with the set left in order_[0, size). A bisection on the logit threshold (over the order-preserving
// integer codes of floats, so at most 32 steps), each step one vector pass that sums the weights at or above
// it, until at most kBand tokens lie between the bounds; only those are sorted. A flat distribution's nucleus
// is most of the vocabulary, which sorted in rounds cost ~8 ms a token.
int64_t Sampler::nucleus(double target) {
  const float* w = work_.data();
  const float* wt = weight_.data();
  const int64_t V = V_;
  auto code = [](float f) {
    const uint32_t u = std::bit_cast<uint32_t>(f + 0.0f);  // −0 as +0: they compare equal
    return u & 0x80000000u ? ~u : u | 0x80000000u;
  };
  auto value = [](uint32_t c) { return std::bit_cast<float>(c & 0x80000000u ? c & 0x7FFFFFFFu : ~c); };
  // Invariant: the tokens at or above value(lo) weigh at least target, those at or above value(hi) less.
  // A nucleus within 8 nats of the maximum (a peaked distribution's) starts from there.
  uint32_t lo = code(-std::numeric_limits<float>::infinity()), hi = code(float(max_)) + 1;
  int64_t n_lo = V, n_hi = 0;
  double m_hi = 0;
  const float near = float(max_ - 8.0 / inv_t_);
  int64_t n_near = 0;
  if (mass_from(w, wt, V, near, n_near) >= target) {
    lo = code(near);
    n_lo = n_near;
  }
  while (hi - lo > 1 && n_lo - n_hi > kBand) {
    const uint32_t mid = lo + (hi - lo) / 2;
    int64_t n = 0;
    const double m = mass_from(w, wt, V, value(mid), n);
    if (m >= target) {
      lo = mid;
      n_lo = n;
    } else {
      hi = mid;
      n_hi = n;
      m_hi = m;
    }
  }
  const float t_lo = value(lo), t_hi = value(hi);
  int64_t size = 0;
  band_.clear();
  for (int64_t i = 0; i < V; ++i) {
    if (w[i] >= t_hi)
      order_[size_t(size++)] = int32_t(i);
    else if (w[i] >= t_lo)
      band_.push_back(int32_t(i));
  }
  std::sort(band_.begin(), band_.end(),
            [w](int32_t a, int32_t b) { return w[a] > w[b] || (w[a] == w[b] && a < b); });
  double acc = m_hi;
  for (int32_t t : band_) {
    order_[size_t(size++)] = t;
    acc += double(wt[t]);
    if (acc >= target) break;
  }
  return size;
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
