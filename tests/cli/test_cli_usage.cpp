// Command lines CLI11 cannot parse (an unknown flag or command, a missing or malformed value, no command)
// are bad input like any other: `seek: error: ...` on stderr, where to look up the usage, exit status 1
// (CLI11's own report had no prefix and exit codes 104-114). --help still prints to stdout and exits 0.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

struct CmdResult {
  int code = -1;
  std::string output;
};

// `redirect` picks the streams: "2>&1" both, "2>/dev/null" stdout alone, "2>&1 >/dev/null" stderr alone.
CmdResult run(const std::string& args, const std::string& redirect = "2>&1") {
  const std::string cmd = std::string(SEEK_BINARY) + " " + args + " " + redirect;
  CmdResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

TEST(CliUsage, ParseErrorsAreSeekErrorsWithAHint) {
  struct Case {
    std::string args, message, command;
  };
  const std::vector<Case> cases = {
      {"", "seek needs a command", "seek"},
      {"nosuch --model x", "unknown command 'nosuch'", "seek"},
      {"--bogus", "unknown option --bogus: seek needs a command first", "seek"},
      {"train --bogus", "the following argument was not expected: --bogus", "seek train"},
      {"generate", "--model is required", "seek generate"},
      {"generate --model x --temperature abc", "could not convert: --temperature = abc", "seek generate"},
      {"generate --model x extra", "the following argument was not expected: extra", "seek generate"},
      {"generate --model x --ctx 1", "--ctx: must be a whole number >= 2, got '1'", "seek generate"},
      {"eval --model x --problems", "--problems: 1 required INT missing", "seek eval"},
      // A misspelt required flag: named next to the requirement it fails.
      {"generate --modle x", "--model is required (not understood: --modle x)", "seek generate"},
      {"tokenizer", "seek tokenizer needs a command", "seek tokenizer"},
      {"tokenizer bogus", "unknown command 'bogus'", "seek tokenizer"},
      {"tokenizer train --input a.txt --out t", "--vocab-size is required", "seek tokenizer train"},
  };
  for (const Case& c : cases) {
    const CmdResult err = run(c.args, "2>&1 >/dev/null");
    EXPECT_EQ(err.code, 1) << c.args << ": " << err.output;
    EXPECT_EQ(err.output, "seek: error: " + c.message + "\nRun '" + c.command + " --help' for usage.\n")
        << c.args;
    EXPECT_EQ(run(c.args, "2>/dev/null").output, "") << c.args << ": nothing on stdout";
  }
}

TEST(CliUsage, HelpExitsZeroOnStdout) {
  for (const char* args : {"--help", "-h", "train --help", "tokenizer --help", "tokenizer train --help",
                           "generate --model x --bogus --help"}) {
    const CmdResult out = run(args, "2>/dev/null");
    EXPECT_EQ(out.code, 0) << args;
    EXPECT_NE(out.output.find("Usage:"), std::string::npos) << args << ": " << out.output;
    EXPECT_EQ(run(args, "2>&1 >/dev/null").output, "") << args << ": nothing on stderr";
  }
}

}  // namespace
