#include "model/model_dir.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/safetensors_writer.hpp"

namespace seek {

namespace fs = std::filesystem;

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
  std::string text = cfg.to_json().dump(2) + "\n";
  AtomicFile f(dir / "config.json");
  f.write(text.data(), text.size());
  f.commit();
}

template <typename T>
void load_weights(Transformer<T>& model, const TensorStore& store, const ReadOptions& opts) {
  auto& ps = model.params();
  for (const ParamInfo& info : ps.layout.all()) {
    SEEK_CHECK(store.contains(info.name), "{}: missing tensor {} (shape [{}]) required by the config",
               store.path(), info.name, fmt::join(info.shape, ", "));
    store.read_into(info.name, info.shape, ps.value.data() + info.offset, opts);
  }
}

namespace {

// The index of "model.layers.<i>.…", or -1.
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

}  // namespace

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
                     layer < cfg.num_hidden_layers + cfg.num_nextn_predict_layers &&
                     store.contains(fmt::format("model.layers.{}.eh_proj.weight", layer));
    if (mtp && skips_mtp_layers) continue;
    if (mtp && (name.ends_with(".embed_tokens.weight") || name.ends_with(".shared_head.head.weight")))
      continue;
    unused.push_back(name);
  }
  if (unused.empty()) return;
  const size_t shown = std::min<size_t>(unused.size(), 5);
  fail(
      "{}: {} tensor(s) that {} does not describe, e.g. {}; do the weights match the config "
      "(num_hidden_layers, n_shared_experts, tie_word_embeddings, topk_method)?",
      store.path(), unused.size(), config_path,
      fmt::join(unused.begin(), unused.begin() + std::ptrdiff_t(shown), ", "));
}

template <typename T>
std::unique_ptr<Transformer<T>> load_model_dir(const fs::path& dir, const ReadOptions& opts) {
  SEEK_CHECK(fs::is_directory(dir), "model directory {} does not exist", dir.string());
  SEEK_CHECK(fs::exists(dir / "config.json"), "model directory {} has no config.json", dir.string());
  ModelConfig cfg = ModelConfig::load((dir / "config.json").string());
  auto model = std::make_unique<Transformer<T>>(cfg);
  TensorStore store(dir);
  check_tensor_names(store, model->params().layout, cfg, false, (dir / "config.json").string());
  load_weights(*model, store, opts);
  return model;
}

template void save_model_dir<float>(const Transformer<float>&, const fs::path&, const SaveOptions&);
template void save_model_dir<double>(const Transformer<double>&, const fs::path&, const SaveOptions&);
template void load_weights<float>(Transformer<float>&, const TensorStore&, const ReadOptions&);
template void load_weights<double>(Transformer<double>&, const TensorStore&, const ReadOptions&);
template std::unique_ptr<Transformer<float>> load_model_dir<float>(const fs::path&, const ReadOptions&);
template std::unique_ptr<Transformer<double>> load_model_dir<double>(const fs::path&, const ReadOptions&);

}  // namespace seek
