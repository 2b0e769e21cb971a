// SIGPIPE held off for one stretch of a thread's writes, so a write to a pipe whose reader has gone fails
// with EPIPE instead of ending the process. For writes whose failure is not the command's failure (notes on
// stderr), or is handled where it happens (a sandboxed program's stdin, output flushed before an error).
#pragma once
#include <signal.h>

namespace seek {

// SIGPIPE is blocked in this thread while the object lives; a SIGPIPE the writes raised meanwhile is consumed
// before the old mask comes back (unless SIGPIPE was blocked before: then what is pending stays the
// caller's).
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlocked() {
    if (sigismember(&old_, SIGPIPE)) return;
    const timespec zero{0, 0};
    while (sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

 private:
  sigset_t pipe_, old_;
};

}  // namespace seek
