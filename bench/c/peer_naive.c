/* peer_naive.c - the naive keep-everything bump region (or, with MCXB_NAIVE_UNMAP, the one that
 * munmaps on reset) as a reference row of the region workload only. */
#include <string.h>

#include "naive_region.h"

#ifdef MCXB_NAIVE_UNMAP
#define B_ID naive_unmap
#define B_NAME "naive-unmap"
#define B_DOC "bump region over 1 MiB mmap chunks, munmap of every chunk on reset"
#define NAIVE_MODE 1
#else
#define B_ID naive_keep
#define B_NAME "naive-keep"
#define B_DOC "bump region over 1 MiB mmap chunks, keeps every chunk on reset"
#define NAIVE_MODE 0
#endif
#define B_NEEDS_PTRS 0
#define B_HAS_FREE 0

static naive_region naive_the_region; /* the region workload uses one scope at a time */

static int b_init(void) { return 0; }
static void *b_scope_new(void *parent) {
    (void)parent;
    naive_init(&naive_the_region, NAIVE_MODE);
    return &naive_the_region;
}
static inline void *b_alloc(void *scope, size_t size) { return naive_alloc(scope, size); }
static inline void b_free(void *scope, void *ptr) {
    (void)scope;
    (void)ptr;
}
static void *b_reset(void *scope, void **ptrs, size_t n) {
    (void)ptrs;
    (void)n;
    naive_reset(scope);
    return scope;
}
static void b_destroy(void *scope, void **ptrs, size_t n) {
    (void)ptrs;
    (void)n;
    naive_destroy(scope);
}
static void b_phase_end(void) {}
static const char *b_unsupported(const char *workload) {
    if (strcmp(workload, "region") != 0) return "the naive regions are references for the region workload only";
    return NULL;
}

#include "workloads.inc"
