#include "train/run_folder.hpp"

#include <fmt/format.h>

#include <cmath>
#include <fstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "train/checkpoint.hpp"

namespace seek {

namespace fs = std::filesystem;

ResumePoint resume_point(const fs::path& out, const nlohmann::json& overrides) {
  auto ckpt = latest_checkpoint(out);
  SEEK_CHECK(ckpt.has_value(), "nothing to resume: {} has no complete checkpoint", out.string());
  const fs::path file = out / "settings.json";
  std::ifstream f(file);
  SEEK_CHECK(f.good(), "cannot read {}", file.string());
  ResumePoint r{*ckpt, {}};
  try {
    r.settings = nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON: {}", file.string(), e.what());
  }
  for (auto it = overrides.begin(); it != overrides.end(); ++it) r.settings[it.key()] = it.value();
  return r;
}

void prepare_run_folder(const fs::path& out, const nlohmann::json& resolved_settings) {
  std::error_code ec;
  fs::create_directories(out, ec);
  SEEK_CHECK(!ec, "cannot create run folder {}: {}", out.string(), ec.message());
  write_file_atomically(out / "settings.json", resolved_settings.dump(2) + "\n");
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  int64_t t = int64_t(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

void print_resuming(const std::filesystem::path& checkpoint, int64_t step, int64_t steps) {
  fmt::print("resuming from {} (step {})\n", checkpoint.string(), step);
  if (step >= steps)
    fmt::print(
        "the run is already complete: its checkpoint is at step {} and --steps is {}; raise --steps to train "
        "further\n",
        step, steps);
}

void refuse_to_overwrite_a_run(const std::filesystem::path& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  // settings.json alone, or empty logs, are what a run that stopped before its first step leaves (e.g. on
  // prompts too long for its limits): starting again there, with the flags fixed, loses nothing.
  for (const char* name : {"checkpoints", "model", "metrics.jsonl", "completions.jsonl"}) {
    const fs::path p = out / name;
    const bool holds = fs::is_directory(p, ec) || (fs::exists(p, ec) && fs::file_size(p, ec) > 0);
    SEEK_CHECK(!holds,
               "{} already holds a run ({} is there); continue it with --resume, or give a new --out (or "
               "delete the folder to start over)",
               out.string(), name);
  }
}

}  // namespace seek
