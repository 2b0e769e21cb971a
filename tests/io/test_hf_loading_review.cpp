// Hugging Face checkpoint folders as `seek logits --model DIR` loads them, built here from the committed
// fixtures: the layouts real checkpoints use (shards named model-0000i-of-0000n with an index and its
// metadata, the V3 MTP layer in a shard of its own, an FP8 weight and its scale_inv in different shards, a
// hub snapshot whose files are symbolic links into blobs/, a leftover shard the index does not name) give
// the single file's logits bit for bit; and every broken or foreign one is an error (exit 1) naming the file
// and the tensor, never a crash, an internal error or logits from the wrong weights. The safetensors files
// are written by a writer of this test's own (any dtype string, the header as the format describes it), not
// by the library's writer.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/read_file.hpp"
#include "io/safetensors_file.hpp"
#include "support/run_seek.hpp"
#include "support/temp_dir.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::CmdResult;
using test::run;
using test::TempDir;

fs::path fixture(const std::string& name) {
  return fs::path(SEEK_TEST_DIR) / "fixtures" / name;
}

struct Tensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};
using Tensors = std::map<std::string, Tensor>;

Tensors read_all(const fs::path& file) {
  SafetensorsFile f(file);
  Tensors out;
  for (const std::string& name : f.names()) {
    const TensorInfo& t = f.at(name);
    out[name] = {std::string(dtype_name(t.dtype)), t.shape,
                 std::string(reinterpret_cast<const char*>(t.data), t.nbytes)};
  }
  return out;
}

