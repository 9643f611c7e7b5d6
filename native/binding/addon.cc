// addon.cc - the memctx Node-API binding: maps C contexts and their process chunks onto external
// ArrayBuffers, detaches (or parks) them on reset/delete, and maps C status codes to MemctxError.
// Thin by design: every argument is validated by the TypeScript facade (lib/).
//
// Ownership rules (see docs/API.md, "Release modes"):
//  - detach mode: each chunk or large allocation gets one external ArrayBuffer without a
//    finalizer; on free/reset/delete the facade hands back the ArrayBuffers it holds, this file
//    checks each one is an ArrayBuffer it created for that context and detaches it BEFORE the C
//    memory is reused or unmapped. Deleted root contexts are recycled through a small pool.
//  - reserve mode: nothing is detached; each ArrayBuffer carries a deleter (or a Node-API
//    finalizer), and a reset or deleted context's C tree is parked until every ArrayBuffer over
//    it has been collected, so a stale view only ever sees the bytes of its own context.
// The addon is context-aware: all state hangs off the per-environment Instance, released by an
// environment cleanup hook, so it loads in worker threads, several at once. Context handles are
// numbers (record index + generation), so a stale handle can never reach a reused record.
#include <napi.h>

#include "malloc_trim.h"

// Fast path for detach mode: an ArrayBuffer over C memory made with V8's own API costs a
// fraction of napi_create_external_arraybuffer (which makes a whole node::Buffer with a weak
// global handle, a cleanup hook and a finalizer; see bench/js/RESULTS.md). Only where V8 allows
// external backing stores (no V8 sandbox) and only for buffers without a finalizer; every other
// case goes through Node-API. MEMCTX_NAPI_ONLY=1 turns it off at build time.
#if !defined(MEMCTX_NAPI_ONLY) && !defined(V8_ENABLE_SANDBOX)
#define MEMCTX_V8_DIRECT 1
#include <v8.h>
#else
#define MEMCTX_V8_DIRECT 0
#endif

#include <algorithm>
#include <cmath>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <mutex>
#include <unordered_set>
#include <vector>

extern "C" {
#include "memctx.h"
}

