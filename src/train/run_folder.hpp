// What `seek train` and `seek grpo` share about a run folder: resuming its saved settings with the user's
// overrides, creating it with the resolved settings, and formatting an ETA.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>

namespace seek {

struct ResumePoint {
  std::filesystem::path checkpoint;  // the newest complete checkpoint
  nlohmann::json settings;           // <out>/settings.json with `overrides` applied
};

// Throws seek::Error when the folder has no complete checkpoint or no readable settings.json.
ResumePoint resume_point(const std::filesystem::path& out, const nlohmann::json& overrides);

// Creates the folder and writes settings.json atomically (which also proves the folder is writable).
void prepare_run_folder(const std::filesystem::path& out, const nlohmann::json& resolved_settings);

// "42s", "3m05s", "1h12m"; "?" when not finite.
std::string format_duration(double seconds);

}  // namespace seek
