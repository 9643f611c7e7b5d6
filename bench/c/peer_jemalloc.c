/* peer_jemalloc.c - jemalloc through its non-standard API: an arena of our own (arenas.create)
 * with mallocx/dallocx(MALLOCX_ARENA | MALLOCX_TCACHE_NONE) reset with arena.<i>.reset (or, with
 * MCXB_JEMALLOC_FREE, je_malloc / je_free of every object). Debian builds jemalloc without a
 * prefix (jemalloc.h maps je_* onto malloc, free, ...), so linking it replaces malloc in this
 * process: that is why it has an executable of its own. Its decay is set like memctx's
 * (1000 ms, background thread) so that RSS can fall without calls; MALLOC_CONF overrides it. */
/* keep the je_* names as stable aliases of whatever the package exports */
#define JEMALLOC_NO_DEMANGLE
#include <jemalloc/jemalloc.h>
#include <stdio.h>
#include <string.h>

#ifdef MCXB_JEMALLOC_FREE
#define B_ID jemalloc_free
#define B_NAME "jemalloc-free"
#define B_DOC "je_malloc / je_free of each object; dirty_decay_ms 1000, background thread"
#define B_NEEDS_PTRS 1
#else
#define B_ID jemalloc_arena
#define B_NAME "jemalloc-arena"
#define B_DOC "arenas.create, mallocx/dallocx (tcache off), arena.<i>.reset; decay 1000 ms, background thread"
#define B_NEEDS_PTRS 0
#endif
#define B_HAS_FREE 1

/* Read by jemalloc at start-up (je_malloc_conf is malloc_conf in the Debian build); defined
 * once per executable, in the arena variant's object. */
#ifndef MCXB_JEMALLOC_FREE
const char *je_malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
#endif

static char jemalloc_scope_token;

#ifdef MCXB_JEMALLOC_FREE
static int b_init(void) {
    /* Make sure malloc really is jemalloc's in this process. */
    uint64_t before = 0, after = 0;
    size_t sz = sizeof(uint64_t);
    void *volatile probe; /* volatile: GCC would otherwise drop a malloc/free pair */
    je_mallctl("thread.allocated", &before, &sz, NULL, 0);
    probe = je_malloc(4096);
    je_mallctl("thread.allocated", &after, &sz, NULL, 0);
    je_free(probe);
    return after > before ? 0 : -1;
}
static void *b_scope_new(void *parent) {
    (void)parent;
    return &jemalloc_scope_token;
}
static inline void *b_alloc(void *scope, size_t size) {
    (void)scope;
    return je_malloc(size);
}
static inline void b_free(void *scope, void *ptr) {
    (void)scope;
    je_free(ptr);
}
static void b_destroy(void *scope, void **ptrs, size_t n) {
    (void)scope;
    for (size_t i = 0; i < n; i++) je_free(ptrs[i]);
}
static void *b_reset(void *scope, void **ptrs, size_t n) {
    b_destroy(scope, ptrs, n);
    return scope;
}
static const char *b_unsupported(const char *workload) {
    (void)workload;
    return NULL;
}
#else
static unsigned jemalloc_arena_index;
static int jemalloc_flags;
static size_t jemalloc_reset_mib[3];
static size_t jemalloc_reset_miblen = 3;
static int jemalloc_ready;

static int b_init(void) {
    if (jemalloc_ready) return 0;
    size_t sz = sizeof jemalloc_arena_index;
    if (je_mallctl("arenas.create", &jemalloc_arena_index, &sz, NULL, 0) != 0) return -1;
    if (je_mallctlnametomib("arena.0.reset", jemalloc_reset_mib, &jemalloc_reset_miblen) != 0)
        return -1;
    jemalloc_reset_mib[1] = jemalloc_arena_index;
    jemalloc_flags = MALLOCX_ARENA(jemalloc_arena_index) | MALLOCX_TCACHE_NONE;
    jemalloc_ready = 1;
    return 0;
}
/* One arena: every scope of a workload is that arena (requests nest one scope at a time). */
static void *b_scope_new(void *parent) {
    (void)parent;
    return &jemalloc_scope_token;
}
static inline void *b_alloc(void *scope, size_t size) {
    (void)scope;
    return je_mallocx(size ? size : 1, jemalloc_flags);
}
static inline void b_free(void *scope, void *ptr) {
    (void)scope;
    je_dallocx(ptr, jemalloc_flags);
}
static void b_destroy(void *scope, void **ptrs, size_t n) {
    (void)scope;
    (void)ptrs;
    (void)n;
    je_mallctlbymib(jemalloc_reset_mib, jemalloc_reset_miblen, NULL, NULL, NULL, 0);
}
static void *b_reset(void *scope, void **ptrs, size_t n) {
    b_destroy(scope, ptrs, n);
    return scope;
}
static const char *b_unsupported(const char *workload) {
    if (strcmp(workload, "ramp") == 0)
        return "the ramp keeps thousands of sessions alive at once; an arena each is not practical (jemalloc-free covers it)";
    return NULL;
}
#endif
static void b_phase_end(void) {}

#include "workloads.inc"
