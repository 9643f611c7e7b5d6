/* test_stats.c - tests statistics: mcx_context_stats (used + free == total, counts),
 * mcx_context_chunks, mcx_global_stats_get (consistent with mcx_top_chunks and the live
 * contexts, counters that only grow), mcx_top_chunks (cap and count), mcx_resident_bytes
 * (mincore: touched pages count, untouched do not) and mcx_check after operations.
 */
#include "harness.h"

/* Checks that the global figures agree with the top-chunk vector. */
static void check_global_consistency(void) {
    struct mcx_global_stats g = th_global();
    size_t count = 0;
    CHECK_OK(mcx_top_chunks(NULL, 0, &count));
    /* The vector, then the dedicated mappings. */
    CHECK_U64(count, ==, g.top_chunk_count + g.dedicated_count);
    mcx_top_info *tops = (mcx_top_info *)calloc(count + 1, sizeof *tops);
    REQUIRE(tops != NULL);
    size_t count2 = 0;
    CHECK_OK(mcx_top_chunks(tops, count + 1, &count2));
    CHECK_U64(count2, ==, count);
    uint64_t size_sum = 0, decommitted_sum = 0, dedicated = 0;
    for (size_t i = 0; i < count; i++) {
        /* The vector first, then the dedicated mappings. */
        if (i < g.top_chunk_count) CHECK(tops[i].dedicated == 0);
        else CHECK(tops[i].dedicated == 1);
        CHECK_U64(tops[i].size, >, 0);
        CHECK_U64(tops[i].used, <=, tops[i].size);
        CHECK_U64(tops[i].decommitted + tops[i].used, <=, tops[i].size);
        CHECK(tops[i].size % 4096 == 0);
        size_sum += tops[i].size;
        decommitted_sum += tops[i].decommitted;
        dedicated += tops[i].dedicated != 0;
    }
    CHECK_U64(size_sum, ==, g.mapped_bytes);
    CHECK_U64(decommitted_sum, ==, g.decommitted_bytes);
    CHECK_U64(dedicated, ==, g.dedicated_count);
    CHECK_U64(g.peak_mapped_bytes, >=, g.mapped_bytes);
    CHECK_U64(g.chunk_bytes, <=, g.mapped_bytes);
    CHECK_U64(g.retained_bytes, <=, g.mapped_bytes);
    CHECK_U64(g.contexts_created, >=, g.context_count);
    free(tops);
}

