// What `seek train` and `seek grpo` share about a run folder: resuming its saved settings with the user's
// overrides, creating it with the resolved settings, and formatting an ETA and counts.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/thread_count.hpp"
#include "train/checkpoint.hpp"

namespace seek {

struct ResumePoint {
  std::filesystem::path checkpoint;  // the newest complete checkpoint
  nlohmann::json settings;           // <out>/settings.json with `overrides` applied
  std::string changes;               // "key old → new, ..." for each setting `overrides` changed
};

// What --resume may change, from the settings struct (kFixedOnResume, kPathSettings) and its defaults.
struct ResumeRules {
  const char* command;                 // "seek train" or "seek grpo": a run the other one made is refused
  std::span<const char* const> fixed;  // what the checkpoint's run is made of: a change is an error
  std::span<const char* const> paths;  // settings naming files or folders (a string or a list of them)
  // Of `paths`, whether a resumed run with these settings (the saved ones with the command's changes)
  // reads this one again.
  bool (*read_on_resume)(const std::string& key, const nlohmann::json& settings);
  nlohmann::json defaults;  // for keys an older settings.json lacks
  // A given value as what it stands for with the run's checkpoint and saved settings (settings.json as
  // read): a placeholder resolved at start (aux_alpha < 0: the config's α), or a value that means the same
  // as the saved one (task options spelling out a default) as the saved one; other values unchanged. Null:
  // every value stands for itself.
  nlohmann::json (*resolve)(const std::string& key, const nlohmann::json& given,
                            const std::filesystem::path& checkpoint, const nlohmann::json& saved) = nullptr;
};

// Throws seek::Error when the folder has no complete checkpoint or no readable settings.json, when
// `overrides` changes a fixed key (a path one only if the saved files are gone: moved), or when a path
// setting names what cannot be found from here. Changes to other keys are listed in `changes`, for
// save_resumed_settings to print.
ResumePoint resume_point(const std::filesystem::path& out, const nlohmann::json& overrides,
                         const ResumeRules& rules);

// The settings with each path setting made absolute (and normalised), as a new run saves them: its
// settings.json then names the same files wherever --resume is run from.
nlohmann::json absolute_paths(nlohmann::json settings, std::span<const char* const> path_keys);

// Before a new run (not --resume) writes into `out`: refuses a folder that holds a run's results
// (checkpoints/, model/, or non-empty metrics.jsonl / completions.jsonl). Starting over there would overwrite
// the finished model and logs and leave the old checkpoints, which a later --resume would then continue from.
// `command` is the one starting the new run, for the message when another made the run there.
void refuse_to_overwrite_a_run(const std::filesystem::path& out, const char* command);

// `settings` with each path setting of `paths` that the resumed run does not read again (`read_on_resume`)
// and that names something gone replaced by what the checkpoint holds of it: "config" by
// <checkpoint>/config.json, a folder (init, a tokenizer) by the checkpoint folder, which holds the model's
// config and the tokenizer files.
nlohmann::json paths_gone_as_checkpoint(nlohmann::json settings, std::span<const char* const> paths,
                                        bool (*read_on_resume)(const std::string&, const nlohmann::json&),
                                        const std::filesystem::path& checkpoint);

// Throws seek::Error naming the flag when a path setting (a string or a list of them) names nothing that
// exists: a new run checks it before it creates its folder (a mistyped --init left a run folder behind).
void check_paths_exist(const nlohmann::json& settings, std::span<const char* const> path_keys);

// Creates the folder and writes settings.json atomically (which also proves the folder is writable).
void prepare_run_folder(const std::filesystem::path& out, const nlohmann::json& resolved_settings);

// Held while a run uses its folder: a second `seek train` or `seek grpo` there is refused (two resumes at
// once interleaved their metrics and overwrote each other's checkpoints; two new runs deleted each other's
// checkpoints in the making). An flock on <out>/.lock, which the kernel releases when the process ends,
// however it ends, so a killed run never leaves a stale lock.
class RunFolderLock {
 public:
  // Creates the folder if it is missing. Throws seek::Error when another process holds the lock.
  explicit RunFolderLock(const std::filesystem::path& out);
  ~RunFolderLock();
  RunFolderLock(const RunFolderLock&) = delete;
  RunFolderLock& operator=(const RunFolderLock&) = delete;

