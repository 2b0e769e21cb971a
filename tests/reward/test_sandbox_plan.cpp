// The sandbox plan's encoding (reward/sandbox_plan.hpp): what the exec'd init reads back is the plan the
// trainer made, field for field, and anything short of a whole plan is refused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <cstring>
#include <string>

#include "reward/sandbox_init_image.hpp"
#include "reward/sandbox_plan.hpp"

namespace seek::reward::detail {
namespace {

std::string str(const char* s) {
  return s ? std::string(s) : std::string("<null>");
}

// A plan with every field set to something told apart from its default.
struct FullPlan {
  BindEntry binds[3] = {{"/r/usr", "/usr", nullptr, false},
                        {"/r/bin", nullptr, "usr/bin", false},
                        {"/r/dev/null", "/dev/null", nullptr, true}};
  const char* dirs[2] = {"/r/tmp", "/r/work"};
  mode_t modes[2] = {01777, 0755};
  sock_filter filter[2] = {{0x20, 1, 2, 4}, {0x06, 0, 0, 0x7fff0000}};
  sock_fprog fprog{2, filter};
  char a0[16] = "/usr/bin/python", a1[8] = "-c", a2[16] = "print('é')";
  char* argv[4] = {a0, a1, a2, nullptr};
  char e0[16] = "HOME=/work";
  char* envp[2] = {e0, nullptr};
  ChildPlan p;
  FullPlan() {
    p.stdin_fd = 11, p.stdout_fd = 12, p.stderr_fd = 13, p.report_fd = 14;
    p.user_ns = p.mount_ns = p.pid_ns = p.probe_only = p.maps_written = true;
    p.setgroups_path = "/proc/self/setgroups";
    p.uid_map = "0 1000 1";
    p.gid_map = "0 1001 1";
    p.root = "/r";
    p.tmpfs_options = "size=1,nr_inodes=4096";
    p.binds = binds;
    p.n_binds = 3;
    p.dirs = dirs;
    p.dir_modes = modes;
    p.n_dirs = 2;
    p.work_host = "/r/work";
    p.src_bind_target = "/r/src";
    p.src_host = "/tmp/x/src";
    p.workdir = "";  // empty, not null
    p.sandbox_uid = 1999999999;
    p.limits[0] = {RLIMIT_CPU, {2, 3}};
    p.limits[1] = {RLIMIT_AS, {RLIM_INFINITY, RLIM_INFINITY}};
    p.n_limits = 2;
    p.seccomp = &fprog;
    p.exe = "/usr/bin/python3";
    p.argv = argv;
    p.envp = envp;
  }
};

TEST(SandboxPlan, ReadsBackEveryField) {
  FullPlan full;
  const ChildPlan& a = full.p;
  DecodedPlan d;
  ASSERT_TRUE(decode_plan(encode_plan(a), d));
  const ChildPlan& b = d.plan;
  EXPECT_EQ(b.stdin_fd, kInitStdin);
  EXPECT_EQ(b.stdout_fd, kInitStdout);
  EXPECT_EQ(b.stderr_fd, kInitStderr);
  EXPECT_EQ(b.report_fd, kInitReport);
  EXPECT_TRUE(b.user_ns && b.mount_ns && b.pid_ns && b.probe_only && b.maps_written);
  EXPECT_EQ(str(b.setgroups_path), str(a.setgroups_path));
  EXPECT_EQ(str(b.uid_map), str(a.uid_map));
  EXPECT_EQ(str(b.gid_map), str(a.gid_map));
  EXPECT_EQ(str(b.root), str(a.root));
  EXPECT_EQ(str(b.tmpfs_options), str(a.tmpfs_options));
  ASSERT_EQ(b.n_binds, 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(str(b.binds[i].target), str(a.binds[i].target));
    EXPECT_EQ(str(b.binds[i].host), str(a.binds[i].host));
    EXPECT_EQ(str(b.binds[i].symlink_target), str(a.binds[i].symlink_target));
    EXPECT_EQ(b.binds[i].device, a.binds[i].device);
  }
  EXPECT_EQ(b.binds[1].host, nullptr);  // null stays null
  ASSERT_EQ(b.n_dirs, 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(str(b.dirs[i]), str(a.dirs[i]));
    EXPECT_EQ(b.dir_modes[i], a.dir_modes[i]);
  }
  EXPECT_EQ(str(b.work_host), str(a.work_host));
  EXPECT_EQ(str(b.src_bind_target), str(a.src_bind_target));
  EXPECT_EQ(str(b.src_host), str(a.src_host));
  ASSERT_NE(b.workdir, nullptr);
  EXPECT_EQ(str(b.workdir), "");
  EXPECT_EQ(b.sandbox_uid, a.sandbox_uid);
  ASSERT_EQ(b.n_limits, 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(b.limits[i].resource, a.limits[i].resource);
    EXPECT_EQ(b.limits[i].value.rlim_cur, a.limits[i].value.rlim_cur);
    EXPECT_EQ(b.limits[i].value.rlim_max, a.limits[i].value.rlim_max);
  }
  ASSERT_NE(b.seccomp, nullptr);
  ASSERT_EQ(b.seccomp->len, 2);
  EXPECT_EQ(std::memcmp(b.seccomp->filter, a.seccomp->filter, sizeof full.filter), 0);
  EXPECT_EQ(str(b.exe), str(a.exe));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(str(b.argv[i]), str(a.argv[i]));
  EXPECT_EQ(b.argv[3], nullptr);
  EXPECT_EQ(str(b.envp[0]), "HOME=/work");
  EXPECT_EQ(b.envp[1], nullptr);
}

TEST(SandboxPlan, AnEmptyPlanStaysEmpty) {
  DecodedPlan d;
  ASSERT_TRUE(decode_plan(encode_plan(ChildPlan{}), d));
  EXPECT_FALSE(d.plan.user_ns || d.plan.mount_ns || d.plan.pid_ns || d.plan.probe_only ||
               d.plan.maps_written);
  EXPECT_EQ(d.plan.root, nullptr);
  EXPECT_EQ(d.plan.n_binds, 0);
  EXPECT_EQ(d.plan.seccomp, nullptr);
  EXPECT_EQ(d.plan.argv, nullptr);
  EXPECT_EQ(d.plan.sandbox_uid, -1);
}

// The init refuses (and reports) a plan it cannot read whole, rather than running with part of one.
TEST(SandboxPlan, RefusesAnythingButAWholePlan) {
  FullPlan full;
  const std::string bytes = encode_plan(full.p);
  DecodedPlan d;
  for (size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(decode_plan(bytes.substr(0, n), d)) << n;
  EXPECT_FALSE(decode_plan(bytes + "x", d));
  std::string other_magic = bytes;
  other_magic[0] ^= 1;
  EXPECT_FALSE(decode_plan(other_magic, d));
  // A count or length far beyond what follows is refused without allocating for it; so is a string with a
  // NUL in it, which the init would cut short.
  for (size_t at = 19; at + 8 <= bytes.size(); at += 8) {
    std::string huge = bytes;
    const int64_t big = int64_t(1) << 60;
    std::memcpy(huge.data() + at, &big, sizeof big);
    DecodedPlan ignored;
    decode_plan(huge, ignored);  // must not crash or throw; may decode when that word held a flag or limit
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x80);
    DecodedPlan ignored;
    decode_plan(flipped, ignored);  // likewise: refused or decoded, never a crash
  }
  std::string with_nul = bytes;
  const size_t at = with_nul.find("0 1000 1");
  ASSERT_NE(at, std::string::npos);
  with_nul[at + 1] = '\0';
  EXPECT_FALSE(decode_plan(with_nul, d));
  EXPECT_EQ(d.storage, nullptr);  // untouched by every refusal
}

// The init program itself, given a plan it cannot read whole, reports that on its report descriptor and
// exits 126 without running anything.
TEST(SandboxInit, RefusesAPlanItCannotRead) {
  const std::string_view image = sandbox_init_image();
  ASSERT_GT(image.size(), 4u);
  EXPECT_EQ(image.substr(0, 4), std::string_view("\x7f"
                                                 "ELF",
                                                 4));
  FullPlan full;
  const std::string cut = encode_plan(full.p).substr(0, 100);
  int report[2];
  ASSERT_EQ(pipe2(report, O_CLOEXEC), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const int program = memfd_create("init", MFD_CLOEXEC);
    const int plan = memfd_create("plan", 0);
    if (program < 0 || plan < 0 || write(program, image.data(), image.size()) != ssize_t(image.size()) ||
        write(plan, cut.data(), cut.size()) != ssize_t(cut.size()) || lseek(plan, 0, SEEK_SET) != 0 ||
        dup2(report[1], kInitReport) < 0 || dup2(plan, kInitPlan) < 0)
      _exit(99);
    char* const argv[] = {const_cast<char*>("seek-sandbox-init"), nullptr};
    char* const envp[] = {nullptr};
    syscall(SYS_execveat, program, "", argv, envp, AT_EMPTY_PATH);
    _exit(98);
  }
  close(report[1]);
  ChildReport r{};
  const ssize_t got = read(report[0], &r, sizeof r);
  close(report[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 98) GTEST_SKIP() << "this kernel does not execute memfds";
  EXPECT_EQ(WEXITSTATUS(status), 126);
  ASSERT_EQ(got, ssize_t(sizeof r));
  EXPECT_EQ(r.kind, kReportSetupFailed);
  EXPECT_EQ(r.step, kStepStartInit);
  EXPECT_EQ(r.value, EINVAL);
}

// Writes `value` as the 8-byte word at `at`.
std::string with_word(std::string bytes, size_t at, int64_t value) {
  std::memcpy(bytes.data() + at, &value, sizeof value);
  return bytes;
}

// The word `words` words before the last place `what` is written.
size_t word_before(const std::string& bytes, const std::string& what, size_t words) {
  const size_t at = bytes.rfind(what);
  EXPECT_NE(at, std::string::npos) << what;
  return at - 8 * words;
}

// Values encode_plan never writes are refused, not read as something near them: a uid of 2^32 as 0 (root,
// in a run as root), a filter count of -2 as "no filter", 65,537 instructions as 1, a flag of 2 as true.
TEST(SandboxPlan, RefusesValuesTheTrainerNeverWrites) {
  FullPlan full;
  const std::string bytes = encode_plan(full.p);
  DecodedPlan d;
  ASSERT_TRUE(decode_plan(bytes, d));
  int64_t uid = full.p.sandbox_uid;
  const size_t uid_at = bytes.find(std::string(reinterpret_cast<const char*>(&uid), 8));
  ASSERT_NE(uid_at, std::string::npos);
  EXPECT_FALSE(decode_plan(with_word(bytes, uid_at, int64_t(1) << 32), d));
  EXPECT_FALSE(decode_plan(with_word(bytes, uid_at, -2), d));
  EXPECT_TRUE(decode_plan(with_word(bytes, uid_at, -1), d));  // -1: no uid of its own
  EXPECT_EQ(d.plan.sandbox_uid, -1);

  const std::string filter(reinterpret_cast<const char*>(full.filter), sizeof full.filter);
  const size_t filter_count_at = word_before(bytes, filter, 1);
  for (int64_t bad : {int64_t(-2), int64_t(0), int64_t(65537), int64_t(4097)})
    EXPECT_FALSE(decode_plan(with_word(bytes, filter_count_at, bad), d)) << bad;

  // argv[0] (after the exe, "/usr/bin/python3"): its list's count, then its length.
  const size_t argv_count_at = word_before(bytes, "/usr/bin/python", 2);
  EXPECT_FALSE(decode_plan(with_word(bytes, argv_count_at, -2), d));

  const size_t user_ns_at = 19;  // the first flag, right after the magic
  EXPECT_FALSE(decode_plan(with_word(bytes, user_ns_at, 2), d));

  const size_t first_limit_at = word_before(bytes, std::string("\x02\0\0\0\0\0\0\0\x03", 9), 1);
  EXPECT_FALSE(decode_plan(with_word(bytes, first_limit_at, RLIM_NLIMITS), d));  // no such resource
}

}  // namespace
}  // namespace seek::reward::detail
