// How the code reward decides pass/fail: which block is the program, how outputs are compared, and how
// assert tests count. Each case here was a false pass or a false failure (see the comments), or pins down a
// documented rule.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "reward/code_runner.hpp"
#include "reward/reward.hpp"
#include "reward/sandbox.hpp"
#include "support/error_of.hpp"
#include "support/sandbox_tests.hpp"

namespace seek::reward {
namespace {

TEST(CodeExtractReview, LastPythonBlockAfterTheThinking) {
  EXPECT_EQ(extract_python_block("```python\nprint(1)\n```"), "print(1)\n");
  EXPECT_EQ(extract_python_block("```py\nA\n```\n```python3 \nB\n```\n```text\nC\n```"), "B\n");
  EXPECT_EQ(extract_python_block("```python\r\nprint(1)\r\n```"), "print(1)\r\n");
  // Untagged and other-language blocks are not the program; an unclosed last block does not count.
  EXPECT_EQ(extract_python_block("```\nprint(1)\n```"), "");
  // The language name in any case, as Markdown reads it.
  EXPECT_EQ(extract_python_block("```Python\nA\n```\n```PY3\nB\n```"), "A\n");
  EXPECT_EQ(extract_python_block("```python\nA\n```\n``` PYTHON3\nB\n```"), "B\n");
  EXPECT_EQ(extract_python_block("```python\nA\n```\n```python\nB"), "A\n");
  EXPECT_EQ(extract_python_block("<think>```python\nA\n```</think>```python\nB\n```"), "B\n");
  EXPECT_EQ(extract_python_block("<think>```python\nA\n```</think>no code"), "");
}

// A "```" in the prose (inline, not a fence) paired with the real block's opening fence, so the real block
// was skipped and the completion scored 0.
TEST(CodeExtractReview, InlineBackticksInTheProseDoNotHideTheBlock) {
  EXPECT_EQ(extract_python_block("I put the code in a ``` fence:\n```python\nprint(1)\n```\n"), "print(1)\n");
  EXPECT_EQ(extract_python_block("Use ```python``` blocks.\n```python\nprint(2)\n```"), "print(2)\n");
}

// A fence indented inside a list item (as markdown allows) kept the indentation in the program, which then
// failed with "unexpected indent".
TEST(CodeExtractReview, AnIndentedFenceIsDedented) {
  std::string c = "1. The program:\n   ```python\n   def f():\n       return 1\n   print(f())\n   ```\n";
  EXPECT_EQ(extract_python_block(c), "def f():\n    return 1\nprint(f())\n");
  // Only up to the fence's own indentation is removed.
  EXPECT_EQ(extract_python_block("  ```python\nx = 1\n    y = 2\n  ```"), "x = 1\n  y = 2\n");
}

TEST(CodeOutputsReview, LineRule) {
  EXPECT_TRUE(outputs_match("3\r\n4  \r\n\r\n", "3\n4"));
  EXPECT_TRUE(outputs_match("", ""));
  EXPECT_TRUE(outputs_match("\n\n", ""));
  EXPECT_FALSE(outputs_match("3\n4\n", "3\n"));  // extra output fails (open-r1's zip() would pass it)
  EXPECT_FALSE(outputs_match("3\n", "3\n4\n"));
  EXPECT_FALSE(outputs_match("1  2\n", "1 2\n"));  // inner whitespace counts
  EXPECT_FALSE(outputs_match("x", ""));
  EXPECT_TRUE(outputs_match("\xff\xfe\n", "\xff\xfe"));
}

TEST(CodeRunReview, StdinStdoutTests) {
  REQUIRE_ISOLATION();
  // One run per test: a crash or a timeout in one test does not affect the others; a program that prints
  // the right answer and then fails, or reads more than it is given, fails; stderr does not count.
  std::string code =
      "import sys\nn = int(input())\nif n == 1: raise SystemExit(1)\nif n == 2:\n    while True: pass\n"
      "if n == 3: input()\nsys.stderr.write('noise\\n')\nprint(n * 2)\nif n == 4: raise ValueError\n";
  std::vector<CodeTest> tests = {{"1\n", "2\n"}, {"2\n", "4\n"},  {"3\n", "6\n"},
                                 {"4\n", "8\n"}, {"5\n", "10\n"}, {"6", "12"}};
  auto r = run_code_tests(code, tests, "", test::fast_code_run(3));
  EXPECT_EQ(r.total, 6);
  EXPECT_EQ(r.passed, 2) << r.detail;
  EXPECT_EQ(r.error, "");
}

// A loop (or if) of asserts next to top-level asserts was run as "setup", whose failure counted for
// nothing: a wrong solution passed every test.
TEST(CodeRunReview, AssertsInsideALoopAreTests) {
  REQUIRE_ISOLATION();
  std::string tests =
      "import math\nassert f(1) == 2\nfor a, b in [(2, 3), (3, 4)]:\n    assert f(a) == b\n"
      "def helper(x):\n    assert x\n    return x\n";
  auto wrong = run_code_tests("def f(x):\n    return 2 if x == 1 else 0", {}, tests, test::fast_code_run(3));
  EXPECT_EQ(wrong.total, 2);
  EXPECT_EQ(wrong.passed, 1) << wrong.detail;
  auto right = run_code_tests("def f(x):\n    return x + 1", {}, tests, test::fast_code_run(3));
  EXPECT_EQ(right.passed, 2) << right.detail;
  EXPECT_EQ(right.total, 2);
}

// The tests were a file in /src that the solution could read: a program that parsed the expected values out
// of it passed every assert without solving anything (a hack an RL policy can learn). They now arrive on the
// harness's stdin, read before the solution runs. Tests with non-ASCII text still parse.
TEST(CodeRunReview, TheSolutionCannotReadTheTests) {
  REQUIRE_ISOLATION();
  const std::string tests = "assert f(1) == 17\nassert f(2) == 4242\nassert f(3) == -9\n";
  for (const std::string peek :
       {"open('/src/tests.py').read()", "__import__('sys').stdin.read()", "open('/proc/self/fd/0').read()",
        "__import__('os').listdir('/src') and open('/src/' + [n for n in "
        "__import__('os').listdir('/src') if 'test' in n][0]).read()"}) {
    const std::string code =
        "import re\ntry:\n    _t = " + peek +
        "\nexcept Exception:\n    _t = ''\n"
        "_m = {int(a): int(b) for a, b in re.findall(r'f\\((-?\\d+)\\) == (-?\\d+)', _t)}\n"
        "def f(x):\n    return _m.get(x)\n";
    auto r = run_code_tests(code, {}, tests, test::fast_code_run(3));
    EXPECT_EQ(r.passed, 0) << peek << ": " << r.detail;
    EXPECT_EQ(r.total, 3) << peek << ": " << r.detail;
  }
  auto r = run_code_tests("def f(s):\n    return s[::-1]\n", {}, "assert f('žluť') == 'ťulž'  # ünïcode\n",
                          test::fast_code_run(3));
  EXPECT_EQ(r.passed, 1) << r.detail;
}

// The compiled tests were found through the garbage collector (their constants hold the expected values),
// and a solution's own `abs` replaced the builtin in the tests: both scored full marks with wrong code.
// Code that frames are needed for (namedtuple, warnings) still works.
TEST(CodeRunReview, CheapHacksOnTheHarnessFail) {
  REQUIRE_ISOLATION();
  // Ten seconds of wall clock: the runs that must pass once failed on a loaded machine with three.
  const std::string tests = "assert f(1) == 17\nassert f(2) == 4242\nassert f(3) == -9\n";
  const std::string gc_walk =
      "import gc\n_m = {}\n"
      "for o in gc.get_objects():\n"
      "    if type(o) is list:\n"
      "        for t in o:\n"
      "            if type(t) is tuple and len(t) == 2 and hasattr(t[0], 'co_consts'):\n"
      "                k = [c for c in t[0].co_consts if type(c) is int]\n"
      "                if len(k) >= 2: _m[k[0]] = k[1]\n"
      "def f(x):\n    return _m.get(x)\n";
  auto r = run_code_tests(gc_walk, {}, tests, test::fast_code_run(10));
  EXPECT_EQ(r.passed, 0) << r.detail;
  EXPECT_EQ(r.total, 3) << r.detail;
  for (const std::string hook : {"import sys\nsys.settrace(lambda *a: None)\n", "import ctypes\n"}) {
    r = run_code_tests(hook + "def f(x):\n    return 17\n", {}, "assert f(1) == 17\n",
                       test::fast_code_run(10));
    EXPECT_EQ(r.passed, 0) << hook << r.detail;
  }
  // An audit hook of the solution's own, which would see every test compiled, is not added.
  r = run_code_tests(
      "import sys\n_seen = []\nsys.addaudithook(lambda e, a: _seen.append(e))\n"
      "def f(x):\n    return len(_seen)\n",
      {}, "assert f(1) == 0\n", test::fast_code_run(10));
  EXPECT_EQ(r.passed, 1) << r.detail;
  r = run_code_tests("abs = lambda x: 0\ndef f(x):\n    return 99\n", {},
                     "assert abs(f(2) - 1.41421) < 1e-4\n", test::fast_code_run(10));
  EXPECT_EQ(r.passed, 0) << r.detail;
  r = run_code_tests(
      "from collections import namedtuple\nimport warnings\nP = namedtuple('P', 'x y')\n"
      "def f(a):\n    warnings.warn('careful')\n    return P(a, a).x\n",
      {}, "assert f(3) == 3\nassert abs(-f(2)) == 2\n", test::fast_code_run(10));
  EXPECT_EQ(r.passed, 2) << r.detail;
}

// Solutions that fork workers of their own (a multiprocessing pool, forked, spawned or from a forkserver: the
// harness runs under a main guard, which spawned workers import again) and tests that fork and judge the
// solution in their copy score as they should. (A fork oracle inside the tested function is not stopped:
// docs/rewards.md.)
TEST(CodeRunReview, ForkingSolutionsAndTestsScoreAsTheyShould) {
  REQUIRE_ISOLATION();
  CodeRunResult r;
  const std::string squares = "assert sum_squares([1, 2, 3]) == 14\nassert sum_squares([4]) == 16\n";
  for (const std::string how : {"fork", "spawn", "forkserver"}) {
    r = run_code_tests(
        "import multiprocessing as mp\ndef _sq(x):\n    return x * x\n"
        "def sum_squares(xs):\n    with mp.get_context('" +
            how +
            "').Pool(2) as pool:\n"
            "        return sum(pool.map(_sq, xs))\n",
        {}, squares, test::fast_code_run(20));
    EXPECT_EQ(r.passed, 2) << how << ": " << r.detail;
  }
  // Tests that fork and call the solution in their own copy judge it there, as before.
  for (const std::string forking :
       {"import os\ndef test_in_child():\n    pid = os.fork()\n    if pid == 0:\n"
        "        os._exit(0 if f(1) == 2 and f(3) == 6 else 1)\n    _, status = os.waitpid(pid, 0)\n"
        "    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status\n",
        "import os\ndef test_in_child():\n    r, w = os.pipe()\n    if os.fork() == 0:\n"
        "        os.write(w, repr(f(3)).encode())\n        os._exit(0)\n    os.close(w)\n    got = "
        "os.read(r, 100)\n"
        "    os.wait()\n    assert got == b'6', got\n"}) {
    EXPECT_EQ(run_code_tests("def f(x):\n    return 2 * x\n", {}, forking, test::fast_code_run(10)).passed, 1)
        << forking;
    EXPECT_EQ(run_code_tests("def f(x):\n    return 0\n", {}, forking, test::fast_code_run(10)).passed, 0)
        << forking;
  }
  r = run_code_tests(
      "import os\ndef sum_squares(xs):\n    r, w = os.pipe()\n    if os.fork() == 0:\n"
      "        os.write(w, str(sum(x * x for x in xs)).encode())\n        os._exit(0)\n"
      "    os.close(w)\n    got = int(os.read(r, 100))\n    os.wait()\n    return got\n",
      {}, squares, test::fast_code_run(10));
  EXPECT_EQ(r.passed, 2) << r.detail;
}

// A statement of the tests that is no test but checks (a check(f) call beside bare asserts, a loop of a
// helper's asserts, np.testing, an if that raises) had its failure dropped once the text held one bare
// assert: a wrong solution passed. Its failure now fails every test, as pytest fails a module whose top level
// raises; a runner's exit (unittest.main()) and a test function judged by its own call do not.
TEST(CodeRunReview, AFailureOutsideATestFailsTheTests) {
  REQUIRE_ISOLATION();
  const std::string right = "def double(x):\n    return 2 * x\n",
                    wrong = "def double(x):\n    return x * x * 3\n";
  for (const std::string tests :
       {"def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) == 4\n\nassert "
        "double(0) == 0\n"
        "check(double)\n",
        "def assertion(out, exp):\n    assert out == exp, (out, exp)\n\nassert double(0) == 0\n"
        "for x, y in [(1, 2), (2, 4)]:\n    assertion(double(x), y)\n",
        "assert double(0) == 0\nif double(5) != 10:\n    raise AssertionError('double(5)')\n",
        "def check(candidate):\n    assert candidate(5) == 10\n\ncheck(double)\n\ndef test_zero():\n    "
        "assert double(0) == 0\n"}) {
    auto r = run_code_tests(wrong, {}, tests, test::fast_code_run(10));
    EXPECT_EQ(r.passed, 0) << tests << r.detail;
    EXPECT_NE(r.detail.find("the tests failed outside a test, at line "), std::string::npos) << r.detail;
    r = run_code_tests(right, {}, tests, test::fast_code_run(10));
    EXPECT_EQ(r.passed, r.total) << tests << r.detail;
  }
  // unittest.main() under the main guard, and a test function the text calls itself (its failure is that
  // test's), keep the other tests' passes.
  auto r = run_code_tests(
      wrong, {},
      "import unittest\nclass T(unittest.TestCase):\n    def test_zero(self):\n"
      "        self.assertEqual(double(0), 0)\n    def test_two(self):\n"
      "        self.assertEqual(double(1), 2)\n\nif __name__ == '__main__':\n    unittest.main()\n",
      test::fast_code_run(10));
  EXPECT_EQ(r.passed, 1) << r.detail;
  EXPECT_EQ(r.total, 2) << r.detail;
  r = run_code_tests(
      wrong, {},
      "def test_zero():\n    assert double(0) == 0\ndef test_one():\n    assert double(1) == 2\n\n"
      "if __name__ == '__main__':\n    test_one()\n    test_zero()\n",
      test::fast_code_run(10));
  EXPECT_EQ(r.passed, 1) << r.detail;
  // doctest and profilers beside the asserts (they set trace and profile functions, which solutions may not)
  // are runners too.
  for (const std::string runner :
       {"assert double(1) == 2\nif __name__ == '__main__':\n    import doctest\n    doctest.testmod()\n",
        "import cProfile\nassert double(1) == 2\ncProfile.run('double(3)')\n",
        "import unittest as ut\nassert double(1) == 2\nut.main(exit=False)\n"}) {
    r = run_code_tests(right, {}, runner, test::fast_code_run(10));
    EXPECT_EQ(r.passed, 1) << runner << r.detail;
  }
  // A wrong solution that exits with status 0, kills itself or ends the process in a check outside a test
  // (where the failure would have been) fails the tests.
  const std::string mixed =
      "def check(candidate):\n    assert candidate(1) == 2\nassert double(0) == 0\ncheck(double)\n";
  for (const std::string escape : {"import sys\n    sys.exit(0)", "import os\n    os._exit(0)",
                                   "import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)"}) {
    const std::string program = "def double(x):\n    if x == 0:\n        return 0\n    " + escape + "\n";
    r = run_code_tests(program, {}, mixed, test::fast_code_run(10));
    EXPECT_EQ(r.passed, 0) << program << r.detail;
  }
  // Or that ends the process in a test before the check outside a test is reached: the tests did not run
  // to their end.
  r = run_code_tests("import os\ndef double(x):\n    if x == 0:\n        return 0\n    os._exit(0)\n", {},
                     "def check(candidate):\n    assert candidate(1) == 2\nassert double(0) == 0\n"
                     "assert double(2) == 4\ncheck(double)\n",
                     test::fast_code_run(10));
  EXPECT_EQ(r.passed, 0) << r.detail;
  EXPECT_NE(r.detail.find("the tests did not run to their end"), std::string::npos) << r.detail;
}

// Standard input is a regular file: competitive programmers' fast input (os.read(0, os.fstat(0).st_size))
// read nothing from a pipe, and one os.read of a pipe stopped at 64 KiB, so correct programs failed. Notes
// say which test failed, and name the completion's time budget and the CPU limit (they read "wall-clock
// limit" for either budget and "killed by signal 24").
TEST(CodeRunReview, StdinIsAFileAndNotesNameTheLimit) {
  REQUIRE_ISOLATION();
  std::string big = "200000\n";
  for (int i = 0; i < 200000; ++i) big += std::to_string(i % 1000) + (i + 1 < 200000 ? " " : "\n");
  int64_t sum = 0;
  for (int i = 0; i < 200000; ++i) sum += i % 1000;
  const std::vector<CodeTest> tests = {{"3\n1 2 3\n", "6\n"}, {big, std::to_string(sum) + "\n"}};
  for (const std::string program :
       {"import io, os\ninput = io.BytesIO(os.read(0, os.fstat(0).st_size)).readline\nn = int(input())\n"
        "print(sum(map(int, input().split())))\n",
        "import os\ndata = os.read(0, 1 << 25).split()\nprint(sum(map(int, data[1:])))\n"}) {
    const auto r = run_code_tests(program, tests, "", test::fast_code_run(10));
    EXPECT_EQ(r.passed, 2) << program << r.detail;
  }
  auto r = run_code_tests("print(7)\n", tests, "", test::fast_code_run(10));
  EXPECT_EQ(r.detail, "test 1: wrong output");
  auto o = test::fast_code_run(10);
  o.total_wall_seconds = 0.5;
  r = run_code_tests("import time\ntime.sleep(5)\n", tests, "", o);
  EXPECT_EQ(r.detail, "test 1: total time limit for this completion (total_wall_seconds)");
  r = run_code_tests("while True:\n    pass\n", tests, "", test::fast_code_run(10));
  EXPECT_EQ(r.detail, "test 1: CPU time limit (cpu_seconds)");
}

// ctypes was refused by its dlopen only: _ctypes reads and writes the harness's memory without one. Both are
// an ImportError, which a library that uses ctypes if it can takes as its absence.
TEST(CodeRunReview, CtypesIsAnImportError) {
  REQUIRE_ISOLATION();
  for (const std::string imp : {"import _ctypes\n", "import ctypes\n"}) {
    const auto r = run_code_tests(imp + "def f(x):\n    return 17\n", {}, "assert f(1) == 17\n",
                                  test::fast_code_run(10));
    EXPECT_EQ(r.passed, 0) << imp << r.detail;
  }
  const auto r = run_code_tests(
      "try:\n    import ctypes\nexcept ImportError:\n    ctypes = None\ndef f(x):\n    return 17\n", {},
      "assert f(1) == 17\n", test::fast_code_run(10));
  EXPECT_EQ(r.passed, 1) << r.detail;
}

// Hiding every name that shadows a builtin from the tests made tests of a function named like one (max,
// sorted, sum) run the builtin: wrong code and no code at all scored full marks. Such names are now hidden
// only from tests that test other names of the solution, and tests that use nothing the solution defines
// pass nothing.
TEST(CodeRunReview, AFunctionNamedLikeABuiltinIsWhatItsTestsTest) {
  REQUIRE_ISOLATION();
  const std::string max_tests = "assert max(2, 3) == 3\nassert max(5, 1) == 5\n";
  struct Case {
    std::string code, tests;
    int passed;
  };
  const Case cases[] = {
      {"def max(a, b):\n    return 0\n", max_tests, 0},
      {"def max(a, b):\n    return a if a > b else b\n", max_tests, 2},
      {"def sorted(x):\n    return x\n", "assert sorted([3, 1, 2]) == [1, 2, 3]\n", 0},
      // The builtin would raise here: only the solution's sum passes.
      {"def sum(a, b, c):\n    return a + b + c\n", "assert sum(1, 2, 3) == 6\n", 1},
      {"pass\n", max_tests, 0},
      {"import math\n", "assert max(2, 3) == 3\nassert math.pi > 3\n", 0},
      {"def max(a, b):\n    return 0\n", "from solution import max as m\nassert m(2, 3) == 3\n", 0},
      // Names the tests bind themselves are not the solution's under test: a solution's x, cases or
      // candidate made max look like a helper and hid it, so the builtin passed.
      {"def max(a, b):\n    return 0\nx = 0\n", "x = max(2, 3)\nassert x == 3\n", 0},
      {"def max(a, b):\n    return a if a > b else b\nx = 0\n", "x = max(2, 3)\nassert x == 3\n", 1},
      {"def max(a, b):\n    return 0\ncases = 0\n",
       "cases = [(1, 2, 2)]\nfor a, b, w in cases:\n    assert max(a, b) == w\n", 0},
      {"def max(a, b):\n    return 0\ncandidate = 0\n",
       "def check(candidate):\n    assert candidate(2, 3) == 3\ncheck(max)\n", 0},
      // A test function's parameter is its own, not a binding of the solution's name: under check(f) the
      // solution's f is still what is tested (its abs hidden), and check(is_prime) still tests is_prime.
      {"def f(x):\n    return 0\nabs = lambda x: 0\n",
       "def check(f):\n    assert abs(f(2) - 1.414) < 1e-3\ncheck(f)\n", 0},
      {"def is_prime(n):\n    return n > 1 and all(n % k for k in range(2, n))\n",
       "def check(is_prime):\n    assert is_prime(7)\n    assert not is_prime(8)\ncheck(is_prime)\n", 1},
      // Two builtin-named names: which is tested and which a replaced helper is unclear, so nothing passes.
      {"def max(a, b):\n    return 0\nabs = lambda x: 0\n", "assert abs(max(1.5, 2.5) - 2.5) < 1e-9\n", 0},
      // The solution's own __builtins__ is not the tests'.
      {"import builtins\n__builtins__ = dict(vars(builtins))\n__builtins__['abs'] = lambda x: 0\n"
       "def f(x):\n    return 99\n",
       "assert abs(f(2) - 1.41421) < 1e-4\n", 0},
  };
  for (const auto& c : cases) {
    auto r = run_code_tests(c.code, {}, c.tests, test::fast_code_run(10));
    EXPECT_EQ(r.passed, c.passed) << c.code << r.detail;
    if (c.code == "pass\n") {
      EXPECT_NE(r.detail.find("use no name the solution defines"), std::string::npos) << r.detail;
    }
  }
}

// The solution ran in a namespace that was not a module in sys.modules, so correct code that needs its
// module (dataclasses with postponed annotations, pickle) failed every assert test.
TEST(CodeRunReview, TheSolutionIsARealModule) {
  REQUIRE_ISOLATION();
  std::string code =
      "from __future__ import annotations\nfrom dataclasses import dataclass\nimport pickle\n"
      "@dataclass\nclass P:\n    x: int\n"
      "def f(a):\n    return pickle.loads(pickle.dumps(P(a))).x\n";
  auto r = run_code_tests(code, {}, "from solution import f as g\nassert f(3) == 3\nassert g(4) == 4\n",
                          test::fast_code_run(3));
  EXPECT_EQ(r.passed, 2) << r.detail;
  EXPECT_EQ(r.total, 2);
}

// Tests that the harness defined but never ran passed every solution, a wrong one too: pytest-style test_
// functions, a check(candidate) called under the tests' own __main__ guard (the tests ran as module
// `solution`), and unittest cases (unittest.main() looked for them in the harness's module). Each test
// function or test method is now one test, and the guard runs.
TEST(CodeRunReview, TestFunctionsClassesAndMainGuardsRun) {
  REQUIRE_ISOLATION();
  const std::string right = "def f(x):\n    return x + 1\n", wrong = "def f(x):\n    return None\n";
  struct Case {
    std::string tests;
    int total;
  };
  const Case cases[] = {
      {"def test_one():\n    assert f(1) == 2\ndef test_two():\n    assert f(5) == 6\n"
       "def test_helper(x):\n    assert f(x) == x + 1\n",
       2},
      {"def check(candidate):\n    assert candidate(1) == 2\nif __name__ == '__main__':\n    check(f)\n", 1},
      {"import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(f(1), "
       "2)\n"
       "    def test_b(self):\n        self.assertEqual(f(2), 3)\n"
       "if __name__ == '__main__':\n    unittest.main(exit=False)\n",
       2},
      {"from unittest import TestCase, main\nclass FTests(TestCase):\n    def test_a(self):\n"
       "        assert f(1) == 2\nmain()\n",
       1},
      {"class TestF:\n    def test_a(self):\n        assert f(1) == 2\n    def helper(self):\n        pass\n",
       1},
      {"assert f(0) == 1\ndef test_more():\n    assert f(9) == 10\n", 2},
  };
  // A text that is one test says how it failed (it said "wrong output", the run's outcome).
  const auto humaneval = run_code_tests(
      wrong, {}, "def check(candidate):\n    assert candidate(1) == 2, 'f(1) is not 2'\ncheck(f)\n",
      test::fast_code_run(10));
  EXPECT_EQ(humaneval.passed, 0);
  EXPECT_EQ(humaneval.detail, "test 1 failed: AssertionError: f(1) is not 2");
  for (const auto& c : cases) {
    const auto good = run_code_tests(right, {}, c.tests, test::fast_code_run(10));
    EXPECT_EQ(good.total, c.total) << c.tests;
    EXPECT_EQ(good.passed, c.total) << c.tests << good.detail;
    const auto bad = run_code_tests(wrong, {}, c.tests, test::fast_code_run(10));
    EXPECT_EQ(bad.total, c.total) << c.tests;
    EXPECT_EQ(bad.passed, 0) << c.tests << bad.detail;
  }
  // A test* helper that returns cases (or a verdict) is no test of its own; one that asserts through a
  // helper is.
  const std::string delegating =
      "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(5) == 6\n"
      "def _same(a, b):\n    assert a == b\ndef test_check():\n    check(f)\ndef test_more():\n"
      "    _same(f(2), 3)\n";
  EXPECT_EQ(run_code_tests(right, {}, delegating, test::fast_code_run(10)).passed, 2);
  EXPECT_EQ(run_code_tests(wrong, {}, delegating, test::fast_code_run(10)).passed, 0);
  for (const std::string& helpers :
       {std::string("def test_cases():\n    return [(1, 2), (2, 3)]\nfor a, w in test_cases():\n"
                    "    assert f(a) == w\n"),
        std::string("def test_1():\n    return f(1) == 2\nassert test_1()\n")}) {
    EXPECT_EQ(run_code_tests(wrong, {}, helpers, test::fast_code_run(10)).passed, 0) << helpers;
    const auto r = run_code_tests(right, {}, helpers, test::fast_code_run(10));
    EXPECT_EQ(r.passed, 1) << helpers << r.detail;
    EXPECT_EQ(r.total, 1) << helpers;
  }
  // unittest runs a test in a suite, so setUpClass runs; a skipped test passes nothing, and a solution that
  // patches unittest's classes patches them for itself only.
  const std::string unit =
      "import unittest\nclass T(unittest.TestCase):\n    @classmethod\n    def setUpClass(cls):\n"
      "        cls.g = staticmethod(f)\n    def test_a(self):\n        self.assertEqual(self.g(1), 2)\n"
      "    def test_b(self):\n        self.assertEqual(f(2), 3)\n";
  EXPECT_EQ(run_code_tests(right, {}, unit, test::fast_code_run(10)).passed, 2);
  // The tests' module fixtures are the tests' own: a setUpModule of the solution's is none of theirs.
  EXPECT_EQ(run_code_tests(right + "def setUpModule():\n    raise RuntimeError('mine')\n", {}, unit,
                           test::fast_code_run(10))
                .passed,
            2);
  // pytest's setup_method and setup_class, and unittest's setUpModule, run around their tests.
  const std::string pytest_class =
      "class TestF:\n    def setup_method(self, method):\n        self.g = f\n"
      "    def test_a(self):\n        assert self.g(1) == 2\n    def test_b(self):\n        assert self.g(2) "
      "== 3\n";
  EXPECT_EQ(run_code_tests(right, {}, pytest_class, test::fast_code_run(10)).passed, 2);
  EXPECT_EQ(run_code_tests(wrong, {}, pytest_class, test::fast_code_run(10)).passed, 0);
  const std::string module_fixture =
      "import unittest\nG = []\ndef setUpModule():\n    G.append(f)\n"
      "class T(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(G[0](1), 2)\n";
  EXPECT_EQ(run_code_tests(right, {}, module_fixture, test::fast_code_run(10)).passed, 1);
  // pytest's optional-argument forms and module fixtures run too; a test the text calls itself (under its
  // __main__ guard) runs once, as the text runs it.
  const std::string pytest_forms =
      "S = []\ndef setup_module():\n    S.append(f)\ndef setup_function():\n    S.append(0)\n"
      "def test_mod():\n    assert S[0](1) == 2\nclass TestG:\n    def setup_class(self):\n        self.base "
      "= 1\n"
      "    def setup_method(self):\n        self.k = self.base\n    def test_a(self):\n"
      "        assert f(self.k) == 2\n";
  EXPECT_EQ(run_code_tests(right, {}, pytest_forms, test::fast_code_run(10)).passed, 2);
  EXPECT_EQ(run_code_tests(wrong, {}, pytest_forms, test::fast_code_run(10)).passed, 0);
  const std::string once =
      "seen = []\ndef test_collect():\n    seen.append(1)\n    assert len(seen) == 1 and f(1) == 2\n"
      "if __name__ == '__main__':\n    test_collect()\n";
  const auto ran_once = run_code_tests(right, {}, once, test::fast_code_run(10));
  EXPECT_EQ(ran_once.passed, 1) << ran_once.detail;
  EXPECT_EQ(ran_once.total, 1);
  // A test the text calls inside a try that prints its failure is still a test of its own (it passed a
  // wrong solution when it was left to the statement that swallowed the failure).
  const std::string swallowed =
      "def test_solution():\n    assert f(1) == 2\nif __name__ == '__main__':\n    try:\n"
      "        test_solution()\n        print('ok')\n    except AssertionError as e:\n        print('fail', "
      "e)\n";
  EXPECT_EQ(run_code_tests(right, {}, swallowed, test::fast_code_run(10)).passed, 1);
  EXPECT_EQ(run_code_tests(wrong, {}, swallowed, test::fast_code_run(10)).passed, 0);
  // A builtin that runs the text's own function runs the tests (list(map(check, cases)) was refused).
  const std::string mapped = "def check(c):\n    assert f(c) == c + 1\nlist(map(check, [1, 2]))\n";
  EXPECT_EQ(run_code_tests(right, {}, mapped, test::fast_code_run(10)).passed, 1);
  EXPECT_EQ(run_code_tests(wrong, {}, mapped, test::fast_code_run(10)).passed, 0);
  // What the tests add to TestCase stays; pytest's module argument is the tests' globals.
  const std::string extended =
      "import unittest\ndef _approx(self, a, b):\n    self.assertTrue(abs(a - b) < 1e-9)\n"
      "unittest.TestCase.assertApprox = _approx\nclass T(unittest.TestCase):\n    def test_a(self):\n"
      "        self.assertApprox(f(1), 2)\n";
  EXPECT_EQ(run_code_tests(right, {}, extended, test::fast_code_run(10)).passed, 1);
  const std::string module_arg =
      "def setup_module(module):\n    module.CASES = [(1, 2), (2, 3)]\ndef test_cases_pass():\n"
      "    for a, w in CASES:\n        assert f(a) == w\n";
  EXPECT_EQ(run_code_tests(right, {}, module_arg, test::fast_code_run(10)).passed, 1);
  // Which test failed, and how, is the detail (the logs' note); it said "wrong output".
  const auto failed = run_code_tests(wrong, {}, "assert f(1) == 2\n", test::fast_code_run(10));
  EXPECT_EQ(failed.detail, "test 1 failed: AssertionError:") << failed.detail;
  // A TestCase subclass of the text's own base class is collected too.
  const std::string based =
      "import unittest\nclass Base(unittest.TestCase):\n    pass\nclass AddTests(Base):\n"
      "    def test_a(self):\n        self.assertEqual(f(1), 2)\n";
  EXPECT_EQ(run_code_tests(right, {}, based, test::fast_code_run(10)).passed, 1);
  EXPECT_EQ(run_code_tests(wrong, {}, based, test::fast_code_run(10)).passed, 0);
  // A tested function that replaces the test classes' other methods on its first call.
  const std::string replacer =
      "def f(x):\n    for c in object.__subclasses__():\n        if c.__name__ == 'TestF':\n"
      "            for k in list(vars(c)):\n                if k.startswith('test'):\n"
      "                    setattr(c, k, lambda self: None)\n    return None\n";
  EXPECT_EQ(run_code_tests(replacer, {}, pytest_class, test::fast_code_run(10)).passed, 0);
  for (const std::string& hack :
       {std::string("import unittest\ndef f(x):\n    raise unittest.SkipTest('no')\n"),
        std::string("from unittest.case import _ShouldStop\ndef f(x):\n    raise _ShouldStop\n"),
        std::string(
            "import unittest\nunittest.case._addError = lambda *a: None\ndef f(x):\n    return None\n"),
        std::string("import unittest\nclass _T(unittest.TestCase):\n    def assertEqual(self, *a, **k):\n"
                    "        pass\nunittest.TestCase = _T\ndef f(x):\n    return None\n"),
        std::string("import unittest\nunittest.TestCase.assertEqual = lambda *a, **k: None\n"
                    "def f(x):\n    return None\n"),
        std::string("import unittest\nunittest.TestResult.wasSuccessful = lambda self: True\n"
                    "def f(x):\n    return None\n"),
        // Patching the tests' own classes, found through TestCase.__subclasses__(), on the first call.
        std::string("def f(x):\n    import unittest\n    for c in unittest.TestCase.__subclasses__():\n"
                    "        c.assertEqual = lambda *a, **k: None\n    return None\n"),
        // A setUpModule of the solution's own is no fixture of the tests.
        std::string(
            "import unittest\ndef setUpModule():\n    unittest.TestCase.assertEqual = lambda *a, **k: None\n"
            "def f(x):\n    return None\n"),
        // Patching on the first call, inside a test, or the assertion's code.
        std::string(
            "def f(x):\n    import unittest\n    unittest.TestCase.assertEqual = lambda *a, **k: None\n"
            "    return None\n"),
        std::string(
            "def f(x):\n    import unittest\n"
            "    unittest.TestCase.assertEqual.__code__ = (lambda self, a, b, msg=None: None).__code__\n"
            "    return None\n")}) {
    const auto r = run_code_tests(hack, {}, unit, test::fast_code_run(10));
    EXPECT_EQ(r.passed, 0) << hack << r.detail;
    EXPECT_EQ(r.total, 2) << hack;
  }
  // A text that defines and runs nothing passes nothing (the start-up check refuses it: below).
  const auto idle = run_code_tests(right, {}, "def check(candidate):\n    assert candidate(1) == 2\n",
                                   test::fast_code_run(10));
  EXPECT_EQ(idle.passed, 0) << idle.detail;
  EXPECT_NE(idle.detail.find("run nothing"), std::string::npos) << idle.detail;
}

// The harness's own report lines shared the program's output limit: under max_output_bytes 150 a correct
// solution of 3 asserts scored 2/3, under 60 nothing. A flood of the program's own is still cut.
TEST(CodeRunReview, TheHarnessReportsDoNotCountAsTheProgramsOutput) {
  REQUIRE_ISOLATION();
  const std::string tests = "assert f(1) == 2\nassert f(2) == 3\nassert f(3) == 4\n";
  for (const size_t limit : {1, 60, 150}) {
    auto o = test::fast_code_run(10);
    o.limits.max_output_bytes = limit;
    const auto r = run_code_tests("def f(x):\n    return x + 1\n", {}, tests, o);
    EXPECT_EQ(r.passed, 3) << limit << ": " << r.detail;
    EXPECT_EQ(r.total, 3) << limit;
  }
  auto o = test::fast_code_run(10);
  o.limits.max_output_bytes = 150;
  const auto flood = run_code_tests("print('x' * 100000)\ndef f(x):\n    return x + 1\n", {}, tests, o);
  EXPECT_EQ(flood.passed, 0) << flood.detail;
  EXPECT_EQ(flood.detail, "output limit");
  // The room set aside counts bytes: failure messages cut to 120 characters, in CJK 3 bytes each, filled it
  // before a later test's line (ten failing tests with such a message, then a passing one, scored 0/11).
  std::string cjk;
  for (int i = 0; i < 10; ++i)
    cjk += fmt::format("assert f({}) == '\u65e5\u672c\u8a9e' * 50, '\u65e5\u672c\u8a9e' * 50\n", i);
  o.limits.max_output_bytes = 100;
  const auto wide = run_code_tests("def f(x):\n    return x + 1\n", {}, cjk + "assert f(1) == 2\n", o);
  EXPECT_EQ(wide.total, 11) << wide.detail;
  EXPECT_EQ(wide.passed, 1) << wide.detail;
}

// A solution that starts with a byte-order mark runs under `python3 solution.py` (stdin/stdout tests) but
// failed every assert test: the harness compiled it from text, where U+FEFF is a syntax error.
TEST(CodeRunReview, ASolutionWithAByteOrderMarkRunsUnderAssertsToo) {
  REQUIRE_ISOLATION();
  const std::string bom = "\xEF\xBB\xBF", f = "def f(x):\n    return x + 1\n";
  EXPECT_EQ(run_code_tests(bom + f, {}, "assert f(1) == 2\n", test::fast_code_run(10)).passed, 1);
  EXPECT_EQ(
      run_code_tests(bom + f + "print(f(int(input())))\n", {{"1\n", "2\n"}}, "", test::fast_code_run(10))
          .passed,
      1);
  // A coding line is honoured too, as by `python3 solution.py`.
  EXPECT_EQ(run_code_tests("# -*- coding: latin-1 -*-\ndef f(x):\n    return '\xE9' * x\n", {},
                           "assert f(2) == '\u00e9\u00e9'\n", test::fast_code_run(10))
                .passed,
            1);
}

// A program that exits without reading all of a large input made the parent's write to its stdin pipe
// raise SIGPIPE, which killed the trainer (here: this test process).
TEST(CodeRunReview, AProgramThatLeavesInputUnreadDoesNotKillTheCaller) {
  REQUIRE_ISOLATION();
  std::string big = std::string(200000, 'a') + "\n" + std::string(400000, 'b') + "\n";
  auto r = run_code_tests("print(len(input()))", {{big, "200000"}, {big, "1"}}, "", test::fast_code_run(3));
  EXPECT_EQ(r.passed, 1) << r.detail;
  EXPECT_EQ(r.total, 2);
}

TEST(CodeRewardReview, NoCodeScoresZeroAndMathsIsNaN) {
  REQUIRE_ISOLATION();
  auto reward = make_reward("code", {{"cpu_seconds", 1}, {"wall_seconds", 2}});
  Problem p;
  p.tests = {{"", "1"}};
  EXPECT_EQ(reward->score({&p, "print(1)"}), 0.0);
  EXPECT_EQ(reward->score({&p, "```python\n```"}), 0.0);
  EXPECT_EQ(reward->score({&p, "ok:\n  ```python\n  print(1)\n  ```"}), 1.0);
}

// Assert tests that Python cannot compile scored every completion 0, the right ones too, without a word:
// the problems are checked before any completion is scored, and the first broken one is named.
TEST(CodeRewardReview, TestsThatDoNotCompileAreAnError) {
  REQUIRE_ISOLATION();
  auto reward = make_reward("code", {{"cpu_seconds", 1}, {"wall_seconds", 2}});
  const auto problem = [](std::string id, std::string asserts) {
    Problem p;
    p.id = std::move(id);
    p.asserts = std::move(asserts);
    return p;
  };
  Problem io;  // stdin/stdout tests: nothing to compile
  io.id = "io";
  io.tests = {{"", "1"}};
  // The harness compiles each statement alone: a __future__ import after another import runs there.
  std::vector<Problem> good = {
      io, problem("a", "assert f(3) == 6\n"), problem("b", "def check(c):\n    assert c(1) == 2\ncheck(f)\n"),
      problem("c", "import math\nfrom __future__ import annotations\nassert f(1) == 1\n")};
  EXPECT_NO_THROW(reward->check_problems(good));
  for (const auto& [asserts, says] :
       {std::pair<std::string, std::string>{"assert f(3) == 6\nassert f(1) ==",
                                            "invalid syntax (tests.py, line 2)"},
        {"  assert f(3) == 6\n", "unexpected indent"},
        {"return 1\n", "'return' outside function"},
        {std::string("assert 1\0\n", 10), "null"}}) {
    std::vector<Problem> ps = good;
    ps.push_back(problem("data.jsonl:7", asserts));
    ps.push_back(problem("data.jsonl:9", "assert (\n"));
    const std::string e = test::error_of([&] { reward->check_problems(ps); });
    EXPECT_NE(e.find("problem data.jsonl:7: its tests are not valid Python ("), std::string::npos) << e;
    EXPECT_NE(e.find(says), std::string::npos) << e;
  }
  // Tests that only define (and import, and document) run nothing, so every completion would pass them;
  // pytest-style test functions and test classes are tests.
  for (const std::string idle :
       {"def check(candidate):\n    assert candidate(1) == 2\n", "# just a comment\n",
        // HumanEval's test text without the check(entry_point) its harness appends.
        "METADATA = {'author': 'jt', 'dataset': 'test'}\n\ndef check(candidate):\n    assert candidate(1) == "
        "2\n",
        "def test_cases():\n    return [1, 2]\n", "def test_1():\n    return f(1) == 2\n",
        "CASES = list(range(3))\nMETADATA = dict(a=1)\ndef check():\n    assert f(1) == 2\n",
        "import math\n\"\"\"doc\"\"\"\ndef test_needs(x):\n    assert f(x)\nclass Helper:\n    def "
        "test(self):\n"
        "        assert f(1)\n"}) {
    std::vector<Problem> ps = good;
    ps.push_back(problem("data.jsonl:3", idle));
    const std::string e = test::error_of([&] { reward->check_problems(ps); });
    EXPECT_NE(e.find("problem data.jsonl:3: its tests only define functions or classes (and constants) and "
                     "run none of them, "
                     "so every solution, a wrong one too, would pass them"),
              std::string::npos)
        << idle << e;
  }
  // Tests whose every assert sits in a try that takes its AssertionError and goes on pass every solution, a
  // wrong one too; so do nose's yield tests (calling a generator function runs none of it).
  for (const std::string blind :
       {"try:\n    assert f(1) == 2\n    print('ok')\nexcept AssertionError:\n    print('failed')\n",
        "def test_one():\n    try:\n        assert f(1) == 2\n    except Exception as e:\n        print(e)\n",
        "for x in [1, 2]:\n    try:\n        assert f(x) == 2 * x\n    except (ValueError, AssertionError):\n"
        "        pass\n",
        // A text that is one test: its check(f) call in such a try.
        "def check(candidate):\n    assert candidate(1) == 2\n\ntry:\n    check(f)\n    print('all passed')\n"
        "except AssertionError:\n    print('some test failed')\n",
        // A raise the handler takes.
        "def test_f():\n    try:\n        if f(1) != 2:\n            raise AssertionError('f(1) wrong')\n"
        "        print('ok')\n    except AssertionError as e:\n        print('FAIL', e)\n",
        "try:\n    if f(1) != 2:\n        raise ValueError('f(1)')\n    assert f(2) == 4\nexcept Exception "
        "as e:\n"
        "    print('failed:', e)\n",
        // Printing or logging the failure, however, ignores it too.
        "def test_a():\n    try:\n        assert f(1) == 2\n    except AssertionError as e:\n"
        "        print('FAIL: ' + str(e), type(e).__name__)\n",
        "import traceback\ntry:\n    assert f(1) == 2\nexcept AssertionError:\n    "
        "traceback.print_exc()\n"}) {
    std::vector<Problem> ps = good;
    ps.push_back(problem("data.jsonl:5", blind));
    const std::string e = test::error_of([&] { reward->check_problems(ps); });
    EXPECT_NE(e.find("problem data.jsonl:5: each of its tests catches its own assertion failures"),
              std::string::npos)
        << blind << e;
  }
  // So do nose's yield tests, and unittest methods that yield.
  for (const std::string yielding :
       {"def check(x):\n    assert f(x) == 2\ndef test_f():\n    yield check, 1\n",
        "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        yield f(1) == 2\n"}) {
    std::vector<Problem> ps = good;
    ps.push_back(problem("data.jsonl:6", yielding));
    const std::string e = test::error_of([&] { reward->check_problems(ps); });
    EXPECT_NE(e.find("problem data.jsonl:6: its tests only define functions"), std::string::npos)
        << yielding << e;
  }
  // A handler that raises or exits, or another test that counts the failures, can fail.
  for (
      const std::string seeing :
      {"try:\n    assert f(1) == 2\nexcept AssertionError:\n    print('failed')\n    raise\n",
       "import sys\ntry:\n    assert f(1) == 2\nexcept AssertionError:\n    sys.exit(1)\n",
       "bad = 0\nfor x in [1, 2]:\n    try:\n        assert f(x) == 2 * x\n    except AssertionError:\n"
       "        bad += 1\nassert bad == 0\n",
       "try:\n    assert f(1) == 2\nexcept ValueError:\n    pass\n",
       // The first handler that takes the AssertionError is the one that runs.
       "for x, want in [(1, 2), (2, 4)]:\n    try:\n        assert f(x) == want\n    except AssertionError:\n"
       "        print('wrong', x)\n        raise\n    except Exception as e:\n        print('crashed', e)\n",
       "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        try:\n"
       "            assert f(1) == 2\n        except AssertionError:\n            self.fail('f(1)')\n",
       "def fail(m):\n    raise AssertionError(m)\ntry:\n    assert f(1) == 2\nexcept AssertionError:\n"
       "    fail('f(1)')\n",
       "def test_all():\n    bad = []\n    for x in [1, 2]:\n        try:\n            assert f(x) == 2 * x\n"
       "        except AssertionError:\n            bad.append(x)\n    if bad:\n        raise "
       "AssertionError(bad)\n",
       "def check(candidate):\n    assert candidate(1) == 2\n\ncheck(f)\n",
       // What the handler does not catch can fail the test: an exit, another exception.
       "import sys\ntry:\n    if f(1) != 2:\n        sys.exit(1)\nexcept Exception:\n    print('crashed')\n",
       "try:\n    if f(1) != 2:\n        raise ValueError('f(1)')\nexcept AssertionError:\n    "
       "print('failed')\n",
       // A helper of the text's own, named like a logger, that exits.
       "import sys\ndef error(msg):\n    print(msg)\n    sys.exit(1)\n\ndef test_add():\n    try:\n"
       "        assert f(1) == 2\n    except AssertionError:\n        error('f failed')\n"})
    EXPECT_NO_THROW(reward->check_problems(std::vector<Problem>{problem("s", seeing)})) << seeing;
  // Tests that import a module the sandbox's python3 cannot find (pytest, on a host without it) fail every
  // completion that way; they are named at start.
  {
    std::vector<Problem> ps = good;
    ps.push_back(problem("data.jsonl:4", "import no_such_module_here\nassert f(1) == 2\n"));
    const std::string e = test::error_of([&] { reward->check_problems(ps); });
    EXPECT_NE(e.find("problem data.jsonl:4: its tests import no_such_module_here, which /usr/bin/python3 "
                     "cannot import in the sandbox"),
              std::string::npos)
        << e;
  }
  EXPECT_NO_THROW(
      reward->check_problems(std::vector<Problem>{problem("m", "import __main__\nassert f(1) == 2\n")}));
  EXPECT_NO_THROW(reward->check_problems(std::vector<Problem>{
      problem("p", "def test_a():\n    assert f(1) == 2\n"),
      problem("u", "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        pass\n"),
      problem("x", "x = f(1)\n")}));
  // Past the first run's few MB of tests, the index still names the right problem.
  std::vector<Problem> many(3, problem("big", "assert f(1) == 1\n" + std::string(3 << 20, '#') + "\n"));
  many.push_back(problem("late", "assert ("));
  std::string e = test::error_of([&] { reward->check_problems(many); });
  EXPECT_NE(e.find("problem late: its tests are not valid Python"), std::string::npos) << e;
  // Other rewards have nothing to check.
  EXPECT_NO_THROW(make_reward("accuracy")->check_problems(many));
  // Tests that take longer to compile than a run may take fail every run too (40,000 asserts: over 1 s of
  // CPU, against a wall limit of 0.4 s; the CPU limit is whole seconds, so 0.1 CPU seconds allow 1). A wall
  // limit of 0.1 s failed the reward's start-up probe (Python starting in the sandbox) on a loaded machine.
  std::string slow_tests;
  for (int i = 0; i < 40000; ++i)
    slow_tests += "assert f(" + std::to_string(i) + ") == " + std::to_string(2 * i) + "\n";
  const std::vector<Problem> slow = {problem("slow", slow_tests)};
  e = test::error_of([&] { make_reward("code", {{"wall_seconds", 0.4}})->check_problems(slow); });
  EXPECT_NE(e.find("problem slow: its tests take "), std::string::npos) << e;
  EXPECT_NE(e.find("s of CPU just to compile, more than the 0.4 s a run may take"), std::string::npos) << e;
  EXPECT_NO_THROW(make_reward("code", {{"cpu_seconds", 60}, {"wall_seconds", 60}})->check_problems(slow));
}

// A stdin/stdout test whose expected output is more than a program may print (max_output_bytes) fails every
// completion with "output limit": it is named at start. What the line rule leaves out (trailing spaces and
// empty lines) does not count.
TEST(CodeRewardReview, ExpectedOutputBeyondTheOutputLimitIsAnError) {
  auto reward = make_reward("code", {{"max_output_bytes", 100}, {"require_isolation", false}});
  Problem p;
  p.id = "data.jsonl:2";
  p.tests = {{"", "1"}, {"", std::string(60, 'x') + "\n" + std::string(40, 'y') + "\n"}};
  const std::string e = test::error_of([&] { reward->check_problems(std::vector<Problem>{p}); });
  EXPECT_NE(
      e.find("problem data.jsonl:2: test 2's expected output takes at least 101 bytes, more than the code "
             "reward's max_output_bytes (100)"),
      std::string::npos)
      << e;
  p.tests[1].output = std::string(60, 'x') + "   \n" + std::string(39, 'y') + "\n\n\n";
  EXPECT_NO_THROW(reward->check_problems(std::vector<Problem>{p}));
  EXPECT_EQ(least_matching_output_bytes(" a \n\nb\t\n\n"), 4u);
  EXPECT_EQ(least_matching_output_bytes(""), 0u);
}

}  // namespace
}  // namespace seek::reward
