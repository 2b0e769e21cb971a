// Review tests of the training loop: a batch without MTP targets (an SFT micro-batch of prompt tokens only)
// adds no MTP gradient left over from the batch before it.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "model/transformer.hpp"
#include "support/temp_dir.hpp"
#include "train/trainer.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::TempDir;

// The gradient of a batch is the same whatever batch the model ran before it: the MTP head's gradient of an
// earlier batch must not be replayed into one whose MTP depth has no target.
TEST(TrainerReview, BatchWithoutMtpTargetsGetsNoStaleMtpGradient) {
  const ModelConfig cfg = ModelConfig::load(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json");
  ASSERT_EQ(cfg.num_nextn_predict_layers, 1);
  const int64_t B = 2, T = 8;
  std::vector<int32_t> tokens(size_t(B * T)), all(size_t(B * T)), first_only(size_t(B * T), -1);
  for (int64_t i = 0; i < B * T; ++i) {
    tokens[size_t(i)] = int32_t((i * 7 + 3) % cfg.vocab_size);
    all[size_t(i)] = int32_t((i * 5 + 1) % cfg.vocab_size);
  }
  // Only position 0 of each sequence has a target: the main head trains, MTP depth 1 (targets from
  // position 1 on) has nothing to predict.
  for (int64_t b = 0; b < B; ++b) first_only[size_t(b * T)] = all[size_t(b * T)];
  LossOptions lo;
  lo.balance.alpha = 0.001;

  Transformer<float> fresh(cfg), used(cfg);
  fresh.init_weights(7);
  used.init_weights(7);
  used.forward_backward(tokens.data(), all.data(), B, T, lo, true);
  used.params().zero_grad();
  fresh.params().zero_grad();
  const LossResult a = used.forward_backward(tokens.data(), first_only.data(), B, T, lo, true);
  const LossResult b = fresh.forward_backward(tokens.data(), first_only.data(), B, T, lo, true);
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(a.mtp, 0.0);
  const auto& ga = used.params().grad;
  const auto& gb = fresh.params().grad;
  ASSERT_EQ(ga.size(), gb.size());
  double diff = 0, norm = 0;
  for (size_t i = 0; i < ga.size(); ++i) {
    diff = std::max(diff, double(std::abs(ga[i] - gb[i])));
    norm = std::max(norm, double(std::abs(gb[i])));
  }
  EXPECT_LE(diff, 1e-6 * norm) << "largest gradient " << norm;
}

}  // namespace
}  // namespace seek
