// The GRPO tests' tiny random policy folder (tests/rl link seek_rl, which holds the model).
#pragma once
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "model/model_dir.hpp"

namespace seek::test {

// dir/policy: tiny-v3 with a vocabulary that holds the byte tokenizer (so <think> is one token), and
// dir/problems.jsonl: 16 problems "Qi:" whose answer is "1". Random routers at init scale score every expert
// about equally, so rounding differences between the engine and the trainer would flip expert choices;
// decisive routers (×100) keep log-prob comparisons between the two meaningful.
inline std::filesystem::path tiny_policy(const std::filesystem::path& dir) {
  auto cfg = ModelConfig::load(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json");
  cfg.vocab_size = 272;
  cfg.num_nextn_predict_layers = 0;
  Transformer<float> m(cfg);
  m.init_weights(5);
  auto& ps = m.params();
  for (const auto& info : ps.layout.all())
    if (info.name.find("mlp.gate.weight") != std::string::npos)
      for (int64_t i = 0; i < info.numel; ++i) ps.value[size_t(info.offset + i)] *= 100.0f;
  save_model_dir(m, dir / "policy");
  std::ofstream f(dir / "problems.jsonl");
  for (int i = 0; i < 16; ++i)
    f << nlohmann::json{{"prompt", fmt::format("Q{}:", i)}, {"answer", "1"}}.dump() << "\n";
  return dir / "policy";
}

}  // namespace seek::test
