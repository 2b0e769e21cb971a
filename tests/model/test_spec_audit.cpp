// The model math at the settings of the REAL DeepSeek-V2 / V2-Lite / V3 checkpoints (shared spec
// deepseek-architecture.md §1, §2.3, §3.3-§3.5, §4), against independent double-precision references written
// from the spec's text. The tiny fixtures use factor 4, original_max_position_embeddings 16 and 8 experts, so
// they never reach YaRN's blended band (low 10 / high 23 for dr 64), V2's 8 × 20 groups or V3's 8 × 32.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "core/dtype.hpp"
#include "io/convert.hpp"
#include "kernels/rope.hpp"
#include "model/config.hpp"
#include "model/router.hpp"

namespace seek {
namespace {

using nlohmann::json;

// Hub config.json values (spec §1 table), the keys that change the math.
json v3_config() {
  return json::parse(R"({
    "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
    "vocab_size": 129280, "hidden_size": 7168, "intermediate_size": 18432, "moe_intermediate_size": 2048,
    "num_hidden_layers": 61, "num_attention_heads": 128, "num_key_value_heads": 128,
    "n_shared_experts": 1, "n_routed_experts": 256, "num_experts_per_tok": 8, "n_group": 8, "topk_group": 4,
    "topk_method": "noaux_tc", "scoring_func": "sigmoid", "norm_topk_prob": true,
    "routed_scaling_factor": 2.5, "first_k_dense_replace": 3, "moe_layer_freq": 1, "q_lora_rank": 1536,
    "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
    "rope_theta": 10000, "max_position_embeddings": 163840,
    "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096,
                     "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0},
    "rms_norm_eps": 1e-6, "hidden_act": "silu", "attention_bias": false, "tie_word_embeddings": false,
    "num_nextn_predict_layers": 1, "aux_loss_alpha": 0.001, "seq_aux": true, "ep_size": 1,
    "bos_token_id": 0, "eos_token_id": 1, "torch_dtype": "bfloat16",
    "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                            "weight_block_size": [128, 128]}
  })");
}

json v2_config() {
  return json::parse(R"({
    "architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2",
    "vocab_size": 102400, "hidden_size": 5120, "intermediate_size": 12288, "moe_intermediate_size": 1536,
    "num_hidden_layers": 60, "num_attention_heads": 128, "num_key_value_heads": 128,
    "n_shared_experts": 2, "n_routed_experts": 160, "num_experts_per_tok": 6, "n_group": 8, "topk_group": 3,
    "topk_method": "group_limited_greedy", "scoring_func": "softmax", "norm_topk_prob": false,
    "routed_scaling_factor": 16.0, "first_k_dense_replace": 1, "moe_layer_freq": 1, "q_lora_rank": 1536,
    "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
    "rope_theta": 10000, "max_position_embeddings": 163840,
    "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096,
                     "beta_fast": 32, "beta_slow": 1, "mscale": 0.707, "mscale_all_dim": 0.707},
    "rms_norm_eps": 1e-6, "hidden_act": "silu", "attention_bias": false, "tie_word_embeddings": false,
    "aux_loss_alpha": 0.001, "seq_aux": true, "bos_token_id": 100000, "eos_token_id": 100001
  })");
}

json v2lite_config() {
  json j = v2_config();
  j.update(json::parse(R"({
    "vocab_size": 102400, "hidden_size": 2048, "intermediate_size": 10944, "moe_intermediate_size": 1408,
    "num_hidden_layers": 27, "num_attention_heads": 16, "num_key_value_heads": 16, "n_shared_experts": 2,
    "n_routed_experts": 64, "num_experts_per_tok": 6, "n_group": 1, "topk_group": 1, "topk_method": "greedy",
    "routed_scaling_factor": 1.0, "q_lora_rank": null
  })"));
  return j;
}

// ------------------------------------------------------------------------------------------------------
// Independent references (double precision, spec §3.4 / §3.5 wording).

