// Temporary files that a signal must not leave behind. AtomicFile writes "<target>.tmp.<pid>" and removes it
// when it is destroyed, but a process ended by a signal (Ctrl-C, `kill`) runs no destructor: a run stopped
// while it wrote a large output (logits of a long input, an evaluation's completions) left gigabytes of
// half-written temporaries. So the temporaries being written are also listed here, and the signal handlers
// remove them before the process ends: the one main installs (remove_temporaries_on_signals) and the second
// signal of a StopOnSignal.
#pragma once

namespace seek {

// Lists `path` (copied); returns its slot for unregister_temporary, or -1 when the list is full or the path
// too long (then only the destructor removes it).
int register_temporary(const char* path);
void unregister_temporary(int slot);

// Deletes every listed temporary. Async-signal-safe (unlink only), for signal handlers.
void remove_registered_temporaries();

// Installs handlers for SIGINT, SIGTERM and SIGHUP (each where the process did not start out ignoring it)
// that remove the listed temporaries and then end the process by the same signal, as it would have ended
// without them. main calls it once, before any command runs.
void remove_temporaries_on_signals();

}  // namespace seek
