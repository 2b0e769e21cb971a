// A ChildPlan as bytes, for the sandbox's init when it starts as a program of its own (sandbox_init/main.cpp)
// instead of as a copy of the trainer: its pointers become lengths and contents, read back into storage the
// decoded plan owns. Used by sandbox.cpp (encode, in the trainer) and the init (decode).
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "reward/sandbox_child.hpp"

namespace seek::reward::detail {

// The descriptors the init program finds its pipes on (the trainer's launch puts them there before the exec).
enum InitFd : int { kInitStdin = 0, kInitStdout = 1, kInitStderr = 2, kInitReport = 3, kInitPlan = 4 };

std::string encode_plan(const ChildPlan& plan);

// A plan read back: `plan` points into storage this object owns, its descriptors are the InitFd ones.
struct DecodedPlan {
  ChildPlan plan;
  struct Storage;
  std::shared_ptr<Storage> storage;
};
// False (and `out` untouched) when `bytes` is not a whole plan encode_plan wrote.
bool decode_plan(std::string_view bytes, DecodedPlan& out);

}  // namespace seek::reward::detail
