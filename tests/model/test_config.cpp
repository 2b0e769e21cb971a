// config.json parsing: every shipped config loads; missing, mistyped and contradictory keys are errors that
// name the key and the file.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "core/error.hpp"
#include "model/config.hpp"
#include "model/transformer.hpp"

namespace seek {
namespace {

nlohmann::json load_json(const std::string& name) {
  std::ifstream f(std::string(SEEK_SOURCE_DIR) + "/configs/" + name + ".json");
  return nlohmann::json::parse(f);
}

std::string error_of(const nlohmann::json& j) {
  try {
    ModelConfig::from_json(j, "test-config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Config, ShippedConfigsLoadWithTheirKeys) {
  auto v3 = ModelConfig::load(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json");
  EXPECT_EQ(v3.topk_method, TopkMethod::NoauxTc);
  EXPECT_EQ(v3.scoring_func, ScoringFunc::Sigmoid);
  EXPECT_TRUE(v3.has_q_lora());
  EXPECT_EQ(v3.num_nextn_predict_layers, 1);
  EXPECT_TRUE(v3.rope.yarn);
  EXPECT_FALSE(v3.is_moe_layer(0));
  EXPECT_TRUE(v3.is_moe_layer(1));
  auto lite = ModelConfig::load(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v2lite.json");
  EXPECT_FALSE(lite.has_q_lora());  // q_lora_rank: null
  EXPECT_EQ(lite.topk_method, TopkMethod::Greedy);
  auto v2 = ModelConfig::load(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v2.json");
  EXPECT_EQ(v2.topk_method, TopkMethod::GroupLimitedGreedy);
  EXPECT_FALSE(v2.is_moe_layer(1));  // moe_layer_freq 2
  EXPECT_TRUE(v2.is_moe_layer(2));
  auto small = ModelConfig::load(std::string(SEEK_SOURCE_DIR) + "/configs/small.json");
  Transformer<float> m(small);
  int64_t n = 0;
  for (const auto& p : m.params().layout.all()) n += p.numel;
  EXPECT_GE(n, 10'000'000);  // the issue asks for a 10-30M parameter demo model
  EXPECT_LE(n, 30'000'000);
}

TEST(Config, RoundTripsThroughJson) {
  auto c = ModelConfig::load(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json");
  auto c2 = ModelConfig::from_json(c.to_json(), "round-trip");
  EXPECT_EQ(c2.to_json(), c.to_json());
  EXPECT_DOUBLE_EQ(c2.softmax_scale(), c.softmax_scale());
}

// A context error names where the limit came from: the key, or its default when config.json leaves it out
// (an error read "max_position_embeddings in config.json" for a file without the key). A saved config gives
// it.
TEST(Config, TheContextSaysWhetherItIsTheDefault) {
  auto j = load_json("tiny-v3");
  EXPECT_EQ(ModelConfig::from_json(j, "x").context_source(), "max_position_embeddings in config.json");
  j.erase("max_position_embeddings");
  const ModelConfig c = ModelConfig::from_json(j, "x");
  EXPECT_EQ(c.max_position_embeddings, 4096);
  EXPECT_EQ(c.context_source(), "the default max_position_embeddings: config.json does not give one");
  EXPECT_EQ(ModelConfig::from_json(c.to_json(), "saved").context_source(),
            "max_position_embeddings in config.json");
}

// The saved class must be one whose Hugging Face code runs the router: a V2 config without model_type was
// saved as deepseek_v3 (V3's code refuses softmax and greedy), and a kimi_k2 config naming V3's class as
// V2's.
TEST(Config, TheSavedClassFollowsTheFileOrTheRouter) {
  const auto saved = [](nlohmann::json j) {
    const auto out = ModelConfig::from_json(j, "x").to_json();
    return std::pair{out["model_type"].get<std::string>(), out["architectures"][0].get<std::string>()};
  };
  auto v2 = load_json("tiny-v2");
  v2.erase("model_type");
  v2["architectures"] = {"DeepseekV2ForCausalLM"};
  EXPECT_EQ(saved(v2), std::pair(std::string("deepseek_v2"), std::string("DeepseekV2ForCausalLM")));
  v2.erase("architectures");  // neither: the router's class (V2's defaults when the keys are left out too)
  EXPECT_EQ(saved(v2).first, "deepseek_v2");
  auto v3 = load_json("tiny-v3");
  v3.erase("model_type");
  v3.erase("architectures");
  EXPECT_EQ(saved(v3), std::pair(std::string("deepseek_v3"), std::string("DeepseekV3ForCausalLM")));
  // Another model_type is saved as the DeepSeek class it named, which Hugging Face resolves without remote
  // code; of a list naming both, V3's, whose router defaults the config took.
  v3["model_type"] = "kimi_k2";
  v3["architectures"] = {"DeepseekV3ForCausalLM"};
  EXPECT_EQ(saved(v3), std::pair(std::string("deepseek_v3"), std::string("DeepseekV3ForCausalLM")));
  v3["architectures"] = {"DeepseekV2ForCausalLM", "DeepseekV3ForCausalLM"};
  EXPECT_EQ(saved(v3), std::pair(std::string("deepseek_v3"), std::string("DeepseekV3ForCausalLM")));
  // Given, model_type decides, as before.
  auto named = load_json("tiny-v2lite");
  named["model_type"] = "deepseek_v2";
  EXPECT_EQ(saved(named).second, "DeepseekV2ForCausalLM");
  // No shared expert is 0 (transformers' own DeepSeek classes fail on null, and build one of width 0 for 0),
  // and an MTP depth of 0 is written (V3's config class defaults it to 1).
  auto none = load_json("tiny-v3");
  none["n_shared_experts"] = nullptr;
  none["num_nextn_predict_layers"] = 0;
  const auto out = ModelConfig::from_json(none, "x").to_json();
  EXPECT_EQ(out["n_shared_experts"], 0) << out.dump();
  EXPECT_EQ(out["num_nextn_predict_layers"], 0) << out.dump();
  EXPECT_EQ(ModelConfig::from_json(out, "again").n_shared_experts, 0);
}

TEST(Config, SoftmaxScaleUsesMscaleAllDim) {
  auto j = load_json("tiny-v3");
  j["qk_nope_head_dim"] = 128;
  j["qk_rope_head_dim"] = 64;
  j["rope_scaling"]["factor"] = 40;
  auto c = ModelConfig::from_json(j, "x");
  EXPECT_NEAR(c.softmax_scale(), 0.1352338, 1e-7);
  j["rope_scaling"] = nullptr;
  EXPECT_NEAR(ModelConfig::from_json(j, "x").softmax_scale(), 1 / std::sqrt(192.0), 1e-12);
}

TEST(Config, MissingKeyIsNamed) {
  auto j = load_json("tiny-v3");
  j.erase("kv_lora_rank");
  auto msg = error_of(j);
  EXPECT_NE(msg.find("kv_lora_rank"), std::string::npos) << msg;
  EXPECT_NE(msg.find("test-config.json"), std::string::npos) << msg;
}

// A config.json of gigabytes (a sparse file, a mistaken path) was read whole before it was refused, and
// parsing one of hundreds of megabytes ran out of memory inside the parser (an abort, not an error).
TEST(Config, AHugeConfigIsRefusedBeforeItIsRead) {
  const std::string path = testing::TempDir() + "huge-config.json";
  { std::ofstream(path) << load_json("tiny-v3").dump(); }
  std::filesystem::resize_file(path, 4LL << 30);
  std::string msg;
  try {
    ModelConfig::load(path);
  } catch (const Error& e) {
    msg = e.what();
  }
  std::filesystem::remove(path);
  EXPECT_NE(msg.find(path + " holds 4.3 GB, more than 16.8 MB: a model's config.json is a few kilobytes"),
            std::string::npos)
      << msg;
}

TEST(Config, WrongTypeIsNamed) {
  auto j = load_json("tiny-v3");
  j["hidden_size"] = "big";
  EXPECT_NE(error_of(j).find("hidden_size"), std::string::npos);
  j = load_json("tiny-v3");
  j["norm_topk_prob"] = 1;
  EXPECT_NE(error_of(j).find("norm_topk_prob"), std::string::npos);
}

// Only DeepSeek-V3's fp8 scheme (e4m3, 128 × 128 blocks) is read; another would be misread, so it is refused.
TEST(Config, OtherQuantizationSchemesAreRefused) {
  const nlohmann::json v3_fp8 = {{"quant_method", "fp8"},
                                 {"fmt", "e4m3"},
                                 {"activation_scheme", "dynamic"},
                                 {"weight_block_size", {128, 128}}};
  auto j = load_json("tiny-v3");
  j["quantization_config"] = v3_fp8;
  EXPECT_EQ(error_of(j), "");
  j["quantization_config"] = nullptr;
  EXPECT_EQ(error_of(j), "");
  for (const auto& [key, value, needle] :
       {std::tuple{"quant_method", nlohmann::json("awq"), "quant_method \"awq\" is not supported"},
        std::tuple{"fmt", nlohmann::json("e5m2"), "fmt \"e5m2\" is not supported"},
        std::tuple{"weight_block_size", nlohmann::json({64, 64}),
                   "weight_block_size is [64, 64]; only [128, 128]"},
        std::tuple{"weight_block_size", nlohmann::json(128), "weight_block_size is 128; only"}}) {
    j["quantization_config"] = v3_fp8;
    j["quantization_config"][key] = value;
    EXPECT_NE(error_of(j).find(needle), std::string::npos) << key << ": " << error_of(j);
  }
  j["quantization_config"] = "fp8";
  EXPECT_NE(error_of(j).find("quantization_config must be an object"), std::string::npos) << error_of(j);
}

// Hugging Face's greedy router reads neither group key, so a greedy config's groups need not fit its experts.
TEST(Config, GreedyRoutingIgnoresTheGroupKeys) {
  auto j = load_json("tiny-v2lite");
  ASSERT_EQ(j["topk_method"], "greedy");
  j["n_group"] = 3;  // 8 experts are not divisible into 3 groups
  j["topk_group"] = 5;
  EXPECT_EQ(error_of(j), "");
  j["n_group"] = 0;
  EXPECT_EQ(error_of(j), "");
  j["topk_method"] = "group_limited_greedy";
  EXPECT_NE(error_of(j).find("n_group"), std::string::npos) << error_of(j);
}

TEST(Config, ContradictionsAreErrors) {
  auto j = load_json("tiny-v3");
  j["topk_group"] = 5;  // n_group is 4
  EXPECT_NE(error_of(j).find("topk_group"), std::string::npos);
  j = load_json("tiny-v3");
  j["n_group"] = 3;  // 8 experts are not divisible into 3 groups
  EXPECT_NE(error_of(j).find("n_group"), std::string::npos);
  j = load_json("tiny-v3");
  j["num_experts_per_tok"] = 9;
  EXPECT_NE(error_of(j).find("num_experts_per_tok"), std::string::npos);
  j = load_json("tiny-v3");
  j["num_experts_per_tok"] = 5;  // 2 kept groups × 2 experts = 4 reachable
  EXPECT_NE(error_of(j).find("kept groups"), std::string::npos);
  j = load_json("tiny-v3");
  j["qk_rope_head_dim"] = 3;
  EXPECT_NE(error_of(j).find("even"), std::string::npos);
  j = load_json("tiny-v3");
  j["topk_method"] = "random";
  EXPECT_NE(error_of(j).find("random"), std::string::npos);
  j = load_json("tiny-v3");
  j["scoring_func"] = "tanh";
  EXPECT_NE(error_of(j).find("tanh"), std::string::npos);
  j = load_json("tiny-v3");
  j["rope_scaling"]["type"] = "linear";
  EXPECT_NE(error_of(j).find("linear"), std::string::npos);
  // yarn without its factor was read as factor 1 (no scaling at all); DeepSeek's code requires the key.
  j = load_json("tiny-v3");
  j["rope_scaling"].erase("factor");
  EXPECT_NE(error_of(j).find("rope_scaling of type yarn needs its \"factor\""), std::string::npos)
      << error_of(j);
}

// Router keys left out take the defaults of the file's config class, as Hugging Face does: V3's class
// defaults are V3's router. They were V2's for every file, so a V3 config without scoring_func ran softmax.
TEST(Config, LeftOutRouterKeysTakeTheirConfigClassDefaults) {
  nlohmann::json j = load_json("tiny-v3");
  for (const char* key : {"scoring_func", "topk_method", "n_group", "topk_group", "norm_topk_prob",
                          "routed_scaling_factor", "first_k_dense_replace", "n_shared_experts"})
    j.erase(key);
  j["n_routed_experts"] = 16;  // 8 groups of 2: noaux_tc scores a group by its top two
  const auto v3 = ModelConfig::from_json(j, "v3");
  EXPECT_EQ(v3.scoring_func, ScoringFunc::Sigmoid);
  EXPECT_EQ(v3.topk_method, TopkMethod::NoauxTc);
  EXPECT_EQ(v3.n_group, 8);
  EXPECT_EQ(v3.topk_group, 4);
  EXPECT_TRUE(v3.norm_topk_prob);
  EXPECT_EQ(v3.routed_scaling_factor, 2.5);
  EXPECT_EQ(v3.first_k_dense_replace, 3);
  EXPECT_EQ(v3.n_shared_experts, 1);
  // The class named by architectures alone (no model_type) is V3's too.
  j.erase("model_type");
  EXPECT_EQ(ModelConfig::from_json(j, "v3").scoring_func, ScoringFunc::Sigmoid);
  // A V2 config, or one naming no class, keeps V2's defaults (V2-Lite's router).
  j["architectures"] = {"DeepseekV2ForCausalLM"};
  j["model_type"] = "deepseek_v2";
  const auto v2 = ModelConfig::from_json(j, "v2");
  EXPECT_EQ(v2.scoring_func, ScoringFunc::Softmax);
  EXPECT_EQ(v2.topk_method, TopkMethod::Greedy);
  EXPECT_EQ(v2.n_group, 1);
  EXPECT_FALSE(v2.norm_topk_prob);
  EXPECT_EQ(v2.routed_scaling_factor, 1.0);
  EXPECT_EQ(v2.first_k_dense_replace, 0);
  EXPECT_EQ(v2.n_shared_experts, 0);
  j.erase("architectures");
  j.erase("model_type");
  EXPECT_EQ(ModelConfig::from_json(j, "none").scoring_func, ScoringFunc::Softmax);
  // An error a default leads to says so: it quoted values the file does not hold ("groups need at least 2
  // experts" with no n_group in the file).
  j = load_json("tiny-v3");
  j.erase("n_group");
  j.erase("topk_group");
  const std::string e = error_of(j);
  EXPECT_NE(
      e.find("(n_group, topk_group left out of this deepseek_v3 config, so they take DeepSeek-V3's "
             "defaults, as Hugging Face's DeepseekV3Config does: give them in the file where they differ)"),
      std::string::npos)
      << e;
  j = load_json("tiny-v3");
  j["n_group"] = 3;  // given, wrong: no note about defaults
  EXPECT_EQ(error_of(j).find("left out of this deepseek_v3 config"), std::string::npos) << error_of(j);
  // Given keys win over either class's defaults.
  j = load_json("tiny-v3");
  j["scoring_func"] = "softmax";
  j["topk_method"] = "greedy";
  EXPECT_EQ(ModelConfig::from_json(j, "v3").scoring_func, ScoringFunc::Softmax);
}

// transformers 5 writes rope_parameters (scaling and rope_theta in one object); it was ignored, so a YaRN
// model ran plain RoPE without a word.
TEST(Config, RopeParametersAreReadAsRopeScaling) {
  const nlohmann::json legacy = load_json("tiny-v3");
  const auto want = ModelConfig::from_json(legacy, "legacy");
  ASSERT_TRUE(want.rope.yarn);
  nlohmann::json j = legacy;
  j["rope_parameters"] = j["rope_scaling"];
  j["rope_parameters"]["rope_theta"] = j["rope_theta"];
  j.erase("rope_scaling");
  j.erase("rope_theta");
  auto got = ModelConfig::from_json(j, "v5");
  EXPECT_EQ(got.rope_theta, want.rope_theta);
  EXPECT_TRUE(got.rope.yarn);
  EXPECT_EQ(got.rope.factor, want.rope.factor);
  EXPECT_EQ(got.rope.mscale_all_dim, want.rope.mscale_all_dim);
  EXPECT_EQ(got.softmax_scale(), want.softmax_scale());
  EXPECT_EQ(got.to_json(), want.to_json());
  // Its own theta is read.
  j["rope_parameters"]["rope_theta"] = 50000.0;
  got = ModelConfig::from_json(j, "v5");
  EXPECT_EQ(got.rope_theta, 50000.0);
  EXPECT_EQ(got.rope.theta, 50000.0);
  // Both forms in one file must agree.
  j = legacy;
  j["rope_parameters"] = j["rope_scaling"];
  EXPECT_EQ(error_of(j), "");
  j["rope_parameters"]["factor"] = 8;
  EXPECT_NE(error_of(j).find("rope_scaling and rope_parameters describe different RoPE scalings"),
            std::string::npos)
      << error_of(j);
  j = legacy;
  j["rope_parameters"] = {
      {"rope_type", "yarn"}, {"factor", legacy["rope_scaling"]["factor"]}, {"rope_theta", 20000.0}};
  j.erase("rope_scaling");
  EXPECT_NE(error_of(j).find("rope_theta is 10000 but rope_parameters.rope_theta is 20000"),
            std::string::npos)
      << error_of(j);
  // "default" is plain RoPE, under either key; another type is refused under either.
  j = legacy;
  j.erase("rope_scaling");
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 10000.0}};
  EXPECT_FALSE(ModelConfig::from_json(j, "v5").rope.yarn);
  j["rope_parameters"]["rope_type"] = "linear";
  EXPECT_NE(error_of(j).find("unsupported rope_parameters type \"linear\""), std::string::npos)
      << error_of(j);
  j = legacy;
  j["rope_scaling"] = {{"rope_type", "default"}};
  EXPECT_FALSE(ModelConfig::from_json(j, "old").rope.yarn);
}

// transformers reads rope_type first, DeepSeek's code reads type: a file giving both as different types ran
// as yarn here and as plain RoPE in transformers. YaRN's attention_factor and truncate were ignored.
TEST(Config, RopeKeysThatWouldChangeTheLogitsAreNotIgnored) {
  const nlohmann::json legacy = load_json("tiny-v3");
  nlohmann::json j = legacy;
  j["rope_scaling"]["rope_type"] = "yarn";
  EXPECT_TRUE(ModelConfig::from_json(j, "same").rope.yarn);
  j["rope_scaling"]["rope_type"] = "default";
  EXPECT_NE(error_of(j).find("rope_scaling gives type \"yarn\" and rope_type \"default\"; give one"),
            std::string::npos)
      << error_of(j);
  j["rope_scaling"].erase("type");
  EXPECT_FALSE(ModelConfig::from_json(j, "rope_type only").rope.yarn);

  // attention_factor: the value mscale and mscale_all_dim give is accepted, another is refused.
  j = legacy;
  j["rope_scaling"]["mscale"] = 0.707;
  const double magnitude = rope_magnitude(ModelConfig::from_json(j, "v3").rope);
  ASSERT_NE(magnitude, 1.0);
  j["rope_scaling"]["attention_factor"] = magnitude;
  EXPECT_EQ(error_of(j), "");
  j["rope_scaling"]["attention_factor"] = 0.5;
  EXPECT_NE(error_of(j).find("sets attention_factor 0.5, but its mscale (0.707) and mscale_all_dim (1) give"),
            std::string::npos)
      << error_of(j);
  j["rope_scaling"]["attention_factor"] = nullptr;
  EXPECT_EQ(error_of(j), "");

  j = legacy;
  j["rope_scaling"]["truncate"] = true;
  EXPECT_EQ(error_of(j), "");
  j["rope_scaling"]["truncate"] = false;
  EXPECT_NE(error_of(j).find("rope_scaling sets truncate = false"), std::string::npos) << error_of(j);
}

// DeepSeek's modelling code makes shared experts only when n_shared_experts is not None; null read as V3's
// default of one, and a checkpoint without them failed on a missing tensor.
TEST(Config, NullSharedExpertsIsNone) {
  nlohmann::json j = load_json("tiny-v3");
  j["n_shared_experts"] = nullptr;
  EXPECT_EQ(ModelConfig::from_json(j, "v3").n_shared_experts, 0);
  j.erase("n_shared_experts");
  EXPECT_EQ(ModelConfig::from_json(j, "v3").n_shared_experts, 1);
}

TEST(Config, SwishIsSilu) {
  nlohmann::json j = load_json("tiny-v3");
  j["hidden_act"] = "swish";
  EXPECT_EQ(error_of(j), "");
  j["hidden_act"] = "gelu";
  EXPECT_NE(error_of(j).find("unsupported hidden_act \"gelu\""), std::string::npos) << error_of(j);
}

// Values that would make every logit NaN, or name tokens outside the vocabulary.
TEST(Config, OutOfRangeValuesAreErrors) {
  for (double theta : {0.0, -5.0, 1e-300, 1.0}) {
    auto j = load_json("tiny-v3");
    j["rope_theta"] = theta;
    EXPECT_NE(error_of(j).find("rope_theta"), std::string::npos) << theta;
  }
  for (const char* key : {"bos_token_id", "eos_token_id"}) {
    for (int64_t id : {int64_t(-2), load_json("tiny-v3")["vocab_size"].get<int64_t>()}) {
      auto j = load_json("tiny-v3");
      j[key] = id;
      EXPECT_NE(error_of(j).find(key), std::string::npos) << key << " " << id;
    }
  }
  auto j = load_json("tiny-v3");
  j["max_position_embeddings"] = int64_t(1) << 40;
  EXPECT_NE(error_of(j).find("max_position_embeddings"), std::string::npos);
  j = load_json("tiny-v3");
  j["vocab_size"] = nullptr;
  EXPECT_NE(error_of(j).find("\"vocab_size\" is null"), std::string::npos) << error_of(j);
  j = load_json("tiny-v3");
  j["eos_token_id"] = UINT64_MAX;  // would wrap to -1: no EOS at all
  EXPECT_NE(error_of(j).find("out of range"), std::string::npos) << error_of(j);
  j = load_json("tiny-v3");
  j["max_position_embeddings"] = 1e30;
  EXPECT_NE(error_of(j).find("must be an integer"), std::string::npos) << error_of(j);
  j = load_json("tiny-v3");
  j["eos_token_id"] = -1;  // unset, as Hugging Face writes it
  EXPECT_EQ(error_of(j), "");
  for (const char* beta : {"beta_fast", "beta_slow"}) {  // 0 made every rope angle, so every logit, NaN
    for (double value : {0.0, -1.0}) {
      j = load_json("tiny-v3");
      j["rope_scaling"][beta] = value;
      EXPECT_NE(error_of(j).find(std::string("rope_scaling.") + beta + " must be positive"),
                std::string::npos)
          << error_of(j);
    }
  }
  // Each of these gave NaN or infinite logits, reported at sampling time as if the weights held NaN.
  for (const auto& [key, value, needle] :
       {std::tuple{"mscale_all_dim", 1e308,
                   "rope_scaling.mscale_all_dim (1e+308) makes YaRN's attention scale"},
        std::tuple{"mscale", -1e308, "rope_scaling.mscale (-1e+308)"},
        std::tuple{"mscale", -100.0, "must be a positive finite number"}}) {
    j = load_json("tiny-v3");
    j["rope_scaling"][key] = value;
    EXPECT_NE(error_of(j).find(needle), std::string::npos) << key << ": " << error_of(j);
  }
  // Above 1 the epsilon sets the norm: 1e308 made every logit 0.
  for (double eps : {1e308, 1.5}) {
    j = load_json("tiny-v3");
    j["rms_norm_eps"] = eps;
    EXPECT_NE(error_of(j).find("rms_norm_eps must be in (0, 1]"), std::string::npos) << error_of(j);
  }
  // RoPE over two halves (transformers' rope_interleave false) was ignored, giving other logits.
  j = load_json("tiny-v3");
  j["rope_interleave"] = false;
  EXPECT_NE(error_of(j).find("rope_interleave = false (RoPE over two halves) is not supported"),
            std::string::npos)
      << error_of(j);
  j["rope_interleave"] = true;
  EXPECT_EQ(error_of(j), "");
  // num_key_value_heads is unused by MLA but still a head count: "x", 2.5 and -1 passed without a word.
  for (const nlohmann::json& bad : {nlohmann::json("x"), nlohmann::json(2.5), nlohmann::json(-1)}) {
    j = load_json("tiny-v3");
    j["num_key_value_heads"] = bad;
    EXPECT_NE(error_of(j).find("num_key_value_heads"), std::string::npos) << bad.dump() << error_of(j);
  }
  j["num_key_value_heads"] = 4;
  EXPECT_EQ(error_of(j), "");
  j = load_json("tiny-v3");
  j["routed_scaling_factor"] = 1e308;
  EXPECT_NE(error_of(j).find("routed_scaling_factor must be positive and at most 1e6"), std::string::npos)
      << error_of(j);
}

// Another architecture's config with these keys ran as DeepSeek without a word.
TEST(Config, OtherModelTypesAreRefused) {
  auto j = load_json("tiny-v3");
  j["model_type"] = "llama";
  j["architectures"] = {"LlamaForCausalLM"};
  EXPECT_NE(error_of(j).find("model_type \"llama\" is not DeepSeek-V2 or V3"), std::string::npos)
      << error_of(j);
  j["architectures"] = {"DeepseekV3ForCausalLM"};  // DeepSeek-V3's class under another name (Kimi K2's)
  j["model_type"] = "kimi_k2";
  EXPECT_EQ(error_of(j), "");
  j.erase("architectures");
  EXPECT_NE(error_of(j).find("model_type \"kimi_k2\" is not DeepSeek-V2 or V3"), std::string::npos);
  j["model_type"] = "deepseek_v2";
  EXPECT_EQ(error_of(j), "");
  j.erase("model_type");  // configs of our own may leave it out
  EXPECT_EQ(error_of(j), "");
  // Without model_type, architectures naming only another class ran as DeepSeek.
  j["architectures"] = {"LlamaForCausalLM"};
  EXPECT_NE(error_of(j).find("architectures [\"LlamaForCausalLM\"] names no DeepSeek class"),
            std::string::npos)
      << error_of(j);
  j["architectures"] = "LlamaForCausalLM";
  EXPECT_NE(
      error_of(j).find("architectures must be a list of class names (e.g. [\"DeepseekV3ForCausalLM\"]), "
                       "got \"LlamaForCausalLM\""),
      std::string::npos)
      << error_of(j);
  j["architectures"] = {"LlamaForCausalLM", "DeepseekV2ForCausalLM"};
  EXPECT_EQ(error_of(j), "");
  j["architectures"] = nlohmann::json::array();
  EXPECT_EQ(error_of(j), "");
}

// Hugging Face allows "eos_token_id" to be a list: generation stops at any of its ids. The first is the
// primary one; the list survives a round trip; bad elements are named.
TEST(Config, EosTokenIdList) {
  auto j = load_json("tiny-v3");
  j["eos_token_id"] = {5, 7, 5, 9};
  ModelConfig c = ModelConfig::from_json(j, "test-config.json");
  EXPECT_EQ(c.eos_token_id, 5);
  EXPECT_EQ(c.extra_eos_token_ids, (std::vector<int64_t>{7, 9}));  // a repeated id counts once
  EXPECT_EQ(c.to_json()["eos_token_id"], nlohmann::json({5, 7, 9}));
  EXPECT_EQ(ModelConfig::from_json(c.to_json(), "again").extra_eos_token_ids, c.extra_eos_token_ids);
  j["eos_token_id"] = {3};
  c = ModelConfig::from_json(j, "test-config.json");
  EXPECT_EQ(c.eos_token_id, 3);
  EXPECT_TRUE(c.extra_eos_token_ids.empty());
  EXPECT_EQ(c.to_json()["eos_token_id"], 3);  // a one-id list is written as the id

  const int64_t V = j["vocab_size"].get<int64_t>();
  const std::pair<nlohmann::json, std::string> bad[] = {
      {nlohmann::json::array(), "\"eos_token_id\" is an empty list"},
      {{1, "two"}, "element 1 of \"eos_token_id\" must be an integer"},
      {{1, -1}, "element 1 of \"eos_token_id\" is -1"},
      {{1, V}, fmt::format("\"eos_token_id\" lists {}, which is not a token id", V)},
      {{V, 1}, fmt::format("\"eos_token_id\" ({}) is not a token id", V)},
      {{1, UINT64_MAX}, "element 1 of \"eos_token_id\" is out of range"},
  };
  for (const auto& [ids, want] : bad) {
    j["eos_token_id"] = ids;
    EXPECT_NE(error_of(j).find(want), std::string::npos) << ids.dump() << ": " << error_of(j);
  }
}

// Sizes that wrap in int64 are refused: 2^62 + 4 heads times tiny-v3's 12 query dims wraps to 48 rows, the
// checkpoint's real size, so the weights passed every shape check and the first forward pass crashed.
TEST(Config, DerivedSizesThatOverflowAreErrors) {
  for (const auto& [key, value, needle] :
       {std::tuple{"num_attention_heads", (int64_t(1) << 62) + 4, "num_attention_heads × (qk_nope_head_dim"},
        std::tuple{"kv_lora_rank", INT64_MAX, "kv_lora_rank + qk_rope_head_dim"},
        std::tuple{"hidden_size", INT64_MAX / 2 + 1, "2 × hidden_size"},
        std::tuple{"n_shared_experts", int64_t(1) << 62, "n_shared_experts × moe_intermediate_size"}}) {
    auto j = load_json("tiny-v3");
    j[key] = value;
    const std::string msg = error_of(j);
    EXPECT_NE(msg.find(needle), std::string::npos) << key << ": " << msg;
    EXPECT_NE(msg.find("too large for a tensor dimension"), std::string::npos) << key << ": " << msg;
  }
  // Within int64 but past the 2^60 values a tensor may hold: the error named the tensor's shape only
  // ("model.embed_tokens.weight of shape 4611686018427387904×32"), not the key or the file.
  for (const auto& [key, value, needle] :
       {std::tuple{"vocab_size", int64_t(1) << 62, "vocab_size × hidden_size (embed_tokens, lm_head)"},
        std::tuple{"kv_lora_rank", int64_t(1) << 61, "(kv_lora_rank + qk_rope_head_dim) × hidden_size"},
        std::tuple{"moe_intermediate_size", int64_t(1) << 58, "moe_intermediate_size × hidden_size"}}) {
    auto j = load_json("tiny-v3");
    j[key] = value;
    const std::string msg = error_of(j);
    EXPECT_NE(msg.find(needle), std::string::npos) << key << ": " << msg;
    EXPECT_NE(msg.find("values, more than the 2^60 a tensor may hold"), std::string::npos)
        << key << ": " << msg;
  }
}

// A parameter shape whose element count wraps int64 is an error, not signed overflow (which UBSan traps on)
// and a layout of nonsense offsets.
TEST(Config, ParamShapesThatOverflowAreErrors) {
  ParamLayout layout;
  layout.add("fine", {1024, 1024}, true);
  try {
    layout.add("model.embed_tokens.weight", {int64_t(1) << 62, 32}, false);
    FAIL() << "a 2^67-value shape was accepted";
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("parameter model.embed_tokens.weight of shape 4611686018427387904×32 "
                                   "is too large to hold"),
        std::string::npos)
        << e.what();
  }
  EXPECT_THROW(layout.add("negative", {-1, 4}, false), Error);
  // Each tensor within 2^60 values, their sum past int64 (a config's moe_intermediate_size of 2^54): the
  // running total overflowed, which UBSan trapped on.
  ParamLayout many;
  try {
    for (int i = 0; i < 64; ++i) many.add(fmt::format("expert.{}", i), {int64_t(1) << 58, 4}, true);
    FAIL() << "2^66 values in all were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the model's parameters are too many to hold (over 2^62 values with "
                                         "expert.3)"),
              std::string::npos)
        << e.what();
  }
}

// Whether intermediate_size is required (some layer is dense) is decided without a loop over the layers,
// which ran 2^40 times for a config claiming 2^40 layers before the loader could compare that with the
// weights.
TEST(Config, LayerCountsAreNotLoopedOver) {
  auto j = load_json("tiny-v3");
  j["first_k_dense_replace"] = 0;  // every layer MoE: intermediate_size is not needed
  j.erase("intermediate_size");
  j["num_hidden_layers"] = int64_t(1) << 40;
  // Refused outright now (far past any model; seek train's memory check built a list of 2^40 layers'
  // tensors), without a loop over the layers either.
  EXPECT_NE(error_of(j).find("num_hidden_layers (1099511627776) and num_nextn_predict_layers (1) must be at "
                             "most 4096"),
            std::string::npos)
      << error_of(j);
  j["num_hidden_layers"] = 4096;
  j["num_nextn_predict_layers"] = 0;
  j["n_routed_experts"] = 8;
  EXPECT_EQ(error_of(j), "");
  j["num_hidden_layers"] = 3;
  j["num_nextn_predict_layers"] = int64_t(1) << 40;
  EXPECT_NE(error_of(j).find("must be at most 4096"), std::string::npos) << error_of(j);
  // Layers × experts sizes the list of expert tensors.
  j["num_nextn_predict_layers"] = 0;
  j["num_hidden_layers"] = 2000;
  j["n_routed_experts"] = 2000;
  j["n_group"] = 1;
  j["topk_group"] = 1;
  EXPECT_NE(error_of(j).find("(num_hidden_layers + num_nextn_predict_layers) × n_routed_experts is 4000000 "
                             "routed experts, more than 1048576"),
            std::string::npos)
      << error_of(j);
  j["n_routed_experts"] = 70000;
  EXPECT_NE(error_of(j).find("n_routed_experts (70000) must be at most 65536"), std::string::npos)
      << error_of(j);
  // The rule agrees with looking at every layer of small configs.
  j = load_json("tiny-v3");
  for (int64_t layers : {1, 2, 3})
    for (int64_t mtp : {0, 1})
      for (int64_t dense : {0, 1, 2})
        for (int64_t freq : {1, 2, 3}) {
          j["num_hidden_layers"] = layers;
          j["num_nextn_predict_layers"] = mtp;
          j["first_k_dense_replace"] = dense;
          j["moe_layer_freq"] = freq;
          ModelConfig c = ModelConfig::from_json(j, "x");
          bool has_dense = false;
          for (int64_t i = 0; i < layers + mtp; ++i) has_dense |= !c.is_moe_layer(i);
          c.intermediate_size = 0;
          std::string msg;
          try {
            c.validate("x");
          } catch (const Error& e) {
            msg = e.what();
          }
          EXPECT_EQ(msg.find("intermediate_size") != std::string::npos, has_dense)
              << layers << " " << mtp << " " << dense << " " << freq << ": " << msg;
        }
}

// The tiny-v3 config's text with `key`'s value replaced by `value` (raw JSON text), written to a temp file.
std::string config_file_with(const std::string& key, const std::string& value) {
  std::string text = load_json("tiny-v3").dump();
  size_t at = text.find("\"" + key + "\":");
  EXPECT_NE(at, std::string::npos) << key;
  size_t begin = at + key.size() + 3, end = text.find_first_of(",}", begin);
  text.replace(begin, end - begin, value);
  std::string path = ::testing::TempDir() + "config-" + std::to_string(getpid()) + ".json";
  std::ofstream(path) << text;
  return path;
}

std::string load_error(const std::string& path) {
  try {
    ModelConfig::load(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Config, DeeplyNestedValueIsAnErrorNotACrash) {
  // Printing the value in full ("got [[[...") recursed once per level and overflowed the stack.
  const size_t depth = 200000;
  auto path = config_file_with("vocab_size", std::string(depth, '[') + std::string(depth, ']'));
  std::string msg = load_error(path);
  EXPECT_NE(msg.find("the value at vocab_size[][]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nests arrays and objects more than 64 levels deep"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  std::remove(path.c_str());
}

TEST(Config, DuplicateKeyIsAnError) {
  auto path = config_file_with("hidden_size", "64, \"hidden_size\": 128");
  std::string msg = load_error(path);
  EXPECT_NE(msg.find("key \"hidden_size\" appears more than once"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  std::remove(path.c_str());
}

TEST(Config, UnreadableFileIsAnError) {
  EXPECT_THROW(ModelConfig::load("/nonexistent/config.json"), Error);
}

}  // namespace
}  // namespace seek
