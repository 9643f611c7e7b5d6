/* test_fault.c - out-of-memory by fault injection (mcx_fault_inject): for every API that can
 * map (create, small and large alloc, alloc_zero, aligned, realloc, span_reserve, configure), the
 * 1st, 2nd, ... mapping of a scenario is made to fail. The failing call returns NULL/MCX_ENOMEM,
 * mcx_check(root) stays MCX_OK, the retried call succeeds, and after delete + trim the mapped
 * bytes and top chunks are back at the baseline (nothing leaked). Also sticky injection.
 *
 * Strategy: a scenario is a fixed sequence of calls; the outer loop arms injection at mapping n
 * for n = 1, 2, ... and runs the scenario until a run completes with no fault injected.
 */
#include "harness.h"

static mcx_context *g_root;      /* long-lived root the scenarios work under */
static int g_faults_seen;        /* failures reported by calls in this scenario run */
static uint64_t g_injected_seen; /* mcx_faults_injected() at the last failure */

/* A call failed: it must be the injected out-of-memory, and every structure must be valid. */
static void on_failure(int line, int status) {
    g_faults_seen++;
    th_checks++;
    if (status != MCX_ENOMEM) {
        char d[120];
        snprintf(d, sizeof d, "status %d (%s), expected MCX_ENOMEM", status,
                 mcx_status_code(status));
        th_fail(__FILE__, line, "failing call under fault injection", d);
    }
    uint64_t inj = mcx_faults_injected();
    th_checks++;
    if (inj == g_injected_seen)
        th_fail(__FILE__, line, "a call failed with no injected fault", NULL);
    g_injected_seen = inj;
    th_checks++;
    if (mcx_check(g_root) != MCX_OK)
        th_fail(__FILE__, line, "mcx_check(root) after a failure", NULL);
    th_checks++;
    if (mcx_check(NULL) != MCX_OK) th_fail(__FILE__, line, "mcx_check(NULL) after a failure", NULL);
}

/* Run a pointer-returning call; on failure check it and retry once (injection is one-shot, so the
 * retry must succeed). */
#define TRY_PTR(var, expr)                                                        \
    do {                                                                          \
        (var) = (expr);                                                           \
        if (!(var)) {                                                             \
            on_failure(__LINE__, mcx_errno());                                    \
            (var) = (expr);                                                       \
            CHECK((var) != NULL);                                                 \
        }                                                                         \
    } while (0)
#define TRY_INT(expr)                                                             \
    do {                                                                          \
        int try_st_ = (expr);                                                     \
        if (try_st_ != MCX_OK) {                                                  \
            on_failure(__LINE__, try_st_);                                        \
            CHECK_OK(expr);                                                       \
        }                                                                         \
    } while (0)

/* ---- scenarios ------------------------------------------------------------------------------- */
static void scenario_create(void) {
    enum { N = 48 };
    mcx_context *c[N];
    size_t n = 0;
    for (; n < N; n++) {
        mcx_context_options o = th_opts("fc", n % 2 ? 256 * TH_KiB : 16 * TH_KiB, 0, 0);
        TRY_PTR(c[n], mcx_context_create(n % 3 == 0 ? g_root : (n ? c[n - 1] : g_root), &o));
        if (!c[n]) break;
    }
    mcx_context *big;
    mcx_context_options bo = th_opts("fc-big", 2 * TH_MiB, 2 * TH_MiB, 0);
    TRY_PTR(big, mcx_context_create(g_root, &bo));
    CHECK_OK(mcx_check(g_root));
    if (big) CHECK_OK(mcx_delete(big));
    for (size_t i = n; i-- > 0;)
        if (mcx_parent(c[i]) == g_root) CHECK_OK(mcx_delete(c[i]));
}

