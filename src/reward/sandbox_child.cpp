// The child side of the sandbox (see sandbox_child.hpp): only system calls from here on, because the
// parent may hold locks in threads that do not exist in this process.
#include "reward/sandbox_child.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>

namespace seek::reward::detail {

const char* child_step_name(int32_t step) {
  static const char* const names[kStepCount] = {"writing the user namespace maps",
                                                "setsid",
                                                "redirecting stdin/stdout/stderr",
                                                "making mounts private",
                                                "mounting the private tmpfs root",
                                                "binding system folders read-only",
                                                "binding /dev/null, /dev/zero, /dev/urandom",
                                                "creating /work, /tmp and /src",
                                                "pivot_root",
                                                "chdir to the working folder",
                                                "forking the program under the PID-namespace init",
                                                "setrlimit",
                                                "dropping to the sandbox uid",
                                                "dropping capabilities",
                                                "PR_SET_NO_NEW_PRIVS",
                                                "installing the seccomp filter",
                                                "execve",
                                                "starting the sandbox's init program"};
  return step >= 0 && step < kStepCount ? names[step] : "unknown step";
}

void report(int fd, int32_t kind, int32_t step, int32_t value) {
  ChildReport r{kind, step, value};
  ssize_t n = write(fd, &r, sizeof r);
  (void)n;
}

namespace {

[[noreturn]] void die(const ChildPlan& p, int32_t step) {
  report(p.report_fd, kReportSetupFailed, step, errno);
  _exit(126);
}

void close_all_but(int keep) {
  unsigned k = unsigned(keep);
  bool ok =
      (k <= 3 || syscall(SYS_close_range, 3u, k - 1, 0) == 0) && syscall(SYS_close_range, k + 1, ~0u, 0) == 0;
  if (!ok) {
    for (int fd = 3; fd < 65536; ++fd) {
      if (fd != keep) close(fd);
    }
  }
}

bool write_file(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t n = strlen(text);
  bool ok = write(fd, text, n) == ssize_t(n);
  close(fd);
  return ok;
}

// The private root: a size-limited tmpfs holding read-only binds of the system folders, a few devices,
// /src (the run's files, read-only), /work, /tmp and /dev/shm (writable, counted against the tmpfs size).
void build_root(const ChildPlan& p) {
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) die(p, kStepMountPrivate);
  if (mount("tmpfs", p.root, "tmpfs", MS_NOSUID | MS_NODEV, p.tmpfs_options) != 0) die(p, kStepMountTmpfs);
  for (int i = 0; i < p.n_dirs; ++i) {
    if (mkdir(p.dirs[i], p.dir_modes[i]) != 0 && errno != EEXIST) die(p, kStepDirs);
    if (chmod(p.dirs[i], p.dir_modes[i]) != 0) die(p, kStepDirs);  // mkdir applies the umask
  }
  if (p.sandbox_uid >= 0 && chown(p.work_host, p.sandbox_uid, p.sandbox_uid) != 0) die(p, kStepDirs);
  for (int i = 0; i < p.n_binds; ++i) {
    const BindEntry& b = p.binds[i];
    if (b.symlink_target) {
      if (symlink(b.symlink_target, b.target) != 0) die(p, kStepBindSystem);
      continue;
    }
    int32_t step = b.device ? kStepDevices : kStepBindSystem;
    if (b.device) {
      int fd = open(b.target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0) die(p, step);
      close(fd);
    } else if (mkdir(b.target, 0755) != 0 && errno != EEXIST) {
      die(p, step);
    }
    if (mount(b.host, b.target, nullptr, MS_BIND | MS_REC, nullptr) != 0) die(p, step);
    unsigned long ro = MS_BIND | MS_REMOUNT | MS_NOSUID | (b.device ? 0 : MS_RDONLY | MS_NODEV);
    if (mount(nullptr, b.target, nullptr, ro, nullptr) != 0) die(p, step);
    // The remount covers the top mount only: a mount below it (a writable folder bound under /usr) stayed
    // writable, to the host. mount_setattr makes the whole tree read-only (Linux 5.12; older kernels keep
    // the remount above).
    if (!b.device) {
      struct mount_attr attr {};
      attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
      if (mount_setattr(AT_FDCWD, b.target, AT_RECURSIVE, &attr, sizeof attr) != 0 && errno != ENOSYS)
        die(p, step);
    }
  }
  if (mount(p.src_host, p.src_bind_target, nullptr, MS_BIND, nullptr) != 0) die(p, kStepBindSystem);
  if (mount(nullptr, p.src_bind_target, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
            nullptr) != 0)
    die(p, kStepBindSystem);
  // pivot_root, not chroot: the old root is detached from this mount namespace, so nothing (not even a
  // process that regained privileges) can walk back to the host's files.
  if (chdir(p.root) != 0) die(p, kStepPivotRoot);
  if (syscall(SYS_pivot_root, ".", ".") != 0) die(p, kStepPivotRoot);
  if (umount2(".", MNT_DETACH) != 0) die(p, kStepPivotRoot);
  if (chdir("/") != 0) die(p, kStepPivotRoot);
}

// In a user namespace the child is uid 0 with every capability of that namespace; exec would keep them.
void drop_capabilities(const ChildPlan& p) {
  unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                       SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED;
  if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) != 0) die(p, kStepDropCaps);
  for (int cap = 0; cap <= 63; ++cap) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) die(p, kStepDropCaps);
  }
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capset, &hdr, data) != 0) die(p, kStepDropCaps);
}

