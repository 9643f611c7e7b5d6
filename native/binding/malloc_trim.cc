// malloc_trim.cc - mallocTrim(): glibc's malloc_trim(0) timed, a measurement aid beside the
// allocator (not part of it): the demo's third mode calls it on a timer to show what the usual
// workaround for RSS that stays high under glibc costs in pauses and refaults.
#include "malloc_trim.h"

#include "binding.h"

#include <chrono>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

Napi::Value MallocTrim(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  memctx::ObjectOut result(env);
#if defined(__GLIBC__)
  const auto start = std::chrono::steady_clock::now();
  // Returns 1 when some memory was given back to the OS, 0 otherwise.
  const int released = malloc_trim(0);
  const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  result.Set("supported", true).Set("released", released != 0).Set("durationMs", took.count());
#else
  // musl and other C libraries have no malloc_trim: say so rather than pretend to trim.
  result.Set("supported", false).Set("released", false).Set("durationMs", 0.0);
#endif
  return Napi::Value(env, result.Value());
}
