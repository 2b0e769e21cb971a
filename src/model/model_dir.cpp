#include "model/model_dir.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/read_file.hpp"
#include "io/safetensors_writer.hpp"

namespace seek {

namespace fs = std::filesystem;

namespace {

// Index of the first value that is not finite, or n.
template <typename T>
int64_t first_non_finite(const T* v, int64_t n) {
  int64_t first = n;
#pragma omp parallel for reduction(min : first) schedule(static)
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(v[i]) && i < first) first = i;
  return first;
}

// The first of `v` that rounds to inf in bf16.
template <typename T>
int64_t first_non_finite_in_bf16(const T* v, int64_t n) {
  int64_t first = n;
#pragma omp parallel for reduction(min : first) schedule(static)
  for (int64_t i = 0; i < n; ++i)
    if (std::isinf(bf16_to_f32(f32_to_bf16(float(v[i])))) && i < first) first = i;
  return first;
}

}  // namespace

template <typename T>
void check_trained_weights_finite(const Transformer<T>& model, const fs::path& dir, DType dtype) {
  const auto& ps = model.params();
  const int64_t total = ps.layout.total(), bad = first_non_finite(ps.value.data(), total);
  for (const ParamInfo& info : ps.layout.all()) {
    if (bad >= info.offset && bad < info.offset + info.numel)
      fail(
          "not saving {}: tensor '{}' holds {} at index {}; the training step before made the weights "
          "non-finite (too high a learning rate?)",
          dir.string(), info.name, double(ps.value[size_t(bad)]), bad - info.offset);
    // save_model_dir keeps the router bias (not trained by gradient) in fp32.
    if (bad == total && dtype == DType::BF16 && info.trainable) {
      const T* v = ps.value.data() + info.offset;
      const int64_t over = first_non_finite_in_bf16(v, info.numel);
      if (over < info.numel)
        fail(
            "not saving {}: tensor '{}' holds {} at index {}, beyond bf16's range (about 3.39e38), which a "
            "bf16 save writes as inf; save it as f32 (--save-dtype f32), or train with a lower learning rate",
            dir.string(), info.name, double(v[over]), over);
    }
  }
}

template <typename T>
void save_model_dir(const Transformer<T>& model, const fs::path& dir, const SaveOptions& opts) {
  SEEK_CHECK(opts.dtype == DType::F32 || opts.dtype == DType::BF16, "models are saved as F32 or BF16, not {}",
             dtype_name(opts.dtype));
  std::error_code ec;
  fs::create_directories(dir, ec);
  SEEK_CHECK(!ec, "cannot create model directory {}: {}", dir.string(), ec.message());
  const ModelConfig& cfg = model.config();
  const auto& ps = model.params();
  SafetensorsWriter w;
  for (const ParamInfo& info : ps.layout.all()) {
    // The router bias stays fp32 like V3's checkpoints; it is tiny and its small steps would vanish in bf16.
    DType dt = info.trainable ? opts.dtype : DType::F32;
    w.add(info.name, dt, info.shape, ps.value.data() + info.offset);
  }
  const ModelIds& ids = model.ids();
  for (const MtpIds& m : ids.mtp) {
    std::string p = fmt::format("model.layers.{}.", m.layer.index);
    const ParamInfo& emb = ps.layout[ids.embed];
    const ParamInfo& head = ps.layout[ids.head()];
    w.add(p + "embed_tokens.weight", opts.dtype, emb.shape, ps.value.data() + emb.offset);
    w.add(p + "shared_head.head.weight", opts.dtype, head.shape, ps.value.data() + head.offset);
  }
  w.set_metadata("producer", "seek");
  w.write_sharded(dir, opts.max_shard_bytes);
  nlohmann::json config = cfg.to_json();
  // Loaders pick the dtype to load in from it, as Hugging Face's save_pretrained writes it.
  config["torch_dtype"] = opts.dtype == DType::BF16 ? "bfloat16" : "float32";
  std::string text = config.dump(2) + "\n";
  AtomicFile f(dir / "config.json");
  f.write(text.data(), text.size());
  f.commit();
}