double ref_m(double s, double k) {
  return s <= 1.0 ? 1.0 : 0.1 * k * std::log(s) + 1.0;
}

std::vector<double> ref_inv_freq(int dr, double theta, double s, double L0, double bf, double bs) {
  std::vector<double> out(size_t(dr / 2));
  auto corr = [&](double n) {
    return dr * std::log(L0 / (2 * std::numbers::pi * n)) / (2 * std::log(theta));
  };
  double low = std::max(std::floor(corr(bf)), 0.0), high = std::min(std::ceil(corr(bs)), double(dr - 1));
  if (low == high) high += 0.001;
  for (int i = 0; i < dr / 2; ++i) {
    double extra = std::pow(theta, -2.0 * i / dr), inter = extra / s;
    double ramp = std::min(1.0, std::max(0.0, (i - low) / (high - low)));
    double keep = 1.0 - ramp;
    out[size_t(i)] = inter * (1 - keep) + extra * keep;
  }
  return out;
}

TEST(SpecAudit, RealConfigsParseWithTheirMath) {
  auto v3 = ModelConfig::from_json(v3_config(), "v3/config.json");
  EXPECT_EQ(v3.topk_method, TopkMethod::NoauxTc);
  EXPECT_EQ(v3.scoring_func, ScoringFunc::Sigmoid);
  EXPECT_TRUE(v3.norm_topk_prob);
  EXPECT_DOUBLE_EQ(v3.routed_scaling_factor, 2.5);
  EXPECT_EQ(v3.n_group, 8);
  EXPECT_EQ(v3.topk_group, 4);
  EXPECT_TRUE(v3.has_q_lora());
  EXPECT_EQ(v3.qk_head_dim(), 192);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(v3.is_moe_layer(i)) << i;
  for (int i = 3; i < 62; ++i) EXPECT_TRUE(v3.is_moe_layer(i)) << i;  // 61 = the MTP layer, MoE too
  EXPECT_EQ(v3.num_nextn_predict_layers, 1);
  EXPECT_TRUE(v3.rope.yarn);
  EXPECT_EQ(v3.rope.dim, 64);
  EXPECT_DOUBLE_EQ(v3.rope.factor, 40.0);
  EXPECT_EQ(v3.rope.original_max_pos, 4096);
  EXPECT_DOUBLE_EQ(v3.rope.mscale_all_dim, 1.0);

  auto v2 = ModelConfig::from_json(v2_config(), "v2/config.json");
  EXPECT_EQ(v2.topk_method, TopkMethod::GroupLimitedGreedy);
  EXPECT_EQ(v2.scoring_func, ScoringFunc::Softmax);
  EXPECT_FALSE(v2.norm_topk_prob);
  EXPECT_DOUBLE_EQ(v2.routed_scaling_factor, 16.0);
  EXPECT_FALSE(v2.is_moe_layer(0));
  EXPECT_TRUE(v2.is_moe_layer(1));
  EXPECT_TRUE(v2.is_moe_layer(59));

  auto lite = ModelConfig::from_json(v2lite_config(), "v2lite/config.json");
  EXPECT_FALSE(lite.has_q_lora());  // q_lora_rank null: plain q_proj
  EXPECT_EQ(lite.topk_method, TopkMethod::Greedy);
  EXPECT_DOUBLE_EQ(lite.rope.mscale, 0.707);
  EXPECT_DOUBLE_EQ(lite.rope.mscale_all_dim, 0.707);
  // DeepSeek's own configs write q_lora_rank 0 for "none".
  json zero = v2lite_config();
  zero["q_lora_rank"] = 0;
  EXPECT_FALSE(ModelConfig::from_json(zero, "x").has_q_lora());
  // A round trip keeps every key that changes the math.
  auto back = ModelConfig::from_json(v3.to_json(), "back");
  EXPECT_EQ(back.to_json(), v3.to_json());
  EXPECT_DOUBLE_EQ(back.softmax_scale(), v3.softmax_scale());
}

