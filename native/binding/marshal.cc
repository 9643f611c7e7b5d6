// marshal.cc - values across the boundary: C status codes to MemctxError, numbers in, statistics
// objects out, and the constants the facade reads at load (so no number is typed twice).
#include "binding.h"

#include <algorithm>

namespace memctx {

void ThrowStatus(Napi::Env env, Load *load, int status, const char *what) {
  if (Terminating() || env.IsExceptionPending()) return;
  std::string code;
  std::string text;
  if (status == kStatusNoExternal) {
    code = "ERR_MEMCTX_NO_EXTERNAL_BUFFERS";
    text = "external ArrayBuffers are not allowed in this runtime (napi_no_external_buffers_allowed, "
           "e.g. Electron's V8 sandbox); memctx cannot map its chunks into JavaScript here";
  } else {
    code = mcx_status_code(status);
    text = mcx_strerror(status);
  }
  std::string msg = std::string(what) + ": " + text;
  if (load != nullptr && !load->errorCtor.IsEmpty()) {
    Napi::Value err = load->errorCtor.New({Napi::String::New(env, msg), Napi::String::New(env, code), Napi::Number::New(env, status)});
    if (!env.IsExceptionPending() && !err.IsEmpty()) Napi::Error(env, err).ThrowAsJavaScriptException();
    return;
  }
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
}

void ThrowInternal(Napi::Env env, const char *msg) {
  if (Terminating() || env.IsExceptionPending()) return;
  Napi::Error e = Napi::TypeError::New(env, std::string("memctx binding: ") + msg);
  e.Set("code", Napi::String::New(env, "ERR_MEMCTX_INTERNAL"));
  e.ThrowAsJavaScriptException();
}

double ToDouble(const Napi::Value &v, double otherwise) {
  double d;
  return napi_get_value_double(v.Env(), v, &d) == napi_ok ? d : otherwise;  // one call, no typeof
}

size_t ToSize(const Napi::Value &v) {
  double d = ToDouble(v, 0);
  return d <= 0 ? 0 : static_cast<size_t>(d);
}

namespace {
Napi::Value Num(Napi::Env env, uint64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }
}  // namespace

Napi::Object ContextStatsObject(Napi::Env env, Rec *rec, const struct mcx_context_stats &cs) {
  Napi::Object o = Napi::Object::New(env);
  // The binding's copy: a recycled C context keeps the name it was first created with.
  o.Set("name", Napi::String::New(env, rec->name));
  o.Set("totalBytes", Num(env, cs.total_bytes));
  o.Set("usedBytes", Num(env, cs.used_bytes));
  o.Set("freeBytes", Num(env, cs.free_bytes));
  o.Set("limitBytes", Num(env, cs.limit_bytes));
  o.Set("chunkCount", Num(env, cs.chunk_count));
  o.Set("largeCount", Num(env, cs.large_count));
  o.Set("childCount", Num(env, cs.child_count));
  size_t count = 0;
  mcx_context_chunks(rec->ctx, nullptr, 0, &count);
  std::vector<mcx_chunk_info> chunks(count);
  size_t got = 0;
  if (count > 0) mcx_context_chunks(rec->ctx, chunks.data(), count, &got);
  size_t n = std::min(got, count);
  Napi::Array arr = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; i++) {
    Napi::Object c = Napi::Object::New(env);
    c.Set("size", Num(env, chunks[i].size));
    c.Set("used", Num(env, chunks[i].used));
    arr.Set(static_cast<uint32_t>(i), c);
  }
  o.Set("chunks", arr);
  return o;
}

