// Word tasks over the built-in word list:
//   letter_counting: 'How many times does the letter "r" appear in "strawberry jam"?' -> "3". The answer is
//                    uniform over the counts the text has, 0 included. Knob: words per text.
//   word_reversal:   'Spell the word "banana" backward.' -> "ananab" (case-insensitive; quotes around the
//                    answer are ignored). Knob: word length.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <tuple>

#include "reward/answer_extract.hpp"
#include "reward/task.hpp"
#include "reward/task_util.hpp"
#include "reward/tasks_internal.hpp"

#include "core/error.hpp"

namespace seek::reward::detail {

namespace {

class LetterCountingTask : public Task {
 public:
  explicit LetterCountingTask(const nlohmann::json& options)
      : Task("letter_counting", options, {"min_words", "max_words"}) {
    const OptionReader& o = reader();
    std::tie(min_words_, max_words_) = o.integer_range("min_words", "max_words", 1, 3, 1, 50);
    record("min_words", min_words_);
    record("max_words", max_words_);
  }

 protected:
  TaskInstance generate(Rng& rng) const override {
    const auto& words = word_list();
    int n = int(uniform_int(rng, min_words_, max_words_));
    std::string text;
    for (int i = 0; i < n; ++i) {
      if (i) text += ' ';
      text += words[rng.below(words.size())];
    }
    // The answer is drawn uniformly from the counts this text has (0 for a letter it lacks): asking about a
    // random letter of the text answered 1 nearly half the time, so a constant "1" earned half the reward.
    std::array<int64_t, 26> counts{};
    for (char c : text)
      if (c != ' ') ++counts[size_t(c - 'a')];
    std::vector<int64_t> distinct(counts.begin(), counts.end());
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    const int64_t count = distinct[rng.below(distinct.size())];
    std::vector<char> letters;
    for (size_t i = 0; i < counts.size(); ++i)
      if (counts[i] == count) letters.push_back(char('a' + i));
    const char letter = letters[rng.below(letters.size())];
    TaskInstance inst;
    inst.key = fmt::format("{}|{}", letter, text);
    inst.question = fmt::format("How many times does the letter \"{}\" appear in \"{}\"?", letter, text);
    inst.answer = std::to_string(count);
    inst.data = {{"text", text}, {"letter", std::string(1, letter)}, {"count", count}};
    return inst;
  }

  double check(const Problem& p, const std::string& answer, const Deadline&) const override {
    auto v = parse_int_answer(answer);
    return v && *v == p.data.at("count").get<int64_t>() ? 1.0 : 0.0;
  }

 private:
  int64_t min_words_, max_words_;
};

class WordReversalTask : public Task {
 public:
  explicit WordReversalTask(const nlohmann::json& options)
      : Task("word_reversal", options, {"min_length", "max_length"}) {
    const OptionReader& o = reader();
    std::tie(min_len_, max_len_) = o.integer_range("min_length", "max_length", 3, 8, 3, 12);
    for (auto w : word_list()) {
      if (int64_t(w.size()) >= min_len_ && int64_t(w.size()) <= max_len_) pool_.push_back(w);
    }
    if (pool_.empty()) fail("{}: no built-in word has {} to {} letters", o.where(), min_len_, max_len_);
    record("min_length", min_len_);
    record("max_length", max_len_);
  }

 protected:
  TaskInstance generate(Rng& rng) const override {
    std::string w(pool_[rng.below(pool_.size())]);
    std::string r(w.rbegin(), w.rend());
    TaskInstance inst;
    inst.key = w;
    inst.question = fmt::format("Spell the word \"{}\" backward.", w);
    inst.answer = r;
    inst.data = {{"word", w}, {"reversed", r}};
    return inst;
  }

  double check(const Problem& p, const std::string& answer, const Deadline&) const override {
    std::string a = strip_wrappers(answer);
    for (auto& c : a) c = char(std::tolower((unsigned char)c));
    return a == p.data.at("reversed").get<std::string>() ? 1.0 : 0.0;
  }

 private:
  int64_t min_len_, max_len_;
  std::vector<std::string_view> pool_;
};

}  // namespace

std::shared_ptr<Task> make_letter_counting(const nlohmann::json& o) {
  return std::make_shared<LetterCountingTask>(o);
}
std::shared_ptr<Task> make_word_reversal(const nlohmann::json& o) {
  return std::make_shared<WordReversalTask>(o);
}

}  // namespace seek::reward::detail
