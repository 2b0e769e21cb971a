// The weights of a model prepared for inference: the main decoder only (the V3 MTP layers at index
// num_hidden_layers and beyond are not loaded), read from our own model directories or Hugging Face
// DeepSeek-V2 / V2-Lite / V3 directories (config.json + single or sharded safetensors, F32 / BF16 / F16 /
// FP8-with-weight_scale_inv weights, dequantized on load by TensorStore).
//
// Storage: every tensor is fp32, except that with WeightFormat::BF16 the large projection matrices
// (q/q_a/q_b, kv_a, o_proj, dense and expert MLPs, lm_head) are kept as bf16 to halve the bytes a decode
// step streams from memory, with fp32 accumulation (infer/linear.hpp). The embedding, norms, router and
// kv_b_proj (read per head by the absorbed attention) are always fp32.
// Layout: the large projections (attention projections, dense MLPs, a MoE layer's experts, an untied
// lm_head; those of at least kPackMinElements values, a layer's experts all or none) are repacked on load
// into oneDNN's blocked layout (kernels/packed_weight.hpp), read as one sequential stream at any batch size.
// Smaller ones stay row-major (streamed by our own kernel at decode; a layer's experts side by side). kv_b
// and the embedding are always row-major. bf16 weights are packed only where the CPU has native bf16 dot
// products. InferLoadOptions::pack chooses (PackPolicy::None: all row-major, for comparisons).
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/aligned.hpp"
#include "kernels/packed_weight.hpp"
#include "model/config.hpp"
#include "model/params.hpp"
#include "model/weights.hpp"

namespace seek {

enum class WeightFormat { F32, BF16 };

// Which projections are packed for oneDNN: those of at least kPackMinElements values (default), all of them
// (tests of the packed path on tiny models), none.
enum class PackPolicy { Large, All, None };
// Below this (1M values, 4 MB in fp32) a single-row product is faster streamed row-major than through a
// oneDNN call (its fixed cost is a few microseconds): configs/small.json decode at batch 1 was ~20% slower
// with all its matrices (256 × 768 at most) packed (bench_infer, interleaved repetitions).
inline constexpr int64_t kPackMinElements = int64_t(1) << 20;

struct InferLoadOptions {
  WeightFormat format = WeightFormat::F32;
  // FP8 checkpoints: round each dequantized weight to bf16 (reproduces fp8_cast_bf16.py references).
  bool fp8_round_to_bf16 = false;
  // Which projections to repack for oneDNN (see above).
  PackPolicy pack = PackPolicy::Large;
};

// A [rows, cols] matrix in torch Linear layout ([out, in]); exactly one of f32 / bf16 / packed is set.
struct WeightView {
  const float* f32 = nullptr;
  const uint16_t* bf16 = nullptr;
  const PackedWeight* packed = nullptr;
  int64_t rows = 0, cols = 0;
};

template <typename T>
class Transformer;

class InferModel {
 public:
  // dir holds config.json and the safetensors (tokenizer files are read separately by load_tokenizer).
  // Errors name the folder, file or tensor: no folder, no config.json, a missing tensor or a wrong shape.
  static std::unique_ptr<InferModel> load(const std::filesystem::path& dir, const InferLoadOptions& opt = {});
  // Copies the main-model tensors of an in-memory model (tests and benchmarks on random weights).
  static std::unique_ptr<InferModel> from_model(const Transformer<float>& model,
                                                const InferLoadOptions& opt = {});
  // Copies `model`'s current weights again (a model of the same config): GRPO's rollouts after each update,
  // without allocating a second copy of the weights every step.
  void update_from(const Transformer<float>& model);
  // Random weights for benchmarks at real sizes without a training model's gradient slab: 2-D weights
  // uniform with standard deviation `std` (fast, parallel, deterministic in seed), norms 1, router bias 0.
  static std::unique_ptr<InferModel> random(const ModelConfig& cfg, uint64_t seed, WeightFormat format,
                                            double std = 0.02, PackPolicy pack = PackPolicy::Large);

  const ModelConfig& config() const { return cfg_; }
  const ModelIds& ids() const { return ids_; }
  const ParamLayout& layout() const { return layout_; }
  WeightFormat format() const { return format_; }

  // fp32 tensors (always available for norms, embedding, router, bias, kv_b).
  const float* f32(int id) const;
  // A projection matrix in its stored format and layout.
  WeightView weight(int id) const;
  bool packed(int id) const { return packed_[size_t(id)] != nullptr; }

  // Bytes of all weights held in memory.
  int64_t bytes() const;
  // Bytes one decode step reads for a single token: all dense weights plus K routed experts per MoE layer
  // (an estimate of the traffic when the batch's tokens pick distinct experts is `step_bytes(experts)`).
  int64_t dense_bytes() const;   // every tensor except routed experts (the embedding counts one row)
  int64_t expert_bytes() const;  // one routed expert of one layer (gate + up + down)

 private:
  InferModel() = default;
  void allocate(const ModelConfig& cfg, WeightFormat format, PackPolicy pack);
  bool stored_bf16(int id) const { return bf16_off_[size_t(id)] != -1; }  // -2: bf16, packed
  // Stores tensor id from its fp32 values: into the slab, or (to_pack) repacked in the model's format.
  void store(int id, const float* values);
  int64_t stored_bytes(int id) const;

  ModelConfig cfg_;
  ModelIds ids_;
  ParamLayout layout_;
  WeightFormat format_ = WeightFormat::F32;
  std::vector<int64_t> f32_off_, bf16_off_;  // per tensor id: offset in the slab, -1 when not there
  std::vector<char> to_pack_;                // per tensor id: held as a PackedWeight
  std::vector<std::unique_ptr<PackedWeight>> packed_;
  AlignedBuffer<float> f32_;
  AlignedBuffer<uint16_t> bf16_;
};

}  // namespace seek
