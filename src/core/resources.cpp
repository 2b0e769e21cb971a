#include "core/resources.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

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

}  // namespace

long long available_memory_bytes() {
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
  // Inside a container the cgroup's limit (v2) can be far below what the host has free.
  const long long limit = file_number("/sys/fs/cgroup/memory.max");
  const long long used = file_number("/sys/fs/cgroup/memory.current");
  if (limit > 0 && used >= 0) {
    const long long room = limit > used ? limit - used : 0;
    avail = avail < 0 ? room : std::min(avail, room);
  }
  return avail;
}

}  // namespace seek