template <typename T>
void check_weight_values(const TensorStore& store, const std::string& name, const T* values, int64_t n,
                         bool router) {
  const int64_t bad = first_non_finite(values, n);
  if (bad == n) return;
  fail("tensor '{}' in {} holds {} at index {}; {}", name, store.file_of(name).path(), double(values[bad]),
       bad,
       router
           ? "a router's weights and bias must be finite (they pick the experts, so tokens would be routed "
             "arbitrarily with finite logits)"
           : "a model's weights must be finite (every output that depends on it would be NaN)");
}

std::vector<int> router_tensor_ids(const ModelIds& ids) {
  std::vector<int> out;
  auto add = [&](const LayerIds& l) {
    for (int id : {l.experts.router, l.experts.bias})
      if (l.moe && id >= 0) out.push_back(id);
  };
  for (const LayerIds& l : ids.layers) add(l);
  for (const MtpIds& m : ids.mtp) add(m.layer);
  return out;
}

template <typename T>
void load_weights(Transformer<T>& model, const TensorStore& store, const ReadOptions& opts) {
  auto& ps = model.params();
  // Reading a large checkpoint from disk takes seconds per GB: a progress line (only past 2 s on a terminal).
  ProgressLine progress("loading " + store.path(), ps.layout.total(), "parameters");
  int64_t done = 0;
  for (const ParamInfo& info : ps.layout.all()) {
    SEEK_CHECK(store.contains(info.name), "{}: missing tensor {} (shape [{}]) required by the config",
               store.path(), info.name, fmt::join(info.shape, ", "));
    store.read_into(info.name, info.shape, ps.value.data() + info.offset, opts);
    progress.update(done += info.numel);
  }
  progress.finish();
  std::vector<char> router(size_t(ps.layout.size()), 0);
  for (int id : router_tensor_ids(model.ids())) router[size_t(id)] = 1;
  for (int id = 0; id < ps.layout.size(); ++id)
    check_weight_values(store, ps.layout[id].name, ps.p(id), ps.layout[id].numel, router[size_t(id)] != 0);
}

