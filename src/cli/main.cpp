#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <ext/stdio_sync_filebuf.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>
#include <system_error>

#include "cli/registry.hpp"
#include "core/error.hpp"

namespace seek::cli {
std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> r;
  return r;
}
}  // namespace seek::cli

namespace {

// A standard stream closed by the caller (`seek ... >&-`) leaves its descriptor number free, and the next
// open() (a checkpoint's temporary file, say) would get it: printing would then write into that file. The
// number is taken by /dev/null opened the other way round, so every write to it fails and is reported below.
void occupy_closed_standard_streams() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // No O_CLOEXEC: like any standard stream it is inherited by child processes.
    const int got = ::open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
    if (got >= 0 && got != fd) {
      ::dup2(got, fd);
      ::close(got);
    }
  }
}

// stdout's bytes go to descriptor 1 through this writer, which keeps the errno of the first failed write:
// stdio forgets it (a failed fflush drops its data and reports success the next time, with nothing left to
// write), and commands and CLI11 flush stdout themselves without looking at the result.
int g_stdout_errno = 0;

ssize_t write_stdout(void*, const char* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    const ssize_t w = ::write(STDOUT_FILENO, buf + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (g_stdout_errno == 0) g_stdout_errno = w < 0 ? errno : ENOSPC;  // no progress: as a full disk
      break;
    }
    done += size_t(w);
  }
  return ssize_t(done);  // short: stdio marks the stream as failed
}

// Replaces stdout by a stream over write_stdout (glibc documents stdout as assignable), buffered as stdout
// is: by line on a terminal, else fully. std::cout, which CLI11 prints help with, is pointed at it too, so
// both keep writing in order into the one buffer.
void route_stdout_through_checked_writer() {
  FILE* f = ::fopencookie(nullptr, "w", cookie_io_functions_t{nullptr, write_stdout, nullptr, nullptr});
  if (f == nullptr) return;  // keep the plain stdout; its errors are still detected, without a reason
  std::setvbuf(f, nullptr, ::isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ);
  stdout = f;
  // Never freed: std::cout is flushed after main's statics are destroyed, so the buffer must outlive them.
  std::cout.rdbuf(new __gnu_cxx::stdio_sync_filebuf<char>(f));
}

// Flushes stdout (the rest of what the command printed sits in its buffer until now): "" when everything
// reached its destination, else why not.
std::string stdout_failure() {
  std::cout.flush();
  const bool cout_failed = !std::cout.good();
  const bool failed = std::fflush(stdout) != 0 || std::ferror(stdout) || cout_failed;
  if (!failed) return "";
  return g_stdout_errno != 0 ? std::strerror(g_stdout_errno) : "a write failed, the output is incomplete";
}

// A message on stderr. std::fputs, not fmt::print: fmt throws when stderr itself is broken (`2>&-`), and a
// throw here, outside the try block, would end in std::terminate.
void say(const std::string& message) {
  std::fputs(message.c_str(), stderr);
}

void report_stdout_failure(const std::string& why) {
  say(fmt::format("seek: error: cannot write to standard output: {}\n", why));
}

}  // namespace

int main(int argc, char** argv) {
  occupy_closed_standard_streams();
  route_stdout_through_checked_writer();
  CLI::App app{"seek: train, run and RL-tune DeepSeek-architecture models on CPUs"};
  app.require_subcommand(1);
  auto& reg = seek::cli::command_registry();
  std::sort(reg.begin(), reg.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& spec : reg) spec.setup(*app.add_subcommand(spec.name, spec.help));
  int rc = 0;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    rc = app.exit(e);
  } catch (const seek::Error& e) {
    say(fmt::format("seek: error: {}\n", e.what()));
    return 1;
  } catch (const std::system_error& e) {
    // fmt::print throws this when a write to stdout fails (a full buffer that cannot be flushed).
    if (std::ferror(stdout)) {
      report_stdout_failure(stdout_failure());
      return 1;
    }
    say(fmt::format("seek: internal error: {}\n", e.what()));
    return 2;
  } catch (const std::exception& e) {
    say(fmt::format("seek: internal error: {}\n", e.what()));
    return 2;
  }
  if (const std::string why = stdout_failure(); !why.empty()) {
    report_stdout_failure(why);
    return rc != 0 ? rc : 1;
  }
  return rc;
}
