/* peer_memctx.c - memctx as a backend of the peer workloads: a context per scope (child of the
 * root for requests and sessions), mcx_reset per region cycle, mcx_free for single objects.
 * Default release policy with the background thread on (no call needed for RSS to fall). */
#include "memctx.h"

#define B_ID memctx
#define B_NAME "memctx"
#define B_DOC "mcx_context_create / mcx_alloc_inline / mcx_free / mcx_reset / mcx_delete; default policy + background thread"
#define B_NEEDS_PTRS 0
#define B_HAS_FREE 1

static int b_init(void) {
    mcx_config cfg;
    mcx_config_default(&cfg);
    cfg.background_thread = 1;
    return mcx_configure(&cfg) == MCX_OK ? 0 : -1;
}
static void *b_scope_new(void *parent) { return mcx_context_create(parent, NULL); }
static inline void *b_alloc(void *scope, size_t size) { return mcx_alloc_inline(scope, size); }
static inline void b_free(void *scope, void *ptr) {
    (void)scope;
    mcx_free(ptr);
}
static void *b_reset(void *scope, void **ptrs, size_t n) {
    (void)ptrs;
    (void)n;
    return mcx_reset(scope) == MCX_OK ? scope : NULL;
}
static void b_destroy(void *scope, void **ptrs, size_t n) {
    (void)ptrs;
    (void)n;
    mcx_delete(scope);
}
static void b_phase_end(void) {}
static const char *b_unsupported(const char *workload) {
    (void)workload;
    return NULL;
}

#include "workloads.inc"
