// The parent side of the sandbox (see sandbox.hpp): prepare the run folder and the child's plan, clone,
// feed stdin and collect stdout/stderr under the wall-clock and output limits, kill the process tree, clean
// up.
#include "reward/sandbox.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bitset>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>

#include "core/fd.hpp"
#include "core/sigpipe_blocked.hpp"
#include "core/stop_signal.hpp"
#include "reward/sandbox_child.hpp"
#include "reward/sandbox_init_image.hpp"
#include "reward/sandbox_plan.hpp"
#include "reward/seccomp_filter.hpp"

namespace seek::reward {

namespace fs = std::filesystem;
using detail::ChildPlan;
using detail::ChildReport;

namespace {

// seek's own reports from a run are a handful of ChildReports; more than this is kept no further.
constexpr size_t kMaxReportBytes = 64 * sizeof(ChildReport);

// Each concurrent run as root gets its own uid, so RLIMIT_NPROC (counted per uid) of one run is not eaten
// by another. The base keeps clear of normal accounts; the process id spreads concurrent trainers apart.
constexpr int kUidSlots = 256;
std::mutex g_slot_mutex;
std::bitset<kUidSlots> g_slots_used;

int acquire_uid_slot() {
  std::lock_guard lock(g_slot_mutex);
  for (int i = 0; i < kUidSlots; ++i) {
    if (!g_slots_used[i]) {
      g_slots_used[i] = true;
      return i;
    }
  }
  return -1;
}
void release_uid_slot(int slot) {
  if (slot < 0) return;
  std::lock_guard lock(g_slot_mutex);
  g_slots_used[slot] = false;
}
int uid_for_slot(int slot) {
  return 2000000000 - int((getpid() % 4096) * kUidSlots) - slot;
}

bool make_pipe(Fd& r, Fd& w) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return false;
  r.fd = p[0];
  w.fd = p[1];
  return true;
}

// The host's system folders as the private root shows them: symlinks copied (usr-merged systems link /bin,
// /lib, /lib64 into /usr), folders bound read-only. Nothing else of the host is visible.
struct SystemEntry {
  std::string name, symlink;
};
std::vector<SystemEntry> system_entries() {
  std::vector<SystemEntry> out;
  for (const char* name : {"usr", "bin", "lib", "lib64", "lib32", "sbin"}) {
    fs::path p = fs::path("/") / name;
    std::error_code ec;
    auto st = fs::symlink_status(p, ec);
    if (ec || !fs::exists(st)) continue;
    if (fs::is_symlink(st)) {
      out.push_back({name, fs::read_symlink(p, ec).string()});
    } else if (fs::is_directory(st)) {
      out.push_back({name, ""});
    }
  }
  return out;
}

// Writes `content` to a new file at `path` (0644); false with `error` set when it cannot be written whole: a
// file cut short (a full /dev/shm or /tmp) ran as the program's syntax error, so a correct solution scored 0
// as if wrong. The run could not start.
bool write_whole_file(const std::string& path, std::string_view content, std::string& error) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = fmt::format("sandbox: cannot write {}: {}", path, strerror(errno));
    return false;
  }
  size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      close(fd);
      error = fmt::format("sandbox: cannot write {}: {}", path, strerror(err));
      return false;
    }
    off += size_t(n);
  }
  if (close(fd) != 0) {
    error = fmt::format("sandbox: cannot write {}: {}", path, strerror(errno));
    return false;
  }
  return true;
}

enum class Mode { UserNamespace, Namespaces, Plain };

// Everything the child reads, owned here so the pointers in ChildPlan stay valid until the clone.
struct Prepared {
  std::deque<std::string>
      strings;  // a deque: push_back never moves the strings (short ones hold their bytes)
  std::vector<detail::BindEntry> binds;
  std::vector<const char*> dirs;
  std::vector<mode_t> dir_modes;
  std::vector<char*> argv, envp;
  std::vector<std::string> argv_store, envp_store;
  std::string uid_map, gid_map;
  const char* keep(std::string s) {
    strings.push_back(std::move(s));
    return strings.back().c_str();
  }
};

struct Launch {
  pid_t pid = -1;
  int clone_errno = 0;
  // A step of starting the exec'd init that failed before the clone; -1: the clone failed.
  int failed_step = -1;
};

// Linux 6.3's memfd flags (kernels since warn about a memfd_create that gives neither): MFD_EXEC asks for an
// executable memfd where vm.memfd_noexec makes them not, MFD_NOEXEC_SEAL for one that can never be executed.
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
constexpr int kSealExec = 0x0020;  // F_SEAL_EXEC, Linux 6.3

