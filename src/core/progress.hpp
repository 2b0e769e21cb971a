// A progress line on stderr for work that can run long (`seek eval`, `seek perplexity`): done of total, the
// caller's figures (tokens/s, a running perplexity), time elapsed and an ETA. On a terminal it is one line
// rewritten in place about twice a second, from 2 s on; elsewhere (a log file, a pipe) a new line every 15 s,
// so short runs print nothing and logs stay short. stdout keeps only results.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

namespace seek {

// "42s", "3m05s", "1h12m"; "?" when not finite or negative.
std::string format_duration(double seconds);

class ProgressLine {
 public:
  struct Options {
    std::FILE* out = stderr;
    int terminal = -1;  // 1: rewrite one line, 0: a line at a time; -1: whether `out` is a terminal
    double first_after = 2.0, terminal_every = 0.5, log_every = 15.0;  // seconds
    bool erase = false;  // on a terminal, finish() clears the line instead of ending it (output follows)
    std::function<double()> now;  // seconds on a steady clock; default std::chrono::steady_clock
  };

  // `what` starts the line ("eval"); `unit` names what `total` counts ("completions").
  ProgressLine(std::string what, int64_t total, std::string unit);
  ProgressLine(std::string what, int64_t total, std::string unit, Options opt);
  ~ProgressLine();  // finish()
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // `done` of the total so far, with `detail` after the count (e.g. "1,234 tok/s"); printed when due.
  // Cheap when not due: call it as often as convenient. `detail` is built only when a line is due.
  void update(int64_t done, const std::function<std::string(double elapsed)>& detail = {});
  // Ends a line rewritten in place with a newline, or clears it with Options::erase (nothing when nothing
  // was printed). update() after it prints nothing.
  void finish();
  // Seconds since construction.
  double elapsed() const;

 private:
  std::string what_, unit_;
  int64_t total_;
  Options opt_;
  bool terminal_ = false, open_line_ = false, finished_ = false;
  double start_ = 0, last_ = 0;
};

}  // namespace seek
