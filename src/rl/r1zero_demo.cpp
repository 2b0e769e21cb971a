#include "rl/r1zero_demo.hpp"

#include <fmt/core.h>

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/count_of.hpp"
#include "core/error.hpp"
#include "core/read_file.hpp"
#include "core/resources.hpp"
#include "core/rng.hpp"
#include "core/stderr.hpp"
#include "core/stdout.hpp"
#include "core/stop_signal.hpp"
#include "infer/model.hpp"
#include "model/config.hpp"
#include "reward/combined_reward.hpp"
#include "reward/task.hpp"
#include "rl/evaluate.hpp"
#include "rl/grpo_trainer.hpp"
#include "rl/problems.hpp"
#include "rl/svg_plot.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/run_folder.hpp"
#include "train/shared_settings.hpp"
#include "train/trainer.hpp"

namespace seek {

namespace fs = std::filesystem;

namespace {

// One of the demo's training runs (`run` returns whether it was interrupted); its errors name the phase. A
// failed run's advice about its folder (--resume it, move its checkpoints, a flag of that command) does not
// apply: the demo removes its runs when it fails, so a RunError shows its problem alone.
template <typename Run>
bool run_phase(const char* phase, Run run) {
  try {
    return run();
  } catch (const RunError& e) {
    fail("{}: {}", phase, e.problem());
  } catch (const Error& e) {
    fail("{}: {}", phase, e.what());
  }
}

// The demo's runs are its own: an interrupted one is not resumed but replaced by the next `seek demo`.
R1ZeroDemoResult& interrupted(R1ZeroDemoResult& r) {
  fmt::print("the demo stopped; `seek demo` starts it again from the beginning\n");
  r.interrupted = true;
  return r;
}

constexpr int64_t kDemoSeqLen = 128;  // tokens per pretraining sequence: a prompt and a worked solution

const nlohmann::json kTaskOptions = {{"min_terms", 2},           {"max_terms", 2},   {"min_digits", 1},
                                     {"max_digits", 2},          {"operators", "+"}, {"template", "plain"},
                                     {"held_out_fraction", 0.05}};

// One worked solution in the R1 format, deliberately imperfect: a wrong sum (the same in the thinking and the
// answer) with probability wrong_fraction, and no tags at all with probability untagged_fraction.
std::string worked_solution(const nlohmann::json& data, const std::string& answer, Rng& rng,
                            const R1ZeroDemoOptions& o) {
  std::string expr;
  if (data.contains("expression") && data["expression"].is_string())
    expr = data["expression"].get<std::string>();
  long long value = std::stoll(answer);
  if (rng.uniform() < o.wrong_fraction) {
    long long off = 1 + int64_t(rng.below(9));
    value += rng.uniform() < 0.5 ? -off : off;
  }
  std::string steps = expr.empty() ? std::to_string(value) : fmt::format("{} = {}", expr, value);
  if (rng.uniform() < o.untagged_fraction) return fmt::format(" {}. The answer is {}.", steps, value);
  return fmt::format(" <think>{}</think> <answer>{}</answer>", steps, value);
}

std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::json> v;
  std::ifstream f(p);
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) v.push_back(nlohmann::json::parse(line));
  return v;
}

void plot_metric(const fs::path& file, const std::string& title, const std::string& y_label,
                 const std::vector<nlohmann::json>& rows,
                 const std::vector<std::pair<std::string, std::string>>& keys) {
  std::vector<PlotSeries> series;
  for (const auto& [key, label] : keys) {
    PlotSeries s{label, {}};
    for (const auto& r : rows)
      if (r.contains(key) && r[key].is_number())
        s.points.emplace_back(r["step"].get<double>(), r[key].get<double>());
    series.push_back(std::move(s));
  }
  write_svg_plot(file, title, "step", y_label, series);
}

// The base model's config, in the demo's folder: the built-in one, or a copy of --config's, so the folder
// holds what its base model was made from.
fs::path base_config_path(const fs::path& out) {
  return out / "base-config.json";
}

