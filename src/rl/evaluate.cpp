#include "rl/evaluate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <string_view>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "infer/engine.hpp"
#include "reward/reward.hpp"
#include "rl/grpo_loss.hpp"
#include "rl/problems.hpp"

namespace seek {

nlohmann::json EvalResult::to_json() const {
  nlohmann::json j = {{"problems", problems}, {"completions", completions}, {"mean_reward", mean_reward},
                      {"accuracy", accuracy}, {"format_rate", format_rate}, {"mean_length", mean_length}};
  for (auto [k, v] : pass_at) j["pass@" + std::to_string(k)] = v;
  return j;
}

EvalScorer::EvalScorer(const std::vector<reward::Problem>& problems, const reward::CombinedReward* run_reward,
                       ChatStyle style)
    : accuracy_(reward::make_reward("accuracy")), format_(reward::make_reward("format")), style_(style) {
  if (const nlohmann::json* o = run_reward ? run_reward->options_of("accuracy") : nullptr)
    run_accuracy_ = reward::make_reward("accuracy", *o);
  if (std::none_of(problems.begin(), problems.end(), [](const auto& p) { return p.is_code(); })) return;
  code_ = run_reward ? run_reward->find("code") : nullptr;
  if (code_) {
    const auto& names = run_reward->names();
    run_code_index_ = int(std::find(names.begin(), names.end(), "code") - names.begin());
  } else {
    try {
      own_code_ = reward::make_reward("code");
    } catch (const Error& e) {
      fail(
          "code problems are checked with the code reward (its options come from a \"code\" entry of the "
          "rewards): {}",
          e.what());
    }
    code_ = own_code_.get();
  }
  code_->check_problems(problems);
}

reward::RewardInput EvalScorer::as_prompted(const reward::RewardInput& in) const {
  reward::RewardInput r = in;
  r.prompt_opens_think = prompt_opens_think(*in.problem, style_);
  return r;
}

double EvalScorer::correctness(const reward::RewardInput& given, const reward::RewardScore* run_scores,
                               std::string* note) const {
  const reward::RewardInput in = as_prompted(given);
  const bool reuse = in.problem->is_code() && run_scores && run_code_index_ >= 0 &&
                     size_t(run_code_index_) < run_scores->components.size();
  std::string why;
  if (reuse && size_t(run_code_index_) < run_scores->notes.size())
    why = run_scores->notes[size_t(run_code_index_)];
  const double c = reuse                   ? run_scores->components[size_t(run_code_index_)]
                   : in.problem->is_code() ? code_->score_noted(in, why)
                                           : (run_accuracy_ ? run_accuracy_ : accuracy_)->score(in);
  if (note) *note = why;
  // Still NaN: a problem without answer, task or tests (problem_from_json refuses those); not solved.
  return std::isnan(c) ? 0.0 : c;
}

double EvalScorer::format(const reward::RewardInput& in) const {
  return format_->score(as_prompted(in));
}

void EvalOptions::validate() const {
  SEEK_CHECK(samples >= 1, "eval needs at least one sample per problem");
  for (int k : ks) {
    // A k of 0 or less read as "pass@0 needs at least 0 samples per problem".
    SEEK_CHECK(k >= 1, "pass@k needs k >= 1 (the number of samples that may solve a problem), got {}", k);
    SEEK_CHECK(k <= samples, "pass@{} needs at least {} samples per problem (have {})", k, k, samples);
  }
}

EvalResult evaluate(const InferModel& model, const Tokenizer& tok,
                    const std::vector<reward::Problem>& problems, const EvalOptions& opt,
                    const reward::CombinedReward* run_reward, std::ostream* out) {
  opt.validate();
  // Each k once, in the order given: `--k 1 1` (or the demo's {1, samples} with one sample) printed pass@1
  // twice.
  std::vector<int> ks;
  for (int k : opt.ks)
    if (std::find(ks.begin(), ks.end(), k) == ks.end()) ks.push_back(k);
  // Before generating: a code reward that cannot run here fails now.
  const EvalScorer scorer(problems, run_reward, opt.chat_style);
  EngineOptions eo;
  eo.max_batch = opt.max_batch;
  eo.cache_type = opt.cache_type;
  Engine engine(model, &tok, eo);
  for (size_t i = 0; i < problems.size(); ++i) {
    GenRequest req;
    req.prompt = encode_problem_prompt(tok, problems[i], opt.chat_style);
    req.params = opt.sampling;
    req.params.seed = opt.sampling.seed * 1000003ull + i;
    req.n = opt.samples;
    try {
      engine.submit(std::move(req));
    } catch (const Error& e) {  // a prompt longer than the context, say: which of the problems
      fail("problem {}: {}", problems[i].id, e.what());
    }
  }
  const int64_t total = int64_t(problems.size()) * opt.samples;
  std::optional<ProgressLine> generating;
  int64_t finished = 0;
  if (opt.progress) {
    generating.emplace("eval", total, "completions", *opt.progress);
    engine.on_token = [&](const TokenEvent& e) { finished += e.finished; };
  }
  EvalResult res;
  res.context = engine.max_context();
  auto stop = [&] { return opt.stop_requested && (res.stopped = opt.stop_requested()); };
  while (engine.step()) {
    if (stop()) return res;
    if (generating)
      generating->update(finished, [&](double elapsed) {
        return fmt::format("{:.0f} tokens/s", double(engine.stats().generated_tokens) / elapsed);
      });
  }
  generating.reset();
  res.cache_note = cache_budget_note(engine.stats(), eo.max_batch);
  // Scoring can take long too: code completions run in the sandbox, each against its tests.
  std::optional<ProgressLine> scoring;
  if (opt.progress) scoring.emplace("eval: scoring", total, "completions", *opt.progress);
  res.problems = int64_t(problems.size());
  std::vector<double> pass_sum(ks.size(), 0.0);
  double reward_sum = 0, acc_sum = 0, fmt_sum = 0, len_sum = 0;
  for (size_t i = 0; i < problems.size(); ++i) {
    if (stop()) return res;
    const auto& comps = engine.completions(int(i));
    int64_t correct = 0;
    for (size_t s = 0; s < comps.size(); ++s) {
      const Completion& c = comps[s];
      const reward::RewardInput in = scorer.as_prompted({&problems[i], c.text, int64_t(c.tokens.size())});
      // The run's rewards first: where they hold the code reward, its score is the correctness too (the
      // programs ran twice, and a timing-sensitive one could get a reward that disagreed with its accuracy).
      std::optional<reward::RewardScore> scored;
      if (run_reward) scored = run_reward->score(in);
      std::string note;
      const double acc = scorer.correctness(in, scored ? &*scored : nullptr, &note), fmt = scorer.format(in);
      const double r = scored ? scored->total : acc;
      correct += acc >= 1.0;
      acc_sum += acc;
      fmt_sum += fmt >= 1.0;
      reward_sum += r;
      len_sum += double(c.tokens.size());
      res.context_cut += c.finish == FinishReason::Context;
      ++res.completions;
      const auto [prompt_key, prompt] = problems[i].logged_prompt();
      if (out) {
        nlohmann::json line = {{"problem", problems[i].id},
                               {"sample", s},
                               {prompt_key, prompt},
                               {"completion", c.text},
                               {"answer", problems[i].answer},
                               {"accuracy", acc},
                               {"format", fmt},
                               {"reward", r},
                               {"finish", finish_reason_name(c.finish)},
                               {"tokens", c.tokens.size()}};
        if (!note.empty()) line["note"] = note;  // why a code completion failed its tests
        *out << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      }
      // After each completion: a stop asked for while it was scored cut its code runs short (the sandbox
      // kills them), so its score, and so the figures, would be wrong.
      if (stop()) return res;
    }
    for (size_t j = 0; j < ks.size(); ++j) pass_sum[j] += pass_at_k(int64_t(comps.size()), correct, ks[j]);
    if (scoring) scoring->update(res.completions);
  }
  scoring.reset();
  const double np = std::max<double>(1, double(res.problems)),
               nc = std::max<double>(1, double(res.completions));
  for (size_t j = 0; j < ks.size(); ++j) res.pass_at.emplace_back(ks[j], pass_sum[j] / np);
  res.mean_reward = reward_sum / nc;
  res.accuracy = acc_sum / nc;
  res.format_rate = fmt_sum / nc;
  res.mean_length = len_sum / nc;
  return res;
}

}  // namespace seek
