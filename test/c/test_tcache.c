/* test_tcache.c - the per-thread chunk cache: a deleted context's chunks stay with its thread
 * (reported as not handed out) and serve the next context without a new buddy allocation; they
 * go back to their top chunks when the cache has been idle for decay_ms (mcx_maintain with a
 * clock past it), at once with mcx_trim, and when the thread exits. A clean context taking a
 * chunk a plain context cached reads zeros.
 */
#include "harness.h"

/* Run the decay with a clock past it: every cached context goes back, and the top chunks that
 * held them are wholly free. */
static void drain_by_decay(void) {
    mcx_config c;
    mcx_config_get(&c);
    mcx_maintain(mcx_now_ms() + c.decay_ms + 1);
    struct mcx_global_stats g = th_global();
    CHECK_U64(g.retained_bytes, ==, g.mapped_bytes);
    CHECK_OK(mcx_check(NULL));
}

#include <pthread.h>
#include <stdatomic.h>

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
    drain_by_decay();
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
        CHECK_U64(th_nonzero_bytes(p, 1000), ==, 0);
    }
    CHECK_OK(mcx_delete(clean));
}

static void count_run(void *arg) { ++*(int *)arg; }

/* A deleted context comes back to the next create on its thread with the same keeper size: the
 * same address, empty, with the name asked for, and every pointer from before refused. Cached, it
 * is not live: context_count drops at the delete, contexts_created counts the revival, no chunk
 * is handed out and nothing is mapped for it. */
static void deleted_context_revived(void) {
    mcx_trim();
    struct mcx_global_stats g0 = th_global();
    mcx_context_options o = th_opts("first", 0, 0, 0);
    mcx_context *a = mcx_context_create(NULL, &o);
    REQUIRE(a != NULL);
    char *small = mcx_alloc(a, 100);
    REQUIRE(small != NULL);
    for (int i = 0; i < 20; i++) REQUIRE(mcx_alloc(a, 2000) != NULL); /* a chain beyond the keeper */
    memset(small, 0x5A, 100);
    int runs = 0;
    CHECK_OK(mcx_register_reset_callback(a, count_run, &runs));
    CHECK_OK(mcx_delete(a));
    CHECK_U64(runs, ==, 1);
    struct mcx_global_stats g1 = th_global();
    CHECK_U64(g1.context_count, ==, g0.context_count);
    CHECK_U64(g1.contexts_created, ==, g0.contexts_created + 1);
    CHECK_U64(g1.chunk_bytes, ==, 0);
    CHECK(mcx_name(a) == NULL); /* deleted */
    o.name = "second";
    mcx_context *b = mcx_context_create(NULL, &o);
    REQUIRE(b != NULL);
    CHECK((void *)b == (void *)a);
    CHECK(strcmp(mcx_name(b), "second") == 0);
    struct mcx_context_stats cs = th_ctx_stats(b);
    CHECK_U64(cs.total_bytes, ==, 8 * TH_KiB);
    CHECK_U64(cs.chunk_count, ==, 1);
    CHECK_U64(cs.large_count, ==, 0);
    CHECK_U64(cs.child_count, ==, 0);
    CHECK_STATUS(mcx_free(small), MCX_EFOREIGN);
    CHECK_U64(mcx_alloc_size(small), ==, 0);
    CHECK(mcx_context_of(small) == NULL);
    struct mcx_global_stats g2 = th_global();
    CHECK_U64(g2.context_count, ==, g0.context_count + 1);
    CHECK_U64(g2.contexts_created, ==, g0.contexts_created + 2);
    CHECK_U64(g2.mmap_calls, ==, g1.mmap_calls);
    char *p = mcx_alloc(b, 100);
    REQUIRE(p != NULL);
    CHECK(mcx_context_of(p) == b);
    CHECK_OK(mcx_check(b));
    /* Other options, the same keeper size: the keeper serves, the context is made anew. */
    CHECK_OK(mcx_delete(b));
    CHECK_U64(runs, ==, 1); /* the callback went with the first life */
    mcx_context_options o2 = th_opts("third", 0, 64 * TH_KiB, 0);
    mcx_context *c = mcx_context_create(NULL, &o2);
    REQUIRE(c != NULL);
    CHECK((void *)c == (void *)a);
    CHECK_U64(mcx_large_threshold(c), ==, 8 * TH_KiB);
    CHECK_OK(mcx_check(c));
    CHECK_OK(mcx_delete(c));
    mcx_trim();
}

/* Cached contexts are idle memory: a pass past the decay drains them with the chunks, mcx_trim at
 * once, so the top chunk becomes wholly free and goes. */
