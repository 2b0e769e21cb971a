// Running code tests in the sandbox (see code_runner.hpp).
#include "reward/code_runner.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <random>
#include <set>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "reward/answer_extract.hpp"

namespace seek::reward {

namespace {

std::vector<std::string> normalized_lines(std::string_view s) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t nl = s.find('\n', pos);
    std::string_view line = s.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    lines.push_back(trim_copy(line));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// `bytes` random bytes as hex, from the kernel's random source, never from a seeded generator: what the
// program must not guess.
std::string random_hex(size_t bytes) {
  std::vector<unsigned char> b(bytes);
  size_t got = 0;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  while (fd >= 0 && got < bytes) {
    const ssize_t n = read(fd, b.data() + got, bytes - got);
    if (n > 0)
      got += size_t(n);
    else if (!(n < 0 && errno == EINTR))
      break;
  }
  if (fd >= 0) close(fd);
  if (got < bytes) {
    std::random_device rd;
    for (auto& x : b) x = static_cast<unsigned char>(rd());
  }
  std::string s;
  s.reserve(2 * bytes);
  for (unsigned char x : b) s += fmt::format("{:02x}", x);
  return s;
}

// The mark of the harness's lines on stdout.
std::string make_nonce() {
  return "SEEK" + random_hex(16);
}

// What a pass line carries besides the nonce: a secret of its test's own (kSecretBytes random bytes), one
// per test the text can hold (max_harness_tests). The nonce cannot stand alone: a solution can take stdout
// over (dup2 a pipe of its own onto fd 1, keeping a copy of the real one), read the nonce from the next line
// the harness writes and forge "pass" lines for every test (a wrong solution scored 1 every time). A line it
// intercepts now gives it that line's secret only, which it could have earned.
constexpr size_t kSecretBytes = 8;

// At most the tests a text holds: a test is an assert statement, or a def (a test function or method), so
// the words' counts bound them.
size_t max_harness_tests(std::string_view tests) {
  size_t words = 0;
  for (const std::string_view word : {"assert", "def"})
    for (size_t at = tests.find(word); at != std::string_view::npos; at = tests.find(word, at + 1)) ++words;
  return words + 1;
}

// The assert harness. The nonce, the tests' secrets and then the tests arrive on stdin (not argv, the
// environment or a file in /src, which the solution could open and read the expected values from), and live
// only in a function's locals; the tests are compiled, and exec/os.write captured, before the solution runs,
// so replacing builtins, sys.stdout or the ast module afterwards cannot forge or hide results. Before the
// solution runs, an audit hook refuses the introspection that finds the compiled tests in one line (the
// garbage collector's object lists, which reached the expected values through co_consts), trace and profile
// functions, more audit hooks and ctypes; and the tests run in a copy of the solution's globals without the
// names that shadow builtins (a solution's `abs = lambda x: 0` passed `assert abs(f(2) - 1.414) < 1e-3`). (A
// deliberately hostile program can still walk the interpreter's frames, patch a shared module such as math,
// or return objects whose __eq__ is always true; this guards against the cheap hacks, not against an
// adversary that targets the harness.) What a test text's tests are, read from its syntax tree alone (the
// harness and the start-up check share it): each top-level statement that is or contains an assert (not in a
// def or class); then, as pytest and unittest collect them, each top-level function named test* that needs no
// argument, returns no value (a test* helper that returns cases or a verdict is no test) and is not called by
// the text itself (a non-idempotent test run twice failed), each test* method of a unittest class (based on a
// *TestCase class, or on such a class of the text), and each test* method of a pytest class (named Test*)
// that returns no value; each as (index of its defining statement, name, method or None, kind: 'f' function,
// 'u' unittest, 'p' pytest class). Then the module-level fixtures the text defines, and whether it runs
// nothing: a text that only defines, imports and assigns constants (builtins' calls included, list(range(3)))
// runs none of what it defines, and such tests passed every solution, a wrong one too (a pytest file,
// HumanEval's METADATA and check() never called).
constexpr std::string_view kTestPlan = R"PY(def _plan(tree):
    import ast, builtins
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    def has(node, kinds):
        return any(isinstance(y, kinds) for y in ast.walk(node))
    asserting = [not isinstance(x, defs) and has(x, ast.Assert) for x in tree.body]
    def base(b):
        return b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else ''
    def bare(f):
        a = f.args
        return (len(a.posonlyargs) + len(a.args) <= len(a.defaults) and
                all(d is not None for d in a.kw_defaults))
    def has_own(f, found):  # in f's own body, not in a function or class it defines
        nodes = list(f.body)
        while nodes:
            y = nodes.pop()
            if found(y):
                return True
            if not isinstance(y, defs + (ast.Lambda,)):
                nodes.extend(ast.iter_child_nodes(y))
        return False
    def yields(f):  # calling a generator function runs none of its body
        return has_own(f, lambda y: isinstance(y, (ast.Yield, ast.YieldFrom)))
    def returns_value(f):  # or yields
        return yields(f) or has_own(f, lambda y: isinstance(y, ast.Return) and y.value is not None)
    # What a handler may call and still ignore a failure: print, or the logging and traceback modules'
    # printers and sys.stderr/stdout's write (not a function of the text's own named like one: it may exit).
    def reporting(call):
        f = call.func
        if isinstance(f, ast.Name):
            return f.id == 'print'
        if not isinstance(f, ast.Attribute):
            return False
        owner = f.value.id if isinstance(f.value, ast.Name) else (
            f.value.attr if isinstance(f.value, ast.Attribute) else '')
        return ((owner == 'traceback' and f.attr in ('print_exc', 'print_exception')) or
                (owner in ('stderr', 'stdout') and f.attr == 'write') or
                (owner in ('logging', 'logger', 'log') and
                 f.attr in ('debug', 'info', 'warning', 'error', 'exception', 'critical')))
    # The handler of a try that ignores a failed assert: the first of its handlers that takes an
    # AssertionError (the one Python runs), if it only prints, passes or continues; else None.
    def ignoring_handler(t):
        for h in t.handlers:
            names = h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]
            if any(n is None or base(n) in ('AssertionError', 'Exception', 'BaseException') for n in names):
                quiet = all(isinstance(y, (ast.Pass, ast.Continue)) or
                            (isinstance(y, ast.Expr) and (isinstance(y.value, ast.Constant) or
                                                          (isinstance(y.value, ast.Call) and reporting(y.value))))
                            for y in h.body)
                return h if quiet else None
        return None
    # Whether statements are a test that a wrong answer never fails: each of their asserts and calls (print
    # aside) sits in the body of such a try, as does each raise the handler takes, and nothing exits. (Any
    # other check, a self.fail(), an assert after a loop that counts failures, a sys.exit(1), can fail it.)
    def blind(body):
        ignored, broad = set(), set()
        for x in body:
            for y in ast.walk(x):
                h = ignoring_handler(y) if isinstance(y, ast.Try) else None
                if h is not None:
                    inside = [z for b in y.body for z in ast.walk(b)]
                    ignored.update(id(z) for z in inside)
                    ignored.update(id(z) for b in h.body for z in ast.walk(b))
                    names = h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]
                    if any(n is None or base(n) in ('Exception', 'BaseException') for n in names):
                        broad.update(id(z) for z in inside)
        checks = 0
        for x in body:
            for y in ast.walk(x):
                if isinstance(y, ast.Call) and base(y.func) in ('exit', 'quit', '_exit', 'abort'):
                    return False
                if isinstance(y, ast.Raise):
                    raised = y.exc.func if isinstance(y.exc, ast.Call) else y.exc
                    if id(y) not in broad and not (id(y) in ignored and raised is not None and
                                                   base(raised) == 'AssertionError'):
                        return False
                elif isinstance(y, ast.Assert) or (isinstance(y, ast.Call) and not reporting(y)):
                    if id(y) not in ignored:
                        return False
                    checks += 1
        return checks > 0
    top = [x for x in tree.body if not isinstance(x, defs)]
    calls, units = [], set()
    for at, x in enumerate(tree.body):
        if (isinstance(x, ast.FunctionDef) and x.name.startswith('test') and bare(x) and
                not returns_value(x)):
            calls.append((at, x.name, None, 'f'))
        elif isinstance(x, ast.ClassDef):
            unit = any(base(b).endswith('TestCase') or base(b) in units for b in x.bases)
            if unit:
                units.add(x.name)
            if unit or x.name.startswith('Test'):
                calls += [(at, x.name, y.name, 'u' if unit else 'p') for y in x.body
                          if isinstance(y, ast.FunctionDef) and y.name.startswith('test') and
                          ((unit and not yields(y)) or not returns_value(y))]
    fixtures = [(at, x.name) for at, x in enumerate(tree.body) if isinstance(x, ast.FunctionDef) and
                x.name in ('setUpModule', 'tearDownModule', 'setup_module', 'teardown_module',
                           'setup_function', 'teardown_function')]
    plain = set(dir(builtins))
    own = {x.name for x in tree.body if isinstance(x, defs)}
    def runs(x):
        return any(isinstance(y, (ast.Assert, ast.Raise)) or
                   (isinstance(y, ast.Call) and
                    (not (isinstance(y.func, ast.Name) and y.func.id in plain) or
                     any(isinstance(n, ast.Name) and n.id in own for n in ast.walk(y))))
                   for y in ast.walk(x))
    runs_nothing = not any(asserting) and not calls and not any(runs(x) for x in top)
    # The tests' bodies: a statement with asserts, a test function's or method's; a text without either is
    # one test, its top-level statements.
    bodies = [[x] for x, a in zip(tree.body, asserting) if a]
    for at, name, method, kind in calls:
        f = tree.body[at]
        bodies += [f.body] if method is None else [y.body for y in f.body if getattr(y, 'name', None) == method]
    all_blind = all(blind(b) for b in bodies) if bodies else not runs_nothing and blind(top)
    return asserting, calls, fixtures, runs_nothing, all_blind
)PY";

