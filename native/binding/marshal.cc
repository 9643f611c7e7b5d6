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

bool ToBool(const Napi::Value &v) {
  bool b = false;
  napi_get_value_bool(v.Env(), v, &b);  // not napi_coerce_to_bool: that one fails (and node-addon-api
  return b;                             // aborts) while a worker is being terminated
}

size_t ToSize(const Napi::Value &v) {
  double d = ToDouble(v, 0);
  return d <= 0 ? 0 : static_cast<size_t>(d);
}

ObjectOut::ObjectOut(napi_env env) : env_(env) { ok_ = napi_create_object(env, &obj_) == napi_ok; }

ObjectOut &ObjectOut::Set(const char *name, napi_value v) {
  ok_ = ok_ && v != nullptr && napi_set_named_property(env_, obj_, name, v) == napi_ok;
  return *this;
}

ObjectOut &ObjectOut::Set(const char *name, double v) {
  napi_value n = nullptr;
  if (ok_) napi_create_double(env_, v, &n);
  return Set(name, n);
}

ObjectOut &ObjectOut::Set(const char *name, const std::string &v) {
  napi_value str = nullptr;
  if (ok_) napi_create_string_utf8(env_, v.data(), v.size(), &str);
  return Set(name, str);
}

ObjectOut &ObjectOut::Set(const char *name, bool v) {
  napi_value b = nullptr;
  if (ok_) napi_get_boolean(env_, v, &b);
  return Set(name, b);
}

napi_value ArrayOf(napi_env env, const std::vector<napi_value> &items) {
  napi_value arr = nullptr;
  if (napi_create_array_with_length(env, items.size(), &arr) != napi_ok) return nullptr;
  for (size_t i = 0; i < items.size(); i++) {
    if (items[i] == nullptr || napi_set_element(env, arr, static_cast<uint32_t>(i), items[i]) != napi_ok) return nullptr;
  }
  return arr;
}

namespace {
double Num(uint64_t v) { return static_cast<double>(v); }
}  // namespace

napi_value ContextStatsObject(napi_env env, Rec *rec, const struct mcx_context_stats &cs) {
  size_t count = 0;
  mcx_context_chunks(rec->ctx, nullptr, 0, &count);
  std::vector<mcx_chunk_info> chunks(count);
  size_t got = 0;
  if (count > 0) mcx_context_chunks(rec->ctx, chunks.data(), count, &got);
  std::vector<napi_value> items;
  for (size_t i = 0; i < std::min(got, count); i++) {
    items.push_back(ObjectOut(env).Set("size", Num(chunks[i].size)).Set("used", Num(chunks[i].used)).Value());
  }
  // The binding's copy of the name, as it was given (C truncates it to MCX_NAME_MAX).
  return ObjectOut(env)
      .Set("name", rec->name)
      .Set("totalBytes", Num(cs.total_bytes))
      .Set("usedBytes", Num(cs.used_bytes))
      .Set("freeBytes", Num(cs.free_bytes))
      .Set("limitBytes", Num(cs.limit_bytes))
      .Set("chunkCount", Num(cs.chunk_count))
      .Set("largeCount", Num(cs.large_count))
      .Set("childCount", Num(cs.child_count))
      .Set("chunks", ArrayOf(env, items))
      .Value();
}

napi_value GlobalStatsObject(napi_env env, Load *load) {
  struct mcx_global_stats gs{};
  mcx_global_stats(&gs);
  ObjectOut o(env);
#define MCX_X_SET(field, camel, doc) o.Set(camel, Num(gs.field));
  MCX_GLOBAL_STATS_LIST(MCX_X_SET)
#undef MCX_X_SET
  o.Set("residentBytes", Num(mcx_resident_bytes()));
  size_t count = 0;
  mcx_top_chunks(nullptr, 0, &count);
  std::vector<mcx_top_info> tops(count);
  size_t got = count;
  if (count > 0) mcx_top_chunks(tops.data(), count, &got);
  std::vector<napi_value> items;
  for (size_t i = 0; i < std::min(got, count); i++) {
    items.push_back(ObjectOut(env)
                        .Set("size", Num(tops[i].size))
                        .Set("used", Num(tops[i].used))
                        .Set("decommitted", Num(tops[i].decommitted))
                        .Set("dedicated", tops[i].dedicated != 0)
                        .Value());
  }
  o.Set("topChunks", ArrayOf(env, items));
  o.Set("quarantinedContexts", Num(g_counters.parkedNow.load(std::memory_order_relaxed)));
  o.Set("quarantinedBytes", Num(g_counters.parkedBytes.load(std::memory_order_relaxed)));
  o.Set("arrayBuffersCreated", Num(g_counters.created.load()));
  o.Set("arrayBuffersDetached", Num(g_counters.detached.load()));
  o.Set("arrayBuffersCollected", Num(g_counters.collected.load()));
  o.Set("backstopDeletedNative", Num(g_counters.backstopDeleted.load()));
  o.Set("liveContextsThisLoad", Num(load->liveCount));
  return o.Value();
}

napi_value ConstantsObject(napi_env env) {
  ObjectOut status(env);
#define MCX_X_STATUS(name, value, code, text) status.Set(code, static_cast<double>(value));
  MCX_STATUS_LIST(MCX_X_STATUS)
#undef MCX_X_STATUS
  napi_value scratch = ObjectOut(env)
                           .Set("offset", static_cast<double>(kScratchOffset))
                           .Set("chunkBytes", static_cast<double>(kScratchChunkBytes))
                           .Set("chunkIndex", static_cast<double>(kScratchChunkIndex))
                           .Set("largeThreshold", static_cast<double>(kScratchLargeThreshold))
                           .Set("handle", static_cast<double>(kScratchHandle))
                           .Value();
  mcx_config dflt;
  mcx_config_default(&dflt);
  return ObjectOut(env)
      .Set("status", status.Value())
      .Set("scratch", scratch)
      .Set("maxAllocBytes", Num(MCX_ALLOC_MAX))
      .Set("align", Num(MCX_ALIGN))
      .Set("cleanContexts", kCleanContexts)
      .Set("minTopChunkBytes", Num(MCX_TOP_CHUNK_MIN))
      .Set("maxTopChunkBytes", Num(MCX_TOP_CHUNK_MAX))
      .Set("minChunkBytes", Num(MCX_CHUNK_MIN))
      .Set("maxChunkBytes", Num(MCX_CHUNK_MAX))
      .Set("maxDecayMs", Num(MCX_DECAY_MAX_MS))
      .Set("defaultTopChunkBytes", Num(dflt.top_chunk_size))
      .Set("defaultMaxTopChunkBytes", Num(dflt.max_top_chunk_size))
      .Set("defaultRetainBytes", Num(dflt.retain_bytes))
      .Set("defaultDecayMs", Num(dflt.decay_ms))
      .Set("version", std::to_string(MCX_VERSION_MAJOR) + "." + std::to_string(MCX_VERSION_MINOR) + "." +
                          std::to_string(MCX_VERSION_PATCH))
      .Value();
}

}  // namespace memctx
