// Model directories laid out like a Hugging Face DeepSeek repo: config.json plus safetensors with the real
// tensor names (single file, or shards with model.safetensors.index.json). Loading memory-maps the files and
// accepts F32/BF16/F16 and FP8 (with weight_scale_inv) weights; saving writes F32 or BF16 atomically.
#pragma once
#include <filesystem>
#include <functional>
#include <memory>

#include "core/dtype.hpp"
#include "io/tensor_store.hpp"
#include "model/transformer.hpp"

namespace seek {

struct SaveOptions {
  DType dtype = DType::F32;               // F32 or BF16
  uint64_t max_shard_bytes = 4ull << 30;  // Hugging Face's usual 4-5 GB shards
};

// Writes config.json and the weights. MTP modules also get `embed_tokens` and `shared_head.head` copies of
// the shared embedding and head, as the V3 checkpoints hold them.
template <typename T>
void save_model_dir(const Transformer<T>& model, const std::filesystem::path& dir,
                    const SaveOptions& opts = {});

// Throws seek::Error naming `dir`, the tensor and the index of the first weight that is not finite, or with
// `dtype` BF16, that rounds to inf in bf16 (a finite fp32 weight of 3.39e38 or more: the save wrote inf, and
// seek then refused to load its own model). The trainers check before each save: an update that overflowed
// (an lr near fp32's limit) was saved as the run's model, and a checkpoint of it would push good ones out of
// the run folder.
template <typename T>
void check_trained_weights_finite(const Transformer<T>& model, const std::filesystem::path& dir,
                                  DType dtype = DType::F32);

// Reads every parameter of `model` (whose config decides the names and shapes) from `store`. A missing
// tensor or a wrong shape is an error naming the tensor and the file.
template <typename T>
void load_weights(Transformer<T>& model, const TensorStore& store, const ReadOptions& opts = {});

// Throws naming tensor `name` and its file in `store` when one of its n `values` is a NaN or an infinity, as
// loaded (a NaN or inf in the file, an F8 NaN code, a scale that overflows). Every weight is checked: a
// non-finite one made training fail at step 1 with advice to lower the learning rate, and inference fail at
// the first prompt that reached it with no tensor named. A router's (mlp.gate.weight,
// e_score_correction_bias; `router`) gets its own reason: it routes tokens arbitrarily while the logits
// often stay finite.
template <typename T>
void check_weight_values(const TensorStore& store, const std::string& name, const T* values, int64_t n,
                         bool router);

// The ids of the router tensors (weights and biases) of every MoE layer in `ids`, its MTP layers included.
std::vector<int> router_tensor_ids(const ModelIds& ids);

// Everything a loader checks before it allocates the weights, from the safetensors headers alone:
// num_hidden_layers (and the MTP layers when the loader reads them) and n_routed_experts within what the
// files hold, check_tensor_names over the layout of `cfg` (without its MTP layers when the loader skips
// them), each tensor's shape and a float dtype, and each FP8 weight's scale (TensorStore::fp8_scale). So a
// wrong size in config.json is an error naming a tensor, not an allocation of the wrong size.
void check_weights_match_config(const TensorStore& store, const ModelConfig& cfg, bool skips_mtp_layers,
                                const std::string& config_path);

// The config.json of model folder `dir`, read and validated; every loader starts here. Errors name the
// folder or file: no such folder, not a folder, no config.json, a symlink loop, a FIFO or device.
ModelConfig load_model_config(const std::filesystem::path& dir);

// `adjust` may change what the layout does not depend on (the special token ids) before the model is made.
template <typename T>
std::unique_ptr<Transformer<T>> load_model_dir(const std::filesystem::path& dir, const ReadOptions& opts = {},
                                               const std::function<void(ModelConfig&)>& adjust = {});

}  // namespace seek
