// The sandbox's seccomp filter, written as classic BPF with the kernel headers (no libseccomp needed):
// allow everything except system calls that reach outside the sandbox or the kernel's attack surface.
#pragma once
#include <linux/filter.h>

namespace seek::reward::detail {

// The filter for this architecture, or nullptr where none is written (then the sandbox reports
// "seccomp: unsupported architecture" and relies on its other layers). The program is static and shared.
// unix_sockets: socket(AF_UNIX) allowed, for a run in its own network namespace, where no host socket is
// reachable; without one, socket() fails for every family.
const sock_fprog* sandbox_seccomp_filter(bool unix_sockets);

}  // namespace seek::reward::detail
