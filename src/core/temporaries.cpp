#include "core/temporaries.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>

namespace seek {

namespace {

constexpr int kSlots = 64;
constexpr size_t kMaxPath = 4096;

// A slot's path is written between two increments of seq (odd while it changes), so that a handler running on
// another thread, which copies it out, can tell a torn copy (seq moved) from a whole one: a seqlock.
struct Slot {
  std::atomic<bool> claimed{false};  // taken by a registration
  std::atomic<bool> used{false};     // path is a temporary to remove
  std::atomic<unsigned> seq{0};
  char path[kMaxPath];
};
Slot g_slots[kSlots];

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
    Slot& s = g_slots[i];
    bool free = false;
    if (!s.claimed.compare_exchange_strong(free, true)) continue;
    s.seq.fetch_add(1, std::memory_order_acq_rel);
    std::memcpy(s.path, path, n + 1);
    s.seq.fetch_add(1, std::memory_order_acq_rel);
    s.used.store(true, std::memory_order_release);
    return i;
  }
  return -1;
}

void unregister_temporary(int slot) {
  if (slot < 0) return;
  g_slots[slot].used.store(false, std::memory_order_release);
  g_slots[slot].claimed.store(false, std::memory_order_release);
}

void remove_registered_temporaries() {
  char copy[kMaxPath];
  for (Slot& s : g_slots) {
    if (!s.used.load(std::memory_order_acquire)) continue;
    const unsigned before = s.seq.load(std::memory_order_acquire);
    if (before & 1u) continue;
    size_t i = 0;
    for (; i + 1 < kMaxPath && s.path[i] != '\0'; ++i) copy[i] = s.path[i];
    copy[i] = '\0';
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s.seq.load(std::memory_order_relaxed) != before) continue;  // rewritten meanwhile: not that file
    ::unlink(copy);
  }
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