namespace {

// The index j of "….mlp.experts.<j>.…", or -1.
int64_t expert_index(std::string_view name) {
  constexpr std::string_view infix = ".mlp.experts.";
  const size_t at = name.find(infix);
  if (at == std::string_view::npos) return -1;
  return layer_index(fmt::format("model.layers.{}", name.substr(at + infix.size())));
}

// How many of the indices 0, 1, 2, ... are in `present` before the first gap. A config's N layers (or
// experts) need tensors under each of 0 to N - 1; counting the largest index instead let one stray tensor
// named model.layers.99999999.x admit a config of 10^8 layers, whose layout was then built (and never
// finished).
int64_t leading_indices(const std::set<int64_t>& present) {
  int64_t n = 0;
  while (present.count(n)) ++n;
  return n;
}

// What a store holds of the indices 0, 1, ... (layers or experts), after "holds": the first index missing
// is the one to name, with those past it, so that a gap does not read as the file ending there.
std::string held_indices(const std::set<int64_t>& present, int64_t leading, std::string_view what) {
  const int64_t last = present.empty() ? -1 : *present.rbegin();
  if (last < 0) return fmt::format("no {}s", what);
  if (last < leading) return fmt::format("{}s 0 to {} only", what, leading - 1);
  return fmt::format("no tensor of {} {}, though it holds {}s up to {}", what, leading, what, last);
}

bool is_float_dtype(DType t) {
  return t == DType::F32 || t == DType::BF16 || t == DType::F16 || t == DType::F8_E4M3 || t == DType::F64;
}

// From names alone, before a model reads its tensors (the names in `read`) from `store`: each must be there
// (else an error naming the first missing one), and every other tensor there must be the scale of one it
// reads (FP8), a tensor of a multi-token-prediction layer (index num_hidden_layers and up, holding an
// eh_proj) when the loader skips those, one of the embedding / head copies the V3 MTP layers hold, or a
// layer's saved RoPE frequencies.
// Anything else means the weights belong to another config (more layers, shared experts the config lacks,
// an output head next to tied embeddings that is not a copy of them): an error naming the tensors.
void check_tensor_names(const TensorStore& store, const ParamLayout& read, const ModelConfig& cfg,
                        bool skips_mtp_layers, const std::string& config_path) {
  for (const ParamInfo& info : read.all())
    SEEK_CHECK(store.contains(info.name),
               "{}: missing tensor {} (shape [{}]) required by {}; do the weights match the config?",
               store.path(), info.name, fmt::join(info.shape, ", "), config_path);
  constexpr std::string_view scale = TensorStore::kScaleSuffix;
  std::vector<std::string> unused;
  for (const std::string& name : store.names()) {
    if (read.find(name) >= 0) continue;
    if (name.ends_with(scale) && read.find(name.substr(0, name.size() - scale.size())) >= 0) continue;
    const int64_t layer = layer_index(name);
    // An MTP layer has its eh_proj; without it the layer is a decoder layer the config left out (a checkpoint
    // without its MTP module, read with num_hidden_layers one too small).
    const bool mtp = layer >= cfg.num_hidden_layers &&
                     layer - cfg.num_hidden_layers < cfg.num_nextn_predict_layers &&  // no sum to overflow
                     store.contains(fmt::format("model.layers.{}.eh_proj.weight", layer));
    if (mtp && skips_mtp_layers) continue;
    if (mtp && (name.ends_with(".embed_tokens.weight") || name.ends_with(".shared_head.head.weight")))
      continue;
    // RoPE's frequency table, which checkpoints saved by older transformers versions hold as a buffer.
    // It is computed from the config (rope_theta, rope_scaling), as Hugging Face computes it when it
    // loads such a checkpoint and ignores the saved copy.
    if (layer >= 0 && layer < cfg.num_hidden_layers + cfg.num_nextn_predict_layers &&
        name.ends_with(".self_attn.rotary_emb.inv_freq"))
      continue;
    // A tied head saved as a copy of the embedding (PyTorch's .bin saves keep both names; a conversion to
    // safetensors may keep the copy): the same model, so the copy goes unread. A head that differs would be
    // read as the embedding, which is not what was trained, and which one Hugging Face takes then depends on
    // its version.
    if (cfg.tie_word_embeddings && name == "lm_head.weight" && store.contains("model.embed_tokens.weight")) {
      const TensorInfo &head = store.info(name), &embed = store.info("model.embed_tokens.weight");
      SEEK_CHECK(head.dtype == embed.dtype && head.shape == embed.shape && !store.fp8_scale(name) &&
                     !store.fp8_scale("model.embed_tokens.weight") &&
                     std::memcmp(head.data, embed.data, head.nbytes) == 0,
                 "{}: {} says tie_word_embeddings: true, but lm_head.weight is there and is not a copy of "
                 "model.embed_tokens.weight: set tie_word_embeddings to false to use the head, or remove it",
                 store.path(), config_path);
      continue;
    }
    unused.push_back(name);
  }
  if (unused.empty()) return;
  // Quoted: an empty or odd name would otherwise read as no name at all ("e.g. ;").
  std::string shown;
  for (size_t i = 0; i < std::min<size_t>(unused.size(), 5); ++i)
    shown += fmt::format("{}\"{}\"", i ? ", " : "", unused[i]);
  fail(
      "{}: {} tensor(s) that {} does not describe, e.g. {}; do the weights match the config "
      "(num_hidden_layers, num_nextn_predict_layers, n_shared_experts, tie_word_embeddings, topk_method)?",
      store.path(), unused.size(), config_path, shown);
}

// The layout the config describes, checked against the store's names and shapes (not yet its types).
ParamLayout layout_matching_names_and_shapes(const TensorStore& store, const ModelConfig& cfg,
                                             bool skips_mtp_layers, const std::string& config_path);

}  // namespace

