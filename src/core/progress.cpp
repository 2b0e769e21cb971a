#include "core/progress.hpp"

#include "core/stderr.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <utility>

namespace seek {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const int64_t t = int64_t(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

ProgressLine::ProgressLine(std::string what, int64_t total, std::string unit)
    : ProgressLine(std::move(what), total, std::move(unit), Options{}) {}

ProgressLine::ProgressLine(std::string what, int64_t total, std::string unit, Options opt)
    : what_(std::move(what)), unit_(std::move(unit)), total_(total), opt_(std::move(opt)) {
  if (!opt_.now) opt_.now = steady_seconds;
  terminal_ = opt_.terminal >= 0 ? opt_.terminal == 1 : ::isatty(::fileno(opt_.out)) == 1;
  start_ = last_ = opt_.now();
}

ProgressLine::~ProgressLine() {
  finish();
}

double ProgressLine::elapsed() const {
  return opt_.now() - start_;
}

void ProgressLine::update(int64_t done, const std::function<std::string(double)>& detail) {
  if (finished_) return;
  const double t = opt_.now(), el = t - start_;
  // On a terminal the line appears once the work has run first_after seconds; a log gets its first line
  // after log_every, like every later one.
  const double every = terminal_ ? opt_.terminal_every : opt_.log_every;
  if (el < (terminal_ ? opt_.first_after : opt_.log_every) || t - last_ < every) return;
  last_ = t;
  std::string line = fmt::format("{}: {}/{} {}", what_, done, total_, unit_);
  if (total_ > 0) line += fmt::format(" ({:.0f}%)", 100.0 * double(done) / double(total_));
  if (detail) line += " | " + detail(el);
  const double eta = done > 0 && total_ >= done ? el * double(total_ - done) / double(done) : NAN;
  line += fmt::format(" | {} elapsed | ETA {}", format_duration(el), format_duration(eta));
  if (terminal_) {
    // \r back to the line's start, \x1b[K clears what a longer earlier line left.
    write_diagnostic(fmt::format("\r{}\x1b[K", line), opt_.out);
    open_line_ = true;
  } else {
    write_diagnostic(line + "\n", opt_.out);
  }
}

void ProgressLine::finish() {
  if (finished_) return;
  finished_ = true;
  if (open_line_) {
    write_diagnostic(opt_.erase ? "\r\x1b[K" : "\n", opt_.out);
  }
}

}  // namespace seek
