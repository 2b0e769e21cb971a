// Where each tensor of the model sits in the parameter slab: ids into a ParamLayout, grouped the way the
// forward pass walks them. Names are the Hugging Face checkpoint names (spec §2), so save/load is a loop.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "model/config.hpp"
#include "model/params.hpp"

namespace seek {

// The index of a tensor named "model.layers.<i>.…" (MTP layers follow the num_hidden_layers decoder layers),
// or -1 for any other name.
int64_t layer_index(std::string_view name);

struct MlpIds {
  int gate = -1, up = -1, down = -1;  // SwiGLU: down(silu(gate x) ⊙ up x)
  int64_t inter = 0;                  // hidden width
};

struct AttnIds {
  int q_proj = -1;                        // when q_lora_rank is null
  int q_a = -1, q_a_norm = -1, q_b = -1;  // otherwise
  int kv_a = -1, kv_a_norm = -1, kv_b = -1, o_proj = -1;
};

struct MoeIds {
  int router = -1;  // mlp.gate.weight [E, d]
  int bias = -1;    // mlp.gate.e_score_correction_bias [E] (noaux_tc only; not trained by gradient)
  std::vector<MlpIds> experts;
  MlpIds shared;  // gate < 0 when n_shared_experts == 0
};

struct LayerIds {
  int index = 0;  // layer number in the checkpoint (MTP layers continue after the last decoder layer)
  int in_norm = -1, post_norm = -1;
  AttnIds attn;
  bool moe = false;
  MlpIds dense;
  MoeIds experts;
};

struct MtpIds {
  int enorm = -1, hnorm = -1, eh_proj = -1, head_norm = -1;
  LayerIds layer;
};

struct ModelIds {
  int embed = -1, final_norm = -1;
  int lm_head = -1;  // -1 when tie_word_embeddings: the head is the embedding
  std::vector<LayerIds> layers;
  std::vector<MtpIds> mtp;
  int head() const { return lm_head >= 0 ? lm_head : embed; }
};

ModelIds build_layout(const ModelConfig& cfg, ParamLayout& layout);

// Parameters of the model `cfg` describes (main model and MTP modules), without allocating them.
int64_t parameter_count(const ModelConfig& cfg);

}  // namespace seek