// A memfd holding `bytes`, sealed against every change (and against chmod of its exec bits, Linux 6.3), with
// file mode `mode`, or -errno. No sandboxed program can reach it: with namespaces they see no /proc of the
// trainer, as other uids they may not open its descriptors, and a trainer whose programs have its own uid
// makes itself non-dumpable first (close_proc_files_to_programs). The mode and the read-back after sealing
// are a second wall: what anything wrote before the seal is caught, and a mapping that blocks the seal fails
// the run.
int sealed_memfd(const char* name, std::string_view bytes, mode_t mode, unsigned flags,
                 unsigned fallback_flags) {
  int m = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | flags);
  if (m < 0 && errno == EINVAL) m = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | fallback_flags);
  if (m < 0) return -errno;
  Fd fd(m);
  if (fchmod(fd.fd, mode) != 0) return -errno;
  for (size_t off = 0; off < bytes.size();) {
    const ssize_t n = write(fd.fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? -errno : -EIO;
    off += size_t(n);
  }
  // EBUSY where someone holds a writable mapping of it; EINVAL for F_SEAL_EXEC before Linux 6.3.
  const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL;
  if (fcntl(fd.fd, F_ADD_SEALS, seals | kSealExec) != 0 &&
      (errno != EINVAL || fcntl(fd.fd, F_ADD_SEALS, seals) != 0))
    return -errno;
  struct stat st {};
  if (fstat(fd.fd, &st) != 0 || st.st_size != off_t(bytes.size())) return -EBADMSG;
  std::string back(bytes.size(), '\0');
  for (size_t off = 0; off < back.size();) {
    const ssize_t n = pread(fd.fd, back.data() + off, back.size() - off, off_t(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -EBADMSG;
    off += size_t(n);
  }
  if (back != bytes) return -EBADMSG;
  if (lseek(fd.fd, 0, SEEK_SET) != 0) return -errno;  // read from the start (the writes moved the offset)
  const int out = fd.fd;
  fd.fd = -1;
  return out;
}

// The seek-sandbox-init program in a sealed memfd, made once per process; -1 where that fails.
int init_program_fd() {
  static const int fd = [] {
    const int m = sealed_memfd("seek-sandbox-init", detail::sandbox_init_image(), 0500, MFD_EXEC, 0);
    return m < 0 ? -1 : m;
  }();
  return fd;
}

// Whether runs start the exec'd init: cleared by the probe where it cannot start (a kernel refusing to
// execute memfds, vm.memfd_noexec = 2), and then runs start the init as a copy of this process. So does
// SEEK_SANDBOX_INIT=copy (the test suite runs the sandbox's tests both ways).
std::atomic<bool> exec_init_usable{[] {
  const char* choice = std::getenv("SEEK_SANDBOX_INIT");
  return !(choice && std::string_view(choice) == "copy");
}()};

struct InitStart {
  const ChildPlan* plan;
  int image_fd, plan_fd;
};

[[noreturn]] void init_start_failed(int report_fd, int32_t step, int err) {
  detail::report(report_fd, detail::kReportSetupFailed, step, err);
  _exit(126);
}

// Runs fn(arg) in a child that shares this process's memory, vfork-style (this thread waits until the child
// executes a program or exits), on a stack of its own; so the child only makes system calls. Returns the
// child's pid, or -1 with `err` set.
pid_t clone_sharing_memory(int (*fn)(void*), void* arg, unsigned long flags, int& err) {
  constexpr size_t kStackBytes = size_t(64) << 10;
  void* stack =
      mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    err = errno;
    return -1;
  }
  mprotect(stack, size_t(getpagesize()), PROT_NONE);  // a guard page below it
  // No handler of this process may run in the child while it shares this memory: every signal stays blocked
  // until its exec or exit (an exec resets the handlers to their defaults). The raw system call, because
  // glibc's wrappers leave its own two internal signals unblocked.
  constexpr size_t kKernelSigsetBytes = (_NSIG - 1) / 8;
  uint64_t all[2] = {~uint64_t(0), ~uint64_t(0)}, old[2] = {};
  static_assert(kKernelSigsetBytes <= sizeof all);
  sigset_t glibc_all, glibc_old;
  sigfillset(&glibc_all);
  const bool raw = syscall(SYS_rt_sigprocmask, SIG_SETMASK, all, old, kKernelSigsetBytes) == 0;
  if (!raw) pthread_sigmask(SIG_SETMASK, &glibc_all, &glibc_old);
  const pid_t pid =
      clone(fn, static_cast<char*>(stack) + kStackBytes, int(flags | CLONE_VM | CLONE_VFORK), arg);
  if (pid < 0) err = errno;
  if (raw)
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, old, nullptr, kKernelSigsetBytes);
  else
    pthread_sigmask(SIG_SETMASK, &glibc_old, nullptr);
  munmap(stack, kStackBytes);
  return pid;
}

// Without a PID namespace, a program's descendants that left its process group (setsid, a double fork)
// outlive killpg, and as root the next run got the same uid back: they held its RLIMIT_NPROC (its fork
// failed) and ran beside it. kill(-1) from a process whose effective uid is the run's reaches exactly that
// uid's processes (and not the caller). The child takes the run's uid as its effective uid only, with a
// real and saved uid of its own (`sweeper`, used by nothing else), so the processes it hunts cannot signal
// it (a SIGSTOP from one would leave this thread waiting for ever), and with the raw system call, which
// changes only the child (glibc's setresuid would signal every thread of the process whose memory it
// shares). Where the uid change kept the power to signal anyone (SECBIT_NO_SETUID_FIXUP), kill(-1) would
// reach every process: the child checks that it can no longer signal its root parent first.
struct Sweep {
  long uid, sweeper;
};
int kill_all_of_uid(void* arg) {
  const Sweep& s = *static_cast<const Sweep*>(arg);
  if (syscall(SYS_setresuid, s.sweeper, s.uid, s.sweeper) != 0) syscall(SYS_exit, 1);
  if (syscall(SYS_kill, syscall(SYS_getppid), 0) == 0 || errno != EPERM) syscall(SYS_exit, 1);
  for (int round = 0; round < 100 && syscall(SYS_kill, -1, SIGKILL) == 0; ++round) {
  }
  syscall(SYS_exit, 0);
  return 0;
}

