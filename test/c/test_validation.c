/* test_validation.c - what mcx_free refuses in a plain build, case by case: a stale pointer to a
 * large object whose chunk came back as a span chunk of the same context (its header, still
 * intact, says size 0 in a chunk of ordinary objects: accepting it wrote outside the free-list
 * array); a fake header copied inside a live allocation; stale pointers from before a reset. And
 * mcx_realloc keeping an alignment above 16 bytes when it moves the object. And frees whose
 * header is read later: double frees, stale pointers, calls on an object whose free waits, a
 * context at its limit. The header layout comes from internal.h so the fakes are exact copies.
 */
#include "harness.h"
#include "internal.h"

static void stale_large_pointer_in_reused_span_chunk(void) {
    /* max 64 KiB: objects above 8 KiB are large, in buddy chunks of their own. */
    mcx_context_options o = th_opts("stale", 8 * TH_KiB, 64 * TH_KiB, 0);
    mcx_context *ctx = mcx_context_create(NULL, &o);
    REQUIRE(ctx != NULL);
    char *p = mcx_alloc(ctx, 20000);
    REQUIRE(p != NULL);
    char *chunk = p - mcxi_align_up(MCXI_CHUNK_HDR + MCXI_OBJ_HDR, MCX_ALIGN);
    CHECK_OK(mcx_free(p));
    /* Span chunks of 32 KiB until one lands where the large object's chunk was. */
    int found = 0;
    mcx_span s;
    for (int i = 0; i < 8 && !found; i++) {
        REQUIRE(mcx_span_reserve(ctx, 20000, &s) == MCX_OK);
        found = (char *)s.chunk_data - MCXI_CHUNK_HDR == chunk;
        CHECK_OK(mcx_span_commit(ctx, found ? 0 : s.chunk_bytes, 0));
    }
    if (!found) {
        th_skip("stale_large_pointer_in_reused_span_chunk", "the buddy did not hand the chunk out again");
        mcx_delete(ctx);
        return;
    }
    int st = th_free(ctx, p);
    CHECK(st == MCX_EFOREIGN || st == MCX_EFREED);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

static void fake_header_inside_allocation(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    unsigned char *q = mcx_alloc(ctx, 512);
    REQUIRE(q != NULL);
    /* A copy of q's own header 64 bytes into q, with the offset to the chunk made right. */
    mcxi_obj h;
    memcpy(&h, q - MCXI_OBJ_HDR, sizeof h);
    h.size = 128;
    h.chunk_off += 64 / MCX_ALIGN;
    memcpy(q + 64 - MCXI_OBJ_HDR, &h, sizeof h);
    CHECK_STATUS(th_free(ctx, q + 64), MCX_EFOREIGN);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_free(q));
    CHECK_OK(mcx_delete(ctx));
}

static void stale_pointers_after_reset(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    void *p[4];
    for (int i = 0; i < 4; i++) REQUIRE((p[i] = mcx_alloc(ctx, 100)) != NULL);
    CHECK_OK(mcx_reset(ctx));
    /* Their headers are intact (nothing was allocated since), but from before the reset. */
    for (int i = 0; i < 4; i++) {
        int st = th_free(ctx, p[i]);
        CHECK(st == MCX_EFOREIGN || st == MCX_EFREED);
    }
    CHECK_OK(mcx_check(ctx));
    void *fresh = mcx_alloc(ctx, 100);
    CHECK(fresh != NULL);
    CHECK_OK(mcx_free(fresh));
    CHECK_OK(mcx_delete(ctx));
}