static void context_stats_track_allocations(void) {
    mcx_context_options o = th_opts("stats", 8 * TH_KiB, 128 * TH_KiB, 0);
    mcx_context *ctx = mcx_context_create(NULL, &o);
    REQUIRE(ctx != NULL);
    struct mcx_context_stats s0 = th_ctx_stats(ctx);
    CHECK(s0.name != NULL && strcmp(s0.name, "stats") == 0);
    CHECK_U64(s0.total_bytes, ==, 8 * TH_KiB);
    CHECK_U64(s0.used_bytes + s0.free_bytes, ==, s0.total_bytes);
    CHECK_U64(s0.used_bytes, <, 1024); /* just the headers */
    CHECK_U64(s0.chunk_count, ==, 1);

    enum { N = 3000 };
    static void *p[N];
    uint64_t requested = 0;
    uint64_t usable = 0;
    for (size_t i = 0; i < N; i++) {
        size_t sz = 8 + (i * 37) % 900;
        p[i] = mcx_alloc(ctx, sz);
        REQUIRE(p[i] != NULL);
        requested += sz;
        usable += mcx_alloc_size(p[i]);
        if (i % 500 == 0) {
            struct mcx_context_stats s = th_ctx_stats(ctx);
            CHECK_U64(s.used_bytes + s.free_bytes, ==, s.total_bytes);
            CHECK_U64(s.used_bytes, >=, s0.used_bytes + usable);
        }
    }
    struct mcx_context_stats s1 = th_ctx_stats(ctx);
    CHECK_U64(s1.used_bytes + s1.free_bytes, ==, s1.total_bytes);
    CHECK_U64(s1.used_bytes, >=, usable);
    CHECK_U64(usable, >=, requested);
    /* Headers and rounding are bounded: at most 64 bytes per object plus chunk headers. */
    CHECK_U64(s1.used_bytes, <=, usable + (uint64_t)N * 64 + s1.chunk_count * 256 + 1024);

    /* chunk_count matches mcx_context_chunks, and the chunk sizes sum to total (no large). */
    mcx_chunk_info ch[64];
    size_t count = 0;
    CHECK_OK(mcx_context_chunks(ctx, ch, 64, &count));
    CHECK_U64(count, ==, s1.chunk_count);
    CHECK_U64(s1.large_count, ==, 0);
    uint64_t sum = 0, used = 0;
    for (size_t i = 0; i < count && i < 64; i++) {
        sum += ch[i].size;
        used += ch[i].used;
        CHECK_U64(ch[i].used, <=, ch[i].size);
    }
    CHECK_U64(sum, ==, s1.total_bytes);
    /* Bumped bytes are at least what is in use (frees go to free lists, not back to the bump). */
    CHECK_U64(used, >=, s1.used_bytes);
    /* cap smaller than the count: copies cap, reports the total. */
    mcx_chunk_info two[2];
    size_t c2 = 0;
    CHECK_OK(mcx_context_chunks(ctx, two, 2, &c2));
    CHECK_U64(c2, ==, count);
    CHECK_U64(two[0].size, ==, ch[0].size);
    CHECK_OK(mcx_context_chunks(ctx, NULL, 0, &c2));
    CHECK_U64(c2, ==, count);

    /* Freeing moves bytes from used to free; total stays. */
    uint64_t freed_usable = 0;
    for (size_t i = 0; i < N; i += 3) {
        freed_usable += mcx_alloc_size(p[i]);
        CHECK_OK(mcx_free(p[i]));
    }
    struct mcx_context_stats s2 = th_ctx_stats(ctx);
    CHECK_U64(s2.total_bytes, ==, s1.total_bytes);
    CHECK_U64(s2.used_bytes, <=, s1.used_bytes - freed_usable);
    CHECK_U64(s2.used_bytes + s2.free_bytes, ==, s2.total_bytes);

    /* Children and large allocations are counted. */
    mcx_context *k1 = mcx_context_create(ctx, NULL);
    mcx_context *k2 = mcx_context_create(ctx, NULL);
    REQUIRE(k1 && k2);
    void *big = mcx_alloc(ctx, mcx_large_threshold(ctx) * 2);
    REQUIRE(big != NULL);
    struct mcx_context_stats s3 = th_ctx_stats(ctx);
    CHECK_U64(s3.child_count, ==, 2);
    CHECK_U64(s3.large_count, ==, 1);
    CHECK_U64(s3.total_bytes, >=, s2.total_bytes + mcx_large_threshold(ctx) * 2);
    CHECK_U64(s3.used_bytes + s3.free_bytes, ==, s3.total_bytes);
    /* A child's memory is not the parent's. */
    REQUIRE(mcx_alloc(k1, 100000) != NULL);
    struct mcx_context_stats s4 = th_ctx_stats(ctx);
    CHECK_U64(s4.total_bytes, ==, s3.total_bytes);

    /* Bad arguments. */
    struct mcx_context_stats dummy;
    CHECK_STATUS(mcx_context_stats(NULL, &dummy), MCX_EINVAL);
    CHECK_STATUS(mcx_context_stats(ctx, NULL), MCX_EINVAL);
    CHECK_STATUS(mcx_context_chunks(NULL, ch, 4, &count), MCX_EINVAL);
    CHECK_STATUS(mcx_context_chunks(ctx, ch, 4, NULL), MCX_EINVAL);
    CHECK_STATUS(mcx_context_chunks(ctx, NULL, 4, &count), MCX_EINVAL);
    CHECK_OK(mcx_check(ctx));
    check_global_consistency();
    CHECK_OK(mcx_delete(ctx));
}