// Why a text whose plan runs nothing is refused.
constexpr std::string_view kRunsNothing =
    "its tests only define functions or classes (and constants) and run none of them, so every solution, a "
    "wrong one too, would pass them (call what they define, e.g. check(f); a test* function that takes "
    "arguments, returns a value or yields is a helper, not a test)";

// Why a text whose every test catches its own assertion failures is refused.
constexpr std::string_view kAllBlind =
    "each of its tests catches its own assertion failures (its asserts and calls sit in a try whose except "
    "for AssertionError only prints or passes), so every solution, a wrong one too, would pass them "
    "(re-raise in the except, or leave the try out)";

constexpr std::string_view kHarness = R"PY(def _main():
    import sys, os, ast
    nonce = sys.stdin.buffer.readline().decode().strip()
    secrets = sys.stdin.buffer.readline().decode().split()  # test i's pass line carries secrets[i]
    source = sys.stdin.buffer.read()
    write, run, exit_now, getpid = os.write, exec, os._exit, os.getpid
    # Text cut to n bytes of UTF-8, as the output room set aside for the harness's lines counts them (cut to
    # n characters, a message in CJK took 3 times the room, and filled the limit before later tests' lines).
    def cut(text, n):
        return text.encode('utf-8', 'replace')[:n].decode('utf-8', 'ignore')
    attributes_of, set_attribute, remove_attribute = vars, setattr, delattr
    me = getpid()
    try:
        tree = ast.parse(source, 'tests.py')
    except SyntaxError as e:
        write(1, ('\n%s error tests-syntax %s\n' % (nonce, cut(str(e), 200))).encode())
        exit_now(0)
    asserting, calls, fixtures, runs_nothing = _plan(tree)[:4]
    stmts = [(compile(ast.Module(body=[x], type_ignores=[]), 'tests.py', 'exec'), a)
             for x, a in zip(tree.body, asserting)]
    # Statements that are no test but call something (a check(f) beside bare asserts): the tests count only
    # if the harness gets past them (below), which the report says first.
    checking = [not a and not isinstance(x, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and
                any(isinstance(y, ast.Call) for y in ast.walk(x)) for x, a in zip(tree.body, asserting)]
    # For a statement that is no test: its line, and whether it starts a test runner (unittest.main(), which
    # finds nothing to run, as the harness runs the tests, and exits).
    lines = [x.lineno for x in tree.body]
    # Runners: unittest's, pytest's and doctest's mains, and cProfile (doctest and profilers set trace and
    # profile functions, which the audit hook refuses), by any name the text imports them under.
    runner_modules = ('unittest', 'pytest', 'doctest', 'cProfile', 'profile')
    module_names, function_names = set(runner_modules), set()
    for y in ast.walk(tree):
        if isinstance(y, ast.Import):
            module_names.update(a.asname or a.name for a in y.names if a.name in runner_modules)
        elif isinstance(y, ast.ImportFrom) and y.module in runner_modules:
            function_names.update(a.asname or a.name for a in y.names)
    def starts_runner(y):
        return isinstance(y, ast.Call) and (
            (isinstance(y.func, ast.Attribute) and isinstance(y.func.value, ast.Name) and
             y.func.value.id in module_names) or
            (isinstance(y.func, ast.Name) and y.func.id in function_names))
    runners = [any(starts_runner(y) for y in ast.walk(x)) for x in tree.body]
    checks_outside = sum(1 for c, r in zip(checking, runners) if c and not r)
    # unittest's TestCase, taken (and its attributes noted) before the solution runs. The harness runs
    # TestCase tests itself: a unittest.main() in the tests looks for them in the harness's module, finds none
    # and exits, a failed statement that is no test.
    unittest = None
    if any(c[3] == 'u' for c in calls) or b'unittest' in source:
        import unittest
        test_case = unittest.TestCase
        test_case_attributes = dict(vars(test_case))
        # Copies of its functions, which a patch of theirs (assertEqual.__code__ = ...) does not reach.
        def copy_function(f):
            g = type(f)(f.__code__, f.__globals__, f.__name__, f.__defaults__, f.__closure__)
            g.__kwdefaults__, g.__qualname__ = f.__kwdefaults__, f.__qualname__
            g.__dict__.update(f.__dict__)
            return g
        test_case_copies = {k: copy_function(v) for k, v in test_case_attributes.items()
                            if type(v) is type(_main)}
    from inspect import signature
    # The names the tests read from the solution, for judging which of its names they test (below): global
    # names they read and do not bind at module level themselves (a solution's x = 0 is not what
    # "x = max(2, 3)" tests; a check(candidate) function's parameter is its own), or imported from it.
    imported, imports_all = set(), False
    for x in ast.walk(tree):
        if isinstance(x, ast.ImportFrom) and x.module == 'solution':
            imports_all = imports_all or any(a.name == '*' for a in x.names)
            imported.update(a.name for a in x.names)
        elif isinstance(x, ast.Import):
            imports_all = imports_all or any(a.name == 'solution' for a in x.names)
    import symtable
    top = symtable.symtable(source.decode('utf-8', 'replace'), 'tests.py', 'exec')
    bound = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    loaded = {s.get_name() for s in top.get_symbols() if s.is_referenced()}
    scopes = list(top.get_children())
    while scopes:
        t = scopes.pop()
        loaded.update(s.get_name() for s in t.get_symbols() if s.is_referenced() and s.is_global())
        scopes.extend(t.get_children())
    del source, tree
    n_tests = sum(1 for _, a in stmts if a) + len(calls)
    write(1, ('\n%s total %d\n' % (nonce, n_tests if n_tests else 1)).encode())
    if n_tests and checks_outside:
        write(1, ('\n%s checks-outside %d\n' % (nonce, checks_outside)).encode())
    if runs_nothing:
        write(1, ('\n%s error tests-run-nothing the tests define but run nothing\n' % nonce).encode())
        exit_now(0)
    # A real module in sys.modules: dataclasses with postponed annotations, pickle and
    # "from solution import f" in the tests look the solution up there.
    mod = type(sys)('solution')
    mod.__file__ = '/src/solution.py'
    sys.modules['solution'] = mod
    g = mod.__dict__
    g['__builtins__'] = real_builtins = __builtins__
    # As bytes, as `python3 solution.py` reads it: a byte-order mark or a coding line is honoured.
    with open('/src/solution.py', 'rb') as f:
        solution_code = compile(f.read(), 'solution.py', 'exec')
    blocked = frozenset(('gc.get_objects', 'gc.get_referrers', 'gc.get_referents', 'sys.settrace',
                         'sys.setprofile', 'sys._current_frames', 'sys.addaudithook'))
    def audit(event, args):
        if event in blocked:
            raise RuntimeError(event + ' is not available to solutions')
        # ctypes reads and writes the harness's memory (_ctypes too, without a dlopen). An ImportError, which
        # a library that imports ctypes if it can (numpy) takes as its absence.
        if event == 'ctypes.dlopen' or (event == 'import' and args[0] in ('_ctypes', 'ctypes')):
            raise ImportError('ctypes is not available to solutions')
    sys.addaudithook(audit)
    # Results count from this process alone: a solution that forks ran the tests once per process, each
    # with another answer, and the union of their passes scored a wrong solution 1. A copy that comes back
    # into the harness ends here, before it writes.
    def report(text):
        if getpid() != me:
            exit_now(0)
        write(1, text.encode('utf-8', 'replace'))
    try:
        run(solution_code, g)
    except BaseException as e:
        report('\n%s error solution %s\n' % (nonce, cut(str.__str__(type(e).__name__), 100)))
        exit_now(0)
    if getpid() != me:
        exit_now(0)
    builtin_names = set(real_builtins) if isinstance(real_builtins, dict) else set(dir(real_builtins))
    mine = {k for k, v in g.items() if not k.startswith('__') and type(v) is not type(sys)}
    used = mine if imports_all else mine & ((loaded - bound) | imported)
    if not used:
        report('\n%s error tests-unused the tests use no name the solution defines\n' % nonce)
        exit_now(0)
    # A solution's name that shadows a builtin (abs = lambda x: 0) is hidden from tests that test other
    # names of it (assert abs(f(2) - 1.414) < 1e-3 then uses the real abs). Where the tests use one such
    # name alone, it is what they test (def max(a, b) under assert max(2, 3) == 3) and the others stay
    # hidden; several leave unclear which is tested and which a helper the solution replaced.
    shadowing = {k for k in mine if k in builtin_names}
    if used - builtin_names:
        hide = shadowing
    elif len(used) == 1:
        hide = shadowing - used
    else:
        report('\n%s error tests-ambiguous the tests use only names of the solution that shadow builtins '
               '(%s): which is tested is unclear\n' % (nonce, cut(', '.join(sorted(used)), 200)))
        exit_now(0)
    tg = {k: v for k, v in g.items() if k not in hide}
    tg['__builtins__'] = real_builtins  # a solution's own __builtins__ = {...} is not the tests' builtins
    # The tests are the program run: their `if __name__ == '__main__':` block runs (check(f) under it was
    # never called, and a wrong solution passed).
    tg['__name__'] = '__main__'
    # unittest's TestCase as it was, before each test: a solution's `unittest.TestCase.assertEqual =
    # lambda *a: None`, at import or in an earlier test, passed every TestCase test.
    # (What the tests themselves add to it, an assertApprox, stays: additions go only before they run.)
    # A class's attributes put back as `made` holds them, and with additions_too what it lacks removed.
    def put_back(obj, made, additions_too):
        for k in [k for k in attributes_of(obj) if additions_too and k not in made]:
            try:
                remove_attribute(obj, k)
            except Exception:
                pass
        for k, v in made.items():
            if attributes_of(obj).get(k) is not v:
                try:
                    set_attribute(obj, k, v)
                except Exception:
                    pass
    def restore_test_case(additions_too=False):
        if unittest is None:
            return
        sys.modules['unittest'] = unittest
        unittest.TestCase = test_case
        put_back(test_case, test_case_attributes, additions_too)
    # Each test function or method, and each module fixture, as its defining statement left it (code
    # included): a tested function that replaced the test classes' other methods, or their code, passed them;
    # a setUpModule of the solution's own ran as the tests' fixture.
    defined, fixture, classes, outcome = {}, {}, {}, {}
    # A test function the text calls itself (under its __main__ guard, in a try that prints the failure) is
    # judged by that call, and not run a second time (a test that is not idempotent failed then): its name in
    # the tests' globals records how each call ended.
    def recording(c, fn):
        def recorded(*args, **kwargs):
            try:
                result = fn(*args, **kwargs)
            except BaseException:
                outcome[c] = False
                raise
            outcome.setdefault(c, True)
            return result
        recorded.__name__, recorded.__qualname__, recorded.__wrapped__ = fn.__name__, fn.__qualname__, fn
        return recorded
    # A test class as its definition made it, before each of its tests: a tested function that set
    # cls.assertEqual = <no-op> on the tests' classes (found through __subclasses__()) passed the later tests.
    # (What set-up methods add, they add again.)
    def restore_class(obj):
        if obj in classes:
            put_back(obj, classes[obj], True)
    # pytest's module argument: the tests' globals.
    class TestsModule:
        def __getattr__(self, k):
            try:
                return tg[k]
            except KeyError:
                raise AttributeError(k)
        def __setattr__(self, k, v):
            tg[k] = v
    def note_definitions(at):
        for c in calls:
            if c[0] == at:
                obj = tg.get(c[1])
                fn = attributes_of(obj).get(c[2]) if c[2] is not None else obj
                defined[c] = (obj, fn, getattr(fn, '__code__', None))
                if c[2] is not None and obj not in classes:
                    classes[obj] = dict(attributes_of(obj))
                if c[3] == 'f':
                    tg[c[1]] = recording(c, fn)
        for a, name in fixtures:
            if a == at:
                fixture[name] = tg.get(name)
    # pytest's xunit fixtures take their argument (the module, class or method) optionally.
    def with_argument(f, argument):
        try:
            takes = len(signature(f).parameters) > 0
        except (TypeError, ValueError):
            takes = False
        return f(argument) if takes else f()
    # A test runs as its framework runs it, its fixtures around it, but called by the harness: unittest's own
    # runner records an exception it swallows (SkipTest, its private _ShouldStop) as a pass, and a solution
    # that raised one passed every TestCase test. A skipped test, or an expected failure, passes nothing.
    def call(c):
        obj, fn, code = defined[c]
        if code is not None and fn.__code__ is not code:
            fn.__code__ = code
        restore_test_case()
        if c[3] == 'f':
            if callable(fixture.get('setup_function')):
                with_argument(fixture['setup_function'], fn)
            try:
                fn()
            finally:
                if callable(fixture.get('teardown_function')):
                    with_argument(fixture['teardown_function'], fn)
            return
        unit = c[3] == 'u'
        restore_class(obj)
        instance = obj(c[2]) if unit else obj()
        if unit:
            # TestCase's own attributes, bound to the instance as they were (its functions as copies): a
            # tested function that patched unittest.TestCase.assertEqual, or its code, on its first call passed
            # the test it was called in.
            for k, v in test_case_attributes.items():
                if not k.startswith('__') and next(
                        (kl for kl in type(instance).__mro__ if k in attributes_of(kl)), None) is test_case:
                    v = test_case_copies.get(k, v)
                    attributes_of(instance)[k] = v.__get__(instance, obj) if hasattr(type(v), '__get__') else v
        method = fn.__get__(instance, obj)
        set_up_class = getattr(obj, 'setUpClass' if unit else 'setup_class', None)
        tear_down_class = getattr(obj, 'tearDownClass' if unit else 'teardown_class', None)
        if set_up_class is not None:
            set_up_class() if unit else with_argument(set_up_class, obj)
        try:
            if unit:
                instance.setUp()
                try:
                    method()
                finally:
                    instance.tearDown()
                if not instance.doCleanups():
                    raise AssertionError(c[2])
            else:
                set_up = getattr(instance, 'setup_method', None)
                tear_down = getattr(instance, 'teardown_method', None)
                if set_up is not None:
                    with_argument(set_up, method)
                try:
                    method()
                finally:
                    if tear_down is not None:
                        with_argument(tear_down, method)
        finally:
            if tear_down_class is not None:
                tear_down_class() if unit else with_argument(tear_down_class, obj)
    # The module fixtures the tests define, once around their tests: unittest's around the TestCase tests,
    # pytest's around the others (a failed set-up fails them all).
    groups = [([c for c in calls if c[3] == 'u'], 'setUpModule', 'tearDownModule'),
              ([c for c in calls if c[3] != 'u'], 'setup_module', 'teardown_module')]
    failed_set_up = set()
    restore_test_case(True)  # before the tests' classes are made from it, too
    i, all_ok, first_why, setup_failed = 0, True, None, None
    for at, (code, is_assert) in enumerate(stmts + [(c, True) for c in calls]):
        failed_tests = sum(1 for v in outcome.values() if not v)
        try:
            if isinstance(code, tuple):
                for members, set_up, tear_down in groups:
                    if members and code == members[0] and callable(fixture.get(set_up)):
                        try:
                            restore_test_case()
                            with_argument(fixture[set_up], TestsModule())
                        except BaseException:
                            failed_set_up.add(set_up)
                    if code in members and set_up in failed_set_up:
                        raise AssertionError(set_up)
                try:
                    if code in outcome:
                        if not outcome[code]:
                            raise AssertionError(code[1])
                    else:
                        call(code)
                finally:
                    for members, set_up, tear_down in groups:
                        if (members and code == members[-1] and set_up not in failed_set_up and
                                callable(fixture.get(tear_down))):
                            with_argument(fixture[tear_down], TestsModule())
            else:
                # Marked, so that a process that dies within it (an os._exit, a kill, the time limit in
                # the solution's code) fails the tests as a raise does.
                if n_tests and not is_assert:
                    report('\n%s begin %d\n' % (nonce, at))
                run(code, tg)
                note_definitions(at)
                if n_tests and not is_assert:
                    report('\n%s end %d\n' % (nonce, at))
            ok = True
        except BaseException as e:
            ok = False
            try:
                why = cut(' '.join(('%s: %s' % (type(e).__name__, e)).split()), 120)
            except BaseException:
                why = 'an exception'
            # A statement that is no test but checks too (a check(f) call beside bare asserts, a loop of a
            # helper's asserts, np.testing.assert_equal) fails the tests, as pytest fails a module whose top
            # level raises: the failure was dropped, and a wrong solution passed the asserts beside it.
            # (Not where a test function it called failed: that test is judged by its call.)
            # (An exit with status 0 is the text's own end, unless the solution's code made it.)
            def solutions(tb):
                while tb is not None:
                    if tb.tb_frame.f_code.co_filename == 'solution.py':
                        return True
                    tb = tb.tb_next
                return False
            if (not is_assert and setup_failed is None and at < len(stmts) and not runners[at] and
                    not (type(e) is SystemExit and type(e.code) in (type(None), int) and not e.code and
                         not solutions(e.__traceback__)) and
                    sum(1 for v in outcome.values() if not v) == failed_tests):
                setup_failed = 'line %d: %s' % (lines[at], why)
            elif n_tests and not is_assert and at < len(stmts):
                report('\n%s end %d\n' % (nonce, at))
        # A copy forked inside the tested function ends here whatever its test did: going on only after a
        # failure would tell a waiting parent which answer passed.
        if getpid() != me:
            exit_now(0)
        all_ok = all_ok and ok
        if not ok and first_why is None:
            first_why = why
        if is_assert:
            # Which test failed and how, for the logs (the first failure's).
            report('\n%s pass %d %s\n' % (nonce, i, secrets[i]) if ok else
                   '\n%s fail %d %s\n' % (nonce, i, why))
            i += 1
    if n_tests and setup_failed is not None:
        report('\n%s error tests-setup %s\n' % (nonce, setup_failed))
    elif n_tests:
        report('\n%s end-of-tests\n' % nonce)
    # A text that is one test (a HumanEval check(f) call): how it failed, not the run's "wrong output".
    if not n_tests:
        report('\n%s pass 0 %s\n' % (nonce, secrets[0]) if all_ok else '\n%s fail 0 %s\n' % (nonce, first_why))
    exit_now(0)
# multiprocessing's spawn and forkserver import the program again in each worker (as __mp_main__): a
# worker that ran the harness read an empty stdin and ended, and its pool waited to the wall limit.
if __name__ == '__main__':
    _main()
)PY";

