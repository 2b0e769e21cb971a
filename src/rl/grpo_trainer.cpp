#include "rl/grpo_trainer.hpp"

#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <tuple>

#include "core/atomic_file.hpp"
#include "core/count_of.hpp"
#include "core/error.hpp"
#include "core/injected_failure.hpp"
#include "core/jsonl_appender.hpp"
#include "core/progress.hpp"
#include "core/stderr.hpp"
#include "core/stdout.hpp"
#include "core/stop_signal.hpp"
#include "infer/engine.hpp"
#include "infer/model.hpp"
#include "kernels/gemm.hpp"
#include "model/model_dir.hpp"
#include "reward/combined_reward.hpp"
#include "rl/evaluate.hpp"
#include "rl/problems.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/tokenizer_files.hpp"
#include "train/checkpoint.hpp"
#include "train/init_tokenizer.hpp"
#include "train/run_folder.hpp"
#include "train/training_memory.hpp"

namespace seek {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Group {
  reward::Problem problem;
  std::vector<int32_t> prompt;
  std::vector<Completion> completions;
  std::vector<reward::RewardScore> scores;
};

// One padded micro-batch of prompt+completion sequences, and where each completion token sits in it.
struct MicroBatch {
  int64_t n = 0, T = 0;
  std::vector<int32_t> tokens, targets;
  std::vector<int64_t> seq_index;  // which completion (index into the step's flat list) each row holds
  std::vector<int64_t> token_pos;  // flat position (row·T + t) of each completion token, completion order
  std::vector<int64_t> offsets;    // per row, into token_pos
  std::vector<int64_t> lengths;    // per row, its real (input) tokens; the rest of the row is padding
};

double nan_mean(const std::vector<double>& v) {
  double s = 0;
  int64_t n = 0;
  for (double x : v)
    if (!std::isnan(x)) {
      s += x;
      ++n;
    }
  return n ? s / double(n) : std::numeric_limits<double>::quiet_NaN();
}

nlohmann::json json_number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

// A step whose prompts are all too long makes no update. If the first step a process runs is like that, the
// length settings do not fit these prompts (e.g. the R1 templates are 433-721 bytes, and with the byte-level
// tokenizer one byte is one token), so the run stops at once instead of "training" for hours without an
// update. Later, a mixed-length data file can draw a step of long prompts by chance, so the run stops only
// once this many prompts in a row were too long.
constexpr int64_t kMaxTooLongStreak = 64;

// Why no prompt of a step fit, and what to change. `shortest` is the shortest of those prompts (tokens).
std::string too_long_message(const GrpoSettings& s, int64_t shortest, int64_t context, const Tokenizer& tok,
                             int64_t step, int64_t streak, bool first_step) {
  std::string why, fix;
  if (shortest > s.max_prompt_length) {
    why = fmt::format("longer than --max-prompt-length {}", s.max_prompt_length);
    fix = fmt::format("raise --max-prompt-length to at least {}", shortest);
  }
  if (shortest + s.max_completion_length > context) {
    why += fmt::format("{}too long to leave --max-completion-length {} tokens in the model's context of {}",
                       why.empty() ? "" : " and ", s.max_completion_length, context);
    fix += fix.empty() ? "" : " and ";
    fix += shortest < context ? fmt::format("lower --max-completion-length to at most {}", context - shortest)
                              : std::string("use a model with a longer context");
  }
  return fmt::format(
      "{} {} (the shortest was {} tokens{}), so the policy gets no update: {}, or use shorter prompts "
      "(e.g. a task's \"template\" option, docs/rewards.md)",
      first_step ? fmt::format("{} drawn in step {} {}",
                               streak == 1 ? "the 1 prompt" : fmt::format("all {} prompts", streak), step,
                               streak == 1 ? "is" : "are")
                 : fmt::format("the last {} prompts drawn (up to step {}) were all", streak, step),
      why, shortest,
      tok.kind() == "byte"
          ? "; the byte-level tokenizer makes one token per byte (special tokens such as <think> one each)"
          : "",
      fix);
}

// Before any rollout: whether a reward applies is a property of the problem (reward/reward.hpp), so an empty
// completion tells. Rewards that apply to none of the problems (code on problems without tests) would make
// every total 0 and the run learn nothing, which the first step's rollouts used to find only minutes in; one
// reward that applies to none while others do contributes nothing, which is worth a note.
void check_rewards_apply(const reward::CombinedReward& rewards, const ProblemSource& source,
                         const GrpoSettings& s) {
  constexpr int64_t kTaskProbe = 64;

  const size_t R = rewards.names().size();
  std::vector<bool> applies(R, false);
  bool any = false;
  std::vector<reward::Problem> with_asserts;  // tests that do not compile scored every completion 0
  const int64_t probed = source.for_each_probe(kTaskProbe, [&](const reward::Problem& p) {
    if (!p.asserts.empty()) with_asserts.push_back(p);
    const reward::RewardScore sc = rewards.score({&p, "", 0});
    any |= sc.applies;
    for (size_t r = 0; r < R; ++r) applies[r] = applies[r] || !std::isnan(sc.components[r]);
  });
  rewards.check_problems(with_asserts);
  const std::string which = s.data.empty() ? fmt::format("the first {} problems of task {}", probed, s.task)
                                           : fmt::format("the {} problems of {}", probed, s.data);
  SEEK_CHECK(
      any,
      "none of the rewards {} applies to {} (code scores only problems with tests, accuracy only problems "
      "with an answer): every reward would be 0 and the policy would learn nothing",
      s.rewards.dump(), which);
  for (size_t r = 0; r < R; ++r)
    if (!applies[r] && rewards.weights()[r] != 0)
      fmt::print(
          "note: reward {} applies to none of {}, so it adds nothing (its mean shows as - on the progress "
          "line, "
          "null in metrics.jsonl)\n",
          rewards.names()[r], which);
  // A task's own verifier judges its answers, so the answer-reading options of accuracy and cosine do not
  // apply to its problems; given, they would seem to.
  if (!s.data.empty()) return;
  for (const char* name : {"accuracy", "cosine"}) {
    const nlohmann::json* o = rewards.options_of(name);
    if (!o || !o->is_object()) continue;
    std::vector<std::string> unused;
    for (const char* key : {"require_answer_tag", "reject_multiple_answers", "think_prefilled", "allow_boxed",
                            "allow_gsm8k", "allow_last_number", "rel_tolerance", "abs_tolerance"})
      if (o->contains(key)) unused.push_back(key);
    if (!unused.empty())
      fmt::print(
          "note: reward {}'s {} {} not apply to task {}: its verifier judges the answers (the task's own "
          "options require_answer_tag and think_prefilled say how they are read)\n",
          name, fmt::join(unused, ", "), unused.size() == 1 ? "does" : "do", s.task);
  }
}

// The progress line's part for an evaluation step: " | eval pass@1 0.412", with pass@n when n samples per
// problem were drawn.
std::string eval_summary(const nlohmann::json& eval, int64_t samples) {
  std::string text = fmt::format(" | eval pass@1 {:.3f}", eval.value("pass@1", 0.0));
  if (samples > 1) {
    const std::string k = fmt::format("pass@{}", samples);
    text += fmt::format(" {} {:.3f}", k, eval.value(k, 0.0));
  }
  return text;
}

}  // namespace

