// What the code reward's sandbox costs per run, on top of the program itself: the same program started
// (a) plainly with posix_spawn and waited for (the peer: no isolation at all), (b) in the sandbox without
// namespaces (rlimits, seccomp, a uid of its own as root: `require_isolation: false` where namespaces are
// unavailable), (c) in the full sandbox (namespaces, private root, uid drop, seccomp, rlimits). Programs:
// /bin/true (the cost of starting anything) and `python3 -s -B -c pass` (Python's own start-up, which every
// code-reward run pays), and one assert-tests run of a small solution through run_code_tests, as the code
// reward scores a completion. Wall time per run, one run at a time; each sandboxed row then times the plain
// peer of its program (counters plain_ms, extra_ms = what the sandbox adds, ratio).
#include <benchmark/benchmark.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/aligned.hpp"
#include "reward/code_runner.hpp"
#include "reward/sandbox.hpp"

extern char** environ;

namespace {

using namespace seek::reward;

enum class Mode { Plain, NoNamespaces, Full };

std::vector<std::string> program(bool python) {
  if (python) return {"/usr/bin/python3", "-s", "-B", "-c", "pass"};
  return {"/bin/true"};
}

void run_plain(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0)
    throw std::runtime_error("posix_spawn " + argv[0] + " failed");
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(argv[0] + " did not exit 0");
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void BM_Start(benchmark::State& state, Mode mode, bool python) {
  const std::vector<std::string> argv = program(python);
  SandboxLimits limits;
  if (mode == Mode::Full && !sandbox_support().namespaces) {
    state.SkipWithError(("no namespaces here: " + sandbox_support().reason).c_str());
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (mode == Mode::Plain) {
      run_plain(argv);
      continue;
    }
    const SandboxRun r = mode == Mode::Full ? run_in_sandbox(argv, {}, "", limits)
                                            : detail::run_without_namespaces(argv, {}, "", limits);
    if (!r.ok()) {
      state.SkipWithError(("run failed: " + r.error + r.err).c_str());
      return;
    }
  }
  if (mode == Mode::Plain) return;
  // The peer right after, as many runs (up to 50): extra_ms = what the sandbox adds to a run, ratio = run /
  // plain run, both on the machine of the moment.
  const double run_ms = ms_since(t0) / double(state.iterations());
  const int64_t n = std::min<int64_t>(state.iterations(), 50);
  const auto t1 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < n; ++i) run_plain(argv);
  const double plain_ms = ms_since(t1) / double(n);
  state.counters["plain_ms"] = plain_ms;
  state.counters["extra_ms"] = run_ms - plain_ms;
  state.counters["ratio"] = run_ms / plain_ms;
}

// A sandboxed /bin/true from a process holding 2 GB (the trainer's weights, optimizer state, caches). huge:
// the memory comes from huge_page_alloc, as seek's large arrays do (2 MB pages where the kernel grants them);
// otherwise 4 KB pages (a std::vector). With the exec'd init the two cost the same as a run from a small
// process; with SEEK_SANDBOX_INIT=copy the run's clone copies the page tables of everything resident, 512
// times fewer of them on 2 MB pages.
void BM_StartFromLargeProcess(benchmark::State& state, bool huge) {
  if (!sandbox_support().namespaces) {
    state.SkipWithError(("no namespaces here: " + sandbox_support().reason).c_str());
    return;
  }
  const size_t bytes = size_t(2) << 30;
  std::vector<char> small_pages;
  char* resident = nullptr;
  if (huge) {
    resident = static_cast<char*>(seek::huge_page_alloc(bytes));
  } else {
    small_pages.resize(bytes);
    resident = small_pages.data();
  }
  std::memset(resident, 1, bytes);
  for (auto _ : state) {
    const SandboxRun r = run_in_sandbox(program(false), {}, "", SandboxLimits{});
    if (!r.ok()) {
      state.SkipWithError(("run failed: " + r.error + r.err).c_str());
      break;
    }
  }
  if (huge) std::free(resident);
}

// One completion scored as the code reward does: a solution and three asserts, one sandboxed run.
void BM_AssertTests(benchmark::State& state) {
  if (!sandbox_support().namespaces) {
    state.SkipWithError(("no namespaces here: " + sandbox_support().reason).c_str());
    return;
  }
  const std::string code = "def add(a, b):\n    return a + b\n";
  const std::string asserts = "assert add(1, 2) == 3\nassert add(-1, 1) == 0\nassert add(2, 2) == 4\n";
  const CodeRunOptions options;
  for (auto _ : state) {
    const CodeRunResult r = run_code_tests(code, {}, asserts, options);
    if (r.passed != 3) {
      state.SkipWithError(("expected 3 of 3 tests to pass: " + r.error + r.detail).c_str());
      return;
    }
  }
}

void register_all() {
  for (bool python : {false, true})
    for (auto [mode, name] : {std::pair{Mode::Plain, "plain"}, std::pair{Mode::NoNamespaces, "no-namespaces"},
                              std::pair{Mode::Full, "sandbox"}})
      benchmark::RegisterBenchmark((std::string("start/") + (python ? "python/" : "true/") + name).c_str(),
                                   BM_Start, mode, python)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
  benchmark::RegisterBenchmark("start/true/sandbox-from-2GB/huge-pages", BM_StartFromLargeProcess, true)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("start/true/sandbox-from-2GB/4KB-pages", BM_StartFromLargeProcess, false)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("code_reward/asserts", BM_AssertTests)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
