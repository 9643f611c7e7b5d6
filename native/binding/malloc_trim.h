// malloc_trim.h - the addon's measurement aid: glibc's malloc_trim(0), for the demo's
// "baseline + malloc_trim" mode (the workaround services use when RSS stays high after a spike).
#pragma once

#include <napi.h>

// mallocTrim() -> { supported, released, durationMs }: calls malloc_trim(0) where glibc has it.
Napi::Value MallocTrim(const Napi::CallbackInfo &info);
