// How seek's OpenMP threads wait between parallel regions when the user has not said.
//
// libgomp's default (neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT set) is to spin 300,000 times before
// sleeping, several milliseconds on CPUs whose pause instruction is slow. On a quiet machine that costs
// nothing. But once another process is busy on one of the cores seek uses, a thread that waits at a barrier
// spins on the core the late thread needs, and every one of a decode step's ~100 regions stalls for a
// scheduler time slice: small.json decoded ~1,000x slower (bench/infer/wait-policy.sh, BENCHMARKS.md).
// A short spin keeps almost all of the quiet machine's speed and avoids the collapse.
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