namespace {

// A context handle is a number: table index + generation * kIndexSpan. Numbers cost nothing to
// create or collect (an External per context costs a global handle, a finalizer and malloc
// churn that dominated the request lifecycle); the generation makes a stale handle harmless.
constexpr double kIndexSpan = 4194304.0;  // 2^22 live contexts per thread
constexpr uint32_t kMaxGen = 1u << 30;
constexpr int kStatusNoExternal = -100;     // binding-level status: external buffers forbidden

// Process-wide counters (several environments share the C core); atomics because worker
// threads update them concurrently. Finalizers touch only these, never an Instance.
std::atomic<uint64_t> g_abCreated{0};
std::atomic<uint64_t> g_abDetached{0};
std::atomic<uint64_t> g_abFinalized{0};
std::atomic<uint64_t> g_quarantined{0};
std::atomic<uint64_t> g_quarantineReleased{0};
std::atomic<uint64_t> g_backstopDeleted{0};
std::atomic<uint64_t> g_pooled{0};  // C contexts parked in the threads' pools (see ContextPool)

struct CtxRec;

// A context tree parked by reserve mode: deleted once every ArrayBuffer over it is collected.
// The collector may be V8's background sweeper thread, hence the atomics; the tree itself is
// touched by nobody until then (it was made a root), so any JS thread may delete it.
struct Quarantine {
  mcx_context *root;           // NULL: nothing to delete (orphaned at environment teardown)
  std::atomic<size_t> pending; // ArrayBuffers over the tree not yet collected
  uint64_t bytes;              // total_bytes of the tree when parked, for stats
};

// One ArrayBuffer of reserve mode. state: 0 while its context is live (the slot sits in
// rec->slots and the record frees it), kSlotDead once collected during that time, or the
// Quarantine waiting for it (then the collector frees the slot).
constexpr uintptr_t kSlotDead = 1;
struct AbSlot {
  void *data;
  size_t bytes;
  bool large;
  std::atomic<uintptr_t> state;
};

// Parked trees whose last ArrayBuffer has been collected, waiting for a JS thread to delete
// them (DrainReady: on create, reset/delete, the maintenance timer and stats).
std::mutex g_readyMutex;
std::vector<Quarantine *> g_ready;
std::atomic<size_t> g_readyCount{0};
std::atomic<uint64_t> g_parkedCount{0};
std::atomic<uint64_t> g_parkedBytes{0};

struct Instance;

struct CtxRec {
  uint32_t index = 0;
  uint32_t gen = 0;
  Instance *inst = nullptr;   // NULL after environment teardown
  mcx_context *ctx = nullptr; // NULL once dead
  CtxRec *parent = nullptr;
  std::vector<CtxRec *> children;
  bool reserve = false;
  // detach mode: the data pointers of every ArrayBuffer made for this context, so that only
  // our own buffers are ever detached.
  std::vector<void *> chunkData;
  std::unordered_set<void *> largeData;
  // reserve mode: the ArrayBuffers made for this context (some maybe collected already).
  std::vector<AbSlot *> slots;
  size_t slotsCompactAt = 64;
  const void *curChunk = nullptr;
  // options kept to recreate the C context on a reserve-mode reset
  std::string name;
  mcx_context_options opts{};
};

// Root contexts of detach mode are recycled: delete() resets the C context (keeping its first
// process chunk) and parks it here; the next create() with the same options takes it. A reset
// costs ~70 ns in C where create + delete cost 300-500 ns (bench/js/RESULTS.md). The pool is
// small, emptied by trim(), by the maintenance timer once idle for decayMs, and at teardown.
struct Pooled {
  mcx_context *ctx;
  size_t initialSize, maxChunkSize, limitBytes;
};
// 64: a service with tens of requests in flight frees and creates them in bursts; with 16 the
// pool ran dry and overflowed in turns (C create/delete instead of a reset). At most 64 first
// chunks (16 KiB each by default, 1 MiB) stay parked, and only until the pool has been idle.
constexpr size_t kPoolMax = 64;

struct Instance {
  std::vector<Pooled> pool;
  uint64_t poolUsedMs = 0;
  Napi::FunctionReference errorCtor;
  Napi::Reference<Napi::Float64Array> scratchRef;
  double *scratch = nullptr;
  std::vector<CtxRec *> table;   // every record, live or pooled, by index
  std::vector<uint32_t> freeIdx;  // pooled records
  size_t liveCount = 0;
  bool noExternalForTest = false;
  bool v8Direct = MEMCTX_V8_DIRECT != 0;  // setArrayBufferMaker('napi') turns it off
  bool closing = false;
};

// ---- errors ---------------------------------------------------------------------------------

// Throw a MemctxError (the class is created in JS and handed over by init) for a C status.
void ThrowStatus(Napi::Env env, int status, const char *what) {
  Instance *inst = env.GetInstanceData<Instance>();
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
  if (inst != nullptr && !inst->errorCtor.IsEmpty()) {
    Napi::Object err = inst->errorCtor.New({Napi::String::New(env, msg), Napi::String::New(env, code),
                                            Napi::Number::New(env, status)});
    if (!env.IsExceptionPending()) Napi::Error(env, err).ThrowAsJavaScriptException();
    return;
  }
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
}

void ThrowInternal(Napi::Env env, const char *msg) {
  Napi::Error e = Napi::TypeError::New(env, std::string("memctx binding: ") + msg);
  e.Set("code", Napi::String::New(env, "ERR_MEMCTX_INTERNAL"));
  e.ThrowAsJavaScriptException();
}

// ---- handles --------------------------------------------------------------------------------

double HandleOf(const CtxRec *rec) { return static_cast<double>(rec->gen) * kIndexSpan + rec->index; }

// The live record a handle names; NULL for a dead handle (the context was deleted and its record
// reused), after throwing when mustBeLive.
CtxRec *GetRec(const Napi::CallbackInfo &info, size_t i, bool mustBeLive = true) {
  Napi::Env env = info.Env();
  Napi::Value v = info[i];
  if (!v.IsNumber()) {
    ThrowInternal(env, "expected a context handle");
    return nullptr;
  }
  double h = v.As<Napi::Number>().DoubleValue();
  Instance *inst = env.GetInstanceData<Instance>();
  if (!(h >= 0) || h > kIndexSpan * kMaxGen) {
    ThrowInternal(env, "not a memctx context handle");
    return nullptr;
  }
  double genD = std::floor(h / kIndexSpan);
  size_t index = static_cast<size_t>(h - genD * kIndexSpan);
  CtxRec *rec = index < inst->table.size() ? inst->table[index] : nullptr;
  if (rec == nullptr || rec->gen != static_cast<uint32_t>(genD) || rec->ctx == nullptr) {
    if (mustBeLive) ThrowStatus(env, MCX_EDELETED, "context");
    return nullptr;
  }
  return rec;
}

CtxRec *AcquireRec(Instance *inst) {
  CtxRec *rec;
  if (!inst->freeIdx.empty()) {
    rec = inst->table[inst->freeIdx.back()];
    inst->freeIdx.pop_back();
  } else {
    if (inst->table.size() >= static_cast<size_t>(kIndexSpan)) return nullptr;
    rec = new CtxRec();
    rec->index = static_cast<uint32_t>(inst->table.size());
    inst->table.push_back(rec);
  }
  rec->inst = inst;
  inst->liveCount++;
  return rec;
}

// Return a dead record to the pool; its generation moves on so old handles stop naming it.
void ReleaseRec(CtxRec *rec) {
  Instance *inst = rec->inst;
  rec->ctx = nullptr;
  rec->parent = nullptr;
  rec->children.clear();
  rec->chunkData.clear();
  rec->largeData.clear();
  rec->slots.clear();
  rec->curChunk = nullptr;
  rec->gen = (rec->gen + 1) % kMaxGen;
  if (inst != nullptr) {
    inst->freeIdx.push_back(rec->index);
    inst->liveCount--;
  }
}

size_t ToSize(const Napi::Value &v) {
  double d = v.As<Napi::Number>().DoubleValue();
  return d <= 0 ? 0 : static_cast<size_t>(d);
}

// ---- ArrayBuffers ---------------------------------------------------------------------------

// A reserve-mode ArrayBuffer was collected (any thread).
void SlotDead(AbSlot *slot) {
  g_abFinalized.fetch_add(1, std::memory_order_relaxed);
  uintptr_t prev = slot->state.exchange(kSlotDead, std::memory_order_acq_rel);
  if (prev == 0) return;  // its context is live: the record frees the slot
  Quarantine *q = reinterpret_cast<Quarantine *>(prev);
  delete slot;
  if (q->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    std::lock_guard<std::mutex> lock(g_readyMutex);
    g_ready.push_back(q);
    g_readyCount.store(g_ready.size(), std::memory_order_release);
  }
}

void SlotFinalize(napi_env /*env*/, void * /*data*/, void *hint) { SlotDead(static_cast<AbSlot *>(hint)); }

#if MEMCTX_V8_DIRECT
void SlotDeleter(void * /*data*/, size_t /*length*/, void *deleterData) { SlotDead(static_cast<AbSlot *>(deleterData)); }
#endif

void FreeQuarantine(Quarantine *q) {
  if (q->root != nullptr) {
    mcx_delete(q->root);
    g_quarantineReleased.fetch_add(1, std::memory_order_relaxed);
  }
  g_parkedCount.fetch_sub(1, std::memory_order_relaxed);
  g_parkedBytes.fetch_sub(q->bytes, std::memory_order_relaxed);
  delete q;
}

// Delete the parked trees whose ArrayBuffers are all gone.
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

// Drop the slots of collected ArrayBuffers from a live context's list (amortised O(1)).
void CompactSlots(CtxRec *rec) {
  auto &v = rec->slots;
  size_t j = 0;
  for (size_t i = 0; i < v.size(); i++) {
    if (v[i]->state.load(std::memory_order_acquire) == kSlotDead) {
      delete v[i];
    } else {
      v[j++] = v[i];
    }
  }
  v.resize(j);
  rec->slotsCompactAt = std::max<size_t>(64, 2 * j);
}

// Create an external ArrayBuffer over [data, data+bytes) for rec. Returns an empty value with an
// exception pending on failure (napi_no_external_buffers_allowed becomes a MemctxError).
Napi::Value MakeAb(Napi::Env env, CtxRec *rec, void *data, size_t bytes, bool large) {
  napi_value out = nullptr;
  napi_status st;
  AbSlot *slot = nullptr;
  if (rec->inst->noExternalForTest) {
    st = napi_no_external_buffers_allowed;
  } else if (rec->reserve) {
    slot = new AbSlot{data, bytes, large, {0}};
#if MEMCTX_V8_DIRECT
    if (rec->inst->v8Direct) {
      // The deleter runs when V8 frees the backing store, possibly on its sweeper thread.
      v8::Isolate *isolate = v8::Isolate::GetCurrent();
      std::unique_ptr<v8::BackingStore> store = v8::ArrayBuffer::NewBackingStore(data, bytes, SlotDeleter, slot);
      v8::Local<v8::ArrayBuffer> ab = v8::ArrayBuffer::New(isolate, std::move(store));
      std::memcpy(static_cast<void *>(&out), static_cast<const void *>(&ab), sizeof(out));
      st = napi_ok;
    } else {
      st = napi_create_external_arraybuffer(env, data, bytes, SlotFinalize, slot, &out);
    }
#else
    st = napi_create_external_arraybuffer(env, data, bytes, SlotFinalize, slot, &out);
#endif
  } else {
#if MEMCTX_V8_DIRECT
    if (rec->inst->v8Direct) {
      // Node-API values are V8 Local handles underneath (node's v8impl does the same cast).
      v8::Isolate *isolate = v8::Isolate::GetCurrent();
      std::unique_ptr<v8::BackingStore> store =
          v8::ArrayBuffer::NewBackingStore(data, bytes, v8::BackingStore::EmptyDeleter, nullptr);
      v8::Local<v8::ArrayBuffer> ab = v8::ArrayBuffer::New(isolate, std::move(store));
      static_assert(sizeof(napi_value) == sizeof(v8::Local<v8::ArrayBuffer>), "napi_value is a Local");
      std::memcpy(static_cast<void *>(&out), static_cast<const void *>(&ab), sizeof(out));
      st = napi_ok;
    } else {
      st = napi_create_external_arraybuffer(env, data, bytes, nullptr, nullptr, &out);
    }
#else
    st = napi_create_external_arraybuffer(env, data, bytes, nullptr, nullptr, &out);
#endif
  }
  if (st != napi_ok) {
    delete slot;
    if (st == napi_no_external_buffers_allowed) {
      ThrowStatus(env, kStatusNoExternal, "mapping a process chunk");
    } else if (!env.IsExceptionPending()) {
      ThrowStatus(env, MCX_ENOMEM, "creating an external ArrayBuffer");
    }
    return Napi::Value();
  }
  g_abCreated.fetch_add(1, std::memory_order_relaxed);
  if (slot != nullptr) {
    rec->slots.push_back(slot);
    if (rec->slots.size() >= rec->slotsCompactAt) CompactSlots(rec);
  } else if (large) {
    rec->largeData.insert(data);
  } else {
    rec->chunkData.push_back(data);
  }
  return Napi::Value(env, out);
}

// Detach the ArrayBuffers in `abs` that this addon created for rec (detach mode). Anything else
// is skipped: detaching a buffer we do not own (Node's Buffer pool) would break the process.
bool DetachOne(CtxRec *rec, const Napi::Value &v) {
  if (!v.IsArrayBuffer()) return false;
  Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
  if (ab.IsDetached()) return false;
  void *data = ab.Data();
  bool ours = rec->largeData.count(data) != 0 ||
              std::find(rec->chunkData.begin(), rec->chunkData.end(), data) != rec->chunkData.end();
  if (!ours) return false;
  ab.Detach();
  return true;
}

// Detach the ArrayBuffers in `absValue` (one ArrayBuffer or an array of them) that this addon
// created for rec (detach mode). Anything else is skipped: detaching a buffer we do not own
// (Node's Buffer pool) would break the process.
uint32_t DetachOwned(Napi::Env /*env*/, CtxRec *rec, const Napi::Value &absValue) {
  uint32_t detached = 0;
  if (absValue.IsArray()) {
    Napi::Array abs = absValue.As<Napi::Array>();
    uint32_t n = abs.Length();
    for (uint32_t i = 0; i < n; i++) detached += DetachOne(rec, abs.Get(i)) ? 1 : 0;
  } else if (absValue.IsArrayBuffer()) {
    detached = DetachOne(rec, absValue) ? 1 : 0;
  }
  g_abDetached.fetch_add(detached, std::memory_order_relaxed);
  rec->chunkData.clear();
  rec->largeData.clear();
  rec->curChunk = nullptr;
  return detached;
}

// ---- the context tree of records ------------------------------------------------------------

void Unlink(CtxRec *rec) {
  if (rec->parent != nullptr) {
    auto &sib = rec->parent->children;
    sib.erase(std::remove(sib.begin(), sib.end(), rec), sib.end());
    rec->parent = nullptr;
  }
}

// Mark rec's descendants dead (their C contexts die with rec's). Iterative: deep trees must not
// overflow the stack.
void KillDescendants(CtxRec *rec) {
  std::vector<CtxRec *> stack(rec->children.begin(), rec->children.end());
  rec->children.clear();
  while (!stack.empty()) {
    CtxRec *r = stack.back();
    stack.pop_back();
    for (CtxRec *c : r->children) stack.push_back(c);
    r->children.clear();
    ReleaseRec(r);  // reserve mode: CollectSlots took its slots before
  }
}

// Collect every live reserve-mode slot of rec and its descendants.
void CollectSlots(CtxRec *rec, std::vector<AbSlot *> &out) {
  std::vector<CtxRec *> stack{rec};
  while (!stack.empty()) {
    CtxRec *r = stack.back();
    stack.pop_back();
    for (CtxRec *c : r->children) stack.push_back(c);
    for (AbSlot *s : r->slots) out.push_back(s);
    r->slots.clear();
  }
}

// Park the C tree rooted at `root` (NULL: nothing to delete) until the ArrayBuffers in `slots`
// are collected; slots of buffers already collected are freed here.
void Park(mcx_context *root, std::vector<AbSlot *> &slots) {
  uint64_t bytes = 0;
  if (root != nullptr) {
    mcx_set_parent(root, nullptr);  // a parent's delete must not free it early
    struct mcx_context_stats cs{};
    if (mcx_context_stats(root, &cs) == MCX_OK) bytes = cs.total_bytes;
  }
  Quarantine *q = new Quarantine{root, {1}, bytes};  // 1: our guard while handing over
  g_parkedCount.fetch_add(1, std::memory_order_relaxed);
  g_parkedBytes.fetch_add(bytes, std::memory_order_relaxed);
  g_quarantined.fetch_add(1, std::memory_order_relaxed);
  for (AbSlot *sl : slots) {
    q->pending.fetch_add(1, std::memory_order_acq_rel);
    uintptr_t expected = 0;
    if (!sl->state.compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(q), std::memory_order_acq_rel)) {
      q->pending.fetch_sub(1, std::memory_order_acq_rel);  // collected already
      delete sl;
    }
  }
  slots.clear();
  if (q->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) FreeQuarantine(q);  // none alive
}

