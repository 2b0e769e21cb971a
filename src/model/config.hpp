// The model's shape, read from a Hugging Face DeepSeek `config.json` (V2, V2-Lite, V3 keys; spec §1).
// Every key that changes the math is honoured; a missing required key, a wrong type or a contradiction
// (e.g. topk_group > n_group) is an error naming the key and the file.
#pragma once
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/rope.hpp"

namespace seek {

enum class ScoringFunc { Softmax, Sigmoid };
enum class TopkMethod { Greedy, GroupLimitedGreedy, NoauxTc };

struct ModelConfig {
  std::string model_type = "deepseek_v3";
  // The DeepSeek class the config's architectures named ("" if none): a config of another model_type (Kimi
  // K2's "kimi_k2") is saved as it.
  std::string architecture;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;        // d
  int64_t intermediate_size = 0;  // dense FFN width
  int64_t moe_intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;  // H
  int64_t n_shared_experts = 0;
  int64_t n_routed_experts = 0;     // E; 0 = no MoE layers at all (config value null)
  int64_t num_experts_per_tok = 0;  // K
  int64_t n_group = 1, topk_group = 1;
  TopkMethod topk_method = TopkMethod::Greedy;
  ScoringFunc scoring_func = ScoringFunc::Softmax;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;
  int64_t first_k_dense_replace = 0;
  int64_t moe_layer_freq = 1;
  int64_t q_lora_rank = 0;  // 0 = null: plain q_proj
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0, qk_rope_head_dim = 0, v_head_dim = 0;
  double rope_theta = 10000.0;
  int64_t max_position_embeddings = 4096;
  RopeParams rope;  // dim = qk_rope_head_dim; yarn settings from rope_scaling
  double rms_norm_eps = 1e-6;
  // q_a_layernorm's and kv_a_layernorm's, whatever rms_norm_eps says: DeepSeek's code and Hugging Face's
  // (remote and native) build those two norms with the module default, so a config with another
  // rms_norm_eps changes only the other norms there.
  static constexpr double kLatentNormEps = 1e-6;
  bool tie_word_embeddings = false;
  int64_t num_nextn_predict_layers = 0;  // MTP depth D
  double aux_loss_alpha = 0.0;
  bool seq_aux = true;
  double initializer_range = 0.02;
  int64_t bos_token_id = -1, eos_token_id = -1;
  // The rest of an eos_token_id list (Hugging Face allows several end tokens): generation stops at any.
  std::vector<int64_t> extra_eos_token_ids;
  // Whether `id` is one of the config's end-of-sequence ids.
  bool is_eos(int64_t id) const {
    return id == eos_token_id ||
           std::find(extra_eos_token_ids.begin(), extra_eos_token_ids.end(), id) != extra_eos_token_ids.end();
  }

  // The keys that decide which tensors the weights hold and that config.json left out, each with the value it
  // took ("first_k_dense_replace 3 (DeepSeek-V3's default)"): a mismatch with the weights names them, since
  // the file does not. Not saved: a saved config writes every key.
  std::vector<std::string> layout_keys_defaulted;
  // Whether config.json left max_position_embeddings out (the default 4096 then holds): a context error
  // names where the limit came from (context_source).
  bool max_position_embeddings_defaulted = false;
  std::string context_source() const {
    return max_position_embeddings_defaulted
               ? "the default max_position_embeddings: config.json does not give one"
               : "max_position_embeddings in config.json";
  }

  int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  bool has_q_lora() const { return q_lora_rank > 0; }
  // MoE iff n_routed_experts is set, i >= first_k_dense_replace and i % moe_layer_freq == 0 (spec §1).
  bool is_moe_layer(int64_t i) const {
    return n_routed_experts > 0 && i >= first_k_dense_replace && i % moe_layer_freq == 0;
  }
  // dq^-0.5 · m² with m from mscale_all_dim and the YaRN factor (spec §3.5).
  double softmax_scale() const;

  // `source` names the file in error messages.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source);
  static ModelConfig load(const std::string& path);
  // The text of a config file, read within a bound (16 MiB): parsing takes ~20 times a JSON file's size in
  // memory, and a file of gigabytes (a sparse one, a mistaken path) was read whole before it was refused, or
  // ran out of memory inside the parser.
  static std::string read_text(const std::string& path);
  // A config.json's text, already read (so a caller that keeps the text checks the same bytes it keeps).
  static ModelConfig from_text(std::string_view text, const std::string& source);
  nlohmann::json to_json() const;
  void validate(const std::string& source) const;
};

}  // namespace seek
