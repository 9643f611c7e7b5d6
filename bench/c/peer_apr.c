/* peer_apr.c - APR pools as a backend of the peer workloads: apr_pool_create (a subpool of the
 * root for requests and sessions), apr_palloc, apr_pool_clear per region cycle,
 * apr_pool_destroy. APR has no free of one object: freed objects stay until the pool goes. */
#include <apr_general.h>
#include <apr_pools.h>

#define B_ID apr_pool
#define B_NAME "apr-pool"
#define B_DOC "apr_pool_create / apr_palloc / apr_pool_clear / apr_pool_destroy (no single free)"
#define B_NEEDS_PTRS 0
#define B_HAS_FREE 0

static int b_init(void) {
    static int ready;
    if (!ready && apr_initialize() != APR_SUCCESS) return -1;
    ready = 1;
    return 0;
}
static void *b_scope_new(void *parent) {
    apr_pool_t *p = NULL;
    return apr_pool_create(&p, parent) == APR_SUCCESS ? p : NULL;
}
static inline void *b_alloc(void *scope, size_t size) { return apr_palloc(scope, size); }
static inline void b_free(void *scope, void *ptr) {
    (void)scope;
    (void)ptr;
}
static void *b_reset(void *scope, void **ptrs, size_t n) {
    (void)ptrs;
    (void)n;
    apr_pool_clear(scope);
    return scope;
}
static void b_destroy(void *scope, void **ptrs, size_t n) {
    (void)ptrs;
    (void)n;
    apr_pool_destroy(scope);
}
static void b_phase_end(void) {}
static const char *b_unsupported(const char *workload) {
    (void)workload;
    return NULL;
}

#include "workloads.inc"
