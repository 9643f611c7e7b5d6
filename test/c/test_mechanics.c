/* test_mechanics.c - shows the seed's mechanics by their statistics: the process-chunk chain
 * doubling up to max_chunk_size and linked by forwarding headers; top chunks doubling (and the
 * ceiling); munmap of a wholly free top chunk (mcx_trim, or decay via mcx_maintain with a clock
 * moved past decay_ms); madvise(MADV_DONTNEED) of large free runs in a top chunk pinned by a small
 * long-lived context; the next top chunk sized from current demand after a spike; large
 * allocations in chunks of their own, released as soon as they are freed.
 */
#include "harness.h"

static void configure_or_fail(size_t top, size_t max_top, size_t retain, uint64_t decay_ms) {
    mcx_config c;
    mcx_config_default(&c);
    c.top_chunk_size = top;
    c.max_top_chunk_size = max_top;
    c.retain_bytes = retain;
    c.decay_ms = decay_ms;
    CHECK_OK(mcx_configure(&c));
}

enum { MAX_TOPS = 256 };
static mcx_top_info tops[MAX_TOPS];
static size_t read_tops(void) {
    size_t count = 0;
    if (mcx_top_chunks(tops, MAX_TOPS, &count) != MCX_OK) return 0;
    return count < MAX_TOPS ? count : MAX_TOPS;
}
static uint64_t largest_buddy_top(void) {
    size_t n = read_tops();
    uint64_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!tops[i].dedicated && tops[i].size > m) m = tops[i].size;
    return m;
}

/* Touch every page of [p, p + n). */
static void touch(void *p, size_t n) {
    unsigned char *b = (unsigned char *)p;
    for (size_t i = 0; i < n; i += 4096) b[i] = (unsigned char)(i >> 12);
    if (n) b[n - 1] = 1;
}

static void chain_doubles_and_is_linked(void) {
    size_t max = 128 * TH_KiB;
    mcx_context_options o = th_opts("chain", 8 * TH_KiB, max, 0);
    mcx_context *ctx = mcx_context_create(NULL, &o);
    REQUIRE(ctx != NULL);
    enum { N = 20000 };
    static void *p[N];
    size_t n = 0;
    while (n < N && th_ctx_stats(ctx).chunk_count < 9) {
        p[n] = mcx_alloc(ctx, 64);
        REQUIRE(p[n] != NULL);
        th_fill(p[n], 64, n);
        n++;
    }
    mcx_chunk_info ch[16];
    size_t count = 0;
    CHECK_OK(mcx_context_chunks(ctx, ch, 16, &count));
    CHECK_U64(count, ==, 9);
    printf("  chain:");
    for (size_t i = 0; i < count; i++) printf(" %" PRIu64 "K", ch[i].size / 1024);
    printf("\n");
    /* 8, 16, 32, 64, 128, 128, 128, 128, 128 KiB */
    CHECK_U64(ch[0].size, ==, 8 * TH_KiB);
    for (size_t i = 1; i < count; i++) {
        uint64_t want = ch[i - 1].size * 2 > max ? max : ch[i - 1].size * 2;
        CHECK_U64(ch[i].size, ==, want);
    }
    /* Each chunk was filled before the next was taken: the chain is walked in order and every
     * chunk but the current one is full to within one object. */
    for (size_t i = 0; i + 1 < count; i++) CHECK_U64(ch[i].used + 64 + 16, >, ch[i].size);
    /* Every object still resolves to ctx, whichever chunk holds it, and kept its bytes. */
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += mcx_context_of(p[i]) != ctx || th_verify(p[i], 64, i) != 64;
    CHECK_U64(bad, ==, 0);
    struct mcx_context_stats s = th_ctx_stats(ctx);
    uint64_t sum = 0;
    for (size_t i = 0; i < count; i++) sum += ch[i].size;
    CHECK_U64(s.total_bytes, ==, sum);
    CHECK_OK(mcx_check(ctx));
    /* The chain lives and dies with the context: reset keeps only the first chunk. */
    uint64_t chunk_bytes = th_global().chunk_bytes;
    CHECK_OK(mcx_reset(ctx));
    CHECK_U64(th_global().chunk_bytes, ==, chunk_bytes - (sum - ch[0].size));
    CHECK_OK(mcx_delete(ctx));
}

