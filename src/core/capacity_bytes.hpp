// The heap bytes a set of std::vectors holds (their capacity, not their size): what a cache of activations
// really keeps, for memory accounting.
#pragma once
#include <cstdint>

namespace seek {

template <typename... Vectors>
int64_t capacity_bytes(const Vectors&... v) {
  return (int64_t(0) + ... + int64_t(v.capacity() * sizeof(typename Vectors::value_type)));
}

}  // namespace seek
