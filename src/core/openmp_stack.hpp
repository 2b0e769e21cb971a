// The stack OpenMP gives its worker threads, checked before any command runs.
#pragma once
#include <cstddef>
#include <string>

namespace seek {

// oneDNN's kernels crashed (a segmentation fault inside JIT code, no message) on worker stacks of 16 KiB,
// which OMP_STACKSIZE or GOMP_STACKSIZE can ask for; `seek perplexity` on configs/small.json needed about
// 20 KiB. The floor leaves room for larger kernels and ISAs this machine does not have.
inline constexpr size_t kMinOpenmpStackBytes = size_t(256) << 10;

// The worker stack size that OMP_STACKSIZE, else GOMP_STACKSIZE, gives libgomp's threads, read as libgomp
// reads them; 0 when neither sets one (unset or a value libgomp calls invalid), or the one it reads is
// below the system's minimum, which libgomp cannot set. Read from the variables, not measured in a thread:
// starting a thread before the memory checks ran failed under an address-space limit (`ulimit -v`) with
// libgomp's bare "Thread creation failed".
size_t openmp_worker_stack_bytes();

// Why the worker stacks are too small to run on, or "" when they are not (or there are no workers:
// OMP_THREAD_LIMIT=1).
std::string openmp_stack_problem();

}  // namespace seek
