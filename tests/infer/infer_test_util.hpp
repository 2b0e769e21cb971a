// Shared helpers for the inference tests: fixture folders, their reference logits, and running a whole
// sequence through the engine's runner.
#pragma once
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "core/rng.hpp"
#include "infer/model.hpp"
#include "infer/runner.hpp"
#include "infer/sampler.hpp"
#include "io/tensor_store.hpp"

namespace seek::test {

// n token ids drawn uniformly from [0, V) by Rng(seed): prompts for the engine tests.
inline std::vector<int32_t> random_tokens(int64_t n, int64_t V, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> p(static_cast<size_t>(n));
  for (auto& t : p) t = int32_t(rng.below(uint64_t(V)));
  return p;
}

// Plain sampling at temperature 1 from `seed`, exactly max_new tokens (EOS ignored).
inline SamplingParams free_sampling(uint64_t seed, int max_new) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.seed = seed;
  p.max_new_tokens = max_new;
  p.ignore_eos = true;
  return p;
}

// The kept set of a draw from (already penalised) logits under p's truncation rules, from their definitions
// in sampler.hpp, in double: the order is higher logit first, ties lower id first; top-k, then top-p over
// the top-k set's mass, then min-p, each keeping a prefix.
inline std::vector<char> reference_kept_set(const std::vector<float>& logits, const SamplingParams& p) {
  const int64_t V = int64_t(logits.size());
  const double T = double(p.temperature);
  double mx = -INFINITY;
  for (float v : logits) mx = std::max(mx, double(v) / T);
  std::vector<double> w(logits.size());  // unnormalised probabilities
  for (size_t i = 0; i < logits.size(); ++i) w[i] = std::exp(double(logits[i]) / T - mx);
  std::vector<int32_t> order(logits.size());
  for (int32_t i = 0; i < int32_t(V); ++i) order[size_t(i)] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)]; });
  const int64_t k = p.top_k > 0 ? std::min<int64_t>(p.top_k, V) : V;
  double mass = 0;
  for (int64_t i = 0; i < k; ++i) mass += w[size_t(order[size_t(i)])];
  std::vector<char> keep(logits.size(), 0);
  double cum = 0;
  for (int64_t i = 0; i < k; ++i) {
    const int32_t t = order[size_t(i)];
    if (w[size_t(t)] < double(p.min_p) * w[size_t(order[0])]) break;
    keep[size_t(t)] = 1;
    cum += w[size_t(t)] / mass;
    if (p.top_p < 1.0f && cum >= double(p.top_p)) break;
  }
  return keep;
}

// KV cache blocks of bt token rows that `rows` rows take.
inline int64_t blocks_for(int64_t rows, int64_t bt) {
  return (rows + bt - 1) / bt;
}

// A weight matrix in fp32 and, rounded, in bf16 (the fp32 copy holds the rounded values too, so both storage
// types describe the same matrix), values normal with standard deviation `scale`.
struct WeightPair {
  int64_t rows, cols;
  std::vector<float> f;
  std::vector<uint16_t> b;
  WeightPair(int64_t r, int64_t c, Rng& rng, double scale = 1.0)
      : rows(r), cols(c), f(size_t(r * c)), b(size_t(r * c)) {
    for (size_t i = 0; i < f.size(); ++i) {
      b[i] = f32_to_bf16(float(rng.normal() * scale));
      f[i] = bf16_to_f32(b[i]);
    }
  }
  WeightView view(bool bf16) const {
    WeightView v;
    v.rows = rows;
    v.cols = cols;
    if (bf16)
      v.bf16 = b.data();
    else
      v.f32 = f.data();
    return v;
  }
};

inline std::string fixture_dir(const std::string& name) {
  return std::string(SEEK_TEST_DIR) + "/fixtures/" + name;
}

// A fixture loaded with the given layout and weight format.
inline std::unique_ptr<InferModel> load_fixture(const std::string& name, PackPolicy pack,
                                                WeightFormat format = WeightFormat::F32) {
  InferLoadOptions opt;
  opt.pack = pack;
  opt.format = format;
  return InferModel::load(fixture_dir(name), opt);
}

struct RefLogits {
  int64_t B = 0, T = 0, V = 0;
  std::vector<int32_t> tokens;  // [B, T]
  std::vector<double> logits;   // [B, T, V]
};

inline RefLogits load_ref_logits(const std::string& name) {
  RefLogits r;
  TensorStore store(fixture_dir(name) + "/reference.safetensors");
  auto shape = store.info("tokens").shape;
  r.B = shape[0];
  r.T = shape[1];
  std::vector<int64_t> tok(size_t(r.B * r.T));
  store.read_into("tokens", shape, tok.data());
  r.tokens.assign(tok.begin(), tok.end());
  r.V = store.info("logits").shape[2];
  r.logits.resize(size_t(r.B * r.T * r.V));
  store.read_into("logits", {r.B, r.T, r.V}, r.logits.data());
  return r;
}

// Logits [T, V] of one sequence run as a single prefill (every position's logits requested).
inline std::vector<float> prefill_logits(Runner& run, const int32_t* tokens, int64_t T) {
  KvCache cache = run.make_cache(8);
  int s = cache.create();
  cache.prepare(s, 0, T);
  RunnerBatch b;
  for (int64_t t = 0; t < T; ++t) b.add(tokens[t], int32_t(t), s, true);
  std::vector<float> out(size_t(T * run.model().config().vocab_size));
  run.forward(b, cache, out.data());
  return out;
}

// Logits [B, T, V] of B sequences (tokens [B, T]) prefilled together in one forward call.
inline std::vector<float> batched_prefill_logits(Runner& run, const int32_t* tokens, int64_t B, int64_t T) {
  KvCache cache = run.make_cache(8);
  RunnerBatch b;
  for (int64_t i = 0; i < B; ++i) {
    const int s = cache.create();
    cache.prepare(s, 0, T);
    for (int64_t t = 0; t < T; ++t) b.add(tokens[i * T + t], int32_t(t), s, true);
  }
  std::vector<float> out(size_t(B * T * run.model().config().vocab_size));
  run.forward(b, cache, out.data());
  return out;
}

// The same logits, one token per forward call (decode step by step).
inline std::vector<float> stepwise_logits(Runner& run, const int32_t* tokens, int64_t T) {
  const int64_t V = run.model().config().vocab_size;
  KvCache cache = run.make_cache(4);
  int s = cache.create();
  std::vector<float> out(size_t(T * V));
  for (int64_t t = 0; t < T; ++t) {
    cache.prepare(s, t, t + 1);
    RunnerBatch b;
    b.add(tokens[t], int32_t(t), s, true);
    run.forward(b, cache, out.data() + t * V);
  }
  return out;
}

template <typename A, typename B>
double max_abs_diff(const A& a, const B& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
  return m;
}

}  // namespace seek::test
