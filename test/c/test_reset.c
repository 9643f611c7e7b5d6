/* test_reset.c - tests mcx_reset (frees everything, deletes children, keeps the first process
 * chunk so a reused context maps nothing new), mcx_delete, reset callbacks (children first, last
 * registered first, exactly once) and the per-context limit (MCX_ELIMIT, context still usable).
 */
#include "harness.h"

static void reset_frees_all_and_keeps_first_chunk(void) {
    mcx_context_options o = th_opts("resettable", 16 * TH_KiB, 256 * TH_KiB, 0);
    mcx_context *ctx = mcx_context_create(NULL, &o);
    REQUIRE(ctx != NULL);
    mcx_chunk_info first[1];
    size_t count = 0;
    CHECK_OK(mcx_context_chunks(ctx, first, 1, &count));
    REQUIRE(count == 1);
    struct mcx_context_stats fresh = th_ctx_stats(ctx);

    for (int cycle = 0; cycle < 5; cycle++) {
        /* Fill several chunks, some large allocations, some children with their own memory. */
        for (int i = 0; i < 3000; i++) REQUIRE(mcx_alloc(ctx, 16 + (size_t)(i % 200)) != NULL);
        for (int i = 0; i < 3; i++) REQUIRE(mcx_alloc(ctx, mcx_large_threshold(ctx) + 100) != NULL);
        mcx_context *kid = mcx_context_create(ctx, NULL);
        REQUIRE(kid != NULL);
        mcx_context *grandkid = mcx_context_create(kid, NULL);
        REQUIRE(grandkid != NULL);
        REQUIRE(mcx_alloc(grandkid, 50000) != NULL);
        struct mcx_context_stats full = th_ctx_stats(ctx);
        CHECK_U64(full.chunk_count, >, 1);
        CHECK_U64(full.large_count, ==, 3);
        CHECK_U64(full.child_count, ==, 1);
        uint64_t contexts = th_global().context_count;

        CHECK_OK(mcx_reset(ctx));
        struct mcx_context_stats s = th_ctx_stats(ctx);
        CHECK_U64(s.chunk_count, ==, 1);
        CHECK_U64(s.large_count, ==, 0);
        CHECK_U64(s.child_count, ==, 0);
        CHECK(mcx_first_child(ctx) == NULL);
        CHECK_U64(th_global().context_count, ==, contexts - 2);
        CHECK_U64(s.total_bytes, ==, fresh.total_bytes);
        CHECK_U64(s.used_bytes, ==, fresh.used_bytes);
        mcx_chunk_info now[2];
        CHECK_OK(mcx_context_chunks(ctx, now, 2, &count));
        CHECK_U64(count, ==, 1);
        CHECK_U64(now[0].size, ==, first[0].size);
        CHECK_OK(mcx_check(ctx));
        CHECK(strcmp(mcx_name(ctx), "resettable") == 0);

        /* Allocations that fit the kept chunk map nothing new. */
        struct mcx_global_stats g0 = th_global();
        for (int i = 0; i < 50; i++) {
            void *p = mcx_alloc(ctx, 100);
            REQUIRE(p != NULL);
            th_fill(p, 100, (uint64_t)i);
        }
        struct mcx_global_stats g1 = th_global();
        CHECK_U64(g1.mmap_calls, ==, g0.mmap_calls);
        CHECK_U64(g1.mapped_bytes, ==, g0.mapped_bytes);
        CHECK_U64(th_ctx_stats(ctx).chunk_count, ==, 1);
        CHECK_U64(th_ctx_stats(ctx).total_bytes, ==, fresh.total_bytes);
        CHECK_OK(mcx_reset(ctx));
    }
    /* Reset of an empty context is fine, twice. */
    CHECK_OK(mcx_reset(ctx));
    CHECK_OK(mcx_reset(ctx));
    CHECK_STATUS(mcx_reset(NULL), MCX_EINVAL);
    CHECK_STATUS(mcx_delete(NULL), MCX_EINVAL);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
    CHECK_OK(mcx_check(NULL));
}

