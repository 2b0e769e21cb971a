// SIGINT / SIGTERM / SIGHUP while a long job runs (a training run, the demo, a chat reply). The first signal
// asks the job to stop at its next safe point, which it polls with requested(): `seek train` and `seek grpo`
// then save a checkpoint so that --resume continues exactly, `seek chat` ends the reply. A second signal ends
// the process at once, as if no handler were installed, for a job that would take too long to reach such a
// point. A signal the process was started ignoring (`nohup`, `trap '' INT`, a background job of a script)
// stays ignored.
#pragma once

namespace seek {

class StopOnSignal {
 public:
  // The outermost one installs the handlers and clears any earlier request; one made while another lives
  // (a training run inside `seek demo`) shares its request, so a stop asked for during the inner job is
  // still seen by the outer one afterwards. `notice` (a string literal, or "") is written to stderr when the
  // first signal arrives, to say what happens next; the outermost one's is used.
  // closed_stdout: also stop when standard output's reader goes away (SIGPIPE, as in `seek train | head`),
  // for jobs that must save before they end; without it a closed pipe ends the process at once, as usual.
  explicit StopOnSignal(const char* notice, bool closed_stdout = false);
  ~StopOnSignal();  // the outermost one puts back the handlers it replaced
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

  // Whether a stop was asked for; `where` names the safe point asking. Tests make a real signal arrive at a
  // chosen point with SEEK_TEST_SIGNAL_AT="<where>:<n>": the process raises SIGINT at the n-th (from 1)
  // check of that point, so the interrupt path runs through the same handler as a user's Ctrl-C
  // ("<where>:<n>:TERM" raises SIGTERM, "<where>:<n>:HUP" SIGHUP).
  bool requested(const char* where) const;

  // The signal that asked for the last stop (0: none since the outermost StopOnSignal was made); still
  // known after it is gone.
  static int signal_received();
  // Whether a stop was asked for while a StopOnSignal lives. Safe to call from any thread: work spread over
  // threads that a safe point cannot reach in time (sandboxed reward runs, seconds each) polls it to end
  // early, and its results are then discarded by the job, which stops.
  static bool stop_pending();
};

// After a job stopped by a signal has saved what it must: flushes stdout and stderr and ends the process
// by that same signal, as a program without a handler would have ended. A shell then reports 130 (SIGINT),
// 143 (SIGTERM), 129 (SIGHUP) or 141 (SIGPIPE), and a script running the command stops too instead of going
// on to its next line.
[[noreturn]] void end_by_stop_signal();

// What `seek train` and `seek grpo` say on the first signal.
inline constexpr const char kCheckpointNotice[] =
    "\nseek: stopping at the next safe point to save a checkpoint (Ctrl-C or SIGTERM again quits at once)\n";

}  // namespace seek