// At most what the harness writes of its own on stdout, which the program's prints share: a "total" line,
// a "pass" line (its secret) or "fail" line (its exception in 120 bytes) per test and one "error" line (under
// 256 bytes). max_output_bytes is the program's: the harness's lines filled it, and under a limit of 150
// bytes a correct solution of 3 asserts scored 2/3.
size_t harness_report_bytes(std::string_view tests, std::string_view nonce) {
  return max_harness_tests(tests) * (nonce.size() + 2 * kSecretBytes + 160) + nonce.size() + 256;
}

double elapsed(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string describe(const SandboxRun& r) {
  if (!r.started) return r.error;
  if (r.wall_timeout) return "wall-clock limit";
  if (r.output_limit) return "output limit";
  if (r.signal == SIGXCPU) return "CPU time limit (cpu_seconds)";
  if (r.signal) return fmt::format("killed by signal {}", r.signal);
  if (r.exit_code != 0) {
    std::string tail = r.err.size() > 300 ? r.err.substr(r.err.size() - 300) : r.err;
    return fmt::format("exit code {}: {}", r.exit_code, tail);
  }
  return "wrong output";
}

// The indentation of a fence that starts its line after spaces or tabs (inside a list item, say); 0 when
// text precedes it on its line.
size_t fence_indent(std::string_view text, size_t fence) {
  size_t b = fence;
  while (b > 0 && (text[b - 1] == ' ' || text[b - 1] == '\t')) --b;
  return b == 0 || text[b - 1] == '\n' ? fence - b : 0;
}

// Removes up to n leading spaces or tabs from each line, as markdown does for an indented fence's body
// (otherwise the program fails with "unexpected indent").
std::string dedent(std::string_view body, size_t n) {
  if (n == 0) return std::string(body);
  std::string out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    size_t end = nl == std::string_view::npos ? body.size() : nl + 1;
    size_t skip = 0;
    while (skip < n && pos + skip < end && (body[pos + skip] == ' ' || body[pos + skip] == '\t')) ++skip;
    out.append(body.substr(pos + skip, end - pos - skip));
    pos = end;
  }
  return out;
}

}  // namespace

