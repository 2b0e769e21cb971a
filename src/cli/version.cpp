#include "cli/version.hpp"

#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/dot_block.hpp"

namespace seek::cli {

namespace {

const char* yes_no(bool b) {
  return b ? "yes" : "no";
}

}  // namespace

std::string version_text() {
  const dnnl_version_t* dnnl = dnnl_version();
#if defined(SEEK_HAVE_AVX512)
  constexpr bool kAvx512 = true;
#else
  constexpr bool kAvx512 = false;
#endif
#if defined(SEEK_HAVE_BF16_DOT)
  constexpr bool kBf16 = true;
#else
  constexpr bool kBf16 = false;
#endif
#if defined(__SANITIZE_ADDRESS__)
  const char* build = ", AddressSanitizer";
#elif defined(NDEBUG)
  const char* build = "";
#else
  const char* build = ", assertions on (not a release build)";
#endif
#if defined(__clang__)
  const char* compiler = "clang " __clang_version__;
#else
  const char* compiler = "g++ " __VERSION__;
#endif
  __builtin_cpu_init();
  return fmt::format(
      "seek {} ({})\n"
      "built with {}, oneDNN {}.{}.{}{}\n"
      "kernels: AVX-512 {}, AVX512-BF16 {}; this CPU: AVX-512 {}, AVX512-BF16 {}",
      build_commit(), build_commit_date(), compiler, dnnl->major, dnnl->minor, dnnl->patch, build,
      yes_no(kAvx512), yes_no(kBf16), yes_no(__builtin_cpu_supports("avx512f")),
      yes_no(__builtin_cpu_supports("avx512bf16")));
}

}  // namespace seek::cli
