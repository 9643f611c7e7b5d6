/* debug.h - hooks that let AddressSanitizer and Valgrind see memctx's objects: ASan poisoning of
 * free and unused memory, Valgrind mempool annotations (checking build), wiping of freed memory
 * and the sentinel after each allocation (checking build). No-ops in a plain build. */
#ifndef MEMCTX_DEBUG_H
#define MEMCTX_DEBUG_H

#include "internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define MCXI_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MCXI_ASAN 1
#endif
#endif

#ifdef MCXI_ASAN
#include <sanitizer/asan_interface.h>
#define MCXI_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define MCXI_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define MCXI_POISON(p, n) ((void)(p), (void)(n))
#define MCXI_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#if MCXI_CHECKING && defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define MCXI_VALGRIND 1
#endif
#endif

#ifdef MCXI_VALGRIND
#define MCXI_VG_CREATE_POOL(pool) VALGRIND_CREATE_MEMPOOL((pool), 0, 0)
#define MCXI_VG_DESTROY_POOL(pool) VALGRIND_DESTROY_MEMPOOL((pool))
#define MCXI_VG_POOL_ALLOC(pool, p, n) VALGRIND_MEMPOOL_ALLOC((pool), (p), (n))
#define MCXI_VG_POOL_FREE(pool, p) VALGRIND_MEMPOOL_FREE((pool), (p))
#define MCXI_VG_UNDEFINED(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define MCXI_VG_DEFINED(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#define MCXI_VG_NOACCESS(p, n) VALGRIND_MAKE_MEM_NOACCESS((p), (n))
#else
#define MCXI_VG_CREATE_POOL(pool) ((void)(pool))
#define MCXI_VG_DESTROY_POOL(pool) ((void)(pool))
#define MCXI_VG_POOL_ALLOC(pool, p, n) ((void)(pool), (void)(p), (void)(n))
#define MCXI_VG_POOL_FREE(pool, p) ((void)(pool), (void)(p))
#define MCXI_VG_UNDEFINED(p, n) ((void)(p), (void)(n))
#define MCXI_VG_DEFINED(p, n) ((void)(p), (void)(n))
#define MCXI_VG_NOACCESS(p, n) ((void)(p), (void)(n))
#endif

/* An object header is about to be written at h, where a freed object's body may have been. */
static inline void mcxi_dbg_hdr_writable(void *h) {
    MCXI_UNPOISON(h, MCXI_OBJ_HDR);
    MCXI_VG_UNDEFINED(h, MCXI_OBJ_HDR);
}

/* An object of usable bytes at p, requested bytes asked for, is handed to the user. */
static inline void mcxi_dbg_obj_alloc(mcx_context *ctx, void *p, size_t requested, size_t usable) {
    (void)ctx;
    (void)usable;
    MCXI_UNPOISON(p, requested + MCXI_SENTINEL_BYTES);
    MCXI_VG_UNDEFINED(p, usable);
#if MCXI_CHECKING
    ((unsigned char *)p)[requested] = MCXI_SENTINEL;
#endif
    MCXI_VG_POOL_ALLOC(ctx, p, requested);
}

/* The object at p (usable bytes) goes back to its context. */
static inline void mcxi_dbg_obj_free(mcx_context *ctx, void *p, size_t usable) {
    (void)ctx;
#if MCXI_CHECKING
    MCXI_UNPOISON(p, usable);
    MCXI_VG_UNDEFINED(p, usable); /* beyond the requested bytes it may have been inaccessible */
    memset(p, MCXI_WIPE, usable);
#endif
    MCXI_VG_POOL_FREE(ctx, p);
    MCXI_VG_NOACCESS(p, usable);
    MCXI_POISON(p, usable);
}

/* An object at p changes its requested size in place (realloc), from old to requested bytes. */
static inline void mcxi_dbg_obj_resize(mcx_context *ctx, void *p, size_t old, size_t requested, size_t usable) {
    (void)ctx;
    /* New bytes may cover a freed object's body, which the tools see as inaccessible. */
    if (requested > old) MCXI_VG_UNDEFINED((char *)p + old, requested - old + MCXI_SENTINEL_BYTES);
    MCXI_POISON(p, usable);
    MCXI_UNPOISON(p, requested + MCXI_SENTINEL_BYTES);
#if MCXI_CHECKING
    ((unsigned char *)p)[requested] = MCXI_SENTINEL;
#endif
#ifdef MCXI_VALGRIND
    VALGRIND_MEMPOOL_CHANGE(ctx, p, p, requested);
#endif
}

/* True when n bytes at p are poisoned for ASan (so the allocator must not read them). */
static inline bool mcxi_dbg_poisoned(const void *p, size_t n) {
#ifdef MCXI_ASAN
    return __asan_region_is_poisoned((void *)(uintptr_t)p, n) != NULL;
#else
    (void)p;
    (void)n;
    return false;
#endif
}

/* True when the sentinel after requested bytes at p is intact (always true in a plain build). */
static inline bool mcxi_dbg_sentinel_ok(const void *p, size_t requested) {
#if MCXI_CHECKING
    MCXI_VG_DEFINED((const char *)p + requested, 1);
    return ((const unsigned char *)p)[requested] == MCXI_SENTINEL;
#else
    (void)p;
    (void)requested;
    return true;
#endif
}

/* A process chunk was just taken from the top layer: its header is writable, its data is not
 * yet any object's. */
static inline void mcxi_dbg_chunk_acquired(void *chunk, size_t size) {
    MCXI_UNPOISON(chunk, size);
    /* Defined, not undefined: the allocator reads headers it did not write only when validating
     * a foreign pointer, and user objects are marked undefined one by one by the mempool. */
    MCXI_VG_DEFINED(chunk, size);
    MCXI_POISON((char *)chunk + MCXI_CHUNK_HDR, size - MCXI_CHUNK_HDR);
}

/* A process chunk goes back to the top layer; zeroed: a clean context scrubbed it, so the wipe
 * writes zeros and keeps it clean. */
static inline void mcxi_dbg_chunk_released(void *chunk, size_t size, bool zeroed) {
    (void)zeroed;
#if MCXI_CHECKING
    MCXI_UNPOISON(chunk, size);
    /* Wipe what the chunk held (up to 1 MiB: all of a chain chunk; the head of a large one). */
    size_t wipe = size < ((size_t)1 << 20) ? size : ((size_t)1 << 20);
    MCXI_VG_UNDEFINED(chunk, wipe);
    memset(chunk, zeroed ? 0 : MCXI_WIPE, wipe);
#endif
    MCXI_POISON(chunk, size);
    MCXI_VG_NOACCESS(chunk, size);
}

#endif /* MEMCTX_DEBUG_H */
