// contexts.cc - the facade's calls on one context: create, lend the current chunk (span), large
// allocations, reset, delete and the backstop; each decides between reusing memory at once and
// parking it (release.cc) by whether any ArrayBuffer over it is still alive.
#include "binding.h"

namespace memctx {
namespace {

// The context's name as UTF-8 ("context" when not a string). One Node-API call for the usual
// short name: node-addon-api's Utf8Value asks V8 for the length first, then copies.
std::string NameOf(Napi::Env env, const Napi::Value &v) {
  if (!v.IsString()) return std::string("context");
  char buf[64];
  size_t len = 0;
  // Complete when at least a 4-byte character's room was left (V8 never writes half a character).
  if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) == napi_ok && len + 4 < sizeof buf) return std::string(buf, len);
  return v.As<Napi::String>().Utf8Value();
}

// Write rec's current span into the scratch array; return a new ArrayBuffer when the chunk
// changed, else undefined.
Napi::Value SpanOut(Napi::Env env, Rec *rec, const mcx_span &span) {
  double *s = rec->load->scratch;
  s[kScratchOffset] = static_cast<double>(span.offset);
  s[kScratchChunkBytes] = static_cast<double>(span.chunk_bytes);
  s[kScratchChunkIndex] = static_cast<double>(span.chunk_index);
  s[kScratchLargeThreshold] = static_cast<double>(mcx_large_threshold(rec->ctx));
  rec->offsetUnreported = true;
  if (span.chunk_data == rec->curChunk) return env.Undefined();
  Napi::Value ab = MakeArrayBuffer(env, rec, span.chunk_data, span.chunk_bytes);
  if (!ab.IsEmpty()) rec->curChunk = span.chunk_data;
  return ab;
}

// Lend the current chunk again after a reset, or fail leaving the context consistent: the next
// reserve() makes a fresh ArrayBuffer (curChunk is cleared whenever memory changed hands).
Napi::Value SpanAfterReset(Napi::Env env, Rec *rec) {
  mcx_span span;
  int st = mcx_span_reserve(rec->ctx, 0, &span);
  if (st != MCX_OK) {
    ThrowStatus(env, rec->load, st, "reset");
    return Napi::Value();
  }
  return SpanOut(env, rec, span);
}

// Out of memory (or of address space): parked trees whose buffers are gone and idle retained
// chunks are given back before the call is tried once more. No garbage collection here: near an
// address-space limit V8's own memory-reducing collection aborts the process when it cannot
// commit its young generation again.
void Reclaim() {
  DrainReady();
  mcx_trim();
}

// Record the facade's progress in the current chunk. A negative offset means the facade lost
// its cursor (a failed reset): C's own offset stands then, so nothing is handed out twice.
int CommitSpan(Rec *rec, const Napi::Value &usedOffset, size_t freeBytes) {
  double offset = ToDouble(usedOffset, -1);
  if (!(offset >= 0)) return MCX_OK;
  return mcx_span_commit(rec->ctx, static_cast<size_t>(offset), freeBytes);
}

// The facade's last word on rec's chunk before rec is reset or dies.
void CommitFinal(Rec *rec, const Napi::Value &usedOffset) {
  if (CommitSpan(rec, usedOffset, 0) == MCX_OK && ToDouble(usedOffset, -1) >= 0) rec->offsetUnreported = false;
}

// Detach the facade's ArrayBuffers of rec (one or an array) in detach mode.
uint32_t DetachList(Napi::Env env, Rec *rec, const Napi::Value &abs) {
  uint32_t n = 0;
  bool isArray = false;
  if (napi_is_array(env, abs, &isArray) == napi_ok && isArray) {
    // Raw calls: reading an element fails while a worker is being terminated, and node-addon-api
    // would abort the process on that failure.
    uint32_t len = 0;
    napi_get_array_length(env, abs, &len);
    for (uint32_t i = 0; i < len; i++) {
      napi_value item = nullptr;
      if (napi_get_element(env, abs, i, &item) != napi_ok) break;
      n += DetachOwned(env, rec, Napi::Value(env, item)) ? 1 : 0;
    }
  } else if (abs.IsArrayBuffer()) {
    n = DetachOwned(env, rec, abs) ? 1 : 0;
  }
  return n;
}

