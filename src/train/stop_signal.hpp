// SIGINT / SIGTERM while `seek train` or `seek grpo` runs. The first signal asks the run to stop at its next
// safe point, where it saves a checkpoint so that --resume continues exactly (the process then exits 130);
// a second one ends the process at once, as if no handler were installed, for a step that would take too
// long to reach such a point.
#pragma once

namespace seek {

class StopOnSignal {
 public:
  StopOnSignal();   // installs the handlers and clears any earlier request
  ~StopOnSignal();  // puts back the handlers it replaced
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

  // Whether a stop was asked for; `where` names the safe point asking. Tests make a real signal arrive at a
  // chosen point with SEEK_TEST_SIGNAL_AT="<where>:<n>": the process raises SIGINT at the n-th (from 1)
  // check of that point, so the interrupt path runs through the same handler as a user's Ctrl-C.
  bool requested(const char* where) const;
};

}  // namespace seek