static void top_chunks_double(void) {
    configure_or_fail(256 * TH_KiB, 64 * TH_MiB, 0, 1000);
    mcx_trim();
    CHECK_U64(read_tops(), ==, 0);
    size_t proc = 64 * TH_KiB;
    mcx_context_options o = th_opts("filler", proc, proc, 0);
    enum { MAXC = 400 };
    static mcx_context *c[MAXC];
    size_t n = 0;
    size_t buddy_tops = 0;
    while (n < MAXC) {
        c[n] = mcx_context_create(NULL, &o);
        REQUIRE(c[n] != NULL);
        n++;
        size_t k = read_tops();
        buddy_tops = 0;
        for (size_t i = 0; i < k; i++) buddy_tops += !tops[i].dedicated;
        if (buddy_tops >= 6) break;
    }
    size_t k = read_tops();
    printf("  %zu contexts of 64 KiB, top chunks:", n);
    uint64_t sizes[MAX_TOPS];
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (tops[i].dedicated) continue;
        printf(" %" PRIu64 "K", tops[i].size / 1024);
        sizes[m++] = tops[i].size;
    }
    printf("\n");
    CHECK_U64(m, ==, 6);
    /* In vector (creation) order, each top chunk is twice the one before. */
    for (size_t i = 1; i < m; i++) CHECK_U64(sizes[i], ==, 2 * sizes[i - 1]);
    /* Sizes are 256 KiB, 512 KiB, ... each twice the one before (checked again sorted). */
    for (size_t i = 0; i < m; i++)
        for (size_t j = i + 1; j < m; j++)
            if (sizes[j] < sizes[i]) {
                uint64_t t = sizes[i];
                sizes[i] = sizes[j];
                sizes[j] = t;
            }
    CHECK_U64(sizes[0], ==, 256 * TH_KiB);
    for (size_t i = 1; i < m; i++) CHECK_U64(sizes[i], ==, 2 * sizes[i - 1]);
    /* A new top chunk was only made when the others could not hold a process chunk. */
    uint64_t largest = sizes[m - 1];
    for (size_t i = 0; i < k; i++)
        if (!tops[i].dedicated && tops[i].size != largest)
            CHECK_U64(tops[i].size - tops[i].used, <, proc);
    CHECK_OK(mcx_check(NULL));
    for (size_t i = 0; i < n; i++) CHECK_OK(mcx_delete(c[i]));
    mcx_trim();
    CHECK_U64(read_tops(), ==, 0);

    /* The ceiling: with max_top_chunk_size 512 KiB, no top chunk grows past it. */
    configure_or_fail(256 * TH_KiB, 512 * TH_KiB, 0, 1000);
    for (n = 0; n < 40; n++) {
        c[n] = mcx_context_create(NULL, &o);
        REQUIRE(c[n] != NULL);
    }
    k = read_tops();
    CHECK_U64(k, >=, 5);
    size_t at_ceiling = 0;
    for (size_t i = 0; i < k; i++) {
        CHECK_U64(tops[i].size, <=, 512 * TH_KiB);
        at_ceiling += tops[i].size == 512 * TH_KiB;
    }
    CHECK_U64(at_ceiling, >=, 4);
    for (size_t i = 0; i < n; i++) CHECK_OK(mcx_delete(c[i]));
    mcx_trim();
    CHECK_OK(mcx_check(NULL));
}

/* A context that needs a second top chunk: 6 MiB of objects in 1 MiB process chunks. */
static mcx_context *make_spill(size_t bytes) {
    mcx_context_options o = th_opts("spill", 64 * TH_KiB, 1 * TH_MiB, 0);
    mcx_context *ctx = mcx_context_create(NULL, &o);
    if (!ctx) return NULL;
    for (size_t done = 0; done < bytes; done += 2000) {
        void *p = mcx_alloc(ctx, 2000);
        if (!p) return NULL;
        touch(p, 2000);
    }
    return ctx;
}