static void scenario_alloc_small(void) {
    mcx_context *ctx;
    mcx_context_options o = th_opts("fs", 8 * TH_KiB, 1 * TH_MiB, 0);
    TRY_PTR(ctx, mcx_context_create(g_root, &o));
    if (!ctx) return;
    size_t n = th_scaled(6000, 600);
    for (size_t i = 0; i < n; i++) {
        void *p;
        size_t sz = 1000 + (i % 7) * 300;
        switch (i % 3) {
        case 0: TRY_PTR(p, mcx_alloc(ctx, sz)); break;
        case 1: TRY_PTR(p, mcx_alloc_zero(ctx, sz)); break;
        default: TRY_PTR(p, mcx_alloc_aligned(ctx, sz, 256)); break;
        }
        if (!p) break;
        memset(p, 1, sz);
        if (i % 5 == 0) CHECK_OK(mcx_free(p));
    }
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

static void scenario_alloc_large(void) {
    mcx_context *ctx;
    TRY_PTR(ctx, mcx_context_create(g_root, NULL));
    if (!ctx) return;
    size_t threshold = mcx_large_threshold(ctx);
    /* Even indexes use mcx_alloc_aligned, odd ones mcx_alloc_zero (kept small: zeroing costs). */
    size_t sizes[] = {threshold + 1, 900 * TH_KiB, th_scaled(64 * TH_MiB, 4 * TH_MiB), 2 * TH_MiB,
                      5 * TH_MiB + 3, 3 * threshold};
    void *keep[6];
    size_t fill[6];
    for (size_t i = 0; i < 6; i++) {
        fill[i] = sizes[i] < 4096 ? sizes[i] : 4096;
        if (i % 2) TRY_PTR(keep[i], mcx_alloc_zero(ctx, sizes[i]));
        else TRY_PTR(keep[i], mcx_alloc_aligned(ctx, sizes[i], 4096));
        if (!keep[i]) return;
        th_fill(keep[i], fill[i], i);
    }
    /* Many dedicated mappings: the top-chunk vector and page map grow (their mappings can fail
     * too). */
    size_t many = th_scaled(40, 12);
    for (size_t i = 0; i < many; i++) {
        void *p;
        TRY_PTR(p, mcx_alloc(ctx, TH_MiB + 4096 * i));
        if (!p) break;
    }
    for (size_t i = 0; i < 6; i++) CHECK_U64(th_verify(keep[i], fill[i], i), ==, fill[i]);
    CHECK_OK(mcx_free(keep[3]));
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

static void scenario_realloc(void) {
    mcx_context *ctx;
    TRY_PTR(ctx, mcx_context_create(g_root, NULL));
    if (!ctx) return;
    void *p;
    TRY_PTR(p, mcx_alloc(ctx, 16));
    if (!p) return;
    th_fill(p, 16, 99);
    size_t cur = 16;
    size_t top = th_scaled(32 * TH_MiB, 1 * TH_MiB);
    for (size_t sz = 32; sz <= top; sz *= 2) {
        void *q = mcx_realloc(p, sz);
        if (!q) {
            on_failure(__LINE__, mcx_errno());
            /* The old allocation is intact after a failed realloc. */
            CHECK_U64(th_verify(p, cur, 99), ==, cur);
            CHECK(mcx_context_of(p) == ctx);
            q = mcx_realloc(p, sz);
            CHECK(q != NULL);
            if (!q) break;
        }
        CHECK_U64(th_verify(q, cur, 99), ==, cur);
        th_fill(q, sz, 99);
        p = q;
        cur = sz;
    }
    /* Shrinking may move too. */
    void *s;
    TRY_PTR(s, mcx_realloc(p, 100));
    if (s) CHECK_U64(th_verify(s, 100, 99), ==, 100);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

static void scenario_span(void) {
    mcx_context *ctx;
    mcx_context_options o = th_opts("fspan", 8 * TH_KiB, 1 * TH_MiB, 0);
    TRY_PTR(ctx, mcx_context_create(g_root, &o));
    if (!ctx) return;
    size_t total = 0, goal = th_scaled(16 * TH_MiB, 3 * TH_MiB);
    size_t want = 4000;
    while (total < goal) {
        mcx_span s;
        TRY_INT(mcx_span_reserve(ctx, want, &s)); /* a retry fills s too */
        memset((char *)s.chunk_data + s.offset, 3, want);
        CHECK_OK(mcx_span_commit(ctx, s.offset + want, 0));
        total += want;
        want = want < 3 * TH_MiB ? want * 2 : want;
    }
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

static void scenario_configure(void) {
    mcx_config c, before, after;
    mcx_config_get(&before);
    c = before;
    c.background_thread = 1;
    c.decay_ms = 200;
    int st = mcx_configure(&c);
    if (st != MCX_OK) {
        on_failure(__LINE__, st);
        mcx_config_get(&after);
        CHECK(after.background_thread == before.background_thread);
        CHECK(after.decay_ms == before.decay_ms);
        CHECK_OK(mcx_configure(&c));
    }
    /* Work with the thread on, then switch it off. */
    mcx_context *ctx;
    TRY_PTR(ctx, mcx_context_create(g_root, NULL));
    if (ctx) {
        void *p;
        TRY_PTR(p, mcx_alloc(ctx, 3 * TH_MiB));
        CHECK_OK(mcx_delete(ctx));
    }
    c.background_thread = 0;
    c.decay_ms = before.decay_ms;
    TRY_INT(mcx_configure(&c));
}

/* Many small top chunks (the ceiling equals the first size): the top-chunk vector and the page
 * map grow, and their bookkeeping mappings fail too. */
static void scenario_many_tops(void) {
    enum { N = 160 };
    mcx_context *c[N];
    size_t n = 0;
    mcx_context_options o = th_opts("tops", 64 * TH_KiB, 64 * TH_KiB, 0);
    for (; n < N; n++) {
        TRY_PTR(c[n], mcx_context_create(g_root, &o));
        if (!c[n]) break;
    }
    CHECK_U64(th_global().top_chunk_count, >=, N / 3);
    CHECK_OK(mcx_check(g_root));
    for (size_t i = 0; i < n; i++) CHECK_OK(mcx_delete(c[i]));
}

/* ---- the driver ------------------------------------------------------------------------ */
static void run_with_each_mapping_failing(const char *name, void (*scenario)(void)) {
    struct mcx_global_stats base;
    unsigned nth = 1;
    unsigned runs_with_faults = 0;
    for (; nth < 500; nth++) {
        mcx_trim();
        base = th_global();
        uint64_t inj0 = mcx_faults_injected();
        g_injected_seen = inj0;
        g_faults_seen = 0;
        mcx_fault_inject(nth, 0);
        scenario();
        mcx_fault_inject(0, 0);
        uint64_t inj1 = mcx_faults_injected();
        CHECK_OK(mcx_check(g_root));
        CHECK_OK(mcx_check(NULL));
        CHECK(mcx_first_child(g_root) == NULL);
        /* Nothing leaked: after delete + trim the mapping is back at the baseline. */
        mcx_trim();
        struct mcx_global_stats g = th_global();
        CHECK_U64(g.mapped_bytes, ==, base.mapped_bytes);
        CHECK_U64(g.top_chunk_count, ==, base.top_chunk_count);
        CHECK_U64(g.dedicated_count, ==, 0);
        CHECK_U64(g.context_count, ==, base.context_count);
        CHECK_U64(inj1, <=, inj0 + 1); /* one-shot */
        if (inj1 == inj0) break;       /* the scenario made fewer than nth mappings: done */
        CHECK_U64(g.map_failures, >, base.map_failures);
        runs_with_faults++;
    }
    printf("  %s: %u runs with a failed mapping\n", name, runs_with_faults);
    CHECK_U64(runs_with_faults, >=, 1); /* the scenario maps, so some run saw a fault */
    CHECK(nth < 500);
}

static void setup_root(void) {
    if (g_root) return;
    /* Small top chunks: every scenario needs several mappings, so there are many to fail. */
    mcx_config c;
    mcx_config_default(&c);
    c.top_chunk_size = 256 * TH_KiB;
    c.retain_bytes = 0;
    CHECK_OK(mcx_configure(&c));
    mcx_context_options o = th_opts("fault-root", 4 * TH_KiB, 0, 0);
    g_root = mcx_context_create(NULL, &o);
}

static void fault_create(void) {
    setup_root();
    REQUIRE(g_root != NULL);
    run_with_each_mapping_failing("create", scenario_create);
}
static void fault_alloc_small(void) {
    setup_root();
    REQUIRE(g_root != NULL);
    run_with_each_mapping_failing("alloc small", scenario_alloc_small);
}
static void fault_alloc_large(void) {
    setup_root();
    REQUIRE(g_root != NULL);
    run_with_each_mapping_failing("alloc large", scenario_alloc_large);
}
static void fault_realloc(void) {
    setup_root();
    REQUIRE(g_root != NULL);
    run_with_each_mapping_failing("realloc", scenario_realloc);
}
static void fault_span_reserve(void) {
    setup_root();
    REQUIRE(g_root != NULL);
    run_with_each_mapping_failing("span_reserve", scenario_span);
}

static void fault_many_top_chunks(void) {
    setup_root();
    REQUIRE(g_root != NULL);
    mcx_config before, c;
    mcx_config_get(&before);
    c = before;
    c.top_chunk_size = 256 * TH_KiB;
    c.max_top_chunk_size = 256 * TH_KiB;
    CHECK_OK(mcx_configure(&c));
    run_with_each_mapping_failing("many top chunks", scenario_many_tops);
    CHECK_OK(mcx_configure(&before));
}

static void fault_configure(void) {
    setup_root();
    REQUIRE(g_root != NULL);
    /* configure may or may not map; with every mapping failing it either succeeds or fails with
     * MCX_ENOMEM leaving the configuration unchanged. */
    mcx_config before, c, after;
    mcx_config_get(&before);
    c = before;
    c.top_chunk_size = 1 * TH_MiB;
    c.retain_bytes = 1 * TH_MiB;
    mcx_fault_inject(1, 1);
    int st = mcx_configure(&c);
    mcx_fault_inject(0, 0);
    mcx_config_get(&after);
    if (st == MCX_OK) {
        CHECK(after.top_chunk_size == c.top_chunk_size && after.retain_bytes == c.retain_bytes);
    } else {
        CHECK_STATUS(st, MCX_ENOMEM);
        CHECK(after.top_chunk_size == before.top_chunk_size);
        CHECK(after.retain_bytes == before.retain_bytes);
    }
    CHECK_OK(mcx_configure(&before));
    run_with_each_mapping_failing("configure", scenario_configure);
}

static void sticky_injection(void) {
    setup_root();
    REQUIRE(g_root != NULL);
    mcx_context *ctx = mcx_context_create(g_root, NULL);
    REQUIRE(ctx != NULL);
    void *first = mcx_alloc(ctx, 100);
    REQUIRE(first != NULL);
    struct mcx_global_stats g0 = th_global();
    uint64_t inj0 = mcx_faults_injected();
    mcx_fault_inject(1, 1); /* every mapping fails from now on */
    /* Calls that need no mapping still work. */
    void *small = mcx_alloc(ctx, 100);
    CHECK(small != NULL);
    CHECK_OK(mcx_free(first));
    /* Calls that need one fail, again and again, cleanly. */
    for (int i = 0; i < 5; i++) {
        CHECK_FAILS(mcx_alloc(ctx, 64 * TH_MiB), MCX_ENOMEM);
        CHECK_FAILS(mcx_alloc_zero(ctx, 128 * TH_MiB), MCX_ENOMEM);
        CHECK_OK(mcx_check(g_root));
    }
    mcx_span s;
    CHECK_STATUS(mcx_span_reserve(ctx, 256 * TH_MiB, &s), MCX_ENOMEM);
    CHECK_FAILS(mcx_realloc(small, 300 * TH_MiB), MCX_ENOMEM);
    CHECK(mcx_context_of(small) == ctx);
    struct mcx_global_stats g1 = th_global();
    CHECK_U64(mcx_faults_injected(), >=, inj0 + 12);
    CHECK_U64(g1.map_failures, >=, g0.map_failures + 12);
    CHECK_U64(g1.mapped_bytes, ==, g0.mapped_bytes);
    CHECK_OK(mcx_check(g_root));
    mcx_fault_inject(0, 0);
    void *big = mcx_alloc(ctx, 64 * TH_MiB);
    CHECK(big != NULL);
    CHECK_OK(mcx_delete(ctx));
    CHECK_OK(mcx_check(g_root));
    mcx_trim();
    CHECK_U64(th_global().mapped_bytes, ==, g0.mapped_bytes);
}

static void teardown(void) {
    REQUIRE(g_root != NULL);
    CHECK_OK(mcx_delete(g_root));
    g_root = NULL;
    mcx_trim();
    CHECK_U64(th_global().mapped_bytes, ==, 0);
    CHECK_OK(mcx_check(NULL));
}

TH_MAIN(TH_TEST(fault_create), TH_TEST(fault_alloc_small), TH_TEST(fault_alloc_large),
        TH_TEST(fault_realloc), TH_TEST(fault_span_reserve), TH_TEST(fault_many_top_chunks),
        TH_TEST(fault_configure),
        TH_TEST(sticky_injection), TH_TEST(teardown))
