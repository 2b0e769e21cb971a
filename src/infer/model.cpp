#include "infer/model.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/resources.hpp"
#include "core/rng.hpp"
#include "io/tensor_store.hpp"
#include "kernels/gemm.hpp"
#include "model/model_dir.hpp"
#include "model/transformer.hpp"

namespace seek {

namespace fs = std::filesystem;

namespace {

// A finite fp32 weight at or above bf16's largest value (3.39e38) rounds to inf: refused as the tensor is
// read, or generation failed later on a non-finite logit without naming it (an expert's only once a token
// reached it).
void check_fits_bf16(const TensorStore& store, const std::string& name, const float* values, int64_t n) {
  int64_t first = n;
#pragma omp parallel for reduction(min : first) schedule(static)
  for (int64_t i = 0; i < n; ++i)
    if (std::isinf(bf16_to_f32(f32_to_bf16(values[i]))) && i < first) first = i;
  if (first == n) return;
  fail(
      "tensor '{}' in {} holds {} at index {}, beyond bf16's range (about 3.39e38): it cannot be held as "
      "bf16; "
      "load it without --bf16",
      name, store.file_of(name).path(), values[first], first);
}

// The matrices a decode step streams through: these may be stored as bf16.
std::vector<int> projection_ids(const ModelIds& ids) {
  std::vector<int> out;
  auto mlp = [&](const MlpIds& m) {
    if (m.gate < 0) return;
    out.insert(out.end(), {m.gate, m.up, m.down});
  };
  for (const LayerIds& l : ids.layers) {
    for (int id : {l.attn.q_proj, l.attn.q_a, l.attn.q_b, l.attn.kv_a, l.attn.o_proj})
      if (id >= 0) out.push_back(id);
    if (l.moe) {
      for (const MlpIds& e : l.experts.experts) mlp(e);
      mlp(l.experts.shared);
    } else {
      mlp(l.dense);
    }
  }
  if (ids.lm_head >= 0) out.push_back(ids.lm_head);
  return out;
}

// The projections that may be repacked for oneDNN, in groups packed all or none by the size of their first
// member: each projection outside the experts on its own; a MoE layer's routed and shared experts together
// (by a routed expert's size), because the runner runs a layer's experts either all through infer_linear
// (packed) or all side by side (row-major). kv_b (read per head) and the embedding (a tied head) never.
std::vector<std::vector<int>> linear_groups(const ModelIds& ids) {
  std::vector<std::vector<int>> out;
  auto mlp = [](const MlpIds& m, std::vector<int>& g) {
    if (m.gate >= 0) g.insert(g.end(), {m.gate, m.up, m.down});
  };
  for (const LayerIds& l : ids.layers) {
    for (int id : {l.attn.q_proj, l.attn.q_a, l.attn.q_b, l.attn.kv_a, l.attn.o_proj})
      if (id >= 0) out.push_back({id});
    if (!l.moe) {
      for (int id : {l.dense.gate, l.dense.up, l.dense.down})
        if (id >= 0) out.push_back({id});
      continue;
    }
    std::vector<int> experts;
    for (const MlpIds& e : l.experts.experts) mlp(e, experts);
    mlp(l.experts.shared, experts);
    if (!experts.empty()) out.push_back(std::move(experts));
  }
  if (ids.lm_head >= 0) out.push_back({ids.lm_head});
  return out;
}

int64_t round_up(int64_t n, int64_t a) {
  return (n + a - 1) / a * a;
}

}  // namespace

void InferModel::allocate(const ModelConfig& cfg, WeightFormat format, PackPolicy pack) {
  cfg_ = cfg;
  format_ = format;
  // The MTP modules are not part of plain decoding: lay out the main model only.
  ModelConfig main = cfg;
  main.num_nextn_predict_layers = 0;
  ids_ = build_layout(main, layout_);
  const size_t n = size_t(layout_.size());
  f32_off_.assign(n, -1);
  bf16_off_.assign(n, -1);
  std::vector<char> half(n, 0);
  if (format == WeightFormat::BF16)
    for (int id : projection_ids(ids_)) half[size_t(id)] = 1;
  to_pack_.assign(n, 0);
  packed_.clear();
  packed_.resize(n);
  if (pack != PackPolicy::None && (format == WeightFormat::F32 || have_bf16_gemm()))
    for (const std::vector<int>& group : linear_groups(ids_))
      if (pack == PackPolicy::All || layout_[group[0]].numel >= kPackMinElements)
        for (int id : group) to_pack_[size_t(id)] = 1;
  int64_t nf = 0, nh = 0;
  for (int id = 0; id < layout_.size(); ++id) {
    const int64_t numel = layout_[id].numel;
    if (to_pack_[size_t(id)]) {
      if (half[size_t(id)]) bf16_off_[size_t(id)] = -2;  // bf16, held packed (no slab slot)
      continue;
    }
    if (half[size_t(id)]) {
      bf16_off_[size_t(id)] = nh;
      nh += round_up(numel, 32);
    } else {
      f32_off_[size_t(id)] = nf;
      nf += round_up(numel, 16);
    }
  }
  int64_t packed_bytes = 0;
  for (int id = 0; id < layout_.size(); ++id)
    if (to_pack_[size_t(id)]) packed_bytes += layout_[id].numel * (half[size_t(id)] ? 2 : 4);
  int64_t params = 0;
  for (const ParamInfo& p : layout_.all()) params += p.numel;
  check_memory_for(nf * 4 + nh * 2 + packed_bytes,
                   format == WeightFormat::BF16
                       ? fmt::format("the bf16 and f32 weights of {} parameters", format_count(params))
                       : fmt::format("the f32 weights of {} parameters", format_count(params)),
                   format == WeightFormat::BF16 ? "" : "; bf16 weights need about half");
  f32_.resize(size_t(nf));
  bf16_.resize(size_t(nh));
}

const float* InferModel::f32(int id) const {
  SEEK_CHECK(id >= 0 && id < layout_.size() && f32_off_[size_t(id)] >= 0,
             "internal: tensor {} is not held in fp32",
             id >= 0 && id < layout_.size() ? layout_[id].name : "?");
  return f32_.data() + f32_off_[size_t(id)];
}

void InferModel::store(int id, const float* values) {
  const int64_t numel = layout_[id].numel;
  if (to_pack_[size_t(id)]) {
    const ParamInfo& info = layout_[id];
    SEEK_CHECK(info.shape.size() == 2, "internal: packing tensor {} that is not a matrix", info.name);
    if (stored_bf16(id)) {
      std::vector<uint16_t> h(static_cast<size_t>(numel));
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < numel; ++i) h[size_t(i)] = f32_to_bf16(values[i]);
      packed_[size_t(id)] = std::make_unique<PackedWeight>(h.data(), info.shape[0], info.shape[1]);
    } else {
      packed_[size_t(id)] = std::make_unique<PackedWeight>(values, info.shape[0], info.shape[1]);
    }
  } else if (stored_bf16(id)) {
    uint16_t* dst = bf16_.data() + bf16_off_[size_t(id)];
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < numel; ++i) dst[i] = f32_to_bf16(values[i]);
  } else {
    float* dst = f32_.data() + f32_off_[size_t(id)];
    if (dst != values) std::copy(values, values + numel, dst);
  }
}

