// Scoring Python code against test cases in the sandbox. Score = passed tests / total tests.
//   stdin/stdout tests: one sandboxed run per test; passes when the program exits 0 within the limits and
//     its output equals the expected output line by line, each line stripped of surrounding whitespace and
//     trailing empty lines ignored.
//   assert tests: one sandboxed run; a harness parses the test text with Python's ast, runs the solution
//     (as module "solution", so its `if __name__ == "__main__":` blocks do not run), then the tests as the
//     main program, each top-level statement in order; every top-level statement that is or contains an
//     `assert` (a loop of asserts; not a def or class) is one test, and so is each test* function, each
//     test* method of a unittest.TestCase and each test* method of a pytest Test* class that returns no
//     value, called by the harness with its fixtures around it (a text without tests is one test that
//     passes when it runs without error; one that runs nothing is refused, first_unusable_tests). Results are
//     reported on stdout tagged with a random nonce, so a program that exits early or prints fake results
//     scores 0 for what it skipped.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reward/problem.hpp"
#include "reward/sandbox.hpp"

namespace seek::reward {

struct CodeRunOptions {
  SandboxLimits limits;            // per sandboxed run
  double total_wall_seconds = 30;  // all runs for one completion; tests not started in time fail
  std::string python = "/usr/bin/python3";
};

struct CodeRunResult {
  int passed = 0;
  int total = 0;
  std::string error;   // the sandbox could not start (the score is then 0)
  std::string detail;  // first failure: what happened (for logs)
  double score() const { return total > 0 ? double(passed) / double(total) : 0.0; }
};

// The body of the last ```python (or ```py, ```python3) fenced block after the reasoning; "" when none is
// closed. Other fences and stray "```" are skipped; an indented fence's body loses that indentation.
std::string extract_python_block(std::string_view completion, bool think_prefilled = false);

CodeRunResult run_code_tests(std::string_view code, const std::vector<CodeTest>& tests,
                             std::string_view asserts, const CodeRunOptions& options);

// The first of `sources` (assert-style tests) that no completion could be judged by, as its index and why:
// the harness could not compile it ("its tests are not valid Python (invalid syntax (tests.py, line 2)), so
// no completion could pass them"), compiling it takes more CPU time than a run's limits allow, or it only
// defines functions and classes and runs none of them, or each of its tests catches its own assertion
// failures (every completion would pass); nullopt when all are usable. Checked in the sandbox, a few MB of
// tests per run, nothing executed. Throws seek::Error when the check itself cannot run there; nullopt,
// unchecked, when a stop is asked for meanwhile (StopOnSignal::stop_pending), for the job to stop.
std::optional<std::pair<size_t, std::string>> first_unusable_tests(std::span<const std::string_view> sources,
                                                                   const CodeRunOptions& options);

// Whether `actual` matches `expected` under the line rule above.
bool outputs_match(std::string_view actual, std::string_view expected);

// The fewest bytes an output that matches `expected` has: its lines trimmed, without trailing empty ones.
size_t least_matching_output_bytes(std::string_view expected);

}  // namespace seek::reward
