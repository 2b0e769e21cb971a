// The sandbox's seccomp filter (see seccomp_filter.hpp). Denied calls fail with EPERM rather than killing
// the process, so Python raises a clean PermissionError that the test harness reports as a failure.
#include "reward/seccomp_filter.hpp"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstddef>
#include <vector>

namespace seek::reward::detail {

namespace {

#if defined(__x86_64__)
constexpr unsigned kArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned kArch = AUDIT_ARCH_AARCH64;
#else
constexpr unsigned kArch = 0;
#endif

// System calls no test program needs and that could reach outside the sandbox: debugging other processes,
// mounts and namespaces, kernel keyrings, eBPF, perf, io_uring (which bypasses seccomp), module loading,
// clocks, file-handle opens (which bypass path checks), and memory outside the limits (memfd).
const int kDenied[] = {
    SYS_ptrace,
    SYS_process_vm_readv,
    SYS_process_vm_writev,
    SYS_mount,
    SYS_umount2,
    SYS_pivot_root,
    SYS_chroot,
    SYS_unshare,
    SYS_setns,
    SYS_keyctl,
    SYS_add_key,
    SYS_request_key,
    SYS_bpf,
    SYS_perf_event_open,
    SYS_userfaultfd,
    SYS_kexec_load,
    SYS_init_module,
    SYS_finit_module,
    SYS_delete_module,
    SYS_reboot,
    SYS_swapon,
    SYS_swapoff,
    SYS_acct,
    SYS_settimeofday,
    SYS_clock_settime,
    SYS_clock_adjtime,
    SYS_adjtimex,
    SYS_open_by_handle_at,
    SYS_name_to_handle_at,
    SYS_fanotify_init,
    SYS_quotactl,
    SYS_syslog,
    SYS_vhangup,
    SYS_personality,
#ifdef SYS_kexec_file_load
    SYS_kexec_file_load,
#endif
#ifdef SYS_io_uring_setup
    SYS_io_uring_setup,
    SYS_io_uring_enter,
    SYS_io_uring_register,
#endif
#ifdef SYS_fsopen
    SYS_fsopen,
    SYS_fsconfig,
    SYS_fsmount,
    SYS_fspick,
    SYS_move_mount,
    SYS_open_tree,
#endif
#ifdef SYS_mount_setattr
    SYS_mount_setattr,
#endif
    // Anonymous files live in memory no address-space limit counts: 60 of 15 MiB held 900 MB under a
    // memory_mb of 64 (the tmpfs folders are bounded by max_file_bytes instead).
    SYS_memfd_create,
    // System V shared memory, message queues and semaphores likewise (64 segments of 32 MiB held 2 GB under a
    // memory_mb of 64): the kernel's defaults bound them far above any run's budget.
    SYS_shmget,
    SYS_msgget,
    SYS_semget,
#ifdef SYS_memfd_secret
    SYS_memfd_secret,
#endif
#ifdef SYS_iopl
    SYS_iopl,
    SYS_ioperm,
#endif
};

constexpr unsigned kNamespaceFlags =
    CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

sock_filter stmt(unsigned short code, unsigned k) {
  return BPF_STMT(code, k);
}
sock_filter jump(unsigned short code, unsigned k, unsigned char jt, unsigned char jf) {
  return BPF_JUMP(code, k, jt, jf);
}

std::vector<sock_filter> build(bool unix_sockets) {
  const unsigned allow = SECCOMP_RET_ALLOW;
  const unsigned eperm = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);
  const unsigned enosys = SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA);
  const unsigned arg0 = offsetof(seccomp_data, args[0]);  // low 32 bits on little-endian
  std::vector<sock_filter> f;
  // A foreign ABI (e.g. 32-bit calls on x86-64) would index a different table: kill outright.
  f.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kArch, 1, 0));
  f.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  f.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
#if defined(__x86_64__)
  f.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));  // x32 system calls
  f.push_back(stmt(BPF_RET | BPF_K, eperm));
#endif
  for (int nr : kDenied) {
    f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, unsigned(nr), 0, 1));
    f.push_back(stmt(BPF_RET | BPF_K, eperm));
  }
#ifdef SYS_clone3
  // clone3 passes its flags in memory BPF cannot read; ENOSYS makes glibc fall back to clone.
  f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1));
  f.push_back(stmt(BPF_RET | BPF_K, enosys));
#endif
  // clone: threads and fork are fine, new namespaces are not.
  f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 4));
  f.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, arg0));
  f.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, kNamespaceFlags, 0, 1));
  f.push_back(stmt(BPF_RET | BPF_K, eperm));
  f.push_back(stmt(BPF_RET | BPF_K, allow));
  // socket: only AF_UNIX (multiprocessing's managers use it); no IP, netlink, packet or other families.
  // Without a network namespace not even AF_UNIX: abstract addresses ("\0name") have no file permissions,
  // so a program could connect to any abstract socket a host service listens on. socketpair stays (a
  // connected pair of the program's own, what multiprocessing.Pipe uses).
  if (unix_sockets) {
    f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 4));
    f.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, arg0));
    f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 1, 0));
    f.push_back(stmt(BPF_RET | BPF_K, eperm));
    f.push_back(stmt(BPF_RET | BPF_K, allow));
  } else {
    f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 1));
    f.push_back(stmt(BPF_RET | BPF_K, eperm));
  }
  f.push_back(stmt(BPF_RET | BPF_K, allow));
  return f;
}

}  // namespace

const sock_fprog* sandbox_seccomp_filter(bool unix_sockets) {
  if (kArch == 0) return nullptr;
  static const std::vector<sock_filter> with_unix = build(true), without = build(false);
  static const sock_fprog progs[2] = {
      {static_cast<unsigned short>(without.size()), const_cast<sock_filter*>(without.data())},
      {static_cast<unsigned short>(with_unix.size()), const_cast<sock_filter*>(with_unix.data())}};
  return &progs[unix_sockets ? 1 : 0];
}

}  // namespace seek::reward::detail
