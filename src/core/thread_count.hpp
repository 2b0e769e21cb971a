// The thread count a user asks for (--threads, or "threads" in a run's settings); 0 means all cores.
#pragma once
#include <omp.h>

#include <cstdint>
#include <string_view>

#include "core/error.hpp"
#include "core/stderr.hpp"

namespace seek {

// More threads than this cannot help on any machine we run on, and OpenMP crashes (it does not throw) when it
// cannot create the threads a parallel region asks for: 100000 was a segmentation fault.
inline constexpr int kMaxThreads = 1024;

// Work (values copied or added, or multiply-adds) below which a loop runs on the calling thread alone: waking
// the team and joining it costs about a microsecond with spinning threads and tens of microseconds with
// sleeping ones (OMP_WAIT_POLICY=PASSIVE), more than such a loop takes. Used in `if` clauses of parallel
// regions; a region's result must not depend on whether it ran in parallel.
inline constexpr int64_t kParallelMinWork = int64_t(1) << 14;

// Throws when `threads` is outside [0, kMaxThreads]; `what` names the flag or key.
inline void check_thread_count(int64_t threads, std::string_view what) {
  SEEK_CHECK(threads >= 0 && threads <= kMaxThreads, "{} must be from 0 (all cores) to {}, got {}", what,
             kMaxThreads, threads);
}

// Every parallel region must get the team it asks for. oneDNN splits a GEMM's work for omp_get_max_threads()
// threads when it makes a primitive, and the share of a thread its region did not start is never done: with
// OMP_DYNAMIC=true (teams shrunk under load) or an OMP_THREAD_LIMIT below the thread count, logits were off
// by 0.4 and training diverged, without a word. So teams are never shrunk, and the thread count is capped by
// the limit, which the results then follow (they depend on the thread count). Returns the count in force.
inline int keep_openmp_teams_whole() {
  omp_set_dynamic(0);
  const int limit = omp_get_thread_limit();
  if (omp_get_max_threads() > limit) omp_set_num_threads(limit);
  return omp_get_max_threads();
}

// Checks the count, then makes it OpenMP's for the parallel regions that follow (0 keeps the default). More
// threads than cores is allowed (results are the thread count's, so a run may need it elsewhere) with a note:
// 1000 threads on 2 cores ran 50-100x slower.
inline void use_thread_count(int64_t threads, std::string_view what) {
  check_thread_count(threads, what);
  if (const int limit = omp_get_thread_limit(); threads > limit) {
    print_stderr("[seek] note: OMP_THREAD_LIMIT allows {} thread{}, so {} {} runs on {}\n", limit,
                 limit == 1 ? "" : "s", what, threads, limit);
    threads = limit;
  }
  if (threads > 0) omp_set_num_threads(int(threads));
  keep_openmp_teams_whole();
  if (const int cores = omp_get_num_procs(); threads > cores)
    print_stderr(
        "[seek] note: {} {} is more than the {} cores this process may use: the threads take turns "
        "on them, which is slower than {} threads\n",
        what, threads, cores, cores);
}

}  // namespace seek
