#include "train/checkpoint.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/read_file.hpp"
#include "core/resources.hpp"
#include "core/stderr.hpp"
#include "core/untrusted_json.hpp"
#include "io/safetensors_writer.hpp"
#include "io/tensor_store.hpp"
#include "model/model_dir.hpp"
#include "model/weights.hpp"
#include "tokenizer/tokenizer_files.hpp"
#include "train/data_hash.hpp"

namespace seek {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPrefix = "step-";

std::optional<int64_t> step_of(const fs::path& p) {
  std::string name = p.filename().string();
  if (name.rfind(kPrefix, 0) != 0) return std::nullopt;
  std::string digits = name.substr(5);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return std::nullopt;
  // More digits than a step count holds is no checkpoint of ours (stoll threw an internal error on them).
  if (digits.size() > 18) return std::nullopt;
  return std::stoll(digits);
}

// Whether a checkpoints/ entry is what an interrupted save (".step-N.tmp-PID") or deletion
// (".step-N.del-PID") left.
bool is_save_leftover(const std::string& name) {
  return name.size() > 1 && name[0] == '.' &&
         (name.find(".tmp-") != std::string::npos || name.find(".del-") != std::string::npos);
}

// A save that replaces a checkpoint of the same step renames the old one to ".step-N.old-PID", moves the new
// one in, then deletes the old one. A process killed between the two renames leaves the old one as the only
// complete copy of that step: it is moved back. Once the new one is in place, a leftover old copy is deleted.
void recover_replaced_checkpoints(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const size_t old = name.find(".old-");
    if (name.size() < 2 || name[0] != '.' || old == std::string::npos) continue;
    const fs::path final_dir = dir / name.substr(1, old - 1);
    if (!step_of(final_dir)) continue;
    if (fs::exists(final_dir / "trainer_state.json", ec)) {
      fs::remove_all(e.path(), ec);
    } else if (!fs::exists(final_dir, ec) && fs::exists(e.path() / "trainer_state.json", ec)) {
      fs::rename(e.path(), final_dir, ec);
    }
  }
}