namespace {

// Compiles each source of a JSON list on stdin as the harness does (parsed whole, each top-level statement
// compiled alone, the symbol table of the whole), and reports the first that fails, "bad <index> <message>",
// or that takes more CPU seconds than argv[1], "slow <index> <seconds>"; else "ok". What the harness cannot
// compile, or not within a run's limits, scores every completion 0; what it can is never refused here.
// (After kTestPlan.) A text whose plan runs nothing is reported as "idle <index>", one whose top-level
// imports name a module the sandbox's interpreter cannot find as "missing <index> <module>" (pytest, where
// the host has none: every test using it failed).
constexpr std::string_view kCompileCheck = R"PY(import sys, json, ast, symtable, time, importlib.util
budget = float(sys.argv[1])
def findable(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # __main__, which has no spec
        return True
sources = json.loads(sys.stdin.buffer.read().decode('utf-8'))
for i, s in enumerate(sources):
    source = s.encode('utf-8')
    start = time.process_time()
    try:
        tree = ast.parse(source, 'tests.py')
        for x in tree.body:
            compile(ast.Module(body=[x], type_ignores=[]), 'tests.py', 'exec')
        symtable.symtable(source.decode('utf-8', 'replace'), 'tests.py', 'exec')
        runs_nothing, all_blind = _plan(tree)[3:5]
        missing = next((name for x in tree.body if isinstance(x, (ast.Import, ast.ImportFrom))
                        for name in ([a.name for a in x.names] if isinstance(x, ast.Import)
                                     else [x.module] if x.module and not x.level else [])
                        if name.split('.')[0] != 'solution' and
                        not findable(name.split('.')[0])), None)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        sys.stdout.write('bad %d %s\n' % (i, ' '.join(str(e).split()) or type(e).__name__))
        sys.exit(0)
    spent = time.process_time() - start
    if spent > budget:
        sys.stdout.write('slow %d %.2f\n' % (i, spent))
        sys.exit(0)
    if runs_nothing:
        sys.stdout.write('idle %d x\n' % i)
        sys.exit(0)
    if all_blind:
        sys.stdout.write('blind %d x\n' % i)
        sys.exit(0)
    if missing:
        sys.stdout.write('missing %d %s\n' % (i, missing.split('.')[0]))
        sys.exit(0)
sys.stdout.write('ok\n')
)PY";

// Tests per sandboxed run, in bytes: far below its memory limit however the JSON is decoded.
constexpr size_t kCompileChunkBytes = size_t(4) << 20;

}  // namespace