// u64 header length, the JSON header padded with spaces to 8 bytes, the data in header order.
void write_safetensors(const fs::path& path, const Tensors& tensors) {
  json header = json::object();
  std::string data;
  for (const auto& [name, t] : tensors) {
    header[name] = {{"dtype", t.dtype},
                    {"shape", t.shape},
                    {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data += t.bytes;
  }
  header["__metadata__"] = {{"format", "pt"}};
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((uint64_t(h.size()) >> (8 * i)) & 0xff);
  std::ofstream(path, std::ios::binary) << out << h << data;
}

// A model folder: the fixture's config.json (with `config` merged in), the tensors in the shards
// shard_of(name) names (model-0000i-of-0000n.safetensors) and model.safetensors.index.json listing them,
// with Hugging Face's metadata.total_size.
fs::path write_sharded(const fs::path& dir, const std::string& fixture_name, const Tensors& tensors,
                       const std::function<int(const std::string&)>& shard_of, int shards,
                       const json& config = json::object()) {
  fs::create_directories(dir);
  json cfg = json::parse(read_file(fixture(fixture_name) / "config.json"));
  cfg.merge_patch(config);
  std::ofstream(dir / "config.json") << cfg.dump(2);
  std::vector<Tensors> parts(static_cast<size_t>(shards));
  json weight_map = json::object();
  size_t total = 0;
  auto shard_name = [&](int i) { return fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards); };
  for (const auto& [name, t] : tensors) {
    const int i = shard_of(name);
    parts[size_t(i)][name] = t;
    weight_map[name] = shard_name(i);
    total += t.bytes.size();
  }
  for (int i = 0; i < shards; ++i) write_safetensors(dir / shard_name(i), parts[size_t(i)]);
  std::ofstream(dir / "model.safetensors.index.json")
      << json{{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}}.dump(2);
  return dir;
}

// V3's usual split: the decoder layers in two shards, the MTP layer (model.layers.3 in tiny-v3) in a third.
int by_layer(const std::string& name) {
  if (name.starts_with("model.layers.3.")) return 2;
  return name.starts_with("model.layers.0.") || name.starts_with("model.layers.1.") ? 0 : 1;
}

CmdResult logits(const fs::path& model, const fs::path& out) {
  return run("logits --model " + model.string() + " --ids 1,2,3,5,8,13,21,34 --out " + out.string());
}

// Runs logits on `model` and expects exit 1 with every one of `parts` in the message, and no internal error.
void expect_refused(const fs::path& model, std::initializer_list<std::string> parts) {
  const fs::path out = model.parent_path() / "refused.npy";
  const CmdResult r = logits(model, out);
  EXPECT_EQ(r.code, 1) << r.output;
  for (const std::string& part : parts) {
    EXPECT_NE(r.output.find(part), std::string::npos) << "lacks \"" << part << "\": " << r.output;
  }
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST(HfLoadingReview, ShardedLayoutsGiveTheSingleFilesLogits) {
  TempDir tmp("hf-review-layouts");
  for (const char* name : {"tiny-v3", "tiny-v3-fp8", "tiny-v3-tied", "tiny-v2lite"}) {
    SCOPED_TRACE(name);
    const fs::path want = tmp.path / (std::string(name) + ".npy");
    ASSERT_EQ(logits(fixture(name), want).code, 0);
    const Tensors tensors = read_all(fixture(name) / "model.safetensors");
    const fs::path dir = write_sharded(tmp.path / name, name, tensors, by_layer, 3);
    const fs::path got = tmp.path / (std::string(name) + "-sharded.npy");
    const CmdResult r = logits(dir, got);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(read_file(got), read_file(want));
  }
  // FP8: every weight_scale_inv in a shard apart from its weight (shards may split the two).
  const Tensors fp8 = read_all(fixture("tiny-v3-fp8") / "model.safetensors");
  const fs::path split = write_sharded(
      tmp.path / "fp8-split", "tiny-v3-fp8", fp8,
      [](const std::string& n) { return n.ends_with("_scale_inv") ? 1 : 0; }, 2);
  const fs::path got = tmp.path / "fp8-split.npy";
  ASSERT_EQ(logits(split, got).code, 0);
  EXPECT_EQ(read_file(got), read_file(tmp.path / "tiny-v3-fp8.npy"));

  // A hub snapshot: every file a symbolic link into ../blobs. And a leftover shard the index does not name
  // (an earlier download) is not read, as Hugging Face does not read it.
  const fs::path snap = tmp.path / "hub" / "snapshots" / "abc", blobs = tmp.path / "hub" / "blobs";
  fs::create_directories(snap);
  fs::create_directories(blobs);
  int k = 0;
  for (const auto& e : fs::directory_iterator(tmp.path / "tiny-v3")) {
    const std::string blob = "blob" + std::to_string(k++);
    fs::copy_file(e.path(), blobs / blob);
    fs::create_symlink(fs::path("../..") / "blobs" / blob, snap / e.path().filename());
  }
  write_safetensors(snap / "model-00009-of-00009.safetensors",
                    {{"lm_head.weight", fp8.at("lm_head.weight")}});
  ASSERT_EQ(logits(snap, tmp.path / "hub.npy").code, 0);
  EXPECT_EQ(read_file(tmp.path / "hub.npy"), read_file(tmp.path / "tiny-v3.npy"));
}

TEST(HfLoadingReview, BrokenIndexesNameTheIndexShardAndTensor) {
  TempDir tmp("hf-review-index");
  const Tensors tensors = read_all(fixture("tiny-v3") / "model.safetensors");
  // The MTP shard deleted to save space: inference does not read it, but the index names it.
  fs::path dir = write_sharded(tmp.path / "no-mtp-shard", "tiny-v3", tensors, by_layer, 3);
  fs::remove(dir / "model-00003-of-00003.safetensors");
  expect_refused(dir, {(dir / "model.safetensors.index.json").string(), "model-00003-of-00003.safetensors",
                       "does not exist", "'model.layers.3."});

  // A tensor listed for a shard that does not hold it (a stale index).
  dir = write_sharded(tmp.path / "moved", "tiny-v3", tensors, by_layer, 3);
  json index = json::parse(read_file(dir / "model.safetensors.index.json"));
  index["weight_map"]["lm_head.weight"] = "model-00001-of-00003.safetensors";
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  expect_refused(dir,
                 {"'lm_head.weight' is mapped to", "model-00001-of-00003.safetensors", "does not contain"});

  // A shard holding a tensor the index lists for another shard (two saves mixed).
  Tensors extra = read_all(dir / "model-00001-of-00003.safetensors");
  extra["lm_head.weight"] = tensors.at("lm_head.weight");
  dir = write_sharded(tmp.path / "dup", "tiny-v3", tensors, by_layer, 3);
  write_safetensors(dir / "model-00001-of-00003.safetensors", extra);
  expect_refused(dir, {"tensor 'lm_head.weight' is in both", "model-00001-of-00003.safetensors",
                       "model-00002-of-00003.safetensors"});

  // A shard holding a tensor the index leaves out.
  index = json::parse(read_file(dir / "model.safetensors.index.json"));
  write_safetensors(dir / "model-00001-of-00003.safetensors",
                    read_all(tmp.path / "moved" / "model-00001-of-00003.safetensors"));
  index["weight_map"].erase("model.norm.weight");
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  expect_refused(dir, {"holds tensor 'model.norm.weight', which the index does not list"});

  // An index that lists nothing was reported as a model without layers.
  index["weight_map"] = json::object();
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  expect_refused(dir, {"model.safetensors.index.json: weight_map lists no tensors"});
}

TEST(HfLoadingReview, UnexpectedDtypesAndShapesAreNamed) {
  TempDir tmp("hf-review-dtype");
  const Tensors tensors = read_all(fixture("tiny-v3") / "model.safetensors");
  const std::string w = "model.layers.0.mlp.gate_proj.weight";  // [48, 32] F32
  auto with = [&](const std::string& name, Tensor t) {
    Tensors all = tensors;
    all[w] = std::move(t);
    return write_sharded(tmp.path / name, "tiny-v3", all, by_layer, 3);
  };
  const Tensor& g = tensors.at(w);
  ASSERT_EQ(g.shape, (std::vector<int64_t>{48, 32}));
  // Integers read as weights would convert by value: refused.
  expect_refused(with("i32", {"I32", g.shape, g.bytes}),
                 {"'" + w + "'", "model-00001-of-00003.safetensors", "is I32"});
  // A dtype the format has that we do not read.
  expect_refused(with("u8", {"U8", g.shape, std::string(48 * 32, '\0')}),
                 {"model-00001-of-00003.safetensors", "'" + w + "'", "unknown dtype \"U8\""});
  // Transposed.
  expect_refused(with("transposed", {"F32", {32, 48}, g.bytes}),
                 {"'" + w + "'", "expected shape [48, 32], got [32, 48]"});
  // FP8 without its scale, and a scale of the wrong shape.
  expect_refused(with("fp8-no-scale", {"F8_E4M3", g.shape, std::string(48 * 32, '\x38')}),
                 {"'" + w + "'", "F8_E4M3", w + "_scale_inv"});
  Tensors all = tensors;
  all[w] = {"F8_E4M3", g.shape, std::string(48 * 32, '\x38')};
  all[w + "_scale_inv"] = {"F32", {2, 1}, std::string(8, '\0')};
  expect_refused(write_sharded(tmp.path / "fp8-bad-scale", "tiny-v3", all, by_layer, 3),
                 {"'" + w + "_scale_inv'", "expected shape [1, 1]", "got [2, 1]"});
}

// Tensors the config does not describe are refused, naming them (the MTP layer and FP8 scales are
// expected); a tensor the config needs and the folder lacks is named with its shape.
TEST(HfLoadingReview, ExtraAndMissingTensorsAreNamed) {
  TempDir tmp("hf-review-extra");
  const Tensors tensors = read_all(fixture("tiny-v3") / "model.safetensors");
  // The MTP layer with a config that has none: a decoder layer the config leaves out, or a wrong config.
  expect_refused(
      write_sharded(tmp.path / "mtp0", "tiny-v3", tensors, by_layer, 3, {{"num_nextn_predict_layers", 0}}),
      {"tensor(s) that", "model.layers.3."});
  // Tied embeddings, and a separate head that differs: which one to use is not clear.
  expect_refused(
      write_sharded(tmp.path / "tied", "tiny-v3", tensors, by_layer, 3, {{"tie_word_embeddings", true}}),
      {"says tie_word_embeddings: true, but lm_head.weight is there and is not a copy of "
       "model.embed_tokens.weight"});
  // A head saved as a copy of the tied embedding (PyTorch .bin saves keep both): the tied model, unchanged.
  {
    Tensors tied = read_all(fixture("tiny-v3-tied") / "model.safetensors");
    ASSERT_EQ(tied.count("lm_head.weight"), 0u);
    const fs::path want = tmp.path / "tied.npy", got = tmp.path / "tied-copy.npy";
    ASSERT_EQ(logits(fixture("tiny-v3-tied"), want).code, 0);
    tied["lm_head.weight"] = tied.at("model.embed_tokens.weight");
    const CmdResult r = logits(write_sharded(tmp.path / "tied-copy", "tiny-v3-tied", tied, by_layer, 3), got);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(read_file(got), read_file(want));
    // The same values in another dtype are not the same bytes: refused too, as a copy cannot be told apart.
    tied["lm_head.weight"].dtype = "F16";
    tied["lm_head.weight"].bytes.resize(tied["lm_head.weight"].bytes.size() / 2);
    expect_refused(write_sharded(tmp.path / "tied-f16", "tiny-v3-tied", tied, by_layer, 3),
                   {"is not a copy of model.embed_tokens.weight"});
  }
  // An untied config without its head.
  Tensors headless = tensors;
  headless.erase("lm_head.weight");
  expect_refused(write_sharded(tmp.path / "headless", "tiny-v3", headless, by_layer, 3),
                 {"missing tensor lm_head.weight (shape [64, 32])"});
}

// Checkpoints saved by older transformers versions hold each layer's RoPE frequency table
// (self_attn.rotary_emb.inv_freq). It is computed from the config, as Hugging Face does: the saved copy, even
// a wrong one, is not read, and the logits are those of the folder without it.
TEST(HfLoadingReview, SavedRopeFrequenciesAreIgnored) {
  TempDir tmp("hf-review-inv-freq");
  const fs::path want = tmp.path / "want.npy";
  ASSERT_EQ(logits(fixture("tiny-v3"), want).code, 0);
  Tensors tensors = read_all(fixture("tiny-v3") / "model.safetensors");
  for (int layer = 0; layer < 4; ++layer)  // 3 decoder layers and the MTP layer
    tensors[fmt::format("model.layers.{}.self_attn.rotary_emb.inv_freq", layer)] = {
        "F32", {4}, std::string(16, '\x7f')};
  const fs::path got = tmp.path / "got.npy";
  const CmdResult r = logits(write_sharded(tmp.path / "inv-freq", "tiny-v3", tensors, by_layer, 3), got);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(read_file(got), read_file(want));
  // Anywhere else such a tensor is still one the config does not describe.
  tensors["model.layers.7.self_attn.rotary_emb.inv_freq"] = {"F32", {4}, std::string(16, '\0')};
  expect_refused(write_sharded(tmp.path / "stray", "tiny-v3", tensors, by_layer, 3),
                 {"does not describe", "model.layers.7.self_attn.rotary_emb.inv_freq"});
}

}  // namespace
}  // namespace seek
