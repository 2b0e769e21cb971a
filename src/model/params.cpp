#include "model/params.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.hpp"

namespace seek {

int ParamLayout::add(const std::string& name, std::vector<int64_t> shape, bool decay, bool trainable) {
  SEEK_CHECK(!by_name_.count(name), "parameter {} declared twice", name);
  constexpr int64_t kMaxElems = int64_t(1) << 60;
  int64_t n = 1;
  for (int64_t s : shape)
    SEEK_CHECK(s >= 0 && !__builtin_mul_overflow(n, s, &n) && n <= kMaxElems,
               "parameter {} of shape {} is too large to hold (over 2^60 values): check the config's sizes",
               name, fmt::format("{}", fmt::join(shape, "×")));
  ParamInfo info{name, std::move(shape), total_, n, decay, trainable};
  constexpr int64_t kAlignElems = 16;  // 64 bytes of fp32; keeps every tensor cache-line aligned
  // The sum over tensors overflowed int64 too (each within 2^60): a model is capped at 2^62 values.
  SEEK_CHECK(
      total_ <= (kMaxElems << 2) - n - kAlignElems,
      "the model's parameters are too many to hold (over 2^62 values with {}): check the config's sizes",
      name);
  total_ += (n + kAlignElems - 1) / kAlignElems * kAlignElems;
  params_.push_back(std::move(info));
  by_name_[params_.back().name] = int(params_.size()) - 1;
  return int(params_.size()) - 1;
}

int ParamLayout::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? -1 : it->second;
}

}  // namespace seek
