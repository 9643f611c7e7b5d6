// binding.h - what the files of the Node-API binding share: the per-load state, the context
// records, the ArrayBuffer slots, and the functions each file offers the others.
//
// One rule holds the binding together: memory lent to JavaScript goes back to the C core only once
// V8 has let go of every ArrayBuffer over it. Each ArrayBuffer the binding makes carries a slot
// that its backing store's deleter marks dead; a reset or delete reuses a context's memory at once
// only when every slot of the tree is dead (detaching our own ArrayBuffer drops the last reference
// synchronously), and otherwise parks the tree until the last deleter runs. So no transfer, clone,
// worker exit or forgotten view can reach memory that was handed to someone else.
#ifndef MEMCTX_BINDING_H
#define MEMCTX_BINDING_H

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

extern "C" {
#include "memctx.h"
}

namespace memctx {

struct Load;

// ---- arraybuffers.cc ---------------------------------------------------------------------------

// One ArrayBuffer over context memory. state: kSlotLive while V8 holds its backing store,
// kSlotDead once the deleter ran, or the Quarantine* that waits for it (then the deleter frees
// the slot).
constexpr uintptr_t kSlotLive = 0;
constexpr uintptr_t kSlotDead = 1;
struct AbSlot {
  void *data;
  size_t bytes;
  std::atomic<uintptr_t> state;
};

// How chunk ArrayBuffers are kept from being transferred, by Node version (measured in
// test/safety): Node 24+ honour V8's detach key everywhere (a transfer throws); on Node 20 and 22
// a detach key aborts the process inside structuredClone, so the facade marks buffers with
// worker_threads.markAsUntransferable instead (clone and postMessage copy or throw; a BYOB read
// or transfer() still moves the buffer, which the slots make safe).
enum class Untransferable { kDetachKey, kMark, kNone };

// An external ArrayBuffer over [data, data + bytes) for rec, with its slot recorded. Returns an
// empty value with a MemctxError pending on failure.
Napi::Value MakeArrayBuffer(Napi::Env env, struct Rec *rec, void *data, size_t bytes);
// Detach v if it is an ArrayBuffer the binding made for rec (never anything else: detaching
// Node's Buffer pool would break the process). Returns whether it was detached now.
bool DetachOwned(Napi::Env env, struct Rec *rec, const Napi::Value &v);
// True when every slot of rec is dead; frees the dead slots of a live record.
bool AllSlotsDead(struct Rec *rec);
// Drop the slots of collected buffers from rec's list (amortised, on growth).
void CompactSlots(struct Rec *rec);
// Free the environment's spare slots (at teardown).
void FreeSpareSlots(struct Env *e);
Untransferable UntransferableMethod(Napi::Env env);
bool V8BuffersCompiledIn();
// True while this thread's isolate is being terminated (worker.terminate()): no JavaScript value,
// error included, can be made then, and node-addon-api aborts the process when one fails.
bool Terminating();
// A full collection of this isolate that also finishes freeing unreachable ArrayBuffers (V8's
// LowMemoryNotification; nothing in builds without V8's API).
void CollectGarbageNow();
// Release the environment's detach key (its isolate is still alive during cleanup hooks).
void FreeDetachKey(struct Env *e);
// Give back the holds of the environment's ArrayBuffers that V8 has collected (on growth, at the
// maintenance tick, before trim and the statistics).
void SweepWatches(struct Env *e);
// Give back every hold of the environment's live ArrayBuffers (at teardown: JavaScript and the
// environment's native requests are done).
void ReleaseHolds(struct Env *e);

// ---- release.cc --------------------------------------------------------------------------------

// Park the C tree rooted at root (made a root first) until every slot in `slots` is dead; slots
// already dead are freed here. root may be NULL (nothing left to delete).
void Park(mcx_context *root, std::vector<AbSlot *> &slots);
// Delete the parked trees whose last ArrayBuffer has been collected (any JS thread may).
void DrainReady();
// A slot's ArrayBuffer was collected (any thread, V8's sweeper included).
void SlotDead(AbSlot *slot);
// Trees parked now (process-wide).
uint64_t ParkedCount();

// ---- handles.cc --------------------------------------------------------------------------------

// A context of one load. Children are kept so a reset can take its whole subtree.
struct Rec {
  uint32_t index = 0;
  uint32_t gen = 0;
  Load *load = nullptr;        // NULL after environment teardown
  mcx_context *ctx = nullptr;  // NULL once dead
  Rec *parent = nullptr;
  std::vector<Rec *> children;
  bool reserve = false;
  std::vector<AbSlot *> slots;  // every ArrayBuffer made for this context since its last reset
  size_t slotsCompactAt = 64;
  size_t detachCursor = 0;      // where the facade's list of ArrayBuffers meets slots (in order)
  const void *curChunk = nullptr;
  // The facade bumps in the lent chunk without telling C; its offset arrives with reset(),
  // destroy() or detachAll(). Until then C cannot know how far the chunk was written.
  bool offsetUnreported = false;
  std::string name;
  mcx_context_options opts{};
};

// Handles are numbers: table index + generation * kIndexSpan. A number costs nothing to make or
// collect, and the generation makes a stale handle name nothing.
constexpr double kIndexSpan = 4194304.0;  // 2^22 live contexts per load
constexpr uint32_t kMaxGen = 1u << 30;

double HandleOf(const Rec *rec);
// The live record a handle names in load, or NULL (after throwing ERR_MEMCTX_DELETED when
// mustBeLive; a value that is not a handle of this load throws ERR_MEMCTX_INTERNAL).
Rec *FindRec(Napi::Env env, Load *load, const Napi::Value &v, bool mustBeLive);
Rec *AcquireRec(Load *load);
void ReleaseRec(Rec *rec);
// rec and its descendants, parents before children (iterative: trees may be deep).
void Subtree(Rec *rec, std::vector<Rec *> &out);
void Unlink(Rec *rec);
// Contexts of tree about to die without the facade's final offset (collected by the backstop,
// a worker's teardown): the whole current chunk counts as written, so C scrubs all of it.
void SealUnreported(const std::vector<Rec *> &tree);

// ---- marshal.cc ------------------------------------------------------------------------------

// Binding-level status: external buffers forbidden by the runtime.
constexpr int kStatusNoExternal = -100;
void ThrowStatus(Napi::Env env, Load *load, int status, const char *what);
void ThrowInternal(Napi::Env env, const char *msg);
size_t ToSize(const Napi::Value &v);
// v if it is a boolean, else false.
bool ToBool(const Napi::Value &v);
// v as a number, or otherwise when it is not one.
double ToDouble(const Napi::Value &v, double otherwise);
// Objects and arrays built with raw Node-API calls. Setting a property fails while a worker is
// being terminated, and node-addon-api's error path then aborts the whole process; here a failure
// only leaves the result empty (the terminated worker's JavaScript never sees it).
class ObjectOut {
 public:
  explicit ObjectOut(napi_env env);
  ObjectOut &Set(const char *name, napi_value v);
  ObjectOut &Set(const char *name, double v);
  ObjectOut &Set(const char *name, const std::string &v);
  ObjectOut &Set(const char *name, bool v);
  napi_value Value() const { return ok_ ? obj_ : nullptr; }
 private:
  napi_env env_;
  napi_value obj_ = nullptr;
  bool ok_;
};
napi_value ArrayOf(napi_env env, const std::vector<napi_value> &items);

napi_value ContextStatsObject(napi_env env, Rec *rec, const struct mcx_context_stats &cs);
napi_value GlobalStatsObject(napi_env env, Load *load);
napi_value ConstantsObject(napi_env env);

// ---- contexts.cc -------------------------------------------------------------------------------

// The facade's calls on contexts, each bound to one Load (info.Data()).
Napi::Value Create(const Napi::CallbackInfo &info);
Napi::Value Reserve(const Napi::CallbackInfo &info);
Napi::Value Commit(const Napi::CallbackInfo &info);
Napi::Value AllocLarge(const Napi::CallbackInfo &info);
Napi::Value FreeLarge(const Napi::CallbackInfo &info);
Napi::Value DetachAll(const Napi::CallbackInfo &info);
Napi::Value Reset(const Napi::CallbackInfo &info);
Napi::Value Destroy(const Napi::CallbackInfo &info);
Napi::Value Backstop(const Napi::CallbackInfo &info);
Napi::Value ContextStats(const Napi::CallbackInfo &info);
Napi::Value Check(const Napi::CallbackInfo &info);

// Contexts the binding creates scrub what they used (MCX_CONTEXT_CLEAN): memory handed to
// JavaScript never holds bytes another context wrote, and a chunk's bytes above the context's
// bump offset read zero. Off only in the measurement build of bench/js/scrub-cost.sh.
#ifdef MEMCTX_MEASURE_WITHOUT_SCRUB
constexpr bool kCleanContexts = false;
#else
constexpr bool kCleanContexts = true;
#endif

// ---- module.cc ---------------------------------------------------------------------------------

// Slots of the Float64Array the span calls write into (no object per call). Their names reach
// the facade through the addon's constants, so no index is typed twice.
enum ScratchSlot : uint32_t {
  kScratchOffset = 0,          // bytes used in the current chunk
  kScratchChunkBytes = 1,      // usable bytes of the current chunk
  kScratchChunkIndex = 2,      // position of the chunk in the forwarding chain
  kScratchLargeThreshold = 3,  // larger allocations get a chunk of their own
  kScratchHandle = 4,          // the handle made by create()
  kScratchSlotCount = 8,
};

// State of one load of the facade: a second load (a require-cache eviction, jest.resetModules)
// gets its own, so two loads never share a handle, a scratch array or a context.
struct Load {
  struct Env *env = nullptr;
  Napi::FunctionReference errorCtor;
  Napi::Reference<Napi::Float64Array> scratchRef;
  double *scratch = nullptr;
  std::vector<Rec *> table;      // every record by index
  std::vector<uint32_t> freeIdx;  // records free for reuse
  size_t liveCount = 0;
  std::vector<Rec *> treeScratch;  // a reset's or delete's subtree (no JavaScript runs meanwhile)
};

// Fewest holds made between two sweeps of the collected ones (arraybuffers.cc); after a sweep
// the next waits for twice the survivors, so each hold is looked at O(1) times on average.
constexpr size_t kMinWatchesPerSweep = 1024;

// State of one Node environment (the main thread or a worker): its loads, the detach key and
// the testing switches.
struct Env {
  std::vector<Load *> loads;
  Untransferable untransferable = Untransferable::kNone;
  bool v8Direct = true;             // testing.useNodeApiArrayBuffers turns it off
  bool noExternalForTest = false;   // testing.forbidExternalBuffers
  void *detachKey = nullptr;        // a v8::Global<v8::Value>* (arraybuffers.cc)
  void *watches = nullptr;          // the ArrayBuffers whose memory is held (arraybuffers.cc)
  void *spareWatches = nullptr;     // their records, kept for reuse (arraybuffers.cc)
  size_t watchCount = 0;            // watches listed (collected ones included until a sweep)
  size_t sweepWatchesAt = kMinWatchesPerSweep;  // the count at which the next hold sweeps
  std::vector<AbSlot *> spareSlots; // freed slots, kept for reuse (arraybuffers.cc)
};

Load *LoadOf(const Napi::CallbackInfo &info);
Env *EnvOf(Napi::Env env);

// Process-wide counters (several environments share the C core); atomics because worker threads
// and V8's sweeper update them concurrently.
struct Counters {
  std::atomic<uint64_t> created{0};
  std::atomic<uint64_t> detached{0};
  std::atomic<uint64_t> collected{0};
  std::atomic<uint64_t> parkedNow{0};
  std::atomic<uint64_t> parkedBytes{0};
  std::atomic<uint64_t> backstopDeleted{0};
};
extern Counters g_counters;

}  // namespace memctx

#endif  // MEMCTX_BINDING_H
