#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <new>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "cli/registry.hpp"
#include "cli/version.hpp"
#include "core/error.hpp"
#include "core/nearest_name.hpp"
#include "core/openmp_stack.hpp"
#include "core/openmp_wait.hpp"
#include "core/sigpipe_blocked.hpp"
#include "core/stdout.hpp"
#include "core/temporaries.hpp"
#include "core/thread_count.hpp"
#include "tokenizer/utf8.hpp"

namespace seek::cli {
std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> r;
  return r;
}
}  // namespace seek::cli

namespace {

// A standard stream closed by the caller (`seek ... >&-`) leaves its descriptor number free, and the next
// open() (a checkpoint's temporary file, say) would get it: printing would then write into that file. The
// number is taken by /dev/null. Standard input and output get it opened the other way round, so that reading
// fails (the prompt from a closed `-f -` is an error, not an empty prompt) and every write to stdout fails
// and is reported below; stderr gets it for writing, since diagnostics nobody can see are not an error.
void occupy_closed_standard_streams() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // No O_CLOEXEC: like any standard stream it is inherited by child processes.
    const int got = ::open("/dev/null", fd == 1 ? O_RDONLY : O_WRONLY);
    if (got >= 0 && got != fd) {
      ::dup2(got, fd);
      ::close(got);
    }
  }
}

// Flushes what the command left in stdout's buffer: "" when everything reached its destination, else why
// not (the first failed flush's errno if a command flushed on the way, else this one's).
std::string stdout_failure() {
  errno = 0;
  std::cout.flush();  // synchronised with stdio: flushes stdout, and a failure there is the first one
  const int cout_errno = errno;
  const bool failed = std::fflush(stdout) != 0 || std::ferror(stdout) || !std::cout.good();
  if (!failed) return "";
  const int why = seek::stdout_flush_errno() != 0 ? seek::stdout_flush_errno()
                  : cout_errno != 0               ? cout_errno
                                                  : errno;
  return why != 0 ? std::strerror(why) : "a write failed, the output is incomplete";
}

// A message on stderr. std::fputs, not fmt::print: fmt throws when stderr itself is broken (`2>&-`), and a
// throw here, outside the try block, would end in std::terminate.
// Control characters are shown escaped (\x1b): messages quote names from the files and flags they are about
// (a tensor name, a JSON key), and one holding terminal escape sequences or a carriage return would
// otherwise recolour or overwrite the terminal's lines.
// Bytes that are not UTF-8 (a quoted item of a binary file) are escaped the same way, rather than written raw
// for the terminal to show as it may.
void say(const std::string& message) {
  std::string shown;
  shown.reserve(message.size());
  for (size_t i = 0; i < message.size();) {
    const auto u = static_cast<unsigned char>(message[i]);
    if (u >= 0x80) {
      const size_t n = u >= 0xF0 ? 4 : u >= 0xE0 ? 3 : 2;
      const std::string_view ch = std::string_view(message).substr(i, n);
      if (ch.size() == n && seek::tok::utf8_is_valid(ch)) {
        shown += ch;
        i += n;
        continue;
      }
    }
    if ((u < 0x20 && u != '\n' && u != '\t') || u >= 0x7f)
      shown += fmt::format("\\x{:02x}", u);
    else
      shown += char(u);
    ++i;
  }
  const seek::SigpipeBlocked no_sigpipe;  // a reader of stderr that has gone: the exit status still tells
  std::fputs(shown.c_str(), stderr);
}

// What a command printed before it failed (its notes, its step lines) is written out before the error, so
// that a log taking both streams (`2>&1`) has them in the order they happened: stdout is buffered when it is
// a file or a pipe, stderr is not. A reader that has gone is not worth a SIGPIPE here: the error follows.
void flush_stdout_before_an_error() {
  const seek::SigpipeBlocked no_sigpipe;
  std::cout.flush();
  std::fflush(stdout);
}

void report_stdout_failure(const std::string& why) {
  say(fmt::format("seek: error: cannot write to standard output: {}\n", why));
}

// Whether --help or -h is among the arguments (before a `--` that ends the options). CLI11 checks option
// values before it looks at --help, so `seek generate --threads 5000 --help` would report the value.
bool help_requested(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--") return false;
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

// An argument CLI11 reads as -h with more short flags behind it ("-hi", text meant for `seek tokenize`),
// which printed the usage and exited 0 where "-world" is an error. Empty if none (before a `--`).
std::string help_in_a_group(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--") break;
    if (a.size() > 2 && a.starts_with("-h")) return std::string(a);
  }
  return "";
}

// Asking for the usage wins over a mistake elsewhere on the line: prints the reached command's --help.
void print_help(const CLI::App& app) {
  std::fputs(app.help().c_str(), stdout);  // CLI11 hands this to the deepest command reached
}