GrpoResult run_grpo(const GrpoSettings& given, bool resume, const nlohmann::json& overrides,
                    ProgressLine::Options progress) {
  // A step's rollouts and updates can run for minutes: the line shows where the step is, and is cleared for
  // the step's own line.
  progress.erase = true;
  const auto [s, out, ckpt, changes, folder_lock, new_folder_cleanup] = start_run(given, resume, overrides);
  for (const std::string& note : s.settings_without_effect()) fmt::print("note: {}\n", note);

  // On resume the checkpoint's copy of the tokenizer, as the run started with it (seek train does the same).
  const fs::path tok_dir = ckpt ? *ckpt : s.tokenizer.empty() ? fs::path(s.init) : fs::path(s.tokenizer);
  // A --tokenizer folder names a tokenizer: without tokenizer.json it read as the byte tokenizer (seek train
  // makes the same check), and the BOS/EOS check below then blamed the ids.
  if (!s.tokenizer.empty() && !ckpt)
    SEEK_CHECK(tok::tokenizer_file_present(tok_dir / "tokenizer.json"),
               "no tokenizer.json in {} (--tokenizer names a folder holding one; leave it out for the "
               "{})",
               s.tokenizer, s.init.empty() ? "byte-level tokenizer" : "--init model's own tokenizer");
  auto tok = load_tokenizer(tok_dir);
  // Saved with every checkpoint and the model as read now, whatever happens to the folder meanwhile.
  const tok::TokenizerFileSet tok_files = tok::read_tokenizer_files(tok_dir, ckpt ? *ckpt : fs::path(s.init));
  // Chat problems are rendered in the model's own chat format, as seek generate and chat render them.
  bool template_recognised = true;
  const ChatStyle style = with_thinking(chat_style_of(tok_dir, &template_recognised), s.think, "think");
  if (!template_recognised && (!s.data.empty() || is_instruction_template(s.task_options)))
    fmt::print(
        "note: the chat_template in {}/tokenizer_config.json is none seek renders (DeepSeek V2, V3, R1 or "
        "V3.1): chat problems are rendered in the DeepSeek-V3 chat format\n",
        tok_dir.string());
  // The memory of the whole run is checked before any of it is allocated or read: the policy's training
  // state, its copy for the rollouts (f32) and, with a KL term, the frozen reference (weights and an unused
  // gradient slab).
  // A resumed run without a KL term does not need --init (start_run let it be gone): its checkpoint holds the
  // policy and its config. Where the folder is still there, it is checked to be this run's.
  const bool init_gone = ckpt && !fs::exists(fs::path(s.init) / "config.json");
  const fs::path model_dir = init_gone ? *ckpt : fs::path(s.init);
  const std::string run_model_file = (model_dir / "config.json").string();
  const ModelConfig run_model = load_model_config(model_dir);
  if (ckpt && !init_gone) check_checkpoint_model(*ckpt, run_model, run_model_file);
  if (!ckpt && !s.tokenizer.empty()) check_tokenizer_fits_init(s.init, s.tokenizer, *tok, run_model);
  check_training_memory(run_model, s.beta > 0 ? 12 : 4,
                        s.beta > 0 ? ", its f32 copy for the rollouts and the frozen reference model"
                                   : " and its f32 copy for the rollouts");
  std::unique_ptr<Transformer<float>> policy;
  if (ckpt) {
    policy = std::make_unique<Transformer<float>>(ModelConfig::load((*ckpt / "config.json").string()));
  } else {
    policy = load_model_dir<float>(s.init);
  }
  const ModelConfig& cfg = policy->config();
  SEEK_CHECK(int64_t(tok->vocab_size()) <= cfg.vocab_size,
             "the tokenizer has {} tokens but the model's vocab_size is {}", tok->vocab_size(),
             cfg.vocab_size);
  std::unique_ptr<Transformer<float>> ref;
  if (s.beta > 0) ref = load_model_dir<float>(s.init);  // frozen reference: the initial policy
  AdamW<float> opt(policy->params().layout);
  // GRPO's loss never reaches the MTP layers (model.layers.<num_hidden_layers + k>): they are saved as they
  // came, not shrunk by weight decay each step.
  hold_mtp_layers(opt, policy->params().layout, cfg.num_hidden_layers);
  TrainerState state;
  // The weights the run started from, recorded with every checkpoint: a resumed run's KL term reads --init
  // again, and a folder since overwritten with another model (same shapes, other weights) measured the KL
  // against it without a word (kl 6e-9 at one step, 4.3 at the next).
  std::string init_weights = ckpt ? std::string() : parameters_hash(*policy);
  if (ckpt) {
    state = load_checkpoint(*ckpt, *policy, opt);
    print_resuming(*ckpt, state, s.steps);
    init_weights = state.extra.value("init_weights", std::string());
    const std::string ref_weights = ref ? parameters_hash(*ref) : std::string();
    // A checkpoint from before the record: the reference is taken on trust once, and recorded from now on.
    if (ref && init_weights.empty()) {
      init_weights = ref_weights;
      fmt::print(
          "note: the checkpoint at step {} does not record the weights the run started from (it predates "
          "that record), so --init {} is taken as the KL reference unchecked; later resumes check it\n",
          state.step, s.init);
    }
    SEEK_CHECK(
        !ref || ref_weights == init_weights,
        "--init {} holds other weights than the model this run started from (its checkpoint at step {} "
        "recorded them): its KL term would measure against another reference model; put back the model "
        "the run started from, or start a new run in another --out",
        s.init, state.step);
  }
  ProblemSource source(s.task, s.task_options, s.data, s.seed);
  if (ckpt) check_same_data(state, source.content(), {s.data});
  reward::CombinedReward rewards(reward::RewardSpec::from_json(s.rewards, "rewards"));
  // The value dynamic sampling compares within a group: the total (-1), or one reward's (validate() checked
  // the name).
  const auto& names = rewards.names();
  const int metric =
      s.dynamic_sampling_metric == "reward"
          ? -1
          : int(std::find(names.begin(), names.end(), s.dynamic_sampling_metric) - names.begin());
  check_rewards_apply(rewards, source, s);
  const GrpoLossOptions lopt = s.loss_options();
  const AdvantageScale scale = parse_advantage_scale(s.scale_rewards);
  const Schedule sched = s.make_schedule();
  AdamWParams hp;
  hp.beta1 = s.beta1;
  hp.beta2 = s.beta2;
  hp.eps = s.eps;
  hp.weight_decay = s.weight_decay;
  const int64_t G = s.group_size, P = s.prompts_per_step;
  // Log-probs over the sampler's support: ids the tokenizer has (the engine never samples the others).
  const int64_t support = std::min<int64_t>(cfg.vocab_size, int64_t(tok->vocab_size()));
  fmt::print("grpo: policy {} | {} | rewards {} | {} × {} × {}, μ = {}\n", s.init, source.describe(),
             s.rewards.dump(), count_of(s.steps, "step"), count_of(P, "prompt"), count_of(G, "sample"),
             s.num_iterations);

  const fs::path metrics_path = out / "metrics.jsonl", comp_path = out / "completions.jsonl";
  bool eval_pending = false;  // the checkpoint's step owes its evaluation (a stop cut it short)
  if (ckpt) {
    print_changed_settings(changes);
    eval_pending = eval_pending_at(state, truncate_log_to_step(metrics_path, state.step, true), "eval");
    truncate_log_to_step(comp_path, state.step);
  } else {
    write_file_atomically(metrics_path, "");
    write_file_atomically(comp_path, "");
  }
  bool settings_saved = !ckpt;

  GrpoResult result;
  const auto t_run = Clock::now();
  const int64_t first_step = state.step;
  // Whether this session's first step is judged as a run's first: a new run's, or a resumed one's whose
  // command changed `keys` (a limit that leaves no prompt, rewards that fit no problem). A plain resume must
  // go on where the uninterrupted run went on: judged so, a step past the first failed on every retry.
  const nlohmann::json settings_now = s.to_json();
  const auto judged_as_first = [&](std::initializer_list<const char*> keys) {
    if (state.step == 0) return true;
    const nlohmann::json saved = state.extra.value("settings", nlohmann::json::object());
    for (const char* key : keys)
      if (saved.is_object() && saved.contains(key) && saved[key] != settings_now[key]) return true;
    return false;
  };
  // Like a thread count, these change how sums are split (docs/grpo.md): a step's gradient across the
  // micro-batches, the sampler's logits across the rows decoded together. The same run up to rounding, so
  // the same bits only while they stay; "changed settings" alone read as harmless. Values that split a step
  // the same way are the same here: a micro-batch of the step's P × G sequences or more is the whole step,
  // and a rollout batch of at most G admits a group only into an empty batch (a group decodes together
  // whatever it says), as G does.
  if (state.step > 0) {
    const nlohmann::json saved = state.extra.value("settings", nlohmann::json::object());
    const auto split = [&](std::string_view key, const nlohmann::json& v) -> int64_t {
      if (!v.is_number_integer()) return -1;
      const int64_t n = std::min<int64_t>(v.get<int64_t>(), P * G);
      return key == "rollout_batch" ? std::max(n, G) : n;
    };
    for (const auto& [key, flag, what] :
         {std::tuple{"micro_batch", "--micro-batch",
                     "its micro-batches sum a step's gradient in another order"},
          std::tuple{"rollout_batch", "--rollout-batch",
                     "its rollouts decode other rows together, whose logits round differently"}})
      if (saved.is_object() && saved.contains(key) && saved[key] != settings_now[key] &&
          split(key, saved[key]) != split(key, settings_now[key]))
        fmt::print(
            "note: the checkpoint was made with {} {} and this run has {}: {}, so the run may not reproduce "
            "an uninterrupted one bit for bit ({} {} would)\n",
            key, saved[key].dump(), settings_now[key].dump(), what, flag, saved[key].dump());
  }
  const bool judge_lengths = judged_as_first({"max_prompt_length", "max_completion_length"});
  const bool judge_rewards = judged_as_first({"rewards"});
  const double elapsed_before = state.elapsed_seconds;
  RunCheckpoints checkpoints(out, tok_files, s.keep_last, ckpt ? state.step : -1);
  checkpoints.set_data(source.content());
  checkpoints.set_init_weights(init_weights);
  const StopOnSignal stop(kCheckpointNotice, /*closed_stdout=*/true);
  // The start-up lines reach a log or a pipe now, not with the first step's line, minutes away at times.
  flush_stdout();
  // The rollouts' copy of the policy, refreshed after every update.
  const std::unique_ptr<InferModel> infer = InferModel::from_model(*policy);
  // Training passes over a prompt too long for the context; an evaluation cannot (evaluate refuses it), and
  // one such held-out problem ended the run at its first evaluation, with that step neither logged nor saved
  // and every resume ending there again. So the evaluation set is checked before step 1.
  if (s.eval_every > 0) {
    EngineOptions eo;
    eo.max_batch = EvalOptions{}.max_batch;
    eo.cache_type = EvalOptions{}.cache_type;
    const Engine probe(*infer, tok.get(), eo);
    const std::vector<reward::Problem> eval_set = source.held_out(s.eval_problems);
    // The scorer checks that its code reward can run and that the tests compile.
    const EvalScorer eval_scorer(eval_set, &rewards, style);
    for (const reward::Problem& p : eval_set) {
      const size_t length = encode_problem_prompt(*tok, p, style).size();
      SEEK_CHECK(int64_t(length) < probe.max_context(),
                 "evaluation problem {}: the prompt has {} tokens and the context holds {}, so the run's "
                 "evaluations (--eval-every {}) cannot score it; remove it from the data or shorten it "
                 "(training passes over such prompts, an evaluation cannot)",
                 p.id, length, probe.max_context(), s.eval_every);
    }
  }
  bool budget_noted = false;  // cache_budget_note, said once a session
  const auto evaluates = [&](int64_t step) {
    return s.eval_every > 0 && (step % s.eval_every == 0 || step == s.steps);
  };
  // The held-out evaluation of the policy after step state.step.
  const auto evaluate_policy = [&] {
    injected_failure_point("grpo-eval");
    infer->update_from(*policy);
    EvalOptions eopt;
    eopt.samples = int(s.eval_samples);
    if (s.eval_samples > 1) eopt.ks = {1, int(s.eval_samples)};  // as `seek eval` reports by default
    eopt.sampling.temperature = s.eval_samples > 1 ? float(s.temperature) : 0.0f;
    eopt.sampling.max_new_tokens = int(s.max_completion_length);
    eopt.sampling.seed = s.seed;
    eopt.chat_style = style;
    eopt.progress = progress;
    eopt.progress->erase = false;  // the evaluation's figures stay on screen
    // A signal ends the evaluation at once; the step is complete, so it is saved, with a note that its
    // evaluation is owed (eval_pending), which a resumed run runs first.
    eopt.stop_requested = [&] { return stop.requested("eval"); };
    EvalResult ev = evaluate(*infer, *tok, source.held_out(s.eval_problems), eopt, &rewards, nullptr);
    if (!budget_noted && !ev.cache_note.empty()) {
      fmt::print("{} (step {}'s evaluation)\n", ev.cache_note, state.step);
      budget_noted = true;
    }
    return ev;
  };
  // The evaluation a stop cut short, or that failed, is run before the next step, and goes into its step's
  // line: an evaluation of the same weights with the same seed gives what the uninterrupted run logged.
  // Unless the resume's --eval-every leaves that step without one.
  if (eval_pending && evaluates(state.step)) {
    fmt::print("step {}'s evaluation did not finish (a stop or a failure); it runs now\n", state.step);
    flush_stdout();
    EvalResult ev;
    try {
      ev = evaluate_policy();
    } catch (const Error& e) {
      throw RunError(fmt::format("the evaluation after step {} failed: {}", state.step, e.what()),
                     "--resume runs it again (--eval-every 0 runs without evaluations)");
    }
    if (ev.stopped) {
      print_stderr("seek: the evaluation of step {} was stopped again\n", state.step);
      result.eval_owed_step = state.step;
      result.interrupted = true;
      result.steps_done = state.step;
      return result;
    }
    result.last_eval = ev.to_json();
    set_in_step_line(metrics_path, state.step, "eval", result.last_eval);
    fmt::print("step {:>5}/{} | evaluation{}\n", state.step, s.steps,
               eval_summary(result.last_eval, s.eval_samples));
    flush_stdout();
  }
  JsonlAppender metrics(metrics_path), comp_log(comp_path);
  while (state.step < s.steps) {
    // A stop asked for before the step's first optimizer update drops the step (rollouts, rewards and
    // gradients so far): nothing the checkpoint holds has changed yet, and the resumed run draws the same
    // prompts and samples again. Once the policy has moved, the step is finished first.
    // What a dropped step puts back: where it drew from, and the run of too-long prompts before it (which its
    // draws raise; kept raised, a resumed run counted them twice and could stop on a streak it never had).
    const int64_t step_data_position = state.data_position, step_failure_streak = state.failure_streak;
    bool abandoned = false;
    // ---- rollouts from the current weights ----
    const auto t_gen = Clock::now();
    infer->update_from(*policy);
    EngineOptions eo;
    eo.max_batch = int(std::min<int64_t>(s.rollout_batch, P * G));
    Engine engine(*infer, tok.get(), eo);
    int64_t finished = 0;  // completions
    engine.on_token = [&finished](const TokenEvent& e) { finished += e.finished; };
    std::vector<Group> groups;
    int64_t drawn = 0, skipped_long = 0, dropped_equal = 0, shortest_long = INT64_MAX;
    int64_t scored = 0, completions_drawn = 0;  // completions scored, of those sampled
    while (int64_t(groups.size()) < P && drawn < P * s.max_dynamic_draws) {
      std::vector<Group> pending;
      std::vector<int> req_ids;
      const int64_t want = P - int64_t(groups.size());
      for (int64_t i = 0; i < want && drawn < P * s.max_dynamic_draws; ++i) {
        const uint64_t index = uint64_t(state.data_position++);
        ++drawn;
        Group g;
        g.problem = source.train(index);
        g.prompt = encode_problem_prompt(*tok, g.problem, style);
        if (int64_t(g.prompt.size()) > s.max_prompt_length ||
            int64_t(g.prompt.size()) + s.max_completion_length > engine.max_context()) {
          ++skipped_long;
          ++state.failure_streak;
          shortest_long = std::min<int64_t>(shortest_long, int64_t(g.prompt.size()));
          continue;
        }
        state.failure_streak = 0;
        GenRequest req;
        req.prompt = g.prompt;
        req.params.temperature = float(s.temperature);
        req.params.max_new_tokens = int(s.max_completion_length);
        req.params.seed = s.seed * 0x9e3779b97f4a7c15ull + index;
        req.n = int(G);
        req_ids.push_back(engine.submit(std::move(req)));
        pending.push_back(std::move(g));
      }
      ProgressLine rollouts(fmt::format("step {}/{}: rollouts", state.step + 1, s.steps),
                            finished + int64_t(pending.size()) * G, "completions", progress);
      const int64_t tokens_before = engine.stats().generated_tokens;  // a dynamic-sampling round's own rate
      while (engine.step()) {
        if (stop.requested("rollout")) {
          abandoned = true;
          break;
        }
        rollouts.update(finished, [&](double elapsed) {
          return fmt::format("{:.0f} tokens/s",
                             double(engine.stats().generated_tokens - tokens_before) / elapsed);
        });
      }
      rollouts.finish();
      if (abandoned) break;
      std::vector<reward::RewardInput> inputs;
      for (size_t i = 0; i < pending.size(); ++i) {
        pending[i].completions = engine.completions(req_ids[i]);
        for (const Completion& c : pending[i].completions)
          inputs.push_back({&pending[i].problem, c.text, int64_t(c.tokens.size()),
                            prompt_opens_think(pending[i].problem, style)});
      }
      // Code rewards run every completion in the sandbox against its tests: seconds for a large group.
      ProgressLine scoring(fmt::format("step {}/{}: rewards", state.step + 1, s.steps),
                           int64_t(inputs.size()), "completions", progress);
      auto scores = rewards.score_batch(inputs, 0, [&](int64_t n) { scoring.update(n); });
      scoring.finish();
      // Scoring ends early on a stop (code runs killed, the rest not scored): the step is dropped.
      if (stop.requested("rewards")) {
        abandoned = true;
        break;
      }
      for (const auto& sc : scores) scored += sc.applies;
      completions_drawn += int64_t(scores.size());
      for (size_t i = 0; i < pending.size(); ++i) {
        pending[i].scores.assign(scores.begin() + int64_t(i) * G, scores.begin() + int64_t(i + 1) * G);
        std::vector<double> values;
        for (const auto& sc : pending[i].scores)
          values.push_back(metric < 0 ? sc.total : sc.components[size_t(metric)]);
        if (s.dynamic_sampling && !group_values_differ(values)) {
          ++dropped_equal;
          continue;
        }
        groups.push_back(std::move(pending[i]));
        if (int64_t(groups.size()) == P) break;
      }
      if (!s.dynamic_sampling) break;
    }
    if (abandoned) {
      state.data_position = step_data_position;
      state.failure_streak = step_failure_streak;
      result.interrupted = true;
      checkpoints.save_unless_saved(*policy, opt, state, s.to_json());
      break;
    }
    // Rewards that do not apply to a problem (code on a problem without tests, accuracy without an answer)
    // leave its completions at a total of 0: no signal. If no completion of the first step got any, the
    // rewards do not fit this data, and the run would learn nothing.
    if (state.step == first_step && judge_rewards && completions_drawn > 0 && scored == 0)
      fail(
          "none of the rewards {} applies to the {} drawn in step {} (code scores only problems with tests, "
          "accuracy only problems with an answer): every reward would be 0 and the policy would learn "
          "nothing",
          s.rewards.dump(), count_of(completions_drawn / G, "problem"), state.step + 1);
    // A resumed streak counts prompts of steps before the resume: the first step's message counts its own.
    const bool first_of_run = state.step == first_step && judge_lengths;
    if (groups.empty() && skipped_long == drawn &&
        (first_of_run || state.failure_streak >= kMaxTooLongStreak))
      fail("{}", too_long_message(s, shortest_long, engine.max_context(), *tok, state.step + 1,
                                  first_of_run ? drawn : state.failure_streak, first_of_run));
    const double gen_s = seconds_since(t_gen);
    const int64_t gen_tokens = engine.stats().generated_tokens;
    if (!budget_noted) {
      const std::string note = cache_budget_note(engine.stats(), eo.max_batch);
      if (!note.empty()) fmt::print("{} (step {}'s rollouts)\n", note, state.step + 1);
      budget_noted = !note.empty();
    }

    // ---- advantages ----
    std::vector<double> totals;
    std::vector<std::vector<double>> components(rewards.names().size());
    for (const Group& g : groups)
      for (const auto& sc : g.scores) {
        totals.push_back(sc.total);
        for (size_t k = 0; k < components.size(); ++k) components[k].push_back(sc.components[k]);
      }
    const auto t_train = Clock::now();
    nlohmann::json m = {{"step", state.step + 1},
                        {"groups", groups.size()},
                        {"prompts_drawn", drawn},
                        {"skipped_long_prompts", skipped_long},
                        {"dropped_equal_groups", dropped_equal},
                        {"unscored_fraction",
                         completions_drawn > 0 ? 1.0 - double(scored) / double(completions_drawn) : 0.0}};
    StepStats st{};
    const char* step_without_update = nullptr;  // why a step with groups made no update
    if (!groups.empty()) {
      AdvantageResult adv = group_advantages(totals, G, scale);
      // ---- sequences, masks and micro-batches ----
      struct Seq {
        const std::vector<int32_t>* prompt;
        const Completion* comp;
        double advantage;
        bool counted;
      };
      std::vector<Seq> seqs;
      int64_t counted_tokens = 0, truncated = 0, len_min = INT64_MAX, len_max = 0, len_sum = 0;
      for (size_t gi = 0; gi < groups.size(); ++gi)
        for (int64_t k = 0; k < G; ++k) {
          const Completion& c = groups[gi].completions[size_t(k)];
          const bool trunc = c.finish == FinishReason::Length || c.finish == FinishReason::Context;
          truncated += trunc;
          const bool counted = !(trunc && s.mask_truncated_completions) && !c.tokens.empty();
          seqs.push_back({&groups[gi].prompt, &c, adv.advantages[gi * size_t(G) + size_t(k)], counted});
          if (counted) counted_tokens += int64_t(c.tokens.size());
          len_min = std::min<int64_t>(len_min, int64_t(c.tokens.size()));
          len_max = std::max<int64_t>(len_max, int64_t(c.tokens.size()));
          len_sum += int64_t(c.tokens.size());
        }
      const int64_t n_total = int64_t(seqs.size());
      std::vector<MicroBatch> mbs;
      for (int64_t i0 = 0; i0 < n_total; i0 += s.micro_batch) {
        MicroBatch mb;
        mb.n = std::min<int64_t>(s.micro_batch, n_total - i0);
        for (int64_t r = 0; r < mb.n; ++r) {
          const Seq& q = seqs[size_t(i0 + r)];
          mb.T = std::max<int64_t>(mb.T, int64_t(q.prompt->size() + q.comp->tokens.size()) - 1);
        }
        // Rows padded past the longest sequence to a bucketed length (within the context), so that the
        // products' shapes repeat from step to step (oneDNN compiles a kernel per new shape); real tokens
        // never attend to the padding after them, and it has no targets.
        mb.T = std::max<int64_t>(mb.T, 1);
        mb.T = std::max(mb.T, std::min(gemm_rows_bucket(mb.T), cfg.max_position_embeddings));
        mb.tokens.assign(size_t(mb.n * mb.T), 0);
        mb.targets.assign(size_t(mb.n * mb.T), -1);
        mb.offsets.push_back(0);
        for (int64_t r = 0; r < mb.n; ++r) {
          const Seq& q = seqs[size_t(i0 + r)];
          std::vector<int32_t> full(*q.prompt);
          full.insert(full.end(), q.comp->tokens.begin(), q.comp->tokens.end());
          const int64_t plen = int64_t(q.prompt->size());
          for (int64_t t = 0; t + 1 < int64_t(full.size()) && t < mb.T; ++t) {
            mb.tokens[size_t(r * mb.T + t)] = full[size_t(t)];
            if (t >= plen - 1) {  // position t predicts completion token t + 1 − plen
              mb.targets[size_t(r * mb.T + t)] = full[size_t(t + 1)];
              mb.token_pos.push_back(r * mb.T + t);
            }
          }
          mb.seq_index.push_back(i0 + r);
          mb.offsets.push_back(int64_t(mb.token_pos.size()));
          mb.lengths.push_back(std::min<int64_t>(int64_t(full.size()) - 1, mb.T));
        }
        mbs.push_back(std::move(mb));
      }

      // ---- μ optimizer steps on this batch ----
      std::vector<std::vector<double>> logp_old(mbs.size()), logp_ref(mbs.size());
      double mismatch_max = 0, mismatch_sum = 0, kl_sum = 0, ent_sum = 0, clip_lo = 0, clip_hi = 0,
             loss_sum = 0;
      int64_t mismatch_n = 0, diag_tokens = 0;
      // A step without a learning signal makes no update, as a step without a usable group does, and runs no
      // training pass: its loss's gradient is 0, and AdamW's moments and weight decay alone would still move
      // every weight (TRL lets them). So when every token is masked (every completion truncated, with
      // mask_truncated_completions), and when every counted completion's advantage is 0 (each group's
      // rewards equal, common early in an R1-Zero run) with no KL or entropy term to follow.
      std::vector<double> seq_advantages;
      std::vector<char> seq_counted;
      for (const Seq& q : seqs) {
        seq_advantages.push_back(q.advantage);
        seq_counted.push_back(q.counted);
      }
      const char* no_update =
          reason_for_no_update(seq_advantages, seq_counted, counted_tokens, s.beta, lopt.entropy_coef);
      const bool all_masked = counted_tokens == 0;
      const bool no_advantage = no_update != nullptr && !all_masked;
      const bool every_advantage_zero =
          std::all_of(adv.advantages.begin(), adv.advantages.end(), [](double a) { return a == 0.0; });
      const int64_t iterations = no_update ? 0 : s.num_iterations;
      if (all_masked)
        fmt::print(
            "step {}: no completion token counts in the loss (every completion truncated, and "
            "mask_truncated_completions on); no update\n",
            state.step + 1);
      if (no_advantage)
        fmt::print("step {}: {}, so the loss (beta 0, entropy_coef 0) has no gradient; no update\n",
                   state.step + 1,
                   every_advantage_zero ? "every group's rewards are equal, so every advantage is 0"
                                        : "every completion with a non-zero advantage is truncated and "
                                          "masked (mask_truncated_completions)");
      if (no_update) {
        ++result.steps_without_update;
        flush_stdout();
      }
      ProgressLine updating(fmt::format("step {}/{}: training", state.step + 1, s.steps),
                            iterations * int64_t(mbs.size()), "micro-batches", progress);
      for (int64_t it = 0; it < iterations; ++it) {
        const double lr = sched.lr_at(state.step * s.num_iterations + it);
        hp.lr = lr;
        policy->params().zero_grad();
        std::vector<ExpertLoad> loads;
        kl_sum = ent_sum = clip_lo = clip_hi = loss_sum = 0;
        diag_tokens = 0;
        for (size_t bi = 0; bi < mbs.size(); ++bi) {
          if (it == 0 && stop.requested("micro-batch")) {
            abandoned = true;
            break;
          }
          MicroBatch& mb = mbs[bi];
          const size_t NT = size_t(mb.n * mb.T);
          std::vector<float> lp_full(NT), ent_full(NT);
          policy->policy_forward(mb.tokens.data(), mb.targets.data(), mb.n, mb.T, s.temperature,
                                 lp_full.data(), ent_full.data(), support);
          const auto ml = policy->expert_loads(mb.lengths, mb.T);
          if (loads.empty()) {
            loads = ml;
          } else {
            for (size_t l = 0; l < loads.size(); ++l)
              for (size_t e = 0; e < loads[l].load.size(); ++e) loads[l].load[e] += ml[l].load[e];
          }
          GrpoBatch b;
          b.offsets = mb.offsets;
          for (size_t p : mb.token_pos) {
            b.logp.push_back(lp_full[p]);
            b.entropy.push_back(ent_full[p]);
          }
          for (int64_t r = 0; r < mb.n; ++r) {
            const Seq& q = seqs[size_t(mb.seq_index[size_t(r)])];
            b.advantages.push_back(q.advantage);
            for (int64_t t = mb.offsets[size_t(r)]; t < mb.offsets[size_t(r + 1)]; ++t)
              b.mask.push_back(q.counted);
          }
          if (it == 0) {
            // The sampler's own log-probs must agree with the trainer's recomputation (same weights,
            // temperature and full support); a gap beyond rounding is a bug, so it is logged, not hidden.
            for (int64_t r = 0; r < mb.n; ++r) {
              const Completion& c = *seqs[size_t(mb.seq_index[size_t(r)])].comp;
              for (int64_t t = mb.offsets[size_t(r)], k = 0; t < mb.offsets[size_t(r + 1)]; ++t, ++k) {
                const double d = std::fabs(b.logp[size_t(t)] - c.logprobs[size_t(k)]);
                mismatch_max = std::max(mismatch_max, d);
                mismatch_sum += d;
                ++mismatch_n;
              }
            }
            if (s.num_iterations > 1) logp_old[bi] = b.logp;
            if (ref) {
              std::vector<float> rl(NT);
              ref->policy_forward(mb.tokens.data(), mb.targets.data(), mb.n, mb.T, s.temperature, rl.data(),
                                  nullptr, support);
              for (size_t p : mb.token_pos) logp_ref[bi].push_back(rl[p]);
            }
          }
          b.logp_old = s.num_iterations > 1 ? logp_old[bi] : b.logp;  // μ = 1: π_old = π_θ, ρ ≡ 1
          if (ref) b.logp_ref = logp_ref[bi];
          b.total_tokens_override = counted_tokens;
          GrpoLossResult lr_ = grpo_token_loss(b, lopt);
          // grpo and dr_grpo average over completions: a micro-batch holds mb.n of the step's n_total. Their
          // entropy bonus, though, is a token mean (grpo_loss.hpp) that grpo_token_loss takes over this
          // micro-batch's counted tokens: weighting that by mb.n / n_total would make the step's bonus a
          // mean of micro-batch means, which depends on micro_batch (and drops the share of micro-batches
          // without counted tokens). It is rescaled to the step's token mean instead: × mb_tokens /
          // counted_tokens.
          int64_t mb_tokens = 0;
          for (uint8_t x : b.mask) mb_tokens += x;
          double w = 1.0, w_ent = 1.0;
          if (lopt.aggregation == LossAggregation::Grpo || lopt.aggregation == LossAggregation::DrGrpo) {
            w = double(mb.n) / double(n_total);
            w_ent = counted_tokens > 0 ? double(mb_tokens) / double(counted_tokens) : 0.0;
          }
          // lr_.loss = policy terms − entropy_coef · lr_.entropy (the micro-batch's token mean).
          const double bonus = lopt.entropy_coef * lr_.entropy;
          loss_sum += w * (lr_.loss + bonus) - w_ent * bonus;
          kl_sum += lr_.kl * double(mb_tokens);
          ent_sum += lr_.entropy * double(mb_tokens);
          clip_lo += lr_.clip_low_fraction * double(mb_tokens);
          clip_hi += lr_.clip_high_fraction * double(mb_tokens);
          diag_tokens += mb_tokens;
          std::vector<float> dlp(NT, 0.0f), dent(NT, 0.0f);
          for (size_t t = 0; t < mb.token_pos.size(); ++t) {
            dlp[size_t(mb.token_pos[t])] = float(w * lr_.dlogp[t]);
            dent[size_t(mb.token_pos[t])] = float(w_ent * lr_.dentropy[t]);
          }
          policy->policy_backward(dlp.data(), lopt.entropy_coef > 0 ? dent.data() : nullptr);
          updating.update(it * int64_t(mbs.size()) + int64_t(bi) + 1);
        }
        if (abandoned) break;
        st = opt.step(policy->params(), hp, s.max_grad_norm);
        SEEK_CHECK(st.finite, "non-finite gradient at GRPO step {}; stopping without saving", state.step + 1);
        if (s.bias_update_speed > 0) policy->update_router_bias(s.bias_update_speed, loads);
        m["lr"] = lr;
      }
      updating.finish();
      if (abandoned) {
        state.data_position = step_data_position;
        state.failure_streak = step_failure_streak;
        result.interrupted = true;
        checkpoints.save_unless_saved(*policy, opt, state, s.to_json());
        break;
      }
      // Means over the tokens the loss counted: with none (every completion truncated and masked) they are
      // unknown, null, not a measured 0.
      const auto per_token = [&](double sum) {
        return diag_tokens > 0 ? nlohmann::json(sum / double(diag_tokens)) : nlohmann::json(nullptr);
      };
      // What only an update measures is null on a step that made none.
      const auto updated = [&](double x) { return no_update ? nlohmann::json(nullptr) : nlohmann::json(x); };
      m["loss"] = updated(loss_sum);
      // Measured only against a reference model (beta > 0); without one it is unknown, not 0.
      m["kl"] = s.beta > 0 ? per_token(kl_sum) : nlohmann::json(nullptr);
      m["entropy"] = per_token(ent_sum);
      m["clip_low_fraction"] = per_token(clip_lo);
      m["clip_high_fraction"] = per_token(clip_hi);
      m["grad_norm"] = updated(st.grad_norm);
      if (no_update) m["lr"] = nullptr;
      step_without_update = no_update;
      m["logprob_mismatch_max"] = updated(mismatch_max);
      m["logprob_mismatch_mean"] = updated(mismatch_n ? mismatch_sum / double(mismatch_n) : 0.0);
      m["completion_length_mean"] = double(len_sum) / double(n_total);
      m["completion_length_min"] = len_min;
      m["completion_length_max"] = len_max;
      m["truncated_fraction"] = double(truncated) / double(n_total);
      m["zero_std_fraction"] = double(adv.zero_std_groups) / double(groups.size());
      // completions.jsonl: the first few completions of the step with their rewards and advantages
      int64_t logged = 0;
      for (size_t gi = 0; gi < groups.size() && logged < s.log_completions; ++gi)
        for (int64_t k = 0; k < G && logged < s.log_completions; ++k, ++logged) {
          const reward::RewardScore& sc = groups[gi].scores[size_t(k)];
          nlohmann::json comps = nlohmann::json::object(), notes = nlohmann::json::object();
          for (size_t c = 0; c < rewards.names().size(); ++c) {
            comps[rewards.names()[c]] = json_number(sc.components[c]);
            if (c < sc.notes.size() && !sc.notes[c].empty()) notes[rewards.names()[c]] = sc.notes[c];
          }
          const auto [prompt_key, prompt] = groups[gi].problem.logged_prompt();
          // The group's index in the step, and the completion's in its group: a step may draw one problem
          // twice (a file shorter than prompts_per_step, a pass over it ending within the step), and by
          // (step, problem) alone the rows of both groups read as one.
          nlohmann::json line = {{"step", state.step + 1},
                                 {"group", gi},
                                 {"sample", k},
                                 {"problem", groups[gi].problem.id},
                                 {prompt_key, prompt},
                                 {"completion", groups[gi].completions[size_t(k)].text},
                                 {"reward", sc.total},
                                 {"rewards", comps},
                                 {"advantage", adv.advantages[gi * size_t(G) + size_t(k)]}};
          if (!notes.empty()) line["reward_notes"] = notes;
          comp_log.append(line);
        }
    } else {
      fmt::print(
          "step {}: no usable prompt group ({} of {} longer than the length limits, {} with all-equal {} "
          "dropped); no update\n",
          state.step + 1, skipped_long, count_of(drawn, "prompt"), count_of(dropped_equal, "group"),
          metric < 0 ? "rewards" : s.dynamic_sampling_metric + " scores");
      ++result.steps_without_update;
      // Every line of metrics.jsonl has the same keys (eval only on evaluation steps), so a table or plot of
      // the run has no holes to guess at: what only an update measures is null here.
      for (const char* key :
           {"lr", "loss", "kl", "entropy", "clip_low_fraction", "clip_high_fraction", "grad_norm",
            "logprob_mismatch_max", "logprob_mismatch_mean", "completion_length_mean",
            "completion_length_min", "completion_length_max", "truncated_fraction", "zero_std_fraction"})
        m[key] = nullptr;
    }
    const double train_s = seconds_since(t_train);
    // A step without completions has no reward (null in metrics.jsonl, no reward on the progress line), not
    // 0.
    double mean = totals.empty() ? std::numeric_limits<double>::quiet_NaN() : 0.0, var = mean;
    for (double r : totals) mean += r / double(totals.size());
    for (double r : totals) var += (r - mean) * (r - mean) / double(std::max<size_t>(1, totals.size() - 1));
    m["reward"] = json_number(mean);
    m["reward_std"] = json_number(std::sqrt(var));
    for (size_t k = 0; k < components.size(); ++k)
      m["rewards/" + rewards.names()[k]] = json_number(nan_mean(components[k]));
    m["generation_s"] = gen_s;
    m["training_s"] = train_s;
    m["generated_tokens"] = gen_tokens;
    m["generation_tokens_per_s"] = gen_s > 0 ? double(gen_tokens) / gen_s : 0.0;
    ++state.step;
    state.tokens_seen += gen_tokens;
    state.elapsed_seconds = elapsed_before + seconds_since(t_run);
    result.last_reward = mean;
    checkpoints.set_eval_pending(false);
    if (evaluates(state.step)) {
      EvalResult ev;
      try {
        ev = evaluate_policy();
      } catch (const Error& e) {
        // The step itself is complete: it is logged and saved before the error ends the run, so that
        // neither it nor the steps before it are lost, and a resume goes on from it.
        metrics.append(m);
        if (!settings_saved) write_resumed_settings(out, s.to_json());
        checkpoints.set_eval_pending(true);
        checkpoints.save(*policy, opt, state, s.to_json());
        throw RunError(fmt::format("the evaluation after step {} failed: {}", state.step, e.what()),
                       fmt::format("Step {} is logged and saved: --resume runs its evaluation and goes on "
                                   "(with --eval-every 0, without evaluations)",
                                   state.step));
      }
      if (ev.stopped) {
        print_stderr("seek: the evaluation of step {} was stopped\n", state.step);
        checkpoints.set_eval_pending(true);
        result.eval_owed_step = state.step;
      } else {
        m["eval"] = ev.to_json();
        result.last_eval = m["eval"];
      }
    }
    metrics.append(m);
    if (!settings_saved) write_resumed_settings(out, s.to_json());
    settings_saved = true;
    const double eta = seconds_since(t_run) / double(state.step - first_step) * double(s.steps - state.step);
    std::string parts;
    for (size_t k = 0; k < components.size(); ++k) {
      const double c = nan_mean(components[k]);  // NaN: the reward applied to none of the step's problems
      parts += fmt::format("{}{} {}", k ? " " : "", rewards.names()[k],
                           std::isnan(c) ? std::string("-") : fmt::format("{:.2f}", c));
    }
    const std::string update =
        totals.empty()
            ? std::string("no update (no usable prompt group)")
            : fmt::format("reward {:.3f} ± {:.3f} ({}) | len {:.0f}{}", mean, std::sqrt(var), parts,
                          m["completion_length_mean"].get<double>(),
                          m["kl"].is_null() ? "" : fmt::format(" | kl {:.4f}", m["kl"].get<double>())) +
                  (step_without_update ? fmt::format(" | no update ({})", step_without_update) : "");
    fmt::print("step {:>5}/{} | {} | gen {:.1f}s train {:.1f}s | {:.0f} tok/s | ETA {}{}\n", state.step,
               s.steps, update, gen_s, train_s, gen_s > 0 ? double(gen_tokens) / gen_s : 0.0,
               format_duration(eta), m.contains("eval") ? eval_summary(m["eval"], s.eval_samples) : "");
    flush_stdout();
    const bool last = state.step == s.steps;
    // A signal at the last step lets the run finish and save its model; the command then ends by the signal
    // (cli end_run). Asked there too, so the test hook can signal at it.
    const bool stopping = stop.requested("step") && !last;
    if (last || stopping || (s.checkpoint_every > 0 && state.step % s.checkpoint_every == 0))
      checkpoints.save(*policy, opt, state, s.to_json());
    if (stopping) {
      result.interrupted = true;
      break;
    }
  }
  result.steps_done = state.step;
  if (result.interrupted) return result;
  // A resumed run that was already complete ran no step: it re-exports the policy, with the save_dtype given.
  const nlohmann::json completed =
      settings_saved ? nlohmann::json() : completed_run_settings(out, s.to_json());
  SaveOptions so;
  so.dtype = s.save_dtype == "bf16" ? DType::BF16 : DType::F32;
  save_final_model(*policy, out / "model", so, tok_files);
  if (!settings_saved) write_resumed_settings(out, completed);
  fmt::print("done: {}{}; policy saved to {}, metrics in {}, sample completions in {}\n",
             count_of(state.step, "GRPO step"),
             result.steps_without_update > 0
                 ? fmt::format(" ({} of this session's without an update)", result.steps_without_update)
                 : std::string(),
             (out / "model").string(), metrics_path.string(), comp_path.string());
  flush_stdout();
  return result;
}

}  // namespace seek
