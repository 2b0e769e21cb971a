// Streamed chat replies shown with their reasoning apart: the text inside <think> ... </think> dimmed on a
// terminal, or under "[thinking]" / "[answer]" headers elsewhere (a pipe, a file), and the answer plain.
#pragma once
#include <functional>
#include <string>
#include <string_view>

namespace seek {

class ThinkPrinter {
 public:
  using Write = std::function<void(std::string_view)>;

  // in_think: the prompt already opened <think> (R1's format, V3.1's thinking one), so the reply starts in
  // the reasoning. tty: dim it (ANSI) instead of headers. `write` receives everything shown; by default
  // stdout, flushed after each piece (flush_stdout).
  ThinkPrinter(bool in_think, bool tty, Write write = {});
  // The next piece of the reply; a tag split across pieces is held back until it is whole.
  void feed(std::string_view text);
  // Shows what was held back and ends the line. A reasoning block the model never closed ends without an
  // [answer] header: no answer follows.
  void end();

 private:
  void open();
  void close();
  void emit(std::string_view text);

  bool in_think_, tty_, at_line_start_ = true;
  Write write_;
  std::string pending_;
};

}  // namespace seek
