// The child side of the sandbox: everything between clone() and the program's execve(). It runs in the
// seek-sandbox-init program (src/sandbox_init/main.cpp, the plan decoded from sandbox_plan.hpp) or, where
// that cannot start, in a copy of the trainer. The trainer may be multi-threaded, so in a copy the child must
// only make system calls (no allocation, no locks, no stdio): the trainer prepares every string and array in
// a ChildPlan beforehand. Internal to the sandbox.
#pragma once
#include <linux/filter.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>

namespace seek::reward::detail {

// Records the child writes to the report pipe (CLOEXEC, so exec closes it and the parent sees EOF).
struct ChildReport {
  int32_t kind;   // kReportSetupFailed, kReportExited, kReportSignaled, kReportProbeOk
  int32_t step;   // the ChildStep that failed
  int32_t value;  // errno, exit code or signal number
};
enum : int32_t { kReportSetupFailed = 1, kReportExited = 2, kReportSignaled = 3, kReportProbeOk = 4 };

enum ChildStep : int32_t {
  kStepUserMap,
  kStepSetsid,
  kStepFds,
  kStepMountPrivate,
  kStepMountTmpfs,
  kStepBindSystem,
  kStepDevices,
  kStepDirs,
  kStepPivotRoot,
  kStepChdir,
  kStepFork,
  kStepRlimit,
  kStepDropUid,
  kStepDropCaps,
  kStepNoNewPrivs,
  kStepSeccomp,
  kStepExec,
  kStepStartInit,
  kStepCount
};
const char* child_step_name(int32_t step);

struct BindEntry {
  const char* target;          // path under the new root
  const char* host;            // host path to bind (nullptr for a symlink)
  const char* symlink_target;  // non-null: create a symlink instead of a bind
  bool device;                 // bind a device file (create an empty file as the mount point)
};

struct ChildPlan {
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1, report_fd = -1;
  bool user_ns = false;   // write uid/gid maps first
  bool mount_ns = false;  // build the private root
  bool pid_ns = false;    // the child is PID 1: fork the program and reap
  bool probe_only = false;
  bool maps_written = false;             // the user namespace's maps are written already (an exec'd init)
  const char* setgroups_path = nullptr;  // "/proc/self/setgroups"
  const char* uid_map = nullptr;         // "0 <uid> 1"
  const char* gid_map = nullptr;
  const char* root = nullptr;  // tmpfs mount point (host path)
  const char* tmpfs_options = nullptr;
  const BindEntry* binds = nullptr;
  int n_binds = 0;
  const char* const* dirs = nullptr;  // directories to create under the new root (host paths before pivot)
  const mode_t* dir_modes = nullptr;
  int n_dirs = 0;
  const char* work_host = nullptr;        // root + "/work" (chowned to the sandbox uid)
  const char* src_bind_target = nullptr;  // root + "/src"
  const char* src_host = nullptr;
  const char* workdir = nullptr;  // chdir target for the program: "/work" or the fallback host folder
  int sandbox_uid = -1;           // >= 0: drop to this uid/gid (root only)
  struct Limit {
    int resource;
    rlimit value;
  };
  Limit limits[8];
  int n_limits = 0;
  const sock_fprog* seccomp = nullptr;
  const char* exe = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
};

// Never returns: ends in execve or _exit. Reports failures through plan.report_fd.
[[noreturn]] void child_main(const ChildPlan& plan);

// Maps uid and gid 0 of a new user namespace to the trainer's (plan.uid_map, plan.gid_map): the first thing a
// child in one does. System calls only.
bool write_user_maps(const ChildPlan& plan);

// Writes a ChildReport to `fd`. System calls only.
void report(int fd, int32_t kind, int32_t step, int32_t value);

}  // namespace seek::reward::detail
