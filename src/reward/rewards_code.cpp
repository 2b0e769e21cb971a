// The code reward: the fraction of a problem's tests passed by the completion's last ```python block,
// run in the sandbox (see code_runner.hpp and sandbox.hpp).
#include <limits>

#include "core/error.hpp"
#include "reward/code_runner.hpp"
#include "reward/rewards_internal.hpp"

namespace seek::reward::detail {

namespace {

class CodeReward : public RewardFunction {
 public:
  explicit CodeReward(const OptionReader& o) {
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
    prefilled_ = o.boolean("think_prefilled", false);
    // Refuse at start-up rather than score every completion 0 (or run it unisolated) later.
    const SandboxSupport& s = sandbox_support();
    if (!s.namespaces && l.require_isolation)
      fail(
          "{}: the sandbox cannot isolate code on this machine ({}); set require_isolation to false to run "
          "it with rlimits and seccomp only",
          o.where(), s.reason);
  }
  const std::string& name() const override { return name_; }
  double score(const RewardInput& in) const override {
    if (!in.problem || !in.problem->is_code()) return std::numeric_limits<double>::quiet_NaN();
    try {
      std::string code = extract_python_block(in.completion, prefilled_);
      if (code.empty()) return 0.0;
      return run_code_tests(code, in.problem->tests, in.problem->asserts, opts_).score();
    } catch (...) {
      return 0.0;
    }
  }

 private:
  std::string name_ = "code";
  CodeRunOptions opts_;
  bool prefilled_ = false;
};

}  // namespace

std::unique_ptr<RewardFunction> make_code(const OptionReader& o) {
  return std::make_unique<CodeReward>(o);
}

}  // namespace seek::reward::detail
