// Process resource figures for progress lines and benchmarks.
#pragma once

namespace seek {

// Peak resident set size of this process so far, in MB (from getrusage).
double peak_rss_mb();

// Memory new allocations can get without swapping, in bytes: MemAvailable from /proc/meminfo, or less where
// this process's cgroup (v2) has a lower limit left; -1 where neither is known.
long long available_memory_bytes();

}  // namespace seek