// Write the current span of rec into the scratch array: [offset, chunkBytes, chunkIndex,
// largeThreshold]; return a new ArrayBuffer when the chunk changed, else undefined.
Napi::Value SpanOut(Napi::Env env, CtxRec *rec, const mcx_span &span) {
  double *s = rec->inst->scratch;
  s[0] = static_cast<double>(span.offset);
  s[1] = static_cast<double>(span.chunk_bytes);
  s[2] = static_cast<double>(span.chunk_index);
  s[3] = static_cast<double>(mcx_large_threshold(rec->ctx));
  if (span.chunk_data == rec->curChunk) return env.Undefined();
  Napi::Value ab = MakeAb(env, rec, span.chunk_data, span.chunk_bytes, false);
  if (ab.IsEmpty()) return ab;
  rec->curChunk = span.chunk_data;
  return ab;
}

// ---- exported functions ---------------------------------------------------------------------

// init(MemctxError, scratch: Float64Array(8))
Napi::Value Init(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Instance *inst = env.GetInstanceData<Instance>();
  inst->errorCtor = Napi::Persistent(info[0].As<Napi::Function>());
  Napi::Float64Array scratch = info[1].As<Napi::Float64Array>();
  inst->scratchRef = Napi::Persistent(scratch);
  inst->scratch = scratch.Data();
  return env.Undefined();
}

