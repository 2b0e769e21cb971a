// Command-line flags that map one-to-one onto run-settings JSON keys: --batch-size sets "batch_size". The
// collected values override a --run-config file; the settings struct then validates the whole.
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <memory>
#include <string>

#include "core/error.hpp"

namespace seek::cli {

struct SettingsFlags {
  nlohmann::json values = nlohmann::json::object();
  std::string run_config;
  bool resume = false;

  // The run file's keys overlaid with the flags given.
  nlohmann::json merged() const {
    nlohmann::json m = nlohmann::json::object();
    if (!run_config.empty()) {
      std::ifstream f(run_config);
      SEEK_CHECK(f.good(), "cannot read run config {}", run_config);
      try {
        m = nlohmann::json::parse(f);
      } catch (const nlohmann::json::exception& e) {
        fail("{}: not valid JSON: {}", run_config, e.what());
      }
    }
    for (auto it = values.begin(); it != values.end(); ++it) m[it.key()] = it.value();
    return m;
  }
  std::string source() const { return run_config.empty() ? "command line" : run_config; }
};

template <typename V>
void settings_flag(CLI::App& app, const std::shared_ptr<SettingsFlags>& c, const std::string& key,
                   const std::string& help) {
  std::string name = "--" + key;
  for (auto& ch : name)
    if (ch == '_') ch = '-';
  app.add_option_function<V>(
      name, [c, key](const V& v) { c->values[key] = v; }, help);
}

// A flag whose value is JSON text (e.g. --rewards '{"accuracy": 1}').
inline void settings_json_flag(CLI::App& app, const std::shared_ptr<SettingsFlags>& c, const std::string& key,
                               const std::string& help) {
  std::string name = "--" + key;
  for (auto& ch : name)
    if (ch == '_') ch = '-';
  app.add_option_function<std::string>(
      name,
      [c, key, name](const std::string& v) {
        try {
          c->values[key] = nlohmann::json::parse(v);
        } catch (const nlohmann::json::exception& e) {
          fail("{} must be JSON: {}", name, e.what());
        }
      },
      help);
}

inline void add_run_flags(CLI::App& app, const std::shared_ptr<SettingsFlags>& c) {
  app.add_option("--run-config", c->run_config, "JSON file with any of the settings (flags win)");
  app.add_flag("--resume", c->resume, "continue the run in --out from its newest checkpoint");
}

}  // namespace seek::cli