static void cached_contexts_drained(void) {
    mcx_trim();
    REQUIRE_U64(th_global().top_chunk_count, ==, 0);
    mcx_context *ctx[8];
    for (int i = 0; i < 8; i++) {
        ctx[i] = mcx_context_create(NULL, NULL);
        REQUIRE(ctx[i] != NULL);
        REQUIRE(mcx_alloc(ctx[i], 200) != NULL);
    }
    for (int i = 0; i < 8; i++) CHECK_OK(mcx_delete(ctx[i]));
    struct mcx_global_stats g = th_global();
    CHECK_U64(g.chunk_bytes, ==, 0);
    CHECK_U64(g.retained_bytes, ==, 0); /* pinned by the cached contexts */
    drain_by_decay();
    /* Nothing cached any more: a new context takes a fresh chunk. */
    mcx_context *again = mcx_context_create(NULL, NULL);
    REQUIRE(again != NULL);
    CHECK_U64(th_global().chunk_bytes, ==, 8 * TH_KiB);
    CHECK_OK(mcx_delete(again));
    CHECK_U64(mcx_trim(), >, 0);
    CHECK_U64(th_global().top_chunk_count, ==, 0);
}

/* More deleted contexts than a thread keeps (64): the rest go back to their top chunks, a clean
 * one's bytes zeroed, so clean contexts made next read zeros wherever their memory came from. */
static void more_deleted_than_kept(void) {
    mcx_trim();
    enum { N = 80 };
    mcx_context *ctx[N];
    mcx_context_options o = th_opts("clean", 0, 0, 0);
    o.flags = MCX_CONTEXT_CLEAN;
    for (int i = 0; i < N; i++) {
        ctx[i] = mcx_context_create(NULL, &o);
        REQUIRE(ctx[i] != NULL);
        unsigned char *p = mcx_alloc(ctx[i], 6000);
        REQUIRE(p != NULL);
        memset(p, 0xC3, 6000);
    }
    for (int i = 0; i < N; i++) CHECK_OK(mcx_delete(ctx[i]));
    CHECK_U64(th_global().chunk_bytes, ==, 0);
    CHECK_OK(mcx_check(NULL));
    for (int i = 0; i < N; i++) {
        ctx[i] = mcx_context_create(NULL, &o);
        REQUIRE(ctx[i] != NULL);
        unsigned char *p = mcx_alloc(ctx[i], 6000);
        REQUIRE(p != NULL);
        CHECK_U64(th_nonzero_bytes(p, 6000), ==, 0);
    }
    for (int i = 0; i < N; i++) CHECK_OK(mcx_delete(ctx[i]));
    CHECK_OK(mcx_check(NULL));
    CHECK_U64(mcx_trim(), >, 0);
    CHECK_U64(th_global().top_chunk_count, ==, 0);
}

static _Atomic int racing;
static _Atomic unsigned raced_requests;

static void *request_loop(void *arg) {
    (void)arg;
    while (atomic_load(&racing)) {
        if (!request()) return (void *)1;
        atomic_fetch_add(&raced_requests, 1);
    }
    return NULL;
}

/* The release pass takes a thread's cache while the thread is using it (the cache's lock: the
 * thread's side is plain stores with membarrier): two threads make requests while this one trims,
 * runs passes past the decay and reads the statistics; no chunk or context is lost or handed out
 * twice (mcx_check walks the buddy tiling and the byte counts). */
static void drain_races_owner(void) {
    atomic_store(&racing, 1);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) REQUIRE(pthread_create(&t[i], NULL, request_loop, NULL) == 0);
    unsigned target = (unsigned)th_scaled(20000, 500);
    atomic_store(&raced_requests, 0);
    mcx_config c;
    mcx_config_get(&c);
    for (unsigned r = 0; atomic_load(&raced_requests) < target; r++) {
        if (r & 1) mcx_trim();
        else mcx_maintain(mcx_now_ms() + c.decay_ms + 1);
        (void)th_global();
    }
    atomic_store(&racing, 0);
    for (int i = 0; i < 2; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        CHECK(rv == NULL);
    }
    CHECK_OK(mcx_check(NULL));
    struct mcx_global_stats g = th_global();
    CHECK_U64(g.chunk_bytes, ==, 0);
    mcx_trim();
    CHECK_U64(th_global().top_chunk_count, ==, 0);
}

TH_MAIN(TH_TEST(cached_then_released_by_decay_and_trim), TH_TEST(thread_exit_drains),
        TH_TEST(clean_context_from_plain_cache), TH_TEST(deleted_context_revived), TH_TEST(cached_contexts_drained),
        TH_TEST(more_deleted_than_kept), TH_TEST(drain_races_owner))