// create(parent|null, name, initialSize, maxChunkSize, limitBytes, reserve) -> [handle, ab]
Napi::Value Create(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Instance *inst = env.GetInstanceData<Instance>();
  DrainReady();
  CtxRec *parent = nullptr;
  if (info[0].IsNumber()) {
    parent = GetRec(info, 0);
    if (parent == nullptr) return Napi::Value();
  }
  CtxRec *rec = AcquireRec(inst);
  if (rec == nullptr) {
    ThrowStatus(env, MCX_ENOMEM, "creating a context (too many live contexts in this thread)");
    return Napi::Value();
  }
  if (info[1].IsString()) {
    rec->name = info[1].As<Napi::String>().Utf8Value();
  } else {
    rec->name.assign("context");
  }
  rec->opts.name = nullptr;
  rec->opts.initial_size = ToSize(info[2]);
  rec->opts.max_chunk_size = ToSize(info[3]);
  rec->opts.limit_bytes = ToSize(info[4]);
  // A tree has one release mode: a reserve-mode child's buffers must be parked with its parent's
  // tree, a detach-mode child's detached with it.
  rec->reserve = parent != nullptr ? parent->reserve : info[5].ToBoolean().Value();
  mcx_context_options opts = rec->opts;
  opts.name = rec->name.c_str();
  rec->ctx = nullptr;
  if (parent == nullptr && !rec->reserve) {
    for (size_t i = inst->pool.size(); i-- > 0;) {
      const Pooled &p = inst->pool[i];
      if (p.initialSize == opts.initial_size && p.maxChunkSize == opts.max_chunk_size &&
          p.limitBytes == opts.limit_bytes) {
        rec->ctx = p.ctx;
        inst->pool.erase(inst->pool.begin() + static_cast<std::ptrdiff_t>(i));
        g_pooled.fetch_sub(1, std::memory_order_relaxed);
        break;
      }
    }
  }
  if (rec->ctx == nullptr) rec->ctx = mcx_context_create(parent != nullptr ? parent->ctx : nullptr, &opts);
  if (rec->ctx == nullptr) {
    int st = mcx_errno();
    ReleaseRec(rec);
    ThrowStatus(env, st, "creating a context");
    return Napi::Value();
  }
  mcx_span span;
  int st = mcx_span_reserve(rec->ctx, 0, &span);
  Napi::Value ab;
  if (st == MCX_OK) ab = SpanOut(env, rec, span);
  if (st != MCX_OK || ab.IsEmpty()) {
    std::vector<AbSlot *> slots;
    CollectSlots(rec, slots);
    Park(rec->ctx, slots);
    ReleaseRec(rec);
    if (st != MCX_OK) ThrowStatus(env, st, "reserving the first process chunk");
    return Napi::Value();
  }
  if (parent != nullptr) {
    rec->parent = parent;
    parent->children.push_back(rec);
  }
  // The handle goes into scratch[4]; the chunk's ArrayBuffer is the return value.
  inst->scratch[4] = HandleOf(rec);
  return ab;
}