// True when no ArrayBuffer over the subtree is alive (their dead slots are freed then).
bool SubtreeUnreachable(const std::vector<Rec *> &tree) {
  bool dead = true;
  for (Rec *r : tree) dead = AllSlotsDead(r) && dead;
  return dead;
}

void TakeSlots(const std::vector<Rec *> &tree, std::vector<AbSlot *> &out) {
  for (Rec *r : tree) {
    out.insert(out.end(), r->slots.begin(), r->slots.end());
    r->slots.clear();
  }
}

// Records of rec's descendants die (their C contexts go with rec's reset, delete or parking).
void ReleaseDescendants(const std::vector<Rec *> &tree) {
  for (size_t i = 1; i < tree.size(); i++) ReleaseRec(tree[i]);
  tree[0]->children.clear();
}

// The whole tree of rec goes: reused at once when nothing can reach it, else parked.
void Kill(Rec *rec) {
  std::vector<Rec *> &tree = rec->load->treeScratch;
  Subtree(rec, tree);
  SealUnreported(tree);
  bool unreachable = SubtreeUnreachable(tree);
  Unlink(rec);
  if (unreachable) {
    mcx_delete(rec->ctx);
  } else {
    std::vector<AbSlot *> slots;
    TakeSlots(tree, slots);
    Park(rec->ctx, slots);
  }
  ReleaseDescendants(tree);
  ReleaseRec(rec);
}

}  // namespace

void SealUnreported(const std::vector<Rec *> &tree) {
  for (Rec *r : tree) {
    if (!r->offsetUnreported || r->ctx == nullptr) continue;
    mcx_span span;
    if (mcx_span_reserve(r->ctx, 0, &span) == MCX_OK) mcx_span_commit(r->ctx, span.chunk_bytes, 0);
    r->offsetUnreported = false;
  }
}

// create(parent|null, name, initialSize, maxChunkSize, limitBytes, reserve) -> ArrayBuffer of the
// first chunk; the handle goes to scratch[handle], the span to the other slots.
Napi::Value Create(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Load *load = LoadOf(info);
  DrainReady();
  Rec *parent = nullptr;
  if (!info[0].IsNull() && !info[0].IsUndefined()) {
    parent = FindRec(env, load, info[0], true);
    if (parent == nullptr) return Napi::Value();
  }
  Rec *rec = AcquireRec(load);
  if (rec == nullptr) {
    ThrowStatus(env, load, MCX_ENOMEM, "creating a context (too many live contexts in this thread)");
    return Napi::Value();
  }
  rec->name = NameOf(env, info[1]);
  rec->opts = mcx_context_options{};
  rec->opts.initial_size = ToSize(info[2]);
  rec->opts.max_chunk_size = ToSize(info[3]);
  rec->opts.limit_bytes = ToSize(info[4]);
  // buf.buffer and clones of a Buffer copy the whole chunk: C scrubs what a context used.
  rec->opts.flags = kCleanContexts ? MCX_CONTEXT_CLEAN : 0u;
  // A tree has one release mode: a child's buffers are detached or parked with its parent's.
  rec->reserve = parent != nullptr ? parent->reserve : ToBool(info[5]);
  mcx_context_options opts = rec->opts;
  opts.name = rec->name.c_str();
  rec->ctx = mcx_context_create(parent != nullptr ? parent->ctx : nullptr, &opts);
  if (rec->ctx == nullptr && mcx_errno() == MCX_ENOMEM) {
    Reclaim();
    rec->ctx = mcx_context_create(parent != nullptr ? parent->ctx : nullptr, &opts);
  }
  if (rec->ctx == nullptr) {
    int st = mcx_errno();
    ReleaseRec(rec);
    ThrowStatus(env, load, st, "creating a context");
    return Napi::Value();
  }
  mcx_span span;
  int st = mcx_span_reserve(rec->ctx, 0, &span);
  if (st == MCX_ENOMEM) {
    Reclaim();
    st = mcx_span_reserve(rec->ctx, 0, &span);
  }
  Napi::Value ab;
  if (st == MCX_OK) ab = SpanOut(env, rec, span);
  if (st != MCX_OK || ab.IsEmpty()) {
    std::vector<AbSlot *> slots(rec->slots.begin(), rec->slots.end());
    rec->slots.clear();
    Park(rec->ctx, slots);
    ReleaseRec(rec);
    if (st != MCX_OK) ThrowStatus(env, load, st, "reserving the first process chunk");
    return Napi::Value();
  }
  if (parent != nullptr) {
    rec->parent = parent;
    parent->children.push_back(rec);
  }
  load->scratch[kScratchHandle] = HandleOf(rec);
  return ab;
}

