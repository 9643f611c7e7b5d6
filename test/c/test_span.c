/* test_span.c - tests spans (mcx_span_reserve / mcx_span_commit): the caller bump-allocates in
 * the current process chunk; a reserve that does not fit forwards to a chunk of twice the size
 * (up to max_chunk_size, larger for big requests); statistics are true after each commit;
 * bad arguments are refused; large C allocations can be mixed in; reset brings back chunk 0.
 */
#include "harness.h"

static size_t chunks_of(const mcx_context *ctx, mcx_chunk_info *out, size_t cap) {
    size_t count = 0;
    if (mcx_context_chunks(ctx, out, cap, &count) != MCX_OK) return 0;
    return count;
}

static void span_reserve_and_commit(void) {
    mcx_context_options o = th_opts("span", 8 * TH_KiB, 64 * TH_KiB, 0);
    mcx_context *ctx = mcx_context_create(NULL, &o);
    REQUIRE(ctx != NULL);
    mcx_span s;
    memset(&s, 0, sizeof s);
    CHECK_OK(mcx_span_reserve(ctx, 100, &s));
    REQUIRE(s.chunk_data != NULL);
    CHECK(((uintptr_t)s.chunk_data & (MCX_ALIGN - 1)) == 0);
    CHECK_U64(s.chunk_index, ==, 0);
    CHECK_U64(s.offset, <=, s.chunk_bytes);
    CHECK_U64(s.chunk_bytes - s.offset, >=, 100);
    CHECK_U64(s.chunk_bytes, <=, 8 * TH_KiB);
    size_t start = s.offset;

    struct mcx_context_stats st0 = th_ctx_stats(ctx);
    mcx_chunk_info ch0[4];
    REQUIRE(chunks_of(ctx, ch0, 4) == 1);
    unsigned char *mem = (unsigned char *)s.chunk_data + s.offset;
    th_fill(mem, 100, 1);
    CHECK_OK(mcx_span_commit(ctx, s.offset + 100, 0));
    struct mcx_context_stats st1 = th_ctx_stats(ctx);
    CHECK_U64(st1.used_bytes, ==, st0.used_bytes + 100);
    CHECK_U64(st1.total_bytes, ==, st0.total_bytes);
    CHECK_U64(st1.used_bytes + st1.free_bytes, ==, st1.total_bytes);
    mcx_chunk_info ch1[4];
    REQUIRE(chunks_of(ctx, ch1, 4) == 1);
    CHECK_U64(ch1[0].used, ==, ch0[0].used + 100);

    /* A second reserve that fits returns the same chunk at the committed offset. */
    mcx_span s2;
    CHECK_OK(mcx_span_reserve(ctx, 1000, &s2));
    CHECK(s2.chunk_data == s.chunk_data);
    CHECK_U64(s2.chunk_index, ==, 0);
    CHECK_U64(s2.offset, ==, start + 100);
    CHECK_U64(s2.chunk_bytes, ==, s.chunk_bytes);

    /* freed_bytes lowers used, not total. */
    th_fill((unsigned char *)s2.chunk_data + s2.offset, 1000, 2);
    CHECK_OK(mcx_span_commit(ctx, s2.offset + 1000, 0));
    struct mcx_context_stats st2 = th_ctx_stats(ctx);
    CHECK_U64(st2.used_bytes, ==, st1.used_bytes + 1000);
    CHECK_OK(mcx_span_commit(ctx, s2.offset + 1000, 300));
    struct mcx_context_stats st3 = th_ctx_stats(ctx);
    CHECK_U64(st3.used_bytes, ==, st2.used_bytes - 300);
    CHECK_U64(st3.total_bytes, ==, st2.total_bytes);
    CHECK_U64(st3.used_bytes + st3.free_bytes, ==, st3.total_bytes);
    CHECK_OK(mcx_check(ctx));
    CHECK_U64(th_verify(mem, 100, 1), ==, 100);
    CHECK_OK(mcx_delete(ctx));
}

