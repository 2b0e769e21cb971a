// A random tiny-v3 model folder for the CLI tests (they link the whole library).
#pragma once
#include <filesystem>
#include <limits>
#include <string>

#include "model/model_dir.hpp"

namespace seek::test {

// tiny-v3 (context 64) with a vocabulary that holds the byte tokenizer's 265 tokens, so text prompts work,
// and no tokenizer.json. With overflow_token >= 0: its lm_head row holds FLT_MAX, finite weights whose logit
// overflows to ±inf at every position (non-finite weights are refused as the model loads, so this is how the
// checks on the logits are reached).
inline std::filesystem::path random_byte_model(const std::filesystem::path& dir, int overflow_token = -1) {
  auto cfg = ModelConfig::load(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json");
  cfg.vocab_size = 272;
  cfg.num_nextn_predict_layers = 0;
  Transformer<float> m(cfg);
  m.init_weights(7);
  if (overflow_token >= 0) {
    auto& ps = m.params();
    const auto& head = ps.layout[ps.layout.find("lm_head.weight")];
    for (int64_t i = 0; i < cfg.hidden_size; ++i)
      ps.value[size_t(head.offset + overflow_token * cfg.hidden_size + i)] =
          std::numeric_limits<float>::max();
  }
  save_model_dir(m, dir);
  return dir;
}

}  // namespace seek::test