std::optional<std::pair<size_t, std::string>> first_unusable_tests(std::span<const std::string_view> sources,
                                                                   const CodeRunOptions& o) {
  SandboxLimits lim = o.limits;
  // What one harness run may spend (its CPU and wall limits): tests that take longer just to compile fail
  // every run.
  // (The CPU limit is whole seconds, rounded up, at least 1: sandbox.cpp.)
  const double budget =
      std::min({std::max(1.0, std::ceil(o.limits.cpu_seconds)), o.limits.wall_seconds, o.total_wall_seconds});
  // Compiling is fast, but a dataset of many tests may take a few seconds on a slow machine.
  lim.cpu_seconds = std::max(lim.cpu_seconds, 120.0);
  lim.wall_seconds = std::max(lim.wall_seconds, 240.0);
  for (size_t begin = 0; begin < sources.size();) {
    nlohmann::json chunk = nlohmann::json::array();
    size_t end = begin, bytes = 0;
    while (end < sources.size() && (end == begin || bytes + sources[end].size() <= kCompileChunkBytes)) {
      chunk.push_back(std::string(sources[end]));
      bytes += sources[end].size();
      ++end;
    }
    const SandboxRun run =
        run_in_sandbox({o.python, "-s", "-B", "/src/check.py", fmt::format("{}", budget)},
                       {{"check.py", std::string(kTestPlan) + std::string(kCompileCheck)}},
                       chunk.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), lim);
    const std::string_view out = run.out;
    // Cut short by a stop (core/stop_signal.hpp): the job stops at its next safe point, unchecked.
    if (run.stopped) return std::nullopt;
    if (!run.ok() ||
        !(out == "ok\n" || out.starts_with("bad ") || out.starts_with("slow ") || out.starts_with("idle ") ||
          out.starts_with("blind ") || out.starts_with("missing "))) {
      std::string why = run.started ? (run.err.empty() ? describe(run) : run.err) : run.error;
      // A traceback's last line says what went wrong.
      why.resize(why.find_last_not_of('\n') + 1);
      why = why.substr(why.find_last_of('\n') + 1);
      fail("cannot check that the problems' tests are valid Python ({} in the sandbox): {}", o.python, why);
    }
    if (out != "ok\n") {
      const std::string_view kind = out.substr(0, out.find(' '));
      const size_t from = kind.size() + 1, sp = out.find(' ', from);
      const size_t index = size_t(std::stoull(std::string(out.substr(from, sp - from))));
      std::string message(out.substr(sp + 1));
      while (!message.empty() && message.back() == '\n') message.pop_back();
      return std::pair{
          begin + index,
          kind == "idle"    ? std::string(kRunsNothing)
          : kind == "blind" ? std::string(kAllBlind)
          : kind == "missing"
              ? fmt::format(
                    "its tests import {}, which {} cannot import in the sandbox (it shows the host's "
                    "/usr, /bin and /lib*: install the module there), so no completion could pass them",
                    message, o.python)
          : kind == "slow"
              ? fmt::format("its tests take {} s of CPU just to compile, more than the {} s a run may take "
                            "(the code reward's cpu_seconds, wall_seconds and total_wall_seconds), so no "
                            "completion could pass them",
                            message, budget)
              : fmt::format("its tests are not valid Python ({}), so no completion could pass them",
                            message)};
    }
    begin = end;
  }
  return std::nullopt;
}

