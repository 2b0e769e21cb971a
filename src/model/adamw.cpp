#include "model/adamw.hpp"

#include <cmath>

namespace seek {

template <typename T>
StepStats AdamW<T>::step(ParamStore<T>& ps, const AdamWParams& hp, double max_norm) {
  StepStats st;
  const ParamLayout& L = ps.layout;
  double sq = 0;
  for (int id = 0; id < L.size(); ++id)
    if (L[id].trainable) sq += l2_norm_squared(ps.g(id), L[id].numel);
  st.grad_norm = std::sqrt(sq);
  if (!std::isfinite(st.grad_norm)) {
    st.finite = false;
    return st;
  }
  ++t_;
  st.clip_scale = clip_scale(st.grad_norm, max_norm);
  for (int id = 0; id < L.size(); ++id) {
    const ParamInfo& info = L[id];
    if (!info.trainable || held_.count(id)) continue;
    adamw_update(ps.p(id), ps.g(id), m_.data() + info.offset, v_.data() + info.offset, info.numel, hp,
                 info.decay ? hp.weight_decay : 0.0, ++updates_[size_t(id)], st.clip_scale);
  }
  return st;
}

template class AdamW<float>;
template class AdamW<double>;

}  // namespace seek
