// module.cc - the module table: what the addon exports, the state of each Node environment and of
// each load of the facade, the process-wide calls (statistics, release, configuration, testing
// hooks), and the teardown of an environment.
//
// The addon exports open(MemctxError): each load of the facade calls it once and gets its own
// table of functions, bound to its own Load (info.Data()), with its own scratch array and
// handles; so a second load never shares a handle, a scratch slot or a context with the first.
// Functions that are per process (statistics, release, configuration) are in the same table.
#include "binding.h"
#include "malloc_trim.h"

namespace memctx {

Load *LoadOf(const Napi::CallbackInfo &info) { return static_cast<Load *>(info.Data()); }

Env *EnvOf(Napi::Env env) { return env.GetInstanceData<Env>(); }

namespace {

Napi::Value GlobalStats(const Napi::CallbackInfo &info) {
  SweepWatches(EnvOf(info.Env()));
  DrainReady();
  return Napi::Value(info.Env(), GlobalStatsObject(info.Env(), LoadOf(info)));
}

// The timer's tick: holds of collected buffers are given back and parked trees whose buffers are
// gone are deleted here (on a JavaScript thread);
// the release pass itself runs on the C core's background thread when it runs (see Open), and
// here, blocking the event loop for the length of its system calls, only when it could not start.
Napi::Value Maintain(const Napi::CallbackInfo &info) {
  SweepWatches(EnvOf(info.Env()));
  DrainReady();
  mcx_config cfg;
  mcx_config_get(&cfg);
  if (cfg.background_thread) return Napi::Number::New(info.Env(), 0);
  return Napi::Number::New(info.Env(), static_cast<double>(mcx_maintain(0)));
}

// Giving a spike back takes a system call per range and ~0.3 µs per resident page (tens of
// milliseconds for hundreds of MiB): the C core's background thread does it, off the event loop,
// with the top lock released around the calls, so JavaScript threads that allocate meanwhile do
// not wait. If the thread cannot start, the maintenance timer's passes do the work instead.
void StartBackgroundRelease() {
  mcx_config cfg;
  mcx_config_get(&cfg);
  if (cfg.background_thread) return;
  cfg.background_thread = 1;
  (void)mcx_configure(&cfg);
}

// Everything releasable now: parked trees whose buffers are gone, then the C core's idle memory
// (deleted contexts kept by threads included) regardless of decay and budget.
Napi::Value Trim(const Napi::CallbackInfo &info) {
  // Parked trees wait for V8 to free their buffers, which it does lazily after a collection:
  // an explicit trim() asks for that collection now, so collectable memory goes in this call.
  if (ParkedCount() > 0) CollectGarbageNow();
  SweepWatches(EnvOf(info.Env()));
  DrainReady();
  return Napi::Number::New(info.Env(), static_cast<double>(mcx_trim()));
}

// configure(topChunkSize, maxTopChunkSize, retainBytes, decayMs); a negative number keeps the
// current value. The facade validated each against the constants.
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
  if (st != MCX_OK) ThrowStatus(env, LoadOf(info), st, "configure");
  return env.Undefined();
}

Napi::Value GetConfig(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  mcx_config cfg;
  mcx_config_get(&cfg);
  return Napi::Value(env, ObjectOut(env)
                              .Set("topChunkSize", static_cast<double>(cfg.top_chunk_size))
                              .Set("maxTopChunkSize", static_cast<double>(cfg.max_top_chunk_size))
                              .Set("retainBytes", static_cast<double>(cfg.retain_bytes))
                              .Set("decayMs", static_cast<double>(cfg.decay_ms))
                              .Value());
}

Napi::Value CheckingEnabled(const Napi::CallbackInfo &info) {
  return Napi::Boolean::New(info.Env(), mcx_checking_enabled() != 0);
}

// How chunk ArrayBuffers are kept from being transferred: 'key', 'mark' (the facade calls
// markAsUntransferable) or 'none'.
Napi::Value UntransferableName(const Napi::CallbackInfo &info) {
  switch (EnvOf(info.Env())->untransferable) {
    case Untransferable::kDetachKey: return Napi::String::New(info.Env(), "key");
    case Untransferable::kMark: return Napi::String::New(info.Env(), "mark");
    default: return Napi::String::New(info.Env(), "none");
  }
}

// Testing hooks: fail the nth mapping; pretend external buffers are forbidden; use Node-API
// instead of V8's API for ArrayBuffers (returns whether the V8 path is in use afterwards).
Napi::Value FaultInject(const Napi::CallbackInfo &info) {
  mcx_fault_inject(info[0].As<Napi::Number>().Uint32Value(), info[1].As<Napi::Number>().Uint32Value());
  return info.Env().Undefined();
}

Napi::Value SetNoExternalBuffers(const Napi::CallbackInfo &info) {
  EnvOf(info.Env())->noExternalForTest = ToBool(info[0]);
  return info.Env().Undefined();
}

Napi::Value SetV8Direct(const Napi::CallbackInfo &info) {
  Env *e = EnvOf(info.Env());
  e->v8Direct = ToBool(info[0]);
  e->untransferable = UntransferableMethod(info.Env());
  return Napi::Boolean::New(info.Env(), e->v8Direct && V8BuffersCompiledIn());
}

void KeepEnv(Napi::Env /*env*/, Env * /*e*/) {}

// Every call first checks that its thread is not being terminated: a worker terminated inside a
// memctx call must not make values (node-addon-api aborts when it cannot), and its JavaScript
// will never see the result. Teardown (Cleanup) releases what the worker held.
template <Napi::Value (*F)(const Napi::CallbackInfo &)>
napi_value Guarded(napi_env env, napi_callback_info cbinfo) {
  if (Terminating()) return nullptr;
  Napi::CallbackInfo info(env, cbinfo);
  Napi::Value result = F(info);
  return result.IsEmpty() ? nullptr : static_cast<napi_value>(result);
}

// open(MemctxError) -> the function table of a new load. Raw Node-API calls: a worker terminated
// while it loads memctx must not abort the process (see ObjectOut).
Napi::Value Open(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (Terminating()) return Napi::Value();
  Env *e = EnvOf(env);
  StartBackgroundRelease();
  auto *load = new Load();
  load->env = e;
  e->loads.push_back(load);
  napi_valuetype type = napi_undefined;
  napi_ref ref = nullptr;
  if (napi_typeof(env, info[0], &type) == napi_ok && type == napi_function &&
      napi_create_reference(env, info[0], 1, &ref) == napi_ok) {
    load->errorCtor = Napi::FunctionReference(env, ref);
  }
  napi_value buffer = nullptr;
  napi_value scratch = nullptr;
  void *data = nullptr;
  if (napi_create_arraybuffer(env, kScratchSlotCount * sizeof(double), &data, &buffer) != napi_ok ||
      napi_create_typedarray(env, napi_float64_array, kScratchSlotCount, buffer, 0, &scratch) != napi_ok ||
      napi_create_reference(env, scratch, 1, &ref) != napi_ok) {
    return Napi::Value();
  }
  load->scratchRef = Napi::Reference<Napi::Float64Array>(env, ref);
  load->scratch = static_cast<double *>(data);
  ObjectOut t(env);
  auto fn = [&](const char *name, napi_callback cb) {
    napi_value f = nullptr;
    napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, load, &f);
    t.Set(name, f);
  };
  fn("create", Guarded<Create>);
  fn("reserve", Guarded<Reserve>);
  fn("commit", Guarded<Commit>);
  fn("allocLarge", Guarded<AllocLarge>);
  fn("freeLarge", Guarded<FreeLarge>);
  fn("detachAll", Guarded<DetachAll>);
  fn("reset", Guarded<Reset>);
  fn("destroy", Guarded<Destroy>);
  fn("backstop", Guarded<Backstop>);
  fn("contextStats", Guarded<ContextStats>);
  fn("check", Guarded<Check>);
  fn("globalStats", Guarded<GlobalStats>);
  fn("maintain", Guarded<Maintain>);
  fn("trim", Guarded<Trim>);
  fn("configure", Guarded<Configure>);
  fn("getConfig", Guarded<GetConfig>);
  fn("checkingEnabled", Guarded<CheckingEnabled>);
  fn("untransferable", Guarded<UntransferableName>);
  fn("faultInject", Guarded<FaultInject>);
  fn("setNoExternalBuffers", Guarded<SetNoExternalBuffers>);
  fn("setV8Direct", Guarded<SetV8Direct>);
  fn("mallocTrim", Guarded<MallocTrim>);
  t.Set("scratch", scratch);
  t.Set("constants", ConstantsObject(env));
  return Napi::Value(env, t.Value());
}

