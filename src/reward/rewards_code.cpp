// The code reward: the fraction of a problem's tests passed by the completion's last ```python block,
// run in the sandbox (see code_runner.hpp and sandbox.hpp).
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <limits>
#include <string>

#include "core/error.hpp"
#include "reward/code_runner.hpp"
#include "reward/rewards_internal.hpp"
#include "reward/sandbox.hpp"

namespace seek::reward::detail {

namespace {

// An interpreter that cannot be run made every sandboxed run fail to start, so every completion scored 0
// (a "model that writes no correct code") instead of an error at start-up.
void check_python(const std::string& python, const std::string& where) {
  // The sandbox execs it without a PATH search, from its own working folder.
  SEEK_CHECK(!python.empty() && python[0] == '/',
             "{}: option 'python' must be an absolute path to a Python interpreter (e.g. /usr/bin/python3), "
             "got \"{}\"",
             where, python);
  std::error_code ec;
  const auto st = std::filesystem::status(python, ec);
  SEEK_CHECK(std::filesystem::exists(st), "{}: option 'python': {} does not exist", where, python);
  SEEK_CHECK(std::filesystem::is_regular_file(st), "{}: option 'python': {} is not a file (an interpreter)",
             where, python);
  SEEK_CHECK(::access(python.c_str(), X_OK) == 0, "{}: option 'python': {} is not executable", where, python);
}

class CodeReward : public RewardFunction {
 public:
  explicit CodeReward(const OptionReader& o) : prefilled_(o) {
    SandboxLimits& l = opts_.limits;
    l.cpu_seconds = o.number("cpu_seconds", 2.0, 0.1, 3600);
    l.wall_seconds = o.number("wall_seconds", 4.0, 0.1, 3600);
    l.memory_bytes = size_t(o.integer("memory_mb", 512, 16, 1 << 20)) << 20;
    l.max_processes = int(o.integer("max_processes", 32, 1, 100000));
    l.max_output_bytes = size_t(o.integer("max_output_bytes", 1 << 20, 1, int64_t(1) << 34));
    l.max_file_bytes = size_t(o.integer("max_file_bytes", 16 << 20, 4096, int64_t(1) << 34));
    l.max_open_files = int(o.integer("max_open_files", 64, 8, 1 << 20));
    l.require_isolation = o.boolean("require_isolation", true);
    opts_.total_wall_seconds = o.number("total_wall_seconds", 30.0, 0.1, 86400);
    opts_.python = o.string("python", "/usr/bin/python3");
    check_python(opts_.python, o.where());
    // Refuse at start-up rather than score every completion 0 (or run it unisolated) later.
    const SandboxSupport& s = sandbox_support();
    if (!s.namespaces && l.require_isolation)
      fail(
          "{}: the sandbox cannot isolate code on this machine ({}); set require_isolation to false to run "
          "it with rlimits and seccomp only",
          o.where(), s.reason);
    check_runs_in_sandbox(o.where());
  }
  const std::string& name() const override { return name_; }
  double score(const RewardInput& in) const override {
    std::string note;
    return score_noted(in, note);
  }
  double score_noted(const RewardInput& in, std::string& note) const override {
    note.clear();
    if (!in.problem || !in.problem->is_code()) return std::numeric_limits<double>::quiet_NaN();
    try {
      std::string code = extract_python_block(in.completion, prefilled_(in));
      if (code.empty()) {
        note = "no closed ```python block after the thinking";
        return 0.0;
      }
      const CodeRunResult r = run_code_tests(code, in.problem->tests, in.problem->asserts, opts_);
      if (r.passed < r.total)
        note = fmt::format("{} of {} tests passed; first failure: {}", r.passed, r.total,
                           r.detail.empty() ? "unknown" : r.detail);
      return r.score();
    } catch (const std::exception& e) {
      note = fmt::format("scoring failed: {}", e.what());
      return 0.0;
    } catch (...) {
      note = "scoring failed";
      return 0.0;
    }
  }

  void check_problems(std::span<const Problem> problems) const override {
    std::vector<std::string_view> sources;
    std::vector<const Problem*> of;
    for (const Problem& p : problems) {
      for (size_t t = 0; t < p.tests.size(); ++t) {
        const size_t least = least_matching_output_bytes(p.tests[t].output);
        SEEK_CHECK(
            least <= opts_.limits.max_output_bytes,
            "problem {}: test {}'s expected output takes at least {} bytes, more than the code reward's "
            "max_output_bytes ({}) lets a program print, so no completion could pass it; raise "
            "max_output_bytes, or fix the problem file",
            p.id, t + 1, least, opts_.limits.max_output_bytes);
      }
      if (!p.asserts.empty()) {
        sources.push_back(p.asserts);
        of.push_back(&p);
      }
    }
    if (sources.empty()) return;
    if (const auto bad = first_unusable_tests(sources, opts_))
      fail("problem {}: {}; fix them in the problem file", of[bad->first]->id, bad->second);
  }

 private:
  // The interpreter as the sandbox sees it, under these limits: one outside the folders the sandbox shows
  // (/usr, /bin, /lib*: a venv, pyenv or conda under /opt) passed the checks of its host path, then failed to
  // start in every run ("execve failed"), and every completion scored 0 without a word.
  void check_runs_in_sandbox(const std::string& where) const {
    const SandboxRun probe = run_in_sandbox({opts_.python, "-s", "-B", "-c", "pass"}, {}, "", opts_.limits);
    // A stop asked for meanwhile ends the job at its next safe point; the probe says nothing then.
    if (probe.ok() || probe.stopped) return;
    std::string why = probe.started ? probe.err : probe.error;
    if (const size_t nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
    if (why.empty())
      why = probe.wall_timeout ? "it did not finish in wall_seconds"
            : probe.signal     ? fmt::format("it was ended by signal {}", probe.signal)
                               : fmt::format("it exited with status {}", probe.exit_code);
    fail(
        "{}: option 'python': {} cannot run in the sandbox ({}). The sandbox shows the host's /usr, /bin and "
        "/lib* only, so an interpreter elsewhere (a venv, pyenv, conda) is not there; memory_mb and the "
        "other "
        "limits apply too",
        where, opts_.python, why);
  }

  std::string name_ = "code";
  ThinkPrefilled prefilled_;
  CodeRunOptions opts_;
};

}  // namespace

std::unique_ptr<RewardFunction> make_code(const OptionReader& o) {
  return std::make_unique<CodeReward>(o);
}

}  // namespace seek::reward::detail