static void realloc_keeps_alignment(void) {
    mcx_context_options o = th_opts("aligned", 8 * TH_KiB, 1 * TH_MiB, 0);
    mcx_context *ctx = mcx_context_create(NULL, &o);
    REQUIRE(ctx != NULL);
    for (size_t align = 32; align <= 4096; align *= 2) {
        unsigned char *p = mcx_alloc_aligned(ctx, 100, align);
        REQUIRE(p != NULL);
        th_fill(p, 100, align);
        REQUIRE(mcx_alloc(ctx, 16) != NULL); /* p is no longer the newest: realloc must move */
        unsigned char *q = mcx_realloc(p, 5000);
        REQUIRE(q != NULL);
        CHECK(q != p);
        CHECK_U64((uintptr_t)q % align, ==, 0);
        CHECK_U64(th_verify(q, 100, align), ==, 100);
        /* Large ones too (above an eighth of max_chunk_size). */
        unsigned char *l = mcx_alloc_aligned(ctx, 200 * TH_KiB, align);
        REQUIRE(l != NULL);
        unsigned char *m = mcx_realloc(l, 700 * TH_KiB);
        REQUIRE(m != NULL);
        CHECK_U64((uintptr_t)m % align, ==, 0);
        /* A freed aligned object reused by a plain allocation is plain again. */
        CHECK_OK(mcx_free(q));
        CHECK_OK(mcx_free(m));
    }
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

/* Frees whose header is read later (release build; the checking build reads it at once, and every
 * outcome below holds in both). A double free whose first free was finished, putting the object
 * on a free list, while the second waits: the allocation of the object's class does not take it
 * back until the second is refused, so that free never frees the new object. */
static void double_free_waiting_when_object_reused(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    CHECK_OK(mcx_free(mcx_alloc(ctx, 32))); /* the context frees: its frees wait from now on */
    void *a = mcx_alloc(ctx, 100);
    void *others[MCXI_FREE_DEFER];
    for (unsigned i = 0; i < MCXI_FREE_DEFER; i++) REQUIRE((others[i] = mcx_alloc(ctx, 600)) != NULL);
    REQUIRE(mcx_alloc(ctx, 16) != NULL); /* none of them is the newest */
    CHECK_OK(mcx_free(a));
    int st = mcx_free(a);
    CHECK(st == MCX_OK || st == MCX_EFREED);
    /* Enough other frees that the first free of a is finished and the second still waits. */
    for (unsigned i = 0; i + 1 < MCXI_FREE_DEFER; i++) CHECK_OK(mcx_free(others[i]));
    unsigned char *b = mcx_alloc(ctx, 100); /* a's class */
    REQUIRE(b != NULL);
    CHECK(st == MCX_OK ? (void *)b != a : (void *)b == a);
    th_fill(b, 100, 7);
    CHECK_OK(mcx_free(others[MCXI_FREE_DEFER - 1]));
    CHECK_STATUS(mcx_free_flush(ctx), (st == MCX_OK ? MCX_EFREED : MCX_OK));
    CHECK_U64(th_ctx_stats(ctx).refused_frees, ==, (st == MCX_OK ? 1u : 0u));
    CHECK_U64(mcx_alloc_size(b), ==, 100); /* still live */
    CHECK_U64(th_verify(b, 100, 7), ==, 100);
    void *c = mcx_alloc(ctx, 100);
    CHECK(c != NULL && c != (void *)b);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

/* Both frees of a double free waiting at once: the second is refused when read, the object is on
 * a free list once, and a reset with frees waiting finishes them (the refusal is reported). */
static void double_free_both_waiting(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    void *a = mcx_alloc(ctx, 200);
    REQUIRE(a != NULL && mcx_alloc(ctx, 16) != NULL);
    CHECK_OK(mcx_free(a));
    int st = mcx_free(a);
    CHECK(st == MCX_OK || st == MCX_EFREED);
    CHECK_STATUS(mcx_free_flush(ctx), (st == MCX_OK ? MCX_EFREED : MCX_OK));
    CHECK_OK(mcx_free_flush(ctx)); /* reported once */
    void *x = mcx_alloc(ctx, 200), *y = mcx_alloc(ctx, 200);
    CHECK(x != NULL && y != NULL && x != y);
    CHECK_OK(mcx_free(x));
    st = mcx_free(x);
    CHECK_OK(mcx_reset(ctx));
    CHECK_STATUS(mcx_free_flush(ctx), (st == MCX_OK ? MCX_EFREED : MCX_OK));
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

/* A pointer from before a reset into the part of the chunk not handed out since, freed once the
 * context frees again: refused at once (no header there will ever tell), so it cannot free the
 * object bumped over its address later. */
static void stale_pointer_above_the_bump(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    void *p[4];
    for (int i = 0; i < 4; i++) REQUIRE((p[i] = mcx_alloc(ctx, 100)) != NULL);
    CHECK_OK(mcx_reset(ctx));
    void *x = mcx_alloc(ctx, 100);
    CHECK(x == p[0]);
    CHECK_OK(mcx_free(x)); /* the context frees (its frees wait from now on); x goes back to the bump */
    int st = mcx_free(p[2]);
    CHECK(st == MCX_EFOREIGN || st == MCX_EFREED);
    for (int i = 0; i < 4; i++) CHECK(mcx_alloc(ctx, 100) == p[i]); /* the same addresses again */
    CHECK_OK(mcx_free_flush(ctx));
    CHECK_U64(th_ctx_stats(ctx).refused_frees, ==, 0);
    for (int i = 0; i < 4; i++) CHECK_U64(mcx_alloc_size(p[i]), ==, 100);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

/* While a free waits, the object is freed for every other call: realloc, mcx_alloc_size,
 * mcx_context_of and the statistics. */
static void waiting_free_is_a_free(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    void *a = mcx_alloc(ctx, 300), *b = mcx_alloc(ctx, 300), *c = mcx_alloc(ctx, 300);
    REQUIRE(a && b && c && mcx_alloc(ctx, 16));
    uint64_t used = th_ctx_stats(ctx).used_bytes;
    CHECK_OK(mcx_free(a));
    CHECK_U64(th_ctx_stats(ctx).used_bytes, <, used);
    CHECK_OK(mcx_free(b));
    CHECK_FAILS(mcx_realloc(b, 10), MCX_EFREED);
    CHECK_OK(mcx_free(c));
    CHECK_U64(mcx_alloc_size(c), ==, 0);
    int st = mcx_free(a); /* a second free */
    CHECK(st == MCX_OK || st == MCX_EFREED);
    CHECK(mcx_context_of(a) == NULL);
    CHECK_STATUS(mcx_free_flush(ctx), (st == MCX_OK ? MCX_EFREED : MCX_OK));
    CHECK_STATUS(mcx_free_flush(NULL), MCX_EINVAL);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

/* A context at its limit with frees waiting: the allocation that would grow it finishes them
 * and takes the memory freed. */
static void waiting_frees_serve_before_growth(void) {
    mcx_context_options o = th_opts("limited", 8 * TH_KiB, 64 * TH_KiB, 64 * TH_KiB);
    mcx_context *ctx = mcx_context_create(NULL, &o);
    REQUIRE(ctx != NULL);
    void *p[512];
    size_t n = 0;
    while (n < 512 && (p[n] = mcx_alloc(ctx, 200)) != NULL) n++;
    REQUIRE(n > 4 && n < 512);
    CHECK_STATUS(mcx_errno(), MCX_ELIMIT);
    CHECK_OK(mcx_free(p[0]));
    CHECK_OK(mcx_free(p[1]));
    CHECK(mcx_alloc(ctx, 200) != NULL);
    CHECK(mcx_alloc(ctx, 200) != NULL);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

TH_MAIN(TH_TEST(stale_large_pointer_in_reused_span_chunk), TH_TEST(fake_header_inside_allocation),
        TH_TEST(stale_pointers_after_reset), TH_TEST(realloc_keeps_alignment),
        TH_TEST(double_free_waiting_when_object_reused), TH_TEST(double_free_both_waiting),
        TH_TEST(stale_pointer_above_the_bump), TH_TEST(waiting_free_is_a_free),
        TH_TEST(waiting_frees_serve_before_growth))