TEST(SpecAudit, YarnInvFreqAtRealSettings) {
  for (double ms : {1.0, 0.707}) {
    json j = ms == 1.0 ? v3_config() : v2lite_config();
    auto c = ModelConfig::from_json(j, "config.json");
    const auto got = rope_inv_freq(c.rope);
    const auto want = ref_inv_freq(64, 10000.0, 40.0, 4096.0, 32.0, 1.0);
    ASSERT_EQ(got.size(), 32u);
    for (size_t i = 0; i < 32; ++i) EXPECT_NEAR(got[i], want[i], 1e-15 * want[i] + 1e-300) << i;
    // The spec's worked numbers: pairs i <= 10 keep θ^(-2i/64), pairs i >= 23 are divided by 40.
    for (int i = 0; i <= 10; ++i) EXPECT_NEAR(got[size_t(i)], std::pow(1e4, -i / 32.0), 1e-15) << i;
    for (int i = 23; i < 32; ++i) EXPECT_NEAR(got[size_t(i)], std::pow(1e4, -i / 32.0) / 40.0, 1e-18) << i;
    // Pair 16 is blended: ramp (16-10)/13.
    const double e16 = std::pow(1e4, -0.5), r16 = 6.0 / 13.0;
    EXPECT_NEAR(got[16], e16 / 40.0 * r16 + e16 * (1 - r16), 1e-16);
    // The cos/sin multiplier is m(40, mscale) / m(40, mscale_all_dim) = 1 for every released config.
    EXPECT_DOUBLE_EQ(rope_magnitude(c.rope), 1.0);
  }
}

TEST(SpecAudit, SoftmaxScaleAtRealSettings) {
  auto v3 = ModelConfig::from_json(v3_config(), "v3");
  auto lite = ModelConfig::from_json(v2lite_config(), "lite");
  auto v2 = ModelConfig::from_json(v2_config(), "v2");
  // Spec §3.5's numbers, and the formula.
  EXPECT_NEAR(v3.softmax_scale(), 0.1352338, 1e-7);
  EXPECT_NEAR(lite.softmax_scale(), 0.1147214, 1e-7);
  EXPECT_NEAR(v2.softmax_scale(), 0.1147214, 1e-7);
  const double m3 = ref_m(40, 1.0), m2 = ref_m(40, 0.707);
  EXPECT_NEAR(v3.softmax_scale(), m3 * m3 / std::sqrt(192.0), 1e-15);
  EXPECT_NEAR(lite.softmax_scale(), m2 * m2 / std::sqrt(192.0), 1e-15);
  // rope_scaling null: plain RoPE, plain 192^-0.5.
  json none = v3_config();
  none["rope_scaling"] = nullptr;
  auto plain = ModelConfig::from_json(none, "plain");
  EXPECT_FALSE(plain.rope.yarn);
  EXPECT_NEAR(plain.softmax_scale(), 1.0 / std::sqrt(192.0), 1e-15);
  EXPECT_DOUBLE_EQ(rope_magnitude(plain.rope), 1.0);
  const auto inv = rope_inv_freq(plain.rope);
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(inv[size_t(i)], std::pow(1e4, -i / 32.0), 1e-15) << i;
  // mscale without mscale_all_dim (the remote code's default 0): no softmax correction, and the cos/sin
  // magnitude m(40, mscale) instead.
  json half = v3_config();
  half["rope_scaling"].erase("mscale_all_dim");
  auto h = ModelConfig::from_json(half, "half");
  EXPECT_NEAR(h.softmax_scale(), 1.0 / std::sqrt(192.0), 1e-15);
  EXPECT_NEAR(rope_magnitude(h.rope), ref_m(40, 1.0), 1e-15);
}