static void munmap_empty_top_chunk_on_trim(void) {
    configure_or_fail(4 * TH_MiB, 1024 * TH_MiB, 8 * TH_MiB, 1000);
    mcx_trim();
    mcx_context_options po = th_opts("pin", 4 * TH_KiB, 0, 0);
    mcx_context *pin = mcx_context_create(NULL, &po);
    REQUIRE(pin != NULL);
    REQUIRE(mcx_alloc(pin, 100) != NULL);
    struct mcx_global_stats g0 = th_global();
    mcx_context *spill = make_spill(6 * TH_MiB);
    REQUIRE(spill != NULL);
    struct mcx_global_stats g1 = th_global();
    CHECK_U64(g1.top_chunk_count, >, g0.top_chunk_count);
    CHECK_U64(g1.mapped_bytes, >, g0.mapped_bytes);
    CHECK_OK(mcx_delete(spill));
    uint64_t released = mcx_trim();
    struct mcx_global_stats g2 = th_global();
    CHECK_U64(released, >=, g1.mapped_bytes - g0.mapped_bytes);
    CHECK_U64(g2.munmap_calls, >, g1.munmap_calls);
    CHECK_U64(g2.mapped_bytes, <=, g0.mapped_bytes);
    CHECK_U64(g2.top_chunk_count, ==, g0.top_chunk_count);
    CHECK_U64(g2.retained_bytes, ==, 0);
    CHECK_U64(g2.released_bytes, >=, g1.released_bytes + released);
    CHECK_OK(mcx_check(pin));
    /* Nothing left to release: a second trim releases 0 bytes... */
    uint64_t again = mcx_trim();
    CHECK_U64(again, ==, 0);
    CHECK_U64(th_global().munmap_calls, ==, g2.munmap_calls);
    CHECK_OK(mcx_delete(pin));
    mcx_trim();
    CHECK_U64(th_global().mapped_bytes, ==, 0);
    CHECK_U64(th_global().top_chunk_count, ==, 0);
}

