// Running the built `seek` binary (SEEK_BINARY) as a user does, for the CLI tests.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace seek::test {

struct CmdResult {
  int code = -1;       // exit status, or 128 + the signal that ended it (as a shell reports it)
  std::string output;  // what `redirect` sends to the pipe: stdout and stderr with the default
};

// `redirect` goes after the arguments: "2>&1" keeps stderr, "2>/dev/null" gives stdout alone, "2>&1
// >/dev/null" stderr alone, "< file 2>&1" feeds stdin too.
inline CmdResult run_command(const std::string& cmd);

inline CmdResult run(const std::string& args, const std::string& redirect = "2>&1") {
  return run_command(std::string(SEEK_BINARY) + " " + args + " " + redirect);
}

// `producer | seek args redirect`: standard input from a pipe (`cat /dev/zero` is an endless one, where
// `< /dev/zero` is a device).
inline CmdResult run_fed(const std::string& producer, const std::string& args,
                         const std::string& redirect = "2>&1") {
  return run_command(producer + " | " + std::string(SEEK_BINARY) + " " + args + " " + redirect);
}

// A shell command line; its output as `redirect` above leaves it.
inline CmdResult run_command(const std::string& cmd) {
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

// How many times `what` occurs in `text`.
inline size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A refused run: exit status 1 and `seek: error: ` (not an internal error) with `what` in the message.
inline void expect_error(const std::string& args, const std::string& what) {
  const CmdResult r = run(args);
  EXPECT_EQ(r.code, 1) << args << "\n" << r.output;
  EXPECT_NE(r.output.find("seek: error: "), std::string::npos) << args << "\n" << r.output;
  EXPECT_NE(r.output.find(what), std::string::npos) << args << "\n" << r.output;
}

}  // namespace seek::test