// `uid` is one of the pool's (uid_for_slot); its sweeper is the uid mirrored above the pool, which no run
// has.
void kill_every_process_of(int uid) {
  Sweep s{uid, 4000000001L - uid};
  int err = 0;
  const pid_t pid = clone_sharing_memory(kill_all_of_uid, &s, SIGCHLD, err);
  if (pid > 0)
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
}

// The vfork-style child that becomes seek-sandbox-init: it shares this process's memory (this thread waits,
// with every signal blocked, until its exec), so it only makes system calls. It writes the user namespace's
// maps here (the exec would drop the namespace's capabilities of a uid that is not mapped yet), puts its
// pipes and the plan on the InitFd descriptors and executes the init program.
int start_init(void* arg) {
  const InitStart& s = *static_cast<const InitStart*>(arg);
  const ChildPlan& p = *s.plan;
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);  // kept across the exec: the trainer dying takes the run along
  if (p.user_ns && !detail::write_user_maps(p)) init_start_failed(p.report_fd, detail::kStepUserMap, errno);
  const int from[] = {p.stdin_fd, p.stdout_fd, p.stderr_fd, p.report_fd, s.plan_fd};
  const int to[] = {detail::kInitStdin, detail::kInitStdout, detail::kInitStderr, detail::kInitReport,
                    detail::kInitPlan};
  int high[5];
  for (int i = 0; i < 5; ++i) {
    // Above every target first, so that no dup2 below closes a descriptor still to be moved.
    high[i] = fcntl(from[i], F_DUPFD_CLOEXEC, 10);
    if (high[i] < 0) init_start_failed(p.report_fd, detail::kStepStartInit, errno);
  }
  // From here p.report_fd may be one of the targets: failures go to its copy.
  for (int i = 0; i < 5; ++i)
    if (dup2(high[i], to[i]) < 0) init_start_failed(high[3], detail::kStepStartInit, errno);
  char name[] = "seek-sandbox-init";
  char* const argv[] = {name, nullptr};
  char* const envp[] = {nullptr};
  syscall(SYS_execveat, s.image_fd, "", argv, envp, AT_EMPTY_PATH);
  init_start_failed(detail::kInitReport, detail::kStepStartInit, errno);
}

// Starts seek-sandbox-init with the plan: no copy of this process is made at any point.
Launch launch_exec_init(unsigned long flags, ChildPlan plan) {
  Launch l;
  const auto failed = [&](int err) {
    l.failed_step = detail::kStepStartInit;
    l.clone_errno = err;
    return l;
  };
  plan.maps_written = plan.user_ns;  // start_init writes them before the exec
  const int sealed = sealed_memfd("seek-sandbox-plan", detail::encode_plan(plan), 0400, MFD_NOEXEC_SEAL, 0);
  if (sealed < 0) return failed(-sealed);
  Fd plan_fd(sealed);
  InitStart start{&plan, init_program_fd(), plan_fd.fd};
  int err = 0;
  l.pid = clone_sharing_memory(start_init, &start, flags, err);
  if (l.pid < 0) l.clone_errno = err;
  return l;
}

// Starts the child in the given mode: the exec'd init where it works, else a copy of this process that runs
// child_main itself (its clone copies the page tables of everything this process holds).
Launch launch(Mode mode, ChildPlan& plan) {
  unsigned long flags = SIGCHLD;
  if (mode != Mode::Plain) flags |= CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
  if (mode == Mode::UserNamespace) flags |= CLONE_NEWUSER;
  if (exec_init_usable && init_program_fd() >= 0) return launch_exec_init(flags, plan);
  // A raw clone (not fork): no atfork handlers run in a child of a multi-threaded process, and the
  // namespace flags apply to the child only.
  pid_t pid = pid_t(syscall(SYS_clone, flags, 0, 0, 0, 0));
  if (pid == 0) detail::child_main(plan);
  Launch l;
  l.pid = pid;
  if (pid < 0) l.clone_errno = errno;
  return l;
}

struct Outcome {
  SandboxRun run;
  bool setup_failed = false;
  int failed_step = -1, failed_errno = 0;
};

// Where a run's folder goes. With a mount namespace the folder holds only the program's files and the empty
// mount points of its private root (what the program writes goes to a tmpfs of its own), so it goes on
// /dev/shm when that is a writable tmpfs: directory operations on a disk file system can be slow (on this
// machine's ext4 /tmp creating and removing the folder cost more than the rest of a run; bench_sandbox.cpp
// measures a run). Not when /dev/shm is mounted noexec (as in Docker): in a user namespace that flag is
// locked, and the read-only remount of the /src bind, which does not repeat it, would fail. Without a mount
// namespace the program writes into the folder's work/, which stays in the temporary directory, where it
// always did.
fs::path shared_memory_folder() {
  static const fs::path shm = [] {
    struct statfs fs_type {};
    struct statvfs flags {};
    const bool usable = statfs("/dev/shm", &fs_type) == 0 && fs_type.f_type == TMPFS_MAGIC &&
                        statvfs("/dev/shm", &flags) == 0 && !(flags.f_flag & (ST_NOEXEC | ST_RDONLY)) &&
                        access("/dev/shm", W_OK | X_OK) == 0;
    return usable ? fs::path("/dev/shm") : fs::path();
  }();
  return shm;
}