static void munmap_empty_top_chunk_after_decay(void) {
    uint64_t decay = 5000;
    /* retain_bytes 0: every wholly free top chunk is beyond the budget. */
    configure_or_fail(4 * TH_MiB, 1024 * TH_MiB, 0, decay);
    mcx_trim();
    mcx_context_options po = th_opts("pin", 4 * TH_KiB, 0, 0);
    mcx_context *pin = mcx_context_create(NULL, &po);
    REQUIRE(pin != NULL);
    REQUIRE(mcx_alloc(pin, 100) != NULL);
    struct mcx_global_stats g0 = th_global();
    mcx_context *spill = make_spill(6 * TH_MiB);
    REQUIRE(spill != NULL);
    struct mcx_global_stats g1 = th_global();
    REQUIRE(g1.top_chunk_count > g0.top_chunk_count);
    CHECK_OK(mcx_delete(spill));
    /* Not idle for decay_ms yet: kept mapped (a burst that comes back does not refault). */
    uint64_t r = mcx_maintain(mcx_now_ms());
    struct mcx_global_stats g2 = th_global();
    CHECK_U64(r, ==, 0);
    CHECK_U64(g2.munmap_calls, ==, g1.munmap_calls);
    CHECK_U64(g2.mapped_bytes, ==, g1.mapped_bytes);
    /* Reused without a new mapping when wanted again now. */
    mcx_context *again = make_spill(6 * TH_MiB);
    REQUIRE(again != NULL);
    struct mcx_global_stats g3 = th_global();
    CHECK_U64(g3.mmap_calls, ==, g1.mmap_calls);
    CHECK_OK(mcx_delete(again));
    /* Past the decay: unmapped. */
    r = mcx_maintain(mcx_now_ms() + decay + 1);
    struct mcx_global_stats g4 = th_global();
    CHECK_U64(r, >=, g3.mapped_bytes - g0.mapped_bytes);
    CHECK_U64(g4.munmap_calls, >, g3.munmap_calls);
    CHECK_U64(g4.mapped_bytes, <=, g0.mapped_bytes);
    CHECK_U64(g4.top_chunk_count, ==, g0.top_chunk_count);
    CHECK_U64(g4.retained_bytes, ==, 0);
    CHECK_U64(g4.maintain_runs, >, g3.maintain_runs);
    CHECK_OK(mcx_check(pin));

    /* With a budget: wholly free top chunks up to retain_bytes stay mapped (warm) after the
     * decay, counted in retained_bytes; the ones beyond it go; mcx_trim releases the rest. */
    size_t retain = 8 * TH_MiB;
    configure_or_fail(4 * TH_MiB, 1024 * TH_MiB, retain, decay);
    spill = make_spill(20 * TH_MiB); /* top chunks of 8 and 16 MiB beside the pinned 4 MiB */
    REQUIRE(spill != NULL);
    struct mcx_global_stats g5 = th_global();
    CHECK_U64(g5.top_chunk_count, >=, g0.top_chunk_count + 2);
    CHECK_OK(mcx_delete(spill));
    mcx_maintain(mcx_now_ms() + decay + 1);
    struct mcx_global_stats g6 = th_global();
    printf("  budget %zu MiB: mapped %" PRIu64 " -> %" PRIu64 " MiB, retained %" PRIu64 " MiB\n",
           retain / TH_MiB, g5.mapped_bytes / TH_MiB, g6.mapped_bytes / TH_MiB,
           g6.retained_bytes / TH_MiB);
    CHECK_U64(g6.munmap_calls, >, g5.munmap_calls);
    CHECK_U64(g6.retained_bytes, >, 0);
    CHECK_U64(g6.retained_bytes, <=, retain);
    CHECK_U64(g6.mapped_bytes, ==, g0.mapped_bytes + g6.retained_bytes);
    /* The retained chunk serves the next burst with no new mapping. */
    mcx_context *burst = make_spill(3 * TH_MiB);
    REQUIRE(burst != NULL);
    CHECK_U64(th_global().mmap_calls, ==, g6.mmap_calls);
    CHECK_OK(mcx_delete(burst));
    uint64_t t = mcx_trim();
    struct mcx_global_stats g7 = th_global();
    CHECK_U64(t, >=, g6.retained_bytes);
    CHECK_U64(g7.retained_bytes, ==, 0);
    CHECK_U64(g7.mapped_bytes, ==, g0.mapped_bytes);
    CHECK_OK(mcx_check(pin));
    CHECK_OK(mcx_delete(pin));
    mcx_trim();
}

