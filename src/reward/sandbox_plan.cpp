#include "reward/sandbox_plan.hpp"

#include <linux/filter.h>
#include <sys/resource.h>

#include <cstring>
#include <deque>
#include <limits>
#include <vector>

namespace seek::reward::detail {

namespace {

constexpr std::string_view kMagic{"seek-sandbox-plan-1", 19};

class Writer {
 public:
  void u64(uint64_t v) { bytes_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  // A null pointer is told apart from "": the plan uses null for "not given".
  void str(const char* s) {
    if (!s) {
      i64(-1);
      return;
    }
    const size_t n = std::strlen(s);
    i64(static_cast<int64_t>(n));
    bytes_.append(s, n);
  }
  void raw(const void* p, size_t n) { bytes_.append(static_cast<const char*>(p), n); }
  std::string take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

// Every read checks what is left, so a short or garbled plan fails instead of reading past its end.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool ok() const { return ok_; }
  bool at_end() const { return ok_ && pos_ == b_.size(); }
  uint64_t u64() {
    uint64_t v = 0;
    if (!take(&v, sizeof v)) return 0;
    return v;
  }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  // A value encode_plan wrote from an int (or -1 for "none" where `lowest` is -1): anything else fails.
  int in_range(int64_t lowest, int64_t highest) {
    const int64_t v = i64();
    if (v < lowest || v > highest) ok_ = false;
    return ok_ ? static_cast<int>(v) : 0;
  }
  bool flag() {
    const uint64_t v = u64();
    if (v > 1) ok_ = false;
    return v == 1;
  }
  // A count of items at least `item_bytes` each: bounded by what is left, so a bad count cannot allocate.
  size_t count(size_t item_bytes) {
    const int64_t n = i64();
    if (n < 0 || static_cast<uint64_t>(n) > (b_.size() - pos_) / item_bytes) ok_ = false;
    return ok_ ? static_cast<size_t>(n) : 0;
  }
  // Null for a null string; otherwise a pointer into `keep`.
  const char* str(std::deque<std::string>& keep) {
    const int64_t n = i64();
    if (!ok_ || n == -1) return nullptr;
    if (n < -1 || static_cast<uint64_t>(n) > b_.size() - pos_) {
      ok_ = false;
      return nullptr;
    }
    keep.emplace_back(b_.substr(pos_, static_cast<size_t>(n)));
    pos_ += static_cast<size_t>(n);
    if (keep.back().find('\0') != std::string::npos) ok_ = false;
    return keep.back().c_str();
  }
  bool take(void* out, size_t n) {
    if (!ok_ || n > b_.size() - pos_) return ok_ = false;
    if (n == 0) return true;
    std::memcpy(out, b_.data() + pos_, n);
    pos_ += n;
    return true;
  }

 private:
  std::string_view b_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

struct DecodedPlan::Storage {
  std::deque<std::string> strings;  // a deque: adding a string never moves the others
  std::vector<BindEntry> binds;
  std::vector<const char*> dirs;
  std::vector<mode_t> dir_modes;
  std::vector<sock_filter> filter;
  sock_fprog fprog{};
  std::vector<char*> argv, envp;
};

std::string encode_plan(const ChildPlan& p) {
  Writer w;
  w.raw(kMagic.data(), kMagic.size());
  for (bool flag : {p.user_ns, p.mount_ns, p.pid_ns, p.probe_only, p.maps_written}) w.u64(flag);
  for (const char* s : {p.setgroups_path, p.uid_map, p.gid_map, p.root, p.tmpfs_options}) w.str(s);
  w.i64(p.n_binds);
  for (int i = 0; i < p.n_binds; ++i) {
    const BindEntry& b = p.binds[i];
    w.str(b.target);
    w.str(b.host);
    w.str(b.symlink_target);
    w.u64(b.device);
  }
  w.i64(p.n_dirs);
  for (int i = 0; i < p.n_dirs; ++i) {
    w.str(p.dirs[i]);
    w.u64(p.dir_modes[i]);
  }
  for (const char* s : {p.work_host, p.src_bind_target, p.src_host, p.workdir}) w.str(s);
  w.i64(p.sandbox_uid);
  w.i64(p.n_limits);
  for (int i = 0; i < p.n_limits; ++i) {
    w.i64(p.limits[i].resource);
    w.u64(p.limits[i].value.rlim_cur);
    w.u64(p.limits[i].value.rlim_max);
  }
  w.i64(p.seccomp ? p.seccomp->len : -1);
  if (p.seccomp) w.raw(p.seccomp->filter, sizeof(sock_filter) * p.seccomp->len);
  w.str(p.exe);
  for (char* const* list : {p.argv, p.envp}) {
    int64_t n = 0;
    while (list && list[n]) ++n;
    w.i64(list ? n : -1);
    for (int64_t i = 0; i < n; ++i) w.str(list[i]);
  }
  return w.take();
}

bool decode_plan(std::string_view bytes, DecodedPlan& out) {
  auto st = std::make_shared<DecodedPlan::Storage>();
  ChildPlan p;
  Reader r(bytes);
  std::string magic(kMagic.size(), '\0');
  if (!r.take(magic.data(), magic.size()) || magic != kMagic) return false;
  bool* flags[] = {&p.user_ns, &p.mount_ns, &p.pid_ns, &p.probe_only, &p.maps_written};
  for (bool* f : flags) *f = r.flag();
  const char** strs[] = {&p.setgroups_path, &p.uid_map, &p.gid_map, &p.root, &p.tmpfs_options};
  for (const char** s : strs) *s = r.str(st->strings);
  st->binds.resize(r.count(4 * sizeof(int64_t)));
  for (BindEntry& b : st->binds) {
    b.target = r.str(st->strings);
    b.host = r.str(st->strings);
    b.symlink_target = r.str(st->strings);
    b.device = r.flag();
  }
  const size_t n_dirs = r.count(2 * sizeof(int64_t));
  for (size_t i = 0; i < n_dirs; ++i) {
    st->dirs.push_back(r.str(st->strings));
    st->dir_modes.push_back(static_cast<mode_t>(r.in_range(0, 07777)));
  }
  const char** paths[] = {&p.work_host, &p.src_bind_target, &p.src_host, &p.workdir};
  for (const char** s : paths) *s = r.str(st->strings);
  p.sandbox_uid = r.in_range(-1, std::numeric_limits<int>::max());
  const size_t n_limits = r.count(3 * sizeof(int64_t));
  if (n_limits > sizeof p.limits / sizeof p.limits[0]) return false;
  for (size_t i = 0; i < n_limits; ++i) {
    p.limits[i].resource = r.in_range(0, RLIM_NLIMITS - 1);
    p.limits[i].value.rlim_cur = r.u64();
    p.limits[i].value.rlim_max = r.u64();
  }
  p.n_limits = static_cast<int>(n_limits);
  // -1: no filter; else 1 to BPF_MAXINSNS instructions, what the kernel takes.
  const int64_t n_filter = r.i64();
  if (n_filter == 0 || n_filter < -1 || n_filter > BPF_MAXINSNS) return false;
  if (n_filter > 0) {
    st->filter.resize(static_cast<size_t>(n_filter));
    if (!r.take(st->filter.data(), st->filter.size() * sizeof(sock_filter))) return false;
    st->fprog.len = static_cast<unsigned short>(st->filter.size());
    st->fprog.filter = st->filter.data();
    p.seccomp = &st->fprog;
  }
  p.exe = r.str(st->strings);
  for (std::vector<char*>* list : {&st->argv, &st->envp}) {
    const int64_t n = r.i64();
    if (n == -1) continue;  // a null list stays null
    if (!r.ok() || n < 0 || static_cast<uint64_t>(n) > bytes.size()) return false;
    for (int64_t i = 0; i < n; ++i) {
      const char* item = r.str(st->strings);
      if (!item) return false;  // a list holds strings up to its terminator only
      list->push_back(const_cast<char*>(item));
    }
    list->push_back(nullptr);
  }
  if (!r.ok() || !r.at_end()) return false;
  for (const char* d : st->dirs)
    if (!d) return false;
  p.binds = st->binds.data();
  p.n_binds = static_cast<int>(st->binds.size());
  p.dirs = st->dirs.data();
  p.dir_modes = st->dir_modes.data();
  p.n_dirs = static_cast<int>(st->dirs.size());
  p.argv = st->argv.empty() ? nullptr : st->argv.data();
  p.envp = st->envp.empty() ? nullptr : st->envp.data();
  p.stdin_fd = kInitStdin;
  p.stdout_fd = kInitStdout;
  p.stderr_fd = kInitStderr;
  p.report_fd = kInitReport;
  out.plan = p;
  out.storage = std::move(st);
  return true;
}

}  // namespace seek::reward::detail
