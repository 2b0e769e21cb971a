// The activation estimate behind `seek train`'s memory check against what forward_backward really keeps
// (Transformer::activation_bytes, the capacity of every activation and backward buffer), so the check
// neither refuses batches that fit nor lets the OOM killer end a run it passed.
#include <gtest/gtest.h>

#include "model/model_test_util.hpp"
#include "train/training_memory.hpp"

namespace seek {
namespace {

// Bytes per token a fresh model's forward_backward keeps for a batch of rows × T tokens.
double kept_bytes_per_token(const ModelConfig& cfg, int64_t rows, int64_t T, double mtp_lambda) {
  Transformer<float> model(cfg);
  model.init_weights(1);
  const auto batch = test::random_batch(cfg, rows, T, 2, false);
  LossOptions lo;
  lo.mtp_lambda = mtp_lambda;
  model.forward_backward(batch.tokens.data(), batch.targets.data(), rows, T, lo, true);
  return double(model.activation_bytes()) / double(rows * T);
}

TEST(TrainingMemory, ActivationEstimateMatchesWhatForwardBackwardKeeps) {
  for (const char* name : {"tiny-v3", "tiny-v2lite", "tiny-v2", "small"}) {
    const ModelConfig cfg = test::shipped_config(name);
    // mtp_lambda 0 runs no MTP layer (tiny-v3 and small have one, a third of tiny-v3's activations).
    for (const double mtp_lambda : {0.3, 0.0}) {
      const double estimate =
          double(training_activation_bytes_per_token(cfg, mtp_depths_run(cfg, mtp_lambda, 32)));
      for (const int64_t rows : {2, 16}) {
        const double kept = kept_bytes_per_token(cfg, rows, 32, mtp_lambda);
        // What does not scale with the tokens (per-expert offsets, the balance loss's per-sequence counts)
        // is left out of the estimate: a few percent at these sizes.
        EXPECT_GT(estimate, 0.95 * kept) << name << " mtp_lambda " << mtp_lambda << " rows " << rows
                                         << ": estimate " << estimate << ", kept " << kept;
        EXPECT_LT(estimate, 1.05 * kept) << name << " mtp_lambda " << mtp_lambda << " rows " << rows
                                         << ": estimate " << estimate << ", kept " << kept;
      }
    }
  }
}

// Depth k runs where seq_len > k, and none at mtp_lambda 0: the memory check and the optimizer's holds
// both follow this count.
TEST(TrainingMemory, MtpDepthsRun) {
  ModelConfig cfg = test::shipped_config("tiny-v3");
  cfg.num_nextn_predict_layers = 2;
  EXPECT_EQ(mtp_depths_run(cfg, 0.3, 32), 2);
  EXPECT_EQ(mtp_depths_run(cfg, 0.3, 2), 1);
  EXPECT_EQ(mtp_depths_run(cfg, 0.3, 1), 0);
  EXPECT_EQ(mtp_depths_run(cfg, 0.0, 32), 0);
  cfg.num_nextn_predict_layers = 0;
  EXPECT_EQ(mtp_depths_run(cfg, 0.3, 32), 0);
}

}  // namespace
}  // namespace seek