// ", did you mean 'generate'?" for a misspelt command (`seek generat`), or nothing.
std::string command_slip(const CLI::App& at, const std::string& given) {
  std::vector<std::string> names;
  for (const CLI::App* sub : at.get_subcommands({})) names.push_back(sub->get_name());
  const std::string near = seek::nearest_name(given, names);
  return near.empty() ? std::string() : fmt::format(": did you mean '{}'?", near);
}

// A command-line mistake (unknown flag, missing or unconvertible value, no command) reported like any other
// bad input: `seek: error: ...`, exit status 1, plus where to look up the usage. CLI11's own report has
// neither the prefix nor a documented status (104-114), and says "A subcommand is required" for a misspelt
// command too.
int report_usage_error(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  // The deepest command the arguments reached: its --help describes what went wrong.
  const CLI::App* at = &app;
  std::string command = "seek";
  while (!at->get_subcommands().empty()) {
    at = at->get_subcommands().front();
    command += " " + at->get_name();
  }
  std::string message = e.what();
  // Arguments CLI11 could not place; a missing requirement is reported before them.
  const std::vector<std::string> left = app.remaining(true);
  const bool required = dynamic_cast<const CLI::RequiredError*>(&e) != nullptr;
  // A misspelt flag (`--temprature 1`, `--modle x`): the command's flag nearest to it, if one is near enough
  // to be a slip.
  std::string slip;
  {
    std::vector<std::string> flags;
    for (const CLI::Option* opt : at->get_options())
      for (const std::string& name : opt->get_lnames()) flags.push_back(name);
    for (const std::string& arg : left) {
      if (!arg.starts_with("--") || arg.size() < 3) continue;
      const std::string name =
          arg.substr(2, arg.find('=') == std::string::npos ? std::string::npos : arg.find('=') - 2);
      if (const std::string near = seek::nearest_name(name, flags); !near.empty()) {
        slip = fmt::format("did you mean --{} for --{}?", near, name);
        break;
      }
      // Another command's name for the same setting: the completion length is seek grpo's
      // --max-completion-length and the inference commands' --max-new-tokens.
      for (const auto& [theirs, ours] : {std::pair{"max-completion-length", "max-new-tokens"},
                                         std::pair{"max-new-tokens", "max-completion-length"}})
        if (name == theirs && std::find(flags.begin(), flags.end(), ours) != flags.end())
          slip = fmt::format("{} calls the completion length --{}", command, ours);
      if (!slip.empty()) break;
    }
  }
  if (required && at->get_require_subcommand_min() > 0 && at->get_subcommands().empty()) {
    message = left.empty() ? fmt::format("{} needs a command", command)
              : left.front().starts_with("-")
                  ? fmt::format("unknown option {}: {} needs a command first", left.front(), command)
                  : fmt::format("unknown command '{}'{}", left.front(), command_slip(*at, left.front()));
  } else if (const size_t at_most = message.find(": At Most 1 required but received ");
             dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr && at_most != std::string::npos) {
    // A one-value option given twice (`-n 5 ... -n 10`): CLI11 says "--max-new-tokens: At Most 1 required
    // but received 2".
    message = fmt::format("{} is given {} times; give it once", message.substr(0, at_most),
                          message.substr(message.rfind(' ') + 1));
  } else if (required && !left.empty()) {
    // Often the cause: `--vocab_size 100` for `--vocab-size` reads as "--vocab-size is required".
    message += fmt::format(" (not understood: {}{})", fmt::join(left, " "), slip.empty() ? "" : "; " + slip);
  } else if (const size_t is_req = message.find(" is required"); required && is_req != std::string::npos) {
    // The flag is on the line, but an option before it that takes values took it as one (`--input --out d`:
    // --input read "--out" and "d").
    const std::string flag = message.substr(0, is_req);
    for (int i = 2; i < argc; ++i) {
      const std::string_view a = argv[i], before = argv[i - 1];
      if (a == "--") break;
      if (a == flag && before.starts_with("-")) {
        message +=
            fmt::format(" (the {} given was read as a value of {}, which needs its own first)", flag, before);
        break;
      }
    }
  }
  // CLI11 lists the arguments it could not place out of order ("1 --temprature"): in the command line's. Each
  // is taken as its last occurrence not taken yet, since a value it repeats (`-n 1 --temprature 1`) comes
  // earlier as another option's.
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr && left.size() > 1 &&
      message.find(" not expected: ") != std::string::npos) {
    std::vector<bool> taken(size_t(argc), false);
    std::vector<std::pair<int, std::string>> placed;
    for (const std::string& arg : left) {
      int at_index = argc;
      for (int i = argc - 1; i >= 1; --i)
        if (!taken[size_t(i)] && arg == argv[i]) {
          at_index = i;
          taken[size_t(i)] = true;
          break;
        }
      placed.emplace_back(at_index, arg);
    }
    std::stable_sort(placed.begin(), placed.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    std::vector<std::string> ordered;
    for (auto& [index, arg] : placed) ordered.push_back(arg);
    message =
        message.substr(0, message.find(" not expected: ") + 15) + fmt::format("{}", fmt::join(ordered, " "));
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr && !slip.empty()) message += " (" + slip + ")";
  if (message.size() > 1 && std::isupper(static_cast<unsigned char>(message[0])) &&
      std::islower(static_cast<unsigned char>(message[1]))) {
    message[0] = char(std::tolower(static_cast<unsigned char>(message[0])));  // a sentence's tail, like ours
  }
  say(fmt::format("seek: error: {}\nRun '{} --help' for usage.\n", message, command));
  return 1;
}