 private:
  int fd_ = -1;
};

// "resuming with changed settings: ...", one line for all, so a changed run is never silent; nothing when
// `changes` is empty.
void print_changed_settings(const std::string& changes);

// A resumed run's settings.json, written once its first step has been logged: a --resume refused by the
// trainer's checks (data, memory, steps), or one whose first step fails (every prompt now too long, a loss
// that is not finite), leaves the run's settings as they were, so a later plain --resume is not silently
// run with the failed attempt's flags.
void write_resumed_settings(const std::filesystem::path& out, const nlohmann::json& settings);

// A resumed run that was already complete trains no step and exports its model again: settings.json keeps
// the settings it trained with, but for save_dtype, with which the model is written now; other settings the
// command changed (`now` differs from settings.json) are named in a note as not applied. Returns what
// settings.json is to hold, written (write_resumed_settings) once the export has succeeded: written before
// it, a failed export left settings.json naming a save_dtype the model folder does not have.
nlohmann::json completed_run_settings(const std::filesystem::path& out, const nlohmann::json& now);

// Throws seek::Error naming the setting (as its flag) whose text is not valid UTF-8, which settings.json
// cannot hold.
void check_settings_are_utf8(const nlohmann::json& settings);

// A new run's folder put back as it was when the run ends by an error before it made anything of its own (a
// model that does not load, problems whose tests do not compile): the settings.json and lock it wrote are
// removed (and empty logs), and the folders the run made for --out (`a/b/c` where `a` was missing: all three)
// when nothing else is in them. A folder that
// holds the run's work by then (a token cache, a logged step, a checkpoint, a model) is left as it is. Only
// while an exception unwinds: a run that ends otherwise (finished, or stopped by a signal) keeps its folder.
class NewRunFolderCleanup {
 public:
  // The outermost folder of out's path that is missing (empty: out exists), taken before the run creates
  // anything.
  static std::filesystem::path missing_from(const std::filesystem::path& out);
  // Made once the run holds the folder's lock: a run refused by another's lock must not touch its files.
  NewRunFolderCleanup(const std::filesystem::path& out, std::filesystem::path made_from);
  ~NewRunFolderCleanup();
  NewRunFolderCleanup(const NewRunFolderCleanup&) = delete;
  NewRunFolderCleanup& operator=(const NewRunFolderCleanup&) = delete;

