// release.cc - parking: a context tree whose memory some ArrayBuffer may still reach waits here,
// untouched, until V8 has freed the last of them; then a JS thread deletes it.
#include "binding.h"

#include <mutex>

namespace memctx {

Counters g_counters;

namespace {

struct Quarantine {
  mcx_context *root;            // NULL: nothing to delete
  std::atomic<size_t> pending;  // slots not dead yet (+1 while being handed over)
  uint64_t bytes;               // total_bytes of the tree when parked, for stats
};

// Trees whose last ArrayBuffer has gone, waiting for a JS thread: the deleter may run on V8's
// sweeper thread, and mcx_delete belongs on a thread that uses memctx.
std::mutex g_readyMutex;
std::vector<Quarantine *> g_ready;
std::atomic<size_t> g_readyCount{0};

void FreeQuarantine(Quarantine *q) {
  if (q->root != nullptr) mcx_delete(q->root);
  g_counters.parkedNow.fetch_sub(1, std::memory_order_relaxed);
  g_counters.parkedBytes.fetch_sub(q->bytes, std::memory_order_relaxed);
  delete q;
}

void Ready(Quarantine *q) {
  std::lock_guard<std::mutex> lock(g_readyMutex);
  g_ready.push_back(q);
  g_readyCount.store(g_ready.size(), std::memory_order_release);
}

}  // namespace

void SlotDead(AbSlot *slot) {
  g_counters.collected.fetch_add(1, std::memory_order_relaxed);
  uintptr_t prev = slot->state.exchange(kSlotDead, std::memory_order_acq_rel);
  if (prev == kSlotLive) return;  // its context is live: the record frees the slot
  auto *q = reinterpret_cast<Quarantine *>(prev);
  delete slot;
  if (q->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) Ready(q);
}

uint64_t ParkedCount() { return g_counters.parkedNow.load(std::memory_order_relaxed); }

void DrainReady() {
  if (g_readyCount.load(std::memory_order_acquire) == 0) return;
  std::vector<Quarantine *> ready;
  {
    std::lock_guard<std::mutex> lock(g_readyMutex);
    ready.swap(g_ready);
    g_readyCount.store(0, std::memory_order_release);
  }
  for (Quarantine *q : ready) FreeQuarantine(q);
}

void Park(mcx_context *root, std::vector<AbSlot *> &slots) {
  uint64_t bytes = 0;
  if (root != nullptr) {
    mcx_set_parent(root, nullptr);  // a parent's reset or delete must not free it early
    struct mcx_context_stats cs{};
    if (mcx_context_stats(root, &cs) == MCX_OK) bytes = cs.total_bytes;
  }
  auto *q = new Quarantine{root, {1}, bytes};  // 1: our guard while handing over
  g_counters.parkedNow.fetch_add(1, std::memory_order_relaxed);
  g_counters.parkedBytes.fetch_add(bytes, std::memory_order_relaxed);
  for (AbSlot *sl : slots) {
    q->pending.fetch_add(1, std::memory_order_acq_rel);
    uintptr_t expected = kSlotLive;
    if (!sl->state.compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(q), std::memory_order_acq_rel)) {
      q->pending.fetch_sub(1, std::memory_order_acq_rel);  // collected already
      delete sl;
    }
  }
  slots.clear();
  if (q->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) FreeQuarantine(q);  // none alive
}

}  // namespace memctx
