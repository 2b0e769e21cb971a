#include "core/openmp_wait.hpp"

#include <omp.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace seek {

namespace {

// With thread binding (OMP_PROC_BIND, OMP_PLACES, GOMP_CPU_AFFINITY) libgomp binds the initial thread to its
// first place when it loads, and an exec keeps that affinity: the new image then saw one place, and every
// thread ran on one core. The places are what the process had: their union is given back before the exec.
void unbind_initial_thread() {
  if (omp_get_proc_bind() == omp_proc_bind_false) return;
  cpu_set_t all;
  CPU_ZERO(&all);
  bool any = false;
  for (int p = 0; p < omp_get_num_places(); ++p) {
    std::vector<int> ids(size_t(omp_get_place_num_procs(p)));
    omp_get_place_proc_ids(p, ids.data());
    for (int id : ids)
      if (id >= 0 && id < CPU_SETSIZE) {
        CPU_SET(id, &all);
        any = true;
      }
  }
  if (any) ::sched_setaffinity(0, sizeof all, &all);  // on failure the binding stays, as before
}

}  // namespace

void use_short_openmp_spin_by_default(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  // Set before the exec so that the new image's libgomp reads it, and so that it cannot loop: the second
  // start finds the variable set.
  if (::setenv("GOMP_SPINCOUNT", kDefaultOpenmpSpinCount, 1) != 0) return;
  unbind_initial_thread();
  ::execv("/proc/self/exe", argv);
  // No /proc (a chroot, say): run on with libgomp's default; the variable stays set for child processes,
  // where it does no harm.
}

}  // namespace seek