void check_weights_match_config(const TensorStore& store, const ModelConfig& cfg, bool skips_mtp_layers,
                                const std::string& config_path) {
  ParamLayout layout;
  try {
    layout = layout_matching_names_and_shapes(store, cfg, skips_mtp_layers, config_path);
  } catch (const Error& e) {
    // A default explains a mismatch of counts, names or shapes that the file's own keys do not show (a V3
    // config without first_k_dense_replace expects 3 dense layers).
    if (cfg.layout_keys_defaulted.empty()) throw;
    fail("{} (defaults taken for keys {} leaves out: {}; set a key in the file where the weights differ)",
         e.what(), config_path, fmt::join(cfg.layout_keys_defaulted, ", "));
  }
  for (const ParamInfo& want : layout.all()) {
    const TensorInfo& got = store.info(want.name);
    SEEK_CHECK(is_float_dtype(got.dtype),
               "tensor '{}' in {} is {}; weights must be F32, BF16, F16, F64 or F8_E4M3", want.name,
               store.file_of(want.name).path(), dtype_name(got.dtype));
    // An FP8 weight's scale too: a V3 checkpoint is read for minutes, and one missing at the last layer
    // would fail only then.
    store.fp8_scale(want.name);
  }
}

namespace {

ParamLayout layout_matching_names_and_shapes(const TensorStore& store, const ModelConfig& cfg,
                                             bool skips_mtp_layers, const std::string& config_path) {
  // Layers and experts first, from names alone: the layout below has a tensor per layer and expert, so a
  // count off by orders of magnitude must be refused before it is built.
  std::set<int64_t> layer_ids, expert_ids;
  for (const std::string& name : store.names()) {
    layer_ids.insert(layer_index(name));
    expert_ids.insert(expert_index(name));
  }
  const int64_t layers = leading_indices(layer_ids), experts = leading_indices(expert_ids);
  SEEK_CHECK(cfg.num_hidden_layers <= layers,
             "{}: num_hidden_layers is {} but {} holds {}; do the weights match the config?", config_path,
             cfg.num_hidden_layers, store.path(), held_indices(layer_ids, layers, "layer"));
  // The MTP layers follow the decoder layers, and are in the layout below unless the loader skips them.
  // None at all is a model saved without them by a tool that kept the config's count (inference loaders
  // skip MTP weights): the message says how to train it.
  SEEK_CHECK(
      skips_mtp_layers || layers > cfg.num_hidden_layers || cfg.num_nextn_predict_layers == 0,
      "{}: num_nextn_predict_layers is {} but {} holds no layer after the {} decoder layers: the model "
      "was saved without its MTP layers. Set num_nextn_predict_layers to 0 in config.json to train it "
      "without them (seek generate and seek chat skip MTP layers and load it as it is)",
      config_path, cfg.num_nextn_predict_layers, store.path(), cfg.num_hidden_layers);
  SEEK_CHECK(
      skips_mtp_layers || cfg.num_nextn_predict_layers <= layers - cfg.num_hidden_layers,
      "{}: num_nextn_predict_layers is {} but {} holds {} layer(s) after the {} decoder layers; do the "
      "weights match the config?",
      config_path, cfg.num_nextn_predict_layers, store.path(), layers - cfg.num_hidden_layers,
      cfg.num_hidden_layers);
  bool moe = false;  // a config may name experts and still have only dense layers
  for (int64_t i = 0; i < cfg.num_hidden_layers && !moe; ++i) moe = cfg.is_moe_layer(i);
  SEEK_CHECK(!moe || cfg.n_routed_experts <= experts,
             "{}: n_routed_experts is {} but {} holds {}; do the weights match the config?", config_path,
             cfg.n_routed_experts, store.path(), held_indices(expert_ids, experts, "routed expert"));
  // Each routed expert of each MoE layer is three tensors: a config that describes far more than the file
  // holds (2000 layers of 2000 experts over a header of 4000 empty tensors, which passes the counts above) is
  // refused before the list of them is built.
  int64_t moe_layers = 0;
  for (int64_t i = 0; i < cfg.num_hidden_layers; ++i) moe_layers += cfg.is_moe_layer(i) ? 1 : 0;
  const int64_t expert_tensors = 3 * moe_layers * cfg.n_routed_experts;
  SEEK_CHECK(expert_tensors <= int64_t(store.names().size()),
             "{}: {} MoE layers of {} routed experts are {} tensors, but {} holds {} in all; do the weights "
             "match the config?",
             config_path, moe_layers, cfg.n_routed_experts, expert_tensors, store.path(),
             store.names().size());
  ModelConfig read_cfg = cfg;
  if (skips_mtp_layers) read_cfg.num_nextn_predict_layers = 0;
  ParamLayout layout;
  build_layout(read_cfg, layout);
  check_tensor_names(store, layout, cfg, skips_mtp_layers, config_path);
  // Shapes from the headers, before a byte is allocated for the weights: a size in config.json that is wrong
  // (a typo, another model's config) names the tensor here instead of allocating gigabytes.
  for (const ParamInfo& want : layout.all()) {
    const TensorInfo& got = store.info(want.name);
    SEEK_CHECK(got.shape == want.shape,
               "tensor '{}' in {}: expected shape [{}], got [{}]; do the weights match {}?", want.name,
               store.file_of(want.name).path(), fmt::join(want.shape, ", "), fmt::join(got.shape, ", "),
               config_path);
  }
  return layout;
}

}  // namespace

