#include "model/config.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <utility>

#include "core/error.hpp"
#include "core/read_file.hpp"
#include "core/untrusted_json.hpp"
#include "io/convert.hpp"

namespace seek {

namespace {

constexpr int64_t kMaxLayers = 4096, kMaxExperts = 65536, kMaxLayerExperts = int64_t(1) << 20;

using nlohmann::json;

struct Reader {
  const json& j;
  const std::string& src;

  bool present(const char* key) const { return j.contains(key) && !j[key].is_null(); }

  int64_t integer(const char* key) const {
    SEEK_CHECK(j.contains(key), "{}: missing required key \"{}\"", src, key);
    SEEK_CHECK(!j[key].is_null(), "{}: required key \"{}\" is null; it needs an integer", src, key);
    return integer_or(key, 0);
  }
  int64_t integer_or(const char* key, int64_t def) const {
    if (!present(key)) return def;
    return as_integer(j[key], fmt::format("key \"{}\"", key));
  }
  // `what` names the value in messages: a key, or an element of a key's list.
  int64_t as_integer(const json& v, const std::string& what) const {
    SEEK_CHECK(!v.is_number_unsigned() || v.get<uint64_t>() <= uint64_t(INT64_MAX),
               "{}: {} is out of range, got {}", src, what, describe_json(v));
    const std::optional<int64_t> n = json_whole_number(v);
    SEEK_CHECK(n.has_value(), "{}: {} must be an integer, got {}", src, what, describe_json(v));
    return *n;
  }
  double number_or(const char* key, double def) const {
    if (!present(key)) return def;
    SEEK_CHECK(j[key].is_number(), "{}: key \"{}\" must be a number, got {}", src, key,
               describe_json(j[key]));
    return j[key].get<double>();
  }
  bool boolean_or(const char* key, bool def) const {
    if (!present(key)) return def;
    SEEK_CHECK(j[key].is_boolean(), "{}: key \"{}\" must be true or false, got {}", src, key,
               describe_json(j[key]));
    return j[key].get<bool>();
  }
  std::string string_or(const char* key, const std::string& def) const {
    if (!present(key)) return def;
    SEEK_CHECK(j[key].is_string(), "{}: key \"{}\" must be a string, got {}", src, key,
               describe_json(j[key]));
    return j[key].get<std::string>();
  }
  // An optional key whose default is the field's initial value (config.hpp), so defaults live in one place.
  void read(const char* key, int64_t& v) const { v = integer_or(key, v); }
  void read(const char* key, double& v) const { v = number_or(key, v); }
  void read(const char* key, bool& v) const { v = boolean_or(key, v); }
};

// A rope_scaling or rope_parameters object (`key`): type "yarn", as DeepSeek's checkpoints use, or "default"
// (plain RoPE, which transformers 5 writes for models without scaling). `dim` and `theta` come from outside.
RopeParams read_rope_block(const json& block, const std::string& src, const char* key, int64_t dim,
                           double theta) {
  SEEK_CHECK(block.is_object(), "{}: {} must be an object or null", src, key);
  const std::string where = src + " " + key;
  Reader q{block, where};
  RopeParams p;
  p.dim = dim;
  p.theta = theta;
  // transformers reads rope_type before type, DeepSeek's own code reads type: a file giving both must agree,
  // or it runs as one scaling here and another there.
  const std::string rope_type = q.string_or("rope_type", ""), legacy_type = q.string_or("type", "");
  SEEK_CHECK(rope_type.empty() || legacy_type.empty() || rope_type == legacy_type,
             "{}: {} gives type \"{}\" and rope_type \"{}\"; give one", src, key, legacy_type, rope_type);
  const std::string type = rope_type.empty() ? legacy_type : rope_type;
  if (type == "default") return p;
  SEEK_CHECK(type == "yarn",
             "{}: unsupported {} type \"{}\" (yarn, as DeepSeek's checkpoints use, or default)", src, key,
             type);
  p.yarn = true;
  // Required, as DeepSeek's modelling code reads it (rope_scaling["factor"]); the others have defaults there.
  SEEK_CHECK(q.present("factor"), "{}: {} of type yarn needs its \"factor\"", src, key);
  p.factor = q.number_or("factor", 1.0);
  p.original_max_pos = q.integer_or("original_max_position_embeddings", 4096);
  p.beta_fast = q.number_or("beta_fast", 32.0);
  p.beta_slow = q.number_or("beta_slow", 1.0);
  p.mscale = q.number_or("mscale", 1.0);
  p.mscale_all_dim = q.number_or("mscale_all_dim", 0.0);
  // transformers' YaRN also reads these two; seek computes what they set the way DeepSeek's code does (the
  // cos/sin magnitude from mscale and mscale_all_dim, the ramp's ends rounded outwards), so a value that
  // would give other logits is refused rather than ignored.
  SEEK_CHECK(
      q.boolean_or("truncate", true),
      "{}: {} sets truncate = false (an unrounded YaRN ramp); seek rounds the ramp's ends as DeepSeek's "
      "checkpoints are made for",
      src, key);
  if (q.present("attention_factor")) {
    const double given = q.number_or("attention_factor", 1.0), computed = rope_magnitude(p);
    SEEK_CHECK(std::abs(given - computed) <= 1e-6 * std::abs(computed),
               "{}: {} sets attention_factor {}, but its mscale ({}) and mscale_all_dim ({}) give {}; seek "
               "takes the latter, as DeepSeek's code does: leave attention_factor out",
               src, key, given, p.mscale, p.mscale_all_dim, computed);
  }
  return p;
}

// The shape keys every config must give: each is required, must be positive and is written back as it is.
constexpr std::pair<const char*, int64_t ModelConfig::*> kShapeKeys[] = {
    {"vocab_size", &ModelConfig::vocab_size},
    {"hidden_size", &ModelConfig::hidden_size},
    {"num_hidden_layers", &ModelConfig::num_hidden_layers},
    {"num_attention_heads", &ModelConfig::num_attention_heads},
    {"kv_lora_rank", &ModelConfig::kv_lora_rank},
    {"qk_nope_head_dim", &ModelConfig::qk_nope_head_dim},
    {"qk_rope_head_dim", &ModelConfig::qk_rope_head_dim},
    {"v_head_dim", &ModelConfig::v_head_dim},
};

// Hugging Face's configs leave out unset token ids (-1), so to_json does too.
enum class Write { Always, AboveDefault };

// Optional keys read and written as they are, in the order from_json reads them; an absent one keeps its
// default from config.hpp.
template <typename F>
void for_each_plain_key(F&& f) {
  f("norm_topk_prob", &ModelConfig::norm_topk_prob);
  f("routed_scaling_factor", &ModelConfig::routed_scaling_factor);
  f("rope_theta", &ModelConfig::rope_theta);
  f("max_position_embeddings", &ModelConfig::max_position_embeddings);
  f("rms_norm_eps", &ModelConfig::rms_norm_eps);
  f("tie_word_embeddings", &ModelConfig::tie_word_embeddings);
  // Written even when 0: the V3 config class's default is 1.
  f("num_nextn_predict_layers", &ModelConfig::num_nextn_predict_layers);
  f("aux_loss_alpha", &ModelConfig::aux_loss_alpha);
  f("seq_aux", &ModelConfig::seq_aux);
  f("initializer_range", &ModelConfig::initializer_range);
  f("bos_token_id", &ModelConfig::bos_token_id, Write::AboveDefault);
}

// Whether any layer, the MTP layers included, is dense. Not by a loop over the layers: config.json may claim
// 2^40 of them, and the loader compares that count with the checkpoint only after validate. If layers 0 and 1
// are both MoE, first_k_dense_replace is 0 and moe_layer_freq 1, so every layer is.
bool has_dense_layer(const ModelConfig& c) {
  const bool two_layers = c.num_hidden_layers > 1 || c.num_nextn_predict_layers > 0;
  return !c.is_moe_layer(0) || (two_layers && !c.is_moe_layer(1));
}

// The dimensions build_layout derives from the keys (heads × head dims, rank + rope dims, ...) must fit in
// int64. A wrapped one can equal a checkpoint's real size and pass every shape check: 2^62 + 4 heads of 12
// query dims "are" 48 rows, so tiny-v3's 4-head tensors loaded, and the forward pass walked 2^62 heads.
void check_derived_sizes(const ModelConfig& c, const std::string& src) {
  using Wide = __int128;  // holds a key times a sum of two keys exactly
  const Wide heads = c.num_attention_heads;
  const std::pair<const char*, Wide> sizes[] = {
      {"num_attention_heads × (qk_nope_head_dim + qk_rope_head_dim)",
       heads * (Wide(c.qk_nope_head_dim) + c.qk_rope_head_dim)},
      {"num_attention_heads × (qk_nope_head_dim + v_head_dim)",
       heads * (Wide(c.qk_nope_head_dim) + c.v_head_dim)},
      {"num_attention_heads × v_head_dim", heads * c.v_head_dim},
      {"kv_lora_rank + qk_rope_head_dim", Wide(c.kv_lora_rank) + c.qk_rope_head_dim},
      {"2 × hidden_size", 2 * Wide(c.hidden_size)},
      {"n_shared_experts × moe_intermediate_size",
       c.n_routed_experts > 0 ? Wide(c.n_shared_experts) * c.moe_intermediate_size : 0},
  };
  for (const auto& [what, size] : sizes)
    SEEK_CHECK(size <= INT64_MAX, "{}: {} is {:.4g}, too large for a tensor dimension", src, what,
               double(size));
  // The values of the largest tensors, each dimension now within int64: over 2^60 ended in "parameter
  // model.embed_tokens.weight of shape 4611686018427387904×32 is too large", naming neither key nor file.
  // Computed in doubles, which hold a product of several int64 without overflow.
  const double hidden = double(c.hidden_size), qk = double(c.qk_nope_head_dim) + double(c.qk_rope_head_dim);
  const std::pair<const char*, double> values[] = {
      {"vocab_size × hidden_size (embed_tokens, lm_head)", double(c.vocab_size) * hidden},
      {"(kv_lora_rank + qk_rope_head_dim) × hidden_size (kv_a_proj_with_mqa)",
       (double(c.kv_lora_rank) + double(c.qk_rope_head_dim)) * hidden},
      {"num_attention_heads × (qk_nope_head_dim + v_head_dim) × kv_lora_rank (kv_b_proj)",
       double(c.num_attention_heads) * (double(c.qk_nope_head_dim) + double(c.v_head_dim)) *
           double(c.kv_lora_rank)},
      {"num_attention_heads × (qk_nope_head_dim + qk_rope_head_dim) × (q_lora_rank or hidden_size) (q_proj)",
       double(c.num_attention_heads) * qk * (c.q_lora_rank > 0 ? double(c.q_lora_rank) : hidden)},
      {"q_lora_rank × hidden_size (q_a_proj)", c.q_lora_rank > 0 ? double(c.q_lora_rank) * hidden : 0.0},
      {"num_attention_heads × v_head_dim × hidden_size (o_proj)",
       double(c.num_attention_heads) * double(c.v_head_dim) * hidden},
      {"intermediate_size × hidden_size (a dense MLP's projections)",
       has_dense_layer(c) ? double(c.intermediate_size) * hidden : 0.0},
      {"moe_intermediate_size × hidden_size (an expert's projections)",
       c.n_routed_experts > 0 ? double(c.moe_intermediate_size) * hidden : 0.0},
      {"n_shared_experts × moe_intermediate_size × hidden_size (the shared experts, merged)",
       c.n_routed_experts > 0 ? double(c.n_shared_experts) * double(c.moe_intermediate_size) * hidden : 0.0},
  };
  constexpr double kMaxValues = double(int64_t(1) << 60);
  for (const auto& [what, n] : values)
    SEEK_CHECK(n <= kMaxValues, "{}: {} is {:.4g} values, more than the 2^60 a tensor may hold", src, what,
               n);
}

// Keys left out take the defaults of the file's own config class, as Hugging Face does: DeepseekV3Config's
// router is V3's (sigmoid, noaux_tc, 8 groups of which 4, normalised, × 2.5, 3 dense layers, a shared
// expert), DeepseekV2Config's is V2-Lite's (softmax, greedy, unnormalised, × 1). A V3 config without them ran
// V2's router without a word. The class is model_type's, else the one architectures names; a file naming
// neither keeps V2's.
constexpr const char* kV3RouterKeys[] = {
    "first_k_dense_replace", "n_shared_experts", "n_group",        "topk_group",
    "topk_method",           "scoring_func",     "norm_topk_prob", "routed_scaling_factor"};
bool takes_v3_router_defaults(const json& j) {
  bool v3_class = false;
  if (const auto a = j.find("architectures"); a != j.end() && a->is_array())
    for (const auto& name : *a) v3_class |= name == "DeepseekV3ForCausalLM";
  const auto type = j.find("model_type");
  if (type == j.end() || type->is_null()) return v3_class;
  return *type == "deepseek_v3" || (*type != "deepseek_v2" && v3_class);
}

// The router keys a config left out that took V3's defaults ("n_group, topk_group"), or "": an error they
// lead to ("not divisible by n_group (8)") quotes values the file does not hold.
std::string v3_defaults_taken(const json& j) {
  if (!j.is_object() || !takes_v3_router_defaults(j)) return "";
  const auto experts = j.find("n_routed_experts");
  if (experts == j.end() || !experts->is_number() || experts->get<double>() <= 0) return "";
  std::string taken;
  for (const char* key : kV3RouterKeys)
    if (!j.contains(key) || (j[key].is_null() && std::string_view(key) != "n_shared_experts"))
      taken += (taken.empty() ? "" : ", ") + std::string(key);
  return taken;
}

ModelConfig parse_model_config(const json& j, const std::string& src);

}  // namespace

double ModelConfig::softmax_scale() const {
  double s = 1.0 / std::sqrt(double(qk_head_dim()));
  if (rope.yarn && rope.mscale_all_dim != 0.0) {
    double m = yarn_get_mscale(rope.factor, rope.mscale_all_dim);
    s *= m * m;
  }
  return s;
}

ModelConfig ModelConfig::from_json(const json& j, const std::string& src) {
  try {
    return parse_model_config(j, src);
  } catch (const Error& e) {
    const std::string taken = v3_defaults_taken(j);
    if (taken.empty()) throw;
    const bool one = taken.find(',') == std::string::npos;
    fail(
        "{} ({} left out of this deepseek_v3 config, so {} DeepSeek-V3's defaults, as Hugging Face's "
        "DeepseekV3Config does: give {} in the file where {})",
        e.what(), taken, one ? "it takes" : "they take", one ? "it" : "them",
        one ? "it differs" : "they differ");
  }
}

namespace {

ModelConfig parse_model_config(const json& j, const std::string& src) {
  SEEK_CHECK(j.is_object(), "{}: a model config must be a JSON object", src);
  Reader r{j, src};
  ModelConfig c;
  c.model_type = r.string_or("model_type", "");
  // Another architecture's config that happens to hold these keys would run as DeepSeek without a word. A
  // release of DeepSeek's architecture under its own model_type (Kimi K2's "kimi_k2") names the class.
  // Of a list naming both, V3's, whose router defaults it then takes (takes_v3_router_defaults).
  if (const auto a = j.find("architectures"); a != j.end() && a->is_array())
    for (const auto& name : *a)
      if (name == "DeepseekV3ForCausalLM" || (name == "DeepseekV2ForCausalLM" && c.architecture.empty()))
        c.architecture = name.get<std::string>();
  const bool deepseek_class = !c.architecture.empty();
  // Without model_type, a list of architectures is the file's only word on what it is: one naming only
  // another (LlamaForCausalLM) ran as DeepSeek.
  if (const auto a = j.find("architectures"); a != j.end() && !a->is_null() && !a->is_array())
    fail("{}: architectures must be a list of class names (e.g. [\"DeepseekV3ForCausalLM\"]), got {}", src,
         describe_json(*a));
  if (const auto a = j.find("architectures");
      c.model_type.empty() && !deepseek_class && a != j.end() && a->is_array() && !a->empty())
    fail(
        "{}: architectures {} names no DeepSeek class (DeepseekV2ForCausalLM or DeepseekV3ForCausalLM), the "
        "architecture seek runs",
        src, describe_json(*a));
  SEEK_CHECK(c.model_type.empty() || c.model_type == "deepseek_v3" || c.model_type == "deepseek_v2" ||
                 deepseek_class,
             "{}: model_type \"{}\" is not DeepSeek-V2 or V3 (deepseek_v2, deepseek_v3, or architectures "
             "naming DeepseekV2ForCausalLM or DeepseekV3ForCausalLM), the architecture seek runs",
             src, c.model_type);
  const bool v3_defaults = takes_v3_router_defaults(j);
  for (const auto& [key, field] : kShapeKeys) c.*field = r.integer(key);
  c.q_lora_rank =
      r.integer_or("q_lora_rank", 0);  // null (V2-Lite) and 0 (DeepSeek's own configs) mean q_proj
  c.n_routed_experts = r.integer_or("n_routed_experts", 0);
  const bool v3_router = v3_defaults && c.n_routed_experts > 0;
  c.first_k_dense_replace = r.integer_or("first_k_dense_replace", v3_router ? 3 : 0);
  bool any_dense = c.n_routed_experts == 0 || c.first_k_dense_replace > 0;
  c.moe_layer_freq = r.integer_or("moe_layer_freq", 1);
  if (c.n_routed_experts > 0) {
    c.moe_intermediate_size = r.integer("moe_intermediate_size");
    c.num_experts_per_tok = r.integer("num_experts_per_tok");
    if (c.moe_layer_freq > 1) any_dense = true;
  }
  c.intermediate_size = any_dense ? r.integer("intermediate_size") : r.integer_or("intermediate_size", 0);
  // DeepSeek's modelling code builds shared experts only when n_shared_experts is not None: null is none, not
  // V3's default of one.
  const bool no_shared = j.contains("n_shared_experts") && j["n_shared_experts"].is_null();
  c.n_shared_experts = no_shared ? 0 : r.integer_or("n_shared_experts", v3_router ? 1 : 0);
  c.n_group = r.integer_or("n_group", v3_router ? 8 : 1);
  c.topk_group = r.integer_or("topk_group", v3_router ? 4 : 1);
  std::string method = r.string_or("topk_method", v3_router ? "noaux_tc" : "greedy");
  if (method == "greedy" || method == "gready") {  // the earliest V2 remote code spelled it "gready"
    c.topk_method = TopkMethod::Greedy;
  } else if (method == "group_limited_greedy") {
    c.topk_method = TopkMethod::GroupLimitedGreedy;
  } else if (method == "noaux_tc") {
    c.topk_method = TopkMethod::NoauxTc;
  } else {
    fail("{}: unsupported topk_method \"{}\" (expected greedy, group_limited_greedy or noaux_tc)", src,
         method);
  }
  std::string scoring = r.string_or("scoring_func", v3_router ? "sigmoid" : "softmax");
  if (scoring == "softmax") {
    c.scoring_func = ScoringFunc::Softmax;
  } else if (scoring == "sigmoid") {
    c.scoring_func = ScoringFunc::Sigmoid;
  } else {
    fail("{}: unsupported scoring_func \"{}\" (expected softmax or sigmoid)", src, scoring);
  }
  if (v3_router) {
    c.norm_topk_prob = true;
    c.routed_scaling_factor = 2.5;
  }
  // Without model_type, the class architectures names, else the one whose code runs the router (V3's
  // scores with sigmoid and picks with noaux_tc, V2's does neither): a V2 config without it was saved as
  // deepseek_v3 with V2's router, which Hugging Face's V3 code cannot run.
  const bool v2_router = c.n_routed_experts > 0 && c.topk_method != TopkMethod::NoauxTc &&
                         c.scoring_func != ScoringFunc::Sigmoid;
  if (c.model_type.empty())
    c.model_type = c.architecture == "DeepseekV2ForCausalLM"   ? "deepseek_v2"
                   : c.architecture == "DeepseekV3ForCausalLM" ? "deepseek_v3"
                   : v2_router                                 ? "deepseek_v2"
                                                               : "deepseek_v3";
  for_each_plain_key([&](const char* key, auto field, auto...) { r.read(key, c.*field); });
  c.max_position_embeddings_defaulted = !r.present("max_position_embeddings");
  // Hugging Face allows a list of end tokens (generation stops at any of them); DeepSeek's configs give one.
  if (r.present("eos_token_id") && j["eos_token_id"].is_array()) {
    const json& ids = j["eos_token_id"];
    SEEK_CHECK(!ids.empty(),
               "{}: key \"eos_token_id\" is an empty list; give a token id, a list of them, or "
               "null",
               src);
    for (size_t i = 0; i < ids.size(); ++i) {
      const int64_t id = r.as_integer(ids[i], fmt::format("element {} of \"eos_token_id\"", i));
      SEEK_CHECK(id >= 0, "{}: element {} of \"eos_token_id\" is {}; a token id is >= 0", src, i, id);
      if (i == 0)
        c.eos_token_id = id;
      else if (id != c.eos_token_id && std::find(c.extra_eos_token_ids.begin(), c.extra_eos_token_ids.end(),
                                                 id) == c.extra_eos_token_ids.end())
        c.extra_eos_token_ids.push_back(id);
    }
  } else {
    r.read("eos_token_id", c.eos_token_id);
  }

  // A null n_shared_experts, q_lora_rank or n_routed_experts says "none"; other nulls take the default.
  const auto left_out = [&](const char* key) {
    const std::string_view k = key;
    return !j.contains(key) ||
           (j[key].is_null() && k != "n_shared_experts" && k != "q_lora_rank" && k != "n_routed_experts");
  };
  const auto defaulted = [&](const char* key, const std::string& value, bool router) {
    if (!left_out(key)) return;
    // Not Hugging Face's for every key: its DeepseekV3Config has one MTP layer and a q_lora_rank of 1536.
    const char* whose = !router     ? "seek's default"
                        : v3_router ? "DeepSeek-V3's default"
                                    : "DeepSeek-V2's default";
    c.layout_keys_defaulted.push_back(fmt::format("{} {} ({})", key, value, whose));
  };
  defaulted("n_routed_experts", "null", false);
  defaulted("q_lora_rank", "null", false);
  if (c.n_routed_experts > 0) {
    defaulted("first_k_dense_replace", std::to_string(c.first_k_dense_replace), true);
    defaulted("moe_layer_freq", std::to_string(c.moe_layer_freq), false);
    defaulted("n_shared_experts", std::to_string(c.n_shared_experts), true);
    defaulted("topk_method", method, true);
  }
  defaulted("tie_word_embeddings", c.tie_word_embeddings ? "true" : "false", false);
  defaulted("num_nextn_predict_layers", std::to_string(c.num_nextn_predict_layers), false);

  // Unused by MLA (every head has its own keys and values from the latent), but a value that is no head
  // count says the file is not what it claims: checked, not read.
  SEEK_CHECK(r.integer_or("num_key_value_heads", 1) >= 1,
             "{}: num_key_value_heads must be a positive count, got {}", src,
             j["num_key_value_heads"].dump());
  std::string act = r.string_or("hidden_act", "silu");
  // transformers' ACT2FN maps both names to SiLU.
  SEEK_CHECK(act == "silu" || act == "swish", "{}: unsupported hidden_act \"{}\" (DeepSeek models use silu)",
             src, act);
  SEEK_CHECK(!r.boolean_or("attention_bias", false), "{}: attention_bias = true is not supported", src);
  // Recent transformers' DeepseekV3Config: false rotates the rope dims as two halves rather than as
  // DeepSeek's interleaved pairs, which seek always does; ignoring it gave other logits without a word.
  SEEK_CHECK(r.boolean_or("rope_interleave", true),
             "{}: rope_interleave = false (RoPE over two halves) is not supported; seek rotates interleaved "
             "pairs, as DeepSeek's checkpoints are made for",
             src);

  c.rope.dim = c.qk_rope_head_dim;
  c.rope.theta = c.rope_theta;
  // transformers 5 writes rope_parameters (the scaling and rope_theta in one object) where earlier versions
  // and DeepSeek's own configs write rope_scaling and rope_theta; a file may hold both, which must agree.
  std::optional<RopeParams> from_scaling, from_parameters;
  if (r.present("rope_scaling"))
    from_scaling = read_rope_block(j["rope_scaling"], src, "rope_scaling", c.rope.dim, c.rope_theta);
  if (r.present("rope_parameters")) {
    from_parameters = read_rope_block(j["rope_parameters"], src, "rope_parameters", c.rope.dim, c.rope_theta);
    const json& rp = j["rope_parameters"];
    if (rp.contains("rope_theta") && !rp["rope_theta"].is_null()) {
      SEEK_CHECK(rp["rope_theta"].is_number(), "{}: rope_parameters.rope_theta must be a number, got {}", src,
                 describe_json(rp["rope_theta"]));
      const double theta = rp["rope_theta"].get<double>();
      SEEK_CHECK(!r.present("rope_theta") || theta == c.rope_theta,
                 "{}: rope_theta is {} but rope_parameters.rope_theta is {}; give one value", src,
                 c.rope_theta, theta);
      c.rope_theta = theta;
      from_parameters->theta = theta;
    }
  }
  if (from_scaling && from_parameters) {
    const RopeParams &a = *from_scaling, &b = *from_parameters;
    SEEK_CHECK(a.yarn == b.yarn && a.factor == b.factor && a.original_max_pos == b.original_max_pos &&
                   a.beta_fast == b.beta_fast && a.beta_slow == b.beta_slow && a.mscale == b.mscale &&
                   a.mscale_all_dim == b.mscale_all_dim,
               "{}: rope_scaling and rope_parameters describe different RoPE scalings ({} and {}); give one",
               src, describe_json(j["rope_scaling"]), describe_json(j["rope_parameters"]));
  }
  if (from_parameters)
    c.rope = *from_parameters;
  else if (from_scaling)
    c.rope = *from_scaling;
  c.rope.theta = c.rope_theta;
  if (r.present("quantization_config")) {
    // Only DeepSeek-V3's own scheme is read (the weights are dequantized on load with 128 × 128 blocks of
    // weight_scale_inv); any other would be misread without a word, so it is refused.
    const json& qc = j["quantization_config"];
    SEEK_CHECK(qc.is_object(), "{}: quantization_config must be an object or null", src);
    Reader q{qc, src + " quantization_config"};
    const std::string method = q.string_or("quant_method", "fp8");
    SEEK_CHECK(
        method == "fp8",
        "{}: quantization_config.quant_method \"{}\" is not supported (seek reads fp8 checkpoints with "
        "128 x 128 weight_scale_inv blocks, as DeepSeek-V3 ships)",
        src, method);
    const std::string fmt_name = q.string_or("fmt", "e4m3");
    SEEK_CHECK(fmt_name == "e4m3", "{}: quantization_config.fmt \"{}\" is not supported (only e4m3)", src,
               fmt_name);
    if (qc.contains("weight_block_size")) {
      const json& b = qc["weight_block_size"];
      auto is_block = [](const json& v) {
        return v.is_number_integer() && v.get<int64_t>() == kFp8BlockSize;
      };
      SEEK_CHECK(b.is_array() && b.size() == 2 && is_block(b[0]) && is_block(b[1]),
                 "{}: quantization_config.weight_block_size is {}; only [{}, {}] is supported", src,
                 describe_json(b), kFp8BlockSize, kFp8BlockSize);
    }
  }
  c.validate(src);
  return c;
}

}  // namespace

void ModelConfig::validate(const std::string& src) const {
  auto positive = [&](int64_t v, const char* key) {
    SEEK_CHECK(v > 0, "{}: \"{}\" must be positive, got {}", src, key, v);
  };
  for (const auto& [key, field] : kShapeKeys) positive(this->*field, key);
  positive(max_position_embeddings, "max_position_embeddings");
  // Positions are int32 in every batch; a table of rope angles is built for the context actually used.
  SEEK_CHECK(max_position_embeddings <= INT32_MAX,
             "{}: max_position_embeddings ({}) is above the {} supported", src, max_position_embeddings,
             INT32_MAX);
  // RoPE's frequencies are rope_theta^(-2i/d): a base at or below 1 gives no decay (or, 1e-300, infinite
  // angles and NaN logits).
  SEEK_CHECK(std::isfinite(rope_theta) && rope_theta > 1,
             "{}: rope_theta must be a number above 1 (RoPE's base; DeepSeek uses 10000), got {}", src,
             rope_theta);
  for (auto [key, id] : {std::pair{"bos_token_id", bos_token_id}, {"eos_token_id", eos_token_id}})
    SEEK_CHECK(id >= -1 && id < vocab_size, "{}: \"{}\" ({}) is not a token id of the {}-token vocabulary",
               src, key, id, vocab_size);
  SEEK_CHECK(extra_eos_token_ids.empty() || eos_token_id >= 0,
             "{}: further end tokens are set without a first eos_token_id", src);
  for (int64_t id : extra_eos_token_ids)
    SEEK_CHECK(id >= 0 && id < vocab_size,
               "{}: \"eos_token_id\" lists {}, which is not a token id of the {}-token vocabulary", src, id,
               vocab_size);
  positive(moe_layer_freq, "moe_layer_freq");
  SEEK_CHECK(qk_rope_head_dim % 2 == 0, "{}: qk_rope_head_dim must be even (RoPE rotates pairs), got {}", src,
             qk_rope_head_dim);
  SEEK_CHECK(q_lora_rank >= 0, "{}: q_lora_rank must be null or positive, got {}", src, q_lora_rank);
  SEEK_CHECK(first_k_dense_replace >= 0, "{}: first_k_dense_replace must be >= 0", src);
  SEEK_CHECK(num_nextn_predict_layers >= 0, "{}: num_nextn_predict_layers must be >= 0", src);
  // Above 1 the epsilon, not the activations, sets the norm (1e308 made every logit 0).
  SEEK_CHECK(std::isfinite(rms_norm_eps) && rms_norm_eps > 0 && rms_norm_eps <= 1,
             "{}: rms_norm_eps must be in (0, 1] (DeepSeek's are 1e-6), got {}", src, rms_norm_eps);
  // The counts that size the model's list of tensors (one per layer, and per layer and expert): far beyond
  // any DeepSeek model (V3: 61 + 1 layers of 256 experts), and small enough that a config that describes no
  // real model (2^40 layers) is refused at once rather than building a list of 10^12 tensors.
  SEEK_CHECK(num_hidden_layers <= kMaxLayers && num_nextn_predict_layers <= kMaxLayers,
             "{}: num_hidden_layers ({}) and num_nextn_predict_layers ({}) must be at most {}", src,
             num_hidden_layers, num_nextn_predict_layers, kMaxLayers);
  SEEK_CHECK(n_routed_experts <= kMaxExperts, "{}: n_routed_experts ({}) must be at most {}", src,
             n_routed_experts, kMaxExperts);
  const int64_t layer_experts =  // a negative count (no experts) must not overflow the product
      (num_hidden_layers + num_nextn_predict_layers) * std::max<int64_t>(n_routed_experts, 0);
  SEEK_CHECK(
      layer_experts <= kMaxLayerExperts,
      "{}: (num_hidden_layers + num_nextn_predict_layers) × n_routed_experts is {} routed experts, more "
      "than {}",
      src, layer_experts, kMaxLayerExperts);
  check_derived_sizes(*this, src);
  if (has_dense_layer(*this)) positive(intermediate_size, "intermediate_size");
  if (n_routed_experts > 0) {
    positive(moe_intermediate_size, "moe_intermediate_size");
    positive(num_experts_per_tok, "num_experts_per_tok");
    SEEK_CHECK(n_shared_experts >= 0, "{}: n_shared_experts must be >= 0", src);
    SEEK_CHECK(num_experts_per_tok <= n_routed_experts,
               "{}: num_experts_per_tok ({}) is larger than n_routed_experts ({})", src, num_experts_per_tok,
               n_routed_experts);
    // The greedy router takes no groups: Hugging Face's reads neither key then, so neither is checked.
    if (topk_method != TopkMethod::Greedy) {
      positive(n_group, "n_group");
      positive(topk_group, "topk_group");
      SEEK_CHECK(n_routed_experts % n_group == 0,
                 "{}: n_routed_experts ({}) is not divisible by n_group ({})", src, n_routed_experts,
                 n_group);
      SEEK_CHECK(topk_group <= n_group, "{}: topk_group ({}) is larger than n_group ({})", src, topk_group,
                 n_group);
      int64_t reachable = topk_group * (n_routed_experts / n_group);
      SEEK_CHECK(
          num_experts_per_tok <= reachable,
          "{}: num_experts_per_tok ({}) exceeds the experts in the kept groups (topk_group {} × {} per "
          "group)",
          src, num_experts_per_tok, topk_group, n_routed_experts / n_group);
    }
    if (topk_method == TopkMethod::NoauxTc) {
      SEEK_CHECK(n_routed_experts / n_group >= 2 || n_group == 1,
                 "{}: noaux_tc scores a group by its top-2 experts, so groups need at least 2 experts", src);
    }
    // Far above any real model's (DeepSeek's are 1 to 16): 1e308 made every expert output infinite.
    SEEK_CHECK(
        std::isfinite(routed_scaling_factor) && routed_scaling_factor > 0 && routed_scaling_factor <= 1e6,
        "{}: routed_scaling_factor must be positive and at most 1e6, got {}", src, routed_scaling_factor);
  }
  if (rope.yarn) {
    SEEK_CHECK(rope.factor >= 1.0, "{}: rope_scaling.factor must be >= 1, got {}", src, rope.factor);
    SEEK_CHECK(rope.original_max_pos > 0,
               "{}: rope_scaling.original_max_position_embeddings must be positive", src);
    // YaRN divides by each beta (rotations) inside a log: 0 made every rope angle NaN, so every logit.
    for (auto [key, beta] : {std::pair{"beta_fast", rope.beta_fast}, {"beta_slow", rope.beta_slow}})
      SEEK_CHECK(beta > 0, "{}: rope_scaling.{} must be positive, got {}", src, key, beta);
    // Each scales the attention logits (mscale_all_dim, squared) or the rope angles' cos and sin (their
    // ratio): 0.1·m·ln(factor) + 1 must be a positive finite number, or every logit is NaN.
    for (auto [key, m] : {std::pair{"mscale", rope.mscale}, {"mscale_all_dim", rope.mscale_all_dim}}) {
      const double scale = yarn_get_mscale(rope.factor, m);
      SEEK_CHECK(
          std::isfinite(scale) && scale > 0 && std::isfinite(scale * scale),
          "{}: rope_scaling.{} ({}) makes YaRN's attention scale 0.1·{}·ln({}) + 1 = {}, which must be "
          "a positive finite number",
          src, key, m, m, rope.factor, scale);
    }
  }
}

std::string ModelConfig::read_text(const std::string& path) {
  constexpr long long kMaxConfigBytes = 16LL << 20;
  return read_file(path, kMaxConfigBytes, "a model's config.json is a few kilobytes");
}

ModelConfig ModelConfig::load(const std::string& path) {
  return from_text(read_text(path), path);
}

ModelConfig ModelConfig::from_text(std::string_view text, const std::string& source) {
  json j;
  try {
    // Two values for one key would otherwise leave the last one in force without a word.
    j = parse_json_unique_keys(text, source);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", source, json_error_text(e));
  }
  return from_json(j, source);
}

json ModelConfig::to_json() const {
  json j;
  // A model_type of another name (kimi_k2) is saved as the DeepSeek class its config named: Hugging Face
  // resolves no other name without the remote code a saved folder does not carry (kimi_k2 was saved as
  // V2's class under its own name).
  const bool v3 =
      model_type == "deepseek_v3" || (model_type != "deepseek_v2" && architecture == "DeepseekV3ForCausalLM");
  j["architectures"] = {v3 ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM"};
  j["model_type"] = v3 ? "deepseek_v3" : "deepseek_v2";
  for (const auto& [key, field] : kShapeKeys) j[key] = this->*field;
  j["intermediate_size"] = intermediate_size;
  j["moe_intermediate_size"] = moe_intermediate_size;
  j["num_key_value_heads"] = num_attention_heads;
  // None is 0, not null: transformers' own DeepSeek classes multiply by it (V3) or call the shared expert
  // they skipped building (V2) for null, where 0 builds one of width 0, whose output is 0.
  j["n_shared_experts"] = n_shared_experts;
  j["n_routed_experts"] = n_routed_experts > 0 ? json(n_routed_experts) : json(nullptr);
  j["num_experts_per_tok"] = num_experts_per_tok;
  j["n_group"] = n_group;
  j["topk_group"] = topk_group;
  j["topk_method"] = topk_method == TopkMethod::Greedy               ? "greedy"
                     : topk_method == TopkMethod::GroupLimitedGreedy ? "group_limited_greedy"
                                                                     : "noaux_tc";
  j["scoring_func"] = scoring_func == ScoringFunc::Softmax ? "softmax" : "sigmoid";
  j["first_k_dense_replace"] = first_k_dense_replace;
  j["moe_layer_freq"] = moe_layer_freq;
  j["q_lora_rank"] = q_lora_rank > 0 ? json(q_lora_rank) : json(nullptr);
  if (rope.yarn) {
    j["rope_scaling"] = {{"type", "yarn"},
                         {"factor", rope.factor},
                         {"original_max_position_embeddings", rope.original_max_pos},
                         {"beta_fast", rope.beta_fast},
                         {"beta_slow", rope.beta_slow},
                         {"mscale", rope.mscale},
                         {"mscale_all_dim", rope.mscale_all_dim}};
  } else {
    j["rope_scaling"] = nullptr;
  }
  j["hidden_act"] = "silu";
  j["attention_bias"] = false;
  static const ModelConfig defaults;
  for_each_plain_key([&](const char* key, auto field, Write write = Write::Always) {
    if (write == Write::Always || this->*field > defaults.*field) j[key] = this->*field;
  });
  if (!extra_eos_token_ids.empty()) {
    json ids = json::array({eos_token_id});
    for (int64_t id : extra_eos_token_ids) ids.push_back(id);
    j["eos_token_id"] = ids;
  } else if (eos_token_id > defaults.eos_token_id) {
    j["eos_token_id"] = eos_token_id;
  }
  return j;
}

}  // namespace seek
