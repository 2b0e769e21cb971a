#include "rl/grpo_settings.hpp"

#include <algorithm>

#include <cmath>
#include <filesystem>
#include <limits>
#include <utility>

#include "core/error.hpp"
#include "reward/combined_reward.hpp"
#include "reward/task.hpp"
#include "rl/problems.hpp"
#include "train/settings_io.hpp"

namespace seek {

GrpoSettings GrpoSettings::from_json(const nlohmann::json& j, const std::string& source) {
  return settings_from_json<GrpoSettings>(j, source);
}

nlohmann::json GrpoSettings::to_json() const {
  return settings_to_json(*this);
}

std::vector<std::string> GrpoSettings::settings_without_effect() const {
  const GrpoSettings d;
  InertSettingNotes notes;
  note_shared_settings_without_effect(*this, notes);
  const PolicyLoss loss = parse_policy_loss(policy_loss);
  notes.add(
      epsilon_low != d.epsilon_low || epsilon_high != d.epsilon_high, loss != PolicyLoss::Clip,
      fmt::format("epsilon_low and epsilon_high clip the ratio of policy_loss clip; {} has no use for them",
                  policy_loss));
  notes.add(cispo_max != d.cispo_max, loss != PolicyLoss::Cispo,
            fmt::format("cispo_max has no effect with policy_loss {} (only with cispo)", policy_loss));
  notes.add(
      sapo_temperature_pos != d.sapo_temperature_pos || sapo_temperature_neg != d.sapo_temperature_neg,
      loss != PolicyLoss::Sapo,
      fmt::format("sapo_temperature_pos and sapo_temperature_neg have no effect with policy_loss {} (only "
                  "with sapo)",
                  policy_loss));
  notes.add(kl_estimator != d.kl_estimator, beta == 0, "kl_estimator has no effect with beta 0 (no KL term)");
  notes.add(dynamic_sampling_metric != d.dynamic_sampling_metric || max_dynamic_draws != d.max_dynamic_draws,
            !dynamic_sampling,
            "dynamic_sampling_metric and max_dynamic_draws have no effect without dynamic_sampling");
  notes.add(eval_problems != d.eval_problems || eval_samples != d.eval_samples, eval_every == 0,
            "eval_problems and eval_samples have no effect with eval_every 0 (no evaluation)");
  return notes.take();
}

GrpoLossOptions GrpoSettings::loss_options() const {
  GrpoLossOptions o;
  o.epsilon_low = epsilon_low;
  o.epsilon_high = epsilon_high;
  o.delta = delta;
  o.policy_loss = parse_policy_loss(policy_loss);
  o.cispo_max = cispo_max;
  o.sapo_temperature_pos = sapo_temperature_pos;
  o.sapo_temperature_neg = sapo_temperature_neg;
  o.importance_level = parse_importance_level(importance_sampling_level);
  o.beta = beta;
  o.kl = parse_kl_estimator(kl_estimator);
  o.entropy_coef = entropy_coef;
  o.aggregation = parse_loss_aggregation(loss_aggregation);
  o.max_completion_length = max_completion_length;
  return o;
}

Schedule GrpoSettings::make_schedule() const {
  return shared_schedule(*this, steps * num_iterations);
}

namespace {

constexpr double kMinGrpoTemperature = 1e-5;  // see validate()
constexpr double kMinSapoTemperature = 1e-6;  // see validate()

}  // namespace

nlohmann::json GrpoSettings::resolve_on_resume(const std::string& key, const nlohmann::json& given,
                                               const std::filesystem::path& /*checkpoint*/,
                                               const nlohmann::json& saved) {
  if (key != "task_options") return given;
  const auto saved_options = saved.find("task_options");
  const nlohmann::json was = saved_options != saved.end() ? *saved_options : nlohmann::json::object();
  const auto no_options = [](const nlohmann::json& o) { return o.is_null() || (o.is_object() && o.empty()); };
  if (no_options(given) && no_options(was)) return was;
  const auto task = saved.find("task");
  if (task == saved.end() || !task->is_string() || task->get<std::string>().empty()) return given;
  try {
    // The options as the task reads them, defaults filled in: the same problems, in the same order.
    if (reward::make_task(*task, given)->options() == reward::make_task(*task, was)->options()) return was;
  } catch (const Error&) {
    // Options the task refuses differ from the saved ones, which it took: refused as a change.
  }
  return given;
}

bool GrpoSettings::reads_on_resume(const std::string& key, const nlohmann::json& settings) {
  if (key == "data") return true;
  if (key != "init") return false;
  // A beta that is not a number is reported by from_json; a reference is not read for it.
  const auto beta = settings.find("beta");
  return beta != settings.end() && beta->is_number() && beta->get<double>() > 0;
}

void GrpoSettings::validate() const {
  SEEK_CHECK(!init.empty(), "give the policy's model directory with --init DIR");
  check_problem_source(task, task_options, data);
  validate_shared(*this);
  require_positive(prompts_per_step, "prompts_per_step");
  require_positive(max_prompt_length, "max_prompt_length");
  require_positive(max_completion_length, "max_completion_length");
  require_positive(num_iterations, "num_iterations");
  require_positive(micro_batch, "micro_batch");
  require_positive(rollout_batch, "rollout_batch");
  require_positive(max_dynamic_draws, "max_dynamic_draws");
  SEEK_CHECK(group_size >= 2, "group_size must be at least 2 (advantages compare completions of one prompt)");
  // Counts that multiply one another (prompts × draws, prompts × group) and reach the engine as ints: far
  // beyond any step that fits in memory, and small enough that no product of them overflows.
  for (const auto& [name, v] :
       {std::pair{"prompts_per_step", prompts_per_step}, std::pair{"group_size", group_size},
        std::pair{"max_dynamic_draws", max_dynamic_draws}, std::pair{"micro_batch", micro_batch},
        std::pair{"rollout_batch", rollout_batch}, std::pair{"num_iterations", num_iterations},
        std::pair{"eval_samples", eval_samples}})
    SEEK_CHECK(v <= kMaxGrpoCount, "{} must be at most {} (got {})", name, kMaxGrpoCount, v);
  SEEK_CHECK(steps <= std::numeric_limits<int64_t>::max() / num_iterations,
             "steps × num_iterations (the optimizer steps) must fit in 64 bits (steps {}, num_iterations {})",
             steps, num_iterations);
  // inf passes the comparisons below (and is saved to settings.json as null, which a resume cannot read).
  for (const auto& [name, v] :
       {std::pair{"temperature", temperature}, std::pair{"epsilon_low", epsilon_low},
        std::pair{"epsilon_high", epsilon_high}, std::pair{"delta", delta}, std::pair{"cispo_max", cispo_max},
        std::pair{"sapo_temperature_pos", sapo_temperature_pos},
        std::pair{"sapo_temperature_neg", sapo_temperature_neg}, std::pair{"beta", beta},
        std::pair{"entropy_coef", entropy_coef}})
    SEEK_CHECK(std::isfinite(v), "{} must be a finite number, got {}", name, v);
  // The sampler's temperature is an fp32 (compared in double: a cast past its range is undefined).
  SEEK_CHECK(temperature <= double(std::numeric_limits<float>::max()),
             "temperature {} is beyond the largest fp32 number (~3.4e38)", temperature);
  SEEK_CHECK(temperature > 0,
             "temperature must be positive: GRPO's log-probabilities are taken at the sampling "
             "temperature (got {})",
             temperature);
  // Below 1e-5 sampling is greedy in effect (vLLM treats it so), and a group of identical samples has no
  // advantage to learn from; far below it (1e-38) the log-probabilities, logits / temperature in fp32,
  // overflowed and the run stopped at its first step with a non-finite gradient that did not name the cause.
  SEEK_CHECK(temperature >= kMinGrpoTemperature,
             "temperature {} is below {}: sampling is greedy there (a group's samples all alike, their "
             "advantages 0), and at the smallest values logits / temperature overflow fp32",
             temperature, kMinGrpoTemperature);
  SEEK_CHECK(epsilon_low >= 0 && epsilon_low < 1, "epsilon_low must be in [0, 1), got {}", epsilon_low);
  SEEK_CHECK(epsilon_high >= 0, "epsilon_high must be >= 0, got {}", epsilon_high);
  SEEK_CHECK(delta == 0 || delta > 1 + epsilon_high,
             "delta (two-sided clip) must be 0 or above 1 + epsilon_high = {}, got {}", 1 + epsilon_high,
             delta);
  const PolicyLoss loss = parse_policy_loss(policy_loss);
  SEEK_CHECK(
      loss == PolicyLoss::Clip || delta == 0,
      "delta {} caps the ratio of the clipped surrogate (policy_loss clip); {} bounds its updates its own "
      "way: leave delta at 0",
      delta, policy_loss);
  // Checked where the loss reads them (a value the others leave without effect gets a note instead,
  // settings_without_effect; a resume that switches the loss checks them then).
  SEEK_CHECK(loss != PolicyLoss::Cispo || cispo_max > 0,
             "cispo_max must be > 0 (the cap on cispo's weight; ScaleRL and TRL use 5), got {}", cispo_max);
  // The loss is (4/τ)·σ(τ(ρ − 1))·A: at a τ of 1e-320 the 4/τ was infinite and every step's loss null.
  SEEK_CHECK(
      loss != PolicyLoss::Sapo ||
          (sapo_temperature_pos >= kMinSapoTemperature && sapo_temperature_neg >= kMinSapoTemperature),
      "sapo_temperature_pos and sapo_temperature_neg must be at least {} (TRL's defaults: 1.0 and 1.05), got "
      "{} and {}",
      kMinSapoTemperature, sapo_temperature_pos, sapo_temperature_neg);
  parse_importance_level(importance_sampling_level);
  for (const auto& [name, v] : {std::pair{"beta", beta}, {"entropy_coef", entropy_coef}})
    SEEK_CHECK(v >= 0, "{} must be >= 0, got {}", name, v);
  // Built, not only parsed: names, weights, duplicates and each reward's options (e.g. code's python) fail
  // here, before settings.json is written and the policy loads.
  const reward::CombinedReward built(reward::RewardSpec::from_json(rewards, "rewards"));
  const auto& names = built.names();
  SEEK_CHECK(dynamic_sampling_metric == "reward" ||
                 std::find(names.begin(), names.end(), dynamic_sampling_metric) != names.end(),
             "dynamic_sampling_metric \"{}\" is neither \"reward\" (the total) nor one of the rewards ({})",
             dynamic_sampling_metric, fmt::join(names, ", "));
  SEEK_CHECK(log_completions >= 0, "log_completions must be >= 0, got {}", log_completions);
  if (eval_every > 0) {
    // Checked now, not at the first evaluation: 0 samples would stop the run there, and 0 problems of a task
    // would log scores of nothing (a dataset's 0 is all of it).
    require_positive(eval_samples, "eval_samples");
    SEEK_CHECK(
        (eval_problems >= 1 || (!data.empty() && eval_problems == 0)) && eval_problems <= kMaxEvalProblems,
        "eval_problems must be between 1{} and {} (got {})", data.empty() ? "" : " (or 0 for all of data)",
        kMaxEvalProblems, eval_problems);
  }
  if (!task.empty()) {
    // Built now, before the policy loads, so bad task options fail at start-up and not after minutes of
    // loading; the same goes for evaluations without held-out problems, which would otherwise end the run at
    // its first evaluation, after steps that no checkpoint holds.
    const auto t = reward::make_task(task, task_options);
    if (eval_every > 0) {
      const double fraction = t->options().at("held_out_fraction").get<double>();
      SEEK_CHECK(fraction > 0,
                 "eval_every {} evaluates on task {}'s held-out problems, but its held_out_fraction is 0, so "
                 "it has none: set held_out_fraction in --task-options above 0 (the default is 0.01), or "
                 "eval_every to 0",
                 eval_every, task);
      // The start of the held-out stream that every evaluation draws its distinct problems from: drawing it
      // now shows that the task's options leave problems in the held-out set at all (their count, when it
      // is below eval_problems, is noted at the first evaluation).
      for (int64_t i = 0; i < eval_problems; ++i) t->held_out(uint64_t(i));
    }
  }
  parse_kl_estimator(kl_estimator);
  parse_advantage_scale(scale_rewards);
  parse_loss_aggregation(loss_aggregation);
  // A model without V3.1's thinking switch is refused here, before settings.json is written (a folder that
  // is not there is reported when it loads).
  const std::filesystem::path tok_dir = tokenizer.empty() ? init : tokenizer;
  if (think && std::filesystem::is_directory(tok_dir)) with_thinking(chat_style_of(tok_dir), true, "think");
}

}  // namespace seek