static void madvise_free_runs_in_pinned_top_chunk(void) {
    uint64_t decay = 5000;
    /* One 64 MiB top chunk holds everything, so it can never be unmapped while pin lives. */
    configure_or_fail(64 * TH_MiB, 1024 * TH_MiB, 0, decay);
    mcx_trim();
    mcx_context_options po = th_opts("pin", 4 * TH_KiB, 0, 0);
    mcx_context *pin = mcx_context_create(NULL, &po);
    REQUIRE(pin != NULL);
    REQUIRE(mcx_alloc(pin, 100) != NULL);
    size_t spike = th_scaled(32 * TH_MiB, 16 * TH_MiB);
    mcx_context *big = make_spill(spike);
    REQUIRE(big != NULL);
    struct mcx_global_stats g1 = th_global();
    CHECK_U64(g1.top_chunk_count, ==, 1);
    uint64_t res1 = mcx_resident_bytes();
    uint64_t rss1 = th_vmrss_bytes();
    CHECK_U64(res1, >=, spike);
    CHECK_OK(mcx_delete(big));
    /* Not idle long enough: nothing is decommitted yet (no thrash for a quick reuse). */
    mcx_maintain(mcx_now_ms());
    struct mcx_global_stats g2 = th_global();
    CHECK_U64(g2.decommitted_bytes, ==, g1.decommitted_bytes);
    CHECK_U64(g2.madvise_calls, ==, g1.madvise_calls);
    /* Past the decay: the free runs go back with madvise; the top chunk stays mapped. */
    uint64_t released = mcx_maintain(mcx_now_ms() + decay + 1);
    struct mcx_global_stats g3 = th_global();
    uint64_t res3 = mcx_resident_bytes();
    uint64_t rss3 = th_vmrss_bytes();
    printf("  madvise calls %" PRIu64 ", decommitted %" PRIu64 " KiB, resident %" PRIu64
           " -> %" PRIu64 " KiB, VmRSS %" PRIu64 " -> %" PRIu64 " KiB\n",
           g3.madvise_calls - g2.madvise_calls, g3.decommitted_bytes / 1024, res1 / 1024,
           res3 / 1024, rss1 / 1024, rss3 / 1024);
    CHECK_U64(g3.madvise_calls, >, g2.madvise_calls);
    CHECK_U64(g3.decommitted_bytes, >=, spike / 2);
    CHECK_U64(released, >=, spike / 2);
    CHECK_U64(g3.top_chunk_count, ==, 1);
    CHECK_U64(g3.mapped_bytes, ==, g1.mapped_bytes);
    CHECK_U64(g3.munmap_calls, ==, g1.munmap_calls);
    CHECK_U64(res3 + spike / 2, <=, res1);
    if (!th_under_valgrind()) CHECK_U64(rss3 + spike / 2, <=, rss1);
    size_t n = read_tops();
    REQUIRE(n == 1);
    CHECK_U64(tops[0].decommitted, ==, g3.decommitted_bytes);
    CHECK_OK(mcx_check(pin));
    /* The decommitted memory is reused (and counted as committed again). */
    mcx_context *again = make_spill(8 * TH_MiB);
    REQUIRE(again != NULL);
    struct mcx_global_stats g4 = th_global();
    CHECK_U64(g4.decommitted_bytes, <, g3.decommitted_bytes);
    CHECK_U64(g4.top_chunk_count, ==, 1);
    CHECK_OK(mcx_check(again));
    CHECK_OK(mcx_delete(again));
    /* mcx_trim decommits at once, ignoring the decay. */
    uint64_t before = th_global().madvise_calls;
    uint64_t t = mcx_trim();
    CHECK_U64(t, >, 0);
    CHECK_U64(th_global().madvise_calls, >, before);
    CHECK_OK(mcx_check(pin));
    CHECK_OK(mcx_delete(pin));
    mcx_trim();
    CHECK_U64(th_global().mapped_bytes, ==, 0);
}

static void next_top_chunk_sized_from_demand(void) {
    configure_or_fail(4 * TH_MiB, 1024 * TH_MiB, 8 * TH_MiB, 1000);
    mcx_trim();
    mcx_context_options po = th_opts("pin", 4 * TH_KiB, 0, 0);
    mcx_context *pin = mcx_context_create(NULL, &po);
    REQUIRE(pin != NULL);
    REQUIRE(mcx_alloc(pin, 100) != NULL);
    size_t spike = th_scaled(200 * TH_MiB, 64 * TH_MiB);
    mcx_context *big = make_spill(spike);
    REQUIRE(big != NULL);
    uint64_t peak_top = largest_buddy_top();
    struct mcx_global_stats g1 = th_global();
    CHECK_U64(peak_top, >=, spike / 4); /* the seed's doubling reached big top chunks */
    CHECK_OK(mcx_delete(big));
    mcx_trim();
    struct mcx_global_stats g2 = th_global();
    CHECK_U64(g2.mapped_bytes, <=, 4 * TH_MiB);
    /* Now the process needs 6 MiB: more than the pinned first top chunk holds, so a new top
     * chunk is made, sized from the 6 MiB, not from the peak. */
    mcx_context *steady = make_spill(6 * TH_MiB);
    REQUIRE(steady != NULL);
    uint64_t now_top = largest_buddy_top();
    struct mcx_global_stats g3 = th_global();
    printf("  spike %zu MiB: largest top chunk %" PRIu64 " MiB, peak mapped %" PRIu64
           " MiB; after, for 6 MiB: largest %" PRIu64 " MiB, mapped %" PRIu64 " MiB\n",
           spike / TH_MiB, peak_top / TH_MiB, g1.peak_mapped_bytes / TH_MiB, now_top / TH_MiB,
           g3.mapped_bytes / TH_MiB);
    CHECK_U64(now_top, <=, 16 * TH_MiB);
    CHECK_U64(g3.mapped_bytes, <=, 6 * TH_MiB + 8 * TH_MiB + 4 * TH_MiB + 8 * TH_MiB);
    CHECK_U64(g3.peak_mapped_bytes, ==, g1.peak_mapped_bytes);
    CHECK_OK(mcx_check(steady));
    CHECK_OK(mcx_delete(steady));
    CHECK_OK(mcx_delete(pin));
    mcx_trim();
}

