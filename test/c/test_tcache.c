/* test_tcache.c - the per-thread chunk cache: a deleted context's chunks stay with its thread
 * (reported as not handed out) and serve the next context without a new buddy allocation; they
 * go back to their top chunks when the cache has been idle for decay_ms (mcx_maintain with a
 * clock past it), at once with mcx_trim, and when the thread exits. A clean context taking a
 * chunk a plain context cached reads zeros.
 */
#include "harness.h"

#include <pthread.h>

/* One request: a context, 50 objects of 16-2048 B (about 50 KiB: 8, 16 and 32 KiB chunks). */
static int request(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    if (!ctx) return 0;
    for (int i = 0; i < 50; i++) {
        char *p = mcx_alloc(ctx, (size_t)16 + (size_t)(i * 41) % 2032);
        if (!p) return 0;
        p[0] = 1;
    }
    return mcx_delete(ctx) == MCX_OK;
}

static void cached_then_released_by_decay_and_trim(void) {
    mcx_trim();
    REQUIRE_U64(th_global().top_chunk_count, ==, 0);
    for (int i = 0; i < 100; i++) REQUIRE(request());
    struct mcx_global_stats g = th_global();
    CHECK_U64(g.chunk_bytes, ==, 0);      /* no context holds a chunk */
    CHECK_U64(g.top_chunk_count, ==, 1);  /* but the cache pins the top chunk */
    CHECK_U64(g.retained_bytes, ==, 0);
    CHECK_U64(g.mmap_calls, >, 0);
    uint64_t mmaps = g.mmap_calls;
    for (int i = 0; i < 100; i++) REQUIRE(request());
    CHECK_U64(th_global().mmap_calls, ==, mmaps); /* served from the cache and the same top */
    CHECK_OK(mcx_check(NULL));
    /* Not idle for the decay yet: kept. */
    mcx_maintain(0);
    CHECK_U64(th_global().retained_bytes, ==, 0);
    /* A clock past the decay: drained into the top chunk, which is then wholly free. */
    mcx_config c;
    mcx_config_get(&c);
    mcx_maintain(mcx_now_ms() + c.decay_ms + 1);
    g = th_global();
    CHECK_U64(g.retained_bytes, ==, g.mapped_bytes);
    CHECK_OK(mcx_check(NULL));
    for (int i = 0; i < 10; i++) REQUIRE(request());
    CHECK_U64(mcx_trim(), >, 0);
    CHECK_U64(th_global().top_chunk_count, ==, 0);
    CHECK_OK(mcx_check(NULL));
}

static void *worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 50; i++)
        if (!request()) return (void *)1;
    return NULL;
}

static void thread_exit_drains(void) {
    mcx_trim();
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, worker, NULL) == 0);
    void *rv;
    pthread_join(t, &rv);
    CHECK(rv == NULL);
    struct mcx_global_stats g = th_global();
    CHECK_U64(g.top_chunk_count, ==, 1);
    CHECK_U64(g.retained_bytes, ==, g.mapped_bytes); /* nothing pinned by the dead thread */
    CHECK_OK(mcx_check(NULL));
    mcx_trim();
}

static void clean_context_from_plain_cache(void) {
    mcx_context *plain = mcx_context_create(NULL, NULL);
    REQUIRE(plain != NULL);
    for (int i = 0; i < 40; i++) {
        unsigned char *p = mcx_alloc(plain, 1000);
        REQUIRE(p != NULL);
        memset(p, 0xAB, 1000);
    }
    CHECK_OK(mcx_delete(plain));
    mcx_context_options o = th_opts("clean", 0, 0, 0);
    o.flags = MCX_CONTEXT_CLEAN;
    mcx_context *clean = mcx_context_create(NULL, &o);
    REQUIRE(clean != NULL);
    CHECK((void *)clean == (void *)plain); /* the cached keeper */
    for (int i = 0; i < 40; i++) {
        unsigned char *p = mcx_alloc(clean, 1000);
        REQUIRE(p != NULL);
        size_t nz = 0;
        for (int k = 0; k < 1000; k++) nz += p[k] != 0;
        CHECK_U64(nz, ==, 0);
    }
    CHECK_OK(mcx_delete(clean));
}

TH_MAIN(TH_TEST(cached_then_released_by_decay_and_trim), TH_TEST(thread_exit_drains),
        TH_TEST(clean_context_from_plain_cache))
