#include "infer/think_printer.hpp"

#include <fmt/core.h>

#include "core/partial_match.hpp"
#include "core/stdout.hpp"
#include "tokenizer/tokenizer.hpp"

namespace seek {

ThinkPrinter::ThinkPrinter(bool in_think, bool tty, Write write)
    : in_think_(in_think), tty_(tty), write_(std::move(write)) {
  if (!write_)
    write_ = [](std::string_view text) {
      fmt::print("{}", text);
      flush_stdout();
    };
  if (in_think_) open();
}

void ThinkPrinter::feed(std::string_view text) {
  pending_ += text;
  for (;;) {
    const std::string_view tag = in_think_ ? tokens::kEndThink : tokens::kThink;
    const size_t at = pending_.find(tag);
    if (at == std::string::npos) {
      // Keep back what could still become the tag.
      const size_t keep = partial_match_tail(pending_, tag);
      emit(std::string_view(pending_).substr(0, pending_.size() - keep));
      pending_.erase(0, pending_.size() - keep);
      return;
    }
    emit(std::string_view(pending_).substr(0, at));
    pending_.erase(0, at + tag.size());
    if (in_think_) {
      close();
    } else {
      open();
    }
  }
}

void ThinkPrinter::end() {
  emit(pending_);
  pending_.clear();
  if (in_think_ && tty_) write_("\x1b[0m");
  in_think_ = false;
  write_("\n");
}

void ThinkPrinter::open() {
  in_think_ = true;
  // A header starts its own line, also after text the model wrote before <think>.
  if (tty_) {
    write_("\x1b[2m");
  } else {
    write_(at_line_start_ ? "[thinking]\n" : "\n[thinking]\n");
    at_line_start_ = true;
  }
}

void ThinkPrinter::close() {
  in_think_ = false;
  write_(tty_ ? "\x1b[0m\n" : at_line_start_ ? "[answer]\n" : "\n[answer]\n");
  at_line_start_ = true;
}

void ThinkPrinter::emit(std::string_view text) {
  if (text.empty()) return;
  write_(text);
  at_line_start_ = text.back() == '\n';
}

}  // namespace seek