static void delete_returns_memory(void) {
    mcx_context *root = mcx_context_create(NULL, NULL);
    REQUIRE(root != NULL);
    struct mcx_global_stats g0 = th_global();
    mcx_context *c = mcx_context_create(root, NULL);
    REQUIRE(c != NULL);
    for (int i = 0; i < 20000; i++) REQUIRE(mcx_alloc(c, 200) != NULL);
    mcx_context *kid = mcx_context_create(c, NULL);
    REQUIRE(kid != NULL);
    REQUIRE(mcx_alloc(kid, 3 * TH_MiB) != NULL);
    struct mcx_global_stats g1 = th_global();
    CHECK_U64(g1.chunk_bytes, >, g0.chunk_bytes);
    CHECK_U64(g1.context_count, ==, g0.context_count + 2);
    CHECK_OK(mcx_delete(c));
    struct mcx_global_stats g2 = th_global();
    CHECK_U64(g2.context_count, ==, g0.context_count);
    CHECK_U64(g2.chunk_bytes, ==, g0.chunk_bytes); /* every process chunk went back */
    CHECK_U64(th_ctx_stats(root).child_count, ==, 0);
    CHECK(mcx_first_child(root) == NULL);
    CHECK_OK(mcx_check(root));
    /* trim gives back what the deleted context used. */
    mcx_trim();
    struct mcx_global_stats g3 = th_global();
    CHECK_U64(g3.mapped_bytes, <=, g0.mapped_bytes);
    CHECK_OK(mcx_delete(root));
    CHECK_OK(mcx_check(NULL));
}

/* ---- reset callbacks ---------------------------------------------------------------------- */
enum { LOG_MAX = 64 };
static int cb_log[LOG_MAX];
static int cb_n;
static void cb_record(void *arg) {
    if (cb_n < LOG_MAX) cb_log[cb_n] = (int)(intptr_t)arg;
    cb_n++;
}