int64_t InferModel::stored_bytes(int id) const {
  if (packed_[size_t(id)]) return int64_t(packed_[size_t(id)]->bytes());
  return layout_[id].numel * (stored_bf16(id) ? 2 : 4);
}

WeightView InferModel::weight(int id) const {
  const ParamInfo& info = layout_[id];
  WeightView v;
  v.rows = info.shape[0];
  v.cols = info.shape.size() > 1 ? info.shape[1] : 1;
  if (packed_[size_t(id)])
    v.packed = packed_[size_t(id)].get();
  else if (stored_bf16(id))
    v.bf16 = bf16_.data() + bf16_off_[size_t(id)];
  else
    v.f32 = f32_.data() + f32_off_[size_t(id)];
  return v;
}

int64_t InferModel::bytes() const {
  int64_t b = 0;
  for (int id = 0; id < layout_.size(); ++id) b += stored_bytes(id);
  return b;
}

int64_t InferModel::expert_bytes() const {
  for (const LayerIds& l : ids_.layers) {
    if (!l.moe) continue;
    const MlpIds& e = l.experts.experts[0];
    int64_t b = 0;
    for (int id : {e.gate, e.up, e.down}) b += stored_bytes(id);
    return b;
  }
  return 0;
}

int64_t InferModel::dense_bytes() const {
  std::vector<char> routed(size_t(layout_.size()), 0);
  for (const LayerIds& l : ids_.layers)
    for (const MlpIds& e : l.experts.experts)
      for (int id : {e.gate, e.up, e.down}) routed[size_t(id)] = 1;
  int64_t b = 0;
  for (int id = 0; id < layout_.size(); ++id) {
    if (routed[size_t(id)]) continue;
    if (id == ids_.embed && ids_.lm_head >= 0) {
      b += cfg_.hidden_size * 4;  // one embedding row per token
      continue;
    }
    b += stored_bytes(id);
  }
  return b;
}

