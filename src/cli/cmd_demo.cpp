// `seek demo` (what `make demo` runs): R1-Zero in miniature — pretrain a weak base model on generated
// arithmetic with imperfect worked solutions, evaluate it, improve it with GRPO (accuracy + format rewards
// only), evaluate again and plot the run. See src/rl/r1zero_demo.hpp.
#include <memory>

#include "cli/infer_flags.hpp"
#include "cli/registry.hpp"
#include "core/error.hpp"
#include "core/stop_signal.hpp"
#include "rl/r1zero_demo.hpp"

namespace seek::cli {
namespace {

RegisterCommand reg(
    "demo", "R1-Zero in miniature: pretrain a weak base model, GRPO it, compare before/after",
    [](CLI::App& app) {
      auto o = std::make_shared<R1ZeroDemoOptions>();
      CLI::Option* config = app.add_option(
          "--config", o->config, "base model config.json (default: the built-in one, configs/demo.json)");
      app.add_option("--out", o->out, "run folder")->capture_default_str();
      app.add_option("--pretrain-steps", o->pretrain_steps, "base model training steps")
          ->transform(whole_number<int64_t>())
          ->capture_default_str();
      app.add_option("--pretrain-examples", o->pretrain_examples, "generated worked solutions")
          ->transform(whole_number<int64_t>())
          ->capture_default_str();
      app.add_option("--wrong-fraction", o->wrong_fraction, "share of solutions with a wrong answer")
          ->check(number_of_type<double>())
          ->capture_default_str();
      app.add_option("--untagged-fraction", o->untagged_fraction, "share of solutions without tags")
          ->check(number_of_type<double>())
          ->capture_default_str();
      app.add_option("--grpo-steps", o->grpo_steps, "GRPO steps")
          ->transform(whole_number<int64_t>())
          ->capture_default_str();
      app.add_option("--prompts-per-step", o->prompts_per_step, "GRPO prompts per step")
          ->transform(whole_number<int64_t>())
          ->capture_default_str();
      app.add_option("--group-size", o->group_size, "GRPO samples per prompt")
          ->transform(whole_number<int64_t>())
          ->capture_default_str();
      app.add_option("--grpo-lr", o->grpo_lr, "GRPO learning rate")
          ->check(number_of_type<double>())
          ->capture_default_str();
      app.add_option("--eval-problems", o->eval_problems, "held-out problems")
          ->transform(whole_number<int64_t>())
          ->capture_default_str();
      app.add_option("--eval-samples", o->eval_samples, "samples per held-out problem")
          ->transform(whole_number<int>())
          ->capture_default_str();
      app.add_option("--seed", o->seed, "random seed")->transform(seed_value())->capture_default_str();
      add_threads_option(app);  // the demo's runs keep the thread count it sets
      app.callback([o, config] {
        // An empty value would otherwise pick the built-in config as if the flag had not been given.
        SEEK_CHECK(config->count() == 0 || !o->config.empty(), "--config must name a model config file");
        // Also a signal that came once the last evaluation was done: the demo finished and saved everything,
        // and it ends by the signal, as a training run stopped at its last step does (it exited 0).
        if (run_r1zero_demo(*o).interrupted || StopOnSignal::signal_received() != 0) end_by_stop_signal();
      });
    });

}  // namespace
}  // namespace seek::cli
