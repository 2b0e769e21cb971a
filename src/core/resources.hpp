// Process resource figures for progress lines and benchmarks.
#pragma once

namespace seek {

// Peak resident set size of this process so far, in MB (from getrusage).
double peak_rss_mb();

}  // namespace seek
