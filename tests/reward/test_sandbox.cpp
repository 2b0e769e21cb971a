// The code sandbox and the code reward: a correct solution scores 1, a partial one the fraction of tests
// passed, and every escape attempt (fork bomb, infinite loop, memory hog, network, writing outside the
// folder, reading the trainer's files) is contained, scored 0, and leaves the calling process running.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "reward/code_runner.hpp"
#include "reward/reward.hpp"
#include "reward/sandbox.hpp"
#include "support/sandbox_tests.hpp"

namespace seek::reward {
namespace {

namespace fs = std::filesystem;

std::string fenced(const std::string& code) {
  return "<think>plan</think>\n```python\n" + code + "\n```\n";
}

double code_score(const std::string& code, const std::vector<CodeTest>& tests,
                  const std::string& asserts = "") {
  return run_code_tests(code, tests, asserts, test::fast_code_run()).score();
}

// A directory of "trainer files" outside the sandbox, removed at the end.
struct HostDir {
  fs::path dir;
  HostDir() {
    dir = fs::temp_directory_path() / fmt::format("seek-host-{}-{}", getpid(), rand());
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::all);  // world-writable: only the sandbox's own walls may stop writes
  }
  ~HostDir() { fs::remove_all(dir); }
};

TEST(Sandbox, ReportsWhatIsAvailable) {
  const auto& s = sandbox_support();
  std::printf("sandbox: %s%s%s\n", s.summary.c_str(),
              s.reason.empty() ? "" : " | missing: ", s.reason.c_str());
  EXPECT_FALSE(s.summary.empty());
  if (!s.namespaces) {
    EXPECT_FALSE(s.reason.empty());
  }
}

// The namespace's init is the small seek-sandbox-init program started from memory, not a copy of this process
// (whose clone copies the page tables of everything it holds); SEEK_SANDBOX_INIT=copy asks for the copy.
// Where the kernel refuses (vm.memfd_noexec = 2, a filter on execveat) the sandbox rightly uses the copy.
bool kernel_executes_memfds() {
  const pid_t child = fork();
  if (child == 0) {
    // MFD_EXEC (Linux 6.3) as the sandbox asks: under vm.memfd_noexec = 1 a memfd without it is not
    // executable.
    int image = memfd_create("probe", MFD_CLOEXEC | 0x0010U);
    if (image < 0 && errno == EINVAL) image = memfd_create("probe", MFD_CLOEXEC);
    const int program = open("/bin/true", O_RDONLY | O_CLOEXEC);
    char buf[65536];
    for (ssize_t n; image >= 0 && program >= 0 && (n = read(program, buf, sizeof buf)) > 0;)
      if (write(image, buf, size_t(n)) != n) _exit(1);
    char* const argv[] = {const_cast<char*>("true"), nullptr};
    syscall(SYS_execveat, image, "", argv, environ, AT_EMPTY_PATH);
    _exit(1);
  }
  int status = 0;
  return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(Sandbox, TheInitIsTheSmallProgramUnlessACopyIsAskedFor) {
  REQUIRE_ISOLATION();
  const char* choice = std::getenv("SEEK_SANDBOX_INIT");
  const bool copy = choice && std::string_view(choice) == "copy";
  if (!copy && !sandbox_support().exec_init && !kernel_executes_memfds())
    GTEST_SKIP() << "this kernel does not execute memfds: the init is a copy here";
  EXPECT_EQ(sandbox_support().exec_init, !copy) << sandbox_support().summary;
  std::thread run([] {
    SandboxLimits lim;
    lim.wall_seconds = 10;
    const SandboxRun r =
        run_in_sandbox({"/usr/bin/python3", "-c", "import time; time.sleep(1)"}, {}, "", lim);
    EXPECT_TRUE(r.ok()) << r.error << r.err;
  });
  // The init is a child of the thread running the sandbox: the first child any of this process's threads has.
  std::string init_exe;
  for (int i = 0; i < 100 && init_exe.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (const auto& task : fs::directory_iterator("/proc/self/task")) {
      std::ifstream children(task.path() / "children");
      long pid = 0;
      if (children >> pid) {
        std::error_code ec;
        init_exe = fs::read_symlink(fmt::format("/proc/{}/exe", pid), ec).string();
      }
    }
  }
  run.join();
  ASSERT_FALSE(init_exe.empty()) << "no child process seen during the run";
  if (copy)
    EXPECT_EQ(init_exe, fs::read_symlink("/proc/self/exe").string());
  else
    EXPECT_TRUE(init_exe.starts_with("/memfd:seek-sandbox-init")) << init_exe;
}

// Debian links libblas.so.3 (numpy's) and other shared libraries through /etc/alternatives: without it in
// the private root, numpy did not import, and every solution using it scored 0. Only that folder of /etc is
// shown.
TEST(Sandbox, DebianAlternativesResolve) {
  REQUIRE_ISOLATION();
  if (!fs::is_directory("/etc/alternatives")) GTEST_SKIP() << "no /etc/alternatives on this host";
  SandboxLimits lim;
  lim.wall_seconds = 10;
  SandboxRun r = run_in_sandbox(
      {"/usr/bin/python3", "-c",
       "import os\nlinks = [os.path.join('/etc/alternatives', n) for n in os.listdir('/etc/alternatives')]\n"
       "print(sum(os.path.exists(l) for l in links) > 0, os.path.exists('/etc/passwd'))\n"},
      {}, "", lim);
  EXPECT_TRUE(r.ok()) << r.error << r.err;
  EXPECT_EQ(r.out, "True False\n") << r.err;
  // numpy, where the host has it.
  if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) return;
  r = run_in_sandbox({"/usr/bin/python3", "-c", "import numpy\nprint(int(numpy.arange(4).sum()))\n"}, {}, "",
                     lim);
  EXPECT_EQ(r.out, "6\n") << r.error << r.err;
}

// OpenBLAS starts a thread per host core when numpy loads it and exits if one cannot start: on a host with
// more cores than max_processes, `import numpy` failed in every run. Math libraries get one thread. The
// numpy part shows it on this host when libopenblas is installed (a budget of one process leaves no room for
// a second thread).
TEST(Sandbox, MathLibrariesRunOneThreadSoFewProcessesAreEnough) {
  REQUIRE_ISOLATION();
  SandboxLimits lim;
  lim.wall_seconds = 10;
  lim.max_processes = 1;
  SandboxRun r = run_in_sandbox(
      {"/usr/bin/python3", "-c",
       "import os\nprint(*(os.environ.get(k) for k in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', "
       "'MKL_NUM_THREADS')))\n"},
      {}, "", lim);
  EXPECT_EQ(r.out, "1 1 1\n") << r.error << r.err;
  if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) return;
  r = run_in_sandbox(
      {"/usr/bin/python3", "-c", "import numpy\na = numpy.ones((64, 64))\nprint(int((a @ a).sum()))\n"}, {},
      "", lim);
  EXPECT_EQ(r.out, "262144\n") << r.error << r.err;
}

