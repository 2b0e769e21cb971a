// The optimizer state of a model: AdamW moments in two slabs aligned element for element with the parameter
// slab, so a step is one pass per tensor (weight decay differs per tensor) and a checkpoint is three memcpys.
#pragma once
#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

#include "core/aligned.hpp"
#include "kernels/optimizer.hpp"
#include "model/params.hpp"
#include "model/weights.hpp"

namespace seek {

struct StepStats {
  double grad_norm = 0;   // before clipping
  double clip_scale = 1;  // applied factor (1 = not clipped)
  bool finite = true;     // false: a NaN/Inf gradient; nothing was updated
};

template <typename T>
class AdamW {
 public:
  explicit AdamW(const ParamLayout& layout)
      : m_(moment_size(layout)), v_(size_t(layout.total())), updates_(size_t(layout.size()), 0) {}

  // Clips the gradient by global norm (max_norm <= 0: no clipping), then updates every trainable tensor;
  // weight decay only where the layout says so (2-D weights). Skips the update when the norm is not finite.
  StepStats step(ParamStore<T>& ps, const AdamWParams& hp, double max_norm);

  // Leaves tensor `id` out of every later step, as PyTorch's AdamW leaves a parameter without a gradient: a
  // part of the model the loss never reaches (GRPO's MTP layers) is not shrunk by weight decay.
  void hold(int id) { held_.insert(id); }

  int64_t steps() const { return t_; }
  // Sets the step count and, as a checkpoint without per-tensor counts has it, every tensor's.
  void set_steps(int64_t t) {
    t_ = t;
    std::fill(updates_.begin(), updates_.end(), t);
  }
  // Per tensor, the steps that updated it: its bias correction's t, as PyTorch keeps a step per parameter.
  // A tensor held for a while (MTP layers at mtp_lambda 0, then trained on resume) starts its moments from
  // zero with t = 1, not with the run's step count (which made its first updates about half as large).
  int64_t updates(int id) const { return updates_[size_t(id)]; }
  void set_updates(int id, int64_t n) { updates_[size_t(id)] = n; }
  AlignedBuffer<T>& m() { return m_; }
  AlignedBuffer<T>& v() { return v_; }

 private:
  AlignedBuffer<T> m_, v_;
  int64_t t_ = 0;
  std::vector<int64_t> updates_;
  std::set<int> held_;

  static size_t moment_size(const ParamLayout& layout) {  // checks that both moments fit before the first
    check_memory_for(2 * layout.total() * int64_t(sizeof(T)),
                     fmt::format("the AdamW moments of {} parameters", format_count(layout.total())));
    return size_t(layout.total());
  }
};

// Holds every tensor of the layers from `first_held` on (model.layers.<i>, i >= first_held: MTP layers when
// it is num_hidden_layers or more) out of the optimizer's steps, for a loss that never reaches them (GRPO's;
// seek train's with mtp_lambda 0, or with sequences too short for the deeper depths).
template <typename T>
void hold_mtp_layers(AdamW<T>& opt, const ParamLayout& layout, int64_t first_held) {
  for (int id = 0; id < layout.size(); ++id)
    if (layer_index(layout[id].name) >= first_held) opt.hold(id);
}

}  // namespace seek
