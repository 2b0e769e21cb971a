// Command-line flags that map one-to-one onto run-settings JSON keys: --batch-size sets "batch_size". The
// collected values override a --run-config file; the settings struct then validates the whole.
#pragma once
#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <type_traits>

#include "cli/infer_flags.hpp"
#include "core/error.hpp"
#include "core/read_file.hpp"
#include "core/stderr.hpp"
#include "core/stop_signal.hpp"
#include "core/untrusted_json.hpp"

namespace seek::cli {

struct SettingsFlags {
  nlohmann::json values = nlohmann::json::object();
  std::string run_config;
  bool resume = false;

  // The run file's keys overlaid with the flags given.
  nlohmann::json merged() const {
    nlohmann::json m = nlohmann::json::object();
    if (!run_config.empty()) {
      const std::string text = read_file(run_config);  // says why: missing, a folder, unreadable
      try {
        m = parse_json_unique_keys(text, run_config);
      } catch (const nlohmann::json::exception& e) {
        fail("{}: not valid JSON: {}", run_config, json_error_text(e));
      }
      SEEK_CHECK(m.is_object(),
                 "{}: a run config is a JSON object of settings, e.g. {{\"steps\": 100}}; got {}", run_config,
                 describe_json(m));
      check_json_depth(m, run_config);  // merged below by copying, which recurses
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
  CLI::Option* opt = app.add_option_function<V>(
      name, [c, key](const V& v) { c->values[key] = v; }, help);
  // CLI11 alone would wrap --seed -5 to 18446744073709551611, clamp 2^64 (or --steps with 20 digits) to the
  // type's largest value, and turn --lr 1e400 into inf: each number must be one the setting's type holds.
  if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) {
    opt->transform(whole_number<V>());  // transform, not check: its decimal rewrite must reach CLI11
  } else if constexpr (std::is_floating_point_v<V>) {
    opt->check(number_of_type<V>());
  } else if constexpr (std::is_same_v<V, bool>) {
    // A bare --dynamic-sampling means true, like a switch; before, it took the next flag as its value ("could
    // not convert: --dynamic-sampling = --threads"). An explicit true/false still works.
    opt->expected(0, 1)->default_str("true")->option_text("[true|false]");
    // CLI11's own refusal of another word said only "could not convert: --seq-aux = maybe".
    opt->check(CLI::Validator(
        [](std::string& s) -> std::string {
          return s == "true" || s == "false" ? std::string()
                                             : fmt::format("must be true or false, got '{}'", s);
        },
        ""));
  }
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
        nlohmann::json value;
        try {
          value = parse_json_unique_keys(v, name);
        } catch (const nlohmann::json::exception& e) {
          fail("{} must be JSON: {}", name, json_error_text(e, true));
        }
        check_json_depth(value, name);  // merged with --run-config by copying, which recurses
        c->values[key] = std::move(value);
      },
      help);
}

inline void add_run_flags(CLI::App& app, const std::shared_ptr<SettingsFlags>& c) {
  app.add_option("--run-config", c->run_config, "JSON file with any of the settings (flags win)");
  app.add_flag("--resume", c->resume, "continue the run in --out from its newest checkpoint");
}

struct FlagHelp {
  const char* key;
  const char* text;
};

// --run-config, --resume and one flag per setting of S, typed as S's field (S::for_each_field), so a flag
// cannot disagree with the JSON key it sets. `help` gives each flag's text and the order --help lists them
// in; a setting without help, or help for no setting, is a programming error.
template <typename S>
std::shared_ptr<SettingsFlags> add_settings_flags(CLI::App& app, std::span<const FlagHelp> help) {
  auto c = std::make_shared<SettingsFlags>();
  add_run_flags(app, c);
  std::map<std::string, std::function<void(const std::string&)>> add_flag;
  S probe;  // visited only for its keys and field types
  probe.for_each_field([&](const char* key, auto& field) {
    using V = std::decay_t<decltype(field)>;
    add_flag[key] = [&app, c, key = std::string(key)](const std::string& text) {
      if constexpr (std::is_same_v<V, nlohmann::json>) {
        settings_json_flag(app, c, key, text);
      } else {
        settings_flag<V>(app, c, key, text);
      }
    };
  });
  for (const FlagHelp& h : help) {
    auto it = add_flag.find(h.key);
    SEEK_CHECK(it != add_flag.end(), "seek {}: help for \"{}\", which is no setting", app.get_name(), h.key);
    it->second(h.text);
    add_flag.erase(it);
  }
  if (!add_flag.empty()) fail("seek {}: setting \"{}\" has no help", app.get_name(), add_flag.begin()->first);
  return c;
}

// A command that runs on settings S: its flags as above, and a callback that resolves them (over any
// --run-config) into S for `run`, with --resume and the flags a resumed run applies to its saved settings.
template <typename S>
void add_settings_command(CLI::App& app, std::span<const FlagHelp> help,
                          std::function<void(const S&, bool resume, const nlohmann::json& overrides)> run) {
  auto c = add_settings_flags<S>(app, help);
  app.callback([c, run] {
    nlohmann::json merged = c->merged();
    run(S::from_json(merged, c->source()), c->resume, merged);
  });
}

// The end of `seek train` or `seek grpo`. A run stopped by SIGINT/SIGTERM (it saved a checkpoint of its last
// complete step, if any): what the user does next; then the process ends by that signal (a shell shows 130
// or 143). A signal during the last step let the run finish and save its model, but the process still ends
// by it: it exited 0, and `seek train ... && next` went on after the user's Ctrl-C.
// On stderr, with the other lines about saving and stopping (README): on stdout, after `| head` had closed
// it, the user never learnt which step was saved.
// owed_step: a step whose evaluation (or validation) the stop cut short, which --resume runs first (0: none);
// said here rather than by the trainer, since a run inside `seek demo` is never resumed.
inline void end_run(bool interrupted, int64_t steps_done, int64_t owed_step = 0,
                    const char* owed = "evaluation") {
  if (!interrupted && StopOnSignal::signal_received() == 0) return;
  const std::string cut_short =
      owed_step > 0 ? fmt::format("step {}'s {} (the stop cut it short)", owed_step, owed) : std::string();
  if (!interrupted)
    print_stderr("the signal came during the last step: the run is complete and its model saved{}\n",
                 cut_short.empty() ? "" : "; --resume runs " + cut_short);
  else if (steps_done > 0)
    print_stderr("interrupted: the checkpoint of step {} holds the run; continue it with --resume{}\n",
                 steps_done, cut_short.empty() ? "" : ", which first runs " + cut_short);
  else
    print_stderr("interrupted during the first step: nothing was trained or saved; run the command again\n");
  end_by_stop_signal();
}

}  // namespace seek::cli