// reserve(handle, usedOffset, freedBytes, minBytes) -> ab | undefined; scratch = span
Napi::Value Reserve(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CtxRec *rec = GetRec(info, 0);
  if (rec == nullptr) return Napi::Value();
  int st = mcx_span_commit(rec->ctx, ToSize(info[1]), ToSize(info[2]));
  mcx_span span;
  if (st == MCX_OK) st = mcx_span_reserve(rec->ctx, ToSize(info[3]), &span);
  if (st != MCX_OK) {
    ThrowStatus(env, st, "allocating a process chunk");
    return Napi::Value();
  }
  return SpanOut(env, rec, span);
}

// commit(handle, usedOffset, freedBytes)
Napi::Value Commit(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CtxRec *rec = GetRec(info, 0);
  if (rec == nullptr) return Napi::Value();
  int st = mcx_span_commit(rec->ctx, ToSize(info[1]), ToSize(info[2]));
  if (st != MCX_OK) ThrowStatus(env, st, "committing the span");
  return env.Undefined();
}

// allocLarge(handle, size, zero, usedOffset, freeBytes) -> ab. The span is committed first (the
// C contract: commit before any other call on the context) and re-reserved by the caller's next
// reserve; large allocations take a process chunk of their own and leave the span alone.
Napi::Value AllocLarge(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CtxRec *rec = GetRec(info, 0);
  if (rec == nullptr) return Napi::Value();
  size_t size = ToSize(info[1]);
  bool zero = info[2].ToBoolean().Value();
  int cst = mcx_span_commit(rec->ctx, ToSize(info[3]), ToSize(info[4]));
  if (cst != MCX_OK) {
    ThrowStatus(env, cst, "committing the span");
    return Napi::Value();
  }
  void *p = zero ? mcx_alloc_zero(rec->ctx, size) : mcx_alloc(rec->ctx, size);
  if (p == nullptr) {
    ThrowStatus(env, mcx_errno(), "allocating a large buffer");
    return Napi::Value();
  }
  Napi::Value ab = MakeAb(env, rec, p, size, true);
  if (ab.IsEmpty()) mcx_free(p);
  return ab;
}

// freeLarge(handle, ab): detach mode detaches now and frees; reserve mode frees once collected.
Napi::Value FreeLarge(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CtxRec *rec = GetRec(info, 0);
  if (rec == nullptr) return Napi::Value();
  if (!info[1].IsArrayBuffer()) {
    ThrowInternal(env, "freeLarge expects an ArrayBuffer");
    return Napi::Value();
  }
  Napi::ArrayBuffer ab = info[1].As<Napi::ArrayBuffer>();
  void *data = ab.Data();
  if (rec->reserve) {
    // reserve mode never reuses memory a live view may reach: the allocation stays with the
    // context until its reset/delete parks it (the facade refuses a second free).
    for (AbSlot *sl : rec->slots) {
      if (sl->data == data && sl->large) return env.Undefined();
    }
    ThrowStatus(env, MCX_EFOREIGN, "free");
    return Napi::Value();
  }
  auto it = rec->largeData.find(data);
  if (it == rec->largeData.end() || ab.IsDetached()) {
    ThrowStatus(env, MCX_EFOREIGN, "free");
    return Napi::Value();
  }
  rec->largeData.erase(it);
  ab.Detach();  // before the memory can be reused
  g_abDetached.fetch_add(1, std::memory_order_relaxed);
  int st = mcx_free(data);
  if (st != MCX_OK) ThrowStatus(env, st, "free");
  return env.Undefined();
}