// reserve(handle, usedOffset, freedBytes, minBytes) -> ArrayBuffer | undefined (scratch = span)
Napi::Value Reserve(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Load *load = LoadOf(info);
  Rec *rec = FindRec(env, load, info[0], true);
  if (rec == nullptr) return Napi::Value();
  int st = CommitSpan(rec, info[1], ToSize(info[2]));
  mcx_span span;
  if (st == MCX_OK) st = mcx_span_reserve(rec->ctx, ToSize(info[3]), &span);
  if (st == MCX_ENOMEM) {
    Reclaim();
    st = mcx_span_reserve(rec->ctx, ToSize(info[3]), &span);
  }
  if (st != MCX_OK) {
    ThrowStatus(env, load, st, "allocating a process chunk");
    return Napi::Value();
  }
  return SpanOut(env, rec, span);
}

// commit(handle, usedOffset, freedBytes)
Napi::Value Commit(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Load *load = LoadOf(info);
  Rec *rec = FindRec(env, load, info[0], true);
  if (rec == nullptr) return Napi::Value();
  int st = CommitSpan(rec, info[1], ToSize(info[2]));
  if (st != MCX_OK) ThrowStatus(env, load, st, "committing the span");
  return env.Undefined();
}

// allocLarge(handle, size, zero, usedOffset, freeBytes) -> ArrayBuffer. The span is committed
// first (the C contract: commit before any other call on the context); a large allocation takes
// a process chunk of its own and leaves the span alone.
Napi::Value AllocLarge(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Load *load = LoadOf(info);
  Rec *rec = FindRec(env, load, info[0], true);
  if (rec == nullptr) return Napi::Value();
  size_t size = ToSize(info[1]);
  bool zero = ToBool(info[2]);
  int st = CommitSpan(rec, info[3], ToSize(info[4]));
  if (st != MCX_OK) {
    ThrowStatus(env, load, st, "committing the span");
    return Napi::Value();
  }
  void *p = zero ? mcx_alloc_zero(rec->ctx, size) : mcx_alloc(rec->ctx, size);
  if (p == nullptr && mcx_errno() == MCX_ENOMEM) {
    Reclaim();
    p = zero ? mcx_alloc_zero(rec->ctx, size) : mcx_alloc(rec->ctx, size);
  }
  if (p == nullptr) {
    ThrowStatus(env, load, mcx_errno(), "allocating a large buffer");
    return Napi::Value();
  }
  Napi::Value ab = MakeArrayBuffer(env, rec, p, size);
  if (ab.IsEmpty()) mcx_free(p);
  return ab;
}

// freeLarge(handle, ab): detach mode detaches and frees it at once when nothing else holds the
// buffer; otherwise (reserve mode, or a buffer moved away) it stays with the context until its
// reset or delete parks it.
Napi::Value FreeLarge(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Load *load = LoadOf(info);
  Rec *rec = FindRec(env, load, info[0], true);
  if (rec == nullptr || rec->reserve || !info[1].IsArrayBuffer()) return env.Undefined();
  void *data = info[1].As<Napi::ArrayBuffer>().Data();
  if (!DetachOwned(env, rec, info[1])) return env.Undefined();
  auto &v = rec->slots;
  for (size_t i = 0; i < v.size(); i++) {
    if (v[i]->data != data) continue;
    if (v[i]->state.load(std::memory_order_acquire) != kSlotDead) break;
    delete v[i];
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
    rec->detachCursor = 0;
    int st = mcx_free(data);
    if (st != MCX_OK) ThrowStatus(env, load, st, "free");
    break;
  }
  return env.Undefined();
}

// detachAll(handle, abs, usedOffset) -> count: a descendant's buffers, before its ancestor is
// reset (its offset committed first, so C scrubs all it used).
Napi::Value DetachAll(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Rec *rec = FindRec(env, LoadOf(info), info[0], false);
  if (rec == nullptr) return Napi::Number::New(env, 0);
  CommitFinal(rec, info[2]);
  if (rec->reserve) return Napi::Number::New(env, 0);
  return Napi::Number::New(env, DetachList(env, rec, info[1]));
}

