// seek-sandbox-init: the sandbox's PID-namespace init (or, without namespaces, the program's launcher) as a
// small static program of its own. The trainer starts it vfork-style (sharing its memory only until this
// exec), from a copy embedded in the library (sandbox_init_image.cpp), so a run never copies the page tables
// of the trainer's memory, which cost ~25 ms per GB on 4 KB pages. It reads the run's ChildPlan from
// descriptor kInitPlan, finds its pipes on the InitFd descriptors, and goes on as child_main does in a copy.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "reward/sandbox_child.hpp"
#include "reward/sandbox_plan.hpp"

int main() {
  using namespace seek::reward::detail;
  // The report pipe must close at the program's exec (the trainer reads EOF there); the launch handed it over
  // without close-on-exec so that it survived this program's own exec.
  fcntl(kInitReport, F_SETFD, FD_CLOEXEC);
  std::string bytes;
  char chunk[16384];
  for (;;) {
    const ssize_t got = read(kInitPlan, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    bytes.append(chunk, static_cast<size_t>(got));
  }
  close(kInitPlan);
  DecodedPlan decoded;
  if (!decode_plan(bytes, decoded)) {
    report(kInitReport, kReportSetupFailed, kStepStartInit, EINVAL);
    _exit(126);
  }
  child_main(decoded.plan);
}
