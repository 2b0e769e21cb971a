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
  // the reasoning, whose header comes with the reply's first text or its end (so a reply stopped before
  // it began can show nothing at all). tty: dim it (ANSI) instead of headers. `write` receives everything
  // shown; by default stdout, flushed after each piece (flush_stdout).
  ThinkPrinter(bool in_think, bool tty, Write write = {});
  // The next piece of the reply; a tag split across pieces is held back until it is whole.
  void feed(std::string_view text);
  // Shows what was held back and ends the line; an empty reply ends its (empty) line too, so a script reads
  // a line per reply. A reasoning block the model never closed ends without an [answer] header: no answer
  // follows.
  void end();
  // For a reply stopped before its first token (seek chat's Ctrl-C in the prefill): shows nothing, its
  // header and line ending neither, where nothing was shown yet (else as end()).
  void end_before_it_began();

 private:
  void open();
  void show_think_header();
  void close();
  void emit(std::string_view text);
  void put(std::string_view text);  // every write, so end_before_it_began knows whether any was made

  bool in_think_, tty_;
  bool header_owed_;            // in the reasoning from the start, its header not shown yet
  bool in_think_open_ = false;  // a reasoning header (or the dim escape) is shown and not yet closed
  bool at_line_start_ = true, wrote_ = false;
  Write write_;
  std::string pending_;
};

}  // namespace seek
