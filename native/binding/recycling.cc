// recycling.cc - the pool of deleted root contexts of one load: delete() resets the C context
// (keeping its first process chunk) and parks it here; the next create() with the same options
// takes it. A reset costs ~70 ns in C where create + delete cost 300-500 ns (bench/js/RESULTS.md).
#include "binding.h"

namespace memctx {
namespace {

// 64: a service with tens of requests in flight frees and creates them in bursts; with 16 the
// pool ran dry and overflowed in turns. At most 64 first chunks stay parked, and only until the
// pool has been idle for decayMs.
constexpr size_t kPoolMax = 64;

bool SameOptions(const mcx_context_options &a, const mcx_context_options &b) {
  return a.initial_size == b.initial_size && a.max_chunk_size == b.max_chunk_size && a.limit_bytes == b.limit_bytes;
}

}  // namespace

mcx_context *TakePooled(Load *load, const mcx_context_options &opts) {
  for (size_t i = load->pool.size(); i-- > 0;) {
    if (!SameOptions(load->poolOpts[i], opts)) continue;
    mcx_context *ctx = load->pool[i];
    load->pool.erase(load->pool.begin() + static_cast<std::ptrdiff_t>(i));
    load->poolOpts.erase(load->poolOpts.begin() + static_cast<std::ptrdiff_t>(i));
    g_counters.pooled.fetch_sub(1, std::memory_order_relaxed);
    return ctx;
  }
  return nullptr;
}

void PoolOrDelete(Load *load, mcx_context *ctx, const mcx_context_options &opts) {
  if (load->pool.size() < kPoolMax && !load->closing && mcx_reset(ctx) == MCX_OK) {
    load->pool.push_back(ctx);
    load->poolOpts.push_back(opts);
    load->poolUsedMs = mcx_now_ms();
    g_counters.pooled.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  mcx_delete(ctx);
}

void DrainPool(Load *load) {
  for (mcx_context *ctx : load->pool) mcx_delete(ctx);
  g_counters.pooled.fetch_sub(load->pool.size(), std::memory_order_relaxed);
  load->pool.clear();
  load->poolOpts.clear();
}

void DrainPoolIfIdle(Load *load) {
  if (load->pool.empty()) return;
  mcx_config cfg;
  mcx_config_get(&cfg);
  if (mcx_now_ms() - load->poolUsedMs >= cfg.decay_ms) DrainPool(load);
}

uint64_t PooledCount() { return g_counters.pooled.load(std::memory_order_relaxed); }

}  // namespace memctx
