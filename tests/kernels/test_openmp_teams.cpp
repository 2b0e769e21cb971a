// OpenMP teams are never short of threads: oneDNN splits a GEMM for omp_get_max_threads() threads and leaves
// the share of a thread its region did not start undone, which gave wrong logits under OMP_DYNAMIC=true.
#include <gtest/gtest.h>
#include <omp.h>

#include <vector>

#include "core/thread_count.hpp"
#include "kernels/gemm.hpp"

namespace seek {
namespace {

TEST(ThreadCount, DynamicTeamsAreTurnedOff) {
  omp_set_dynamic(1);
  const int threads = keep_openmp_teams_whole();
  EXPECT_FALSE(omp_get_dynamic());
  EXPECT_EQ(threads, omp_get_max_threads());
  EXPECT_LE(threads, omp_get_thread_limit());
}

// Where seek's main() does not run (tests, benchmarks, library users), the first GEMM turns them off.
TEST(ThreadCount, TheFirstGemmTurnsDynamicTeamsOff) {
  omp_set_dynamic(1);
  std::vector<float> a(4, 1.0f), b(4, 1.0f), c(4, 0.0f);
  gemm(false, false, 2, 2, 2, 1.0f, a.data(), 2, b.data(), 2, 0.0f, c.data(), 2);
  EXPECT_FALSE(omp_get_dynamic());
  EXPECT_EQ(c[0], 2.0f);
}

}  // namespace
}  // namespace seek
