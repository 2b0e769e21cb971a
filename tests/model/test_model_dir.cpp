// Model directories: save/load round trips (F32 exact, BF16 rounded, sharded), the V3 MTP copies, and
// clear errors for a folder without config.json, a missing tensor and a wrong shape.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <tuple>

#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/read_file.hpp"
#include "io/safetensors_writer.hpp"
#include "io/tensor_store.hpp"
#include "model/model_dir.hpp"
#include "model_test_util.hpp"
#include "support/error_of.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("seek-test-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

using test::error_of;

TEST(ModelDir, F32RoundTripIsExactAndHoldsMtpCopies) {
  auto cfg = test::shipped_config("tiny-v3");
  Transformer<float> m(cfg);
  m.init_weights(3);
  test::randomise_router_bias(m, 4);
  auto dir = temp_dir("f32");
  save_model_dir(m, dir);
  ASSERT_TRUE(fs::exists(dir / "config.json"));
  ASSERT_TRUE(fs::exists(dir / "model.safetensors"));
  // The dtype the weights are saved in, as Hugging Face's save_pretrained writes it.
  EXPECT_EQ(nlohmann::json::parse(read_file(dir / "config.json"))["torch_dtype"], "float32");
  TensorStore store(dir);
  EXPECT_TRUE(store.contains("model.layers.3.embed_tokens.weight"));
  EXPECT_TRUE(store.contains("model.layers.3.shared_head.head.weight"));
  EXPECT_EQ(store.info("model.layers.1.mlp.gate.e_score_correction_bias").dtype, DType::F32);
  auto loaded = load_model_dir<float>(dir);
  ASSERT_EQ(loaded->params().value.size(), m.params().value.size());
  for (size_t i = 0; i < m.params().value.size(); ++i)
    ASSERT_EQ(loaded->params().value[i], m.params().value[i]);
  fs::remove_all(dir);
}

TEST(ModelDir, Bf16AndShardedSaves) {
  auto cfg = test::shipped_config("tiny-v2lite");
  Transformer<float> m(cfg);
  m.init_weights(5);
  auto dir = temp_dir("bf16");
  SaveOptions o;
  o.dtype = DType::BF16;
  o.max_shard_bytes = 20000;  // forces several shards + index
  save_model_dir(m, dir, o);
  EXPECT_TRUE(fs::exists(dir / "model.safetensors.index.json"));
  EXPECT_EQ(nlohmann::json::parse(read_file(dir / "config.json"))["torch_dtype"], "bfloat16");
  auto loaded = load_model_dir<float>(dir);
  for (size_t i = 0; i < m.params().value.size(); ++i)
    ASSERT_EQ(loaded->params().value[i], bf16_to_f32(f32_to_bf16(m.params().value[i])));
  // Same logits as the in-memory model with bf16-rounded weights.
  for (auto& v : m.params().value) v = bf16_to_f32(f32_to_bf16(v));
  auto batch = test::random_batch(cfg, 1, 6, 1);
  std::vector<float> a(size_t(6 * cfg.vocab_size)), b(a.size());
  m.forward_logits(batch.tokens.data(), 1, 6, a.data());
  loaded->forward_logits(batch.tokens.data(), 1, 6, b.data());
  EXPECT_EQ(a, b);
  fs::remove_all(dir);
}

TEST(ModelDir, MissingConfigIsNamed) {
  auto dir = temp_dir("noconfig");
  fs::create_directories(dir);
  auto msg = error_of([&] { load_model_dir<float>(dir); });
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { load_model_dir<float>(dir / "nope"); }).find("does not exist"), std::string::npos);
  fs::remove_all(dir);
}