// detachAll(handle, abs) -> count; used on descendants before their ancestor is reset.
Napi::Value DetachAll(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CtxRec *rec = GetRec(info, 0, false);
  if (rec == nullptr) return Napi::Number::New(env, 0);
  return Napi::Number::New(env, DetachOwned(env, rec, info[1]));
}

// reset(handle, abs) -> ab of the first chunk (scratch = span)
Napi::Value Reset(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CtxRec *rec = GetRec(info, 0);
  if (rec == nullptr) return Napi::Value();
  DrainReady();
  if (rec->reserve) {
    mcx_context_options opts = rec->opts;
    opts.name = rec->name.c_str();
    mcx_context *fresh = mcx_context_create(rec->parent != nullptr ? rec->parent->ctx : nullptr, &opts);
    if (fresh == nullptr) {
      ThrowStatus(env, mcx_errno(), "reset");
      return Napi::Value();
    }
    std::vector<AbSlot *> slots;
    CollectSlots(rec, slots);
    KillDescendants(rec);
    mcx_context *old = rec->ctx;
    rec->ctx = fresh;
    rec->curChunk = nullptr;
    Park(old, slots);
  } else {
    DetachOwned(env, rec, info[1]);
    KillDescendants(rec);
    int st = mcx_reset(rec->ctx);
    if (st != MCX_OK) {
      ThrowStatus(env, st, "reset");
      return Napi::Value();
    }
  }
  mcx_span span;
  int st = mcx_span_reserve(rec->ctx, 0, &span);
  if (st != MCX_OK) {
    ThrowStatus(env, st, "reset");
    return Napi::Value();
  }
  return SpanOut(env, rec, span);
}

void Kill(Napi::Env env, CtxRec *rec, const Napi::Value &abs) {
  Instance *inst = rec->inst;
  if (rec->reserve) {
    std::vector<AbSlot *> slots;
    CollectSlots(rec, slots);
    KillDescendants(rec);
    Unlink(rec);
    mcx_context *old = rec->ctx;
    Park(old, slots);
  } else {
    DetachOwned(env, rec, abs);
    KillDescendants(rec);
    bool root = rec->parent == nullptr;
    Unlink(rec);
    if (root && inst->pool.size() < kPoolMax && !inst->closing && mcx_reset(rec->ctx) == MCX_OK) {
      inst->pool.push_back(Pooled{rec->ctx, rec->opts.initial_size, rec->opts.max_chunk_size, rec->opts.limit_bytes});
      inst->poolUsedMs = mcx_now_ms();
      g_pooled.fetch_add(1, std::memory_order_relaxed);
    } else {
      mcx_delete(rec->ctx);
    }
  }
  ReleaseRec(rec);
}

// Delete every pooled C context of this thread.
void DrainPool(Instance *inst) {
  for (const Pooled &p : inst->pool) mcx_delete(p.ctx);
  g_pooled.fetch_sub(inst->pool.size(), std::memory_order_relaxed);
  inst->pool.clear();
}

// destroy(handle, abs): delete the context (idempotent).
Napi::Value Destroy(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CtxRec *rec = GetRec(info, 0, false);
  if (rec != nullptr) Kill(env, rec, info[1]);
  return env.Undefined();
}

// backstop(handle): the FinalizationRegistry found the context unreachable; every view over it
// is unreachable too (each chunk's ArrayBuffer keeps its context object alive), so nothing needs
// detaching. Returns how many live contexts it deleted (it and its descendants; 0 if dead).
Napi::Value Backstop(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CtxRec *rec = GetRec(info, 0, false);
  if (rec == nullptr) return Napi::Number::New(env, 0);
  size_t killed = 0;
  std::vector<CtxRec *> stack{rec};
  while (!stack.empty()) {
    CtxRec *r = stack.back();
    stack.pop_back();
    killed++;
    for (CtxRec *c : r->children) stack.push_back(c);
  }
  Kill(env, rec, env.Undefined());
  g_backstopDeleted.fetch_add(1, std::memory_order_relaxed);
  return Napi::Number::New(env, static_cast<double>(killed));
}

Napi::Value ContextStats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CtxRec *rec = GetRec(info, 0);
  if (rec == nullptr) return Napi::Value();
  struct mcx_context_stats cs{};
  int st = mcx_context_stats(rec->ctx, &cs);
  if (st != MCX_OK) {
    ThrowStatus(env, st, "stats");
    return Napi::Value();
  }
  Napi::Object o = Napi::Object::New(env);
  // The binding's copy: a recycled C context keeps the name it was first created with.
  o.Set("name", Napi::String::New(env, rec->name.c_str()));
  o.Set("totalBytes", Napi::Number::New(env, static_cast<double>(cs.total_bytes)));
  o.Set("usedBytes", Napi::Number::New(env, static_cast<double>(cs.used_bytes)));
  o.Set("freeBytes", Napi::Number::New(env, static_cast<double>(cs.free_bytes)));
  o.Set("limitBytes", Napi::Number::New(env, static_cast<double>(cs.limit_bytes)));
  o.Set("chunkCount", Napi::Number::New(env, static_cast<double>(cs.chunk_count)));
  o.Set("largeCount", Napi::Number::New(env, static_cast<double>(cs.large_count)));
  o.Set("childCount", Napi::Number::New(env, static_cast<double>(cs.child_count)));
  size_t count = 0;
  mcx_context_chunks(rec->ctx, nullptr, 0, &count);
  std::vector<mcx_chunk_info> chunks(count);
  size_t got = 0;
  if (count > 0) mcx_context_chunks(rec->ctx, chunks.data(), count, &got);
  Napi::Array arr = Napi::Array::New(env, std::min(got, count));
  for (size_t i = 0; i < std::min(got, count); i++) {
    Napi::Object c = Napi::Object::New(env);
    c.Set("size", Napi::Number::New(env, static_cast<double>(chunks[i].size)));
    c.Set("used", Napi::Number::New(env, static_cast<double>(chunks[i].used)));
    arr.Set(static_cast<uint32_t>(i), c);
  }
  o.Set("chunks", arr);
  return o;
}