// std::filesystem's throwing calls would report a symlink loop as an internal error, so every check here
// takes an error code, and what it cannot tell is left to the read, which names the reason.
ModelConfig load_model_config(const fs::path& dir) {
  SEEK_CHECK(!dir.empty(), "the model directory is an empty name; give the folder of the model");
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (ec && st.type() != fs::file_type::not_found)
    fail("cannot open model directory {}: {}", dir.string(), ec.message());
  SEEK_CHECK(fs::exists(st), "model directory {} does not exist", dir.string());
  SEEK_CHECK(fs::is_directory(st), "model directory {} is not a folder", dir.string());
  const fs::path config = dir / "config.json";
  // A run folder (seek train / grpo output) holds its model one level down.
  // A link whose target is gone goes on to be opened, which says so (it was "has no config.json").
  SEEK_CHECK(fs::exists(config, ec) || ec || fs::is_symlink(fs::symlink_status(config, ec)),
             "model directory {} has no config.json{}", dir.string(),
             fs::exists(dir / "model" / "config.json", ec)
                 ? fmt::format("; it is a run folder, whose trained model is {}", (dir / "model").string())
                 : "");
  refuse_special_file(config);
  return ModelConfig::load(config.string());
}

template <typename T>
std::unique_ptr<Transformer<T>> load_model_dir(const fs::path& dir, const ReadOptions& opts,
                                               const std::function<void(ModelConfig&)>& adjust) {
  ModelConfig cfg = load_model_config(dir);
  TensorStore store(dir);
  check_weights_match_config(store, cfg, false, (dir / "config.json").string());
  if (adjust) adjust(cfg);
  auto model = std::make_unique<Transformer<T>>(cfg);
  load_weights(*model, store, opts);
  return model;
}

template void check_trained_weights_finite<float>(const Transformer<float>&, const fs::path&, DType);
template void save_model_dir<float>(const Transformer<float>&, const fs::path&, const SaveOptions&);
template void save_model_dir<double>(const Transformer<double>&, const fs::path&, const SaveOptions&);
template void check_weight_values<float>(const TensorStore&, const std::string&, const float*, int64_t, bool);
template void check_weight_values<double>(const TensorStore&, const std::string&, const double*, int64_t,
                                          bool);
template void load_weights<float>(Transformer<float>&, const TensorStore&, const ReadOptions&);
template void load_weights<double>(Transformer<double>&, const TensorStore&, const ReadOptions&);
template std::unique_ptr<Transformer<float>> load_model_dir<float>(const fs::path&, const ReadOptions&,
                                                                   const std::function<void(ModelConfig&)>&);
template std::unique_ptr<Transformer<double>> load_model_dir<double>(
    const fs::path&, const ReadOptions&, const std::function<void(ModelConfig&)>&);

}  // namespace seek