 private:
  std::filesystem::path out_;        // as the run was given it
  std::filesystem::path made_from_;  // the outermost folder of out_ that is missing; empty: out_ exists
  int exceptions_at_start_;
};

template <typename Settings>
struct RunStart {
  Settings settings;                                // on resume, the saved ones with the overrides applied
  std::filesystem::path out;                        // the folder this run was given, not a saved one
  std::optional<std::filesystem::path> checkpoint;  // set when resuming
  std::string changes;  // on resume: what the command changed (print_changed_settings; not yet saved)
  std::unique_ptr<RunFolderLock> lock;  // for as long as the run goes on
  // A new run's: after `lock`, so it is destroyed first, while the lock is still held.
  std::unique_ptr<NewRunFolderCleanup> cleanup;
};

// The start both trainers share, for any settings struct with out, threads, from_json, validate and to_json.
// The settings are validated before the folder is created, so a bad run leaves nothing behind. A new run's
// settings.json is written here; a resumed run's is left to write_resumed_settings.
template <typename Settings>
RunStart<Settings> start_run(const Settings& given, bool resume, const nlohmann::json& overrides) {
  SEEK_CHECK(!given.out.empty(), "no run folder: give --out DIR");
  RunStart<Settings> r{given, given.out, std::nullopt, {}, nullptr, nullptr};
  check_settings_are_utf8(resume ? overrides : given.to_json());
  // Before the saved settings and checkpoints are read, or the folder is judged: another run may be writing
  // them (a run still before its first checkpoint was reported as one that had stopped, with the advice to
  // delete its folder). Only in a folder that a run has used (its .lock is there: the lock is taken before
  // anything else is written, and checkpoints are looked at only once it is held) or that holds a run of a
  // version without locks; resume_point says what is wrong with another, and leaves no lock file in it.
  std::error_code ec;
  if (std::filesystem::is_directory(r.out, ec) &&
      (std::filesystem::exists(r.out / ".lock", ec) || (resume && latest_checkpoint(r.out))))
    r.lock = std::make_unique<RunFolderLock>(r.out);
  if (resume) {
    ResumeRules rules{Settings::kCommand, Settings::kFixedOnResume, Settings::kPathSettings,
                      &Settings::reads_on_resume, Settings{}.to_json()};
    if constexpr (requires { &Settings::resolve_on_resume; }) rules.resolve = &Settings::resolve_on_resume;
    ResumePoint rp = resume_point(r.out, overrides, rules);
    r.checkpoint = rp.checkpoint;
    r.changes = std::move(rp.changes);
    r.settings = Settings::from_json(rp.settings, (r.out / "settings.json").string());
  } else {
    r.settings = Settings::from_json(absolute_paths(given.to_json(), Settings::kPathSettings), "settings");
  }
  if (resume) {
    try {
      // Path settings the resumed run does not read again may name what is gone since: validated as the
      // checkpoint's copy, while the settings keep the names the run was made with.
      Settings::from_json(paths_gone_as_checkpoint(r.settings.to_json(), Settings::kPathSettings,
                                                   &Settings::reads_on_resume, *r.checkpoint),
                          "settings")
          .validate();
    } catch (const Error& e) {  // a bad value there comes from the saved settings or this command's changes
      fail(
          "{} (in the run's settings, {}{}; a setting --resume may change can be given as a flag to replace "
          "it)",
          e.what(), (r.out / "settings.json").string(),
          r.changes.empty() ? "" : ", with this command's changes: " + r.changes);
    }
  } else {
    // A folder holding a run (or a model) first: a run folder given without --resume failed on a missing
    // flag (--init) instead of saying to resume it.
    refuse_to_overwrite_a_run(r.out, Settings::kCommand);
    r.settings.validate();
    check_paths_exist(r.settings.to_json(), Settings::kPathSettings);
  }
  use_thread_count(r.settings.threads, "threads");
  // Saved absolute like the other paths (a resumed run's saved one may be relative, or another folder's).
  r.settings.out = std::filesystem::absolute(r.out).lexically_normal().string();
  // Before anything is written: a path with bytes that are not UTF-8 (Linux allows any) was an internal
  // error from the JSON writer, after the folder and its lock were made.
  check_settings_are_utf8(r.settings.to_json());
  if (!resume) {
    const std::filesystem::path made_from =
        NewRunFolderCleanup::missing_from(r.out);  // before the lock makes it
    if (!r.lock) r.lock = std::make_unique<RunFolderLock>(r.out);
    r.cleanup = std::make_unique<NewRunFolderCleanup>(r.out, made_from);
    refuse_to_overwrite_a_run(r.out, Settings::kCommand);  // again, now that no other run can start there
    prepare_run_folder(r.out, r.settings.to_json());
  }
  return r;
}

// Cuts a run's JSONL log (metrics.jsonl, completions.jsonl) back to the lines of steps up to `step`, the
// checkpoint a resumed run continues from, so the steps its predecessor logged after that checkpoint are not
// logged twice; a torn last line of a killed run goes too. Returns the lines kept; a missing file is empty.
// `line_per_step` (metrics.jsonl): steps up to `step` without a line are noted, as they stay missing.
std::vector<nlohmann::json> truncate_log_to_step(const std::filesystem::path& file, int64_t step,
                                                 bool line_per_step = false);

// Sets `key` to `value` in the line of step `step` of a run's metrics.jsonl, replacing the file atomically:
// an evaluation that a stop cut short, run again by the resumed run, goes in its step's line, where an
// uninterrupted run logged it. Other lines keep their text. Returns false when no line is of that step.
bool set_in_step_line(const std::filesystem::path& file, int64_t step, const std::string& key,
                      const nlohmann::json& value);

// "resuming from <checkpoint> (step N)", and when N has reached `steps`, that the run is already complete;
// a note when the checkpoint was made with another thread count than this process runs (the run then does
// not reproduce an uninterrupted one bit for bit). Throws seek::Error when N is past `steps` (a --steps below
// the checkpoint cannot be reached).
void print_resuming(const std::filesystem::path& checkpoint, const TrainerState& state, int64_t steps);

}  // namespace seek
