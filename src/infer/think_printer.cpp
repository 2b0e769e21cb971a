#include "infer/think_printer.hpp"

#include <fmt/core.h>

#include "core/partial_match.hpp"
#include "core/stdout.hpp"
#include "tokenizer/tokenizer.hpp"

namespace seek {

ThinkPrinter::ThinkPrinter(bool in_think, bool tty, Write write)
    : in_think_(in_think), tty_(tty), header_owed_(in_think), write_(std::move(write)) {
  if (!write_)
    write_ = [](std::string_view text) {
      fmt::print("{}", text);
      flush_stdout();
    };
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
  if (header_owed_) show_think_header();  // an empty reply in the reasoning shows as one, as it always did
  in_think_ = false;
  if (in_think_open_ && tty_) put("\x1b[0m");
  in_think_open_ = false;
  put("\n");
}

void ThinkPrinter::end_before_it_began() {
  if (wrote_ || !pending_.empty()) end();
}

void ThinkPrinter::open() {
  in_think_ = true;
  show_think_header();
}

void ThinkPrinter::show_think_header() {
  header_owed_ = false;
  in_think_open_ = true;
  // A header starts its own line, also after text the model wrote before <think>.
  if (tty_) {
    put("\x1b[2m");
  } else {
    put(at_line_start_ ? "[thinking]\n" : "\n[thinking]\n");
    at_line_start_ = true;
  }
}

void ThinkPrinter::close() {
  if (header_owed_) show_think_header();  // an empty reasoning block is still shown as one
  in_think_ = in_think_open_ = false;
  put(tty_ ? "\x1b[0m\n" : at_line_start_ ? "[answer]\n" : "\n[answer]\n");
  at_line_start_ = true;
}

void ThinkPrinter::emit(std::string_view text) {
  if (text.empty()) return;
  if (header_owed_) show_think_header();
  put(text);
  at_line_start_ = text.back() == '\n';
}

void ThinkPrinter::put(std::string_view text) {
  write_(text);
  wrote_ = true;
}

}  // namespace seek