// globalStats() -> the C global statistics (fields defined once by MCX_GLOBAL_STATS_LIST), the
// resident bytes measured with mincore, the top-chunk vector and the binding's own counters.
Napi::Value GlobalStats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Instance *inst = env.GetInstanceData<Instance>();
  DrainReady();
  struct mcx_global_stats gs{};
  mcx_global_stats(&gs);
  Napi::Object o = Napi::Object::New(env);
#define MCX_X_SET(field, camel, doc) o.Set(camel, Napi::Number::New(env, static_cast<double>(gs.field)));
  MCX_GLOBAL_STATS_LIST(MCX_X_SET)
#undef MCX_X_SET
  // Pooled contexts are not the program's: report them apart.
  uint64_t pooled = g_pooled.load(std::memory_order_relaxed);
  o.Set("contextCount", Napi::Number::New(env, static_cast<double>(gs.context_count - std::min(pooled, gs.context_count))));
  o.Set("pooledContexts", Napi::Number::New(env, static_cast<double>(pooled)));
  o.Set("residentBytes", Napi::Number::New(env, static_cast<double>(mcx_resident_bytes())));
  size_t count = 0;
  mcx_top_chunks(nullptr, 0, &count);
  std::vector<mcx_top_info> tops(count);
  size_t got = count;
  if (count > 0) mcx_top_chunks(tops.data(), count, &got);
  size_t n = std::min(got, count);
  Napi::Array arr = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; i++) {
    Napi::Object t = Napi::Object::New(env);
    t.Set("size", Napi::Number::New(env, static_cast<double>(tops[i].size)));
    t.Set("used", Napi::Number::New(env, static_cast<double>(tops[i].used)));
    t.Set("decommitted", Napi::Number::New(env, static_cast<double>(tops[i].decommitted)));
    t.Set("dedicated", Napi::Boolean::New(env, tops[i].dedicated != 0));
    arr.Set(static_cast<uint32_t>(i), t);
  }
  o.Set("topChunks", arr);
  uint64_t qBytes = g_parkedBytes.load(std::memory_order_relaxed);
  o.Set("quarantinedContexts", Napi::Number::New(env, static_cast<double>(g_parkedCount.load(std::memory_order_relaxed))));
  o.Set("quarantinedBytes", Napi::Number::New(env, static_cast<double>(qBytes)));
  o.Set("arrayBuffersCreated", Napi::Number::New(env, static_cast<double>(g_abCreated.load())));
  o.Set("arrayBuffersDetached", Napi::Number::New(env, static_cast<double>(g_abDetached.load())));
  o.Set("arrayBuffersCollected", Napi::Number::New(env, static_cast<double>(g_abFinalized.load())));
  o.Set("backstopDeletedNative", Napi::Number::New(env, static_cast<double>(g_backstopDeleted.load())));
  o.Set("liveContextsThisThread", Napi::Number::New(env, static_cast<double>(inst->liveCount)));
  return o;
}

Napi::Value Maintain(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Instance *inst = env.GetInstanceData<Instance>();
  DrainReady();
  if (!inst->pool.empty()) {
    mcx_config cfg;
    mcx_config_get(&cfg);
    if (mcx_now_ms() - inst->poolUsedMs >= cfg.decay_ms) DrainPool(inst);
  }
  return Napi::Number::New(env, static_cast<double>(mcx_maintain(0)));
}

Napi::Value Trim(const Napi::CallbackInfo &info) {
  DrainPool(info.Env().GetInstanceData<Instance>());
  return Napi::Number::New(info.Env(), static_cast<double>(mcx_trim()));
}

// configure(topChunkSize, maxTopChunkSize, retainBytes, decayMs); a negative number keeps the
// current value.
Napi::Value Configure(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  mcx_config cfg;
  mcx_config_get(&cfg);
  double v;
  if ((v = info[0].As<Napi::Number>().DoubleValue()) >= 0) cfg.top_chunk_size = static_cast<size_t>(v);
  if ((v = info[1].As<Napi::Number>().DoubleValue()) >= 0) cfg.max_top_chunk_size = static_cast<size_t>(v);
  if ((v = info[2].As<Napi::Number>().DoubleValue()) >= 0) cfg.retain_bytes = static_cast<size_t>(v);
  if ((v = info[3].As<Napi::Number>().DoubleValue()) >= 0) cfg.decay_ms = static_cast<uint64_t>(v);
  int st = mcx_configure(&cfg);
  if (st != MCX_OK) ThrowStatus(env, st, "configure");
  return env.Undefined();
}

Napi::Value GetConfig(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  mcx_config cfg;
  mcx_config_get(&cfg);
  Napi::Object o = Napi::Object::New(env);
  o.Set("topChunkSize", Napi::Number::New(env, static_cast<double>(cfg.top_chunk_size)));
  o.Set("maxTopChunkSize", Napi::Number::New(env, static_cast<double>(cfg.max_top_chunk_size)));
  o.Set("retainBytes", Napi::Number::New(env, static_cast<double>(cfg.retain_bytes)));
  o.Set("decayMs", Napi::Number::New(env, static_cast<double>(cfg.decay_ms)));
  return o;
}

