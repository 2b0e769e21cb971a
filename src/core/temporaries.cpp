#include "core/temporaries.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>

namespace seek {

namespace {

constexpr int kSlots = 64;
constexpr size_t kMaxPath = 4096;
char g_paths[kSlots][kMaxPath];
std::atomic<bool> g_used[kSlots];  // a slot's path is complete before this is set (release), read (acquire)
std::atomic<bool> g_claimed[kSlots];

void remove_and_die(int sig) {
  remove_registered_temporaries();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

int register_temporary(const char* path) {
  const size_t n = std::strlen(path);
  if (n >= kMaxPath) return -1;
  for (int i = 0; i < kSlots; ++i) {
    bool free = false;
    if (!g_claimed[i].compare_exchange_strong(free, true)) continue;
    std::memcpy(g_paths[i], path, n + 1);
    g_used[i].store(true, std::memory_order_release);
    return i;
  }
  return -1;
}

void unregister_temporary(int slot) {
  if (slot < 0) return;
  g_used[slot].store(false, std::memory_order_release);
  g_claimed[slot].store(false);
}

void remove_registered_temporaries() {
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i].load(std::memory_order_acquire)) ::unlink(g_paths[i]);
}

void remove_temporaries_on_signals() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) != 0 || old.sa_handler == SIG_IGN) continue;
    struct sigaction sa {};
    sa.sa_handler = remove_and_die;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);
  }
}

}  // namespace seek
