// Process resource figures for progress lines and benchmarks.
#pragma once
#include <string>

namespace seek {

// Peak resident set size of this process so far, in MB (from getrusage).
double peak_rss_mb();

// Memory new allocations can get without swapping, in bytes: MemAvailable from /proc/meminfo, or less where
// this process's cgroup (v2) or its address-space limit (`ulimit -v`, less 256 MB for thread stacks and
// malloc arenas and less generated_code_budget_bytes()) leaves less room; -1 where none is known.
// SEEK_MEMORY_AVAILABLE (bytes, or with a K, M, G or T suffix: 8G) is a budget for the whole process on a
// machine shared with other work: what the process holds already counts against it. A value that is not such
// a size is an error; an empty one is unset.
long long available_memory_bytes();

// What set available_memory_bytes() where it is not the machine's free memory, for messages ("the room under
// `ulimit -v`, ...", the container's limit, SEEK_MEMORY_AVAILABLE's budget); empty where it is.
std::string available_memory_note();

// Address space seek lets oneDNN's generated code (its compiled GEMM kernels) take: -1, no bound, without an
// address-space limit; under `ulimit -v`, a sixteenth of the limit. The kernels reserve address space whether
// or not their pages are touched (~0.8 MB per GEMM shape), and oneDNN does not survive running out of it
// while it compiles one, so under a limit the GEMM cache keeps only as many as this holds
// (kernels/gemm.cpp), and the memory checks set it aside.
long long generated_code_budget_bytes();

// What the memory checks allow: available_memory_bytes(), or -1 (no limit) when it is not known or
// SEEK_NO_MEMORY_CHECK=1.
long long memory_check_limit();

// Throws seek::Error when `bytes` is more than available_memory_bytes() (where that is known). A model that
// cannot fit would otherwise end in std::bad_alloc or, worse, in the kernel's OOM killer after minutes of
// loading. `what` names what needs the memory, e.g. "the weights and gradients of 16.4B parameters"; `hint`
// ends the message (e.g. how to need less).
void check_memory_for(long long bytes, const std::string& what, const std::string& hint = "");

// "3.1T", "1.2B", "350.0M", "52.1K", "12": a parameter count.
std::string format_count(long long n);

// "8.4 PB", "1.2 TB", "16.4 GB", "4.4 MB", "52.1 kB", "12 bytes": a size in decimal units.
std::string format_bytes(long long n);

}  // namespace seek
