// arraybuffers.cc - the external ArrayBuffers over context memory: making them (V8's API where
// allowed, Node-API otherwise), their slots and deleters, keeping them from being transferred,
// and detaching only the ones this binding made.
#include "binding.h"

// An ArrayBuffer made with V8's own API costs a fraction of napi_create_external_arraybuffer
// (which makes a whole node::Buffer with a weak handle, a cleanup hook and a finalizer), and only
// V8's API can set a detach key. Used where V8 allows external backing stores (no V8 sandbox);
// MEMCTX_NAPI_ONLY=1 turns it off at build time.
#if !defined(MEMCTX_NAPI_ONLY) && !defined(V8_ENABLE_SANDBOX)
#define MEMCTX_V8_DIRECT 1
#include <v8.h>
#else
#define MEMCTX_V8_DIRECT 0
#endif

#include <cstring>

namespace memctx {
namespace {

void SlotFinalize(napi_env /*env*/, void * /*data*/, void *hint) { SlotDead(static_cast<AbSlot *>(hint)); }

#if MEMCTX_V8_DIRECT
// Runs when V8 frees the backing store: at our own Detach (synchronously, when nothing else holds
// it), at collection (possibly on V8's sweeper thread), or at isolate teardown.
void SlotDeleter(void * /*data*/, size_t /*length*/, void *deleterData) { SlotDead(static_cast<AbSlot *>(deleterData)); }

static_assert(sizeof(napi_value) == sizeof(v8::Local<v8::Value>), "napi_value is a V8 Local underneath");

v8::Local<v8::Value> ToV8(napi_value v) {
  v8::Local<v8::Value> local;
  std::memcpy(static_cast<void *>(&local), static_cast<const void *>(&v), sizeof(v));
  return local;
}

napi_value FromV8(v8::Local<v8::Value> local) {
  napi_value v;
  std::memcpy(static_cast<void *>(&v), static_cast<const void *>(&local), sizeof(v));
  return v;
}

// The environment's detach key: one object per isolate, kept for the isolate's life.
v8::Local<v8::Value> DetachKey(v8::Isolate *isolate, Env *e) {
  auto *key = static_cast<v8::Global<v8::Value> *>(e->detachKey);
  if (key == nullptr) {
    key = new v8::Global<v8::Value>(isolate, v8::Object::New(isolate));
    e->detachKey = key;
  }
  return key->Get(isolate);
}
#endif

bool UseV8(const Env *e) { return MEMCTX_V8_DIRECT != 0 && e->v8Direct; }

// ---- holds: memory stays mapped while a JavaScript object over it lives ------------------------
//
// Detaching a chunk's ArrayBuffer makes every JavaScript view harmless, but native code (zlib,
// crypto.randomFill, fs.read on the thread pool) may still write through the pointer it took
// before. Node keeps the Buffer object of such an operation alive until the operation ends, so
// the binding holds the memory under each ArrayBuffer (mcx_hold: its top chunk is not unmapped)
// until V8 collects the ArrayBuffer object itself. A write after the context was deleted then
// lands in mapped memory (possibly another context's bytes, which the lifetime rules forbid)
// instead of crashing the process.

void UnholdFinalize(napi_env /*env*/, void *data, void * /*hint*/) { mcx_unhold(data); }

#if MEMCTX_V8_DIRECT
// A watched ArrayBuffer: a weak handle without a callback, which V8 empties when it collects
// the buffer. A callback per buffer cost a request context ~15% (native/README.md, "Holds"): V8
// queues each one in a vector it grows and frees at every scavenge, and glibc gives those pages
// back and faults them in again. Emptied handles are found by SweepWatches instead.
struct Watch {
  void *data;
  Watch *next;
  v8::Global<v8::ArrayBuffer> handle;
};
#endif

// Hold the memory under ab until ab is collected. When ab cannot be watched, the memory goes
// unheld rather than fail the allocation.
void HoldUntilCollected(Napi::Env env, Env *e, napi_value ab, void *data) {
  if (mcx_hold(data) != MCX_OK) return;
#if MEMCTX_V8_DIRECT
  if (UseV8(e)) {
    auto *w = static_cast<Watch *>(e->spareWatches);
    if (w != nullptr) e->spareWatches = w->next;
    else w = new Watch{nullptr, nullptr, {}};
    w->data = data;
    w->handle.Reset(v8::Isolate::GetCurrent(), ToV8(ab).As<v8::ArrayBuffer>());
    w->handle.SetWeak();
    w->next = static_cast<Watch *>(e->watches);
    e->watches = w;
    if (++e->watchCount >= e->sweepWatchesAt) SweepWatches(e);
    return;
  }
#endif
  if (napi_add_finalizer(env, ab, data, UnholdFinalize, nullptr, nullptr) != napi_ok) mcx_unhold(data);
}

// Slots come from the environment's spare list when it has one: a request context makes and
// frees one per ArrayBuffer. Only the JavaScript thread uses the list; a slot freed by a deleter
// on another thread (a parked tree's) goes back to malloc.
AbSlot *NewSlot(Env *e, void *data, size_t bytes) {
  if (e->spareSlots.empty()) return new AbSlot{data, bytes, {kSlotLive}};
  AbSlot *slot = e->spareSlots.back();
  e->spareSlots.pop_back();
  slot->data = data;
  slot->bytes = bytes;
  slot->state.store(kSlotLive, std::memory_order_relaxed);
  return slot;
}

// The slot of rec that covers data, found from where the last lookup stopped: the facade hands
// its ArrayBuffers back in the order they were made, so this is O(1) per buffer in practice.
AbSlot *FindSlot(Rec *rec, const void *data) {
  auto &v = rec->slots;
  size_t n = v.size();
  for (size_t k = 0; k < n; k++) {
    size_t i = (rec->detachCursor + k) % n;
    if (v[i]->data == data) {
      rec->detachCursor = i + 1;
      return v[i];
    }
  }
  return nullptr;
}

}  // namespace

bool V8BuffersCompiledIn() { return MEMCTX_V8_DIRECT != 0; }

bool Terminating() {
#if MEMCTX_V8_DIRECT
  v8::Isolate *isolate = v8::Isolate::GetCurrent();
  return isolate != nullptr && isolate->IsExecutionTerminating();
#else
  return false;
#endif
}

void CollectGarbageNow() {
#if MEMCTX_V8_DIRECT
  v8::Isolate::GetCurrent()->LowMemoryNotification();
#endif
}

void SweepWatches(Env *e) {
#if MEMCTX_V8_DIRECT
  size_t live = 0;
  Watch *prev = nullptr;
  for (Watch *w = static_cast<Watch *>(e->watches), *next; w != nullptr; w = next) {
    next = w->next;
    if (!w->handle.IsEmpty()) {
      live++;
      prev = w;
      continue;
    }
    if (prev != nullptr) prev->next = next;
    else e->watches = next;
    mcx_unhold(w->data);
    w->next = static_cast<Watch *>(e->spareWatches);
    e->spareWatches = w;
  }
  e->watchCount = live;
  e->sweepWatchesAt = live * 2 > kMinWatchesPerSweep ? live * 2 : kMinWatchesPerSweep;
#else
  (void)e;
#endif
}

void ReleaseHolds(Env *e) {
#if MEMCTX_V8_DIRECT
  // Every watch holds its memory, whether V8 emptied its handle yet or not.
  for (auto *w = static_cast<Watch *>(e->watches), *next = w; w != nullptr; w = next) {
    next = w->next;
    w->handle.Reset();
    mcx_unhold(w->data);
    delete w;
  }
  for (auto *w = static_cast<Watch *>(e->spareWatches), *next = w; w != nullptr; w = next) {
    next = w->next;
    delete w;
  }
#endif
  e->watches = nullptr;
  e->spareWatches = nullptr;
  e->watchCount = 0;
}

void FreeDetachKey(Env *e) {
#if MEMCTX_V8_DIRECT
  auto *key = static_cast<v8::Global<v8::Value> *>(e->detachKey);
  if (key != nullptr) key->Reset();
  delete key;
#endif
  e->detachKey = nullptr;
}

Untransferable UntransferableMethod(Napi::Env env) {
  Env *e = EnvOf(env);
  const napi_node_version *version = nullptr;
  uint32_t major = 0;
  if (napi_get_node_version(env, &version) == napi_ok && version != nullptr) major = version->major;
  if (major >= 24) return UseV8(e) ? Untransferable::kDetachKey : Untransferable::kNone;
  return Untransferable::kMark;
}

Napi::Value MakeArrayBuffer(Napi::Env env, Rec *rec, void *data, size_t bytes) {
  Env *e = rec->load->env;
  if (e->noExternalForTest) {
    ThrowStatus(env, rec->load, kStatusNoExternal, "mapping a process chunk");
    return Napi::Value();
  }
  AbSlot *slot = NewSlot(e, data, bytes);
  napi_value out = nullptr;
  napi_status st = napi_ok;
#if MEMCTX_V8_DIRECT
  if (UseV8(e)) {
    v8::Isolate *isolate = v8::Isolate::GetCurrent();
    std::unique_ptr<v8::BackingStore> store = v8::ArrayBuffer::NewBackingStore(data, bytes, SlotDeleter, slot);
    v8::Local<v8::ArrayBuffer> ab = v8::ArrayBuffer::New(isolate, std::move(store));
    if (e->untransferable == Untransferable::kDetachKey) ab->SetDetachKey(DetachKey(isolate, e));
    out = FromV8(ab);
  } else {
    st = napi_create_external_arraybuffer(env, data, bytes, SlotFinalize, slot, &out);
  }
#else
  st = napi_create_external_arraybuffer(env, data, bytes, SlotFinalize, slot, &out);
#endif
  if (st != napi_ok) {
    e->spareSlots.push_back(slot);
    if (st == napi_no_external_buffers_allowed) {
      ThrowStatus(env, rec->load, kStatusNoExternal, "mapping a process chunk");
    } else if (!env.IsExceptionPending()) {
      ThrowStatus(env, rec->load, MCX_ENOMEM, "creating an external ArrayBuffer");
    }
    return Napi::Value();
  }
  g_counters.created.fetch_add(1, std::memory_order_relaxed);
  if (!rec->reserve) HoldUntilCollected(env, e, out, data);  // reserve mode never reuses early
  rec->slots.push_back(slot);
  if (rec->slots.size() >= rec->slotsCompactAt) CompactSlots(rec);
  return Napi::Value(env, out);
}

bool DetachOwned(Napi::Env env, Rec *rec, const Napi::Value &v) {
  if (!v.IsArrayBuffer()) return false;
  Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
  void *data = ab.Data();
  if (data == nullptr) return false;  // detached already (by us, or moved away by a transfer)
  AbSlot *slot = FindSlot(rec, data);
  if (slot == nullptr || slot->bytes != ab.ByteLength()) return false;
  Env *e = rec->load->env;
  bool ok;
#if MEMCTX_V8_DIRECT
  if (UseV8(e)) {
    v8::Isolate *isolate = v8::Isolate::GetCurrent();
    v8::TryCatch tc(isolate);  // a key set by someone else (markAsUntransferable) makes Detach throw
    v8::Local<v8::ArrayBuffer> local = ToV8(static_cast<napi_value>(ab)).As<v8::ArrayBuffer>();
    v8::Local<v8::Value> key = e->untransferable == Untransferable::kDetachKey ? DetachKey(isolate, e) : v8::Local<v8::Value>();
    ok = local->Detach(key).IsJust();
  } else {
    ok = napi_detach_arraybuffer(env, ab) == napi_ok;
  }
#else
  ok = napi_detach_arraybuffer(env, ab) == napi_ok;
#endif
  if (!ok) {
    // Left attached: its slot stays live, so the memory is parked instead of reused.
    napi_value ignored;
    if (env.IsExceptionPending()) napi_get_and_clear_last_exception(env, &ignored);
    return false;
  }
  g_counters.detached.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool AllSlotsDead(Rec *rec) {
  for (AbSlot *s : rec->slots) {
    if (s->state.load(std::memory_order_acquire) != kSlotDead) return false;
  }
  auto &spare = rec->load->env->spareSlots;
  spare.insert(spare.end(), rec->slots.begin(), rec->slots.end());
  rec->slots.clear();
  rec->detachCursor = 0;
  return true;
}

void CompactSlots(Rec *rec) {
  auto &v = rec->slots;
  size_t j = 0;
  for (size_t i = 0; i < v.size(); i++) {
    if (v[i]->state.load(std::memory_order_acquire) == kSlotDead) {
      rec->load->env->spareSlots.push_back(v[i]);
    } else {
      v[j++] = v[i];
    }
  }
  v.resize(j);
  rec->detachCursor = 0;
  rec->slotsCompactAt = j * 2 > 64 ? j * 2 : 64;
}

void FreeSpareSlots(Env *e) {
  for (AbSlot *s : e->spareSlots) delete s;
  e->spareSlots.clear();
}

}  // namespace memctx
