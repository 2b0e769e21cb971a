// `seek eval`: pass@1 / pass@k (unbiased estimator), mean reward and format compliance of a model on a
// task's held-out set or a JSONL dataset; every completion with its scores goes to --out as JSONL.
#include <fmt/core.h>

#include <algorithm>
#include <memory>
#include <sstream>

#include "cli/infer_flags.hpp"
#include "cli/output_file.hpp"
#include "cli/registry.hpp"
#include "core/atomic_file.hpp"
#include "core/count_of.hpp"
#include "core/error.hpp"
#include "core/stderr.hpp"
#include "core/stop_signal.hpp"
#include "core/untrusted_json.hpp"
#include "infer/model.hpp"
#include "reward/combined_reward.hpp"
#include "rl/evaluate.hpp"
#include "rl/problems.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/shared_settings.hpp"

namespace seek::cli {
namespace {

struct EvalCli {
  std::string model, tokenizer, task, data, task_options = "{}", rewards, out;
  bool out_given = false;  // --out "" is an error, not "no output"
  int64_t problems = 128;
  int samples = 1;
  std::vector<int> ks;
  float temperature = 0.0f;
  int max_new_tokens = 256;
  uint64_t seed = 1234;
  CacheType kv_cache = CacheType::F32;
  bool think = false;
};

void run(const EvalCli& c) {
  if (c.out_given) {
    // Before anything loads (an empty name too); the file itself is written whole at the end (a crash leaves
    // no half of it).
    check_output_path(c.out, "--out", {c.model, c.tokenizer}, {c.data});
  }
  nlohmann::json task_opts;
  try {
    task_opts = parse_json_unique_keys(c.task_options, "--task-options");
  } catch (const nlohmann::json::exception& e) {
    fail("--task-options must be JSON: {}", json_error_text(e, true));
  }
  // As seek grpo takes it: null is no object of options, and was read as {} here but refused there.
  SEEK_CHECK(!task_opts.is_null(),
             "--task-options is null; give a JSON object, or leave the flag out for the task's defaults");
  // A task's held-out set has no end, so only a dataset has an "all"; 0 problems would report scores of
  // nothing.
  if (c.data.empty())
    SEEK_CHECK(c.problems >= 1 && c.problems <= kMaxEvalProblems,
               "--problems must be between 1 and {} for a task (got {})", kMaxEvalProblems, c.problems);
  else
    SEEK_CHECK(c.problems >= 0, "--problems must be at least 1, or 0 for all of --data (got {})", c.problems);
  EvalOptions opt;
  opt.samples = c.samples;
  opt.ks = c.ks.empty() ? std::vector<int>{1} : c.ks;
  if (c.ks.empty() && c.samples > 1) opt.ks.push_back(c.samples);
  opt.sampling.temperature = c.temperature;
  opt.sampling.max_new_tokens = c.max_new_tokens;
  opt.sampling.seed = c.seed;
  opt.cache_type = c.kv_cache;
  // Chat problems (a dataset's messages, a task's instruction template) are rendered in the folder's format;
  // one seek does not render is named, as seek chat names it.
  const std::string style_dir = c.tokenizer.empty() ? c.model : c.tokenizer;
  const bool may_chat = !c.data.empty() || is_instruction_template(task_opts);
  opt.chat_style = with_thinking(may_chat ? chat_style_of_noted(style_dir, "") : chat_style_of(style_dir),
                                 c.think, "--think");
  opt.progress.emplace();
  // Before the problems and the model load: a --k above --samples costs nothing.
  opt.validate();
  opt.sampling.validate();
  SEEK_CHECK(c.samples == 1 || c.temperature > 0, "several samples per problem need --temperature > 0");
  if (!c.tokenizer.empty()) check_tokenizer_folder(c.tokenizer, "--tokenizer");
  ProblemSource source(c.task, task_opts, c.data, c.seed);
  auto problems = source.held_out(c.problems);
  std::unique_ptr<reward::CombinedReward> run_reward;
  if (!c.rewards.empty()) {
    nlohmann::json spec;
    try {
      spec = parse_json_unique_keys(c.rewards, "--rewards");
    } catch (const nlohmann::json::exception& e) {
      fail("--rewards must be JSON: {}", json_error_text(e, true));
    }
    run_reward = std::make_unique<reward::CombinedReward>(reward::RewardSpec::from_json(spec, "--rewards"));
    // A reward that applies to none of the problems (code on maths problems) would report a mean reward of
    // 0 whatever the model writes; seek grpo refuses the same. Whether a reward applies is a property of the
    // problem (reward/reward.hpp), so an empty completion tells, before any generation.
    const bool applies = std::any_of(problems.begin(), problems.end(), [&](const reward::Problem& p) {
      return run_reward->score({&p, "", 0}).applies;
    });
    SEEK_CHECK(applies,
               "none of the --rewards {} applies to the {} of {} (code scores only problems with tests, "
               "accuracy only problems with an answer): the mean reward would be 0 whatever the model writes",
               spec.dump(), count_of(int64_t(problems.size()), "problem"), source.describe());
  }
  auto model = InferModel::load(c.model);
  // The same tokenizer checks as generate: a tokenizer.json with ids the model has no row for is another
  // model's, and byte-level text needs a vocabulary that holds the bytes.
  const ModelTokenizer tok = load_model_tokenizer(c.tokenizer.empty() ? c.model : c.tokenizer);
  tok.check_text_fits(model->config().vocab_size, /*ids_flag=*/false);
  std::ostringstream out;
  // What is being done goes to stderr with the progress line: stdout holds the results alone (README).
  print_stderr("evaluating {} on {} of {}, {} each\n", c.model, count_of(int64_t(problems.size()), "problem"),
               source.describe(), count_of(c.samples, "sample"));
  // Ctrl-C ends the evaluation at the next engine step or completion scored (a code run in progress is
  // killed), so the sandbox removes its run folder before the process ends by the signal; without a handler
  // the signal ended it inside a run, and the folder stayed in /dev/shm.
  const StopOnSignal stop("");
  opt.stop_requested = [&stop] { return stop.requested("eval"); };
  auto res = evaluate(*model, *tok.tok, problems, opt, run_reward.get(), c.out.empty() ? nullptr : &out);
  if (res.stopped) end_by_stop_signal();
  for (auto [k, v] : res.pass_at) fmt::print("pass@{}: {:.4f}\n", k, v);
  fmt::print("accuracy {:.4f} | mean reward {:.4f} | format compliance {:.4f} | mean length {:.1f} tokens\n",
             res.accuracy, res.mean_reward, res.format_rate, res.mean_length);
  // Prompts near the context's end leave less room than --max-new-tokens: those completions were measured
  // with a smaller budget than asked, which the figures above do not show.
  if (res.context_cut > 0)
    print_stderr(
        "note: {} of {} ended at the end of the model's context ({} tokens) before --max-new-tokens {}: "
        "{}, so they were measured with a smaller budget\n",
        res.context_cut, count_of(res.completions, "completion"), res.context, c.max_new_tokens,
        c.max_new_tokens >= res.context - 1 ? "the context holds fewer tokens than that with any prompt"
                                            : "their prompts left less room");
  if (!res.cache_note.empty()) print_stderr("{}\n", res.cache_note);
  if (!c.out.empty()) {
    write_file_atomically(c.out, out.str());
    print_stderr("completions written to {}\n", c.out);
  }
}

RegisterCommand reg(
    "eval", "pass@k, mean reward and format compliance on held-out problems", [](CLI::App& app) {
      auto c = std::make_shared<EvalCli>();
      app.add_option("--model", c->model, "model directory")->required();
      app.add_option("--tokenizer", c->tokenizer, "tokenizer folder (default: the model's, else byte-level)")
          ->check(
              [](const std::string& v) {  // "" ran on the model's own tokenizer without a word
                return v.empty() ? std::string("needs a folder name (leave the flag out for the model's own)")
                                 : std::string();
              },
              "DIR");
      app.add_option("--task", c->task, "built-in task (its held-out set)");
      app.add_option("--data", c->data, "or a JSONL file of problems");
      app.add_option("--task-options", c->task_options, "task options as JSON");
      app.add_option("--rewards", c->rewards, "also report this reward spec's mean (JSON)");
      // Ranges are checked with the source (a task's differs from a dataset's); the number is read here, as
      // every other count is ("010" was octal 8).
      app.add_option("--problems", c->problems, "problems to evaluate (default 128; data: 0 = all)")
          ->transform(whole_number<int64_t>());
      app.add_option("--samples", c->samples, "completions per problem (default 1)")
          ->transform(at_least<int>(1));
      // k = 0 would be the share of problems solved by no sample at all, i.e. always 1.
      app.add_option("--k", c->ks,
                     "pass@k values to report, e.g. --k 1,4 or --k 1 4 (default 1 and --samples)")
          ->delimiter(',')
          ->transform(at_least<int>(1));
      app.add_option("--temperature", c->temperature, "sampling temperature (default 0: greedy)")
          ->check(temperature_value());
      // 0 new tokens scores empty completions: a pass@1 of 0 that says nothing about the model.
      app.add_option("--max-new-tokens", c->max_new_tokens, "completion length limit (default 256)")
          ->transform(at_least<int>(1));
      app.add_option("--seed", c->seed, "sampling seed (default 1234)")->transform(seed_value());
      app.add_flag("--think", c->think,
                   "chat problems on a DeepSeek-V3.1 model: prompts open its thinking (<think>) instead of "
                   "closing it");
      add_kv_cache_option(app, c->kv_cache);
      add_threads_option(app);
      app.add_option("--out", c->out, "write every completion with its scores to this JSONL file");
      app.callback([c, &app] {
        c->out_given = app.count("--out") > 0;
        run(*c);
      });
    });

}  // namespace
}  // namespace seek::cli
