// How seek chat shows a streamed reply: reasoning under headers (or dimmed on a terminal), tags split across
// pieces held back until whole.
#include "infer/think_printer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace seek {
namespace {

std::string shown(bool in_think, bool tty, const std::vector<std::string>& pieces) {
  std::string out;
  ThinkPrinter p(in_think, tty, [&](std::string_view s) { out += s; });
  for (const auto& piece : pieces) p.feed(piece);
  p.end();
  return out;
}

TEST(ThinkPrinter, HeadersStartTheirOwnLines) {
  EXPECT_EQ(shown(false, false, {"<think>r</think>a"}), "[thinking]\nr\n[answer]\na\n");
  // Text before <think> ran into the header (". [thinking]").
  EXPECT_EQ(shown(false, false, {"Sure. ", "<think>r\n</think>a"}), "Sure. \n[thinking]\nr\n[answer]\na\n");
  EXPECT_EQ(shown(true, false, {"r</think>", "a"}), "[thinking]\nr\n[answer]\na\n");
  // Empty reasoning after text: the header ends its line, so [answer] follows it with no blank line.
  EXPECT_EQ(shown(false, false, {"Sure. <think></think>a"}), "Sure. \n[thinking]\n[answer]\na\n");
}

TEST(ThinkPrinter, TagsSplitAcrossPiecesAreHeldBack) {
  EXPECT_EQ(shown(false, false, {"<thi", "nk>r</th", "ink>a"}), "[thinking]\nr\n[answer]\na\n");
  // A prefix of a tag that never completes is shown at the end.
  EXPECT_EQ(shown(false, false, {"a <thi"}), "a <thi\n");
  // Never closed: no [answer] header.
  EXPECT_EQ(shown(true, false, {"r"}), "[thinking]\nr\n");
}

TEST(ThinkPrinter, DimsTheReasoningOnATerminal) {
  EXPECT_EQ(shown(false, true, {"<think>r</think>a"}), "\x1b[2mr\x1b[0m\na\n");
  EXPECT_EQ(shown(true, true, {"r"}), "\x1b[2mr\x1b[0m\n");
}

// A reply that started in the reasoning shows its header with its first text: one stopped before it began
// (seek chat's Ctrl-C in the prefill) printed "[thinking]" and an empty line for a reply never given, and on
// a terminal turned dim while the prefill's progress line was drawn. A reply that ended empty still shows
// its line (and header), as before: a script reads a line per reply.
TEST(ThinkPrinter, AReplyStoppedBeforeItBeganShowsNothing) {
  auto unbegun = [](bool in_think, bool tty, const std::vector<std::string>& pieces) {
    std::string out;
    ThinkPrinter p(in_think, tty, [&](std::string_view s) { out += s; });
    for (const auto& piece : pieces) p.feed(piece);
    p.end_before_it_began();
    return out;
  };
  for (bool tty : {false, true})
    for (bool in_think : {false, true}) {
      EXPECT_EQ(unbegun(in_think, tty, {}), "");
      EXPECT_EQ(unbegun(in_think, tty, {""}), "");
    }
  EXPECT_EQ(unbegun(true, false, {"r"}), "[thinking]\nr\n");  // something shown: ends as end() does
  EXPECT_EQ(unbegun(false, false, {"<th"}), "<th\n");
  EXPECT_EQ(shown(true, false, {}), "[thinking]\n\n");
  EXPECT_EQ(shown(true, true, {}), "\x1b[2m\x1b[0m\n");
  EXPECT_EQ(shown(false, false, {}), "\n");
  EXPECT_EQ(shown(true, false, {"</think>a"}), "[thinking]\n[answer]\na\n");
  EXPECT_EQ(shown(true, true, {"</think>a"}), "\x1b[2m\x1b[0m\na\n");
  EXPECT_EQ(shown(true, false, {"</th"}), "[thinking]\n</th\n");
  std::string out;
  ThinkPrinter p(true, true, [&](std::string_view s) { out += s; });
  EXPECT_EQ(out, "");  // nothing before the first text: the prefill's progress line is drawn undimmed
  p.feed("r");
  EXPECT_EQ(out, "\x1b[2mr");
}

}  // namespace
}  // namespace seek
