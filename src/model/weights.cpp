#include "model/weights.hpp"

#include <fmt/format.h>

namespace seek {

namespace {

MlpIds add_mlp(ParamLayout& L, const std::string& prefix, int64_t d, int64_t inter) {
  MlpIds m;
  m.inter = inter;
  m.gate = L.add(prefix + "gate_proj.weight", {inter, d}, true);
  m.up = L.add(prefix + "up_proj.weight", {inter, d}, true);
  m.down = L.add(prefix + "down_proj.weight", {d, inter}, true);
  return m;
}

LayerIds add_layer(const ModelConfig& c, ParamLayout& L, int i) {
  LayerIds l;
  l.index = i;
  const int64_t d = c.hidden_size, H = c.num_attention_heads;
  std::string p = fmt::format("model.layers.{}.", i);
  l.in_norm = L.add(p + "input_layernorm.weight", {d}, false);
  std::string a = p + "self_attn.";
  if (c.has_q_lora()) {
    l.attn.q_a = L.add(a + "q_a_proj.weight", {c.q_lora_rank, d}, true);
    l.attn.q_a_norm = L.add(a + "q_a_layernorm.weight", {c.q_lora_rank}, false);
    l.attn.q_b = L.add(a + "q_b_proj.weight", {H * c.qk_head_dim(), c.q_lora_rank}, true);
  } else {
    l.attn.q_proj = L.add(a + "q_proj.weight", {H * c.qk_head_dim(), d}, true);
  }
  l.attn.kv_a = L.add(a + "kv_a_proj_with_mqa.weight", {c.kv_lora_rank + c.qk_rope_head_dim, d}, true);
  l.attn.kv_a_norm = L.add(a + "kv_a_layernorm.weight", {c.kv_lora_rank}, false);
  l.attn.kv_b =
      L.add(a + "kv_b_proj.weight", {H * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank}, true);
  l.attn.o_proj = L.add(a + "o_proj.weight", {d, H * c.v_head_dim}, true);
  l.post_norm = L.add(p + "post_attention_layernorm.weight", {d}, false);
  l.moe = c.is_moe_layer(i);
  if (!l.moe) {
    l.dense = add_mlp(L, p + "mlp.", d, c.intermediate_size);
    return l;
  }
  l.experts.router = L.add(p + "mlp.gate.weight", {c.n_routed_experts, d}, true);
  if (c.topk_method == TopkMethod::NoauxTc)
    l.experts.bias = L.add(p + "mlp.gate.e_score_correction_bias", {c.n_routed_experts}, false, false);
  for (int64_t e = 0; e < c.n_routed_experts; ++e)
    l.experts.experts.push_back(
        add_mlp(L, fmt::format("{}mlp.experts.{}.", p, e), d, c.moe_intermediate_size));
  if (c.n_shared_experts > 0)
    l.experts.shared = add_mlp(L, p + "mlp.shared_experts.", d, c.n_shared_experts * c.moe_intermediate_size);
  return l;
}

}  // namespace

ModelIds build_layout(const ModelConfig& c, ParamLayout& L) {
  ModelIds m;
  const int64_t d = c.hidden_size;
  m.embed = L.add("model.embed_tokens.weight", {c.vocab_size, d}, true);
  for (int i = 0; i < c.num_hidden_layers; ++i) m.layers.push_back(add_layer(c, L, i));
  m.final_norm = L.add("model.norm.weight", {d}, false);
  if (!c.tie_word_embeddings) m.lm_head = L.add("lm_head.weight", {c.vocab_size, d}, true);
  for (int k = 0; k < c.num_nextn_predict_layers; ++k) {
    int i = int(c.num_hidden_layers) + k;
    std::string p = fmt::format("model.layers.{}.", i);
    MtpIds t;
    t.enorm = L.add(p + "enorm.weight", {d}, false);
    t.hnorm = L.add(p + "hnorm.weight", {d}, false);
    t.eh_proj = L.add(p + "eh_proj.weight", {d, 2 * d}, true);
    t.layer = add_layer(c, L, i);
    t.head_norm = L.add(p + "shared_head.norm.weight", {d}, false);
    m.mtp.push_back(t);
  }
  return m;
}

int64_t parameter_count(const ModelConfig& cfg) {
  ParamLayout layout;
  build_layout(cfg, layout);
  return layout.total();
}

int64_t layer_index(std::string_view name) {
  constexpr std::string_view prefix = "model.layers.";
  if (!name.starts_with(prefix)) return -1;
  name.remove_prefix(prefix.size());
  const size_t dot = name.find('.');
  if (dot == 0 || dot == std::string_view::npos) return -1;
  int64_t i = 0;
  for (char ch : name.substr(0, dot)) {
    if (ch < '0' || ch > '9' || i > (int64_t(1) << 40)) return -1;
    i = i * 10 + (ch - '0');
  }
  return i;
}

}  // namespace seek