bool outputs_match(std::string_view actual, std::string_view expected) {
  return normalized_lines(actual) == normalized_lines(expected);
}

size_t least_matching_output_bytes(std::string_view expected) {
  const std::vector<std::string> lines = normalized_lines(expected);
  size_t bytes = lines.empty() ? 0 : lines.size() - 1;
  for (const std::string& line : lines) bytes += line.size();
  return bytes;
}

std::string extract_python_block(std::string_view completion, bool think_prefilled) {
  // Like open-r1's findall of "```python\n(.*?)```": only a python opening fence starts a block, so a stray
  // "```" in the prose (inline, or a tag such as "```python``` blocks") cannot pair up with the real block's
  // opening fence and hide it.
  std::string_view vis = visible_part(completion, think_prefilled);
  std::string best;
  size_t pos = 0;
  for (;;) {
    size_t open = vis.find("```", pos);
    if (open == std::string_view::npos) break;
    size_t eol = vis.find('\n', open);
    if (eol == std::string_view::npos) break;
    // In any case: "```Python" is as common in model output as in Markdown, which ignores the case.
    std::string lang = trim_copy(vis.substr(open + 3, eol - open - 3));
    for (char& ch : lang) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    if (lang != "python" && lang != "py" && lang != "python3") {
      pos = open + 3;
      continue;
    }
    size_t close = vis.find("```", eol + 1);
    if (close == std::string_view::npos) break;
    best = dedent(vis.substr(eol + 1, close - eol - 1), fence_indent(vis, open));
    pos = close + 3;
  }
  return best;
}

