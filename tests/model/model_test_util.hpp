// Shared helpers for model tests: load a shipped config, make a deterministic batch, randomise router biases.
#pragma once
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "model/config.hpp"
#include "model/transformer.hpp"

namespace seek::test {

inline ModelConfig shipped_config(const std::string& name) {
  return ModelConfig::load(std::string(SEEK_SOURCE_DIR) + "/configs/" + name + ".json");
}

struct Batch {
  int64_t B = 0, T = 0;
  std::vector<int32_t> tokens, targets;
};

// Random tokens; targets are the next tokens (a T+1 window), with a few -1 to exercise masking.
inline Batch random_batch(const ModelConfig& c, int64_t B, int64_t T, uint64_t seed,
                          bool with_ignored = true) {
  Rng rng(seed);
  Batch b{B, T, {}, {}};
  for (int64_t i = 0; i < B; ++i) {
    std::vector<int32_t> w(size_t(T + 1));
    for (auto& t : w) t = int32_t(rng.below(uint64_t(c.vocab_size)));
    for (int64_t t = 0; t < T; ++t) {
      b.tokens.push_back(w[size_t(t)]);
      b.targets.push_back(w[size_t(t + 1)]);
    }
  }
  if (with_ignored && B * T > 4) {
    b.targets[1] = -1;
    b.targets[size_t(B * T - 2)] = -1;
  }
  return b;
}

template <typename T>
void randomise_router_bias(Transformer<T>& m, uint64_t seed, double scale = 0.05) {
  Rng rng(seed);
  auto& ps = m.params();
  for (int id = 0; id < ps.layout.size(); ++id)
    if (!ps.layout[id].trainable)
      for (int64_t i = 0; i < ps.layout[id].numel; ++i) ps.p(id)[i] = T(rng.normal() * scale);
}

}  // namespace seek::test
