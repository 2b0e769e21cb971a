// A sandbox for running untrusted programs (the policy's Python code) during RL: a separate process with no
// network, a private root file system that shows only the system's read-only program folders, a private
// working folder, CPU/wall/memory/process/output/file limits, a seccomp filter, and the whole process tree
// killed at the end. Safe to call from many threads at once.
//
// Isolation is layered, strongest first, and each layer reports why it is missing when it is:
//   1. namespaces (clone with CLONE_NEWNET|NEWPID|NEWNS|NEWIPC|NEWUTS; as a non-root user also NEWUSER):
//      no network interfaces, the child is PID 1 of its own PID namespace (killing it kills every process it
//      started), and a private root file system (tmpfs) with /usr, /bin, /lib* bound read-only;
//   2. as root, the child drops to an unprivileged uid of its own (so RLIMIT_NPROC applies and no other
//      file of the machine is reachable through permissions either);
//   3. rlimits (CPU, address space, processes, file size, open files, no core files), setsid + killpg;
//   4. seccomp (a BPF filter written here, no libseccomp): no sockets other than AF_UNIX (none without
//      namespaces), no ptrace, mount, namespaces, kernel keyrings, bpf, io_uring and similar.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace seek::reward {

struct SandboxLimits {
  double cpu_seconds = 2.0;                   // RLIMIT_CPU (whole seconds, rounded up) for each process
  double wall_seconds = 4.0;                  // the run is killed after this long
  size_t memory_bytes = size_t(512) << 20;    // RLIMIT_AS of each process
  int max_processes = 32;                     // RLIMIT_NPROC (needs root or a user namespace to be enforced)
  size_t max_output_bytes = size_t(1) << 20;  // stdout and stderr each; more kills the run
  size_t max_file_bytes = size_t(16) << 20;   // RLIMIT_FSIZE, and the size of the private tmpfs
  int max_open_files = 64;                    // RLIMIT_NOFILE
  // Refuse to run (SandboxRun::error) when namespaces or the private root are unavailable, instead of
  // running with rlimits and seccomp only.
  bool require_isolation = true;
  // Give the program its stdin as a read-only regular file (outside what it sees) instead of a pipe:
  // competitive programmers' fast input (os.read(0, os.fstat(0).st_size)) reads nothing from a pipe, and one
  // read of a pipe stops at 64 KiB. Not for input the program must not read twice (the assert harness's).
  bool stdin_as_file = false;
};

// A file placed, read-only, in /src of the sandbox.
struct SandboxFile {
  std::string name;  // a plain file name, no '/'
  std::string content;
};

struct SandboxRun {
  bool started = false;  // false: the sandbox could not be set up; see error
  std::string error;     // why it could not start (or why the run is invalid)
  int exit_code = -1;    // the exit status when the process exited normally
  int signal = 0;        // the signal that ended it, when one did
  bool wall_timeout = false;
  bool output_limit = false;  // stdout or stderr exceeded max_output_bytes
  // Killed (or not started) because a stop was asked for (core/stop_signal.hpp StopOnSignal::stop_pending):
  // no verdict on the program.
  bool stopped = false;
  std::string out, err;
  double wall_seconds = 0;
  bool ok() const {
    return started && exit_code == 0 && signal == 0 && !wall_timeout && !output_limit && !stopped;
  }
};

// What this machine allows, probed once (the first call forks a probe child).
struct SandboxSupport {
  bool namespaces = false;      // network, PID, mount, IPC and UTS namespaces
  bool user_namespace = false;  // namespaces came from a user namespace (not root)
  bool private_root = false;    // the tmpfs root with read-only system folders
  bool uid_drop = false;        // running as root: each run gets its own unprivileged uid
  bool seccomp = false;
  // Runs start the sandbox's init as a small program of its own (seek-sandbox-init, kept in memory), not as a
  // copy of this process, whose clone would copy the page tables of all it holds.
  bool exec_init = false;
  std::string
      summary;  // e.g. "namespaces(net,pid,mount,ipc,uts) private-root uid-drop seccomp exec-init rlimits"
  std::string reason;  // why a layer is missing ("" when all are present)
};
const SandboxSupport& sandbox_support();

// Runs argv[0] (an absolute path inside the sandbox's view: /usr/... works) with `files` in /src, the
// working folder /work (a private tmpfs, writable), `stdin_data` on standard input and a clean environment.
// An argument "/src/<file>" names one of `files` in every mode (without a mount namespace it is rewritten to
// where the file was written).
SandboxRun run_in_sandbox(const std::vector<std::string>& argv, const std::vector<SandboxFile>& files,
                          std::string_view stdin_data, const SandboxLimits& limits);

namespace detail {
// Removes the run folders ("<tmp>/seek-sandbox-<pid>-*") of processes that no longer exist: a trainer killed
// by SIGKILL (or the OOM killer) leaves its runs' folders, which nothing else removes. Best effort;
// sandbox_support() calls it once per process.
void remove_stale_run_folders();

// Without namespaces, a trainer that is not root runs programs with its own uid: they could open its /proc
// files (/proc/<pid>/mem to write into its memory, /proc/<pid>/fd to reach its descriptors: another run's
// plan, the init program). This makes the process non-dumpable, which closes those files to other processes
// of its uid (and means no core dumps, no debugger attaching), for good: a program may leave processes
// behind. run_in_sandbox does it before its first run without namespaces. Not compatible with runs in a user
// namespace in the same process (their maps can then not be written), which run_in_sandbox never mixes.
void close_proc_files_to_programs();

// run_in_sandbox's fallback where namespaces are unavailable (and require_isolation is false): rlimits,
// seccomp and, as root, a uid of its own, without a private root or PID namespace.
SandboxRun run_without_namespaces(const std::vector<std::string>& argv, const std::vector<SandboxFile>& files,
                                  std::string_view stdin_data, const SandboxLimits& limits);
}  // namespace detail

}  // namespace seek::reward
