// Process resource figures for progress lines and benchmarks.
#pragma once

namespace seek {

// Peak resident set size of this process so far, in MB (from getrusage).
double peak_rss_mb();

// Memory the kernel says new allocations can get without swapping (MemAvailable in /proc/meminfo), in
// bytes; -1 where that is unknown.
long long available_memory_bytes();

}  // namespace seek