// Set by the probe when runs with namespaces failed with their folder on /dev/shm and then worked in the
// temporary directory (a /dev/shm that is full, out of inodes, or refuses the run's mounts for a reason the
// checks above do not see): every later run then goes there too.
std::atomic<bool> shared_memory_refused{false};

fs::path temporary_folder() {
  std::error_code ec;
  fs::path base = fs::temp_directory_path(ec);
  return ec ? fs::path("/tmp") : base;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One attempt in one mode; the caller downgrades the mode when the namespaces cannot be made.
Outcome attempt(Mode mode, const std::vector<std::string>& argv, const std::vector<SandboxFile>& files,
                std::string_view stdin_data, const SandboxLimits& lim, bool probe) {
  Outcome o;
  SandboxRun& run = o.run;
  std::error_code ec;
  const bool on_shared_memory =
      mode != Mode::Plain && !shared_memory_folder().empty() && !shared_memory_refused;
  const fs::path base = on_shared_memory ? shared_memory_folder() : temporary_folder();
  // The process id in the name lets a later process remove the folder should this one be killed outright
  // (remove_stale_run_folders).
  std::string templ = (base / fmt::format("seek-sandbox-{}-XXXXXX", getpid())).string();
  if (!mkdtemp(templ.data())) {
    run.error =
        fmt::format("sandbox: cannot create a run folder under {}: {}", base.string(), strerror(errno));
    return o;
  }
  fs::path dir = templ;
  // Held locked for the whole run: a folder whose process id looks dead to another trainer (one in another
  // PID namespace sharing /dev/shm or /tmp sees every pid here as dead) is still in use while locked, and
  // remove_stale_run_folders leaves it alone.
  Fd in_use(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (in_use.fd >= 0) flock(in_use.fd, LOCK_EX);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code e;
      fs::remove_all(dir, e);
    }
  } cleanup{dir};
  // Other users may not read the run's files: with namespaces only this process (and the init, as root or as
  // this user in its user namespace) opens the folder, the program sees /src through its bind. Without them
  // the program, under its own uid, works in the folder itself.
  chmod(dir.c_str(), mode == Mode::Plain ? 0755 : 0700);
  fs::create_directories(dir / "src", ec);
  fs::create_directories(dir / "root", ec);
  fs::create_directories(dir / "work", ec);
  for (const auto& f : files) {
    if (f.name.empty() || f.name.find('/') != std::string::npos || f.name == "." || f.name == "..") {
      run.error = fmt::format("sandbox: bad file name '{}'", f.name);
      return o;
    }
    std::string path = (dir / "src" / f.name).string();
    if (!write_whole_file(path, f.content, run.error)) return o;
    chmod(path.c_str(), 0644);
  }
  chmod((dir / "src").c_str(), 0755);

  Prepared prep;
  ChildPlan plan;
  bool root = geteuid() == 0;
  int slot = -1;
  // A run without a PID namespace may leave processes of its uid behind: they go before the uid is free.
  struct SlotGuard {
    int& slot;
    bool kill_leftovers;
    ~SlotGuard() {
      if (slot >= 0 && kill_leftovers) kill_every_process_of(uid_for_slot(slot));
      release_uid_slot(slot);
    }
  } slot_guard{slot, mode == Mode::Plain};
  if (root) {
    slot = acquire_uid_slot();
    if (slot < 0) {
      run.error = fmt::format("sandbox: more than {} concurrent runs", kUidSlots);
      return o;
    }
    plan.sandbox_uid = uid_for_slot(slot);
  }
  plan.user_ns = mode == Mode::UserNamespace;
  plan.mount_ns = mode != Mode::Plain;
  plan.pid_ns = mode != Mode::Plain;
  plan.probe_only = probe;
  if (plan.user_ns) {
    plan.sandbox_uid = -1;
    prep.uid_map = fmt::format("0 {} 1", geteuid());
    prep.gid_map = fmt::format("0 {} 1", getegid());
    plan.uid_map = prep.uid_map.c_str();
    plan.gid_map = prep.gid_map.c_str();
    plan.setgroups_path = "/proc/self/setgroups";
  }
  std::string rootdir = (dir / "root").string();
  plan.root = prep.keep(rootdir);
  // The tmpfs holds /work and /tmp: its size bounds everything the program can write.
  plan.tmpfs_options = prep.keep(fmt::format("size={},nr_inodes=4096,mode=755", lim.max_file_bytes));
  for (const auto& e : system_entries()) {
    detail::BindEntry b{};
    b.target = prep.keep(rootdir + "/" + e.name);
    if (e.symlink.empty()) {
      b.host = prep.keep("/" + e.name);
    } else {
      b.symlink_target = prep.keep(e.symlink);
    }
    prep.binds.push_back(b);
  }
  // /dev/shm, on the same tmpfs: Python's multiprocessing makes its locks there (sem_open), and without it
  // multiprocessing.Pool and ProcessPoolExecutor failed with "No such file or directory".
  // Debian's alternatives: /usr/lib/x86_64-linux-gnu/libblas.so.3 links through /etc/alternatives, and
  // without it numpy did not import ("libblas.so.3: cannot open shared object file"), so every solution that
  // used it scored 0. Only that folder of /etc (symlinks to /usr) is shown.
  std::error_code alt_ec;
  if (fs::is_directory("/etc/alternatives", alt_ec)) {
    detail::BindEntry b{};
    b.target = prep.keep(rootdir + "/etc/alternatives");
    b.host = "/etc/alternatives";
    prep.binds.push_back(b);
  }
  for (const char* d : {"dev", "dev/shm", "etc", "tmp", "work", "src"}) {
    prep.dirs.push_back(prep.keep(rootdir + "/" + d));
    const bool shared = std::string_view(d) == "tmp" || std::string_view(d) == "dev/shm";
    prep.dir_modes.push_back(shared ? 01777 : 0755);
  }
  for (const char* dev : {"null", "zero", "urandom", "random"}) {
    std::string host = std::string("/dev/") + dev;
    if (access(host.c_str(), F_OK) != 0) continue;
    detail::BindEntry b{};
    b.target = prep.keep(rootdir + "/dev/" + dev);
    b.host = prep.keep(host);
    b.device = true;
    prep.binds.push_back(b);
  }
  plan.binds = prep.binds.data();
  plan.n_binds = int(prep.binds.size());
  plan.dirs = prep.dirs.data();
  plan.dir_modes = prep.dir_modes.data();
  plan.n_dirs = int(prep.dirs.size());
  plan.work_host = prep.keep(rootdir + "/work");
  plan.src_bind_target = prep.keep(rootdir + "/src");
  plan.src_host = prep.keep((dir / "src").string());
  if (plan.mount_ns) {
    plan.workdir = "/work";
  } else {
    plan.workdir = prep.keep((dir / "work").string());
    if (plan.sandbox_uid >= 0) {
      if (chown(plan.workdir, plan.sandbox_uid, plan.sandbox_uid) != 0) {
        run.error = fmt::format("sandbox: chown {}: {}", plan.workdir, strerror(errno));
        return o;
      }
    }
  }

  auto add_limit = [&](int res, rlim_t soft, rlim_t hard) {
    plan.limits[plan.n_limits++] = {res, rlimit{soft, hard}};
  };
  rlim_t cpu = rlim_t(std::max(1.0, std::ceil(lim.cpu_seconds)));
  add_limit(RLIMIT_CPU, cpu, cpu + 1);  // SIGXCPU at the soft limit, SIGKILL a second later
  add_limit(RLIMIT_AS, lim.memory_bytes, lim.memory_bytes);
  add_limit(RLIMIT_FSIZE, lim.max_file_bytes, lim.max_file_bytes);
  add_limit(RLIMIT_NOFILE, rlim_t(lim.max_open_files), rlim_t(lim.max_open_files));
  add_limit(RLIMIT_CORE, 0, 0);
  if (plan.sandbox_uid >= 0 || plan.user_ns) {
    add_limit(RLIMIT_NPROC, rlim_t(lim.max_processes), rlim_t(lim.max_processes));
  }
  plan.seccomp = detail::sandbox_seccomp_filter(mode != Mode::Plain);

  prep.argv_store = argv;
  // Without a mount namespace there is no /src: the files are where they were written ("/src/solution.py"
  // failed to open there, and every completion of a require_isolation: false run scored 0).
  if (!plan.mount_ns)
    for (auto& a : prep.argv_store)
      if (a.starts_with("/src/")) a = (dir / "src").string() + a.substr(4);
  for (auto& a : prep.argv_store) prep.argv.push_back(a.data());
  prep.argv.push_back(nullptr);
  // One thread per math library: OpenBLAS (numpy's BLAS where libopenblas is installed) starts a thread per
  // host core when loaded and exits the process if one cannot start, so on a host with more cores than
  // max_processes, `import numpy` failed and every solution using it scored 0. Threads would not help a run
  // anyway: its CPU limit counts all of them.
  prep.envp_store = {"PATH=/usr/bin:/bin",     "HOME=/work",           "TMPDIR=/tmp",
                     "LANG=C.UTF-8",           "PYTHONHASHSEED=0",     "PYTHONDONTWRITEBYTECODE=1",
                     "PYTHONIOENCODING=utf-8", "OMP_NUM_THREADS=1",    "OPENBLAS_NUM_THREADS=1",
                     "MKL_NUM_THREADS=1",      "NUMEXPR_NUM_THREADS=1"};
  for (auto& e : prep.envp_store) prep.envp.push_back(e.data());
  prep.envp.push_back(nullptr);
  plan.exe = prep.argv_store.at(0).c_str();
  plan.argv = prep.argv.data();
  plan.envp = prep.envp.data();

  Fd in_r, in_w, out_r, out_w, err_r, err_w, rep_r, rep_w;
  if (lim.stdin_as_file) {
    const std::string path = (dir / "stdin").string();
    if (!write_whole_file(path, stdin_data, run.error)) return o;
    in_r.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in_r.fd < 0) {
      run.error = fmt::format("sandbox: cannot open {}: {}", path, strerror(errno));
      return o;
    }
  }
  if ((!lim.stdin_as_file && !make_pipe(in_r, in_w)) || !make_pipe(out_r, out_w) ||
      !make_pipe(err_r, err_w) || !make_pipe(rep_r, rep_w)) {
    run.error = fmt::format("sandbox: pipe: {}", strerror(errno));
    return o;
  }
  plan.stdin_fd = in_r.fd;
  plan.stdout_fd = out_w.fd;
  plan.stderr_fd = err_w.fd;
  plan.report_fd = rep_w.fd;

  auto t0 = std::chrono::steady_clock::now();
  Launch l = launch(mode, plan);
  in_r.reset();
  out_w.reset();
  err_w.reset();
  rep_w.reset();
  if (l.pid < 0) {
    o.setup_failed = true;
    o.failed_step = l.failed_step;
    o.failed_errno = l.clone_errno;
    run.error = l.failed_step < 0
                    ? fmt::format("sandbox: clone: {}", strerror(l.clone_errno))
                    : fmt::format("sandbox: {} failed: {}", detail::child_step_name(l.failed_step),
                                  strerror(l.clone_errno));
    return o;
  }

  // The program's end wakes the loop below at once: a pidfd polls readable when its process exits. Without
  // it (kernels before 5.3) the loop looks every 20 ms, and a run whose pipes close just before it exits
  // (most do) waits for that look.
