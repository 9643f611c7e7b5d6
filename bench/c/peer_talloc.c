/* peer_talloc.c - talloc as a backend of the peer workloads: a parent context per scope
 * (talloc_new), talloc_size children, talloc_free of one child or of the parent. */
#include <talloc.h>

#define B_ID talloc
#define B_NAME "talloc"
#define B_DOC "talloc_new / talloc_size / talloc_free (of the parent, or of one object)"
#define B_NEEDS_PTRS 0
#define B_HAS_FREE 1

static int b_init(void) { return 0; }
static void *b_scope_new(void *parent) { return talloc_new(parent); }
static inline void *b_alloc(void *scope, size_t size) { return talloc_size(scope, size); }
static inline void b_free(void *scope, void *ptr) {
    (void)scope;
    talloc_free(ptr);
}
static void *b_reset(void *scope, void **ptrs, size_t n) {
    (void)ptrs;
    (void)n;
    talloc_free(scope); /* "free of the parent", then a new parent for the next cycle */
    return talloc_new(NULL);
}
static void b_destroy(void *scope, void **ptrs, size_t n) {
    (void)ptrs;
    (void)n;
    talloc_free(scope);
}
static void b_phase_end(void) {}
static const char *b_unsupported(const char *workload) {
    (void)workload;
    return NULL;
}

#include "workloads.inc"
