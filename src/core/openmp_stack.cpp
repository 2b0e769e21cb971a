#include "core/openmp_stack.hpp"

#include <fmt/format.h>
#include <omp.h>
#include <pthread.h>

namespace seek {

size_t openmp_worker_stack_bytes() {
  size_t bytes = 0;
#pragma omp parallel num_threads(2)
  if (omp_get_thread_num() == 1) {
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      size_t size = 0;
      if (pthread_attr_getstacksize(&attr, &size) == 0) bytes = size;
      pthread_attr_destroy(&attr);
    }
  }
  return bytes;
}

std::string openmp_stack_problem() {
  const size_t bytes = openmp_worker_stack_bytes();
  if (bytes == 0 || bytes >= kMinOpenmpStackBytes) return "";
  return fmt::format(
      "OpenMP's threads get a stack of {} KiB (OMP_STACKSIZE or GOMP_STACKSIZE), too small for oneDNN's "
      "kernels, which crash in it; give them at least {} KiB (OMP_STACKSIZE={}K), or unset the variable",
      bytes >> 10, kMinOpenmpStackBytes >> 10, kMinOpenmpStackBytes >> 10);
}

}  // namespace seek