static void global_stats_follow_operations(void) {
    mcx_trim(); /* nothing mapped is left to absorb the contexts below */
    struct mcx_global_stats g0 = th_global();
    check_global_consistency();
    mcx_context *ctxs[16];
    for (int i = 0; i < 16; i++) {
        ctxs[i] = mcx_context_create(i ? ctxs[0] : NULL, NULL);
        REQUIRE(ctxs[i] != NULL);
        for (int k = 0; k < 2000; k++) REQUIRE(mcx_alloc(ctxs[i], 64 + (size_t)(k % 64)) != NULL);
    }
    struct mcx_global_stats g1 = th_global();
    CHECK_U64(g1.context_count, ==, g0.context_count + 16);
    CHECK_U64(g1.contexts_created, ==, g0.contexts_created + 16);
    CHECK_U64(g1.mmap_calls, >, g0.mmap_calls);
    CHECK_U64(g1.mapped_bytes, >, g0.mapped_bytes);
    CHECK_U64(g1.top_chunk_count, >=, 1);
    /* The contexts' process chunks all come from the top chunks. */
    uint64_t ctx_total = 0;
    for (int i = 0; i < 16; i++) ctx_total += th_ctx_stats(ctxs[i]).total_bytes;
    CHECK_U64(ctx_total, <=, g1.chunk_bytes);
    CHECK_U64(g1.chunk_bytes, <=, g1.mapped_bytes);
    check_global_consistency();

    CHECK_OK(mcx_delete(ctxs[0]));
    struct mcx_global_stats g2 = th_global();
    CHECK_U64(g2.context_count, ==, g0.context_count);
    CHECK_U64(g2.contexts_created, ==, g1.contexts_created);
    CHECK_U64(g2.chunk_bytes, <, g1.chunk_bytes);
    CHECK_U64(g2.peak_mapped_bytes, >=, g1.mapped_bytes);
    check_global_consistency();
    uint64_t released = mcx_trim();
    struct mcx_global_stats g3 = th_global();
    CHECK_U64(g3.mapped_bytes, <, g1.mapped_bytes);
    CHECK_U64(g3.released_bytes, >=, g2.released_bytes + released);
    CHECK_U64(released, >, 0);
    CHECK_U64(g3.munmap_calls + g3.madvise_calls, >, g2.munmap_calls + g2.madvise_calls);
    CHECK_U64(g3.peak_mapped_bytes, ==, g2.peak_mapped_bytes);
    /* Counters never go down. */
    CHECK_U64(g3.mmap_calls, >=, g2.mmap_calls);
    CHECK_U64(g3.maintain_runs, >=, g2.maintain_runs);
    check_global_consistency();
    /* maintain runs are counted. */
    mcx_maintain(0);
    CHECK_U64(th_global().maintain_runs, >, g3.maintain_runs);
    CHECK_OK(mcx_check(NULL));
}

static void top_chunks_copy(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    REQUIRE(mcx_alloc(ctx, 32 * TH_MiB) != NULL); /* a dedicated one next to the first */
    size_t count = 0;
    CHECK_OK(mcx_top_chunks(NULL, 0, &count));
    CHECK_U64(count, >=, 2);
    mcx_top_info one[1];
    size_t c1 = 0;
    memset(one, 0, sizeof one);
    CHECK_OK(mcx_top_chunks(one, 1, &c1));
    CHECK_U64(c1, ==, count);
    CHECK_U64(one[0].size, >, 0);
    CHECK_STATUS(mcx_top_chunks(one, 1, NULL), MCX_EINVAL);
    CHECK_STATUS(mcx_top_chunks(NULL, 4, &c1), MCX_EINVAL);
    mcx_top_info all[64];
    CHECK_OK(mcx_top_chunks(all, 64, &c1));
    int found_dedicated = 0;
    for (size_t i = 0; i < c1 && i < 64; i++)
        if (all[i].dedicated && all[i].size >= 32 * TH_MiB && all[i].used >= 32 * TH_MiB)
            found_dedicated = 1;
    CHECK(found_dedicated);
    check_global_consistency();
    CHECK_OK(mcx_delete(ctx));
}