static void large_allocations_released_when_freed(void) {
    configure_or_fail(4 * TH_MiB, 1024 * TH_MiB, 64 * TH_MiB, 60000); /* generous retention */
    mcx_trim();
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    size_t threshold = mcx_large_threshold(ctx);
    struct mcx_global_stats g0 = th_global();
    struct mcx_context_stats s0 = th_ctx_stats(ctx);
    size_t sizes[] = {threshold + 1, 2 * TH_MiB, 3 * TH_MiB + 5, 24 * TH_MiB};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (int round = 0; round < 20; round++) {
            void *p = mcx_alloc(ctx, sizes[k]);
            REQUIRE(p != NULL);
            touch(p, sizes[k]);
            struct mcx_context_stats s1 = th_ctx_stats(ctx);
            CHECK_U64(s1.large_count, ==, 1);
            CHECK_U64(s1.total_bytes, >=, s0.total_bytes + sizes[k]);
            CHECK_U64(th_global().chunk_bytes + th_global().mapped_bytes, >=,
                      g0.chunk_bytes + g0.mapped_bytes + sizes[k]);
            CHECK_OK(mcx_free(p));
            struct mcx_context_stats s2 = th_ctx_stats(ctx);
            CHECK_U64(s2.large_count, ==, 0);
            CHECK_U64(s2.total_bytes, ==, s0.total_bytes);
        }
        struct mcx_global_stats g = th_global();
        CHECK_U64(g.chunk_bytes, ==, g0.chunk_bytes);
        /* Ones with a mapping of their own are unmapped as soon as they are freed, even with
         * retention configured; others go back to their top chunk. No growth over 20 rounds. */
        CHECK_U64(g.dedicated_count, ==, 0);
        CHECK_U64(g.mapped_bytes, <=, g0.mapped_bytes + 2 * sizes[k] + 4 * TH_MiB);
    }
    /* A 24 MiB one: a dedicated mapping, gone from mapped_bytes right after the free. */
    void *p = mcx_alloc(ctx, 24 * TH_MiB);
    REQUIRE(p != NULL);
    struct mcx_global_stats ga = th_global();
    CHECK_U64(ga.dedicated_count, ==, 1);
    CHECK_OK(mcx_free(p));
    struct mcx_global_stats gb = th_global();
    CHECK_U64(gb.dedicated_count, ==, 0);
    CHECK_U64(gb.mapped_bytes + 24 * TH_MiB, <=, ga.mapped_bytes);
    CHECK_U64(gb.munmap_calls, ==, ga.munmap_calls + 1);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
    mcx_trim();
}

/* A steady request-like cycle (create a context, fill 6 MiB, delete) under the default policy:
 * after the first cycle nothing is mapped or unmapped again (no refault thrash): the emptied
 * top chunk is kept within retain_bytes and reused. */
