// Diagnostics on standard error (notes, progress, timing lines) that never stop a run. fmt::print throws when
// a write fails, which on stderr (`2>&-`, `2>/dev/full`, a pipe whose reader has gone) would end a command
// whose real output, on stdout or in its files, was fine; these write with stdio, SIGPIPE held off, and
// ignore failures, as a message that cannot be shown has nowhere else to go. Errors themselves are printed by
// main, the same way.
#pragma once
#include <fmt/format.h>

#include <cstdio>
#include <string_view>

namespace seek {

// text to `to` (stderr unless given), failures ignored.
void write_diagnostic(std::string_view text, std::FILE* to = stderr);

template <typename... Args>
void print_stderr(fmt::format_string<Args...> f, Args&&... args) {
  write_diagnostic(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace seek
