#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>

#include "cli/registry.hpp"
#include "core/error.hpp"

namespace seek::cli {
std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> r;
  return r;
}
}  // namespace seek::cli

int main(int argc, char** argv) {
  CLI::App app{"seek: train, run and RL-tune DeepSeek-architecture models on CPUs"};
  app.require_subcommand(1);
  auto& reg = seek::cli::command_registry();
  std::sort(reg.begin(), reg.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& spec : reg) spec.setup(*app.add_subcommand(spec.name, spec.help));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const seek::Error& e) {
    fmt::print(stderr, "seek: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "seek: internal error: {}\n", e.what());
    return 2;
  }
  return 0;
}