TrainSettings base_training(const R1ZeroDemoOptions& o, const fs::path& out, const fs::path& corpus) {
  TrainSettings ts;
  ts.config = base_config_path(out).string();
  ts.data = {corpus.string()};
  ts.objective = "sft";
  ts.out = (out / "base").string();
  ts.batch_size = 16;
  ts.seq_len = kDemoSeqLen;
  ts.steps = o.pretrain_steps;
  ts.lr = 3e-3;
  ts.min_lr = 3e-4;
  // A tenth of a shorter run: 50 steps of warm-up left a 50-step run below lr until its last step.
  ts.warmup_steps = std::min<int64_t>(50, o.pretrain_steps / 10);
  ts.eval_every = std::max<int64_t>(1, o.pretrain_steps / 6);
  ts.eval_batches = 4;
  ts.checkpoint_every = o.pretrain_steps;
  ts.keep_last = 1;
  // A line every ~15 s at the default 5000 steps (steps / 20 left the first 78 s without one).
  ts.log_every = std::clamp<int64_t>(o.pretrain_steps / 20, 1, 50);
  ts.seed = o.seed;
  // The count the demo runs with (--threads, or the process default), not 0 ("keep the process's"):
  // settings.json is what a resume or --run-config reuses, and another machine's default would change the
  // bits.
  ts.threads = omp_get_max_threads();
  return ts;
}

GrpoSettings grpo_training(const R1ZeroDemoOptions& o, const fs::path& out) {
  GrpoSettings gs;
  gs.init = (out / "base" / "model").string();
  gs.task = "arithmetic";
  gs.task_options = kTaskOptions;
  gs.rewards = {{"accuracy", 1.0}, {"format", 1.0}};
  gs.out = (out / "grpo").string();
  gs.steps = o.grpo_steps;
  gs.prompts_per_step = o.prompts_per_step;
  gs.group_size = o.group_size;
  gs.max_completion_length = 48;
  gs.lr = o.grpo_lr;
  gs.warmup_steps = std::min<int64_t>(5, o.grpo_steps / 10);
  gs.beta = 1e-3;  // a frozen reference model, mostly so the run's KL curve can be plotted
  // DAPO's filter: a group whose samples are all right or all wrong teaches nothing, and a policy sure of a
  // wrong sum stays so. On the base models of six demo runs, dropping them and drawing more prompts, with 300
  // steps instead of 150, gave +10 to +22 points of held-out pass@1 over the plain run (BENCHMARKS.md).
  gs.dynamic_sampling = true;
  gs.dynamic_sampling_metric = "accuracy";
  // The held-out accuracy (greedy) at every tenth of the run, for the plot: the training rewards are over
  // kept groups. The first of the demo's held-out problems, at most 64.
  gs.eval_every = std::max<int64_t>(1, (o.grpo_steps + 9) / 10);
  gs.eval_problems = std::min<int64_t>(64, o.eval_problems);
  gs.checkpoint_every = o.grpo_steps;
  gs.keep_last = 1;
  gs.micro_batch = 32;
  gs.seed = o.seed;
  gs.threads = omp_get_max_threads();
  return gs;
}

// Every flag is checked before anything is written or replaced, so a mistyped one neither costs the
// pretraining time nor the previous demo's results.
// `config_text`: the base model's config.json, read once (the demo checks the bytes it copies and trains).
ModelConfig check_options(const R1ZeroDemoOptions& o, const std::string& config_text) {
  require_positive(o.pretrain_steps, "--pretrain-steps");
  require_positive(o.pretrain_examples, "--pretrain-examples");
  for (const auto& [name, v] : {std::pair{"--wrong-fraction", o.wrong_fraction},
                                std::pair{"--untagged-fraction", o.untagged_fraction}})
    SEEK_CHECK(std::isfinite(v) && v >= 0 && v <= 1, "{} must be a fraction in [0, 1], got {}", name, v);
  require_positive(o.grpo_steps, "--grpo-steps");
  require_positive(o.prompts_per_step, "--prompts-per-step");
  SEEK_CHECK(o.group_size >= 2, "--group-size must be at least 2 (advantages compare samples), got {}",
             o.group_size);
  for (const auto& [name, v] :
       {std::pair{"--prompts-per-step", o.prompts_per_step}, std::pair{"--group-size", o.group_size},
        std::pair{"--eval-samples", int64_t(o.eval_samples)}})
    SEEK_CHECK(v <= kMaxGrpoCount, "{} must be at most {} (got {})", name, kMaxGrpoCount, v);
  SEEK_CHECK(std::isfinite(o.grpo_lr) && o.grpo_lr > 0, "--grpo-lr must be a positive number, got {}",
             o.grpo_lr);
  require_positive(o.eval_problems, "--eval-problems");
  SEEK_CHECK(o.eval_problems <= kMaxEvalProblems, "--eval-problems must be at most {} (got {})",
             kMaxEvalProblems, o.eval_problems);
  require_positive(o.eval_samples, "--eval-samples");
  SEEK_CHECK(!o.out.empty(), "--out must name a folder");
  // The model config is read now (a missing or invalid file is reported before the pretraining starts).
  const std::string source = o.config.empty() ? "the built-in demo config" : "--config " + o.config;
  const ModelConfig cfg = ModelConfig::from_text(config_text, o.config.empty() ? source : o.config);
  SEEK_CHECK(cfg.max_position_embeddings >= kDemoSeqLen,
             "the demo trains on sequences of {} tokens, and {} has max_position_embeddings {}", kDemoSeqLen,
             source, cfg.max_position_embeddings);
  // Found by the trainer, it was reported after the corpus was written, with advice to give a --tokenizer,
  // which the demo has not.
  const int64_t byte_vocab = int64_t(make_byte_tokenizer()->vocab_size());
  SEEK_CHECK(
      cfg.vocab_size >= byte_vocab,
      "the demo trains with the byte-level tokenizer ({} ids), and {} has vocab_size {}; raise it to at "
      "least {}",
      byte_vocab, source, cfg.vocab_size, byte_vocab);
  return cfg;
}

