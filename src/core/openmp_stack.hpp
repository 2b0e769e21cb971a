// The stack OpenMP gives its worker threads, checked before any command runs.
#pragma once
#include <cstddef>
#include <string>

namespace seek {

// oneDNN's kernels crashed (a segmentation fault inside JIT code, no message) on worker stacks of 16 KiB,
// which OMP_STACKSIZE or GOMP_STACKSIZE can ask for; `seek perplexity` on configs/small.json needed about
// 20 KiB. The floor leaves room for larger kernels and ISAs this machine does not have.
inline constexpr size_t kMinOpenmpStackBytes = size_t(256) << 10;

// The stack size of OpenMP's worker threads as they are made, measured in one (0 when OpenMP may start none,
// as under OMP_THREAD_LIMIT=1, or the size cannot be read).
size_t openmp_worker_stack_bytes();

// Why the worker stacks are too small to run on, or "" when they are not.
std::string openmp_stack_problem();

}  // namespace seek
