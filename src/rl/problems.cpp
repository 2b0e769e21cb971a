#include "rl/problems.hpp"

#include "core/count_of.hpp"
#include "core/error.hpp"
#include "core/read_file.hpp"
#include "core/rng.hpp"
#include "core/stderr.hpp"
#include "core/untrusted_json.hpp"
#include "reward/dataset.hpp"
#include "train/data_hash.hpp"

namespace seek {

ProblemSource::ProblemSource(const std::string& task_name, const nlohmann::json& task_options,
                             const std::string& data, uint64_t seed)
    : data_path_(data), seed_(seed) {
  check_problem_source(task_name, task_options, data);
  if (!task_name.empty()) {
    task_ = reward::make_task(task_name, task_options);
  } else {
    // Read once: parsed and hashed from the same bytes (read twice, a FIFO hung on the second read).
    const std::string bytes = reward::read_problems_file(data);
    data_ = reward::parse_problems_jsonl(bytes, data);
    content_ = {{"inputs", nlohmann::json::array(
                               {{{"size", bytes.size()},
                                 {"hash", data::hex64(data::content_hash(bytes.data(), bytes.size()))}}})}};
  }
}

void check_problem_source(const std::string& task_name, const nlohmann::json& task_options,
                          const std::string& data) {
  SEEK_CHECK(task_name.empty() != data.empty(), "give exactly one of --task NAME or --data FILE");
  const bool options_given = !task_options.is_null() && !(task_options.is_object() && task_options.empty());
  SEEK_CHECK(
      data.empty() || !options_given,
      "--task-options ({}) apply only to a built-in --task; the problems of --data {} would ignore them, "
      "so drop them",
      describe_json(task_options), data);
}

int64_t ProblemSource::for_each_probe(int64_t task_count,
                                      const std::function<void(const reward::Problem&)>& visit) const {
  if (!task_) {
    for (const reward::Problem& p : data_) visit(p);
    return int64_t(data_.size());
  }
  for (int64_t i = 0; i < task_count; ++i) visit(task_->train(uint64_t(i)));
  return task_count;
}

reward::Problem ProblemSource::train(uint64_t index) const {
  if (task_) return task_->train(index);
  // Epoch e visits the records in a permutation drawn from (seed, e): deterministic and resumable by index.
  const uint64_t n = data_.size(), epoch = index / n;
  std::vector<uint64_t> perm(n);
  for (uint64_t i = 0; i < n; ++i) perm[i] = i;
  Rng rng(seed_ * 0x9e3779b97f4a7c15ull + epoch);
  for (uint64_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[rng.below(i)]);
  return data_[perm[index % n]];
}

std::vector<reward::Problem> distinct_held_out(const reward::Task& task, int64_t n) {
  std::vector<reward::Problem> out = task.held_out_problems(n);
  if (int64_t(out.size()) < n)
    print_stderr(
        "note: task '{}' has only {} with these options, fewer than the {} asked for: each is evaluated "
        "once (widen the task's options or raise held_out_fraction for more)\n",
        task.name(), count_of(int64_t(out.size()), "distinct held-out problem"), n);
  return out;
}

std::vector<reward::Problem> ProblemSource::held_out(int64_t n) const {
  std::vector<reward::Problem> out;
  if (task_) {
    if (held_out_asked_ != n) {
      held_out_ = distinct_held_out(*task_, n);
      held_out_asked_ = n;
    }
    return held_out_;
  }
  const int64_t m = n <= 0 ? int64_t(data_.size()) : std::min<int64_t>(n, int64_t(data_.size()));
  out.assign(data_.begin(), data_.begin() + m);
  return out;
}

std::string ProblemSource::describe() const {
  return task_ ? "task " + task_->name() + " " + task_->options().dump() : "dataset " + data_path_;
}

namespace {

bool is_chat_problem(const reward::Problem& p) {
  return p.messages.is_array() && !p.messages.empty();
}

std::vector<ChatMessage> chat_messages(const reward::Problem& p) {
  std::vector<ChatMessage> msgs;
  for (const auto& m : p.messages) msgs.push_back({m.value("role", ""), m.value("content", "")});
  return msgs;
}

ChatOptions problem_chat_options(ChatStyle style) {
  ChatOptions opt;
  opt.style = style;
  opt.add_generation_prompt = true;
  return opt;
}

}  // namespace

// From the prompt's text, not the style alone: R1's and V3.1's templates add no generation prompt after a
// trailing tool turn, so no <think> is opened there (the scorers took one as opened, and a completion's
// own "<think>…</think><answer>" scored format 0).
bool prompt_opens_think(const reward::Problem& p, ChatStyle style) {
  const std::string rendered = is_chat_problem(p) && generation_prompt_opens_think(style)
                                   ? render_chat(chat_messages(p), problem_chat_options(style))
                                   : std::string();
  std::string_view s = is_chat_problem(p) ? std::string_view(rendered) : std::string_view(p.prompt);
  while (!s.empty() && std::isspace((unsigned char)s.back())) s.remove_suffix(1);
  return s.ends_with(tokens::kThink);
}

bool is_instruction_template(const nlohmann::json& task_options) {
  if (!task_options.is_object()) return false;
  const auto t = task_options.find("template");
  return t != task_options.end() && t->is_string() && *t == "instruction";
}

std::vector<int32_t> encode_problem_prompt(const Tokenizer& tok, const reward::Problem& p, ChatStyle style) {
  if (is_chat_problem(p)) return encode_chat(tok, chat_messages(p), problem_chat_options(style));
  // Special-token text is read as those tokens, as Hugging Face's tokenizers read a prompt and as seek
  // train reads an SFT prompt: a prompt rendered ahead ("<｜begin▁of▁sentence｜><｜User｜>…") had its
  // BOS spelled out in 12 text tokens while the non-special <｜User｜> was a token. A prompt that starts
  // with the BOS text gets no second BOS.
  std::vector<int32_t> ids = tok.encode(p.prompt, /*add_special=*/true, /*parse_special=*/true);
  const int32_t bos = tok.bos_id();
  if (bos >= 0 && ids.size() >= 2 && ids[0] == bos && ids[1] == bos) ids.erase(ids.begin());
  return ids;
}

}  // namespace seek