CodeRunResult run_code_tests(std::string_view code, const std::vector<CodeTest>& tests,
                             std::string_view asserts, const CodeRunOptions& o) {
  CodeRunResult res;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> argv{o.python, "-s", "-B"};
  if (!asserts.empty()) {
    res.total = 1;  // until the harness reports the real count
    std::string nonce = make_nonce();
    const size_t n_secrets = max_harness_tests(asserts);
    const std::string secret_hex = random_hex(n_secrets * kSecretBytes);
    std::string secret_line;
    secret_line.reserve(secret_hex.size() + n_secrets);
    for (size_t i = 0; i < n_secrets; ++i)
      secret_line.append(secret_hex, i * 2 * kSecretBytes, 2 * kSecretBytes)
          .push_back(i + 1 < n_secrets ? ' ' : '\n');
    SandboxLimits lim = o.limits;
    lim.wall_seconds = std::min(lim.wall_seconds, o.total_wall_seconds);
    lim.max_output_bytes += harness_report_bytes(asserts, nonce);
    argv.push_back("/src/harness.py");
    SandboxRun run = run_in_sandbox(
        argv,
        {{"harness.py", std::string(kTestPlan) + std::string(kHarness)}, {"solution.py", std::string(code)}},
        nonce + "\n" + secret_line + std::string(asserts), lim);
    if (!run.started) {
      res.error = run.error;
      res.detail = run.error;
      return res;
    }
    // Only lines that start with the nonce count; the first "total" line fixes the test count.
    std::set<int> passed;
    // A statement of the tests that is no test and did not end (the process died in it), or tests with such
    // checks that did not run to their end, fail as a raise there does.
    bool have_total = false, setup_failed = false, must_finish = false, finished = false;
    std::set<std::string> open_statements;
    size_t pos = 0;
    while (pos < run.out.size()) {
      size_t nl = run.out.find('\n', pos);
      std::string_view line(run.out.data() + pos, (nl == std::string::npos ? run.out.size() : nl) - pos);
      pos = nl == std::string::npos ? run.out.size() : nl + 1;
      if (!line.starts_with(nonce + " ")) continue;
      std::string_view rest = line.substr(nonce.size() + 1);
      if (rest.starts_with("total ") && !have_total) {
        have_total = true;
        res.total = std::max(1, std::atoi(std::string(rest.substr(6)).c_str()));
      } else if (rest.starts_with("pass ") && have_total) {
        // "pass <k> <test k's secret>"
        const std::string_view what = rest.substr(5);
        const size_t sp = what.find(' ');
        const int k = std::atoi(std::string(what.substr(0, sp)).c_str());
        const std::string_view secret =
            sp == std::string_view::npos ? std::string_view() : what.substr(sp + 1);
        if (k >= 0 && k < res.total && size_t(k) < n_secrets &&
            secret == std::string_view(secret_hex).substr(size_t(k) * 2 * kSecretBytes, 2 * kSecretBytes))
          passed.insert(k);
      } else if (rest.starts_with("fail ") && have_total && res.detail.empty()) {
        const std::string_view what = rest.substr(5);
        const size_t sp = what.find(' ');
        res.detail = fmt::format("test {} failed: {}", std::atoi(std::string(what.substr(0, sp)).c_str()) + 1,
                                 sp == std::string_view::npos ? "" : what.substr(sp + 1));
      } else if (rest.starts_with("checks-outside ") && have_total) {
        must_finish = true;
      } else if (rest.starts_with("begin ") && have_total) {
        open_statements.insert(std::string(rest.substr(6)));
      } else if (rest.starts_with("end ") && have_total) {
        open_statements.erase(std::string(rest.substr(4)));
      } else if (rest == "end-of-tests" && have_total) {
        finished = true;
      } else if (rest.starts_with("error tests-setup ")) {
        // A statement of the tests that is no test raised: every test fails (the harness's comment).
        setup_failed = true;
        res.detail = fmt::format("the tests failed outside a test, at {}", rest.substr(18));
      } else if (rest.starts_with("error ") && res.detail.empty()) {
        res.detail = std::string(rest.substr(6));
      }
    }
    if (!setup_failed && (!open_statements.empty() || (must_finish && !finished))) {
      setup_failed = true;
      res.detail =
          fmt::format("the tests did not run to their end (a statement outside a test did not finish: {})",
                      describe(run));
    }
    if (setup_failed) passed.clear();
    res.passed = int(passed.size());
    if (res.passed < res.total && res.detail.empty()) res.detail = describe(run);
    return res;
  }

  res.total = int(tests.size());
  argv.push_back("/src/solution.py");
  for (const auto& t : tests) {
    double left = o.total_wall_seconds - elapsed(t0);
    if (left <= 0) {
      if (res.detail.empty()) res.detail = "total time limit for this completion";
      break;
    }
    SandboxLimits lim = o.limits;
    lim.wall_seconds = std::min(lim.wall_seconds, left);
    lim.stdin_as_file = true;
    SandboxRun run = run_in_sandbox(argv, {{"solution.py", std::string(code)}}, t.input, lim);
    if (!run.started) {
      res.error = run.error;
      res.detail = run.error;
      res.passed = 0;
      return res;
    }
    if (run.ok() && outputs_match(run.out, t.output)) {
      ++res.passed;
    } else if (res.detail.empty()) {
      // Which test, and where the completion's time budget, not the program's, ran out.
      res.detail = fmt::format("test {}: {}", &t - tests.data() + 1,
                               run.wall_timeout && lim.wall_seconds < o.limits.wall_seconds
                                   ? "total time limit for this completion (total_wall_seconds)"
                                   : describe(run));
    }
  }
  return res;
}

}  // namespace seek::reward
