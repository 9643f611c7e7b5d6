/* test_threads.c - the top-chunk layer is shared between threads: several threads, each owning
 * its own context tree (the documented thread rule), allocate, free, reset and delete at the same
 * time, with large allocations (dedicated mappings) and new top chunks, while a janitor thread
 * runs mcx_trim, mcx_maintain, mcx_configure, the global statistics, mcx_top_chunks,
 * mcx_resident_bytes and mcx_check(NULL), and the background release thread is on. Every thread
 * verifies its bytes; at the end nothing is left mapped.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "harness.h"

enum { WORKERS = 3, SLOTS = 256 };

typedef struct worker {
    int index;
    size_t iterations;
    int failures; /* counted here, reported by the main thread */
    uint64_t ops;
} worker;

static atomic_int workers_done;

static void *worker_main(void *arg) {
    worker *w = (worker *)arg;
    th_rng r;
    th_rng_seed(&r, 1000 + (uint64_t)w->index);
    mcx_context_options o;
    memset(&o, 0, sizeof o);
    o.name = "worker";
    mcx_context *root = mcx_context_create(NULL, &o);
    if (!root) {
        w->failures++;
        atomic_fetch_add(&workers_done, 1);
        return NULL;
    }
    mcx_context *kid = mcx_context_create(root, NULL);
    void *p[SLOTS] = {0};
    size_t sz[SLOTS] = {0};
    uint64_t id[SLOTS] = {0};
    mcx_context *owner[SLOTS] = {0};
    uint64_t next = 1;
    for (size_t it = 0; it < w->iterations && kid; it++) {
        size_t s = (size_t)th_below(&r, SLOTS);
        uint64_t op = th_below(&r, 100);
        if (op < 2) {
            /* reset the child: drop its allocations from the model */
            for (size_t k = 0; k < SLOTS; k++)
                if (p[k] && owner[k] == kid) {
                    if (th_verify(p[k], sz[k], id[k]) != sz[k]) w->failures++;
                    p[k] = NULL;
                }
            if (mcx_reset(kid) != MCX_OK) w->failures++;
        } else if (op < 3) {
            for (size_t k = 0; k < SLOTS; k++)
                if (p[k] && owner[k] == kid) p[k] = NULL;
            if (mcx_delete(kid) != MCX_OK) w->failures++;
            kid = mcx_context_create(root, NULL);
            if (!kid) w->failures++;
        } else if (p[s]) {
            if (th_verify(p[s], sz[s], id[s]) != sz[s]) w->failures++;
            if (mcx_free(p[s]) != MCX_OK) w->failures++;
            p[s] = NULL;
        } else {
            size_t size = th_below(&r, 50) == 0 ? TH_MiB + (size_t)th_below(&r, 3 * TH_MiB)
                                                 : (size_t)th_below(&r, 3000);
            mcx_context *c = th_below(&r, 2) ? root : kid;
            p[s] = mcx_alloc(c, size);
            if (!p[s]) {
                w->failures++;
                continue;
            }
            sz[s] = size;
            id[s] = next++ * WORKERS + (uint64_t)w->index;
            owner[s] = c;
            /* Touch the first and last pages of big ones only: the point is the mappings. */
            if (size > 65536) {
                th_fill(p[s], 4096, id[s]);
                th_fill((unsigned char *)p[s] + size - 4096, 4096, id[s]);
                sz[s] = 4096; /* verify the head only */
            } else {
                th_fill(p[s], size, id[s]);
            }
        }
        w->ops++;
        if (it % 256 == 0 && mcx_check(root) != MCX_OK) w->failures++;
    }
    for (size_t k = 0; k < SLOTS; k++)
        if (p[k] && th_verify(p[k], sz[k], id[k]) != sz[k]) w->failures++;
    if (mcx_check(root) != MCX_OK) w->failures++;
    if (mcx_delete(root) != MCX_OK) w->failures++;
    atomic_fetch_add(&workers_done, 1);
    return NULL;
}

static atomic_int janitor_failures;
static void *janitor_main(void *arg) {
    (void)arg;
    uint64_t clock = mcx_now_ms();
    mcx_top_info tops[64];
    mcx_config base;
    mcx_config_get(&base);
    unsigned round = 0;
    while (atomic_load(&workers_done) < WORKERS) {
        /* Change the release policy while the workers allocate (the configuration is shared). */
        if (++round % 16 == 0) {
            mcx_config c = base;
            c.decay_ms = (round / 16) % 2 ? 5 : base.decay_ms;
            c.retain_bytes = (round / 16) % 3 ? base.retain_bytes : 0;
            if (mcx_configure(&c) != MCX_OK) atomic_fetch_add(&janitor_failures, 1);
        }
        struct mcx_global_stats g;
        mcx_global_stats(&g);
        if (g.peak_mapped_bytes < g.mapped_bytes) atomic_fetch_add(&janitor_failures, 1);
        size_t count = 0;
        if (mcx_top_chunks(tops, 64, &count) != MCX_OK) atomic_fetch_add(&janitor_failures, 1);
        if (mcx_check(NULL) != MCX_OK) atomic_fetch_add(&janitor_failures, 1);
        (void)mcx_resident_bytes();
        clock += 50;
        mcx_maintain(clock);
        if (g.maintain_runs % 4 == 0) mcx_trim();
        th_sleep_ms(1);
    }
    return NULL;
}

static void threads_share_the_top_layer(void) {
    mcx_config c;
    mcx_config_default(&c);
    c.top_chunk_size = 256 * TH_KiB; /* many top chunks, many mappings */
    c.retain_bytes = 1 * TH_MiB;
    c.decay_ms = 20;
    c.background_thread = 1;
    CHECK_OK(mcx_configure(&c));
    worker w[WORKERS];
    pthread_t t[WORKERS], j;
    atomic_store(&workers_done, 0);
    for (int i = 0; i < WORKERS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].index = i;
        w[i].iterations = th_scaled(60000, 1000);
        REQUIRE(pthread_create(&t[i], NULL, worker_main, &w[i]) == 0);
    }
    REQUIRE(pthread_create(&j, NULL, janitor_main, NULL) == 0);
    for (int i = 0; i < WORKERS; i++) pthread_join(t[i], NULL);
    pthread_join(j, NULL);
    uint64_t ops = 0;
    for (int i = 0; i < WORKERS; i++) {
        CHECK_U64(w[i].failures, ==, 0);
        ops += w[i].ops;
    }
    CHECK_U64(atomic_load(&janitor_failures), ==, 0);
    struct mcx_global_stats g = th_global();
    printf("  %d workers, %" PRIu64 " operations; %" PRIu64 " mmap, %" PRIu64 " munmap, %" PRIu64
           " madvise calls, peak mapped %" PRIu64 " MiB\n",
           WORKERS, ops, g.mmap_calls, g.munmap_calls, g.madvise_calls,
           g.peak_mapped_bytes / TH_MiB);
    CHECK_U64(g.context_count, ==, 0);
    c.background_thread = 0;
    CHECK_OK(mcx_configure(&c));
    mcx_trim();
    g = th_global();
    CHECK_U64(g.mapped_bytes, ==, 0);
    CHECK_U64(g.chunk_bytes, ==, 0);
    CHECK_U64(g.top_chunk_count, ==, 0);
    CHECK_U64(g.dedicated_count, ==, 0);
    CHECK_OK(mcx_check(NULL));
}

TH_MAIN(TH_TEST(threads_share_the_top_layer))
