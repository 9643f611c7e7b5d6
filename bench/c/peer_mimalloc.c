/* peer_mimalloc.c - mimalloc through its own API (never malloc): a heap per scope freed with
 * mi_heap_destroy (or, with MCXB_MIMALLOC_FREE, mi_malloc / mi_free of every object). Default
 * options, so purging follows mimalloc's own decommit delay. libmimalloc.so as Debian ships it
 * also replaces malloc in this process, which is why it runs in an executable of its own. */
#include <mimalloc.h>
#include <string.h>

#ifdef MCXB_MIMALLOC_FREE
#define B_ID mimalloc_free
#define B_NAME "mimalloc-free"
#define B_DOC "mi_malloc / mi_free of each object"
#define B_NEEDS_PTRS 1
#else
#define B_ID mimalloc_heap
#define B_NAME "mimalloc-heap"
#define B_DOC "mi_heap_new / mi_heap_malloc / mi_free / mi_heap_destroy"
#define B_NEEDS_PTRS 0
#endif
#define B_HAS_FREE 1

static char mimalloc_scope_token;

static int b_init(void) { return 0; }

#ifdef MCXB_MIMALLOC_FREE
static void *b_scope_new(void *parent) {
    (void)parent;
    return &mimalloc_scope_token;
}
static inline void *b_alloc(void *scope, size_t size) {
    (void)scope;
    return mi_malloc(size);
}
static void b_destroy(void *scope, void **ptrs, size_t n) {
    (void)scope;
    for (size_t i = 0; i < n; i++) mi_free(ptrs[i]);
}
static void *b_reset(void *scope, void **ptrs, size_t n) {
    b_destroy(scope, ptrs, n);
    return scope;
}
#else
static void *b_scope_new(void *parent) {
    (void)parent; /* mimalloc heaps have no parent: each is destroyed on its own */
    (void)mimalloc_scope_token;
    return mi_heap_new();
}
static inline void *b_alloc(void *scope, size_t size) { return mi_heap_malloc(scope, size); }
static void b_destroy(void *scope, void **ptrs, size_t n) {
    (void)ptrs;
    (void)n;
    mi_heap_destroy(scope);
}
static void *b_reset(void *scope, void **ptrs, size_t n) {
    b_destroy(scope, ptrs, n);
    return mi_heap_new();
}
#endif
static inline void b_free(void *scope, void *ptr) {
    (void)scope;
    mi_free(ptr);
}
static void b_phase_end(void) {}
static const char *b_unsupported(const char *workload) {
    (void)workload;
    return NULL;
}

#include "workloads.inc"
