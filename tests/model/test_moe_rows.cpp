// Experts' token rows padded to a few bucket sizes (kernels/gemm.hpp: gemm_rows_bucket), so the GEMMs of a
// training step reuse oneDNN kernels instead of compiling one per token count. The padding must change no
// result: the whole-loss finite-difference check runs a padded batch too (test_model_gradcheck.cpp); here, a
// batch's cross-entropy against that of its rows run alone (the buckets themselves:
// tests/kernels/test_gemm.cpp).
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/gemm.hpp"
#include "model_test_util.hpp"

namespace seek {
namespace {

TEST(MoeExpertRows, PaddedBatchHasTheCrossEntropyOfItsRowsAlone) {
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
    for (const int64_t n : layer.load) padded |= gemm_rows_bucket(n) != n;
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
