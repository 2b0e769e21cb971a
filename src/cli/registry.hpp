// Subcommands register themselves here from their own files (one file per command family), so adding a
// command never touches main.cpp.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace seek::cli {

struct CommandSpec {
  std::string name;
  std::string help;
  // Adds options to the subcommand and sets its callback. The callback throws seek::Error on bad input.
  std::function<void(CLI::App&)> setup;
};

std::vector<CommandSpec>& command_registry();

struct RegisterCommand {
  RegisterCommand(std::string name, std::string help, std::function<void(CLI::App&)> setup) {
    command_registry().push_back({std::move(name), std::move(help), std::move(setup)});
  }
};

}  // namespace seek::cli
