#include "rl/grpo_settings.hpp"

#include "core/error.hpp"
#include "train/settings_io.hpp"

namespace seek {

GrpoSettings GrpoSettings::from_json(const nlohmann::json& j, const std::string& source) {
  return settings_from_json<GrpoSettings>(j, source);
}

nlohmann::json GrpoSettings::to_json() const {
  return settings_to_json(*this);
}

GrpoLossOptions GrpoSettings::loss_options() const {
  GrpoLossOptions o;
  o.epsilon_low = epsilon_low;
  o.epsilon_high = epsilon_high;
  o.delta = delta;
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

void GrpoSettings::validate() const {
  SEEK_CHECK(!init.empty(), "give the policy's model directory with --init DIR");
  SEEK_CHECK(task.empty() != data.empty(), "give exactly one of --task NAME or --data FILE");
  validate_shared(*this);
  require_positive(prompts_per_step, "prompts_per_step");
  require_positive(max_prompt_length, "max_prompt_length");
  require_positive(max_completion_length, "max_completion_length");
  require_positive(num_iterations, "num_iterations");
  require_positive(micro_batch, "micro_batch");
  require_positive(rollout_batch, "rollout_batch");
  require_positive(max_dynamic_draws, "max_dynamic_draws");
  SEEK_CHECK(group_size >= 2, "group_size must be at least 2 (advantages compare completions of one prompt)");
  SEEK_CHECK(temperature > 0,
             "temperature must be positive: GRPO's log-probabilities are taken at the sampling "
             "temperature (got {})",
             temperature);
  SEEK_CHECK(epsilon_low >= 0 && epsilon_low < 1 && epsilon_high >= 0,
             "need 0 <= epsilon_low < 1, epsilon_high >= 0");
  SEEK_CHECK(delta == 0 || delta > 1 + epsilon_high,
             "delta (two-sided clip) must be 0 or > 1 + epsilon_high");
  SEEK_CHECK(beta >= 0 && entropy_coef >= 0, "beta and entropy_coef must be >= 0");
  SEEK_CHECK(rewards.is_object() || rewards.is_array(), "rewards must be a JSON object or array");
  SEEK_CHECK(log_completions >= 0, "log_completions must be >= 0");
  if (eval_every > 0) {
    // Checked now, not at the first evaluation: 0 samples would stop the run there, and 0 problems of a task
    // would log scores of nothing (a dataset's 0 is all of it).
    require_positive(eval_samples, "eval_samples");
    SEEK_CHECK(eval_problems >= 1 || (!data.empty() && eval_problems == 0),
               "eval_problems must be at least 1{} (got {})", data.empty() ? "" : ", or 0 for all of data",
               eval_problems);
  }
  parse_kl_estimator(kl_estimator);
  parse_advantage_scale(scale_rewards);
  parse_loss_aggregation(loss_aggregation);
}

}  // namespace seek