// A run's file cut short (a full /dev/shm or /tmp; here a file-size limit) ran as the program's syntax error,
// so a correct solution scored 0 as if wrong. The run could not start, and its error names the file.
TEST(Sandbox, AFileCutShortIsAnErrorNotTheProgramsFault) {
  REQUIRE_ISOLATION();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    const rlimit small{4096, 4096};
    setrlimit(RLIMIT_FSIZE, &small);
    SandboxLimits lim;
    lim.wall_seconds = 10;
    const SandboxRun r =
        run_in_sandbox({"/usr/bin/python3", "/src/solution.py"},
                       {{"solution.py", "print(1)\n#" + std::string(10000, 'x') + "\n"}}, "", lim);
    const bool named = !r.started && r.error.find("sandbox: cannot write") != std::string::npos &&
                       r.error.find("solution.py") != std::string::npos;
    if (!named) fmt::print(stderr, "started {}, error '{}', out '{}'\n", r.started, r.error, r.out);
    _exit(named ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// The program holds its standard streams and nothing else: not the trainer's files (one open without
// close-on-exec here), not the init's report pipe, the plan or the init's image.
TEST(Sandbox, TheProgramHoldsOnlyItsStandardStreams) {
  REQUIRE_ISOLATION();
  const int leaked = open("/proc/self/exe", O_RDONLY);  // no O_CLOEXEC
  ASSERT_GE(leaked, 0);
  const SandboxRun r = run_in_sandbox({"/usr/bin/python3", "-c",
                                       "import os\n"
                                       "open_fds = []\n"
                                       "for fd in range(3, 1024):\n"
                                       "    try:\n"
                                       "        os.fstat(fd)\n"
                                       "        open_fds.append(fd)\n"
                                       "    except OSError:\n"
                                       "        pass\n"
                                       "print(open_fds)"},
                                      {}, "", {});
  close(leaked);
  EXPECT_TRUE(r.ok()) << r.error << r.err;
  EXPECT_EQ(r.out, "[]\n");
}

// The trainer's descriptors 0-2 closed: the run's pipes then take the numbers the init's are moved onto.
TEST(Sandbox, RunsWhenTheTrainersStandardStreamsAreClosed) {
  REQUIRE_ISOLATION();
  const int saved[3] = {dup(0), dup(1), dup(2)};
  for (int fd = 0; fd < 3; ++fd) close(fd);
  const SandboxRun r = run_in_sandbox(
      {"/usr/bin/python3", "-c", "import sys; print('out', sys.stdin.read()); print('err', file=sys.stderr)"},
      {}, "hello", {});
  for (int fd = 0; fd < 3; ++fd) {
    dup2(saved[fd], fd);
    close(saved[fd]);
  }
  EXPECT_TRUE(r.ok()) << r.error << r.err;
  EXPECT_EQ(r.out, "out hello\n");
  // Under AddressSanitizer a copied init's vfork-style start adds a warning on the program's stderr first.
  EXPECT_TRUE(r.err == "err\n" || r.err.ends_with("False positive error reports may follow\nFor details see "
                                                  "https://github.com/google/sanitizers/issues/189\nerr\n"))
      << r.err;
}

// Should the exec'd init fail to start after the probe found it working (here: no descriptor left for the
// run's plan), the run is made again with the init as a copy, and the program runs once. In a child process:
// the fallback lasts for the rest of the process.
TEST(Sandbox, ARunWhoseInitCannotStartIsMadeAgainAsACopy) {
  REQUIRE_ISOLATION();
  if (!sandbox_support().exec_init) GTEST_SKIP() << "the init is a copy here already";
  // In a user namespace writing the maps takes a descriptor too, which this starves as well.
  if (sandbox_support().user_namespace) GTEST_SKIP() << "needs root, whose runs write no user namespace maps";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Room for the run's folder and its four pipes (9 free descriptors), not for the plan.
    int limit = 0;
    for (int free_found = 0; free_found < 9; ++limit)
      if (fcntl(limit, F_GETFD) < 0) ++free_found;
    const rlimit room{rlim_t(limit), rlim_t(limit)};
    if (setrlimit(RLIMIT_NOFILE, &room) != 0) _exit(77);
    SandboxLimits lim;
    lim.wall_seconds = 10;
    lim.max_open_files = limit;  // not above the hard limit just set
    const SandboxRun r = run_in_sandbox({"/usr/bin/python3", "-c", "print(6 * 7)"}, {}, "", lim);
    std::fprintf(stderr, "%s%s", r.error.c_str(), r.err.c_str());
    _exit(r.ok() && r.out == "42\n" ? 42 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << WTERMSIG(status);
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "could not lower RLIMIT_NOFILE";
  EXPECT_EQ(WEXITSTATUS(status), 42);
}

TEST(Sandbox, RunsPythonWithStdin) {
  REQUIRE_ISOLATION();
  auto r = run_in_sandbox({"/usr/bin/python3", "-s", "-B", "/src/main.py"},
                          {{"main.py", "import sys\nprint(sys.stdin.read().upper())\n"}}, "hello", {});
  EXPECT_TRUE(r.ok()) << r.error << r.err;
  EXPECT_EQ(r.out, "HELLO\n");
  auto bad = run_in_sandbox({"/usr/bin/python3", "-c", "raise SystemExit(3)"}, {}, "", {});
  EXPECT_EQ(bad.exit_code, 3);
  EXPECT_FALSE(bad.ok());
}

// Whether the sandbox puts runs with namespaces on /dev/shm here: a writable tmpfs, not mounted noexec.
bool shm_is_tmpfs() {
  struct statfs st {};
  struct statvfs flags {};
  return statfs("/dev/shm", &st) == 0 && st.f_type == TMPFS_MAGIC && statvfs("/dev/shm", &flags) == 0 &&
         !(flags.f_flag & (ST_NOEXEC | ST_RDONLY)) && access("/dev/shm", W_OK | X_OK) == 0;
}

// A program that cannot be started says so (it is started vfork-style, sharing the init's memory until its
// exec: the failure report and exit must still come through), and the next run is unaffected.
TEST(Sandbox, AProgramThatCannotStartIsReportedByName) {
  REQUIRE_ISOLATION();
  const SandboxRun r = run_in_sandbox({"/usr/bin/seek-no-such-program"}, {}, "", {});
  EXPECT_FALSE(r.started);
  EXPECT_NE(r.error.find("execve failed: No such file or directory"), std::string::npos) << r.error;
  const SandboxRun next = run_in_sandbox({"/usr/bin/python3", "-c", "print(1)"}, {}, "", {});
  EXPECT_TRUE(next.ok()) << next.error << next.err;
  EXPECT_EQ(next.out, "1\n");
}

// A caller that ignores SIGCHLD has its children reaped by the kernel: waiting for the sandbox's child then
// fails with ECHILD. The run must still end when its program does, with the status its init reports, not
// spin until the wall-clock limit and then signal a process number that may be another's by then. In a
// child process, so this test binary's SIGCHLD stays as it is.
TEST(Sandbox, ACallerIgnoringSigchldStillGetsItsResult) {
  REQUIRE_ISOLATION();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    signal(SIGCHLD, SIG_IGN);
    SandboxLimits lim;
    lim.wall_seconds = 10;
    const SandboxRun r = run_in_sandbox({"/usr/bin/python3", "-c", "print(6 * 7)"}, {}, "", lim);
    _exit(r.ok() && r.out == "42\n" && r.wall_seconds < 5 ? 42 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 42);
}

// Sets a folder's modification time `age` into the past, as if it had been made then.
void back_date(const fs::path& dir, std::chrono::seconds age) {
  const struct timespec t { time(nullptr) - age.count(), 0 };
  const struct timespec times[2] = {t, t};
  ASSERT_EQ(utimensat(AT_FDCWD, dir.c_str(), times, 0), 0) << dir << ": " << strerror(errno);
}

// A trainer killed outright (SIGKILL, the OOM killer) left its runs' folders in /tmp for good; runs with
// namespaces keep theirs on /dev/shm, which is cleaned too.
TEST(Sandbox, RunFoldersOfProcessesGoneAreRemoved) {
  std::vector<fs::path> bases{fs::temp_directory_path()};
  if (shm_is_tmpfs()) bases.push_back("/dev/shm");
  for (const fs::path& base : bases) {
    const fs::path stale = base / "seek-sandbox-999999999-test",
                   live = base / fmt::format("seek-sandbox-{}-test", getpid());
    for (const fs::path& d : {stale, live}) {
      fs::create_directories(d / "src");
      std::ofstream(d / "src" / "solution.py") << "print(1)";
    }
    // A run holds its folder locked: a trainer in another PID namespace sees its pid as gone, and removing
    // the folder under it would score that run 0.
    const fs::path in_use = base / "seek-sandbox-999999998-test";
    fs::create_directories(in_use / "src");
    const int lock = open(in_use.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(lock, 0);
    ASSERT_EQ(flock(lock, LOCK_EX), 0);
    // A folder made a moment ago may belong to a run that has not locked it yet (it locks it right after
    // making it): left alone until it is older.
    const fs::path just_made = base / "seek-sandbox-999999996-test";
    fs::create_directories(just_made);
    for (const fs::path& d : {stale, live, in_use}) back_date(d, std::chrono::minutes(5));
    detail::remove_stale_run_folders();
    EXPECT_FALSE(fs::exists(stale)) << stale;
    EXPECT_TRUE(fs::exists(live)) << live;            // this process's own
    EXPECT_TRUE(fs::exists(in_use)) << in_use;        // locked by a run
    EXPECT_TRUE(fs::exists(just_made)) << just_made;  // maybe not locked yet
    close(lock);
    back_date(just_made, std::chrono::minutes(5));
    detail::remove_stale_run_folders();
    EXPECT_FALSE(fs::exists(in_use)) << in_use;
    EXPECT_FALSE(fs::exists(just_made)) << just_made;
    // Another user's folder (or one planted in the shared folder) is not this process's to remove.
    if (geteuid() == 0) {
      const fs::path foreign = base / "seek-sandbox-999999997-test";
      fs::create_directories(foreign);
      ASSERT_EQ(chown(foreign.c_str(), 65534, 65534), 0);
      back_date(foreign, std::chrono::minutes(5));
      detail::remove_stale_run_folders();
      EXPECT_TRUE(fs::exists(foreign)) << foreign;
      fs::remove_all(foreign);
    }
    fs::remove_all(live);
  }
}

// This process's run folders under `base` (seek-sandbox-<pid>-*).
std::vector<fs::path> own_run_folders(const fs::path& base) {
  std::vector<fs::path> found;
  const std::string prefix = fmt::format("seek-sandbox-{}-", getpid());
  for (const auto& e : fs::directory_iterator(base))
    if (e.path().filename().string().starts_with(prefix)) found.push_back(e.path());
  return found;
}

// With namespaces a run's folder (the program's files, its root's mount points) lives on /dev/shm, where
// directory operations are cheap, and only its owner may read it. Without namespaces the program writes into
// the folder, which stays in the temporary directory, open to the program's own uid. Either way it is gone
// after the run.
TEST(Sandbox, RunFolderIsOnSharedMemoryWithNamespacesOnly) {
  if (!shm_is_tmpfs()) GTEST_SKIP() << "/dev/shm is not a writable tmpfs here";
  const fs::path tmp = fs::temp_directory_path();
  if (fs::equivalent(tmp, "/dev/shm")) GTEST_SKIP() << "the temporary directory is /dev/shm";
  for (bool namespaces : {true, false}) {
    if (namespaces && !sandbox_support().namespaces) continue;
    SandboxLimits lim;
    lim.require_isolation = namespaces;
    std::thread run([&] {
      const std::vector<std::string> argv{"/usr/bin/python3", "-c", "import time; time.sleep(1.5)"};
      const SandboxRun r =
          namespaces ? run_in_sandbox(argv, {}, "", lim) : detail::run_without_namespaces(argv, {}, "", lim);
      EXPECT_TRUE(r.ok()) << r.error << r.err;
    });
    std::vector<fs::path> on_shm, in_tmp;
    for (int i = 0; i < 100 && on_shm.empty() && in_tmp.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      on_shm = own_run_folders("/dev/shm");
      in_tmp = own_run_folders(tmp);
    }
    const std::vector<fs::path>& found = namespaces ? on_shm : in_tmp;
    struct stat st {};
    const bool seen = found.size() == 1 && stat(found[0].c_str(), &st) == 0;
    run.join();
    EXPECT_EQ(on_shm.size(), namespaces ? 1u : 0u) << "namespaces: " << namespaces;
    EXPECT_EQ(in_tmp.size(), namespaces ? 0u : 1u) << "namespaces: " << namespaces;
    ASSERT_TRUE(seen);
    EXPECT_EQ(st.st_mode & 0777, namespaces ? 0700u : 0755u) << "namespaces: " << namespaces;
    EXPECT_TRUE(own_run_folders("/dev/shm").empty());
    EXPECT_TRUE(own_run_folders(tmp).empty());
  }
}

// Runs the test below as nobody in a child process whose /dev/shm is a fresh tmpfs mounted with `flags` and
// `options` in a mount namespace of its own (this process may have probed the sandbox as root already); needs
// root to set that up, and user namespaces for nobody.
void expect_runs_for_nobody_with_dev_shm(unsigned long flags, const char* options) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a private /dev/shm and drop to nobody";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const uid_t nobody = 65534;
    if (unshare(CLONE_NEWNS) == 0 && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
        mount("tmpfs", "/dev/shm", "tmpfs", flags, options) == 0 && setgroups(0, nullptr) == 0 &&
        setresgid(nobody, nobody, nobody) == 0 && setresuid(nobody, nobody, nobody) == 0)
      execl("/proc/self/exe", "test_sandbox", "--gtest_also_run_disabled_tests",
            "--gtest_filter=Sandbox.DISABLED_RunsPythonInAFreshProcess", static_cast<char*>(nullptr));
    _exit(77);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child ended by signal " << WTERMSIG(status);
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "could not mount a private /dev/shm, become nobody or exec";
  if (WEXITSTATUS(status) == 78) GTEST_SKIP() << "no user namespaces for an unprivileged user here";
  // 42: the test below ran and passed (gtest exits 0 when its filter matches nothing, too).
  EXPECT_EQ(WEXITSTATUS(status), 42) << "the sandboxed run failed for nobody with /dev/shm mounted "
                                     << options;
}

// Docker mounts /dev/shm noexec. In a user namespace (an unprivileged user) that flag is locked on the
// run's /src bind, and the remount that makes it read-only failed with EPERM: every run refused to start.
// Such a /dev/shm is not used.
TEST(Sandbox, RunsForAnUnprivilegedUserWhenDevShmIsNoexec) {
  expect_runs_for_nobody_with_dev_shm(MS_NOEXEC | MS_NOSUID | MS_NODEV, "size=16m");
}

// A /dev/shm that passes those checks but cannot hold a run's folder (here: out of inodes, as a small
// container's may be) made every run fail; the run folders go to the temporary directory instead.
TEST(Sandbox, RunsWhenDevShmCannotHoldARunFolder) {
  expect_runs_for_nobody_with_dev_shm(MS_NOSUID | MS_NODEV, "nr_inodes=1,mode=1777");
}

// Run only by the test above, in the process it sets up.
TEST(Sandbox, DISABLED_RunsPythonInAFreshProcess) {
  if (!sandbox_support().namespaces) {
    // This machine (no user namespaces for nobody), or the sandbox failing to use them?
    const pid_t probe = fork();
    if (probe == 0) _exit(unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 ? 0 : 1);
    int status = 0;
    if (waitpid(probe, &status, 0) == probe && WIFEXITED(status) && WEXITSTATUS(status) != 0) _exit(78);
    FAIL() << "user namespaces work here, but the sandbox found none: " << sandbox_support().reason;
  }
  const SandboxRun r =
      run_in_sandbox({"/usr/bin/python3", "-s", "-B", "/src/main.py"}, {{"main.py", "print(6 * 7)"}}, "", {});
  EXPECT_TRUE(r.ok()) << r.error << r.err;
  EXPECT_EQ(r.out, "42\n");
  if (!HasFailure()) _exit(42);
}

// Without namespaces a trainer that is not root runs programs as its own uid, and they see /proc: one could
// write into the trainer's memory through /proc/<trainer>/mem, or reach its descriptors through
// /proc/<trainer>/fd: rewrite another run's plan before that run's init read it (its argv, limits, seccomp
// filter), or chmod the init program and hold it open for writing, which made every later run fail. The
// trainer makes itself non-dumpable before such runs, which closes those files to them. As nobody when this
// runs as root (root's runs get uids of their own, which cannot open the trainer's files anyway), in a fresh
// process (non-dumpable, it could not run programs in a user namespace any more).
TEST(Sandbox, AProgramCannotRewriteAnotherRunsPlanOrTheInit) {
  if (geteuid() != 0) GTEST_SKIP() << "run by the test below, as nobody, from a root test run";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const uid_t nobody = 65534;
    if (setgroups(0, nullptr) == 0 && setresgid(nobody, nobody, nobody) == 0 &&
        setresuid(nobody, nobody, nobody) == 0)
      execl("/proc/self/exe", "test_sandbox", "--gtest_also_run_disabled_tests",
            "--gtest_filter=Sandbox.DISABLED_ProgramsOfThisUserCannotRewritePlans",
            static_cast<char*>(nullptr));
    _exit(77);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child ended by signal " << WTERMSIG(status);
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "could not become nobody or exec";
  EXPECT_EQ(WEXITSTATUS(status), 42) << "a run ran a plan or an init another program rewrote";
}

TEST(Sandbox, DISABLED_ProgramsOfThisUserCannotRewritePlans) {
  detail::close_proc_files_to_programs();  // as run_in_sandbox does where it has no namespaces
  std::atomic<bool> done{false};
  SandboxRun attack;
  std::thread attacker([&] {
    SandboxLimits lim;
    lim.wall_seconds = 8;
    lim.cpu_seconds = 8;
    lim.require_isolation = false;
    attack = detail::run_without_namespaces({"/usr/bin/python3", "-c", R"py(
import os, time
trainer = os.getppid()
writes = {"plan": 0, "init": 0, "mem": 0}
start = time.time()
while time.time() - start < 3:
    try:
        with open(f"/proc/{trainer}/mem", "r+b") as mem:
            writes["mem"] += 1
    except OSError:
        pass
    try:
        fds = os.listdir(f"/proc/{trainer}/fd")
    except OSError:
        continue
    for fd in fds:
        path = f"/proc/{trainer}/fd/{fd}"
        try:
            target = os.readlink(path)
            kinds = [k for k in ("plan", "init") if f"seek-sandbox-{k}" in target]
            if not kinds:
                continue
            kind = kinds[0]
            os.chmod(path, 0o700)
            with open(path, "r+b") as f:
                data = f.read()
                at = data.find(b"print(1)") if kind == "plan" else 0
                if at >= 0:
                    f.seek(at)
                    f.write(b"print(7)" if kind == "plan" else b"\x00")
                    f.flush()
                    writes[kind] += 1
        except OSError:
            pass
print(writes["plan"], writes["init"], writes["mem"])
)py"},
                                            {}, "", lim);
    done = true;
  });
  int runs = 0, refused = 0, wrong = 0;
  std::string first_refusal;
  while (!done) {
    SandboxLimits lim;
    lim.wall_seconds = 5;
    lim.require_isolation = false;
    const SandboxRun r =
        detail::run_without_namespaces({"/usr/bin/python3", "-S", "-c", "print(1)"}, {}, "", lim);
    ++runs;
    if (!r.ok()) {
      if (refused++ == 0) first_refusal = r.error + r.err;
    } else if (r.out != "1\n") {
      ++wrong;
    }
  }
  attacker.join();
  ASSERT_TRUE(attack.ok()) << attack.error << attack.err;
  std::printf(
      "%d runs, %d refused (the first: %s), %d ran something else; the attacker's writes (plan, init, "
      "trainer's memory): %s",
      runs, refused, first_refusal.c_str(), wrong, attack.out.c_str());
  EXPECT_EQ(wrong, 0);
  EXPECT_GT(runs, 10);
  EXPECT_EQ(refused, 0) << first_refusal;
  EXPECT_EQ(attack.out, "0 0 0\n") << "the attacker reached the trainer's files";
  std::fflush(stdout);
  if (!HasFailure()) _exit(42);
}

// Without namespaces there is no /src: the files' paths are rewritten to where they were written (the code
// reward's "/src/solution.py" failed to open, and a require_isolation: false run scored every completion 0).
TEST(Sandbox, FilesAreFoundWithoutNamespacesToo) {
  SandboxLimits lim;
  lim.require_isolation = false;
  auto r = detail::run_without_namespaces({"/usr/bin/python3", "-s", "-B", "/src/main.py"},
                                          {{"main.py", "print(int(input()) * 2)"}}, "21\n", lim);
  ASSERT_TRUE(r.started) << r.error;
  EXPECT_TRUE(r.ok()) << r.err;
  EXPECT_EQ(r.out, "42\n");
}

// Without a network namespace, socket(AF_UNIX) reached a host service listening on an abstract address
// ("\0name", which has no file permissions to stop it). There no socket can be made; socketpair (what
// multiprocessing.Pipe uses) still works. With namespaces AF_UNIX stays allowed, its own namespace's only.
TEST(Sandbox, ARunWithoutNamespacesCannotReachAbstractSockets) {
  const int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(srv, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string name = "seek-test-abstract-" + std::to_string(::getpid());
  std::memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract
  const socklen_t len = socklen_t(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  ASSERT_EQ(bind(srv, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(listen(srv, 4), 0);
  const std::string program =
      "import socket\ntry:\n    s = socket.socket(socket.AF_UNIX)\n    s.connect('\\0" + name +
      "')\n    print('connected')\nexcept OSError as e:\n    print('denied', e.errno)\n"
      "a, b = socket.socketpair()\na.sendall(b'pair')\nprint(b.recv(4).decode())\n";
  SandboxLimits lim;
  lim.require_isolation = false;
  auto r = detail::run_without_namespaces({"/usr/bin/python3", "-c", program}, {}, "", lim);
  ASSERT_TRUE(r.started) << r.error;
  EXPECT_EQ(r.out, "denied 1\npair\n") << r.err;
  pollfd pf{srv, POLLIN, 0};
  EXPECT_EQ(poll(&pf, 1, 50), 0);  // nothing came to connect
  if (sandbox_support().namespaces) {
    r = run_in_sandbox({"/usr/bin/python3", "-c", program}, {}, "", {});
    EXPECT_EQ(r.out, "denied 111\npair\n") << r.err;  // ECONNREFUSED: another namespace's address
  }
  close(srv);
}

// Without a PID namespace, a descendant that left the program's process group (setsid and a double fork)
// outlived killpg, and as root the next run got the same uid back with that process still holding it (its
// fork failed once 31 of them squatted). Every process of the run's uid goes when the run ends.
TEST(Sandbox, ARunWithoutNamespacesLeavesNoProcessBehind) {
  if (geteuid() != 0) GTEST_SKIP() << "runs without namespaces take a uid of their own only as root";
  SandboxLimits lim;
  lim.require_isolation = false;
  auto r = detail::run_without_namespaces(
      {"/usr/bin/python3", "-c",
       "import os, time\nprint(os.getuid(), flush=True)\nif os.fork() == 0:\n    os.setsid()\n"
       "    if os.fork() == 0:\n        os.close(1)\n        os.close(2)\n        time.sleep(60)\n"
       "    os._exit(0)\nos.wait()\n"},
      {}, "", lim);
  ASSERT_TRUE(r.started) << r.error;
  ASSERT_TRUE(r.ok()) << r.err;
  const long uid = std::stol(r.out);
  ASSERT_GT(uid, 0);
  int left = 0;
  for (int tries = 0; tries < 50; ++tries) {  // SIGKILL is sent; the kernel takes a moment to end them
    left = 0;
    for (const auto& e : fs::directory_iterator("/proc")) {
      // A killed process whose parent is the machine's init stays a zombie until init reaps it: it holds
      // nothing, so only live ones count.
      std::ifstream status(e.path() / "status");
      std::string line;
      bool zombie = false;
      while (std::getline(status, line)) {
        if (line.rfind("State:", 0) == 0) zombie = line.find('Z') != std::string::npos;
        if (line.rfind("Uid:", 0) == 0) {
          left += !zombie && std::stol(line.substr(4)) == uid;
          break;
        }
      }
    }
    if (left == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(left, 0) << "processes of uid " << uid << " outlived the run";
}

// A program that leaves its stdin unread must not end the caller by SIGPIPE (run_in_sandbox blocks it in the
// feeding thread), the caller's mask comes back as it was, and the program itself starts with no signal
// blocked (a blocked mask is inherited across clone and exec).
TEST(Sandbox, UnreadInputNeitherKillsTheCallerNorLeaksItsSignalMask) {
  REQUIRE_ISOLATION();
  sigset_t before, after;
  pthread_sigmask(SIG_BLOCK, nullptr, &before);
  const std::string big(1 << 20, 'x');
  auto r = run_in_sandbox({"/usr/bin/python3", "-c",
                           "import signal\nprint(sorted(int(s) for s in signal.pthread_sigmask("
                           "signal.SIG_BLOCK, [])))"},
                          {}, big, {});
  EXPECT_TRUE(r.ok()) << r.error << r.err;
  EXPECT_EQ(r.out, "[]\n");
  pthread_sigmask(SIG_BLOCK, nullptr, &after);
  EXPECT_EQ(sigismember(&before, SIGPIPE), sigismember(&after, SIGPIPE));
}

TEST(CodeReward, CorrectPartialAndWrongSolutions) {
  REQUIRE_ISOLATION();
  std::vector<CodeTest> tests = {{"1 2\n", "3\n"}, {"10 20\n", "30"}, {"-1 1\n", "0\n"}, {"5 5\n", "10\n"}};
  EXPECT_EQ(code_score("a, b = map(int, input().split())\nprint(a + b)", tests), 1.0);
  // Right except for negative numbers: 3 of 4.
  EXPECT_EQ(code_score("a, b = map(int, input().split())\nprint(abs(a) + abs(b))", tests), 0.75);
  EXPECT_EQ(code_score("print(42)", tests), 0.0);
  EXPECT_EQ(code_score("syntax error here", tests), 0.0);
  // Output comparison: surrounding whitespace per line and trailing blank lines are ignored.
  EXPECT_EQ(code_score("print('  3  ')\nprint()\nprint()", {{"", "3"}}), 1.0);
  // A crash after printing the right output still fails.
  EXPECT_EQ(code_score("print(3)\nraise ValueError", {{"", "3"}}), 0.0);

  std::string asserts = "assert f(1) == 2\nassert f(2) == 3\nassert f(-1) == 0\nassert f(10) == 11";
  EXPECT_EQ(code_score("def f(x):\n    return x + 1", {}, asserts), 1.0);
  EXPECT_EQ(code_score("def f(x):\n    return abs(x) + 1", {}, asserts), 0.75);
  EXPECT_EQ(code_score("def g(x):\n    return x", {}, asserts), 0.0);
  // Exiting early or faking the harness's output does not pass anything.
  EXPECT_EQ(code_score("import os\nos._exit(0)", {}, asserts), 0.0);
  EXPECT_EQ(code_score("import sys\nsys.exit(0)", {}, asserts), 0.0);
  EXPECT_EQ(code_score("for i in range(4): print('SEEK pass', i)\ndef f(x): return -5", {}, asserts), 0.0);
  EXPECT_EQ(
      code_score("import builtins\nbuiltins.exec = lambda *a, **k: None\ndef f(x): return -5", {}, asserts),
      0.0);
  // A solution that forks had each process run the tests with another answer, and the union of their passes
  // scored it 1 (4/4 here); only the harness's own process counts, whether the fork is at import or inside
  // the function tested.
  const std::string prime =
      "assert is_prime(2)\nassert is_prime(3)\nassert not is_prime(4)\nassert not is_prime(9)";
  EXPECT_EQ(code_score("import os\n_pid = os.fork()\n_v = _pid == 0\nif _pid: os.waitpid(_pid, 0)\n"
                       "def is_prime(n): return _v",
                       {}, prime),
            0.5);
  EXPECT_EQ(code_score("import os\ndef is_prime(n):\n    if os.fork() == 0: return True\n"
                       "    os.wait()\n    return False",
                       {}, prime),
            0.5);
  // Nor can a copy tell its parent which answer failed: it went on to the next test only after a failure
  // (here leaving a file that the waiting parent reads to change its answer).
  EXPECT_EQ(code_score("import os\nME = os.getpid()\ndef f(x):\n    if x == 2:\n"
                       "        if os.getpid() != ME: open('leaked', 'w').close()\n        return 2\n"
                       "    pid = os.fork()\n    if pid == 0: return 0\n    os.waitpid(pid, 0)\n"
                       "    return 7 if os.path.exists('leaked') else 0",
                       {}, "assert f(1) == 7\nassert f(2) == 2"),
            0.5);
  // Nor can it take stdout over: with a pipe of its own on fd 1 (and the real stdout kept), it read the
  // nonce from the harness's next line and wrote "pass" lines for every test to the real stdout; a wrong
  // solution scored 1 every time. A pass line now carries its own test's secret.
  const std::string takeover =
      "import os, re, threading\nreal = os.dup(1)\nr, w = os.pipe()\nos.dup2(w, 1)\nforged = "
      "threading.Event()\n"
      "def pump():\n    buf = b''\n    while True:\n"
      "        for m in re.finditer(rb'(SEEK[0-9a-f]{32}) (pass|fail) (\\d+) ?(\\S*)', buf):\n"
      "            for i in range(64):\n"
      "                os.write(real, b'\\n%s pass %d %s\\n' % (m[1], i, m[4]))\n"
      "                os.write(real, b'\\n%s pass %d\\n' % (m[1], i))\n"
      "            forged.set()\n"
      "            return\n"
      "        buf += os.read(r, 4096)\n"
      "threading.Thread(target=pump, daemon=True).start()\n";
  // The harness writes the first test's line, then runs the second test, which waits for the forged lines.
  const std::string add = "assert add(1, 2) == 3\nassert add(2, 2) == 4\nassert add(0, 5) == 5\n";
  EXPECT_EQ(code_score(takeover + "def add(a, b):\n    forged.wait(3) if a != 1 else None\n    return 0\n",
                       {}, add),
            0.0);
  // Passing one test on its merits gives its secret, and with it no other test.
  EXPECT_EQ(code_score(takeover + "def add(a, b):\n    forged.wait(3) if a != 1 else None\n"
                                  "    return 3 if a == 1 else 0\n",
                       {}, add),
            1.0 / 3);
  // multiprocessing works (its locks need /dev/shm, which the private root lacked): its workers end by
  // os._exit and never reach the harness's results.
  EXPECT_EQ(code_score("from multiprocessing import Pool\ndef sq(x): return x * x\n"
                       "def f(xs):\n    with Pool(2) as p: return p.map(sq, xs)",
                       {}, "assert f([1, 2, 3]) == [1, 4, 9]\nassert f([]) == []"),
            1.0);
  // Setup statements in the tests run too; a text without asserts is one test.
  EXPECT_EQ(code_score("def f(x): return 2 * x", {}, "import math\nassert f(2) == 4"), 1.0);
  EXPECT_EQ(code_score("def f(x): return 2 * x", {}, "f(3)"), 1.0);
  EXPECT_EQ(code_score("def f(x): return 2 * x", {}, "f()"), 0.0);

  // Through the reward interface: the last ```python block counts, none gives 0, maths problems get NaN.
  auto reward = make_reward("code", {{"cpu_seconds", 1}, {"wall_seconds", 2}});
  Problem p;
  p.tests = tests;
  std::string two_blocks =
      "```python\nprint(0)\n```\nbetter:\n```python\na, b = map(int, input().split())\n"
      "print(a + b)\n```";
  EXPECT_EQ(reward->score({&p, two_blocks}), 1.0);
  EXPECT_EQ(reward->score({&p, "no code"}), 0.0);
  EXPECT_EQ(reward->score({&p, "<think>```python\nprint(3)\n```</think> nothing after"}), 0.0);
  Problem m;
  m.answer = "3";
  EXPECT_TRUE(std::isnan(reward->score({&m, fenced("print(3)")})));
}

TEST(SandboxContainment, InfiniteLoopIsKilled) {
  REQUIRE_ISOLATION();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(code_score("while True: pass", {{"", "x"}}), 0.0);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(s, 3.0);
  // A sleeping program uses no CPU: the wall clock stops it.
  t0 = std::chrono::steady_clock::now();
  auto r = run_in_sandbox({"/usr/bin/python3", "-c", "import time; time.sleep(60)"}, {}, "",
                          SandboxLimits{.cpu_seconds = 1, .wall_seconds = 0.5});
  EXPECT_TRUE(r.wall_timeout);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);
}

TEST(SandboxContainment, ForkBombIsContained) {
  REQUIRE_ISOLATION();
  auto t0 = std::chrono::steady_clock::now();
  std::string bomb =
      "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n";
  EXPECT_EQ(code_score(bomb, {{"", "x"}}), 0.0);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 4.0);
  // Nothing of it survives: no process is left with one of this test process's sandbox uids (as root the
  // sandbox gives each run a uid from 2e9 - (pid % 4096) * 256 - [0, 256)). Other test processes may run
  // sandboxes of their own at the same time, so only our range counts.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const long long top = 2000000000LL - (getpid() % 4096) * 256LL;
  int leftovers = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream st(e.path() / "status");
    std::string line;
    while (std::getline(st, line)) {
      if (line.rfind("Uid:", 0) == 0) {
        long long uid = std::stoll(line.substr(4));
        leftovers += uid <= top && uid > top - 256;
      }
    }
  }
  EXPECT_EQ(leftovers, 0);
  // The caller still runs (and can still run sandboxes).
  EXPECT_EQ(code_score("print(1)", {{"", "1"}}), 1.0);
}

TEST(SandboxContainment, MemoryHogIsStopped) {
  REQUIRE_ISOLATION();
  EXPECT_EQ(code_score("x = bytearray(1 << 30)\nprint('allocated')", {{"", "allocated"}}), 0.0);
  EXPECT_EQ(code_score("x = []\nwhile True: x.append(' ' * 10**6)", {{"", "x"}}), 0.0);
  EXPECT_EQ(code_score("x = bytearray(1 << 20)\nprint('small')", {{"", "small"}}), 1.0);
}

TEST(SandboxContainment, NoNetwork) {
  REQUIRE_ISOLATION();
  // A listener on the host's loopback; the sandboxed program tries to reach it.
  int srv = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(srv, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(srv, 4), 0);
  socklen_t len = sizeof addr;
  getsockname(srv, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  std::string code = fmt::format(
      "import socket\ns = socket.create_connection(('127.0.0.1', {}), timeout=1)\ns.sendall(b'leak')\n"
      "print('connected')",
      port);
  EXPECT_EQ(code_score(code, {{"", "connected"}}), 0.0);
  // Even without seccomp's socket rule, the namespace has no route to the host: nothing arrived.
  pollfd pf{srv, POLLIN, 0};
  EXPECT_EQ(poll(&pf, 1, 100), 0);
  close(srv);
  auto r = run_in_sandbox({"/usr/bin/python3", "-c",
                           "import socket\ntry:\n    socket.socket(socket.AF_INET)\n    print('socket')\n"
                           "except OSError as e:\n    print('denied', e.errno)"},
                          {}, "", {});
  EXPECT_EQ(r.out.substr(0, 6), "denied") << r.out << r.err;
}

TEST(SandboxContainment, CannotReadOrWriteTheTrainersFiles) {
  REQUIRE_ISOLATION();
  HostDir host;
  fs::path secret = host.dir / "secret.txt";
  std::ofstream(secret) << "top-secret-token";
  fs::permissions(secret, fs::perms::all);  // even world-readable: the sandbox cannot see the path at all
  std::string read_code = fmt::format("print(open('{}').read())", secret.string());
  EXPECT_EQ(code_score(read_code, {{"", "top-secret-token"}}), 0.0);
  // Nor through /proc (not mounted) or the parent's open files.
  EXPECT_EQ(code_score("import os\nprint(sorted(os.listdir('/')))", {{"", "x"}}), 0.0);
  auto listing =
      run_in_sandbox({"/usr/bin/python3", "-c", "import os\nprint(sorted(os.listdir('/')))"}, {}, "", {});
  EXPECT_EQ(listing.out.find("work'"), listing.out.find("work'"));
  EXPECT_EQ(listing.out.find("root"), std::string::npos) << listing.out;
  EXPECT_EQ(listing.out.find("proc"), std::string::npos) << listing.out;

  fs::path target = host.dir / "pwned.txt";
  std::string write_code = fmt::format("open('{}', 'w').write('x')\nprint('wrote')", target.string());
  EXPECT_EQ(code_score(write_code, {{"", "wrote"}}), 0.0);
  EXPECT_FALSE(fs::exists(target));
  // /usr is read-only; /work and /tmp are writable but private and size-limited.
  EXPECT_EQ(code_score("open('/usr/pwned', 'w').write('x')\nprint('wrote')", {{"", "wrote"}}), 0.0);
  EXPECT_FALSE(fs::exists("/usr/pwned"));
  EXPECT_EQ(
      code_score("open('/work/a.txt', 'w').write('ok')\nprint(open('/work/a.txt').read())", {{"", "ok"}}),
      1.0);
  EXPECT_EQ(code_score("open('/tmp/big', 'wb').write(b'x' * (64 << 20))\nprint('wrote')", {{"", "wrote"}}),
            0.0);
}

// The read-only remount of /usr covered its top mount only: a writable folder mounted below it stayed
// writable, to the host. Here, in this test process's own mount namespace (root only), a world-writable
// folder is mounted on /usr/local.
TEST(SandboxContainment, MountsBelowTheSystemFoldersAreReadOnlyToo) {
  REQUIRE_ISOLATION();
  if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0 ||
      mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    GTEST_SKIP() << "needs root to mount a folder under /usr in a private mount namespace";
  HostDir host;
  ASSERT_EQ(mount(host.dir.c_str(), "/usr/local", nullptr, MS_BIND, nullptr), 0) << strerror(errno);
  EXPECT_EQ(code_score("open('/usr/local/pwned', 'w').write('x')\nprint('wrote')", {{"", "wrote"}}), 0.0);
  EXPECT_FALSE(fs::exists(host.dir / "pwned"));
  // Still readable, as the rest of /usr is.
  std::ofstream(host.dir / "note.txt") << "visible";
  fs::permissions(host.dir / "note.txt", fs::perms::all);
  EXPECT_EQ(code_score("print(open('/usr/local/note.txt').read())", {{"", "visible"}}), 1.0);
  umount2("/usr/local", MNT_DETACH);
}

// memory_mb bounds each process's address space, not memory held in anonymous files: memfd_create is
// refused (60 files of 15 MiB held 900 MB under a memory_mb of 64). And whatever a run holds, it is the first
// the OOM killer takes, not the trainer.
TEST(SandboxContainment, MemoryOutsideTheLimitsIsRefusedAndRunsGoFirstOnOom) {
  REQUIRE_ISOLATION();
  auto r = run_in_sandbox({"/usr/bin/python3", "-c",
                           "import os\ntry:\n    os.memfd_create('x')\n    print('made')\n"
                           "except PermissionError:\n    print('refused')\n"},
                          {}, "", {});
  ASSERT_TRUE(r.started) << r.error;
  EXPECT_EQ(r.out, "refused\n") << r.err;
  // System V shared memory too: 64 segments of 32 MiB held 2 GB under a memory_mb of 64.
  r = run_in_sandbox({"/usr/bin/python3", "-c",
                      "import ctypes, errno\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                      "r = libc.shmget(0, 1 << 25, 0o1600)\n"
                      "print('refused' if r == -1 and ctypes.get_errno() == errno.EPERM else 'made')\n"},
                     {}, "", {});
  ASSERT_TRUE(r.started) << r.error;
  EXPECT_EQ(r.out, "refused\n") << r.err;
  SandboxLimits plain;
  plain.require_isolation = false;
  r = detail::run_without_namespaces(
      {"/usr/bin/python3", "-c", "print(open('/proc/self/oom_score_adj').read())"}, {}, "", plain);
  ASSERT_TRUE(r.started) << r.error;
  EXPECT_EQ(r.out, "1000\n\n") << r.err;
}

// Root inside a user namespace (rootless podman, unprivileged LXC) cannot give a run a uid the namespace
// does not map: the sandbox refused to start there ("creating /work, /tmp and /src failed") although a user
// namespace of its own works. This test binary runs one sandbox test as root of a new user namespace.
TEST(SandboxContainment, RootInAUserNamespaceStillIsolates) {
  REQUIRE_ISOLATION();
  if (std::system("unshare -U -r true >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "unshare -U -r is not available here";
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  const std::string cmd = "unshare -U -r " + self +
                          " --gtest_filter=Sandbox.RunsPythonWithStdin:Sandbox.ReportsWhatIsAvailable 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << out;
  EXPECT_NE(out.find("user+namespaces(net,pid,mount,ipc,uts) private-root"), std::string::npos) << out;
}

TEST(SandboxContainment, OutputFloodIsCut) {
  REQUIRE_ISOLATION();
  CodeRunOptions o = test::fast_code_run();
  o.limits.max_output_bytes = 1 << 16;
  auto r = run_in_sandbox({"/usr/bin/python3", "-c", "while True: print('x' * 1000)"}, {}, "", o.limits);
  EXPECT_TRUE(r.output_limit);
  EXPECT_LE(r.out.size(), size_t(1) << 16);
}

// The limit counted seek's own 12-byte status reports as output: under 12 bytes every run ended as an
// output flood, a program that printed nothing too, and the interpreter check blamed the Python install.
TEST(SandboxContainment, TheOutputLimitCountsOnlyWhatTheProgramPrints) {
  REQUIRE_ISOLATION();
  CodeRunOptions o = test::fast_code_run();
  o.limits.max_output_bytes = 1;
  auto r = run_in_sandbox({"/usr/bin/python3", "-c", "pass"}, {}, "", o.limits);
  EXPECT_FALSE(r.output_limit) << r.error;
  EXPECT_EQ(r.exit_code, 0) << r.error;
  r = run_in_sandbox({"/usr/bin/python3", "-c", "print('ab')"}, {}, "", o.limits);
  EXPECT_TRUE(r.output_limit);
  EXPECT_EQ(r.out, "a");
}

TEST(SandboxContainment, ManyConcurrentRuns) {
  REQUIRE_ISOLATION();
  std::vector<double> scores(8, -1);
  std::vector<std::string> details(8);
  std::vector<std::thread> pool;
  for (int i = 0; i < 8; ++i) {
    pool.emplace_back([&, i] {
      // Half of them fork-bomb at the same time; the others must still pass.
      std::string code = i % 2 ? "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass"
                               : fmt::format("print({})", i);
      // Without cgroups the bombs' processes share the CPUs with the good runs, so those get wall-clock
      // headroom; the point is that a bomb's process limit (its own uid) does not stop the others.
      CodeRunOptions o = test::fast_code_run();
      if (i % 2 == 0) o.limits.wall_seconds = 15;
      auto r = run_code_tests(code, {{"", std::to_string(i)}}, "", o);
      scores[size_t(i)] = r.score();
      details[size_t(i)] = r.detail;
    });
  }
  for (auto& t : pool) t.join();
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(scores[size_t(i)], i % 2 ? 0.0 : 1.0) << i << ": " << details[size_t(i)];
}

}  // namespace
}  // namespace seek::reward