static void reset_callbacks_order_and_once(void) {
    mcx_context *root = mcx_context_create(NULL, NULL);
    REQUIRE(root != NULL);
    mcx_context *kid = mcx_context_create(root, NULL);
    mcx_context *grandkid = mcx_context_create(kid, NULL);
    REQUIRE(kid && grandkid);
    /* root: 1, 2, 3; kid: 10, 11; grandkid: 20. Expected order: 20, 11, 10, 3, 2, 1. */
    CHECK_OK(mcx_register_reset_callback(root, cb_record, (void *)(intptr_t)1));
    CHECK_OK(mcx_register_reset_callback(kid, cb_record, (void *)(intptr_t)10));
    CHECK_OK(mcx_register_reset_callback(root, cb_record, (void *)(intptr_t)2));
    CHECK_OK(mcx_register_reset_callback(grandkid, cb_record, (void *)(intptr_t)20));
    CHECK_OK(mcx_register_reset_callback(kid, cb_record, (void *)(intptr_t)11));
    CHECK_OK(mcx_register_reset_callback(root, cb_record, (void *)(intptr_t)3));
    CHECK_U64(cb_n, ==, 0); /* registering runs nothing */
    CHECK_STATUS(mcx_register_reset_callback(NULL, cb_record, NULL), MCX_EINVAL);
    CHECK_STATUS(mcx_register_reset_callback(root, NULL, NULL), MCX_EINVAL);

    CHECK_OK(mcx_reset(root));
    int expect[] = {20, 11, 10, 3, 2, 1};
    CHECK_U64(cb_n, ==, 6);
    for (int i = 0; i < 6 && i < cb_n; i++) CHECK_U64(cb_log[i], ==, expect[i]);
    /* Exactly once: a second reset runs none. */
    cb_n = 0;
    CHECK_OK(mcx_reset(root));
    CHECK_U64(cb_n, ==, 0);

    /* Callbacks registered after a reset run at the next one; delete runs them too. */
    kid = mcx_context_create(root, NULL);
    REQUIRE(kid != NULL);
    mcx_context *kid2 = mcx_context_create(root, NULL);
    REQUIRE(kid2 != NULL);
    CHECK_OK(mcx_register_reset_callback(root, cb_record, (void *)(intptr_t)5));
    CHECK_OK(mcx_register_reset_callback(kid, cb_record, (void *)(intptr_t)6));
    CHECK_OK(mcx_register_reset_callback(kid2, cb_record, (void *)(intptr_t)7));
    /* The same function and argument twice is two callbacks. */
    CHECK_OK(mcx_register_reset_callback(kid2, cb_record, (void *)(intptr_t)7));
    CHECK_OK(mcx_delete(kid)); /* only kid's */
    CHECK_U64(cb_n, ==, 1);
    CHECK_U64(cb_log[0], ==, 6);
    cb_n = 0;
    CHECK_OK(mcx_delete(root));
    CHECK_U64(cb_n, ==, 3);
    CHECK_U64(cb_log[0], ==, 7);
    CHECK_U64(cb_log[1], ==, 7);
    CHECK_U64(cb_log[2], ==, 5);
    cb_n = 0;

    /* Many callbacks on one context: all run, in reverse order. */
    mcx_context *many = mcx_context_create(NULL, NULL);
    REQUIRE(many != NULL);
    for (int i = 0; i < 40; i++)
        CHECK_OK(mcx_register_reset_callback(many, cb_record, (void *)(intptr_t)(100 + i)));
    CHECK_OK(mcx_reset(many));
    CHECK_U64(cb_n, ==, 40);
    for (int i = 0; i < 40 && i < cb_n; i++) CHECK_U64(cb_log[i], ==, 139 - i);
    cb_n = 0;
    CHECK_OK(mcx_check(many));
    CHECK_OK(mcx_delete(many));
    CHECK_U64(cb_n, ==, 0);
    CHECK_OK(mcx_check(NULL));
}

/* A callback that records whether the memory it was given is still readable at that time
 * (callbacks run before the memory goes). */
static int cb_saw_intact;
static void cb_check_data(void *arg) { cb_saw_intact = th_verify(arg, 64, 4242) == 64; }

/* Very many callbacks on one context: all run once, last registered first (no recursion). */
static long seq_expected;
static long seq_errors;
static void cb_sequence(void *arg) {
    if ((long)(intptr_t)arg != seq_expected) seq_errors++;
    seq_expected--;
}

static void many_reset_callbacks(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    long n = (long)th_scaled(100000, 5000);
    for (long i = 0; i < n; i++)
        REQUIRE(mcx_register_reset_callback(ctx, cb_sequence, (void *)(intptr_t)i) == MCX_OK);
    seq_expected = n - 1;
    seq_errors = 0;
    CHECK_OK(mcx_reset(ctx));
    CHECK_U64(seq_errors, ==, 0);
    CHECK_U64(seq_expected, ==, (uint64_t)-1);
    seq_expected = -1;
    CHECK_OK(mcx_reset(ctx)); /* nothing runs twice */
    CHECK_U64(seq_errors, ==, 0);
    CHECK_U64(th_ctx_stats(ctx).chunk_count, ==, 1);
    CHECK_OK(mcx_delete(ctx));
}

static void reset_callback_runs_before_memory_goes(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    mcx_context *kid = mcx_context_create(ctx, NULL);
    REQUIRE(kid != NULL);
    void *p = mcx_alloc(kid, 64);
    REQUIRE(p != NULL);
    th_fill(p, 64, 4242);
    CHECK_OK(mcx_register_reset_callback(kid, cb_check_data, p));
    cb_saw_intact = 0;
    CHECK_OK(mcx_reset(ctx));
    CHECK(cb_saw_intact == 1);
    CHECK_OK(mcx_delete(ctx));
}