#if defined(SYS_pidfd_open)
  Fd ended_fd(int(syscall(SYS_pidfd_open, l.pid, 0)));  // glibc 2.36's pidfd_open lacks C linkage
#else
  Fd ended_fd;
#endif
  // Feed stdin and drain stdout/stderr together (either side could otherwise block on a full pipe).
  if (in_w.fd >= 0) fcntl(in_w.fd, F_SETFL, O_NONBLOCK);
  if (stdin_data.empty()) in_w.reset();
  size_t in_off = 0;
  std::string reports;
  bool exited = false, status_lost = false;
  int status = 0;
  // Signals go to the pid and its group only while the process is unreaped: once reaped, the number may be
  // another process's (another sandbox's init, which leads a group of that number too).
  auto kill_tree = [&] {
    if (exited) return;
    kill(l.pid, SIGKILL);    // PID 1 of the namespace: the kernel kills everything in it
    killpg(l.pid, SIGKILL);  // the session/group it leads (the only handle without a PID namespace)
  };
  for (;;) {
    if (!exited) {
      // Seen ended without being reaped (WNOWAIT): the zombie keeps its pid and group, so the group's
      // leftovers (a run without a PID namespace) are killed before the number can be reused.
      siginfo_t ended{};
      const int seen = waitid(P_PID, id_t(l.pid), &ended, WEXITED | WNOHANG | WNOWAIT);
      if (seen == 0 && ended.si_pid == l.pid) {
        killpg(l.pid, SIGKILL);
        while (waitpid(l.pid, &status, 0) < 0 && errno == EINTR) {
        }
        exited = true;
      } else if (seen != 0 && errno == ECHILD) {
        // Reaped by the kernel already (the calling program ignores SIGCHLD): the number may be another
        // process's now, so nothing is signalled, and the program's end is known from the reports only.
        exited = status_lost = true;
      }
    }
    if (out_r.fd < 0 && err_r.fd < 0 && rep_r.fd < 0 && exited) break;
    double left = lim.wall_seconds - seconds_since(t0);
    if (left <= 0) {
      if (!exited) run.wall_timeout = true;
      kill_tree();
      break;
    }
    // Ctrl-C in a trainer: its rewards are dropped with the step, so a run of several seconds is not waited
    // for (a step's code scoring went on for a minute).
    if (!probe && !exited && StopOnSignal::stop_pending()) {
      run.stopped = true;
      kill_tree();
      break;
    }
    pollfd pf[5];
    int n = 0;
    int idx_out = -1, idx_err = -1, idx_rep = -1, idx_in = -1;
    if (out_r.fd >= 0) pf[idx_out = n++] = {out_r.fd, POLLIN, 0};
    if (err_r.fd >= 0) pf[idx_err = n++] = {err_r.fd, POLLIN, 0};
    if (rep_r.fd >= 0) pf[idx_rep = n++] = {rep_r.fd, POLLIN, 0};
    if (in_w.fd >= 0) pf[idx_in = n++] = {in_w.fd, POLLOUT, 0};
    if (!exited && ended_fd.fd >= 0) pf[n++] = {ended_fd.fd, POLLIN, 0};
    int wait_ms = exited ? std::min(50, int(left * 1000) + 1) : std::min(20, int(left * 1000) + 1);
    int pr = poll(pf, nfds_t(n), wait_ms);
    if (pr < 0 && errno != EINTR) break;
    if (pr <= 0) {
      if (exited && pr == 0) {
        // The program ended but something still holds its pipes open (a background process in a run
        // without a PID namespace); it has been killed, so give up on the rest.
        if (seconds_since(t0) > 0) break;
      }
      continue;
    }
    // cap: the program's output limit for its stdout and stderr. The reports are seek's own records (12
    // bytes each, a handful per run) and never count against that limit: a max_output_bytes under 12 ended
    // every run, the interpreter probe's too, as if the program had printed too much.
    auto drain = [&](int idx, Fd& fd, std::string& buf, bool program_output) {
      if (idx < 0 || !(pf[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      char chunk[65536];
      ssize_t got = read(fd.fd, chunk, sizeof chunk);
      if (got <= 0) {
        fd.reset();
        return;
      }
      const size_t cap = program_output ? lim.max_output_bytes : kMaxReportBytes;
      size_t room = cap >= buf.size() ? cap - buf.size() : 0;
      buf.append(chunk, std::min(size_t(got), room));
      if (size_t(got) > room && program_output) {
        run.output_limit = true;
        kill_tree();
      }
    };
    drain(idx_out, out_r, run.out, true);
    drain(idx_err, err_r, run.err, true);
    drain(idx_rep, rep_r, reports, false);
    if (run.output_limit) break;
    if (idx_in >= 0 && (pf[idx_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t put = write(in_w.fd, stdin_data.data() + in_off, stdin_data.size() - in_off);
      if (put > 0) in_off += size_t(put);
      if (put < 0 && errno != EAGAIN) in_w.reset();  // EPIPE: the program stopped reading
      if (in_off >= stdin_data.size()) in_w.reset();
    }
  }
  // What a program that ended in time wrote last may still wait in its pipes when the loop stopped at the
  // deadline: it is its output (lost, a correct program's answer read as wrong).
  if (exited && !run.wall_timeout && !run.output_limit)
    for (auto [fd, buf] : {std::pair{&out_r, &run.out}, std::pair{&err_r, &run.err}}) {
      if (fd->fd < 0) continue;
      fcntl(fd->fd, F_SETFL, O_NONBLOCK);
      char chunk[65536];
      ssize_t got;
      while (!run.output_limit && (got = read(fd->fd, chunk, sizeof chunk)) > 0) {
        const size_t room = lim.max_output_bytes >= buf->size() ? lim.max_output_bytes - buf->size() : 0;
        buf->append(chunk, std::min(size_t(got), room));
        run.output_limit = size_t(got) > room;
      }
    }
  if (!exited) {
    kill_tree();
    while (waitpid(l.pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  // Reports written before the end (setup failures, the init's record of how the program ended).
  if (rep_r.fd >= 0) {
    fcntl(rep_r.fd, F_SETFL, O_NONBLOCK);
    char chunk[256];
    ssize_t got;
    while ((got = read(rep_r.fd, chunk, sizeof chunk)) > 0) reports.append(chunk, size_t(got));
  }
  run.wall_seconds = seconds_since(t0);
  run.started = true;
  bool have_program_status = false;
  for (size_t off = 0; off + sizeof(ChildReport) <= reports.size(); off += sizeof(ChildReport)) {
    ChildReport r;
    std::memcpy(&r, reports.data() + off, sizeof r);
    if (r.kind == detail::kReportSetupFailed) {
      o.setup_failed = true;
      o.failed_step = r.step;
      o.failed_errno = r.value;
      run.started = false;
      run.error = fmt::format("sandbox: {} failed: {}", detail::child_step_name(r.step), strerror(r.value));
    } else if (r.kind == detail::kReportExited) {
      have_program_status = true;
      run.exit_code = r.value;
    } else if (r.kind == detail::kReportSignaled) {
      have_program_status = true;
      run.signal = r.value;
    } else if (r.kind == detail::kReportProbeOk) {
      run.exit_code = 0;
      have_program_status = true;
    }
  }
  if (!have_program_status && run.started && status_lost) {
    run.error = "sandbox: the program's exit status was lost (this process ignores SIGCHLD)";
  } else if (!have_program_status && run.started) {
    if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
  }
  if (run.wall_timeout || run.output_limit) {
    run.exit_code = -1;
    if (run.signal == 0) run.signal = SIGKILL;
  }
  return o;
}

// A run whose exec'd init could not start (the program never ran) is made again with the init as a copy of
// this process, as every run after it is: where the kernel does not execute memfds that is the probe's first
// run; after the probe found the exec'd init working it should not happen.
Outcome attempt_once_more_as_copy(Mode mode, const std::vector<std::string>& argv,
                                  const std::vector<SandboxFile>& files, std::string_view stdin_data,
                                  const SandboxLimits& lim, bool probe) {
  Outcome o = attempt(mode, argv, files, stdin_data, lim, probe);
  if (o.failed_step == detail::kStepStartInit && exec_init_usable.exchange(false))
    o = attempt(mode, argv, files, stdin_data, lim, probe);
  return o;
}

std::string mode_reason(const Outcome& o) {
  if (o.failed_step < 0) return fmt::format("clone with namespaces: {}", strerror(o.failed_errno));
  return fmt::format("{}: {}", detail::child_step_name(o.failed_step), strerror(o.failed_errno));
}

}  // namespace

// Old enough that no run can still be between making its folder and locking it (microseconds apart), young
// enough that a trainer restarted soon after a kill still finds the folders its predecessor left.
constexpr time_t kStaleFolderMinAgeSeconds = 10;

void detail::remove_stale_run_folders() {
  for (const fs::path& base : {temporary_folder(), shared_memory_folder()}) {
    if (base.empty()) continue;
    std::error_code ec;
    try {
      for (const auto& e : fs::directory_iterator(base, ec)) {
        const std::string name = e.path().filename().string();
        if (!name.starts_with("seek-sandbox-")) continue;
        const long pid = std::strtol(name.c_str() + 13, nullptr, 10);
        if (pid <= 0 || ::kill(pid_t(pid), 0) == 0 || errno != ESRCH) continue;
        // Only our own folders (not another user's, not a planted symlink), and only when no run holds one
        // (its process may be alive in another PID namespace).
        struct stat st {};
        if (lstat(e.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) continue;
        // A run locks its folder just after mkdtemp makes it: a folder made moments ago may be in that gap.
        if (time(nullptr) - st.st_mtime < kStaleFolderMinAgeSeconds) continue;
        Fd lock(open(e.path().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (lock.fd < 0 || flock(lock.fd, LOCK_EX | LOCK_NB) != 0) continue;
        fs::remove_all(e.path(), ec);
      }
    } catch (const fs::filesystem_error&) {
    }
  }
}

namespace {

SandboxSupport probe_support() {
  detail::remove_stale_run_folders();
  SandboxSupport s;
  SandboxLimits lim;
  lim.wall_seconds = 10;
  std::vector<std::string> reasons;
  std::vector<std::string> argv{"/usr/bin/true"};
  // Root is tried with namespaces of its own and a uid per run first; then, as for other users, in a user
  // namespace: root inside a user namespace (rootless podman, unprivileged LXC) cannot give a run a uid the
  // namespace does not map, and was refused ("creating /work, /tmp and /src failed") where the user
  // namespace works.
  std::vector<Mode> modes{Mode::UserNamespace};
  if (geteuid() == 0) modes.insert(modes.begin(), Mode::Namespaces);
  const auto works = [](const Outcome& o) { return o.run.started && o.run.exit_code == 0; };
  const auto try_mode = [&](Mode m) { return attempt_once_more_as_copy(m, argv, {}, "", lim, true); };
  for (Mode m : modes) {
    Outcome o = try_mode(m);
    if (!works(o) && !shared_memory_folder().empty()) {
      shared_memory_refused = true;
      Outcome in_temporary_folder = try_mode(m);
      if (works(in_temporary_folder))
        o = std::move(in_temporary_folder);
      else
        shared_memory_refused = false;
    }
    if (works(o)) {
      s.namespaces = s.private_root = true;
      s.user_namespace = m == Mode::UserNamespace;
      reasons.clear();
      break;
    }
    reasons.push_back((m == Mode::UserNamespace && modes.size() > 1 ? "user namespace: " : "") +
                      (o.run.error.empty() ? mode_reason(o) : o.run.error));
  }
  s.uid_drop = geteuid() == 0 && !s.user_namespace;
  s.seccomp = detail::sandbox_seccomp_filter(true) != nullptr;
  if (!s.seccomp) reasons.push_back("seccomp: no filter written for this architecture");
  if (!s.namespaces) {
    Outcome p = try_mode(Mode::Plain);
    if (!(p.run.started && p.run.exit_code == 0)) {
      reasons.push_back("plain child: " + (p.run.error.empty() ? mode_reason(p) : p.run.error));
    }
  }
  if (!s.uid_drop && !s.user_namespace) {
    reasons.push_back("not root and no user namespace: RLIMIT_NPROC counts all of this user's processes");
  }
  std::string sum;
  if (s.namespaces)
    sum +=
        s.user_namespace ? "user+namespaces(net,pid,mount,ipc,uts) " : "namespaces(net,pid,mount,ipc,uts) ";
  if (s.private_root) sum += "private-root ";
  if (s.uid_drop) sum += "uid-drop ";
  if (s.seccomp) sum += "seccomp ";
  s.exec_init = exec_init_usable && init_program_fd() >= 0;
  if (s.exec_init) sum += "exec-init ";
  sum += "rlimits";
  s.summary = sum;
  for (size_t i = 0; i < reasons.size(); ++i) s.reason += (i ? "; " : "") + reasons[i];
  return s;
}

// The program's stdin is a pipe this thread writes: a program that exits without reading all of it (an input
// larger than the pipe buffer, a program that reads one line) made that write raise SIGPIPE, whose default
// action ended the whole trainer. For the run SIGPIPE is blocked in this thread (SigpipeBlocked), so the
// write fails with EPIPE, handled where stdin is fed. The child starts from an empty mask
// (sandbox_child.cpp), so the program sees SIGPIPE as usual.

}  // namespace

const SandboxSupport& sandbox_support() {
  static const SandboxSupport s = probe_support();
  return s;
}

void detail::close_proc_files_to_programs() {
  static const bool done = [] { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0; }();
  (void)done;
}

SandboxRun detail::run_without_namespaces(const std::vector<std::string>& argv,
                                          const std::vector<SandboxFile>& files, std::string_view stdin_data,
                                          const SandboxLimits& limits) {
  return attempt_once_more_as_copy(Mode::Plain, argv, files, stdin_data, limits, false).run;
}

SandboxRun run_in_sandbox(const std::vector<std::string>& argv, const std::vector<SandboxFile>& files,
                          std::string_view stdin_data, const SandboxLimits& limits) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/') {
    SandboxRun r;
    r.error = "sandbox: argv[0] must be an absolute path";
    return r;
  }
  const SandboxSupport& s = sandbox_support();
  if (StopOnSignal::stop_pending()) {
    SandboxRun r;
    r.stopped = true;
    r.error = "sandbox: not started, a stop was asked for";
    return r;
  }
  const SigpipeBlocked no_sigpipe;
  if (!s.namespaces) {
    if (limits.require_isolation) {
      SandboxRun r;
      r.error = fmt::format(
          "sandbox: isolation unavailable ({}); refusing to run untrusted code with rlimits only "
          "(set require_isolation to false to allow it)",
          s.reason);
      return r;
    }
    if (geteuid() != 0) detail::close_proc_files_to_programs();  // they run as this uid
    return detail::run_without_namespaces(argv, files, stdin_data, limits);
  }
  return attempt_once_more_as_copy(s.user_namespace ? Mode::UserNamespace : Mode::Namespaces, argv, files,
                                   stdin_data, limits, false)
      .run;
}

}  // namespace seek::reward