// What the phases after the pretraining need at once, checked before it: GRPO's G samples of a prompt and
// an evaluation's --eval-samples each hold KV cache for a prompt and its completion and a logits row. Found
// when GRPO started, a --group-size too large for the memory cost the whole pretraining.
void check_memory_of_later_phases(const R1ZeroDemoOptions& o, const GrpoSettings& gs, const ModelConfig& c) {
  const int64_t samples = std::max<int64_t>(o.group_size, o.eval_samples);
  const double cache_per_token =
      double(c.num_hidden_layers) * double(c.kv_lora_rank + c.qk_rope_head_dim) * 4;
  const double tokens = double(gs.max_prompt_length + gs.max_completion_length);
  const double bytes = double(samples) * (tokens * cache_per_token + double(c.vocab_size + 1) * 4);
  check_memory_for(bytes >= 9e18 ? LLONG_MAX : static_cast<long long>(bytes),
                   fmt::format("the KV cache and logits of {} samples of up to {} tokens (a GRPO group or an "
                               "evaluation's samples of one problem)",
                               samples, int64_t(tokens)),
                   "; lower --group-size or --eval-samples");
}

// What a demo writes in its --out: run folders it replaces and files it overwrites on the next demo.
constexpr const char* kDemoOutputs[] = {"base",
                                        "grpo",
                                        "plots",
                                        "base-config.json",
                                        "base-data.jsonl",
                                        "base-eval.jsonl",
                                        "grpo-eval.jsonl",
                                        "summary.json"};
constexpr const char* kDemoMarker = ".seek-demo";  // in a folder a demo wrote

// Before the demo replaces anything in `out`: it must be a folder a demo wrote (its marker, or, from
// before the marker, a base/ run trained on the demo's own base-data.jsonl) or hold none of the demo's
// names. Then marks it. A user's runs/base/model must not vanish under `seek demo --out runs`.
void claim_demo_folder(const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out, ec))
    SEEK_CHECK(fs::is_directory(out, ec), "--out {} is a file; give a folder for the demo's runs",
               out.string());
  bool ours = fs::exists(out / kDemoMarker, ec);
  if (!ours && fs::is_regular_file(out / "base" / "settings.json", ec)) {
    const auto j = nlohmann::json::parse(read_file(out / "base" / "settings.json"), nullptr, false);
    ours = j.is_object() &&
           j.value("data", nlohmann::json()) == nlohmann::json::array({(out / "base-data.jsonl").string()});
  }
  if (!ours)
    for (const char* name : kDemoOutputs)
      SEEK_CHECK(
          !fs::exists(out / name, ec),
          "--out {} holds {}, which no seek demo wrote, and the demo would replace it: give another --out "
          "(the default is runs/demo)",
          out.string(), name);
  fs::create_directories(out, ec);
  SEEK_CHECK(!ec, "cannot create {}: {}", out.string(), ec.message());
  write_file_atomically(out / kDemoMarker,
                        "a folder `seek demo` writes into; the next demo replaces its runs\n");
}

