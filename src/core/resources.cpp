#include "core/resources.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
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

// The address-space limit (`ulimit -v`) in bytes, -1 when there is none.
long long address_space_limit() {
  rlimit as{};
  if (getrlimit(RLIMIT_AS, &as) != 0 || as.rlim_cur == RLIM_INFINITY) return -1;
  return as.rlim_cur > rlim_t(std::numeric_limits<long long>::max()) ? std::numeric_limits<long long>::max()
                                                                     : (long long)as.rlim_cur;
}

// The first line of a file as a number of bytes; -1 when absent or not a number ("max" in a cgroup file).
long long file_number(const char* path) {
  std::ifstream f(path);
  long long v = -1;
  if (!(f >> v)) return -1;
  return v;
}

// SEEK_MEMORY_AVAILABLE as bytes; -1 when unset or empty.
long long memory_available_setting() {
  const char* text = std::getenv("SEEK_MEMORY_AVAILABLE");
  std::string s = text != nullptr ? text : "";
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  if (s.empty()) return -1;
  size_t used = 0;
  long long n = -1;
  try {
    n = std::isdigit(static_cast<unsigned char>(s[0])) ? std::stoll(s, &used) : -1;
  } catch (const std::exception&) {
    n = -1;
  }
  const std::string suffix = s.substr(used);
  const int shift = suffix == ""                     ? 0
                    : suffix == "K" || suffix == "k" ? 10
                    : suffix == "M" || suffix == "m" ? 20
                    : suffix == "G" || suffix == "g" ? 30
                    : suffix == "T" || suffix == "t" ? 40
                                                     : -1;
  SEEK_CHECK(n > 0 && shift >= 0 && n <= (std::numeric_limits<long long>::max() >> shift),
             "SEEK_MEMORY_AVAILABLE must be a number of bytes above 0, optionally with a K, M, G or T suffix "
             "(e.g. 8G), got '{}'",
             s);
  return n << shift;
}

// What this process holds in memory now (its resident set), in bytes; 0 where unknown.
long long resident_bytes() {
  std::ifstream f("/proc/self/statm");
  long long pages = 0, resident = 0;
  if (!(f >> pages >> resident)) return 0;
  return resident * ::sysconf(_SC_PAGESIZE);
}

// The memory new allocations can get, and what set that figure (a note for messages, empty for the machine's
// free memory).
struct Available {
  long long bytes = -1;
  std::string why;
};

Available machine_available_memory() {
  long long avail = -1;
  std::string why;
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
    if (avail < 0 || room < avail) {
      avail = room;
      why = "the room under the container's memory limit, cgroup memory.max";
    }
  }
  // `ulimit -v`: an allocation past the address-space limit fails however much memory is free. Everything
  // mapped counts against it (memory-mapped safetensors too), so the room is the limit less the process's
  // whole virtual size, less what a run reserves beyond its tensors: each OpenMP thread's stack and malloc
  // arena (64 MB of address space each), the KV cache's 32 MB slabs, and oneDNN's generated code (its own
  // budget). oneDNN does not survive running out of address space while it generates code (tiny-v3 under
  // `ulimit -v` 155 MB: a segfault in about 1 run in 30), so the checks must refuse a run before it gets that
  // close.
  const long long limit_bytes = address_space_limit();
  if (limit_bytes >= 0) {
    std::ifstream statm("/proc/self/statm");
    long long pages = 0;
    if (statm >> pages) {
      const long long reserve = (256LL << 20) + generated_code_budget_bytes();
      const long long mapped = pages * ::sysconf(_SC_PAGESIZE);
      const long long room = limit_bytes > mapped + reserve ? limit_bytes - mapped - reserve : 0;
      if (avail < 0 || room < avail) {
        avail = room;
        why =
            "the room under `ulimit -v`, less 256 MB for threads and a sixteenth of the limit for generated "
            "code";
      }
    }
  }
  return {avail, why};
}

// available_memory_bytes() with what set it.
Available available_memory() {
  const long long setting = memory_available_setting();
  Available machine = machine_available_memory();
  if (setting < 0) return machine;
  // A budget for the whole process: what it holds already counts against it.
  const long long left = std::max(0LL, setting - resident_bytes());
  if (machine.bytes >= 0 && machine.bytes <= left) return machine;
  return {left, "what SEEK_MEMORY_AVAILABLE leaves after what this process holds"};
}

}  // namespace

long long generated_code_budget_bytes() {
  const long long limit = address_space_limit();
  return limit < 0 ? -1 : limit / 16;
}

long long available_memory_bytes() {
  return available_memory().bytes;
}

std::string available_memory_note() {
  return available_memory().why;
}

namespace {

bool memory_check_off() {
  const char* off = std::getenv("SEEK_NO_MEMORY_CHECK");
  return off != nullptr && std::string(off) == "1";
}

}  // namespace

long long memory_check_limit() {
  return memory_check_off() ? -1 : available_memory_bytes();
}

void check_memory_for(long long bytes, const std::string& what, const std::string& hint) {
  // Swap, zram or memory about to be freed elsewhere are not counted: the user may know better.
  if (memory_check_off()) return;
  // One reading for the figure and the note that says what set it.
  const Available avail = available_memory();
  if (avail.bytes < 0 || bytes <= avail.bytes) return;
  // With nothing left, asking for less (the caller's hint) cannot help.
  fail("{} need {} of memory, and {} is available{} ({}SEEK_NO_MEMORY_CHECK=1 skips this check)", what,
       format_bytes(bytes), format_bytes(avail.bytes),
       avail.bytes == 0 ? "; nothing is left, so a smaller request would not fit either" : hint,
       avail.why.empty() ? "" : avail.why + "; ");
}

std::string format_bytes(long long n) {
  // The largest unit the value rounds to at least 1.0 of (999,999 bytes is "1.0 MB", not "1000.0 kB").
  for (const auto& [unit, name] :
       {std::pair{1e15, "PB"}, {1e12, "TB"}, {1e9, "GB"}, {1e6, "MB"}, {1e3, "kB"}})
    if (double(n) >= unit * 0.99995) return fmt::format("{:.1f} {}", double(n) / unit, name);
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
