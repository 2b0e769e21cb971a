// All parameters of a model live in one flat, 64-byte aligned slab; gradients live in a second slab aligned
// element for element (and optimizer moments likewise, in the trainer). Zeroing, AdamW, clipping,
// checkpointing and all-reduce are then flat loops over [0, total). Each tensor starts on a 64-byte boundary.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "core/aligned.hpp"
#include "core/resources.hpp"

namespace seek {

struct ParamInfo {
  std::string name;  // the Hugging Face tensor name, e.g. "model.layers.3.self_attn.kv_b_proj.weight"
  std::vector<int64_t> shape;
  int64_t offset = 0;  // in elements, into the slab
  int64_t numel = 0;
  bool decay = false;     // AdamW weight decay applies (2-D weights only)
  bool trainable = true;  // false: updated by a rule, not by gradient (e.g. e_score_correction_bias)
};

class ParamLayout {
 public:
  // Returns the id of the new tensor. Names must be unique.
  int add(const std::string& name, std::vector<int64_t> shape, bool decay, bool trainable = true);
  const ParamInfo& operator[](int id) const { return params_[size_t(id)]; }
  int size() const { return int(params_.size()); }
  int64_t total() const { return total_; }
  int find(const std::string& name) const;  // -1 when absent
  const std::vector<ParamInfo>& all() const { return params_; }

 private:
  std::vector<ParamInfo> params_;
  std::unordered_map<std::string, int> by_name_;
  int64_t total_ = 0;
};

template <typename T>
struct ParamStore {
  ParamLayout layout;
  AlignedBuffer<T> value;
  AlignedBuffer<T> grad;

  void allocate() {
    check_memory_for(2 * layout.total() * int64_t(sizeof(T)),
                     fmt::format("the weights and gradients of {} parameters", format_count(layout.total())));
    value.resize(size_t(layout.total()));
    grad.resize(size_t(layout.total()));
  }
  T* p(int id) { return value.data() + layout[id].offset; }
  const T* p(int id) const { return value.data() + layout[id].offset; }
  T* g(int id) { return grad.data() + layout[id].offset; }
  void zero_grad() { grad.zero(); }
};

}  // namespace seek
