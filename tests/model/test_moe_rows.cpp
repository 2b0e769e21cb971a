// Experts' token rows padded to a few bucket sizes (model/moe.hpp: expert_rows_bucket), so the GEMMs of a
// training step reuse oneDNN kernels instead of compiling one per token count. The padding must change no
// result: the whole-loss finite-difference check runs a padded batch too (test_model_gradcheck.cpp); here,
// the buckets themselves and a batch's cross-entropy against that of its rows run alone.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "model/moe.hpp"
#include "model_test_util.hpp"

namespace seek {
namespace {

TEST(ExpertRowsBucket, ExactUpTo32ThenAtMostOneSixteenthMore) {
  std::set<int64_t> buckets;
  int64_t previous = 0;
  for (int64_t n = 0; n <= 1 << 16; ++n) {
    const int64_t b = expert_rows_bucket(n);
    if (n <= 32) {
      EXPECT_EQ(b, n);
    }
    ASSERT_GE(b, n);
    ASSERT_LE(16 * b, 17 * n) << n;
    ASSERT_GE(b, previous) << n;  // monotone: a bucket holds a range of counts
    ASSERT_EQ(expert_rows_bucket(b), b) << n;
    previous = b;
    buckets.insert(b);
  }
  // 0..32, then 16 sizes per octave from 32 to 65536: 11 octaves.
  EXPECT_EQ(buckets.size(), size_t(33 + 16 * 11));
}

TEST(ExpertRowsBucket, PaddedBatchHasTheCrossEntropyOfItsRowsAlone) {
  const ModelConfig cfg = test::shipped_config("tiny-v3");
  Transformer<double> model(cfg);
  model.init_weights(11);
  test::randomise_router_bias(model, 5);
  const int64_t B = 4, T = 64;
  const auto batch = test::random_batch(cfg, B, T, 17, false);
  LossOptions opts;
  opts.mtp_lambda = 0;
  const double together =
      model.forward_backward(batch.tokens.data(), batch.targets.data(), B, T, opts, false).ce;
  bool padded = false;
  for (const auto& layer : model.expert_loads())
    for (const int64_t n : layer.load) padded |= expert_rows_bucket(n) != n;
  ASSERT_TRUE(padded) << "no expert of the batch got a padded row count: the test checks nothing";
  double alone = 0;
  for (int64_t b = 0; b < B; ++b)
    alone +=
        model.forward_backward(batch.tokens.data() + b * T, batch.targets.data() + b * T, 1, T, opts, false)
            .ce /
        double(B);
  EXPECT_NEAR(together, alone, 1e-12 * std::fabs(alone));
}

}  // namespace
}  // namespace seek