// The previous demo's outputs, moved aside into OUT/.previous-demo while a new demo runs: removed when the
// new one finishes, put back when it fails or is stopped, so a demo that cannot run (a --config whose
// vocabulary is too small, too few examples: errors the trainers find only once they start) or that the user
// stops never costs the last complete one. Whatever the new demo wrote goes when it fails or is stopped, also
// where no previous demo was there to put back: half-built runs left in the folder became "the previous
// demo" that the next stopped one put back. A stash a killed demo left is put back at the next start, unless
// OUT/summary.json shows that the demo after it finished (summary.json is moved into the stash at the start
// and written last), in which case the stash is what is out of date; without a stash, outputs without
// summary.json are what a killed demo had made so far, and go.
class PreviousDemo {
 public:
  explicit PreviousDemo(const fs::path& out) : out_(out), stash_(out / ".previous-demo") {
    std::error_code ec;
    // A run folder that a `seek train` or `seek grpo` of its own is using (a resume of a demo's base/) is
    // neither removed nor moved away under it: checked before anything below touches it.
    for (const fs::path& dir : {out_ / "base", out_ / "grpo", stash_ / "base", stash_ / "grpo"})
      if (fs::is_directory(dir, ec)) RunFolderLock in_use(dir);
    remove_discarded();
    if (fs::exists(stash_, ec)) {
      if (fs::exists(out_ / "summary.json", ec)) {
        fmt::print("removing {}: the demo after it finished\n", stash_.string());
        discard();
      } else {
        fmt::print("putting back the previous demo's runs from {}, left by a demo that was killed\n",
                   stash_.string());
        put_back();
      }
    } else if (!fs::exists(out_ / "summary.json", ec) && holds_outputs()) {
      fmt::print("removing the runs of an unfinished demo from {}, left by a demo that was killed\n",
                 out_.string());
      remove_outputs();
    }
    try {
      // summary.json first: a start that finds a stash and OUT/summary.json takes the stash for out of date,
      // so a kill between these renames must not leave the previous demo's summary behind.
      for (auto name = std::rbegin(kDemoOutputs); name != std::rend(kDemoOutputs); ++name)
        if (fs::exists(out_ / *name, ec)) {
          fs::create_directories(stash_);
          moved_ = true;
          fs::rename(out_ / *name, stash_ / *name);
        }
    } catch (...) {
      if (moved_) put_back();  // all or nothing
      throw;
    }
    if (moved_)
      fmt::print(
          "moving the previous demo's runs to {} (removed when this demo finishes, put back if it fails "
          "or is stopped)\n",
          stash_.string());
  }
  PreviousDemo(const PreviousDemo&) = delete;
  PreviousDemo& operator=(const PreviousDemo&) = delete;
  // An exception is on its way out: the new demo's outputs go and the previous demo comes back; never throws
  // over the exception.
  ~PreviousDemo() {
    if (settled_) return;
    try {
      put_back();
      print_stderr("seek: {} in {} {}\n", moved_ ? "the previous demo's runs" : "this demo's unfinished runs",
                   out_.string(), moved_ ? "are kept" : "are removed");
    } catch (const std::exception& e) {
      print_stderr("seek: could not put the previous demo back from {}: {}\n", stash_.string(), e.what());
    }
  }
  // The new demo finished: the previous one goes (best effort: what is left is removed at the next start).
  void drop() {
    settled_ = true;
    if (moved_) discard();
  }
  // The new demo stopped: its partial runs make way for the previous ones.
  void restore() {
    settled_ = true;
    put_back();
    fmt::print("{} in {} {}\n", moved_ ? "the previous demo's runs" : "this demo's unfinished runs",
               out_.string(), moved_ ? "are kept" : "are removed");
  }

 private:
  bool holds_outputs() const {
    std::error_code ec;
    for (const char* name : kDemoOutputs)
      if (fs::exists(out_ / name, ec)) return true;
    return false;
  }
  void remove_outputs() {
    for (const char* name : kDemoOutputs) fs::remove_all(out_ / name);
  }
  // The new demo's outputs all go first, so the two demos never mix (a grpo/ run of one beside the base/
  // model of the other); summary.json comes back last (see the constructor).
  void put_back() {
    std::error_code ec;
    remove_outputs();
    if (!fs::exists(stash_, ec)) return;
    for (const char* name : kDemoOutputs)
      if (fs::exists(stash_ / name, ec)) fs::rename(stash_ / name, out_ / name);
    fs::remove_all(stash_);
  }
  // One rename takes the stash out of the way at once; the removal after it may be cut short.
  void discard() {
    std::error_code ec;
    const fs::path doomed = out_ / (".previous-demo.removing-" + std::to_string(::getpid()));
    fs::rename(stash_, doomed, ec);
    fs::remove_all(ec ? stash_ : doomed, ec);
  }
  void remove_discarded() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out_, ec))
      if (e.path().filename().string().rfind(".previous-demo.removing-", 0) == 0)
        fs::remove_all(e.path(), ec);
  }

  fs::path out_, stash_;
  bool moved_ = false;    // the previous demo's outputs are in the stash
  bool settled_ = false;  // drop() or restore() ran
};