// The program's own process: limits, identity, seccomp, then exec.
[[noreturn]] void exec_program(const ChildPlan& p) {
  if (chdir(p.workdir) != 0) die(p, kStepChdir);
  for (int i = 0; i < p.n_limits; ++i) {
    if (setrlimit(p.limits[i].resource, &p.limits[i].value) != 0) die(p, kStepRlimit);
  }
  if (p.sandbox_uid >= 0) {
    gid_t g = gid_t(p.sandbox_uid);
    uid_t u = uid_t(p.sandbox_uid);
    // Raw system calls: glibc's set*id wrappers broadcast the change to every thread it believes exists,
    // and in a clone of a multi-threaded process they wait forever for threads that are not there.
    if (syscall(SYS_setgroups, 0, nullptr) != 0 || syscall(SYS_setresgid, g, g, g) != 0 ||
        syscall(SYS_setresuid, u, u, u) != 0)
      die(p, kStepDropUid);
    // The uid change normally makes the process non-dumpable; make sure (fs.suid_dumpable = 1 would keep it
    // dumpable), so nothing running as the sandbox uid can ptrace into the memory it shares with the init
    // until its exec.
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) die(p, kStepDropUid);
  }
  if (p.user_ns) drop_capabilities(p);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die(p, kStepNoNewPrivs);
  if (p.seccomp && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, p.seccomp) != 0) die(p, kStepSeccomp);
  if (p.probe_only) {
    report(p.report_fd, kReportProbeOk, 0, 0);
    _exit(0);
  }
  execve(p.exe, p.argv, p.envp);
  die(p, kStepExec);
}

}  // namespace

// Only our own uid can be mapped from inside; setgroups must be denied first (user_namespaces(7)).
bool write_user_maps(const ChildPlan& p) {
  return write_file(p.setgroups_path, "deny") && write_file("/proc/self/uid_map", p.uid_map) &&
         write_file("/proc/self/gid_map", p.gid_map);
}

void child_main(const ChildPlan& p) {
  // The program starts with no signal blocked, whatever the trainer's thread had blocked (SIGPIPE while it
  // feeds stdin, sandbox.cpp): a blocked mask is inherited across clone and exec.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (p.user_ns && !p.maps_written && !write_user_maps(p)) die(p, kStepUserMap);
  if (setsid() < 0) die(p, kStepSetsid);
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);  // the trainer dying takes the sandbox with it
  // First in line for the OOM killer, with every process it starts: memory_mb bounds each process's address
  // space, not a run's processes together, so a run that fills the host's memory must be what is killed,
  // not the trainer. Raising one's own score needs no privilege; best effort.
  write_file("/proc/self/oom_score_adj", "1000");
  if (dup2(p.stdin_fd, 0) < 0 || dup2(p.stdout_fd, 1) < 0 || dup2(p.stderr_fd, 2) < 0) die(p, kStepFds);
  // Close every other inherited descriptor now (the trainer's files, the parent's ends of our pipes, other
  // sandboxes' pipes): the PID-namespace init never execs, and a pipe end it kept would hide EOF.
  close_all_but(p.report_fd);
  if (p.mount_ns) build_root(p);
  // The trainer's signal dispositions are not this process's: back to the defaults, which the program
  // starts with and which the namespace's init ignores. Handlers (seek's removing its temporary files on
  // SIGINT/SIGTERM/SIGHUP, its SIGPIPE one, a library's) must not run in the program's process while it
  // shares this one's memory before its exec; an ignored SIGCHLD would have the kernel reap the program, so
  // the init's wait for it failed and no status was reported; other ignored signals would stay ignored in the
  // program across its exec.
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler != SIG_DFL) signal(sig, SIG_DFL);
  }
  if (!p.pid_ns) exec_program(p);

  // PID 1 of the namespace: run the program as a child so it gets normal signal semantics (init ignores
  // signals it has no handler for), reap everything, and report how the program ended. When this process
  // exits the kernel kills every process left in the namespace.
  // The program starts as vfork does: sharing this process's memory, on a stack of its own, while this
  // process waits for its exec. A copy would duplicate the page tables of everything this process inherited
  // from the trainer, a second time per run (the trainer's first clone made this process), costing time in
  // proportion to the trainer's memory. Between clone and exec the program only makes system calls
  // (exec_program), which leave the shared memory alone; its limits, uid and filter are its own.
  constexpr size_t kStackBytes = size_t(256) << 10;
  void* stack =
      mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) die(p, kStepFork);
  mprotect(stack, size_t(getpagesize()), PROT_NONE);  // a guard page below it
  auto start = [](void* plan) -> int { exec_program(*static_cast<const ChildPlan*>(plan)); };
  pid_t prog = clone(start, static_cast<char*>(stack) + kStackBytes, CLONE_VM | CLONE_VFORK | SIGCHLD,
                     const_cast<ChildPlan*>(&p));
  if (prog < 0) die(p, kStepFork);
  for (;;) {
    int st = 0;
    pid_t w = waitpid(-1, &st, 0);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) _exit(126);
    if (w != prog) continue;
    if (WIFEXITED(st)) {
      if (!p.probe_only) report(p.report_fd, kReportExited, 0, WEXITSTATUS(st));
      _exit(WEXITSTATUS(st));
    }
    if (WIFSIGNALED(st)) {
      report(p.report_fd, kReportSignaled, 0, WTERMSIG(st));
      _exit(128 + WTERMSIG(st));
    }
  }
}

}  // namespace seek::reward::detail
