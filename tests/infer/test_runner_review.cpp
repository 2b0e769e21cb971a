// The inference runner against the training model's forward (src/model, itself checked against PyTorch) on
// random models of shapes the fixtures do not have: head counts that are not a multiple of 4, head dims that
// are not multiples of 16 (v_head_dim above kv_lora_rank included), contexts around the attention tiles, the
// key splits and the 4096-row rope table, batches on both sides of the runner's switch points (kSmallBatch,
// kExpertsSideBySide, the 16-row streaming limit), MoE layouts (no shared expert, every expert picked,
// moe_layer_freq > 1, no dense layer, V2 group-limited routing), tied embeddings with a plain q_proj, and
// matrices above the 1M-value packing threshold. Also cache_attention alone against a double-precision
// softmax over the rows the cache gives back, for every cache type, both forms' layouts and 1 to 3 threads.
#include <gtest/gtest.h>
#include <omp.h>

#include <array>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "infer/cache_attention.hpp"
#include "infer/kv_cache.hpp"
#include "infer/linear.hpp"
#include "infer/model.hpp"
#include "infer/runner.hpp"
#include "infer_test_util.hpp"
#include "model/config.hpp"
#include "model/transformer.hpp"

namespace seek {
namespace {

// tiny-v3 (q_lora, sigmoid routing with groups and bias, a dense first layer) with weights large enough
// that attention is far from uniform.
nlohmann::json base_json() {
  std::ifstream f(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json");
  nlohmann::json j = nlohmann::json::parse(f);
  j["num_nextn_predict_layers"] = 0;
  j["max_position_embeddings"] = 1024;
  j["initializer_range"] = 0.25;
  return j;
}

ModelConfig config_with(const nlohmann::json& patch) {
  nlohmann::json j = base_json();
  for (const auto& [k, v] : patch.items()) j[k] = v;
  j["num_key_value_heads"] = j["num_attention_heads"];
  return ModelConfig::from_json(j, "test config");
}

// A random model: matrices N(0, initializer_range), norms N(1, 0.2), router bias N(0, 0.1).
std::unique_ptr<Transformer<float>> random_model(const ModelConfig& cfg, uint64_t seed) {
  auto m = std::make_unique<Transformer<float>>(cfg);
  m->init_weights(seed);
  Rng rng(seed + 1);
  auto& ps = m->params();
  for (int id = 0; id < ps.layout.size(); ++id) {
    const ParamInfo& info = ps.layout[id];
    if (info.shape.size() == 1)
      for (int64_t i = 0; i < info.numel; ++i)
        ps.p(id)[i] = info.trainable ? float(1.0 + 0.2 * rng.normal()) : float(0.1 * rng.normal());
  }
  return m;
}

double max_abs(const std::vector<float>& a) {
  double m = 0;
  for (float x : a) m = std::max(m, double(std::fabs(x)));
  return m;
}

// NaN counts as infinitely far.
double max_diff(const float* a, const float* b, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = std::fabs(double(a[i]) - double(b[i]));
    if (!(d <= m)) m = std::isnan(d) ? INFINITY : d;
  }
  return m;
}

// Logits of every position of `tok`: the first `prefill` tokens in chunks of `chunk`, then one per step.
std::vector<float> run_chunks(Runner& run, const std::vector<int32_t>& tok, int64_t prefill, int64_t chunk) {
  const int64_t T = int64_t(tok.size()), V = run.model().config().vocab_size;
  KvCache cache = run.make_cache(16);
  const int s = cache.create();
  std::vector<float> out(size_t(T * V));
  for (int64_t t = 0; t < T;) {
    const int64_t n = t < prefill ? std::min(chunk, prefill - t) : 1;
    cache.prepare(s, t, t + n);
    RunnerBatch b;
    for (int64_t i = 0; i < n; ++i) b.add(tok[size_t(t + i)], int32_t(t + i), s, true);
    run.forward(b, cache, out.data() + t * V);
    t += n;
  }
  return out;
}

struct Steps {
  int64_t T = 40, prefill = 40, chunk = 40;
  std::vector<int> threads{1};
  PackPolicy pack = PackPolicy::None;
};

// Both forms, f32 cache: every position within 2e-5 of the largest reference logit.
void expect_matches_training(const ModelConfig& cfg, const Steps& r, const std::string& what) {
  auto m = random_model(cfg, 11);
  const int64_t V = cfg.vocab_size, T = r.T;
  auto tok = test::random_tokens(T, V, 5);
  std::vector<float> ref(size_t(T * V));
  m->forward_logits(tok.data(), 1, T, ref.data());
  const double scale = max_abs(ref);
  InferLoadOptions opt;
  opt.pack = r.pack;
  auto im = InferModel::from_model(*m, opt);
  const int saved = omp_get_max_threads();
  for (int th : r.threads) {
    omp_set_num_threads(th);
    for (AttnForm form : {AttnForm::Absorbed, AttnForm::Naive}) {
      Runner run(*im, form);
      auto got = run_chunks(run, tok, r.prefill, r.chunk);
      double worst = 0;
      int64_t worst_t = -1;
      for (int64_t t = 0; t < T; ++t) {
        const double d = max_diff(got.data() + t * V, ref.data() + t * V, V);
        if (!(d <= worst)) {
          worst = d;
          worst_t = t;
        }
      }
      EXPECT_LT(worst / scale, 2e-5) << what << ": form " << int(form) << " threads " << th
                                     << " worst at position " << worst_t << " (logit scale " << scale << ")";
    }
  }
  omp_set_num_threads(saved);
}

TEST(RunnerReview, UnusualHeadCountsAndDimsMatchTraining) {
  for (int H : {1, 3, 5, 6})
    expect_matches_training(config_with({{"num_attention_heads", H}}), Steps{}, "H " + std::to_string(H));
  // Head dims off every vector width, v_head_dim above kv_lora_rank, a 2-wide rope part; N = 70 > 64
  // (per-head GEMMs in the absorbed form, experts one after another).
  expect_matches_training(config_with({{"num_attention_heads", 3},
                                       {"kv_lora_rank", 24},
                                       {"qk_rope_head_dim", 8},
                                       {"v_head_dim", 12},
                                       {"qk_nope_head_dim", 20}}),
                          Steps{70, 70, 70, {1}}, "dims 24/8/12/20");
  expect_matches_training(config_with({{"num_attention_heads", 9},
                                       {"kv_lora_rank", 16},
                                       {"v_head_dim", 40},
                                       {"qk_rope_head_dim", 2},
                                       {"qk_nope_head_dim", 6}}),
                          Steps{70, 66, 66, {1}}, "dv 40 > r 16");
  expect_matches_training(config_with({{"num_attention_heads", 16},
                                       {"kv_lora_rank", 80},
                                       {"v_head_dim", 20},
                                       {"qk_rope_head_dim", 18},
                                       {"qk_nope_head_dim", 70}}),
                          Steps{70, 30, 30, {1}}, "H 16, r 80");
  // Odd model widths: rows left over by the 4-row blocks of the streamed linears.
  expect_matches_training(config_with({{"topk_method", "greedy"},
                                       {"n_group", 1},
                                       {"topk_group", 1},
                                       {"hidden_size", 36},
                                       {"vocab_size", 67},
                                       {"kv_lora_rank", 20},
                                       {"qk_rope_head_dim", 6},
                                       {"qk_nope_head_dim", 10},
                                       {"v_head_dim", 6},
                                       {"q_lora_rank", 18},
                                       {"moe_intermediate_size", 10},
                                       {"intermediate_size", 22},
                                       {"num_attention_heads", 3}}),
                          Steps{40, 20, 7, {1}, PackPolicy::All}, "odd widths");
}

// Batches of 64 and 65 tokens (kSmallBatch and kExpertsSideBySide), and 130, row-major and packed; one
// prefill chunk of 17 rows (just past the streaming limit of the linears).
TEST(RunnerReview, BatchSizesAroundTheSwitchPointsMatchTraining) {
  const ModelConfig cfg = config_with({{"num_attention_heads", 6}});
  expect_matches_training(cfg, Steps{64, 64, 64}, "N 64");
  expect_matches_training(cfg, Steps{65, 65, 65, {1}}, "N 65");
  expect_matches_training(cfg, Steps{130, 130, 130, {1}}, "N 130 row-major");
  expect_matches_training(cfg, Steps{130, 130, 130, {1}, PackPolicy::All}, "N 130 packed");
  expect_matches_training(cfg, Steps{40, 34, 17, {1}}, "chunks of 17");
}

// Contexts around the 64-key tiles and past 512 keys, decoding one token at a time (its keys then split into
// work items merged afterwards), with 1 and 2 threads.
TEST(RunnerReview, LongContextsSplitAcrossItemsMatchTraining) {
  expect_matches_training(config_with({{"num_attention_heads", 5}}), Steps{258, 250, 64}, "ctx 258");
  expect_matches_training(config_with({{"num_attention_heads", 3},
                                       {"kv_lora_rank", 24},
                                       {"v_head_dim", 12},
                                       {"n_routed_experts", nullptr}}),
                          Steps{530, 524, 524, {1, 2}}, "ctx 530");
}

TEST(RunnerReview, MoeLayoutsMatchTraining) {
  expect_matches_training(
      config_with({{"n_shared_experts", 0}, {"num_experts_per_tok", 8}, {"n_group", 1}, {"topk_group", 1}}),
      Steps{80, 80, 17, {1}}, "no shared expert, all experts");
  expect_matches_training(config_with({{"first_k_dense_replace", 0}, {"moe_layer_freq", 2}}),
                          Steps{80, 80, 70}, "moe_layer_freq 2, no first dense");
  expect_matches_training(config_with({{"first_k_dense_replace", 0}}),
                          Steps{80, 80, 70, {1}, PackPolicy::All}, "all MoE, packed");
  expect_matches_training(config_with({{"topk_method", "group_limited_greedy"},
                                       {"scoring_func", "softmax"},
                                       {"norm_topk_prob", false},
                                       {"num_attention_heads", 7}}),
                          Steps{70, 66, 66, {1}}, "V2 group-limited routing");
  for (PackPolicy pack : {PackPolicy::All, PackPolicy::None})
    expect_matches_training(config_with({{"tie_word_embeddings", true}, {"q_lora_rank", nullptr}}),
                            Steps{80, 80, 70, {1}, pack}, "tied, q_proj, pack " + std::to_string(int(pack)));
}

// Matrices of 1M values and more (q_a, the experts, the dense MLP, lm_head) packed by the default policy,
// the small ones (kv_a, q_b, o_proj) row-major in the same model; the same model all row-major.
TEST(RunnerReview, MatricesAboveThePackingThresholdMatchTraining) {
  const ModelConfig cfg = config_with({{"num_hidden_layers", 2},
                                       {"n_routed_experts", 4},
                                       {"n_group", 2},
                                       {"topk_group", 1},
                                       {"hidden_size", 1024},
                                       {"intermediate_size", 1024},
                                       {"moe_intermediate_size", 1024},
                                       {"vocab_size", 1024},
                                       {"q_lora_rank", 1024},
                                       {"initializer_range", 0.05}});
  {
    Transformer<float> m(cfg);
    auto im = InferModel::from_model(m);
    const ModelIds& ids = im->ids();
    EXPECT_TRUE(im->packed(ids.layers[0].attn.q_a));
    EXPECT_TRUE(im->packed(ids.layers[0].dense.gate));
    EXPECT_TRUE(im->packed(ids.layers[1].experts.experts[0].gate));
    EXPECT_TRUE(im->packed(ids.head()));
    EXPECT_FALSE(im->packed(ids.layers[0].attn.kv_a));
    EXPECT_FALSE(im->packed(ids.layers[0].attn.o_proj));
  }
  for (PackPolicy pack : {PackPolicy::Large, PackPolicy::None})
    expect_matches_training(cfg, Steps{70, 66, 66, {1}, pack},
                            "1024 wide, pack " + std::to_string(int(pack)));
}

// Positions past the rope table's first 4096 rows (grown on demand) in a model with a longer context.
TEST(RunnerReview, PositionsPastTheFirstRopeRowsMatchTraining) {
  expect_matches_training(config_with({{"n_routed_experts", nullptr},
                                       {"num_attention_heads", 1},
                                       {"num_hidden_layers", 2},
                                       {"max_position_embeddings", 100000}}),
                          Steps{4110, 4090, 600}, "positions to 4109");
}

// bf16 weights with the products widened to fp32 (the path of CPUs without a bf16 matmul): on a model whose
// weights are already bf16 values the runner must equal the fp32 forward, on every path (streamed rows,
// oneDNN on widened blocks, experts side by side and one after another).
TEST(RunnerReview, WidenedBf16WeightsMatchTrainingOnEveryPath) {
  infer_linear_use_widening_for_tests(true);
  const nlohmann::json patches[] = {
      nlohmann::json::object(),
      {{"tie_word_embeddings", true}, {"q_lora_rank", nullptr}, {"n_shared_experts", 0}},
      {{"hidden_size", 36},
       {"vocab_size", 67},
       {"q_lora_rank", 18},
       {"intermediate_size", 22},
       {"moe_intermediate_size", 10},
       {"num_attention_heads", 3}},
      {{"hidden_size", 1024},
       {"intermediate_size", 1024},
       {"vocab_size", 1100},
       {"moe_intermediate_size", 300},
       {"initializer_range", 0.05}},
  };
  for (const auto& patch : patches) {
    const ModelConfig cfg = config_with(patch);
    auto m = random_model(cfg, 11);
    for (auto& v : m->params().value) v = bf16_to_f32(f32_to_bf16(v));
    const int64_t V = cfg.vocab_size, T = 80;
    auto tok = test::random_tokens(T, V, 5);
    std::vector<float> ref(size_t(T * V));
    m->forward_logits(tok.data(), 1, T, ref.data());
    InferLoadOptions opt;
    opt.pack = PackPolicy::None;
    opt.format = WeightFormat::BF16;
    auto im = InferModel::from_model(*m, opt);
    for (int64_t chunk : {int64_t(5), int64_t(17), int64_t(66), int64_t(80)}) {
      Runner run(*im, AttnForm::Absorbed);
      auto got = run_chunks(run, tok, T, chunk);
      EXPECT_LT(max_diff(got.data(), ref.data(), T * V) / max_abs(ref), 2e-5)
          << patch.dump() << " chunk " << chunk;
    }
  }
  infer_linear_use_widening_for_tests(false);
}

// cache_attention against a double-precision softmax over the rows as the cache gives them back (decoded),
// the queries and keys rounded to bf16 where the kernel multiplies in bf16.
struct AttnCase {
  bool absorbed;
  int64_t H, a, b, c;  // absorbed: r = a, dr = b; naive: dn = a, dr = b, dv = c
  CacheType type;
  std::vector<int64_t> ctx;  // one sequence per entry, its positions [0, ctx) written
  int64_t queries;           // the last this many positions of each sequence are queries
};

int64_t fp8_group_of(int64_t parts) {
  int64_t g = 64;
  while (g > 4 && parts % g != 0) g /= 2;
  return g;
}

double attention_error(const AttnCase& ac, uint64_t seed) {
  const int64_t H = ac.H;
  CacheAttnShape s;
  int64_t width, tail = 0, parts;
  if (ac.absorbed) {
    width = ac.a + ac.b;
    tail = ac.b;
    parts = ac.a;
    s = CacheAttnShape{H, ac.a + ac.b, ac.a, 0, 0, 0, 0, 0.0f};
  } else {
    const int64_t dq = ac.a + ac.b, dv = ac.c;
    width = H * (dq + dv);
    parts = std::gcd(std::gcd(ac.a, ac.b), dv);
    s = CacheAttnShape{H, dq, dv, 0, dq, H * dq, dv, 0.0f};
  }
  s.scale = float(2.0 / std::sqrt(double(s.Dk)));
  const int64_t layer = 1;
  KvCache cache(2, width, ac.type, 16, fp8_group_of(parts), tail);
  Rng rng(seed);
  std::vector<float> row(static_cast<size_t>(width));
  std::vector<int32_t> seq, pos;
  std::vector<std::vector<float>> decoded;  // per sequence [ctx, width]
  for (int64_t c : ac.ctx) {
    const int sq = cache.create();
    cache.prepare(sq, 0, c);
    decoded.emplace_back(size_t(c * width));
    for (int64_t p = 0; p < c; ++p)
      for (int64_t l = 0; l < 2; ++l) {
        for (auto& x : row) x = float(rng.normal());
        cache.write_row(sq, l, p, row.data());
      }
    for (int64_t p = 0; p < c; ++p)
      cache.decode_row(cache.stored_row(sq, layer, p), decoded.back().data() + p * width);
    for (int64_t p = std::max<int64_t>(0, c - ac.queries); p < c; ++p) {
      seq.push_back(sq);
      pos.push_back(int32_t(p));
    }
  }
  const int64_t N = int64_t(seq.size());
  std::vector<float> q(size_t(N * H * s.Dk)), out(size_t(N * H * s.Dv), NAN);
  for (auto& x : q) x = float(rng.normal());
  cache_attention(cache, layer, q.data(), seq.data(), pos.data(), N, s, out.data());
  const bool products = bf16_products(cache, s);
  auto in = [&](float x) { return products ? double(bf16_to_f32(f32_to_bf16(x))) : double(x); };
  double worst = 0;
  for (int64_t n = 0; n < N; ++n) {
    const int64_t ctx = pos[size_t(n)] + 1;
    const float* rows = decoded[size_t(seq[size_t(n)])].data();
    for (int64_t h = 0; h < H; ++h) {
      const float* qh = q.data() + (n * H + h) * s.Dk;
      std::vector<double> sc(static_cast<size_t>(ctx)), o(static_cast<size_t>(s.Dv), 0.0);
      double mx = -INFINITY, denom = 0;
      for (int64_t j = 0; j < ctx; ++j) {
        const float* k = rows + j * width + s.k_off + h * s.k_hstride;
        double acc = 0;
        for (int64_t i = 0; i < s.Dk; ++i) acc += in(qh[i]) * in(k[i]);
        sc[size_t(j)] = acc * s.scale;
        mx = std::max(mx, sc[size_t(j)]);
      }
      for (int64_t j = 0; j < ctx; ++j) denom += std::exp(sc[size_t(j)] - mx);
      for (int64_t j = 0; j < ctx; ++j) {
        const double p = std::exp(sc[size_t(j)] - mx) / denom;
        const float* v = rows + j * width + s.v_off + h * s.v_hstride;
        for (int64_t i = 0; i < s.Dv; ++i) o[size_t(i)] += p * v[i];
      }
      const float* got = out.data() + (n * H + h) * s.Dv;
      for (int64_t i = 0; i < s.Dv; ++i) {
        const double d = std::fabs(double(got[i]) - o[size_t(i)]);
        if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
      }
    }
  }
  return worst;
}

// Heads padded to 4 (H = 1, 3, 5, 6), head dims off the 16/32/64-value vectors, tiles of 64 keys (63, 65),
// key splits (257, 520, 1030 keys: several items per token, merged), sequences of mixed lengths in one call,
// 1 and 3 threads. The values are N(0, 1), so 2e-2 is well above bf16 probabilities and fp8 rows (the
// reference reads the same decoded rows) and far below a wrong head, key or merge.
TEST(RunnerReview, CacheAttentionMatchesDoubleSoftmax) {
  const int saved = omp_get_max_threads();
  const std::array<int64_t, 3> dims[] = {{24, 8, 12}, {72, 2, 40}};
  const std::vector<int64_t> contexts[] = {{1}, {63}, {65}, {257}, {520}, {1030}, {5, 64, 300}};
  for (int th : {1, 3})
    for (CacheType t : {CacheType::F32, CacheType::BF16, CacheType::FP8})
      for (bool absorbed : {true, false})
        for (int64_t H : {1, 3, 5, 6})
          for (const auto& dim : dims)
            for (const auto& ctx : contexts)
              for (int64_t queries : {int64_t(1), int64_t(3)}) {
                if (!absorbed && dim[1] == 2 && t == CacheType::FP8) continue;  // no fp8 group of 4
                if (th == 1 && ctx[0] == 1030) continue;
                omp_set_num_threads(th);
                const AttnCase ac{absorbed, H, dim[0], dim[1], dim[2], t, ctx, queries};
                EXPECT_LT(attention_error(ac, 3), t == CacheType::F32 ? 2e-5 : 2e-2)
                    << "threads " << th << " cache " << cache_type_name(t) << " absorbed " << absorbed
                    << " H " << H << " dims " << dim[0] << "," << dim[1] << "," << dim[2] << " first context "
                    << ctx[0] << " queries " << queries;
              }
  omp_set_num_threads(saved);
}

// An fp8 cache's refusal named all four head dimensions whatever the form; each form names what its fp8 part
// is made of, and what it accepts runs.
TEST(RunnerReview, Fp8CacheNamesTheDimensionsOfItsForm) {
  auto error = [](const ModelConfig& cfg, AttnForm form) {
    const auto model = InferModel::random(cfg, 1, WeightFormat::F32);
    try {
      Runner(*model, form, CacheType::FP8).make_cache(4);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const ModelConfig odd_latent =
      config_with({{"kv_lora_rank", 30}, {"qk_nope_head_dim", 10}, {"v_head_dim", 14}});
  std::string e = error(odd_latent, AttnForm::Absorbed);
  EXPECT_NE(e.find("so kv_lora_rank must be a multiple of 4 (it is 30)"), std::string::npos) << e;
  EXPECT_EQ(error(odd_latent, AttnForm::Naive), "");  // 10, 14 and the rope part make whole runs of 4
  const ModelConfig odd_row =
      config_with({{"num_attention_heads", 1}, {"qk_nope_head_dim", 10}, {"v_head_dim", 13}});
  e = error(odd_row, AttnForm::Naive);
  EXPECT_NE(e.find("a row of "), std::string::npos) << e;
  EXPECT_NE(e.find("(num_attention_heads 1 × (qk_nope_head_dim 10 + qk_rope_head_dim "), std::string::npos)
      << e;
  EXPECT_EQ(error(odd_row, AttnForm::Absorbed), "");
}

}  // namespace
}  // namespace seek