std::vector<std::pair<int64_t, fs::path>> complete_checkpoints(const fs::path& run_dir) {
  std::vector<std::pair<int64_t, fs::path>> out;
  fs::path dir = run_dir / "checkpoints";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  recover_replaced_checkpoints(dir);
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto s = step_of(e.path());
    if (s && fs::exists(e.path() / "trainer_state.json")) out.emplace_back(*s, e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Whether a checkpoint was saved after a step that succeeded (failure_streak 0). One whose state cannot be
// read does not count: it is no place to go back to.
bool saved_between_failures(const fs::path& checkpoint) {
  try {
    const fs::path file = checkpoint / "trainer_state.json";
    const nlohmann::json js = parse_json_unique_keys(read_file(file), file.string());
    const auto it = js.is_object() ? js.find("failure_streak") : js.end();
    if (js.is_object() && it == js.end()) return true;  // saved before the count existed
    return it != js.end() && json_whole_number(*it) == std::optional<int64_t>(0);
  } catch (const std::exception&) {
    return false;
  }
}

// A test hook: SEEK_TEST_CRASH_IN_SAVE=<step> kills the process with SIGKILL half-way through writing that
// checkpoint, so tests can prove an interrupted save never damages the previous one.
void maybe_crash_for_test(int64_t step) {
  const char* v = std::getenv("SEEK_TEST_CRASH_IN_SAVE");
  if (v && std::atoll(v) == step) ::raise(SIGKILL);
}

// Content hashes of the exact f32 bits a checkpoint holds, checked after loading: damage to a file (a bad
// disk, a copy cut short at a header's boundary) is caught before training continues on garbage.
nlohmann::json state_checksums(const Transformer<float>& model, AdamW<float>& opt) {
  const size_t bytes = size_t(model.params().layout.total()) * sizeof(float);
  return {{"parameters", parameters_hash(model)},
          {"adamw_m", data::hex64(data::content_hash(opt.m().data(), bytes))},
          {"adamw_v", data::hex64(data::content_hash(opt.v().data(), bytes))}};
}

// The tensors whose AdamW step count is not the run's (layers held out of some steps, as MTP layers at
// mtp_lambda 0), by name: usually none.
nlohmann::json tensor_steps_unlike_the_run(const Transformer<float>& model, const AdamW<float>& opt) {
  nlohmann::json out = nlohmann::json::object();
  const ParamLayout& layout = model.params().layout;
  for (int id = 0; id < layout.size(); ++id)
    if (layout[id].trainable && opt.updates(id) != opt.steps()) out[layout[id].name] = opt.updates(id);
  return out;
}

// The per-tensor step counts saved by tensor_steps_unlike_the_run, after the moments are read. A checkpoint
// from before them has none: a tensor whose second moment is all zero was never updated (MTP layers held at
// mtp_lambda 0), and counts 0; every other one the run's steps.
void restore_tensor_steps(const nlohmann::json& js, const fs::path& state_file,
                          const Transformer<float>& model, AdamW<float>& opt) {
  const ParamLayout& layout = model.params().layout;
  const auto it = js.find("adamw_tensor_steps");
  if (it == js.end()) {
    for (int id = 0; id < layout.size(); ++id) {
      const float* v = opt.v().data() + layout[id].offset;
      if (layout[id].trainable && std::all_of(v, v + layout[id].numel, [](float x) { return x == 0; }))
        opt.set_updates(id, 0);
    }
    return;
  }
  SEEK_CHECK(it->is_object(), "{}: \"adamw_tensor_steps\" must be an object of tensor names, got {}",
             state_file.string(), describe_json(*it));
  for (const auto& [name, value] : it->items()) {
    const int id = layout.find(name);
    SEEK_CHECK(id >= 0 && layout[id].trainable,
               "{}: \"adamw_tensor_steps\" names {}, which is no trained tensor of the model",
               state_file.string(), describe_json(name));
    const std::optional<int64_t> n = json_whole_number(value);
    SEEK_CHECK(n && *n >= 0 && *n <= opt.steps(),
               "{}: \"adamw_tensor_steps\" of '{}' must be a whole number from 0 to adamw_steps ({}), got {}",
               state_file.string(), name, opt.steps(), describe_json(value));
    opt.set_updates(id, *n);
  }
}

// Saving a large model takes seconds (20 s for 2 GB), which passed in silence between two step lines or
// after the last one: a line on stderr says what is being written. Small models save at once and say nothing.
void say_saving(const char* what, const fs::path& where, int64_t bytes) {
  constexpr int64_t kQuietBelow = int64_t(128) << 20;
  if (bytes >= kQuietBelow)
    print_stderr("seek: saving {} to {} ({})\n", what, where.string(), format_bytes(bytes));
}

}  // namespace

bool eval_pending_at(const TrainerState& state, const std::vector<nlohmann::json>& kept, const char* key) {
  if (state.step == 0 || !state.extra.value("eval_pending", false)) return false;
  for (const nlohmann::json& line : kept)
    if (line.contains("step") && line["step"].is_number_integer() &&
        line["step"].get<int64_t>() == state.step)
      return !line.contains(key);
  return false;  // the step's line is gone (a deleted log, noted by truncate_log_to_step): nothing to add to
}

std::string parameters_hash(const Transformer<float>& model) {
  return data::hex64(
      data::content_hash(model.params().value.data(), size_t(model.params().layout.total()) * sizeof(float)));
}

fs::path save_checkpoint(const fs::path& run_dir, const Transformer<float>& model, AdamW<float>& opt,
                         const TrainerState& state, const tok::TokenizerFileSet& tokenizer, int64_t keep_last,
                         bool keep_checkpoint_before_failures) {
  fs::path root = run_dir / "checkpoints";
  fs::path final_dir = root / fmt::format("{}{:08d}", kPrefix, state.step);
  check_trained_weights_finite(model, final_dir);
  say_saving("the checkpoint", final_dir, 3 * model.params().layout.total() * int64_t(sizeof(float)));
  std::error_code ec;
  fs::create_directories(root, ec);
  SEEK_CHECK(!ec, "cannot create checkpoint folder {}: {}", root.string(), ec.message());
  // Leftovers of saves killed earlier go before this one is written: the run's lock means no other process
  // is saving here, and on a nearly full disk they (a whole checkpoint each) made every later save, and so
  // every resume, fail for want of the space they held.
  for (const auto& e : fs::directory_iterator(root, ec))
    if (is_save_leftover(e.path().filename().string())) fs::remove_all(e.path(), ec);
  fs::path tmp = root / fmt::format(".{}{:08d}.tmp-{}", kPrefix, state.step, ::getpid());
  fs::remove_all(tmp, ec);
  try {
    save_model_dir(model, tmp);  // F32: the exact bits
    maybe_crash_for_test(state.step);
    const int64_t total = model.params().layout.total();
    SafetensorsWriter w;
    w.add("adamw.m", DType::F32, {total}, opt.m().data());
    w.add("adamw.v", DType::F32, {total}, opt.v().data());
    w.write(tmp / "optimizer.safetensors");
    tok::write_tokenizer_files(tokenizer, tmp);
    nlohmann::json js = {{"step", state.step},
                         {"data_position", state.data_position},
                         {"tokens_seen", state.tokens_seen},
                         {"elapsed_seconds", state.elapsed_seconds},
                         {"failure_streak", state.failure_streak},
                         {"adamw_steps", opt.steps()},
                         {"adamw_tensor_steps", tensor_steps_unlike_the_run(model, opt)},
                         {"checksums", state_checksums(model, opt)},
                         {"extra", state.extra}};
    write_file_atomically(tmp / "trainer_state.json", js.dump(2) + "\n");
    fsync_directory(tmp);
    // Replace an existing checkpoint of the same step (a resumed run saving again) only once the new one is
    // complete.
    replace_folder(tmp, final_dir, root / fmt::format(".{}{:08d}.old-{}", kPrefix, state.step, ::getpid()));
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(tmp, ec);
    fail("cannot write checkpoint {}: {}", final_dir.string(), e.what());
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  // Retention. A checkpoint is renamed out of the step-N names before it is deleted: remove_all is not
  // atomic, and a process killed half-way through it would leave a step-N folder that no longer counts as a
  // checkpoint, so later retention would never see it.
  // Within a streak of failures that leave the weights as they were (seek train's skipped non-finite steps)
  // every new checkpoint holds the weights the streak started from, and rotating them in would delete every
  // checkpoint from before it: the newest of those is kept besides the last keep_last, as the way back that
  // the divergence error names.
  const auto all = complete_checkpoints(run_dir);
  std::optional<fs::path> kept;
  if (keep_checkpoint_before_failures && state.failure_streak > 0) kept = checkpoint_before_failures(run_dir);
  for (size_t i = 0; i + size_t(keep_last) < all.size(); ++i) {
    if (kept && all[i].second == *kept) continue;
    const fs::path doomed = root / fmt::format(".{}.del-{}", all[i].second.filename().string(), ::getpid());
    fs::rename(all[i].second, doomed, ec);
    fs::remove_all(ec ? all[i].second : doomed, ec);
  }
  // Leftovers of interrupted saves and deletions by earlier processes, and step-N folders older than the
  // newest checkpoint that lack its trainer_state.json (what a deletion killed half-way left before the
  // rename above).
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const bool leftover = is_save_leftover(e.path().filename().string());
    const auto step = step_of(e.path());
    // Only a state file known to be missing: one that cannot be looked at (EACCES) is not a deletion's
    // leftover.
    std::error_code state_ec;
    const bool torn =
        step && *step < state.step && !fs::exists(e.path() / "trainer_state.json", state_ec) && !state_ec;
    if (leftover || torn) fs::remove_all(e.path(), ec);
  }
  return final_dir;
}

void save_final_model(const Transformer<float>& model, const fs::path& dir, const SaveOptions& opts,
                      const tok::TokenizerFileSet& tokenizer) {
  check_trained_weights_finite(model, dir, opts.dtype);
  say_saving("the model", dir, model.params().layout.total() * (opts.dtype == DType::BF16 ? 2 : 4));
  const fs::path parent = dir.parent_path().empty() ? fs::path(".") : dir.parent_path();
  const std::string name = dir.filename().string();
  // Leftovers of saves killed before they finished. An ".old-" folder with nothing at `dir` is the earlier
  // export moved aside by a save killed between replace_folder's two renames (file systems without an
  // exchange): it goes back first, in case this save fails too. Anything else is only disk space.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const std::string n = e.path().filename().string();
    std::error_code gone;
    if (n.starts_with("." + name + ".old-") && !fs::exists(fs::symlink_status(dir, gone)))
      fs::rename(e.path(), dir, gone);
    else if (n.starts_with("." + name + ".tmp-") || n.starts_with("." + name + ".old-"))
      fs::remove_all(e.path(), ec);
  }
  const fs::path tmp = parent / fmt::format(".{}.tmp-{}", name, ::getpid());
  try {
    save_model_dir(model, tmp, opts);
    tok::write_tokenizer_files(tokenizer, tmp);
    fsync_directory(tmp);
    replace_folder(tmp, dir, parent / fmt::format(".{}.old-{}", name, ::getpid()));
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

void check_checkpoint_model(const fs::path& checkpoint, const ModelConfig& run_model,
                            const std::string& run_model_source) {
  ParamLayout saved, run;
  build_layout(ModelConfig::load((checkpoint / "config.json").string()), saved);
  build_layout(run_model, run);
  for (const ParamInfo& p : run.all()) {
    const int id = saved.find(p.name);
    SEEK_CHECK(id >= 0 && saved[id].shape == p.shape,
               "checkpoint {} holds another model than the run's ({}): its tensor {} is {}, the run's is {}",
               checkpoint.string(), run_model_source, p.name,
               id >= 0 ? fmt::format("{}", fmt::join(saved[id].shape, "×")) : std::string("missing"),
               fmt::format("{}", fmt::join(p.shape, "×")));
  }
  SEEK_CHECK(saved.size() == run.size(),
             "checkpoint {} holds another model than the run's ({}): {} tensors, not {}", checkpoint.string(),
             run_model_source, saved.size(), run.size());
}

std::optional<fs::path> latest_checkpoint(const fs::path& run_dir) {
  auto all = complete_checkpoints(run_dir);
  if (all.empty()) return std::nullopt;
  return all.back().second;
}

std::optional<fs::path> checkpoint_before_failures(const fs::path& run_dir) {
  const auto all = complete_checkpoints(run_dir);
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (saved_between_failures(it->second)) return it->second;
  return std::nullopt;
}

std::vector<fs::path> stateless_checkpoints_past_latest(const fs::path& run_dir) {
  const auto all = complete_checkpoints(run_dir);
  const int64_t latest = all.empty() ? -1 : all.back().first;
  std::vector<std::pair<int64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir / "checkpoints", ec)) {
    const auto step = step_of(e.path());
    std::error_code state_ec;
    if (step && *step > latest && !fs::exists(e.path() / "trainer_state.json", state_ec))
      found.emplace_back(*step, e.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (auto& [step, path] : found) out.push_back(std::move(path));
  return out;
}

TrainerState load_checkpoint(const fs::path& dir, Transformer<float>& model, AdamW<float>& opt) {
  fs::path state_file = dir / "trainer_state.json";
  std::ifstream f(state_file);
  SEEK_CHECK(f.good(), "checkpoint {} has no trainer_state.json", dir.string());
  const std::string text{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  nlohmann::json js;
  try {
    // Bounded depth: a damaged file nested 10^5 deep crashed the copy of "extra" (one call per level).
    js = parse_json_unique_keys(text, state_file.string());
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON: {}", state_file.string(), json_error_text(e));
  }
  SEEK_CHECK(js.is_object(), "{}: a checkpoint's state is a JSON object, got {}", state_file.string(),
             describe_json(js));
  // Each field of the type the trainer reads: a wrong one was an internal error, and a fraction was cut to a
  // whole number without a word (a data position of 1.5 resumed at 1).
  // Bounded too: the trainer adds to each count (a batch's tokens, a step), and a damaged file's 2^63 − 1
  // overflowed there (the data loader crashed). 2^53 is beyond any run, and exact as a JSON double.
  constexpr int64_t kMaxCount = int64_t(1) << 53;
  auto count = [&](const char* key) {
    const auto it = js.find(key);
    SEEK_CHECK(it != js.end(), "{}: no \"{}\"", state_file.string(), key);
    const std::optional<int64_t> v = json_whole_number(*it);
    SEEK_CHECK(v && *v >= 0 && *v <= kMaxCount,
               "{}: \"{}\" must be a whole number from 0 to 2^53 ({}), got {}", state_file.string(), key,
               kMaxCount, describe_json(*it));
    return *v;
  };
  TrainerState st;
  st.step = count("step");
  st.data_position = count("data_position");
  st.tokens_seen = count("tokens_seen");
  opt.set_steps(count("adamw_steps"));
  const auto elapsed = js.find("elapsed_seconds");
  SEEK_CHECK(elapsed != js.end() && elapsed->is_number() && elapsed->get<double>() >= 0,
             "{}: \"elapsed_seconds\" must be a number >= 0", state_file.string());
  st.elapsed_seconds = elapsed->get<double>();
  if (js.contains("failure_streak")) st.failure_streak = count("failure_streak");  // none before it was saved
  st.extra = js.value("extra", nlohmann::json::object());
  SEEK_CHECK(st.extra.is_object(), "{}: \"extra\" must be an object, got {}", state_file.string(),
             describe_json(st.extra));
  if (st.extra.contains("init_weights"))  // what a resumed GRPO run compares its reference model with
    SEEK_CHECK(st.extra["init_weights"].is_string(), "{}: \"extra.init_weights\" must be a string, got {}",
               state_file.string(), describe_json(st.extra["init_weights"]));
  if (st.extra.contains("eval_pending"))
    SEEK_CHECK(st.extra["eval_pending"].is_boolean(),
               "{}: \"extra.eval_pending\" must be true or false, got {}", state_file.string(),
               describe_json(st.extra["eval_pending"]));
  if (st.extra.contains("data")) {  // what check_same_data compares
    const nlohmann::json& d = st.extra["data"];
    SEEK_CHECK(d.is_object() && d.value("inputs", nlohmann::json::array()).is_array(),
               "{}: \"extra.data\" must be an object whose \"inputs\" is a list, got {}", state_file.string(),
               describe_json(d));
    for (const auto& input : d.value("inputs", nlohmann::json::array()))
      SEEK_CHECK(input.is_object(), "{}: each of \"extra.data.inputs\" must be an object, got {}",
                 state_file.string(), describe_json(input));
  }
  if (js.contains("checksums"))
    SEEK_CHECK(js["checksums"].is_object(), "{}: \"checksums\" must be an object, got {}",
               state_file.string(), describe_json(js["checksums"]));
  if (const auto named = step_of(dir))
    SEEK_CHECK(*named == st.step, "{}: step {} in a checkpoint folder named for step {}", state_file.string(),
               st.step, *named);
  TensorStore weights(dir);
  load_weights(model, weights);
  const int64_t total = model.params().layout.total();
  TensorStore optim(dir / "optimizer.safetensors");
  optim.read_into("adamw.m", {total}, opt.m().data());
  optim.read_into("adamw.v", {total}, opt.v().data());
  restore_tensor_steps(js, state_file, model, opt);
  if (js.contains("checksums")) {  // checkpoints from before checksums load unchecked
    const nlohmann::json now = state_checksums(model, opt);
    for (const char* part : {"parameters", "adamw_m", "adamw_v"})
      SEEK_CHECK(
          js["checksums"].contains(part) && js["checksums"][part] == now[part],
          "checkpoint {} is damaged: its {} do not match the checksum saved with them; move it away to "
          "resume from the one before",
          dir.string(),
          std::string(part) == "parameters" ? "weights (model.safetensors)"
                                            : "optimizer moments (optimizer.safetensors)");
  }
  return st;
}

void check_same_data(const TrainerState& state, const nlohmann::json& now,
                     const std::vector<std::string>& files) {
  if (!state.extra.contains("data")) return;
  const nlohmann::json& then = state.extra["data"];
  const auto fix = "put back the data it trained on, or start a new run in another --out";
  SEEK_CHECK(
      then.value("tokenizer", nlohmann::json()) == now.value("tokenizer", nlohmann::json()),
      "the tokenizer encodes differently from when the run saved its checkpoint at step {}: resuming would "
      "read other tokens; put back the tokenizer it trained with, or start a new run in another --out",
      state.step);
  // A checkpoint of another sequence layout (data_cache.hpp, kDataLayout; none before it was recorded) would
  // continue on other sequences.
  SEEK_CHECK(then.value("layout", nlohmann::json()) == now.value("layout", nlohmann::json()),
             "the checkpoint at step {} was made by a seek that laid out training sequences differently "
             "(before pretraining documents began with BOS and SFT conversations started the sequence they "
             "would cross into, or before SFT padded its last sequence rather than dropping it): the saved "
             "data position would read other sequences; finish the run with the seek that started it, or "
             "start a new run (its --init can be this checkpoint)",
             state.step);
  const nlohmann::json a = then.value("inputs", nlohmann::json::array()),
                       b = now.value("inputs", nlohmann::json::array());
  SEEK_CHECK(a.size() == b.size(), "the run trained on {} data files and now reads {}; {}", a.size(),
             b.size(), fix);
  for (size_t i = 0; i < a.size(); ++i)
    SEEK_CHECK(
        a[i] == b[i],
        "training data {} changed since the run saved its checkpoint at step {} ({} bytes then, {} now): "
        "the saved data position would read other data; {}",
        i < files.size() ? files[i] : fmt::format("file {}", i + 1), state.step,
        describe_json(a[i].value("size", nlohmann::json())),
        describe_json(b[i].value("size", nlohmann::json())), fix);
}

}  // namespace seek
