#include "model/params.hpp"

#include "core/error.hpp"

namespace seek {

int ParamLayout::add(const std::string& name, std::vector<int64_t> shape, bool decay, bool trainable) {
  SEEK_CHECK(!by_name_.count(name), "parameter {} declared twice", name);
  int64_t n = 1;
  for (int64_t s : shape)
    SEEK_CHECK(s >= 0 && !__builtin_mul_overflow(n, s, &n) && n <= (int64_t(1) << 60),
               "parameter {} has a shape too large to hold ({} values in a dimension)", name, s);
  ParamInfo info{name, std::move(shape), total_, n, decay, trainable};
  constexpr int64_t kAlignElems = 16;  // 64 bytes of fp32; keeps every tensor cache-line aligned
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