std::unique_ptr<InferModel> InferModel::load(const fs::path& dir, const InferLoadOptions& opt) {
  ModelConfig cfg = load_model_config(dir);
  TensorStore store(dir);
  check_weights_match_config(store, cfg, true, (dir / "config.json").string());
  std::unique_ptr<InferModel> m(new InferModel());
  m->allocate(cfg, opt.format, opt.pack);
  ReadOptions ro;
  ro.fp8_round_to_bf16 = opt.fp8_round_to_bf16;
  std::vector<float> tmp;
  std::vector<char> router(size_t(m->layout_.size()), 0);
  for (int id : router_tensor_ids(m->ids_)) router[size_t(id)] = 1;
  // Reading a large checkpoint from disk takes seconds per GB: a progress line (only past 2 s on a terminal).
  ProgressLine::Options po;
  po.erase = true;  // generate's text follows on the terminal
  ProgressLine progress("loading " + dir.string(), m->layout_.total(), "parameters", po);
  int64_t done = 0;
  for (int id = 0; id < m->layout_.size(); ++id) {
    const ParamInfo& info = m->layout_[id];
    const bool in_slab = m->f32_off_[size_t(id)] >= 0;
    float* values =
        in_slab ? m->f32_.data() + m->f32_off_[size_t(id)] : (tmp.resize(size_t(info.numel)), tmp.data());
    store.read_into(info.name, info.shape, values, ro);
    // Checked as read: a weight held as bf16 or packed no longer shows its f32 values.
    check_weight_values(store, info.name, values, info.numel, router[size_t(id)] != 0);
    if (m->stored_bf16(id)) check_fits_bf16(store, info.name, values, info.numel);
    if (!in_slab) m->store(id, values);
    progress.update(done += info.numel);
  }
  progress.finish();
  return m;
}

std::unique_ptr<InferModel> InferModel::from_model(const Transformer<float>& model,
                                                   const InferLoadOptions& opt) {
  std::unique_ptr<InferModel> m(new InferModel());
  m->allocate(model.config(), opt.format, opt.pack);
  m->update_from(model);
  return m;
}

void InferModel::update_from(const Transformer<float>& model) {
  const auto& ps = model.params();
  for (int id = 0; id < layout_.size(); ++id) {
    const ParamInfo& info = layout_[id];
    const int src = ps.layout.find(info.name);
    SEEK_CHECK(src >= 0 && ps.layout[src].shape == info.shape,
               "internal: the model has no tensor {} of shape {}", info.name, info.shape);
    store(id, ps.p(src));
  }
}

std::unique_ptr<InferModel> InferModel::random(const ModelConfig& cfg, uint64_t seed, WeightFormat format,
                                               double std, PackPolicy pack) {
  std::unique_ptr<InferModel> m(new InferModel());
  m->allocate(cfg, format, pack);
  std::vector<float> tmp;
  const float a = float(std * std::sqrt(3.0));  // U(-a, a) has standard deviation a / sqrt(3)
  constexpr int64_t kChunk = 1 << 16;
  for (int id = 0; id < m->layout_.size(); ++id) {
    const ParamInfo& info = m->layout_[id];
    const bool matrix = info.shape.size() == 2, bias = !info.trainable;
    const bool staged = m->to_pack_[size_t(id)];  // generated in fp32, then packed
    if (staged) tmp.resize(size_t(info.numel));
    float* f = staged ? tmp.data() : m->stored_bf16(id) ? nullptr : m->f32_.data() + m->f32_off_[size_t(id)];
    uint16_t* h = !staged && m->stored_bf16(id) ? m->bf16_.data() + m->bf16_off_[size_t(id)] : nullptr;
    const int64_t chunks = (info.numel + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < chunks; ++c) {
      Rng rng(seed ^ (uint64_t(id) << 32) ^ uint64_t(c) * 0x9E3779B97F4A7C15ull);
      for (int64_t i = c * kChunk; i < std::min(info.numel, (c + 1) * kChunk); ++i) {
        const float v = bias ? 0.0f : matrix ? float(rng.uniform() * 2.0 - 1.0) * a : 1.0f;
        if (f)
          f[i] = v;
        else
          h[i] = f32_to_bf16(v);
      }
    }
    if (staged) m->store(id, tmp.data());
  }
  return m;
}

}  // namespace seek
