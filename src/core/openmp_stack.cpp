#include "core/openmp_stack.hpp"

#include <fmt/format.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string_view>

namespace seek {
namespace {

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// libgomp's parse_stacksize: spaces, a number as strtoul reads it (a sign allowed: "+16" is 16, "-0" is 0,
// other negative values wrap and overflow below), spaces, an optional unit B, K, M or G (any case; K when
// none), spaces. nullopt for what it rejects, when libgomp goes on to the next variable.
std::optional<size_t> parse_stack_size(const char* value) {
  if (value == nullptr) return std::nullopt;
  std::string_view v = value;
  while (!v.empty() && is_space(v.front())) v.remove_prefix(1);
  if (v.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v.data(), &end, 10);
  if (errno != 0 || end == v.data()) return std::nullopt;
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
        return std::nullopt;
    }
    v.remove_prefix(1);
    while (!v.empty() && is_space(v.front())) v.remove_prefix(1);
    if (!v.empty()) return std::nullopt;
  }
  if (((n << shift) >> shift) != n) return std::nullopt;
  return size_t(n << shift);
}

}  // namespace

size_t openmp_worker_stack_bytes() {
  // The first variable libgomp accepts is the one it tries to set (GOMP_STACKSIZE is not read after an
  // OMP_STACKSIZE of 0); one below the system's minimum fails to set, and the default stays.
  const long minimum = ::sysconf(_SC_THREAD_STACK_MIN);
  for (const char* name : {"OMP_STACKSIZE", "GOMP_STACKSIZE"})
    if (const std::optional<size_t> bytes = parse_stack_size(std::getenv(name)))
      return *bytes < size_t(std::max(minimum, 1L)) ? 0 : *bytes;
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
