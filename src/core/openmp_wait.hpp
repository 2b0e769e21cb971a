// How seek's OpenMP threads wait between parallel regions when the user has not said.
//
// libgomp's default (neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT set) is to spin 300,000 times before
// sleeping, milliseconds on CPUs whose pause instruction is slow. On a quiet machine that is what keeps
// threads ready. But once other busy processes share the cores seek uses, a thread that waits at a barrier
// spins on the core the late thread needs, and a decode step has ~100 regions. Measured (BENCHMARKS.md,
// "OpenMP waiting"): beside another seek run and a busy process, 1.5-3.5x slower than with a short spin;
// while a demo and a build ran, small.json decoded at 1.3 tok/s against 109 with GOMP_SPINCOUNT=1000. The
// short spin costs 7-14% on a small model on a quiet machine, nothing measurable on a V2-Lite-shaped one.
//
// libgomp reads these variables once, when it loads, before main() runs; so the only way to change its
// default is to start the program again with the variable set.
#pragma once

namespace seek {

// The spin count seek asks libgomp for (GOMP_SPINCOUNT) when the user set neither OMP_WAIT_POLICY nor
// GOMP_SPINCOUNT.
inline constexpr const char* kDefaultOpenmpSpinCount = "1000";

// Call first thing in main(), before any parallel region: when neither variable is set, sets GOMP_SPINCOUNT
// and re-executes the program (/proc/self/exe, the same arguments, descriptors and environment otherwise).
// Returns when a variable was already set, or when re-executing failed (the program then runs on with
// libgomp's default).
void use_short_openmp_spin_by_default(char** argv);

}  // namespace seek
