#include "core/resources.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "core/error.hpp"

namespace seek {

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // Linux reports kilobytes
}

namespace {

// The first line of a file as a number of bytes; -1 when absent or not a number ("max" in a cgroup file).
long long file_number(const char* path) {
  std::ifstream f(path);
  long long v = -1;
  if (!(f >> v)) return -1;
  return v;
}

// SEEK_MEMORY_AVAILABLE as bytes; -1 when unset.
long long memory_available_setting() {
  const char* text = std::getenv("SEEK_MEMORY_AVAILABLE");
  if (text == nullptr) return -1;
  const std::string s = text;
  size_t used = 0;
  long long n = -1;
  try {
    n = std::stoll(s, &used);
  } catch (const std::exception&) {
    n = -1;
  }
  const std::string suffix = s.substr(used);
  const int shift = suffix == ""    ? 0
                    : suffix == "K" ? 10
                    : suffix == "M" ? 20
                    : suffix == "G" ? 30
                    : suffix == "T" ? 40
                                    : -1;
  SEEK_CHECK(n > 0 && shift >= 0 && s[0] != '+' && n <= (std::numeric_limits<long long>::max() >> shift),
             "SEEK_MEMORY_AVAILABLE must be a number of bytes above 0, optionally with a K, M, G or T suffix "
             "(e.g. 8G), got '{}'",
             s);
  return n << shift;
}

long long machine_available_memory_bytes() {
  long long avail = -1;
  std::ifstream f("/proc/meminfo");
  for (std::string line; std::getline(f, line);) {
    std::istringstream in(line);
    std::string key;
    long long kb = 0;
    if (in >> key >> kb && key == "MemAvailable:") {
      avail = kb * 1024;
      break;
    }
  }
  // Inside a container the cgroup's limit (v2) can be far below what the host has free. Its usage counts the
  // page cache, which the kernel reclaims only when the limit is reached, so files read before (a dataset,
  // safetensors) would look like used memory: their inactive pages are counted as free, as Kubernetes'
  // "working set" does.
  const long long limit = file_number("/sys/fs/cgroup/memory.max");
  long long used = file_number("/sys/fs/cgroup/memory.current");
  if (limit > 0 && used >= 0) {
    std::ifstream stat("/sys/fs/cgroup/memory.stat");
    for (std::string key; stat >> key;) {
      long long v = 0;
      if (!(stat >> v)) break;
      if (key == "inactive_file") {
        used = std::max(0LL, used - v);
        break;
      }
    }
    const long long room = limit > used ? limit - used : 0;
    avail = avail < 0 ? room : std::min(avail, room);
  }
  return avail;
}

}  // namespace

long long available_memory_bytes() {
  const long long setting = memory_available_setting();
  const long long machine = machine_available_memory_bytes();
  if (setting < 0) return machine;
  return machine < 0 ? setting : std::min(setting, machine);
}

void check_memory_for(long long bytes, const std::string& what, const std::string& hint) {
  // Swap, zram or memory about to be freed elsewhere are not counted: the user may know better.
  if (const char* off = std::getenv("SEEK_NO_MEMORY_CHECK"); off != nullptr && std::string(off) == "1")
    return;
  const long long avail = available_memory_bytes();
  SEEK_CHECK(avail < 0 || bytes <= avail,
             "{} need {} of memory, and {} is available{} (SEEK_NO_MEMORY_CHECK=1 skips this check)", what,
             format_bytes(bytes), format_bytes(avail), hint);
}

std::string format_bytes(long long n) {
  if (n >= 1'000'000'000'000'000) return fmt::format("{:.1f} PB", double(n) / 1e15);
  if (n >= 1'000'000'000'000) return fmt::format("{:.1f} TB", double(n) / 1e12);
  if (n >= 1'000'000'000) return fmt::format("{:.1f} GB", double(n) / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.1f} MB", double(n) / 1e6);
  if (n >= 1'000) return fmt::format("{:.1f} kB", double(n) / 1e3);
  return fmt::format("{} byte{}", n, n == 1 ? "" : "s");
}

std::string format_count(long long n) {
  if (n >= 1'000'000'000'000) return fmt::format("{:.1f}T", double(n) / 1e12);
  if (n >= 1'000'000'000) return fmt::format("{:.1f}B", double(n) / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.1f}M", double(n) / 1e6);
  if (n >= 1'000) return fmt::format("{:.1f}K", double(n) / 1e3);
  return fmt::format("{}", n);
}

}  // namespace seek
