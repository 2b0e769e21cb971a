#include "train/run_folder.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>
#include <fstream>
#include <set>

#include "core/atomic_file.hpp"
#include "core/count_of.hpp"
#include "core/error.hpp"
#include "core/read_file.hpp"
#include "core/stderr.hpp"
#include "core/untrusted_json.hpp"
#include "tokenizer/utf8.hpp"
#include "train/checkpoint.hpp"

namespace seek {

namespace fs = std::filesystem;

namespace {

// One line of a run's JSONL log, or a discarded value for one that is not a JSON object or nests deeper than
// any line seek writes: copying or re-writing such a line recursed once per level, and a damaged line nested
// 10^5 deep overflowed the stack. Parsing and the depth check are iterative.
nlohmann::json parse_log_line(const std::string& line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return nlohmann::json(nlohmann::json::value_t::discarded);
  try {
    check_json_depth(j, "");
  } catch (const Error&) {
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  return j;
}

bool exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// A list setting given as one string (a run config's "data": "corpus.txt") as the list of it, which the
// settings read it as and settings.json saves.
nlohmann::json as_list_like(const nlohmann::json& v, const nlohmann::json& other) {
  return v.is_string() && other.is_array() ? nlohmann::json::array({v}) : v;
}

// The same setting: equal JSON, or strings (or lists of them) naming the same existing file.
bool same_setting(const nlohmann::json& a_given, const nlohmann::json& b_given) {
  if (a_given == b_given) return true;
  const nlohmann::json a = as_list_like(a_given, b_given), b = as_list_like(b_given, a_given);
  if (a.is_string() && b.is_string()) {
    std::error_code ec;
    return fs::equivalent(a.get<std::string>(), b.get<std::string>(), ec) && !ec;
  }
  if (a.is_array() && b.is_array() && a.size() == b.size()) {
    for (size_t i = 0; i < a.size(); ++i)
      if (!same_setting(a[i], b[i])) return false;
    return true;
  }
  return false;
}

// A path setting (a string or a list of them) whose saved files are all gone: moved since the run started.
bool all_gone(const nlohmann::json& saved) {
  if (saved.is_string()) return !saved.get<std::string>().empty() && !exists(saved.get<std::string>());
  if (!saved.is_array() || saved.empty()) return false;
  for (const auto& e : saved)
    if (!all_gone(e)) return false;
  return true;
}

// Whether `given` names the saved paths' new places: every changed one is gone from where it was. A list
// is compared entry by entry (one of several data files moved, the others where they were).
bool moved_to(const nlohmann::json& saved, const nlohmann::json& given_as_is) {
  const nlohmann::json given = as_list_like(given_as_is, saved);
  if (saved.is_array() && given.is_array() && saved.size() == given.size()) {
    for (size_t i = 0; i < saved.size(); ++i)
      if (!same_setting(saved[i], given[i]) && !all_gone(saved[i])) return false;
    return true;
  }
  return all_gone(saved);
}

// The first saved path of a path setting that cannot be found from here, or "".
std::string missing_path(const nlohmann::json& saved) {
  if (saved.is_string())
    return saved.get<std::string>().empty() || exists(saved.get<std::string>()) ? "" : saved;
  if (saved.is_array())
    for (const auto& e : saved)
      if (std::string m = missing_path(e); !m.empty()) return m;
  return "";
}

std::string flag_of(std::string key) {
  for (char& c : key)
    if (c == '_') c = '-';
  return "--" + key;
}

bool listed(std::span<const char* const> keys, const std::string& key) {
  return std::any_of(keys.begin(), keys.end(), [&](const char* k) { return key == k; });
}

}  // namespace

nlohmann::json absolute_paths(nlohmann::json settings, std::span<const char* const> path_keys) {
  auto absolute = [](nlohmann::json& v) {
    if (v.is_string() && !v.get<std::string>().empty())
      v = fs::absolute(v.get<std::string>()).lexically_normal().string();
  };
  for (const char* key : path_keys) {
    const auto it = settings.find(key);
    if (it == settings.end()) continue;
    if (it->is_array()) {
      for (auto& e : *it) absolute(e);
    } else {
      absolute(*it);
    }
  }
  return settings;
}

// The command that made a run, from a key only its settings have ("" when neither is there): resuming a
// seek train run with seek grpo failed on its first differing key ("setting \"data\" has the wrong type").
std::string command_of_run(const nlohmann::json& settings) {
  if (!settings.is_object()) return "";
  if (settings.contains("group_size")) return "seek grpo";
  if (settings.contains("seq_len")) return "seek train";
  return "";
}

ResumePoint resume_point(const fs::path& out, const nlohmann::json& overrides, const ResumeRules& rules) {
  std::error_code ec;
  SEEK_CHECK(fs::exists(out, ec), "nothing to resume: run folder {} does not exist", out.string());
  SEEK_CHECK(fs::is_directory(out, ec), "nothing to resume: {} is not a run folder (not a folder at all)",
             out.string());
  auto ckpt = latest_checkpoint(out);
  const auto stateless = stateless_checkpoints_past_latest(out);
  // A run's folder holds its settings.json from its start: one without is not a run (a model folder, a
  // folder of runs), which must not be advised deleted.
  const bool a_run = fs::exists(out / "settings.json", ec);
  SEEK_CHECK(ckpt.has_value(), "nothing to resume: {} has no complete checkpoint{}", out.string(),
             !stateless.empty() ? fmt::format(" ({} has no trainer_state.json)", stateless.back().string())
             : a_run
                 ? fmt::format(" (a run stopped before its first checkpoint: delete {} and start it again "
                               "without --resume)",
                               out.string())
                 : std::string(" and no settings.json: it is not a run folder (give the --out of a run)"));
  for (const auto& dir : stateless)
    fmt::print(
        "note: {} has no trainer_state.json, so it is not a checkpoint to resume from; the run resumes "
        "from the newest complete one, {}\n",
        dir.string(), ckpt->string());
  const fs::path file = out / "settings.json";
  const std::string text = read_file(file);  // says why not: missing, a folder, unreadable
  ResumePoint r{*ckpt, {}, {}};
  try {
    r.settings = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON: {}", file.string(), json_error_text(e));
  }
  check_json_depth(r.settings, file.string());
  SEEK_CHECK(r.settings.is_object(), "{}: the run's settings are a JSON object, got {}", file.string(),
             describe_json(r.settings));
  const std::string made_by = command_of_run(r.settings);
  SEEK_CHECK(made_by.empty() || made_by == rules.command,
             "{} is a {} run (its settings.json says so): resume it with {} --out {} --resume", out.string(),
             made_by, made_by, out.string());
  std::string& changes = r.changes;
  for (auto it = overrides.begin(); it != overrides.end(); ++it) {
    const std::string& key = it.key();
    // Compared and saved as what it stands for, so a run config's placeholder is no change (and says what
    // it changes to when it is one).
    const nlohmann::json given =
        rules.resolve ? rules.resolve(key, it.value(), *ckpt, r.settings) : it.value();
    // A key an older settings.json lacks had its default then.
    const auto saved_it = r.settings.find(key);
    const nlohmann::json saved =
        saved_it != r.settings.end() ? *saved_it : rules.defaults.value(key, nlohmann::json());
    if (key == "out" || same_setting(saved, given)) continue;
    const std::string was = saved.is_null() || saved == "" ? "unset" : saved.dump();
    // A file or folder of the run that was moved may be named by its new path.
    const bool moved = listed(rules.paths, key) && moved_to(saved, given);
    SEEK_CHECK(
        !listed(rules.fixed, key) || moved,
        "--resume continues the run as it was made: {} was {} in {}, the command gives {}. Resume without "
        "{}, or start a new run in another --out (its --init can be one of this run's checkpoints)",
        flag_of(key), was, file.string(), given.dump(), flag_of(key));
    changes += fmt::format("{}{} {} → {}{}", changes.empty() ? "" : ", ", key, was, given.dump(),
                           moved ? " (moved)" : "");
    r.settings[key] = given;
  }
  // settings.json can be edited by hand; the checkpoint keeps the settings it was made with. A fixed key
  // other than a path (which may have moved) must agree with them.
  // A damaged state is reported when the checkpoint loads; here it only has no settings to compare. Parsed
  // with a bounded depth: copying a value nested 10^5 deep recursed once per level.
  nlohmann::json state;
  try {
    state = parse_json_unique_keys(read_file(*ckpt / "trainer_state.json"), "trainer_state.json");
  } catch (const std::exception&) {
    state = nullptr;  // load_checkpoint says what is wrong with it
  }
  const nlohmann::json made_with = state.is_object() && state.contains("extra") && state["extra"].is_object()
                                       ? state["extra"].value("settings", nlohmann::json::object())
                                       : nlohmann::json::object();
  for (const char* key : rules.fixed) {
    if (listed(rules.paths, key) || !made_with.is_object() || !made_with.contains(key)) continue;
    const nlohmann::json now = r.settings.value(key, rules.defaults.value(key, nlohmann::json()));
    SEEK_CHECK(same_setting(made_with[key], now),
               "{} gives {} {}, but checkpoint {} was made with {}: the run's settings were edited; put the "
               "value back",
               file.string(), key, now.dump(), ckpt->string(), made_with[key].dump());
  }
  // Other keys may change, but not silently: a value edited in settings.json (or saved by a resume stopped
  // before its first checkpoint) is listed with the command's changes.
  if (made_with.is_object())
    for (auto it = made_with.begin(); it != made_with.end(); ++it) {
      const std::string& key = it.key();
      if (key == "out" || overrides.contains(key) || listed(rules.paths, key) || listed(rules.fixed, key))
        continue;
      const nlohmann::json now = r.settings.value(key, rules.defaults.value(key, nlohmann::json()));
      if (same_setting(it.value(), now)) continue;
      changes += fmt::format("{}{} {} → {} (in {}; checkpoint {} was made with the first)",
                             changes.empty() ? "" : ", ", key, it.value().dump(), now.dump(), file.string(),
                             ckpt->filename().string());
    }
  for (const char* key : rules.paths) {
    const auto it = r.settings.find(key);
    if (it == r.settings.end() || !rules.read_on_resume(key, r.settings)) continue;
    const std::string missing = missing_path(*it);
    // Only a relative path (an older run's settings.json) depends on where --resume is run from.
    SEEK_CHECK(
        missing.empty(), "the run's {} {} (in {}) cannot be found{} give {} with its new path if it moved",
        flag_of(key), missing, file.string(),
        fs::path(missing).is_relative() ? " from here: resume from the folder the run was started in, or"
                                        : ";",
        flag_of(key));
  }
  r.settings = absolute_paths(std::move(r.settings), rules.paths);  // a new path given here, or an old run's
  return r;
}

nlohmann::json paths_gone_as_checkpoint(nlohmann::json settings, std::span<const char* const> paths,
                                        bool (*read_on_resume)(const std::string&, const nlohmann::json&),
                                        const std::filesystem::path& checkpoint) {
  for (const char* key : paths) {
    const auto it = settings.find(key);
    if (it == settings.end() || read_on_resume(key, settings) || missing_path(*it).empty()) continue;
    *it = (std::string(key) == "config" ? checkpoint / "config.json" : checkpoint).string();
  }
  return settings;
}

void check_paths_exist(const nlohmann::json& settings, std::span<const char* const> path_keys) {
  for (const char* key : path_keys) {
    const auto it = settings.find(key);
    if (it == settings.end()) continue;
    const std::string missing = missing_path(*it);
    SEEK_CHECK(missing.empty(), "{} {}: no such file or folder", flag_of(key), missing);
  }
}

void check_settings_are_utf8(const nlohmann::json& settings) {
  if (!settings.is_object()) return;
  for (auto it = settings.begin(); it != settings.end(); ++it) {
    std::vector<const nlohmann::json*> strings;
    if (it->is_string()) strings.push_back(&*it);
    if (it->is_array())
      for (const auto& e : *it)
        if (e.is_string()) strings.push_back(&e);
    for (const nlohmann::json* v : strings) {
      const std::string& text = v->get_ref<const std::string&>();
      SEEK_CHECK(
          tok::utf8_is_valid(text),
          "{} {}: not valid UTF-8 (shown with U+FFFD for its bad bytes), and settings.json, which a run "
          "saves its settings to, is JSON, which holds only UTF-8 text{}: give a value (or a path, and "
          "a working folder) whose name is UTF-8",
          flag_of(it.key()), tok::utf8_repair(text),
          std::string(it.key()) == "out" ? " (--out is saved as an absolute path)" : "");
    }
  }
}

void prepare_run_folder(const fs::path& out, const nlohmann::json& resolved_settings) {
  std::error_code ec;
  fs::create_directories(out, ec);
  SEEK_CHECK(!ec, "cannot create run folder {}: {}", out.string(), ec.message());
  write_file_atomically(out / "settings.json", resolved_settings.dump(2) + "\n");
}

namespace {
// `out` made absolute without "." and empty components, or empty when it holds "..": a lexical ".." after a
// link is not the kernel's (link/../x is x beside the link's target), so its folders are not walked up.
fs::path absolute_folder(const fs::path& out) {
  std::error_code ec;
  fs::path p;
  for (const fs::path& part : fs::absolute(out, ec)) {
    if (part == "..") return {};
    if (part != "." && !part.empty()) p /= part;
  }
  return p;
}
}  // namespace

fs::path NewRunFolderCleanup::missing_from(const fs::path& out) {
  std::error_code ec;
  fs::path made_from;
  const fs::path folder = absolute_folder(out);
  if (folder.empty()) return {};
  for (fs::path p = folder; p.has_relative_path() && !fs::exists(fs::symlink_status(p, ec));
       p = p.parent_path())
    made_from = p;
  return made_from;
}

NewRunFolderCleanup::NewRunFolderCleanup(const fs::path& out, fs::path made_from)
    : out_(out), made_from_(std::move(made_from)), exceptions_at_start_(std::uncaught_exceptions()) {}

NewRunFolderCleanup::~NewRunFolderCleanup() {
  if (std::uncaught_exceptions() <= exceptions_at_start_) return;
  std::error_code ec;
  std::vector<fs::path> written;
  for (fs::directory_iterator it(out_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // A data cache that the failure left empty (bad data: its half-built shards are gone) holds no work.
    if (name == "data-cache" && it->is_directory(ec) && fs::is_empty(it->path(), ec) && !ec) {
      written.push_back(it->path());
      continue;
    }
    if (name == "data-cache" || name == "checkpoints" || name == "model") return;  // the run's work
    if (name == "metrics.jsonl" || name == "completions.jsonl") {
      std::error_code size_ec;
      if (fs::file_size(it->path(), size_ec) != 0 || size_ec) return;  // it logged a step
    }
    if (name == "settings.json" || name == ".lock" || name == "metrics.jsonl" || name == "completions.jsonl")
      written.push_back(it->path());
  }
  if (ec) return;
  for (const fs::path& p : written) fs::remove(p, ec);
  if (made_from_.empty()) return;
  // Each only if nothing else is in it, from the innermost out.
  for (fs::path p = absolute_folder(out_); fs::remove(p, ec) && p != made_from_; p = p.parent_path()) {
  }
}

RunFolderLock::RunFolderLock(const fs::path& out) {
  const fs::path file = out / ".lock";
  // A run that gives up a folder it made removes its .lock (NewRunFolderCleanup) while it holds the lock: a
  // lock taken meanwhile on that file, or an open of a folder removed meanwhile, guards nothing, so those
  // are tried again.
  for (int attempt = 1;; ++attempt) {
    constexpr int kAttempts = 10;
    std::error_code ec;
    fs::create_directories(out, ec);
    SEEK_CHECK(!ec, "cannot create run folder {}: {}", out.string(), ec.message());
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0 && errno == ENOENT && attempt < kAttempts) continue;
    SEEK_CHECK(fd_ >= 0, "cannot open {}: {}", file.string(), std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      char pid[32] = {};
      const ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
      ::close(fd_);
      fd_ = -1;
      // A file system without locks (NFS without lockd): run as before there was one.
      if (err != EWOULDBLOCK) {
        print_stderr("note: cannot lock {} ({}), so nothing stops a second run in {} meanwhile\n",
                     file.string(), std::strerror(err), out.string());
        return;
      }
      std::string holder(pid, size_t(std::max<ssize_t>(n, 0)));
      while (!holder.empty() && std::isspace(static_cast<unsigned char>(holder.back()))) holder.pop_back();
      fail("{} is in use by another seek run{}: wait for it to end (or stop it), or give another --out",
           out.string(), holder.empty() ? "" : fmt::format(" (process {})", holder));
    }
    // Only a .lock known to be gone or replaced is tried again: one that cannot be looked at (EACCES, a stale
    // NFS handle) is taken as the one locked.
    struct stat held = {}, named = {};
    const bool named_ok = ::stat(file.c_str(), &named) == 0;
    if (!named_ok && errno != ENOENT) break;
    if (::fstat(fd_, &held) != 0 || (named_ok && held.st_dev == named.st_dev && held.st_ino == named.st_ino))
      break;
    ::close(fd_);
    fd_ = -1;
    SEEK_CHECK(attempt < kAttempts, "cannot lock {}: it was removed {} times while being locked",
               file.string(), kAttempts);
  }
  // Who holds it, for the message above (a failed write only loses that): the lock is the flock, not the
  // file's content.
  const std::string pid = std::to_string(::getpid()) + "\n";
  [[maybe_unused]] const bool noted =
      ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) == ssize_t(pid.size());
}

RunFolderLock::~RunFolderLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

void print_changed_settings(const std::string& changes) {
  if (!changes.empty()) fmt::print("resuming with changed settings: {}\n", changes);
}

void write_resumed_settings(const fs::path& out, const nlohmann::json& settings) {
  write_file_atomically(out / "settings.json", settings.dump(2) + "\n");
}

nlohmann::json completed_run_settings(const fs::path& out, const nlohmann::json& now) {
  nlohmann::json saved;
  try {
    saved = nlohmann::json::parse(read_file(out / "settings.json"));
  } catch (const std::exception&) {
    saved = nullptr;  // read when the run resumed: gone or damaged since, the settings now replace it
  }
  if (!saved.is_object()) return now;
  std::vector<std::string> unused;
  for (auto it = now.begin(); it != now.end(); ++it)
    if (it.key() != "save_dtype" && it.key() != "out" &&
        !(saved.contains(it.key()) && same_setting(saved[it.key()], it.value())))
      unused.push_back(it.key());
  if (!unused.empty())
    fmt::print(
        "note: the run is complete, so no step uses the changed {} ({}); settings.json keeps what it "
        "trained with\n",
        unused.size() == 1 ? "setting" : "settings", fmt::join(unused, ", "));
  if (now.contains("save_dtype")) saved["save_dtype"] = now["save_dtype"];
  return saved;
}

std::vector<nlohmann::json> truncate_log_to_step(const fs::path& file, int64_t step, bool line_per_step) {
  std::vector<nlohmann::json> kept;
  std::ifstream in(file);
  if (!in.good()) {
    // Every run makes its logs at its start, so a run with a checkpoint had one: a log deleted since was
    // restarted without a word.
    std::error_code ec;
    if (step > 0 && !std::filesystem::exists(file, ec))
      print_stderr(
          "note: {} is gone: it starts again with step {}, and the lines of steps 1 to {} are lost\n",
          file.string(), step + 1, step);
    return kept;
  }
  std::string line, text;
  int64_t unreadable = 0;
  bool last_unreadable = false;
  while (std::getline(in, line)) {
    auto j = parse_log_line(line);
    last_unreadable = j.is_discarded();
    if (last_unreadable) {  // a torn last line of a killed run, or damage
      ++unreadable;
      continue;
    }
    const auto it = j.find("step");
    if (it == j.end() || !it->is_number() || it->get<double>() > double(step)) continue;
    text += line + "\n";
    kept.push_back(std::move(j));
  }
  in.close();
  // Only the last line is torn by a killed run; others dropped silently hid damage to the log.
  if (const int64_t damaged = unreadable - (last_unreadable ? 1 : 0); damaged > 0)
    print_stderr("note: {}: {} {} not a JSON object and {} dropped\n", file.string(), damaged,
                 damaged == 1 ? "line is" : "lines are", damaged == 1 ? "is" : "are");
  // A log cut short (restored from a backup, a lost tail after a power cut) left a gap in the steps without
  // a word.
  if (line_per_step) {
    std::set<int64_t> steps;
    for (const auto& j : kept)
      if (j["step"].is_number_integer()) steps.insert(j["step"].get<int64_t>());
    int64_t missing = 0, first = 0;
    for (int64_t k = 1; k <= step; ++k)
      if (!steps.count(k) && missing++ == 0) first = k;
    if (missing > 0)
      print_stderr("note: {} has no line for {} of steps 1 to {} (the first: step {}); they stay missing\n",
                   file.string(), missing, step, first);
  }
  write_file_atomically(file, text);
  return kept;
}

bool set_in_step_line(const fs::path& file, int64_t step, const std::string& key,
                      const nlohmann::json& value) {
  std::ifstream in(file);
  if (!in.good()) return false;
  std::string line, text;
  bool found = false;
  while (std::getline(in, line)) {
    auto j = parse_log_line(line);
    if (!found && j.is_object() && j.contains("step") && j["step"].is_number_integer() &&
        j["step"].get<int64_t>() == step) {
      j[key] = value;
      // As JsonlAppender writes a line.
      line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      found = true;
    }
    text += line + "\n";
  }
  in.close();
  if (found) write_file_atomically(file, text);
  return found;
}

void print_resuming(const std::filesystem::path& checkpoint, const TrainerState& state, int64_t steps) {
  const int64_t step = state.step;
  SEEK_CHECK(step <= steps,
             "checkpoint {} is at step {}, past --steps {}: a run cannot go back; resume with --steps {} or "
             "more",
             checkpoint.string(), step, steps, step);
  fmt::print("resuming from {} (step {})\n", checkpoint.string(), step);
  const auto saved = state.extra.is_object() ? state.extra.find("threads") : state.extra.end();
  if (saved != state.extra.end() && saved->is_number_integer() &&
      saved->get<int64_t>() != omp_get_max_threads())
    fmt::print(
        "note: the checkpoint was made with {} and this run has {}: sums split across threads round "
        "differently, so the run will not reproduce an uninterrupted one bit for bit (--threads {} would)\n",
        count_of(saved->get<int64_t>(), "thread"), omp_get_max_threads(), saved->get<int64_t>());
  if (step == steps)
    fmt::print(
        "the run is already complete: its checkpoint is at step {} and --steps is {}; raise --steps to train "
        "further\n",
        step, steps);
}

void refuse_to_overwrite_a_run(const std::filesystem::path& out, const char* command) {
  namespace fs = std::filesystem;
  std::error_code ec;
  // A model folder (--init's, say): the run's files would be mixed into it.
  if (fs::is_regular_file(out / "config.json", ec) &&
      (fs::exists(out / "model.safetensors", ec) || fs::exists(out / "model.safetensors.index.json", ec)))
    fail("{} holds a model (config.json and its weights): give --out a new folder for the run", out.string());
  // A settings.json that is not a run's (every run writes its "out") is the user's own file, which the new
  // run's would replace.
  std::string made_by;
  if (fs::exists(out / "settings.json", ec)) {
    nlohmann::json j;
    try {
      j = parse_json_unique_keys(read_file(out / "settings.json"), "settings.json");
    } catch (const std::exception&) {
      j = nullptr;
    }
    SEEK_CHECK(j.is_object() && j.contains("out"),
               "{} holds a settings.json that is not a seek run's, which the run would overwrite: give --out "
               "a new folder",
               out.string());
    made_by = command_of_run(j);
  }
  // settings.json alone, or empty logs, are what a run that stopped before its first step leaves (e.g. on
  // prompts too long for its limits): starting again there, with the flags fixed, loses nothing.
  for (const char* name : {"checkpoints", "model", "metrics.jsonl", "completions.jsonl"}) {
    const fs::path p = out / name;
    const bool holds = fs::is_directory(p, ec) || (fs::exists(p, ec) && fs::file_size(p, ec) > 0);
    if (!holds) continue;
    // A run stopped before its first checkpoint (a non-finite loss at step 2) leaves logs that --resume
    // cannot continue; saying "--resume" then sent users in a circle.
    if (!latest_checkpoint(out) && !fs::is_directory(out / "model", ec))
      fail(
          "{} holds the logs of a run that stopped before its first checkpoint ({} is there), so there is "
          "nothing to resume: delete the folder to start over, or give a new --out",
          out.string(), name);
    fail(
        "{} already holds a run ({} is there); continue it with {}--resume, or give a new --out (or delete "
        "the folder to start over)",
        out.string(), name,
        made_by.empty() || made_by == command ? std::string()
                                              : fmt::format("{} --out {} ", made_by, out.string()));
  }
}

}  // namespace seek
