#include "core/openmp_wait.hpp"

#include <unistd.h>

#include <cstdlib>

namespace seek {

void use_short_openmp_spin_by_default(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  // Set before the exec so that the new image's libgomp reads it, and so that it cannot loop: the second
  // start finds the variable set.
  if (::setenv("GOMP_SPINCOUNT", kDefaultOpenmpSpinCount, 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  // No /proc (a chroot, say): run on with libgomp's default; the variable stays set for child processes,
  // where it does no harm.
}

}  // namespace seek