Napi::Object GlobalStatsObject(Napi::Env env, Load *load) {
  struct mcx_global_stats gs{};
  mcx_global_stats(&gs);
  Napi::Object o = Napi::Object::New(env);
#define MCX_X_SET(field, camel, doc) o.Set(camel, Num(env, gs.field));
  MCX_GLOBAL_STATS_LIST(MCX_X_SET)
#undef MCX_X_SET
  // Pooled contexts are not the program's: report them apart.
  uint64_t pooled = PooledCount();
  o.Set("contextCount", Num(env, gs.context_count - std::min(pooled, gs.context_count)));
  o.Set("pooledContexts", Num(env, pooled));
  o.Set("residentBytes", Num(env, mcx_resident_bytes()));
  size_t count = 0;
  mcx_top_chunks(nullptr, 0, &count);
  std::vector<mcx_top_info> tops(count);
  size_t got = count;
  if (count > 0) mcx_top_chunks(tops.data(), count, &got);
  size_t n = std::min(got, count);
  Napi::Array arr = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; i++) {
    Napi::Object t = Napi::Object::New(env);
    t.Set("size", Num(env, tops[i].size));
    t.Set("used", Num(env, tops[i].used));
    t.Set("decommitted", Num(env, tops[i].decommitted));
    t.Set("dedicated", Napi::Boolean::New(env, tops[i].dedicated != 0));
    arr.Set(static_cast<uint32_t>(i), t);
  }
  o.Set("topChunks", arr);
  o.Set("quarantinedContexts", Num(env, g_counters.parkedNow.load(std::memory_order_relaxed)));
  o.Set("quarantinedBytes", Num(env, g_counters.parkedBytes.load(std::memory_order_relaxed)));
  o.Set("arrayBuffersCreated", Num(env, g_counters.created.load()));
  o.Set("arrayBuffersDetached", Num(env, g_counters.detached.load()));
  o.Set("arrayBuffersCollected", Num(env, g_counters.collected.load()));
  o.Set("backstopDeletedNative", Num(env, g_counters.backstopDeleted.load()));
  o.Set("liveContextsThisLoad", Num(env, load->liveCount));
  return o;
}

Napi::Object ConstantsObject(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  Napi::Object status = Napi::Object::New(env);
#define MCX_X_STATUS(name, value, code, text) status.Set(code, Napi::Number::New(env, value));
  MCX_STATUS_LIST(MCX_X_STATUS)
#undef MCX_X_STATUS
  c.Set("status", status);
  Napi::Object scratch = Napi::Object::New(env);
  scratch.Set("offset", Napi::Number::New(env, kScratchOffset));
  scratch.Set("chunkBytes", Napi::Number::New(env, kScratchChunkBytes));
  scratch.Set("chunkIndex", Napi::Number::New(env, kScratchChunkIndex));
  scratch.Set("largeThreshold", Napi::Number::New(env, kScratchLargeThreshold));
  scratch.Set("handle", Napi::Number::New(env, kScratchHandle));
  c.Set("scratch", scratch);
  c.Set("maxAllocBytes", Num(env, MCX_ALLOC_MAX));
  c.Set("align", Num(env, MCX_ALIGN));
  mcx_config dflt;
  mcx_config_default(&dflt);
  c.Set("minTopChunkBytes", Num(env, MCX_TOP_CHUNK_MIN));
  c.Set("maxTopChunkBytes", Num(env, MCX_TOP_CHUNK_MAX));
  c.Set("minChunkBytes", Num(env, MCX_CHUNK_MIN));
  c.Set("maxChunkBytes", Num(env, MCX_CHUNK_MAX));
  c.Set("maxDecayMs", Num(env, MCX_DECAY_MAX_MS));
  c.Set("defaultTopChunkBytes", Num(env, dflt.top_chunk_size));
  c.Set("defaultMaxTopChunkBytes", Num(env, dflt.max_top_chunk_size));
  c.Set("defaultRetainBytes", Num(env, dflt.retain_bytes));
  c.Set("defaultDecayMs", Num(env, dflt.decay_ms));
  c.Set("version", Napi::String::New(env, std::to_string(MCX_VERSION_MAJOR) + "." + std::to_string(MCX_VERSION_MINOR) + "." +
                                              std::to_string(MCX_VERSION_PATCH)));
  return c;
}

}  // namespace memctx
