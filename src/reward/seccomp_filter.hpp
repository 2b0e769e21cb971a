// The sandbox's seccomp filter, written as classic BPF with the kernel headers (no libseccomp needed):
// allow everything except system calls that reach outside the sandbox or the kernel's attack surface.
#pragma once
#include <linux/filter.h>

namespace seek::reward::detail {

// The filter for this architecture, or nullptr where none is written (then the sandbox reports
// "seccomp: unsupported architecture" and relies on its other layers). The program is static and shared.
const sock_fprog* sandbox_seccomp_filter();

}  // namespace seek::reward::detail