Napi::Value Check(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const mcx_context *root = nullptr;
  if (info[0].IsNumber()) {
    CtxRec *rec = GetRec(info, 0);
    if (rec == nullptr) return Napi::Value();
    root = rec->ctx;
  }
  return Napi::Number::New(env, mcx_check(root));
}

Napi::Value CheckingEnabled(const Napi::CallbackInfo &info) {
  return Napi::Boolean::New(info.Env(), mcx_checking_enabled() != 0);
}

// Testing hooks: fail the nth mapping; pretend external buffers are forbidden.
Napi::Value FaultInject(const Napi::CallbackInfo &info) {
  mcx_fault_inject(info[0].As<Napi::Number>().Uint32Value(), info[1].As<Napi::Number>().Uint32Value());
  return info.Env().Undefined();
}

// setV8Direct(on) -> whether the V8 fast path is in use afterwards (false when not compiled in).
Napi::Value SetV8Direct(const Napi::CallbackInfo &info) {
  Instance *inst = info.Env().GetInstanceData<Instance>();
  inst->v8Direct = MEMCTX_V8_DIRECT != 0 && info[0].ToBoolean().Value();
  return Napi::Boolean::New(info.Env(), inst->v8Direct);
}

Napi::Value SetNoExternalBuffers(const Napi::CallbackInfo &info) {
  info.Env().GetInstanceData<Instance>()->noExternalForTest = info[0].ToBoolean().Value();
  return info.Env().Undefined();
}

// Environment teardown (worker exit, process exit): JS no longer runs, so no view can be read;
// delete every live context and every parked tree. Finalizers that come later find their
// records detached from this Instance.
void Cleanup(Instance *inst) {
  inst->closing = true;
  DrainPool(inst);
  DrainReady();
  for (CtxRec *r : inst->table) {
    if (r->ctx == nullptr || r->parent != nullptr) continue;  // children die with their root
    std::vector<AbSlot *> slots;
    CollectSlots(r, slots);
    mcx_delete(r->ctx);
    r->ctx = nullptr;
    // The isolate frees its ArrayBuffers after this; their collectors free the slots through an
    // empty quarantine (JS no longer runs, so the memory could go at once).
    Park(nullptr, slots);
  }
  for (CtxRec *r : inst->table) delete r;
  inst->table.clear();
  inst->freeIdx.clear();
  inst->liveCount = 0;
  // Trees parked earlier by this thread wait for their ArrayBuffers like any other: the isolate's
  // teardown frees those, and the next DrainReady on any thread deletes the trees.
}

Napi::Object ModuleInit(Napi::Env env, Napi::Object exports) {
  Instance *inst = new Instance();
  env.SetInstanceData<Instance>(inst);
  napi_add_env_cleanup_hook(env, [](void *arg) { Cleanup(static_cast<Instance *>(arg)); }, inst);
  exports.Set("init", Napi::Function::New(env, Init, "init"));
  exports.Set("create", Napi::Function::New(env, Create, "create"));
  exports.Set("reserve", Napi::Function::New(env, Reserve, "reserve"));
  exports.Set("commit", Napi::Function::New(env, Commit, "commit"));
  exports.Set("allocLarge", Napi::Function::New(env, AllocLarge, "allocLarge"));
  exports.Set("freeLarge", Napi::Function::New(env, FreeLarge, "freeLarge"));
  exports.Set("detachAll", Napi::Function::New(env, DetachAll, "detachAll"));
  exports.Set("reset", Napi::Function::New(env, Reset, "reset"));
  exports.Set("destroy", Napi::Function::New(env, Destroy, "destroy"));
  exports.Set("backstop", Napi::Function::New(env, Backstop, "backstop"));
  exports.Set("contextStats", Napi::Function::New(env, ContextStats, "contextStats"));
  exports.Set("globalStats", Napi::Function::New(env, GlobalStats, "globalStats"));
  exports.Set("maintain", Napi::Function::New(env, Maintain, "maintain"));
  exports.Set("trim", Napi::Function::New(env, Trim, "trim"));
  exports.Set("configure", Napi::Function::New(env, Configure, "configure"));
  exports.Set("getConfig", Napi::Function::New(env, GetConfig, "getConfig"));
  exports.Set("check", Napi::Function::New(env, Check, "check"));
  exports.Set("checkingEnabled", Napi::Function::New(env, CheckingEnabled, "checkingEnabled"));
  exports.Set("faultInject", Napi::Function::New(env, FaultInject, "faultInject"));
  exports.Set("setV8Direct", Napi::Function::New(env, SetV8Direct, "setV8Direct"));
  exports.Set("setNoExternalBuffers", Napi::Function::New(env, SetNoExternalBuffers, "setNoExternalBuffers"));
  exports.Set("mallocTrim", Napi::Function::New(env, MallocTrim, "mallocTrim"));
  exports.Set("maxAllocBytes", Napi::Number::New(env, static_cast<double>(MCX_ALLOC_MAX)));
  exports.Set("align", Napi::Number::New(env, MCX_ALIGN));
  exports.Set("version", Napi::String::New(env, std::to_string(MCX_VERSION_MAJOR) + "." +
                                                    std::to_string(MCX_VERSION_MINOR) + "." +
                                                    std::to_string(MCX_VERSION_PATCH)));
  return exports;
}

}  // namespace

NODE_API_MODULE(memctx, ModuleInit)
