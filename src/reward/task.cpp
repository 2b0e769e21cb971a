// The Task base class: options shared by every task, the train/held-out streams and the split, prompt
// templates, and verification through answer extraction (see task.hpp).
#include "reward/task.hpp"

#include <algorithm>
#include <unordered_set>

#include "core/error.hpp"

namespace seek::reward {

namespace {

constexpr int kMaxAttempts = 1'000'000;
// The smallest held-out fraction: about 1000 draws per held-out problem, far inside kMaxAttempts.
constexpr double kMinHeldOutFraction = 1e-3;
// See Task::draw.
constexpr int kExhaustCheck = 1000;

const char* kR1Template =
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The "
    "assistant first thinks about the reasoning process in the mind and then provides the user with the "
    "answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> "
    "tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here "
    "</answer>.\nUser: ";
const char* kInstruction =
    "\nThink step by step inside <think> </think> and put the final answer inside <answer> </answer>.";

std::vector<std::string> with_common(const std::vector<std::string>& extra) {
  std::vector<std::string> keys{"seed",     "eval_seed",          "held_out_fraction",
                                "template", "require_answer_tag", "think_prefilled"};
  keys.insert(keys.end(), extra.begin(), extra.end());
  return keys;
}

uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t stable_hash(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return mix(h);
}

Task::Task(std::string name, const nlohmann::json& options, const std::vector<std::string>& extra)
    : name_(std::move(name)), reader_(options, "task '" + name_ + "'", with_common(extra)) {
  const OptionReader& o = reader_;
  seed_ = uint64_t(o.integer("seed", 0, 0, INT64_MAX));
  eval_seed_ = uint64_t(o.integer("eval_seed", 1234, 0, INT64_MAX));
  held_out_fraction_ = o.number("held_out_fraction", 0.01, 0.0, 0.5);
  // Each held-out problem takes about 1 / held_out_fraction draws to find: at the split's resolution of 1e-6
  // (one key in 10^6 buckets) a million, where draw gives up (kMaxAttempts), so a third of the held-out
  // problems failed, and a slow task took minutes per problem. At 1e-3, a thousand (milliseconds).
  if (held_out_fraction_ > 0 && held_out_fraction_ < kMinHeldOutFraction)
    fail(
        "{}: option 'held_out_fraction' is {}, below {}: each held-out problem takes about 1 / "
        "held_out_fraction draws to find, which at smaller fractions is slow and can fail; give 0 for no "
        "held-out set, or at least {}",
        o.where(), held_out_fraction_, kMinHeldOutFraction, kMinHeldOutFraction);
  template_ = o.string("template", "r1");
  if (template_ != "r1" && template_ != "instruction" && template_ != "plain")
    fail("{}: option 'template' must be \"r1\", \"instruction\" or \"plain\", got \"{}\"", o.where(),
         template_);
  require_answer_tag_ = o.boolean("require_answer_tag", true);
  think_prefilled_ = o.boolean("think_prefilled", false);
  // Only the r1 prompt ends in an Assistant turn to open <think> in; elsewhere the verifier would look for
  // answers after a <think> the prompt never opened, and score every right answer 0.
  SEEK_CHECK(
      !think_prefilled_ || template_ == "r1",
      "{}: option 'think_prefilled' opens <think> at the end of the \"r1\" template's prompt; template "
      "\"{}\" has no Assistant turn to open it in (use template \"r1\", or leave think_prefilled out)",
      o.where(), template_);
  options_ = {{"seed", seed_},
              {"eval_seed", eval_seed_},
              {"held_out_fraction", held_out_fraction_},
              {"template", template_},
              {"require_answer_tag", require_answer_tag_},
              {"think_prefilled", think_prefilled_}};
}

std::string Task::prompt_for(const std::string& question) const {
  if (template_ == "r1")
    return kR1Template + question + "\nAssistant:" + (think_prefilled_ ? " <think>" : "");
  if (template_ == "instruction") return question + kInstruction;
  return question;
}

bool Task::in_held_out_set(const std::string& key) const {
  if (held_out_fraction_ <= 0) return false;
  uint64_t bucket = stable_hash(name_ + "\n" + key) % 1'000'000;
  return double(bucket) < held_out_fraction_ * 1e6;
}

Problem Task::make_problem(TaskInstance inst, const char* split, uint64_t index) const {
  Problem p;
  p.id = name_ + "/" + split + "/" + std::to_string(index);
  // The instruction template is for chat models: a user turn, rendered in the model's chat format like a
  // dataset's `messages` (it was sent as bare text, which a chat model never saw in training).
  if (template_ == "instruction")
    p.messages = nlohmann::json::array({{{"role", "user"}, {"content", prompt_for(inst.question)}}});
  else
    p.prompt = prompt_for(inst.question);
  p.answer = std::move(inst.answer);
  p.data = std::move(inst.data);
  p.data["key"] = inst.key;
  p.data["question"] = inst.question;
  p.task = shared_from_this();
  return p;
}

Problem Task::train(uint64_t index) const {
  return draw(false, index);
}

Problem Task::held_out(uint64_t index) const {
  if (held_out_fraction_ <= 0) fail("task '{}': held_out_fraction is 0, so there is no held-out set", name_);
  return draw(true, index);
}

std::vector<Problem> Task::held_out_problems(int64_t n) const {
  std::vector<Problem> out;
  std::unordered_set<std::string> seen;
  int64_t without_new = 0;
  // Bounded in all: collecting nearly all of a space about n large would take ~n·ln(n) draws.
  const uint64_t max_draws = 20 * uint64_t(std::max<int64_t>(n, 0)) + 1000;
  for (uint64_t i = 0; int64_t(out.size()) < n && i < max_draws; ++i) {
    Problem p = held_out(i);
    if (seen.insert(p.data.at("key").get<std::string>()).second) {
      out.push_back(std::move(p));
      without_new = 0;
    } else if (++without_new > 1000 + 10 * int64_t(out.size())) {
      break;
    }
  }
  return out;
}

Problem Task::draw(bool held_out, uint64_t index) const {
  // Keys of the first kExhaustCheck attempts. Options with only a handful of distinct problems (countdown
  // with 2 numbers and one target, word_reversal over the few 12-letter words) may have none on the wanted
  // side of the split; drawing until kMaxAttempts would then take hours where one problem costs
  // milliseconds (a rare countdown target). When the second half of the first kExhaustCheck attempts brings
  // no key the first half had not seen, the problems are (nearly) all known and none of them fits.
  std::unordered_set<std::string> keys;
  size_t keys_at_half = 0;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    Rng rng(held_out ? mix(~eval_seed_ ^ mix(index * 0x9e3779b97f4a7c15ull + uint64_t(attempt)))
                     : mix(seed_ ^ mix(index * 0x100000001b3ull + uint64_t(attempt))));
    TaskInstance inst = generate(rng);
    if (in_held_out_set(inst.key) == held_out)
      return make_problem(std::move(inst), held_out ? "held_out" : "train", index);
    if (attempt >= kExhaustCheck) continue;
    keys.insert(inst.key);
    if (attempt + 1 == kExhaustCheck / 2) keys_at_half = keys.size();
    if (attempt + 1 == kExhaustCheck && keys.size() == keys_at_half)
      fail(
          "task '{}': its options allow only about {} distinct problem{} ({} more draws found no new one), "
          "and {}; widen the task's options or {} held_out_fraction ({})",
          name_, keys.size(), keys.size() == 1 ? "" : "s", kExhaustCheck / 2,
          held_out ? "none is in the held-out set" : "all are held out for evaluation",
          held_out ? "raise" : "lower", held_out_fraction_);
  }
  if (held_out)
    fail(
        "task '{}': no held-out problem found in {} attempts (held_out_fraction too low for this "
        "difficulty?)",
        name_, kMaxAttempts);
  fail(
      "task '{}': no training problem outside the held-out set after {} attempts (held_out_fraction too high "
      "for this difficulty?)",
      name_, kMaxAttempts);
}

ExtractOptions Task::extract_options() const {
  ExtractOptions e;
  e.require_answer_tag = require_answer_tag_;
  e.think_prefilled = think_prefilled_;
  e.allow_gsm8k = false;
  e.allow_last_number = false;  // a task answer must be stated, not guessed from the reasoning's last number
  return e;
}

double Task::verify(const Problem& problem, std::string_view completion, const Deadline& deadline,
                    bool prompt_opens_think, const ExtractOptions* stricter) const {
  ExtractOptions e = extract_options();
  e.think_prefilled = e.think_prefilled || prompt_opens_think;
  if (stricter) {
    e.require_answer_tag = e.require_answer_tag || stricter->require_answer_tag;
    e.reject_multiple_answers = e.reject_multiple_answers || stricter->reject_multiple_answers;
    e.allow_boxed = e.allow_boxed && stricter->allow_boxed;
  }
  ExtractedAnswer a = extract_answer(completion, e, deadline);
  if (!a.found()) return 0.0;
  double r = check(problem, a.text, deadline);
  return r < 0 ? 0.0 : (r > 1 ? 1.0 : r);
}

}  // namespace seek::reward
