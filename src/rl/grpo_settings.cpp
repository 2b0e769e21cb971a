#include "rl/grpo_settings.hpp"

#include "core/error.hpp"
#include "train/settings_io.hpp"

namespace seek {

namespace {

template <typename F>
void for_each_field(GrpoSettings& s, F&& f) {
  f("init", s.init);
  f("tokenizer", s.tokenizer);
  f("task", s.task);
  f("data", s.data);
  f("task_options", s.task_options);
  f("rewards", s.rewards);
  f("out", s.out);
  f("steps", s.steps);
  f("prompts_per_step", s.prompts_per_step);
  f("group_size", s.group_size);
  f("max_prompt_length", s.max_prompt_length);
  f("max_completion_length", s.max_completion_length);
  f("temperature", s.temperature);
  f("num_iterations", s.num_iterations);
  f("epsilon_low", s.epsilon_low);
  f("epsilon_high", s.epsilon_high);
  f("delta", s.delta);
  f("beta", s.beta);
  f("kl_estimator", s.kl_estimator);
  f("scale_rewards", s.scale_rewards);
  f("loss_aggregation", s.loss_aggregation);
  f("dynamic_sampling", s.dynamic_sampling);
  f("max_dynamic_draws", s.max_dynamic_draws);
  f("mask_truncated_completions", s.mask_truncated_completions);
  f("entropy_coef", s.entropy_coef);
  f("micro_batch", s.micro_batch);
  f("rollout_batch", s.rollout_batch);
  f("lr", s.lr);
  f("min_lr", s.min_lr);
  f("warmup_steps", s.warmup_steps);
  f("schedule", s.schedule);
  f("weight_decay", s.weight_decay);
  f("beta1", s.beta1);
  f("beta2", s.beta2);
  f("eps", s.eps);
  f("max_grad_norm", s.max_grad_norm);
  f("bias_update_speed", s.bias_update_speed);
  f("seed", s.seed);
  f("threads", s.threads);
  f("checkpoint_every", s.checkpoint_every);
  f("keep_last", s.keep_last);
  f("eval_every", s.eval_every);
  f("eval_problems", s.eval_problems);
  f("eval_samples", s.eval_samples);
  f("log_completions", s.log_completions);
  f("save_dtype", s.save_dtype);
}

}  // namespace

GrpoSettings GrpoSettings::from_json(const nlohmann::json& j, const std::string& source) {
  return settings_from_json<GrpoSettings>(j, source, [](GrpoSettings& s, auto&& f) { for_each_field(s, f); });
}

nlohmann::json GrpoSettings::to_json() const {
  return settings_to_json(*this, [](GrpoSettings& s, auto&& f) { for_each_field(s, f); });
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
  Schedule s;
  s.kind = parse_schedule_kind(schedule);
  s.lr = lr;
  s.min_lr = min_lr;
  s.warmup_steps = warmup_steps;
  s.total_steps = steps * num_iterations;
  return s;
}

void GrpoSettings::validate() const {
  SEEK_CHECK(!init.empty(), "give the policy's model directory with --init DIR");
  SEEK_CHECK(task.empty() != data.empty(), "give exactly one of --task NAME or --data FILE");
  SEEK_CHECK(!out.empty(), "no run folder: give --out DIR");
  auto positive = [](int64_t v, const char* name) {
    SEEK_CHECK(v > 0, "{} must be positive, got {}", name, v);
  };
  positive(steps, "steps");
  positive(prompts_per_step, "prompts_per_step");
  positive(max_prompt_length, "max_prompt_length");
  positive(max_completion_length, "max_completion_length");
  positive(num_iterations, "num_iterations");
  positive(micro_batch, "micro_batch");
  positive(rollout_batch, "rollout_batch");
  positive(max_dynamic_draws, "max_dynamic_draws");
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
  SEEK_CHECK(lr > 0 && min_lr >= 0 && min_lr <= lr, "need 0 <= min_lr <= lr and lr > 0");
  SEEK_CHECK(rewards.is_object() || rewards.is_array(), "rewards must be a JSON object or array");
  SEEK_CHECK(save_dtype == "f32" || save_dtype == "bf16", "save_dtype must be f32 or bf16");
  SEEK_CHECK(keep_last >= 1 && checkpoint_every >= 0 && eval_every >= 0 && log_completions >= 0,
             "keep_last >= 1; checkpoint_every, eval_every and log_completions >= 0");
  parse_kl_estimator(kl_estimator);
  parse_advantage_scale(scale_rewards);
  parse_loss_aggregation(loss_aggregation);
  parse_schedule_kind(schedule);
}

}  // namespace seek
