// The progress line of long runs (`seek eval`, `seek perplexity`, `seek logits`), on a clock the test moves:
// in a log a line every log_every seconds and nothing before; on a terminal one line rewritten in place from
// first_after on, ended by finish(); done of total, the caller's detail, elapsed time and the ETA.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/progress.hpp"

namespace seek {
namespace {

// An in-memory FILE* and what was written to it.
struct Captured {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* f = open_memstream(&buf, &size);
  ~Captured() {
    std::fclose(f);
    std::free(buf);
  }
  std::string text() {
    std::fflush(f);
    return std::string(buf, size);
  }
};

ProgressLine::Options on(Captured& c, double& clock, int terminal) {
  ProgressLine::Options o;
  o.out = c.f;
  o.terminal = terminal;
  o.now = [&clock] { return clock; };
  return o;
}

TEST(Progress, FormatDuration) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(59.4), "59s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(3600 + 12 * 60 + 30), "1h12m");
  EXPECT_EQ(format_duration(-1), "?");
  EXPECT_EQ(format_duration(1.0 / 0.0), "?");
}

TEST(Progress, LogGetsALineEveryInterval) {
  Captured c;
  double clock = 100;
  {
    ProgressLine p("eval", 10, "completions", on(c, clock, 0));
    clock += 14;
    p.update(2, [](double) { return std::string("12 tokens/s"); });
    EXPECT_EQ(c.text(), "") << "a log's first line comes after log_every";
    clock += 1;  // 15 s
    p.update(3, [](double elapsed) { return "detail at " + std::to_string(int(elapsed)); });
    EXPECT_EQ(c.text(), "eval: 3/10 completions (30%) | detail at 15 | 15s elapsed | ETA 35s\n");
    clock += 10;
    p.update(5);
    EXPECT_EQ(c.text().find("5/10"), std::string::npos) << "within the interval";
    clock += 5;  // 30 s
    p.update(10);
    EXPECT_NE(c.text().find("\neval: 10/10 completions (100%) | 30s elapsed | ETA 0s\n"), std::string::npos)
        << c.text();
  }
  EXPECT_EQ(c.text().find('\r'), std::string::npos);
  EXPECT_EQ(c.text().back(), '\n');
}

TEST(Progress, TerminalRewritesOneLine) {
  Captured c;
  double clock = 0;
  ProgressLine p("perplexity", 1000, "tokens", on(c, clock, 1));
  clock = 1.9;
  p.update(100);
  EXPECT_EQ(c.text(), "") << "short runs print nothing";
  clock = 2.0;
  p.update(200);
  EXPECT_EQ(c.text(), "\rperplexity: 200/1000 tokens (20%) | 2s elapsed | ETA 8s\x1b[K");
  clock = 2.3;
  p.update(250);
  EXPECT_EQ(c.text().find("250/"), std::string::npos) << "rewritten at most every terminal_every";
  clock = 2.5;
  p.update(300);
  EXPECT_NE(c.text().find("\rperplexity: 300/1000 tokens (30%)"), std::string::npos) << c.text();
  EXPECT_EQ(c.text().find('\n'), std::string::npos);
  p.finish();
  EXPECT_EQ(c.text().back(), '\n');
  const std::string before = c.text();
  clock = 100;
  p.update(1000);
  p.finish();
  EXPECT_EQ(c.text(), before) << "nothing after finish";
}

// With erase, a terminal's line is cleared at the end, for output that follows on the same line (the tokens
// `seek generate` streams after its prefill); a log keeps its lines.
TEST(Progress, EraseClearsTheTerminalLine) {
  for (int terminal : {1, 0}) {
    Captured c;
    double clock = 0;
    ProgressLine::Options o = on(c, clock, terminal);
    o.erase = true;
    ProgressLine p("prefill", 4096, "prompt tokens", o);
    clock = 20;
    p.update(512);
    p.finish();
    EXPECT_EQ(c.text(),
              terminal ? "\rprefill: 512/4096 prompt tokens (12%) | 20s elapsed | ETA 2m20s\x1b[K\r\x1b[K"
                       : "prefill: 512/4096 prompt tokens (12%) | 20s elapsed | ETA 2m20s\n");
  }
}

TEST(Progress, NothingPrintedNeedsNoNewline) {
  Captured c;
  double clock = 0;
  {
    ProgressLine p("logits", 5, "tokens", on(c, clock, 1));
    clock = 1;
    p.update(5);
  }
  EXPECT_EQ(c.text(), "");
}

TEST(Progress, UnknownEtaBeforeAnythingIsDone) {
  Captured c;
  double clock = 0;
  ProgressLine p("eval", 4, "completions", on(c, clock, 0));
  clock = 20;
  p.update(0);
  EXPECT_EQ(c.text(), "eval: 0/4 completions (0%) | 20s elapsed | ETA ?\n");
}

}  // namespace
}  // namespace seek