// Environment teardown (worker exit, process exit): JavaScript no longer runs here, so no view of
// this environment can be read; but an ArrayBuffer moved to another thread may still be, so every
// live tree is parked until its buffers are gone (the isolate frees its own right after this).
void Cleanup(Env *e) {
  for (Load *load : e->loads) {
    for (Rec *r : load->table) {
      if (r->ctx == nullptr || r->parent != nullptr) continue;  // children go with their root
      std::vector<Rec *> tree;
      Subtree(r, tree);
      SealUnreported(tree);
      std::vector<AbSlot *> slots;
      for (Rec *x : tree) {
        slots.insert(slots.end(), x->slots.begin(), x->slots.end());
        x->slots.clear();
      }
      Park(r->ctx, slots);
    }
    for (Rec *r : load->table) delete r;
    delete load;
  }
  e->loads.clear();
  DrainReady();
  ReleaseHolds(e);
  FreeSpareSlots(e);
  FreeDetachKey(e);
  delete e;
}

}  // namespace

Napi::Object ModuleInit(Napi::Env env, Napi::Object exports) {
  auto *e = new Env();
  env.SetInstanceData<Env, KeepEnv>(e);  // freed by Cleanup
  e->untransferable = UntransferableMethod(env);
  napi_add_env_cleanup_hook(env, [](void *arg) { Cleanup(static_cast<Env *>(arg)); }, e);
  exports.Set("open", Napi::Function::New(env, Open, "open"));
  return exports;
}

}  // namespace memctx

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return memctx::ModuleInit(env, exports); }

NODE_API_MODULE(memctx, Init)