// Stopped early by a signal (EvalResult::stopped), it writes no completions.
EvalResult evaluate_dir(const fs::path& model_dir, const std::vector<reward::Problem>& problems,
                        const R1ZeroDemoOptions& o, const fs::path& completions, const StopOnSignal& stop) {
  auto model = InferModel::load(model_dir);
  auto tok = make_byte_tokenizer();
  EvalOptions eo;
  eo.samples = o.eval_samples;
  eo.ks = {1, o.eval_samples};
  eo.sampling.temperature = 1.0f;
  eo.sampling.max_new_tokens = 48;
  eo.sampling.seed = o.seed;
  eo.progress.emplace();
  eo.stop_requested = [&] { return stop.requested("eval"); };
  std::ostringstream lines;
  EvalResult r = evaluate(*model, *tok, problems, eo, nullptr, &lines);
  if (!r.stopped) write_file_atomically(completions, lines.str());
  return r;
}

}  // namespace

const char* builtin_demo_config() {
  return
#include "rl/demo_config.inc"
      ;
}

R1ZeroDemoResult run_r1zero_demo(const R1ZeroDemoOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  // Read before anything is written, once: the copy in the demo's folder is made from the text checked.
  const std::string base_config_text =
      o.config.empty() ? builtin_demo_config() : ModelConfig::read_text(o.config);
  const ModelConfig base_config = check_options(o, base_config_text);
  const fs::path out = fs::absolute(o.out);
  const fs::path corpus = out / "base-data.jsonl";
  TrainSettings ts = base_training(o, out, corpus);
  GrpoSettings gs = grpo_training(o, out);
  gs.validate();  // ts is checked by check_options; its validate() wants the corpus, not written yet
  check_memory_of_later_phases(o, gs, base_config);
  R1ZeroDemoResult res;
  claim_demo_folder(out);
  // One demo at a time in a folder (a second one would move the first one's runs away under it).
  const RunFolderLock demo_lock(out);
  // The demo owns its run folders: a new demo replaces the previous one's (the trainers refuse to start over
  // in a folder that holds a run), once it has finished.
  PreviousDemo previous(out);
  auto stopped = [&] {
    previous.restore();
    return interrupted(res);
  };
  fs::create_directories(out / "plots");
  auto task = reward::make_task("arithmetic", kTaskOptions);

  // 1. A base model that is weak but not hopeless: SFT-style pretraining on imperfect worked solutions.
  write_file_atomically(base_config_path(out), base_config_text);
  {
    Rng rng(o.seed);
    std::string text;
    for (int64_t i = 0; i < o.pretrain_examples; ++i) {
      reward::Problem p = task->train(uint64_t(i));
      text += nlohmann::json{{"prompt", p.prompt}, {"completion", worked_solution(p.data, p.answer, rng, o)}}
                  .dump();
      text += "\n";
    }
    write_file_atomically(corpus, text);
  }
  fmt::print("== 1/4 pretraining the base model on {} ({:.0f}% wrong answers, {:.0f}% without tags)\n",
             count_of(o.pretrain_examples, "generated worked solution"), o.wrong_fraction * 100,
             o.untagged_fraction * 100);
  flush_stdout();  // before the phase's work: in a pipe or log, the header came out after it
  // One stop request for all four phases: a signal in a run's last step (which the run completes) or in an
  // evaluation ends the demo before the next phase.
  const StopOnSignal stop(
      "\nseek: stopping the demo at the next safe point (Ctrl-C or SIGTERM again quits at once)\n",
      /*closed_stdout=*/true);
  if (run_phase("pretraining the base model", [&] { return run_training(ts, false).interrupted; }) ||
      stop.requested("phase"))
    return stopped();

  // 2. Held-out evaluation of the base model.
  const std::vector<reward::Problem> held = distinct_held_out(*task, o.eval_problems);
  fmt::print("== 2/4 evaluating the base model on {} × {}\n",
             count_of(int64_t(held.size()), "held-out problem"), count_of(o.eval_samples, "sample"));
  flush_stdout();
  const EvalResult base = evaluate_dir(out / "base" / "model", held, o, out / "base-eval.jsonl", stop);
  if (base.stopped || stop.requested("phase")) return stopped();
  res.base = base.to_json();

  // 3. GRPO with accuracy + format rewards only.
  fmt::print("== 3/4 GRPO: accuracy + format rewards, {} × {} × {}\n", count_of(o.grpo_steps, "step"),
             count_of(o.prompts_per_step, "prompt"), count_of(o.group_size, "sample"));
  flush_stdout();
  if (run_phase("GRPO on the base model", [&] { return run_grpo(gs, false).interrupted; }) ||
      stop.requested("phase"))
    return stopped();

  // 4. Held-out evaluation after GRPO, the table and the plots.
  fmt::print("== 4/4 evaluating the GRPO policy on the same held-out problems\n");
  flush_stdout();
  const EvalResult after = evaluate_dir(out / "grpo" / "model", held, o, out / "grpo-eval.jsonl", stop);
  if (after.stopped) return stopped();
  res.after = after.to_json();
  std::vector<std::pair<std::string, std::string>> rows{{"pass@1", "pass@1"}};
  if (o.eval_samples > 1) {
    const std::string pk = fmt::format("pass@{}", o.eval_samples);
    rows.emplace_back(pk, pk);
  }
  rows.insert(rows.end(), {{"format_rate", "format compliance"}, {"mean_length", "mean length (tokens)"}});
  fmt::print("\n{:<22} {:>10} {:>12}\n", "held-out metric", "base", "after GRPO");
  for (const auto& [key, label] : rows)
    fmt::print("{:<22} {:>10.3f} {:>12.3f}\n", label, res.base.value(key, 0.0), res.after.value(key, 0.0));
  const double b = res.base.value("pass@1", 0.0), a = res.after.value("pass@1", 0.0);
  const double fmt_after = res.after.value("format_rate", 0.0);
  res.outcome_met = b >= 0.05 && b <= 0.50 && a - b >= 0.25 && fmt_after >= 0.95;
  fmt::print("\nR1-Zero outcome (base pass@1 in [5%, 50%], +25 points, format >= 95%): {}\n",
             res.outcome_met ? "met" : "NOT met");

  auto grpo_rows = read_jsonl(out / "grpo" / "metrics.jsonl");
  auto base_rows = read_jsonl(out / "base" / "metrics.jsonl");
  plot_metric(out / "plots" / "reward.svg", "GRPO reward (training prompts, kept groups)", "mean reward",
              grpo_rows,
              {{"reward", "total"}, {"rewards/accuracy", "accuracy"}, {"rewards/format", "format"}});
  for (auto& r : grpo_rows)
    if (r.contains("eval") && r["eval"].is_object() && r["eval"].contains("accuracy"))
      r["eval_accuracy"] = r["eval"]["accuracy"];
  plot_metric(out / "plots" / "accuracy.svg", "GRPO accuracy", "accuracy", grpo_rows,
              {{"rewards/accuracy", "train, kept groups"}, {"eval_accuracy", "held-out, greedy"}});
  plot_metric(out / "plots" / "completion_length.svg", "GRPO completion length", "tokens", grpo_rows,
              {{"completion_length_mean", "mean"}, {"completion_length_max", "max"}});
  plot_metric(out / "plots" / "kl.svg", "KL(π_θ ‖ π_base) per token", "KL", grpo_rows, {{"kl", "kl"}});
  // The training cross-entropy, which val_loss is: `loss` adds the MTP and balance terms, and drew the
  // training curve ~30% above the validation one.
  plot_metric(out / "plots" / "pretrain_loss.svg", "Base model pretraining loss", "cross-entropy", base_rows,
              {{"ce", "train"}, {"val_loss", "validation"}});
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print(
      "\ntotal time {:.1f} min. Everything is in {}:\n  base/ and grpo/ (metrics.jsonl, checkpoints, model/),"
      " grpo/completions.jsonl,\n  base-eval.jsonl and grpo-eval.jsonl (every held-out completion with its "
      "scores),\n  plots/*.svg (reward, accuracy, completion length, KL, pretraining loss), summary.json "
      "(the table's "
      "figures)\n",
      secs / 60, out.string());
  write_file_atomically(
      out / "summary.json",
      nlohmann::json{
          {"base", res.base}, {"after", res.after}, {"outcome_met", res.outcome_met}, {"minutes", secs / 60}}
              .dump(2) +
          "\n");
  previous.drop();
  return res;
}

}  // namespace seek
