#include "core/openmp_stack.hpp"

#include <fmt/format.h>
#include <omp.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string_view>

namespace seek {
namespace {

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// libgomp's parse_stacksize: spaces, decimal digits, spaces, an optional unit B, K, M or G (any case; K when
// none), spaces. 0 for what it rejects.
size_t parse_stack_size(const char* value) {
  if (value == nullptr) return 0;
  std::string_view v = value;
  while (!v.empty() && is_space(v.front())) v.remove_prefix(1);
  if (v.empty() || !std::isdigit(static_cast<unsigned char>(v.front()))) return 0;
  errno = 0;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v.data(), &end, 10);
  if (errno != 0) return 0;
  v.remove_prefix(size_t(end - v.data()));
  while (!v.empty() && is_space(v.front())) v.remove_prefix(1);
  int shift = 10;
  if (!v.empty()) {
    switch (std::tolower(static_cast<unsigned char>(v.front()))) {
      case 'b':
        shift = 0;
        break;
      case 'k':
        shift = 10;
        break;
      case 'm':
        shift = 20;
        break;
      case 'g':
        shift = 30;
        break;
      default:
        return 0;
    }
    v.remove_prefix(1);
    while (!v.empty() && is_space(v.front())) v.remove_prefix(1);
    if (!v.empty()) return 0;
  }
  if (((n << shift) >> shift) != n) return 0;
  return size_t(n << shift);
}

}  // namespace

size_t openmp_worker_stack_bytes() {
  const long minimum = ::sysconf(_SC_THREAD_STACK_MIN);
  for (const char* name : {"OMP_STACKSIZE", "GOMP_STACKSIZE"})
    if (const size_t bytes = parse_stack_size(std::getenv(name)); bytes > 0)
      return minimum > 0 && bytes < size_t(minimum) ? 0 : bytes;
  return 0;
}

std::string openmp_stack_problem() {
  const size_t bytes = openmp_worker_stack_bytes();
  if (bytes == 0 || bytes >= kMinOpenmpStackBytes || omp_get_thread_limit() <= 1) return "";
  return fmt::format(
      "OpenMP's threads get a stack of {} (OMP_STACKSIZE or GOMP_STACKSIZE), too small for oneDNN's "
      "kernels, which crash in it; give them at least {} KiB (OMP_STACKSIZE={}K), or unset the variable",
      bytes % 1024 == 0 ? fmt::format("{} KiB", bytes >> 10) : fmt::format("{} bytes", bytes),
      kMinOpenmpStackBytes >> 10, kMinOpenmpStackBytes >> 10);
}

}  // namespace seek