TEST(ModelDir, MissingTensorAndWrongShapeAreNamed) {
  auto cfg = test::shipped_config("tiny-v2lite");
  Transformer<float> m(cfg);
  m.init_weights(1);
  auto dir = temp_dir("broken");
  save_model_dir(m, dir);
  // Rewrite the weights without one tensor, then with one tensor of the wrong shape.
  const auto& ps = m.params();
  auto rewrite = [&](const std::string& skip, const std::string& reshape) {
    SafetensorsWriter w;
    for (const auto& info : ps.layout.all()) {
      if (info.name == skip) continue;
      auto shape = info.shape;
      if (info.name == reshape) shape = {info.numel};
      w.add(info.name, DType::F32, shape, ps.value.data() + info.offset);
    }
    w.write(dir / "model.safetensors");
  };
  rewrite("model.layers.1.self_attn.kv_b_proj.weight", "");
  auto msg = error_of([&] { load_model_dir<float>(dir); });
  EXPECT_NE(msg.find("model.layers.1.self_attn.kv_b_proj.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
  rewrite("", "model.layers.2.mlp.experts.3.down_proj.weight");
  msg = error_of([&] { load_model_dir<float>(dir); });
  EXPECT_NE(msg.find("model.layers.2.mlp.experts.3.down_proj.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
  // A config that contradicts the weights (different hidden size) fails on the first shape.
  std::ofstream(dir / "config.json") << [&] {
    auto j = cfg.to_json();
    j["hidden_size"] = 48;
    return j.dump();
  }();
  rewrite("", "");
  EXPECT_NE(error_of([&] { load_model_dir<float>(dir); }).find("shape"), std::string::npos);
  fs::remove_all(dir);
}

// Weights the config does not describe are an error, not silently left out.
TEST(ModelDir, TensorsTheConfigDoesNotDescribeAreNamed) {
  auto cfg = test::shipped_config("tiny-v2lite");
  Transformer<float> m(cfg);
  m.init_weights(1);
  auto dir = temp_dir("unused");
  save_model_dir(m, dir);
  auto with_config = [&](const char* key, int64_t value) {
    auto j = cfg.to_json();
    j[key] = value;
    std::ofstream(dir / "config.json") << j.dump();
    return error_of([&] { load_model_dir<float>(dir); });
  };
  const int64_t layers = cfg.num_hidden_layers;
  auto msg = with_config("num_hidden_layers", layers - 1);
  EXPECT_NE(msg.find(fmt::format("model.layers.{}.", layers - 1)), std::string::npos) << msg;
  msg = with_config("n_shared_experts", 0);
  EXPECT_NE(msg.find("shared_experts"), std::string::npos) << msg;
  EXPECT_EQ(with_config("n_shared_experts", cfg.n_shared_experts), "");
  fs::remove_all(dir);
}

// A key left out of config.json takes its class's default (Hugging Face's), which the file does not show: a
// mismatch it leads to names it. A V3 config without first_k_dense_replace expects 3 dense layers, and the
// error named only a missing tensor.
TEST(ModelDir, MismatchesNameTheDefaultsThatLedToThem) {
  for (const auto& [fixture, key, taken] :
       {std::tuple{"tiny-v3", "first_k_dense_replace", "first_k_dense_replace 3 (DeepSeek-V3's default)"},
        std::tuple{"tiny-v2lite", "n_shared_experts", "n_shared_experts 0 (DeepSeek-V2's default)"}}) {
    auto cfg = test::shipped_config(fixture);
    Transformer<float> m(cfg);
    m.init_weights(1);
    auto dir = temp_dir("defaults");
    save_model_dir(m, dir);
    const auto msg_with = [&](bool without_key) {
      auto j = cfg.to_json();
      if (without_key) j.erase(key);
      std::ofstream(dir / "config.json") << j.dump();
      return error_of([&] { load_model_dir<float>(dir); });
    };
    EXPECT_EQ(msg_with(false), "") << fixture;
    const std::string msg = msg_with(true);
    EXPECT_NE(msg.find("defaults taken for keys"), std::string::npos) << msg;
    EXPECT_NE(msg.find(taken), std::string::npos) << msg;
    fs::remove_all(dir);
  }
  // An error no default can explain (a tensor of integers) comes without the note.
  auto cfg = test::shipped_config("tiny-v3");
  Transformer<float> m(cfg);
  m.init_weights(1);
  auto dir = temp_dir("defaults-dtype");
  save_model_dir(m, dir);
  auto j = cfg.to_json();
  j.erase("tie_word_embeddings");  // false, as it was
  std::ofstream(dir / "config.json") << j.dump();
  SafetensorsWriter w;
  const auto& ps = m.params();
  std::vector<int64_t> ints(size_t(ps.layout.all().front().numel), 1);
  for (const auto& info : ps.layout.all())
    if (&info == &ps.layout.all().front())
      w.add(info.name, DType::I32, info.shape, ints.data());
    else
      w.add(info.name, DType::F32, info.shape, ps.value.data() + info.offset);
  w.write(dir / "model.safetensors");
  const std::string msg = error_of([&] { load_model_dir<float>(dir); });
  EXPECT_NE(msg.find("weights must be F32"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("defaults taken"), std::string::npos) << msg;
  fs::remove_all(dir);
}

// Layer and expert counts are checked against the indices the weights hold from 0 on, not the largest one: a
// single stray tensor at index 99999999 let a config claim 10^8 layers (or experts), and the loader then
// built a layout of that size for minutes before running out of memory. Training loads read the MTP layers,
// so their count is checked too.
TEST(ModelDir, LayerAndExpertCountsNeedEveryIndexFromZero) {
  auto cfg = test::shipped_config("tiny-v3");
  Transformer<float> m(cfg);
  m.init_weights(1);
  auto dir = temp_dir("stray");
  fs::create_directories(dir);
  SafetensorsWriter w;
  const auto& ps = m.params();
  for (const auto& info : ps.layout.all())
    w.add(info.name, DType::F32, info.shape, ps.value.data() + info.offset);
  const float one = 1;
  w.add("model.layers.99999999.input_layernorm.weight", DType::F32, {1}, &one);
  w.add("model.layers.1.mlp.experts.99999999.up_proj.weight", DType::F32, {1}, &one);
  w.write(dir / "model.safetensors");
  TensorStore store(dir);
  auto error_with = [&](ModelConfig c, bool skips_mtp) {
    return error_of([&] { check_weights_match_config(store, c, skips_mtp, "cfg.json"); });
  };
  ModelConfig c = cfg;
  c.num_hidden_layers = 99999999;
  auto msg = error_with(c, true);
  EXPECT_NE(msg.find("num_hidden_layers is 99999999 but"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no tensor of layer 4, though it holds layers up to 99999999"), std::string::npos)
      << msg;
  c = cfg;
  c.n_routed_experts = 100000000;
  msg = error_with(c, true);
  EXPECT_NE(msg.find("n_routed_experts is 100000000 but"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no tensor of routed expert 8, though it holds routed experts up to 99999999"),
            std::string::npos)
      << msg;
  c = cfg;
  c.num_nextn_predict_layers = int64_t(1) << 40;
  msg = error_with(c, false);
  EXPECT_NE(msg.find("num_nextn_predict_layers is 1099511627776 but"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1 layer(s) after the 3 decoder layers"), std::string::npos) << msg;
  // Inference skips the MTP layers, so their count does not matter there; the stray tensors still do.
  msg = error_with(c, true);
  EXPECT_NE(msg.find("2 tensor(s) that cfg.json does not describe"), std::string::npos) << msg;
  fs::remove_all(dir);

  // A layer missing in the middle is named as missing: it read as the file ending there ("layers 0 to 0
  // only", with layers 2 and 3 in the file).
  fs::create_directories(dir);
  SafetensorsWriter without_layer_1;
  for (const auto& info : ps.layout.all())
    if (!info.name.starts_with("model.layers.1."))
      without_layer_1.add(info.name, DType::F32, info.shape, ps.value.data() + info.offset);
  without_layer_1.write(dir / "model.safetensors");
  TensorStore gap(dir);
  msg = error_of([&] { check_weights_match_config(gap, cfg, true, "cfg.json"); });
  EXPECT_NE(msg.find("num_hidden_layers is 3 but"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no tensor of layer 1, though it holds layers up to 3"), std::string::npos) << msg;
  fs::remove_all(dir);
}

// Weights without any MTP layer under a config that counts one (a tool that dropped them kept the count):
// inference skips it, and training, which needs it, says how to go without.
TEST(ModelDir, AModelSavedWithoutItsMtpLayersSaysHowToTrainIt) {
  auto cfg = test::shipped_config("tiny-v3");
  ASSERT_GT(cfg.num_nextn_predict_layers, 0);
  Transformer<float> m(cfg);
  m.init_weights(1);
  auto dir = temp_dir("no-mtp");
  fs::create_directories(dir);
  SafetensorsWriter w;
  const auto& ps = m.params();
  for (const auto& info : ps.layout.all()) {
    if (layer_index(info.name) >= cfg.num_hidden_layers) continue;
    w.add(info.name, DType::F32, info.shape, ps.value.data() + info.offset);
  }
  w.write(dir / "model.safetensors");
  TensorStore store(dir);
  EXPECT_EQ(error_of([&] { check_weights_match_config(store, cfg, true, "cfg.json"); }), "");
  const std::string msg = error_of([&] { check_weights_match_config(store, cfg, false, "cfg.json"); });
  EXPECT_NE(msg.find("holds no layer after the 3 decoder layers: the model was saved without its MTP layers. "
                     "Set num_nextn_predict_layers to 0 in config.json to train it without them"),
            std::string::npos)
      << msg;
  fs::remove_all(dir);
}

// Layers and experts counted apart each match a header with one tensor per layer index and one per expert
// index, while the config's layers × experts are far more tensors than the header holds: the list of them
// was built first (2000 × 2000 took minutes and gigabytes), now the counts are compared before.
TEST(ModelDir, LayersTimesExpertsAreComparedWithTheHeaderFirst) {
  auto dir = temp_dir("layers-times-experts");
  fs::create_directories(dir);
  SafetensorsWriter w;
  const float one = 1;
  for (int i = 0; i < 300; ++i) {
    w.add(fmt::format("model.layers.{}.x", i), DType::F32, {1}, &one);
    w.add(fmt::format("model.layers.0.mlp.experts.{}.x", i), DType::F32, {1}, &one);
  }
  w.write(dir / "model.safetensors");
  TensorStore store(dir);
  ModelConfig c = test::shipped_config("tiny-v3");
  c.num_hidden_layers = 300;
  c.n_routed_experts = 300;
  c.num_nextn_predict_layers = 0;
  const std::string msg = error_of([&] { check_weights_match_config(store, c, true, "cfg.json"); });
  EXPECT_NE(msg.find("cfg.json: 299 MoE layers of 300 routed experts are 269100 tensors, but"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("holds 600 in all"), std::string::npos) << msg;
  fs::remove_all(dir);
}

// A symlink loop was an "internal error" (std::filesystem threw), a FIFO for config.json waited for a writer
// forever and /dev/zero was read until memory ran out: each is now an error naming the path.
TEST(ModelDir, SymlinkLoopsAndSpecialFilesAreNamed) {
  auto dir = temp_dir("special");
  fs::create_directories(dir);
  fs::create_directory_symlink("loop", dir / "loop");
  auto msg = error_of([&] { load_model_config(dir / "loop"); });
  EXPECT_NE(msg.find("cannot open model directory " + (dir / "loop").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("symbolic links"), std::string::npos) << msg;
  std::ofstream(dir / "file") << "x";
  msg = error_of([&] { load_model_config(dir / "file"); });
  EXPECT_NE(msg.find("is not a folder"), std::string::npos) << msg;
  fs::create_symlink("config.json", dir / "config.json");
  msg = error_of([&] { load_model_dir<float>(dir); });
  EXPECT_NE(msg.find((dir / "config.json").string() + ": Too many levels of symbolic links"),
            std::string::npos)
      << msg;
  fs::remove(dir / "config.json");
  ASSERT_EQ(::mkfifo((dir / "config.json").c_str(), 0644), 0);
  msg = error_of([&] { load_model_dir<float>(dir); });
  EXPECT_NE(msg.find((dir / "config.json").string() + " is not a regular file"), std::string::npos) << msg;
  fs::remove(dir / "config.json");
  fs::create_symlink("/dev/zero", dir / "config.json");
  msg = error_of([&] { load_model_config(dir); });
  EXPECT_NE(msg.find((dir / "config.json").string() + " is not a regular file"), std::string::npos) << msg;
  // A link whose target is gone was "has no config.json" / "no model.safetensors in this folder".
  fs::remove(dir / "config.json");
  fs::create_symlink(dir / "gone.json", dir / "config.json");
  msg = error_of([&] { load_model_config(dir); });
  EXPECT_NE(
      msg.find("cannot read " + (dir / "config.json").string() + ": No such file or directory (a link to " +
               (dir / "gone.json").string() + ", which does not exist)"),
      std::string::npos)
      << msg;
  fs::create_symlink(dir / "gone.safetensors", dir / "model.safetensors");
  msg = error_of([&] { TensorStore store(dir); });
  EXPECT_NE(msg.find("cannot open " + (dir / "model.safetensors").string() +
                     ": No such file or directory (a link to " + (dir / "gone.safetensors").string()),
            std::string::npos)
      << msg;
  fs::remove_all(dir);
}

// The router only picks experts, so a NaN in its bias (or weights) left every loss and logit finite while
// tokens went to arbitrary experts: refused on load, the MTP layer's included.
TEST(ModelDir, NonFiniteRouterBiasIsRefused) {
  auto cfg = test::shipped_config("tiny-v3");
  auto dir = temp_dir("bias");
  for (const std::string bias :
       {"model.layers.1.mlp.gate.e_score_correction_bias", "model.layers.3.mlp.gate.e_score_correction_bias",
        "model.layers.1.mlp.gate.weight", "model.layers.3.mlp.gate.weight"}) {
    Transformer<float> m(cfg);
    m.init_weights(1);
    auto& ps = m.params();
    ps.value[size_t(ps.layout[ps.layout.find(bias)].offset + 2)] = -std::numeric_limits<float>::infinity();
    save_model_dir(m, dir);
    auto msg = error_of([&] { load_model_dir<float>(dir); });
    EXPECT_NE(msg.find("tensor '" + bias + "' in " + (dir / "model.safetensors").string() +
                       " holds -inf at index 2; a router's weights and bias must be finite"),
              std::string::npos)
        << msg;
  }
  fs::remove_all(dir);
}

// Weights an update made non-finite are not saved by the trainers (a checkpoint of them would push good ones
// out of the run folder; GRPO with an eps that fp32 rounds to 0 saved such a model and exited 0): the error
// names the tensor.
TEST(ModelDir, NonFiniteTrainedWeightsAreNamed) {
  auto cfg = test::shipped_config("tiny-v3");
  Transformer<float> m(cfg);
  m.init_weights(1);
  check_trained_weights_finite(m, "run/model");
  auto& ps = m.params();
  const std::string name = "model.layers.2.self_attn.kv_b_proj.weight";
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()}) {
    ps.value[size_t(ps.layout[ps.layout.find(name)].offset + 5)] = bad;
    const std::string msg = error_of([&] { check_trained_weights_finite(m, "run/model"); });
    EXPECT_NE(
        msg.find(fmt::format("not saving run/model: tensor '{}' holds {} at index 5", name, double(bad))),
        std::string::npos)
        << msg;
  }
}

// A finite fp32 weight of 3.39e38 or more rounds to inf in bf16: a bf16 save wrote it (and exited 0), and
// seek then refused to load its own model. An fp32 save keeps it; the router bias stays fp32 either way.
TEST(ModelDir, WeightsBeyondBf16AreNotSavedAsBf16) {
  auto cfg = test::shipped_config("tiny-v3");
  Transformer<float> m(cfg);
  m.init_weights(1);
  check_trained_weights_finite(m, "run/model", DType::BF16);
  auto& ps = m.params();
  const std::string name = "model.layers.1.mlp.experts.2.up_proj.weight";
  const float huge = std::numeric_limits<float>::max(), below = 3.3894e38f;
  ps.value[size_t(ps.layout[ps.layout.find(name)].offset + 7)] = below;
  EXPECT_NO_THROW(check_trained_weights_finite(m, "run/model", DType::BF16));
  ps.value[size_t(ps.layout[ps.layout.find(name)].offset + 7)] = -huge;
  const std::string msg = error_of([&] { check_trained_weights_finite(m, "run/model", DType::BF16); });
  EXPECT_NE(msg.find(fmt::format("not saving run/model: tensor '{}' holds {} at index 7, beyond bf16's range",
                                 name, double(-huge))),
            std::string::npos)
      << msg;
  EXPECT_NO_THROW(check_trained_weights_finite(m, "run/model"));
  ps.value[size_t(ps.layout[ps.layout.find(name)].offset + 7)] = 0;
  const std::string bias = "model.layers.1.mlp.gate.e_score_correction_bias";
  ASSERT_GE(ps.layout.find(bias), 0);
  ps.value[size_t(ps.layout[ps.layout.find(bias)].offset)] = huge;
  EXPECT_NO_THROW(check_trained_weights_finite(m, "run/model", DType::BF16));
}

// FP8 scales are checked with the headers, before any weight is read: a scale missing (or of the wrong shape)
// at the last layer of a V3 checkpoint used to fail only after minutes of reading everything before it.
TEST(ModelDir, Fp8ScalesAreCheckedBeforeAnyWeightIsRead) {
  const fs::path fixture = fs::path(SEEK_TEST_DIR) / "fixtures" / "tiny-v3-fp8";
  const ModelConfig cfg = ModelConfig::load((fixture / "config.json").string());
  const SafetensorsFile src(fixture / "model.safetensors");
  const std::string scale = "model.layers.2.mlp.experts.7.down_proj.weight_scale_inv";  // [2, 1]
  auto dir = temp_dir("fp8");
  auto error_without = [&](const std::string& drop, const std::string& transpose) {
    SafetensorsWriter w;
    for (const std::string& name : src.names()) {
      const TensorInfo& t = src.at(name);
      if (name == drop) continue;
      auto shape = t.shape;
      if (name == transpose) std::swap(shape[0], shape[1]);
      w.add_raw(name, t.dtype, shape, t.data, t.nbytes);
    }
    w.write(dir / "model.safetensors");
    TensorStore store(dir);
    return error_of([&] { check_weights_match_config(store, cfg, true, "cfg.json"); });
  };
  fs::create_directories(dir);
  EXPECT_EQ(error_without("", ""), "");
  auto msg = error_without(scale, "");
  EXPECT_NE(msg.find("is F8_E4M3 but has no '" + scale + "'"), std::string::npos) << msg;
  msg = error_without("", scale);
  EXPECT_NE(
      msg.find("'" + scale + "' in " + (dir / "model.safetensors").string() + ": expected shape [2, 1]"),
      std::string::npos)
      << msg;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace seek