static void span_forwarding_doubles(void) {
    size_t max = 64 * TH_KiB;
    mcx_context_options o = th_opts("span-chain", 8 * TH_KiB, max, 0);
    mcx_context *ctx = mcx_context_create(NULL, &o);
    REQUIRE(ctx != NULL);
    mcx_span s;
    CHECK_OK(mcx_span_reserve(ctx, 16, &s));
    enum { STEPS = 8 };
    void *data[STEPS + 1];
    size_t used_at[STEPS + 1], left_at[STEPS + 1];
    data[0] = s.chunk_data;
    for (uint32_t i = 0; i < STEPS; i++) {
        /* Use this chunk to the end, then ask for more than is left. */
        size_t left = s.chunk_bytes - s.offset;
        th_fill((unsigned char *)s.chunk_data + s.offset, left, 500 + i);
        used_at[i] = s.offset;
        left_at[i] = left;
        CHECK_OK(mcx_span_commit(ctx, s.chunk_bytes, 0));
        struct mcx_context_stats st = th_ctx_stats(ctx);
        CHECK_U64(st.used_bytes + st.free_bytes, ==, st.total_bytes);
        mcx_span n;
        CHECK_OK(mcx_span_reserve(ctx, 2000, &n));
        CHECK_U64(n.chunk_index, ==, i + 1);
        CHECK(n.chunk_data != s.chunk_data);
        CHECK_U64(n.chunk_bytes - n.offset, >=, 2000);
        CHECK_U64(th_ctx_stats(ctx).chunk_count, ==, i + 2);
        data[i + 1] = n.chunk_data;
        s = n;
    }
    /* Chunk sizes double until max_chunk_size, then stay there. */
    mcx_chunk_info ch[STEPS + 2];
    size_t count = chunks_of(ctx, ch, STEPS + 2);
    CHECK_U64(count, ==, STEPS + 1);
    CHECK_U64(ch[0].size, ==, 8 * TH_KiB);
    for (size_t i = 1; i < count; i++) {
        uint64_t want = ch[i - 1].size * 2 > max ? max : ch[i - 1].size * 2;
        CHECK_U64(ch[i].size, ==, want);
    }
    /* Every full chunk is used to its end. */
    for (size_t i = 0; i + 1 < count; i++) CHECK_U64(ch[i].used, ==, ch[i].size);
    /* The bytes in the earlier chunks are untouched by forwarding. */
    for (uint32_t i = 0; i < STEPS; i++)
        CHECK_U64(th_verify((unsigned char *)data[i] + used_at[i], left_at[i], 500 + i), ==,
                  left_at[i]);
    CHECK_OK(mcx_check(ctx));

    /* A reserve bigger than max_chunk_size gets a chunk big enough. */
    mcx_span big;
    CHECK_OK(mcx_span_reserve(ctx, 3 * max, &big));
    CHECK_U64(big.chunk_bytes - big.offset, >=, 3 * max);
    CHECK_U64(big.chunk_index, ==, STEPS + 1);
    memset((unsigned char *)big.chunk_data + big.offset, 0xAB, 3 * max);
    CHECK_OK(mcx_span_commit(ctx, big.offset + 3 * max, 0));
    struct mcx_context_stats st = th_ctx_stats(ctx);
    CHECK_U64(st.used_bytes + st.free_bytes, ==, st.total_bytes);
    CHECK_U64(st.total_bytes, >=, 3 * max);
    CHECK_OK(mcx_check(ctx));

    /* Reset: back to chunk 0 and its first offset. */
    CHECK_OK(mcx_reset(ctx));
    mcx_span r;
    CHECK_OK(mcx_span_reserve(ctx, 16, &r));
    CHECK_U64(r.chunk_index, ==, 0);
    CHECK(r.chunk_data == data[0]);
    CHECK_U64(r.offset, ==, used_at[0]);
    CHECK_U64(chunks_of(ctx, ch, 2), ==, 1);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

static void span_offset_after_reset_is_initial(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    mcx_span a;
    CHECK_OK(mcx_span_reserve(ctx, 16, &a));
    size_t initial = a.offset;
    CHECK_OK(mcx_span_commit(ctx, a.offset + 512, 0));
    CHECK_OK(mcx_reset(ctx));
    mcx_span b;
    CHECK_OK(mcx_span_reserve(ctx, 16, &b));
    CHECK_U64(b.offset, ==, initial);
    CHECK(b.chunk_data == a.chunk_data);
    CHECK_OK(mcx_delete(ctx));
}

static void span_bad_arguments(void) {
    mcx_context_options o = th_opts("span-bad", 8 * TH_KiB, 64 * TH_KiB, 0);
    mcx_context *ctx = mcx_context_create(NULL, &o);
    REQUIRE(ctx != NULL);
    mcx_span s;
    CHECK_STATUS(mcx_span_reserve(NULL, 16, &s), MCX_EINVAL);
    CHECK_STATUS(mcx_span_reserve(ctx, 16, NULL), MCX_EINVAL);
    CHECK_STATUS(mcx_span_reserve(ctx, MCX_ALLOC_MAX + 1, &s), MCX_ETOOBIG);
    CHECK_STATUS(mcx_span_commit(NULL, 0, 0), MCX_EINVAL);
    CHECK_OK(mcx_span_reserve(ctx, 64, &s));
    struct mcx_context_stats before = th_ctx_stats(ctx);
    /* Past the end of the chunk. */
    CHECK_STATUS(mcx_span_commit(ctx, s.chunk_bytes + 1, 0), MCX_EINVAL);
    CHECK_STATUS(mcx_span_commit(ctx, SIZE_MAX, 0), MCX_EINVAL);
    struct mcx_context_stats after = th_ctx_stats(ctx);
    CHECK_U64(after.used_bytes, ==, before.used_bytes);
    CHECK_OK(mcx_check(ctx));
    /* Still usable. */
    CHECK_OK(mcx_span_commit(ctx, s.offset + 64, 0));
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

static void span_with_large_allocations_and_limit(void) {
    mcx_context_options o = th_opts("span-mixed", 8 * TH_KiB, 64 * TH_KiB, 1 * TH_MiB);
    mcx_context *ctx = mcx_context_create(NULL, &o);
    REQUIRE(ctx != NULL);
    mcx_span s;
    CHECK_OK(mcx_span_reserve(ctx, 256, &s));
    th_fill((unsigned char *)s.chunk_data + s.offset, 256, 3);
    CHECK_OK(mcx_span_commit(ctx, s.offset + 256, 0));
    /* A large allocation between commits does not move the span. */
    void *big = mcx_alloc(ctx, mcx_large_threshold(ctx) + 1);
    REQUIRE(big != NULL);
    CHECK_U64(th_ctx_stats(ctx).large_count, ==, 1);
    mcx_span s2;
    CHECK_OK(mcx_span_reserve(ctx, 16, &s2));
    CHECK(s2.chunk_data == s.chunk_data);
    CHECK_U64(s2.offset, ==, s.offset + 256);
    CHECK_U64(th_verify((unsigned char *)s.chunk_data + s.offset, 256, 3), ==, 256);
    CHECK_OK(mcx_free(big));
    CHECK_OK(mcx_check(ctx));
    /* The limit applies to spans. */
    mcx_span s3;
    CHECK_STATUS(mcx_span_reserve(ctx, 2 * TH_MiB, &s3), MCX_ELIMIT);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_span_reserve(ctx, 16, &s3));
    CHECK(s3.chunk_data == s.chunk_data);
    CHECK_OK(mcx_delete(ctx));
}

/* After a reset, a context used through spans is an ordinary context again: when the chain
 * forwards, the keeper's tail becomes a free object, so an allocation of its size lands in the
 * keeper, not in the new chunk. */
static void span_mode_ends_at_reset(void) {
    mcx_context_options o = th_opts("spanreset", 4 * TH_KiB, 64 * TH_KiB, 0);
    mcx_context *ctx = mcx_context_create(NULL, &o);
    REQUIRE(ctx != NULL);
    mcx_span s;
    REQUIRE(mcx_span_reserve(ctx, 100, &s) == MCX_OK);
    CHECK_OK(mcx_span_commit(ctx, 100, 0));
    CHECK_OK(mcx_reset(ctx));
    /* Fill the keeper with 16-byte objects until at most 256 bytes are left, so its tail becomes
     * a free object of an exact small class when the chain forwards. The step between objects
     * (header, object, and the checking build's sentinel) is measured, not assumed. */
    const char *end = (const char *)s.chunk_data + s.chunk_bytes;
    const char *prev = NULL;
    size_t rem = 0;
    for (;;) {
        const char *q = mcx_alloc(ctx, 16);
        REQUIRE(q != NULL && q < end);
        if (prev) {
            rem = (size_t)(end - (q - MCX_ALIGN + (size_t)(q - prev)));
            if (rem <= 256) break;
        }
        prev = q;
    }
    REQUIRE(mcx_alloc(ctx, 2000) != NULL); /* forwards: the keeper's tail is retired */
    const char *keeper = (const char *)ctx;
    const char *p = mcx_alloc(ctx, rem - 31); /* needs rem - 16 bytes: the tail object's class */
    REQUIRE(p != NULL);
    CHECK(p > keeper && p < keeper + 4 * TH_KiB);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

/* A span borrower's chain keeps to the doubling even when smaller free runs that were used
 * before wait whole (a plain context would take them): here the 16 KiB chunks of a deleted
 * context. */
static void span_chain_doubles_beside_used_runs(void) {
    mcx_context_options o16 = th_opts("a", 16 * TH_KiB, 16 * TH_KiB, 0);
    mcx_context *a = mcx_context_create(NULL, &o16);
    mcx_context *b = mcx_context_create(NULL, &o16);
    REQUIRE(a != NULL && b != NULL);
    /* Chunks of a and b alternate, so a's freed runs cannot merge: more of them than the
     * thread's cache keeps (1 MiB), so some go back to their top chunk. */
    for (size_t i = 0; i < 128 * 14; i++) {
        REQUIRE(mcx_alloc(a, 1000) != NULL);
        REQUIRE(mcx_alloc(b, 1000) != NULL);
    }
    CHECK_OK(mcx_delete(a));
    mcx_context_options o = th_opts("span-chain", 8 * TH_KiB, 64 * TH_KiB, 0);
    mcx_context *ctx = mcx_context_create(NULL, &o);
    REQUIRE(ctx != NULL);
    mcx_span s;
    CHECK_OK(mcx_span_reserve(ctx, 16, &s));
    for (int i = 0; i < 4; i++) {
        CHECK_OK(mcx_span_commit(ctx, s.chunk_bytes, 0));
        CHECK_OK(mcx_span_reserve(ctx, 2000, &s));
    }
    mcx_chunk_info ch[8];
    size_t count = chunks_of(ctx, ch, 8);
    CHECK_U64(count, ==, 5);
    for (size_t i = 1; i < count; i++) CHECK_U64(ch[i].size, ==, ch[i - 1].size * 2 > 64 * TH_KiB ? 64 * TH_KiB : ch[i - 1].size * 2);
    CHECK_OK(mcx_check(NULL));
    CHECK_OK(mcx_delete(ctx));
    CHECK_OK(mcx_delete(b));
}

TH_MAIN(TH_TEST(span_mode_ends_at_reset), TH_TEST(span_reserve_and_commit), TH_TEST(span_forwarding_doubles),
        TH_TEST(span_offset_after_reset_is_initial), TH_TEST(span_bad_arguments),
        TH_TEST(span_with_large_allocations_and_limit), TH_TEST(span_chain_doubles_beside_used_runs))