static void steady_cycle_maps_nothing_new(void) {
    mcx_config c;
    mcx_config_default(&c);
    CHECK_OK(mcx_configure(&c));
    mcx_trim();
    mcx_context_options po = th_opts("app", 8 * TH_KiB, 0, 0);
    mcx_context *app = mcx_context_create(NULL, &po);
    REQUIRE(app != NULL);
    REQUIRE(mcx_alloc(app, 100) != NULL);
    mcx_context *req = make_spill(6 * TH_MiB); /* warm-up cycle */
    REQUIRE(req != NULL);
    CHECK_OK(mcx_delete(req));
    struct mcx_global_stats g0 = th_global();
    size_t cycles = th_scaled(100, 5);
    for (size_t i = 0; i < cycles; i++) {
        req = make_spill(6 * TH_MiB);
        REQUIRE(req != NULL);
        CHECK_OK(mcx_delete(req));
    }
    struct mcx_global_stats g1 = th_global();
    printf("  %zu cycles of 6 MiB: mmap %" PRIu64 " -> %" PRIu64 ", munmap %" PRIu64 " -> %" PRIu64
           ", mapped %" PRIu64 " MiB\n",
           cycles, g0.mmap_calls, g1.mmap_calls, g0.munmap_calls, g1.munmap_calls,
           g1.mapped_bytes / TH_MiB);
    CHECK_U64(g1.mmap_calls, ==, g0.mmap_calls);
    CHECK_U64(g1.munmap_calls, ==, g0.munmap_calls);
    CHECK_U64(g1.mapped_bytes, ==, g0.mapped_bytes);
    CHECK_OK(mcx_check(app));
    CHECK_OK(mcx_delete(app));
    mcx_trim();
}

/* A context whose sibling is created after it gives back the untouched tail of its last chunk:
 * the chunk keeps its bumped bytes rounded up to 4 KiB (a trimmed chunk of pieces), every object
 * in it stays valid, the tail is free memory (a pointer there is refused), the context grows
 * again into a new chunk, and deleting it gives every piece back. The small free runs the trim
 * left are madvised after twice the decay, not after one. */
static void sibling_create_trims_last_chunk(void) {
    uint64_t decay = 5000;
    configure_or_fail(4 * TH_MiB, 1024 * TH_MiB, 0, decay);
    mcx_trim();
    uint64_t base_chunk = th_global().chunk_bytes;
    mcx_context *parent = mcx_context_create(NULL, NULL);
    REQUIRE(parent != NULL);
    mcx_context *a = mcx_context_create(parent, NULL);
    REQUIRE(a != NULL);
    enum { MAXOBJ = 256 };
    void *obj[MAXOBJ];
    size_t n = 0;
    mcx_chunk_info ch[16];
    size_t count = 0;
    /* Fill until the fourth chunk (64 KiB) holds 18 KiB or more: its tail then splits into a kept
     * 16 + 4 KiB and freed 8 + 32 KiB. */
    for (;;) {
        REQUIRE(n < MAXOBJ);
        obj[n] = mcx_alloc(a, 1000);
        REQUIRE(obj[n] != NULL);
        th_fill(obj[n], 1000, n);
        n++;
        CHECK_OK(mcx_context_chunks(a, ch, 16, &count));
        if (count == 4 && ch[3].used >= 18 * TH_KiB) break;
    }
    CHECK_U64(ch[3].size, ==, 64 * TH_KiB);
    uint64_t used = ch[3].used;
    uint64_t keep = (used + 4095) & ~(uint64_t)4095;
    struct mcx_context_stats before = th_ctx_stats(a);
    mcx_context *b = mcx_context_create(parent, NULL);
    REQUIRE(b != NULL);
    CHECK_OK(mcx_context_chunks(a, ch, 16, &count));
    CHECK_U64(count, ==, 4);
    CHECK_U64(ch[3].size, ==, keep);
    CHECK_U64(th_ctx_stats(a).total_bytes, ==, before.total_bytes - (64 * TH_KiB - keep));
    CHECK_OK(mcx_check(NULL));
    /* Every object is intact and valid, those in the kept pieces too. */
    for (size_t i = 0; i < n; i++) {
        CHECK_U64(th_verify(obj[i], 1000, i), ==, 1000);
        CHECK_U64(mcx_alloc_size(obj[i]), ==, 1000);
        CHECK(mcx_context_of(obj[i]) == a);
    }
    /* The tail is free memory now: a pointer into it is refused. */
    char *last = obj[n - 1];
    CHECK_STATUS(mcx_free(last + (keep - used) + 32 * TH_KiB), MCX_EFOREIGN);
    /* The small free runs the trim left (8 and 32 KiB) go back after twice the decay; after one,
     * only the runs of 64 KiB and more do. */
    mcx_maintain(mcx_now_ms() + decay + decay / 2);
    struct mcx_global_stats g1 = th_global();
    mcx_maintain(mcx_now_ms() + 2 * decay + decay / 2);
    CHECK_U64(th_global().decommitted_bytes, >=, g1.decommitted_bytes + 40 * TH_KiB);
    /* It grows again: a new chunk, as when the last one is full. */
    for (size_t i = 0; i < 64; i++) REQUIRE(mcx_alloc(a, 1000) != NULL);
    CHECK_OK(mcx_context_chunks(a, ch, 16, &count));
    CHECK_U64(count, >=, 5);
    for (size_t i = 0; i < n; i += 2) CHECK_OK(mcx_free(obj[i]));
    CHECK_OK(mcx_check(parent));
    CHECK_OK(mcx_delete(parent));
    mcx_trim();
    CHECK_U64(th_global().chunk_bytes, ==, base_chunk);
    CHECK_OK(mcx_check(NULL));
}