// The memory checks admit what fits when they run; an allocation can still fail after them: another program
// took the memory, or an address-space limit counts what a check cannot foresee (each thread's reserved stack
// and malloc arena under `ulimit -v`).
int report_out_of_memory() {
  say("seek: error: out of memory: an allocation failed (other programs may have taken the memory, or a "
      "limit such as `ulimit -v` or the container's leaves too little room)\n");
  return 1;
}

}  // namespace

// The command line parsed and its command run; main's handlers around it.
static int parse_and_run(int argc, char** argv);

int main(int argc, char** argv) {
  seek::use_short_openmp_spin_by_default(argv);
  seek::keep_openmp_teams_whole();
  occupy_closed_standard_streams();
  if (const std::string why = seek::openmp_stack_problem(); !why.empty()) {
    say(fmt::format("seek: error: {}\n", why));
    return 1;
  }
  seek::remove_temporaries_on_signals();
  // A file-size limit (`ulimit -f`) reached while writing raised SIGXFSZ, which ended seek at once and left
  // its temporary file behind for good. Ignored, the write fails with EFBIG ("File too large"), reported as
  // an error like a full disk, and the temporary is removed. Sandboxed programs get the default back
  // (sandbox_child.cpp), so their max_file_bytes still ends them.
  std::signal(SIGXFSZ, SIG_IGN);
  // Setting up the command line allocates too: under a tight `ulimit -v` that failed outside every handler,
  // and the process ended by std::terminate (SIGABRT).
  try {
    return parse_and_run(argc, argv);
  } catch (const std::bad_alloc&) {
    return report_out_of_memory();
  }
}

static int parse_and_run(int argc, char** argv) {
  CLI::App app{"seek: train, run and RL-tune DeepSeek-architecture models on CPUs"};
  app.require_subcommand(1);
  app.set_version_flag(
      "--version", [] { return seek::cli::version_text(); },
      "Print the commit seek was built from, its compiler and oneDNN, and exit");
  auto& reg = seek::cli::command_registry();
  std::sort(reg.begin(), reg.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& spec : reg) spec.setup(*app.add_subcommand(spec.name, spec.help));
  // CLI11 lets an on/off flag be given twice (`--show --show`), where a one-value option given twice is an
  // error: both are, as README says.
  const std::function<void(CLI::App&)> one_flag_each = [&](CLI::App& command) {
    for (CLI::Option* opt : command.get_options())
      if (opt->get_items_expected_max() == 0 && opt != command.get_help_ptr())
        opt->multi_option_policy(CLI::MultiOptionPolicy::Throw);
    for (CLI::App* sub : command.get_subcommands({})) one_flag_each(*sub);
  };
  one_flag_each(app);
  int rc = 0;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help (and CLI11's other non-errors) print to stdout and exit 0.
    const std::string grouped = help_in_a_group(argc, argv);
    if (e.get_exit_code() == 0 && !grouped.empty() && !help_requested(argc, argv)) {
      return report_usage_error(app,
                                CLI::ExtrasError(std::vector<std::string>{
                                    grouped + " (-h asks for help; text that starts with '-' goes "
                                              "after '--')"}),
                                argc, argv);
    } else if (e.get_exit_code() == 0) {
      rc = app.exit(e);
    } else if (help_requested(argc, argv)) {
      print_help(app);
    } else {
      return report_usage_error(app, e, argc, argv);
    }
  } catch (const seek::Error& e) {
    // With --help, this is an option's own check failing while CLI11 read the line: a command itself only
    // runs when no help was asked for.
    if (help_requested(argc, argv)) {
      print_help(app);
      return 0;
    }
    flush_stdout_before_an_error();
    say(fmt::format("seek: error: {}\n", e.what()));
    return 1;
  } catch (const std::bad_alloc&) {
    return report_out_of_memory();
  } catch (const std::system_error& e) {
    // fmt::print throws this, with the write's errno, when it cannot write to stdout (a filesystem_error is
    // one too, but never about stdout).
    if (std::ferror(stdout) && dynamic_cast<const std::filesystem::filesystem_error*>(&e) == nullptr) {
      report_stdout_failure(e.code().message());
      return 1;
    }
    say(fmt::format("seek: internal error: {}\n", e.what()));
    return 2;
  } catch (const std::exception& e) {
    say(fmt::format("seek: internal error: {}\n", e.what()));
    return 2;
  }
  if (const std::string why = stdout_failure(); !why.empty()) {
    report_stdout_failure(why);
    return rc != 0 ? rc : 1;
  }
  return rc;
}