// reset(handle, abs, usedOffset) -> ArrayBuffer of the first chunk (scratch = span). The memory is
// reused in place when no ArrayBuffer over the tree survives (detach mode, nothing moved away);
// otherwise the old tree is parked and the context continues on a fresh C context.
Napi::Value Reset(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Load *load = LoadOf(info);
  Rec *rec = FindRec(env, load, info[0], true);
  if (rec == nullptr) return Napi::Value();
  DrainReady();
  CommitFinal(rec, info[2]);  // C scrubs what was used: it must know how far
  if (!rec->reserve) DetachList(env, rec, info[1]);
  rec->curChunk = nullptr;
  std::vector<Rec *> &tree = rec->load->treeScratch;
  Subtree(rec, tree);
  SealUnreported(tree);
  if (SubtreeUnreachable(tree)) {
    ReleaseDescendants(tree);
    int st = mcx_reset(rec->ctx);
    if (st != MCX_OK) {
      ThrowStatus(env, load, st, "reset");
      return Napi::Value();
    }
    return SpanAfterReset(env, rec);
  }
  mcx_context_options opts = rec->opts;
  opts.name = rec->name.c_str();
  mcx_context *fresh = mcx_context_create(rec->parent != nullptr ? rec->parent->ctx : nullptr, &opts);
  if (fresh == nullptr && mcx_errno() == MCX_ENOMEM) {
    Reclaim();
    fresh = mcx_context_create(rec->parent != nullptr ? rec->parent->ctx : nullptr, &opts);
  }
  if (fresh == nullptr) {
    // No memory for a fresh context: keep every byte where it is (nothing is reused, so no view
    // can see another's data) and leave the current chunk, so later allocations go elsewhere.
    int st = mcx_errno();
    mcx_span span;
    if (mcx_span_reserve(rec->ctx, 0, &span) == MCX_OK) mcx_span_commit(rec->ctx, span.chunk_bytes, 0);
    ThrowStatus(env, load, st, "reset");
    return Napi::Value();
  }
  std::vector<AbSlot *> slots;
  TakeSlots(tree, slots);
  ReleaseDescendants(tree);
  mcx_context *old = rec->ctx;
  rec->ctx = fresh;
  Park(old, slots);
  return SpanAfterReset(env, rec);
}

// destroy(handle, abs, usedOffset): delete the context (a dead handle is fine: delete is idempotent).
Napi::Value Destroy(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Rec *rec = FindRec(env, LoadOf(info), info[0], false);
  if (rec == nullptr) return env.Undefined();
  CommitFinal(rec, info[2]);
  if (!rec->reserve) DetachList(env, rec, info[1]);
  Kill(rec);
  return env.Undefined();
}

// backstop(handle) -> contexts deleted: the FinalizationRegistry found the context object
// unreachable. Views may still exist (a derived view does not keep its context alive), so the
// tree is parked unless every ArrayBuffer over it is gone.
Napi::Value Backstop(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Rec *rec = FindRec(env, LoadOf(info), info[0], false);
  if (rec == nullptr) return Napi::Number::New(env, 0);
  std::vector<Rec *> &tree = rec->load->treeScratch;
  Subtree(rec, tree);
  size_t killed = tree.size();
  Kill(rec);
  g_counters.backstopDeleted.fetch_add(1, std::memory_order_relaxed);
  return Napi::Number::New(env, static_cast<double>(killed));
}

Napi::Value ContextStats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Load *load = LoadOf(info);
  Rec *rec = FindRec(env, load, info[0], true);
  if (rec == nullptr) return Napi::Value();
  struct mcx_context_stats cs{};
  int st = mcx_context_stats(rec->ctx, &cs);
  if (st != MCX_OK) {
    ThrowStatus(env, load, st, "stats");
    return Napi::Value();
  }
  return Napi::Value(env, ContextStatsObject(env, rec, cs));
}

// check(handle?) -> status of mcx_check over the top layer and, with a handle, its tree.
Napi::Value Check(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const mcx_context *root = nullptr;
  if (info[0].IsNumber()) {
    Rec *rec = FindRec(env, LoadOf(info), info[0], true);
    if (rec == nullptr) return Napi::Value();
    root = rec->ctx;
  }
  return Napi::Number::New(env, mcx_check(root));
}

}  // namespace memctx
