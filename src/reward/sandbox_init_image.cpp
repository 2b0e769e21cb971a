// The bytes of the seek-sandbox-init program (src/sandbox_init/main.cpp, linked statically), assembled into
// the library so that the sandbox can start it from memory wherever the trainer's binary is. CMake passes its
// path; this object is rebuilt when it changes.
#include "reward/sandbox_init_image.hpp"

#ifndef SEEK_SANDBOX_INIT_PATH
#error "SEEK_SANDBOX_INIT_PATH must name the built seek-sandbox-init program"
#endif

asm(".pushsection .rodata.seek_sandbox_init,\"a\",@progbits\n"
    ".balign 64\n"
    "seek_sandbox_init_begin:\n"
    ".incbin \"" SEEK_SANDBOX_INIT_PATH
    "\"\n"
    "seek_sandbox_init_end:\n"
    ".popsection\n");

extern "C" {
extern const unsigned char seek_sandbox_init_begin[] __attribute__((visibility("hidden")));
extern const unsigned char seek_sandbox_init_end[] __attribute__((visibility("hidden")));
}

namespace seek::reward::detail {

std::string_view sandbox_init_image() {
  return {reinterpret_cast<const char*>(seek_sandbox_init_begin),
          static_cast<size_t>(seek_sandbox_init_end - seek_sandbox_init_begin)};
}

}  // namespace seek::reward::detail
