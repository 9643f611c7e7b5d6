/* test_validation.c - what mcx_free refuses in a plain build, case by case: a stale pointer to a
 * large object whose chunk came back as a span chunk of the same context (its header, still
 * intact, says size 0 in a chunk of ordinary objects: accepting it wrote outside the free-list
 * array); a fake header copied inside a live allocation; stale pointers from before a reset. And
 * mcx_realloc keeping an alignment above 16 bytes when it moves the object. The header layout
 * comes from internal.h so the fakes are exact copies.
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
    int st = mcx_free(p);
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
    CHECK_STATUS(mcx_free(q + 64), MCX_EFOREIGN);
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
        int st = mcx_free(p[i]);
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

TH_MAIN(TH_TEST(stale_large_pointer_in_reused_span_chunk), TH_TEST(fake_header_inside_allocation),
        TH_TEST(stale_pointers_after_reset), TH_TEST(realloc_keeps_alignment))
