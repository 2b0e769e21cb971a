// What `seek --version` prints: the commit the binary was built from, the compiler and oneDNN it was built
// with, and whether its kernels use AVX-512 / AVX512-BF16 and this CPU has them (what a bug report needs).
#pragma once
#include <string>

namespace seek::cli {

const char* build_commit();       // 12 hex digits, "-dirty" if tracked files differed; or "unknown"
const char* build_commit_date();  // YYYY-MM-DD of that commit, or "unknown"

std::string version_text();

}  // namespace seek::cli
