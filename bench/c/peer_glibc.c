/* peer_glibc.c - glibc malloc/free as a backend of the peer workloads: every object freed one by
 * one; with MCXB_GLIBC_TRIM (peer_glibc_trim.c) also malloc_trim(0) after each ramp phase. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#ifdef MCXB_GLIBC_TRIM
#define B_ID glibc_trim
#define B_NAME "glibc+trim"
#define B_DOC "malloc / free of each object, malloc_trim(0) after each ramp phase"
#else
#define B_ID glibc
#define B_NAME "glibc"
#define B_DOC "malloc / free of each object"
#endif
#define B_NEEDS_PTRS 1
#define B_HAS_FREE 1

static char glibc_scope_token; /* scopes are only a list of pointers kept by the workload */

static int b_init(void) { return 0; }
static void *b_scope_new(void *parent) {
    (void)parent;
    return &glibc_scope_token;
}
static inline void *b_alloc(void *scope, size_t size) {
    (void)scope;
    return malloc(size);
}
static inline void b_free(void *scope, void *ptr) {
    (void)scope;
    free(ptr);
}
static void b_destroy(void *scope, void **ptrs, size_t n) {
    (void)scope;
    for (size_t i = 0; i < n; i++) free(ptrs[i]); /* free(NULL) is a no-op */
}
static void *b_reset(void *scope, void **ptrs, size_t n) {
    b_destroy(scope, ptrs, n);
    return scope;
}
static void b_phase_end(void) {
#ifdef MCXB_GLIBC_TRIM
    malloc_trim(0);
#endif
}
static const char *b_unsupported(const char *workload) {
#ifdef MCXB_GLIBC_TRIM
    if (strcmp(workload, "ramp") != 0) return "glibc+trim differs from glibc only in the ramp";
#else
    (void)workload;
#endif
    return NULL;
}

#include "workloads.inc"