TEST(SpecAudit, InterleavedRopeAtLongPositions) {
  auto c = ModelConfig::from_json(v3_config(), "v3");
  const int64_t dr = 64, maxp = 160001;
  RopeTable<double> table(c.rope, maxp);
  const auto inv = ref_inv_freq(64, 10000.0, 40.0, 4096.0, 32.0, 1.0);
  std::mt19937_64 g(7);
  std::normal_distribution<double> nd;
  // Two heads of [nope 4 | rope 64] in one row: only the rope channels move, pairs (2i, 2i+1).
  const int64_t dn = 4, dq = dn + dr, H = 2;
  for (int32_t p : {0, 1, 4095, 4096, 65537, 160000}) {
    std::vector<double> x(size_t(H * dq));
    for (auto& v : x) v = nd(g);
    std::vector<double> y = x;
    rope_forward<double>(table, y.data(), 1, H * dq, dn, H, dq, 1, &p);
    for (int64_t h = 0; h < H; ++h) {
      const double* a = x.data() + h * dq;
      const double* b = y.data() + h * dq;
      for (int64_t k = 0; k < dn; ++k) EXPECT_EQ(b[k], a[k]);
      for (int64_t i = 0; i < dr / 2; ++i) {
        const double phi = double(p) * inv[size_t(i)], x0 = a[dn + 2 * i], x1 = a[dn + 2 * i + 1];
        EXPECT_NEAR(b[dn + 2 * i], x0 * std::cos(phi) - x1 * std::sin(phi), 1e-9) << p << " " << i;
        EXPECT_NEAR(b[dn + 2 * i + 1], x0 * std::sin(phi) + x1 * std::cos(phi), 1e-9) << p << " " << i;
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------------
// Routers at real sizes (spec §4.1-§4.3), reference in double from the float logits.

struct Route {
  std::vector<int> idx;   // sorted
  std::vector<double> w;  // by expert id, in idx order
};

Route ref_route(const ModelConfig& c, const float* l, const float* bias) {
  const int E = int(c.n_routed_experts), K = int(c.num_experts_per_tok);
  std::vector<double> s(static_cast<size_t>(E));
  if (c.scoring_func == ScoringFunc::Softmax) {
    double mx = *std::max_element(l, l + E), z = 0;
    for (int e = 0; e < E; ++e) z += s[size_t(e)] = std::exp(double(l[e]) - mx);
    for (auto& v : s) v /= z;
  } else {
    for (int e = 0; e < E; ++e) s[size_t(e)] = 1.0 / (1.0 + std::exp(-double(l[e])));
  }
  std::vector<double> choice = s;
  if (c.topk_method == TopkMethod::NoauxTc)
    for (int e = 0; e < E; ++e) choice[size_t(e)] += bias[e];
  if (c.topk_method != TopkMethod::Greedy) {
    const int G = int(c.n_group), per = E / G;
    std::vector<std::pair<double, int>> gs;
    for (int g = 0; g < G; ++g) {
      std::vector<double> v(choice.begin() + g * per, choice.begin() + (g + 1) * per);
      std::sort(v.rbegin(), v.rend());
      gs.push_back({c.topk_method == TopkMethod::NoauxTc ? v[0] + v[1] : v[0], g});
    }
    std::sort(gs.rbegin(), gs.rend());
    std::set<int> kept;
    for (int k = 0; k < c.topk_group; ++k) kept.insert(gs[size_t(k)].second);
    for (int e = 0; e < E; ++e)
      if (!kept.count(e / per)) choice[size_t(e)] = 0.0;
  }
  std::vector<int> order(static_cast<size_t>(E));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return choice[size_t(a)] > choice[size_t(b)]; });
  Route r;
  r.idx.assign(order.begin(), order.begin() + K);
  std::sort(r.idx.begin(), r.idx.end());
  double sum = 0;
  for (int e : r.idx) sum += s[size_t(e)];
  for (int e : r.idx) {
    double w = s[size_t(e)];
    // V3 as Hugging Face's native code: renormalise, then always scale (DeepSeek's remote code skips the
    // renormalising at K = 1, which no released config has).
    if (c.topk_method == TopkMethod::NoauxTc) {
      if (c.norm_topk_prob) w /= sum + 1e-20;
      w *= c.routed_scaling_factor;
    } else {  // V2 remote code: renormalise when norm_topk_prob (K > 1), else scale
      if (c.norm_topk_prob && K > 1)
        w /= sum + 1e-20;
      else
        w *= c.routed_scaling_factor;
    }
    r.w.push_back(w);
  }
  return r;
}

void check_router(const ModelConfig& c, uint64_t seed, double logit_std, int* groups_matter,
                  float bias_mean = 0.0f) {
  const int64_t N = 64, E = c.n_routed_experts, K = c.num_experts_per_tok;
  std::mt19937_64 g(seed);
  std::normal_distribution<float> nd(0.0f, float(logit_std));
  std::normal_distribution<float> nb(bias_mean, 0.05f);
  std::vector<float> logits(size_t(N * E)), bias(static_cast<size_t>(E));
  for (auto& v : logits) v = nd(g);
  for (auto& v : bias) v = nb(g);
  RouterCache<float> cache;
  router_forward<float>(c, logits.data(), c.topk_method == TopkMethod::NoauxTc ? bias.data() : nullptr, 1, N,
                        BalanceOptions{}, cache);
  for (int64_t t = 0; t < N; ++t) {
    const Route want = ref_route(c, logits.data() + t * E, bias.data());
    std::vector<std::pair<int, double>> got;
    for (int64_t k = 0; k < K; ++k)
      got.push_back({cache.idx[size_t(t * K + k)], cache.weight[size_t(t * K + k)]});
    std::sort(got.begin(), got.end());
    for (int64_t k = 0; k < K; ++k) {
      EXPECT_EQ(got[size_t(k)].first, want.idx[size_t(k)]) << "token " << t << " slot " << k;
      EXPECT_NEAR(got[size_t(k)].second, want.w[size_t(k)], 1e-5 * std::max(1.0, want.w[size_t(k)]))
          << "token " << t << " slot " << k;
    }
    if (c.topk_method != TopkMethod::Greedy && groups_matter) {
      // Count tokens whose choice the group limit (and for V3 the bias) changed, so the test exercises it.
      ModelConfig plain = c;
      plain.topk_method = TopkMethod::Greedy;
      plain.scoring_func = c.scoring_func;
      const Route free = ref_route(plain, logits.data() + t * E, bias.data());
      if (free.idx != want.idx) ++*groups_matter;
    }
  }
}

TEST(SpecAudit, V3NoauxTcRouterAtRealSize) {
  auto c = ModelConfig::from_json(v3_config(), "v3");
  int matter = 0;
  check_router(c, 11, 1.0, &matter);
  EXPECT_GT(matter, 10);     // the bias and the 4-of-8 group limit decide many tokens
  c.norm_topk_prob = false;  // weights = unbiased sigmoid × 2.5
  check_router(c, 12, 1.0, nullptr);
}

// Where the two references differ: experts of dropped groups score 0.0 in the final top-k, as Hugging Face
// fills them (DeepSeek's own inference code fills -inf), which decides the choice once a strongly negative
// bias leaves every kept expert's biased score below 0; and one expert per token is renormalised to weight
// 1 (× 2.5), as in Hugging Face's native code (DeepSeek's remote code leaves it s × 2.5).
TEST(SpecAudit, V3RouterWhereTheReferencesDiffer) {
  auto c = ModelConfig::from_json(v3_config(), "v3");
  int matter = 0;
  check_router(c, 13, 1.0, &matter, -2.0f);
  EXPECT_GT(matter, 10);
  c.num_experts_per_tok = 1;
  check_router(c, 14, 1.0, nullptr);
  RouterCache<float> cache;
  std::vector<float> logits(size_t(c.n_routed_experts), 0.0f), bias(size_t(c.n_routed_experts), 0.0f);
  logits[5] = 1.0f;
  router_forward<float>(c, logits.data(), bias.data(), 1, 1, BalanceOptions{}, cache);
  EXPECT_EQ(cache.idx[0], 5);
  EXPECT_FLOAT_EQ(cache.weight[0], float(c.routed_scaling_factor));
}

TEST(SpecAudit, V2GroupLimitedGreedyRouterAtRealSize) {
  auto c = ModelConfig::from_json(v2_config(), "v2");
  int matter = 0;
  check_router(c, 21, 2.0, &matter);
  EXPECT_GT(matter, 10);
  c.norm_topk_prob = true;  // remote code: renormalised, and then NOT scaled by 16
  check_router(c, 22, 2.0, nullptr);
}

TEST(SpecAudit, V2LiteGreedyRouterAtRealSize) {
  auto c = ModelConfig::from_json(v2lite_config(), "lite");
  check_router(c, 31, 2.0, nullptr);
  // V2-Lite: raw softmax probabilities, no renormalisation, × 1.0: six weights sum to less than 1.
  RouterCache<float> cache;
  std::vector<float> l(64, 0.0f);
  router_forward<float>(c, l.data(), nullptr, 1, 1, BalanceOptions{}, cache);
  for (float w : cache.weight) EXPECT_NEAR(w, 1.0 / 64, 1e-7);
}

// A NaN score ranks below every number when experts are chosen: the comparison top-k used was no strict weak
// ordering with a NaN present (undefined behaviour for std::partial_sort), and which experts a token got
// depended on where the NaN sat. With sigmoid scores a NaN logit must choose as a -inf logit (score 0) does.
TEST(SpecAudit, ANanScoreIsChosenLast) {
  json j = v3_config();
  j["n_group"] = 1;
  j["topk_group"] = 1;
  const auto c = ModelConfig::from_json(j, "v3");
  const int64_t E = c.n_routed_experts, K = c.num_experts_per_tok;
  std::mt19937_64 g(5);
  std::normal_distribution<float> nd(0.0f, 2.0f);
  for (int64_t t = 0; t < 24; ++t) {
    std::vector<float> logits(static_cast<size_t>(E));
    for (auto& v : logits) v = nd(g);
    std::vector<float> with_nan = logits, with_inf = logits;
    for (int64_t e = t % 5; e < E; e += 37) {  // one to seven NaNs, the top expert among them at times
      with_nan[size_t(e)] = std::numeric_limits<float>::quiet_NaN();
      with_inf[size_t(e)] = -std::numeric_limits<float>::infinity();
    }
    with_nan[size_t(std::max_element(logits.begin(), logits.end()) - logits.begin())] = std::nanf("");
    with_inf[size_t(std::max_element(logits.begin(), logits.end()) - logits.begin())] =
        -std::numeric_limits<float>::infinity();
    RouterCache<float> a, b;
    router_forward<float>(c, with_nan.data(), nullptr, 1, 1, BalanceOptions{}, a);
    router_forward<float>(c, with_inf.data(), nullptr, 1, 1, BalanceOptions{}, b);
    ASSERT_EQ(a.idx.size(), size_t(K));
    EXPECT_EQ(a.idx, b.idx) << "token " << t;
    for (int32_t e : a.idx) EXPECT_FALSE(std::isnan(with_nan[size_t(e)])) << "token " << t;
  }
}

// Exact ties, in expert scores and in group scores, go to the lower index, so that selection never depends
// on the sort's internals (torch.topk does not specify its order among ties).
TEST(SpecAudit, TiesGoToTheLowerIndex) {
  json flat = v3_config();
  flat["n_group"] = 1;
  flat["topk_group"] = 1;
  const auto c1 = ModelConfig::from_json(flat, "v3");
  const int64_t E = c1.n_routed_experts, K = c1.num_experts_per_tok;
  RouterCache<float> cache;
  std::vector<float> logits(size_t(E), 0.25f);
  router_forward<float>(c1, logits.data(), nullptr, 1, 1, BalanceOptions{}, cache);
  std::vector<int32_t> want(static_cast<size_t>(K));
  std::iota(want.begin(), want.end(), 0);
  EXPECT_EQ(cache.idx, want);

  // Every group has the same scores, its two best experts at positions 3 and 5: the group scores all tie, so
  // groups 0..topk_group-1 are kept, and the chosen experts are those two of each kept group.
  const auto c = ModelConfig::from_json(v3_config(), "v3");
  const int64_t G = c.n_group, per = E / G;
  ASSERT_EQ(c.topk_group * 2, c.num_experts_per_tok);
  for (int64_t e = 0; e < E; ++e) logits[size_t(e)] = e % per == 3 || e % per == 5 ? 2.0f : -1.0f;
  router_forward<float>(c, logits.data(), nullptr, 1, 1, BalanceOptions{}, cache);
  want.clear();
  for (int64_t g = 0; g < c.topk_group; ++g) {
    want.push_back(int32_t(g * per + 3));
    want.push_back(int32_t(g * per + 5));
  }
  std::vector<int32_t> got = cache.idx;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
}

// ------------------------------------------------------------------------------------------------------
// FP8 block dequantization with partial edge blocks (spec §2.3: kv_a is 576 = 4·128 + 64 rows).

double ref_e4m3(uint8_t v) {
  const int sign = v >> 7, e = (v >> 3) & 15, m = v & 7;
  if (e == 15 && m == 7) return std::nan("");
  const double mag = e == 0 ? m / 8.0 * std::ldexp(1.0, -6) : (1.0 + m / 8.0) * std::ldexp(1.0, e - 7);
  return sign ? -mag : mag;
}

TEST(SpecAudit, Fp8BlockDequantPartialEdgeBlocks) {
  const int64_t rows = 576, cols = 200;  // scale [5, 2]
  const int64_t sr = 5, sc = 2;
  std::mt19937_64 g(5);
  std::vector<uint8_t> wq(size_t(rows * cols));
  for (auto& v : wq) {
    do v = uint8_t(g());
    while ((v & 0x7f) == 0x7f);
  }
  std::vector<float> scale(size_t(sr * sc));
  for (int64_t i = 0; i < sr * sc; ++i)
    scale[size_t(i)] = float(std::ldexp(1.0 + double(i) / 16, int(i % 5) - 9));
  std::vector<float> out(size_t(rows * cols)), outb(size_t(rows * cols));
  dequantize_fp8_blocks(wq.data(), rows, cols, scale.data(), out.data(), false);
  dequantize_fp8_blocks(wq.data(), rows, cols, scale.data(), outb.data(), true);
  EXPECT_EQ(ref_e4m3(0x7e), 448.0);
  EXPECT_EQ(ref_e4m3(0x01), std::ldexp(1.0, -9));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const float want = float(ref_e4m3(wq[size_t(i * cols + j)])) * scale[size_t((i / 128) * sc + j / 128)];
      ASSERT_EQ(out[size_t(i * cols + j)], want) << i << "," << j;
      ASSERT_EQ(outb[size_t(i * cols + j)], bf16_to_f32(f32_to_bf16(want))) << i << "," << j;
    }
}

TEST(SpecAudit, Bf16ToF32IsExact) {
  // bf16 is the top half of an fp32: every non-NaN pattern widens exactly.
  for (uint32_t h = 0; h < 65536; ++h) {
    uint32_t u = h << 16;
    float f;
    std::memcpy(&f, &u, 4);
    if (std::isnan(f)) continue;
    std::byte b[2];
    const uint16_t hh = uint16_t(h);
    std::memcpy(b, &hh, 2);
    float got = 0;
    convert_to_float(DType::BF16, b, 1, &got);
    ASSERT_EQ(got, f) << h;
  }
}

}  // namespace
}  // namespace seek
