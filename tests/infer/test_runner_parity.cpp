// The inference runner against the PyTorch float64 reference logits of the committed fixtures (V2-Lite,
// V2 with group-max routing and scaling 16, V3 with sigmoid + bias + groups, V3 tied, V3 FP8 with partial
// edge blocks), at every position; and the engine's internal equalities: absorbed == naive, step-by-step
// decode == one full prefill at every position, bf16 weights close to fp32.
#include <gtest/gtest.h>

#include "core/dtype.hpp"
#include "infer_test_util.hpp"
#include "support/error_of.hpp"

namespace seek {
namespace {

using test::fixture_dir;

class RunnerParity : public ::testing::TestWithParam<const char*> {};

// Both weight layouts (every projection outside the experts packed for oneDNN, and all row-major; the
// fixtures' matrices are below the size the default packs), each sequence alone (12 rows: the row-major
// layout streams) and both in one batch (24 rows: oneDNN either way).
TEST_P(RunnerParity, PrefillMatchesReferenceAtEveryPosition) {
  const std::string name = GetParam();
  auto ref = test::load_ref_logits(name);
  for (PackPolicy pack : {PackPolicy::All, PackPolicy::None}) {
    auto model = test::load_fixture(name, pack);
    for (AttnForm form : {AttnForm::Absorbed, AttnForm::Naive}) {
      Runner run(*model, form);
      for (int64_t b = 0; b < ref.B; ++b) {
        auto got = test::prefill_logits(run, ref.tokens.data() + b * ref.T, ref.T);
        std::vector<double> want(ref.logits.begin() + b * ref.T * ref.V,
                                 ref.logits.begin() + (b + 1) * ref.T * ref.V);
        EXPECT_LT(test::max_abs_diff(got, want), 2e-5)
            << name << " sequence " << b << " form " << int(form) << " pack " << int(pack);
      }
      auto got = test::batched_prefill_logits(run, ref.tokens.data(), ref.B, ref.T);
      std::vector<double> want(ref.logits.begin(), ref.logits.begin() + ref.B * ref.T * ref.V);
      EXPECT_LT(test::max_abs_diff(got, want), 2e-5)
          << name << " batched, form " << int(form) << " pack " << int(pack);
    }
  }
}

// Row-major (the fixtures' default) and packed (decode then runs the experts one after another through
// oneDNN instead of side by side).
TEST_P(RunnerParity, StepByStepDecodeEqualsFullForward) {
  const std::string name = GetParam();
  auto ref = test::load_ref_logits(name);
  for (PackPolicy pack : {PackPolicy::Large, PackPolicy::All}) {
    auto model = test::load_fixture(name, pack);
    for (AttnForm form : {AttnForm::Absorbed, AttnForm::Naive}) {
      Runner run(*model, form);
      for (int64_t b = 0; b < ref.B; ++b) {
        const int32_t* tok = ref.tokens.data() + b * ref.T;
        auto full = test::prefill_logits(run, tok, ref.T);
        auto step = test::stepwise_logits(run, tok, ref.T);
        EXPECT_LT(test::max_abs_diff(full, step), 1e-5)
            << name << " form " << int(form) << " pack " << int(pack);
      }
    }
  }
}

TEST_P(RunnerParity, AbsorbedEqualsNaive) {
  const std::string name = GetParam();
  auto ref = test::load_ref_logits(name);
  auto model = InferModel::load(fixture_dir(name));
  Runner absorbed(*model, AttnForm::Absorbed), naive(*model, AttnForm::Naive);
  for (int64_t b = 0; b < ref.B; ++b) {
    const int32_t* tok = ref.tokens.data() + b * ref.T;
    EXPECT_LT(test::max_abs_diff(test::stepwise_logits(absorbed, tok, ref.T),
                                 test::stepwise_logits(naive, tok, ref.T)),
              1e-5);
  }
}

// Which weights are packed: the attention projections, dense MLPs, a MoE layer's experts (routed and shared
// all or none, by a routed expert's size) and an untied head, by default those of at least kPackMinElements
// values; never kv_b (read per head) or the embedding (a tied head included).
TEST_P(RunnerParity, PacksTheLargeProjections) {
  const std::string name = GetParam();
  for (PackPolicy pack : {PackPolicy::Large, PackPolicy::All, PackPolicy::None}) {
    auto model = test::load_fixture(name, pack);
    const ModelIds& ids = model->ids();
    auto want = [&](int id) {
      return pack == PackPolicy::All ||
             (pack == PackPolicy::Large && model->layout()[id].numel >= kPackMinElements);
    };
    EXPECT_EQ(model->packed(ids.head()), ids.lm_head >= 0 && want(ids.head())) << name;
    EXPECT_FALSE(model->packed(ids.embed));
    for (const LayerIds& l : ids.layers) {
      for (int id : {l.attn.q_proj, l.attn.q_a, l.attn.q_b, l.attn.kv_a, l.attn.o_proj})
        if (id >= 0) {
          EXPECT_EQ(model->packed(id), want(id)) << name << " " << model->layout()[id].name;
        }
      EXPECT_FALSE(model->packed(l.attn.kv_b));
      if (l.moe) {
        const bool experts = want(l.experts.experts[0].gate);
        for (const MlpIds& e : l.experts.experts)
          for (int id : {e.gate, e.up, e.down}) EXPECT_EQ(model->packed(id), experts);
        if (l.experts.shared.gate >= 0) {
          for (int id : {l.experts.shared.gate, l.experts.shared.up, l.experts.shared.down})
            EXPECT_EQ(model->packed(id), experts);
        }
      } else {
        for (int id : {l.dense.gate, l.dense.up, l.dense.down}) EXPECT_EQ(model->packed(id), want(id));
      }
      const WeightView v = model->weight(l.attn.o_proj);
      EXPECT_EQ(v.packed != nullptr, want(l.attn.o_proj));
      EXPECT_EQ(v.f32 != nullptr, !want(l.attn.o_proj));
    }
  }
}

// bf16 weights, both layouts: one sequence (12 rows) and both in one prefill (24 rows, past the 16-row
// streaming threshold of the row-major layout, where its linears take the bf16 × bf16 GEMM).
TEST_P(RunnerParity, Bf16WeightsStayClose) {
  const std::string name = GetParam();
  auto ref = test::load_ref_logits(name);
  ASSERT_GT(ref.B * ref.T, 16);
  for (PackPolicy pack : {PackPolicy::All, PackPolicy::None}) {
    auto model = test::load_fixture(name, pack, WeightFormat::BF16);
    Runner run(*model, AttnForm::Absorbed);
    auto got = test::prefill_logits(run, ref.tokens.data(), ref.T);
    std::vector<double> want(ref.logits.begin(), ref.logits.begin() + ref.T * ref.V);
    // bf16 keeps 8 bits of mantissa; logits here are O(0.1), so errors of a few 1e-3 are rounding.
    EXPECT_LT(test::max_abs_diff(got, want), 2e-2) << "pack " << int(pack);
    auto batched = test::batched_prefill_logits(run, ref.tokens.data(), ref.B, ref.T);
    std::vector<double> want_all(ref.logits.begin(), ref.logits.begin() + ref.B * ref.T * ref.V);
    EXPECT_LT(test::max_abs_diff(batched, want_all), 2e-2) << "batched, pack " << int(pack);
    // Against fp32 in the same layout (packing pads tiny matrices to whole blocks).
    EXPECT_LT(model->bytes(), test::load_fixture(name, pack)->bytes());
  }
}

// bf16 and fp8 KV caches (both forms) against the reference: the cache is the only lossy step, so the gap
// is the cost of storing K/V (or the latent) compressed. Decoding step by step reads every row back from the
// cache. fp32 cache: 2e-5 (above); bf16 (8-bit mantissa) and fp8 (3-bit mantissa, scale per group) are
// looser.
TEST_P(RunnerParity, CompressedCachesStayClose) {
  const std::string name = GetParam();
  auto ref = test::load_ref_logits(name);
  auto model = InferModel::load(fixture_dir(name));
  for (AttnForm form : {AttnForm::Absorbed, AttnForm::Naive})
    for (CacheType t : {CacheType::BF16, CacheType::FP8}) {
      const ModelConfig& c = model->config();
      if (form == AttnForm::Naive && t == CacheType::FP8 &&
          c.num_attention_heads * (c.qk_head_dim() + c.v_head_dim) % 4 != 0) {
        // tiny-v3-widths: 3 × (10 + 9) = 57 values a row, which fp8's runs of 4 cannot hold.
        EXPECT_NE(test::error_of([&] {
                    Runner r(*model, form, t);
                    test::stepwise_logits(r, ref.tokens.data(), ref.T);
                  }).find("must be a multiple of 4"),
                  std::string::npos);
        continue;
      }
      Runner run(*model, form, t);
      double worst = 0;
      for (int64_t b = 0; b < ref.B; ++b) {
        auto got = test::stepwise_logits(run, ref.tokens.data() + b * ref.T, ref.T);
        std::vector<double> want(ref.logits.begin() + b * ref.T * ref.V,
                                 ref.logits.begin() + (b + 1) * ref.T * ref.V);
        worst = std::max(worst, test::max_abs_diff(got, want));
      }
      // Measured on these fixtures: bf16 <= 7.8e-4 (with bf16 products in the absorbed form), fp8 <= 1.25e-2
      // (logits are O(0.1-1)).
      const double bound = t == CacheType::BF16 ? 2e-3 : 2e-2;
      EXPECT_LT(worst, bound) << name << " form " << int(form) << " cache " << cache_type_name(t);
      EXPECT_GT(worst, 0.0) << "a compressed cache that changes nothing is not compressing";
    }
}

// The FP8 fixture is what the V3 release looks like: F8_E4M3 projections with 128x128 weight_scale_inv blocks
// (partial edge blocks included), BF16 embeddings / norms / router, an F32 bias, and an MTP layer at index
// num_hidden_layers that plain decoding must not load.
TEST(Fp8Fixture, IsRealFp8WithPartialBlocksAndMtp) {
  TensorStore store(fixture_dir("tiny-v3-fp8"));
  const auto& q = store.info("model.layers.0.self_attn.q_a_proj.weight");
  EXPECT_EQ(q.dtype, DType::F8_E4M3);
  EXPECT_EQ(store.info("model.layers.0.self_attn.q_a_proj.weight_scale_inv").shape,
            (std::vector<int64_t>{1, 2}));  // [24, 160]: the second column block is 32 wide
  EXPECT_EQ(store.info("model.layers.0.mlp.up_proj.weight_scale_inv").shape,
            (std::vector<int64_t>{2, 2}));  // [200, 160]
  EXPECT_EQ(store.info("model.embed_tokens.weight").dtype, DType::BF16);
  EXPECT_TRUE(store.contains("model.layers.3.eh_proj.weight"));
  auto model = InferModel::load(fixture_dir("tiny-v3-fp8"));
  EXPECT_EQ(model->config().num_nextn_predict_layers, 1);
  EXPECT_EQ(model->layout().find("model.layers.3.eh_proj.weight"), -1);
  EXPECT_EQ(model->layout().find("model.layers.3.self_attn.kv_b_proj.weight"), -1);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RunnerParity,
                         ::testing::Values("tiny-v2lite", "tiny-v2", "tiny-v3", "tiny-v3-tied",
                                           "tiny-v3-widths", "tiny-v3-fp8"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace seek