/* A growing context takes a smaller free run that was used before (here a 32 KiB chunk of a
 * deleted context) rather than splitting fresh memory for the 64 KiB its doubling asks, and maps
 * nothing new. */
static void growth_takes_used_smaller_runs(void) {
    configure_or_fail(4 * TH_MiB, 1024 * TH_MiB, 0, 60000);
    mcx_trim();
    mcx_context_options o32 = th_opts("a", 32 * TH_KiB, 32 * TH_KiB, 0);
    mcx_context *a = mcx_context_create(NULL, &o32);
    mcx_context *b = mcx_context_create(NULL, &o32);
    REQUIRE(a != NULL && b != NULL);
    /* Chunks of a and b alternate, so a's freed runs cannot merge: 64 of a's 32 KiB chunks, more
     * than the thread's cache keeps (1 MiB), so some go back to their top chunk. */
    for (size_t i = 0; i < 64 * 32; i++) {
        REQUIRE(mcx_alloc(a, 1000) != NULL);
        REQUIRE(mcx_alloc(b, 1000) != NULL);
    }
    CHECK_OK(mcx_delete(a));
    uint64_t mapped = th_global().mapped_bytes;
    mcx_context *c = mcx_context_create(NULL, NULL);
    REQUIRE(c != NULL);
    mcx_chunk_info ch[16];
    size_t count = 0;
    while (count < 5) {
        REQUIRE(mcx_alloc(c, 1000) != NULL);
        CHECK_OK(mcx_context_chunks(c, ch, 16, &count));
    }
    printf("  chain: %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " KiB\n", ch[0].size / 1024,
           ch[1].size / 1024, ch[2].size / 1024, ch[3].size / 1024, ch[4].size / 1024);
    CHECK_U64(ch[3].size, ==, 32 * TH_KiB);
    CHECK_U64(th_global().mapped_bytes, ==, mapped);
    CHECK_OK(mcx_check(NULL));
    CHECK_OK(mcx_delete(c));
    CHECK_OK(mcx_delete(b));
    mcx_trim();
}

TH_MAIN(TH_TEST(chain_doubles_and_is_linked), TH_TEST(steady_cycle_maps_nothing_new),
        TH_TEST(top_chunks_double), TH_TEST(munmap_empty_top_chunk_on_trim),
        TH_TEST(munmap_empty_top_chunk_after_decay), TH_TEST(madvise_free_runs_in_pinned_top_chunk),
        TH_TEST(next_top_chunk_sized_from_demand), TH_TEST(large_allocations_released_when_freed),
        TH_TEST(sibling_create_trims_last_chunk), TH_TEST(growth_takes_used_smaller_runs))