/* ---- limit --------------------------------------------------------------------------------- */
static void limit_fails_cleanly(void) {
    size_t limit = 256 * TH_KiB;
    mcx_context_options o = th_opts("limited", 8 * TH_KiB, 64 * TH_KiB, limit);
    mcx_context *ctx = mcx_context_create(NULL, &o);
    REQUIRE(ctx != NULL);
    CHECK_U64(th_ctx_stats(ctx).limit_bytes, ==, limit);

    /* A single request over the limit fails at once, small path or large path. */
    CHECK_FAILS(mcx_alloc(ctx, limit + 1), MCX_ELIMIT);
    CHECK_FAILS(mcx_alloc_zero(ctx, 2 * limit), MCX_ELIMIT);
    CHECK_FAILS(mcx_alloc_aligned(ctx, 2 * limit, 4096), MCX_ELIMIT);
    CHECK_OK(mcx_check(ctx));

    /* Fill up with small allocations until the limit stops us. */
    enum { MAXN = 4096 };
    static void *p[MAXN];
    size_t n = 0;
    void *q = NULL;
    while (n < MAXN && (q = mcx_alloc(ctx, 500)) != NULL) {
        th_fill(q, 500, n);
        p[n++] = q;
    }
    REQUIRE(q == NULL);
    CHECK_STATUS(mcx_errno(), MCX_ELIMIT);
    struct mcx_context_stats s = th_ctx_stats(ctx);
    CHECK_U64(s.total_bytes, <=, limit);
    CHECK_U64(s.total_bytes, >=, limit / 2); /* the limit, not something else, stopped it */
    CHECK_U64((uint64_t)n * 500, >=, limit / 4);
    CHECK_OK(mcx_check(ctx));
    /* A large allocation is refused too, and realloc growing past the limit. */
    CHECK_FAILS(mcx_alloc(ctx, mcx_large_threshold(ctx) + 1), MCX_ELIMIT);
    CHECK_FAILS(mcx_realloc(p[0], limit), MCX_ELIMIT);
    CHECK_U64(th_verify(p[0], 500, 0), ==, 500);

    /* The context stays usable: freed memory is reused under the limit. */
    for (size_t i = 0; i < n; i += 2) CHECK_OK(mcx_free(p[i]));
    for (size_t i = 0; i < n; i += 2) {
        p[i] = mcx_alloc(ctx, 500);
        REQUIRE(p[i] != NULL);
        th_fill(p[i], 500, i);
    }
    for (size_t i = 0; i < n; i++) CHECK_U64(th_verify(p[i], 500, i), ==, 500);
    CHECK_U64(th_ctx_stats(ctx).total_bytes, <=, limit);
    CHECK_OK(mcx_check(ctx));
    /* After a reset the whole budget is there again. */
    CHECK_OK(mcx_reset(ctx));
    size_t n2 = 0;
    while (n2 < MAXN && mcx_alloc(ctx, 500) != NULL) n2++;
    CHECK_STATUS(mcx_errno(), MCX_ELIMIT);
    CHECK_U64(n2 + 8, >=, n); /* about as many as the first time */
    CHECK_OK(mcx_check(ctx));
    /* The limit counts the context's own chunks: a child has its own budget. */
    mcx_context *kid = mcx_context_create(ctx, NULL);
    CHECK(kid != NULL);
    if (kid) CHECK(mcx_alloc(kid, 100) != NULL);
    CHECK_OK(mcx_delete(ctx));
    CHECK_OK(mcx_check(NULL));
}

TH_MAIN(TH_TEST(reset_frees_all_and_keeps_first_chunk), TH_TEST(delete_returns_memory),
        TH_TEST(reset_callbacks_order_and_once), TH_TEST(reset_callback_runs_before_memory_goes),
        TH_TEST(many_reset_callbacks), TH_TEST(limit_fails_cleanly))
