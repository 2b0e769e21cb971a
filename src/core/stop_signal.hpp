// SIGINT / SIGTERM while a long job runs (a training run, a chat reply). The first signal asks the job to
// stop at its next safe point, which it polls with requested(): `seek train` and `seek grpo` then save a
// checkpoint so that --resume continues exactly (and exit 130), `seek chat` ends the reply. A second signal
// ends the process at once, as if no handler were installed, for a job that would take too long to reach
// such a point.
#pragma once

namespace seek {

class StopOnSignal {
 public:
  // Installs the handlers and clears any earlier request. `notice` (a string literal, or empty) is written
  // to stderr when the first signal arrives, to say what happens next.
  explicit StopOnSignal(const char* notice);
  ~StopOnSignal();  // puts back the handlers it replaced
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

  // Whether a stop was asked for; `where` names the safe point asking. Tests make a real signal arrive at a
  // chosen point with SEEK_TEST_SIGNAL_AT="<where>:<n>": the process raises SIGINT at the n-th (from 1)
  // check of that point, so the interrupt path runs through the same handler as a user's Ctrl-C.
  bool requested(const char* where) const;
};

// What `seek train` and `seek grpo` say on the first signal.
inline constexpr const char kCheckpointNotice[] =
    "\nseek: stopping at the next safe point to save a checkpoint (signal again to quit at once)\n";

}  // namespace seek