static void resident_bytes_follow_touches(void) {
    mcx_config c;
    mcx_config_default(&c);
    c.retain_bytes = 0;
    CHECK_OK(mcx_configure(&c));
    mcx_trim();
    mcx_context_options o = th_opts("resident", 8 * TH_KiB, 1 * TH_MiB, 0);
    mcx_context *ctx = mcx_context_create(NULL, &o);
    REQUIRE(ctx != NULL);
    uint64_t r0 = mcx_resident_bytes();
    CHECK_U64(r0, <=, th_global().mapped_bytes);
    /* Take 16 MiB of process chunks without touching them (a span reserve per chunk). */
    size_t touched = 0, taken = 0;
    for (int i = 0; i < 32 && taken < 16 * TH_MiB; i++) {
        mcx_span s;
        REQUIRE(mcx_span_reserve(ctx, 512 * TH_KiB, &s) == MCX_OK);
        taken += s.chunk_bytes - s.offset;
        /* touch every page of even chunks only */
        if (i % 2 == 0) {
            unsigned char *b = (unsigned char *)s.chunk_data + s.offset;
            for (size_t k = 0; k < s.chunk_bytes - s.offset; k += 4096) b[k] = 1;
            touched += s.chunk_bytes - s.offset;
        }
        CHECK_OK(mcx_span_commit(ctx, s.chunk_bytes, 0));
    }
    uint64_t r1 = mcx_resident_bytes();
    struct mcx_global_stats g = th_global();
    CHECK_U64(r1, >=, r0 + touched - 64 * TH_KiB);
    CHECK_U64(r1, <=, g.mapped_bytes);
    /* The untouched half is not resident (mincore, not an estimate). */
    CHECK_U64(r1, <, r0 + touched + (taken - touched) / 2);
    CHECK_OK(mcx_delete(ctx));
    mcx_trim();
    uint64_t r2 = mcx_resident_bytes();
    CHECK_U64(r2, <=, th_global().mapped_bytes);
    CHECK_U64(r2, <, r1 - touched / 2);
    mcx_config_default(&c);
    CHECK_OK(mcx_configure(&c));
}

static void check_after_operations(void) {
    CHECK_OK(mcx_check(NULL));
    mcx_context *root = mcx_context_create(NULL, NULL);
    REQUIRE(root != NULL);
    CHECK_OK(mcx_check(root));
    mcx_context *k = mcx_context_create(root, NULL);
    REQUIRE(k != NULL);
    void *a = mcx_alloc(k, 10);
    CHECK_OK(mcx_check(root));
    void *b = mcx_alloc_aligned(k, 100, 256);
    CHECK_OK(mcx_check(root));
    REQUIRE(a && b);
    a = mcx_realloc(a, 5000);
    REQUIRE(a != NULL);
    CHECK_OK(mcx_check(root));
    CHECK_OK(mcx_free(b));
    CHECK_OK(mcx_check(root));
    CHECK_OK(mcx_check(k));
    CHECK_OK(mcx_reset(k));
    CHECK_OK(mcx_check(root));
    mcx_trim();
    CHECK_OK(mcx_check(root));
    mcx_maintain(mcx_now_ms() + 100000);
    CHECK_OK(mcx_check(root));
    CHECK_OK(mcx_delete(root));
    CHECK_OK(mcx_check(NULL));
}

TH_MAIN(TH_TEST(context_stats_track_allocations), TH_TEST(global_stats_follow_operations),
        TH_TEST(top_chunks_copy), TH_TEST(resident_bytes_follow_touches),
        TH_TEST(check_after_operations))
