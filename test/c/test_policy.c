/* test_policy.c - the release policy's corner cases: a mcx_maintain() call with a clock value in
 * the future must not switch the automatic passes off; top chunks that go idle at different
 * times keep retain_bytes retained (not 0); an munmap the OS refuses leaves the figures true
 * (nothing counted as released, mcx_check passes) and is retried by the next pass; a load that
 * goes on below its peak keeps the peak's memory warm until it stops; a chunk request takes a
 * resident free run before a given-back one; a pass calls the OS (madvise, munmap) without the
 * top lock, and with the background thread on, allocating threads leave the passes to it. The OS
 * refusal and the check of who calls the OS use the OS layer's internal test hooks.
 */
#include <pthread.h>
#include <string.h>

#include "harness.h"
#include "internal.h"
#include "debug.h"

static void configure(size_t retain, uint64_t decay_ms) {
    mcx_config c;
    mcx_config_default(&c);
    c.retain_bytes = retain;
    c.decay_ms = decay_ms;
    CHECK_OK(mcx_configure(&c));
}

/* A context holding about bytes, in 64 KiB objects, in 1 MiB chunks (too large for the threads'
 * chunk caches, so a delete gives them straight back to their top chunks). */
static mcx_context *filled(size_t bytes) {
    mcx_context_options o = th_opts("fill", 1 * TH_MiB, 1 * TH_MiB, 0);
    mcx_context *ctx = mcx_context_create(NULL, &o);
    for (size_t done = 0; ctx && done < bytes; done += 64 * TH_KiB)
        if (!mcx_alloc(ctx, 64 * TH_KiB - 64)) return NULL;
    return ctx;
}

static void future_clock_keeps_automatic_release(void) {
    mcx_trim();
    configure(0, 40);
    mcx_maintain(mcx_now_ms() + (uint64_t)3600 * 1000); /* an hour ahead */
    mcx_context *big = filled(16 * TH_MiB);
    REQUIRE(big != NULL);
    uint64_t released0 = th_global().released_bytes;
    CHECK_OK(mcx_delete(big));
    th_sleep_ms(200); /* 5 x decay */
    /* Any top-layer call runs the pass when it is due: a context create and delete. */
    for (int i = 0; i < 3; i++) {
        mcx_context *c = mcx_context_create(NULL, NULL);
        REQUIRE(c != NULL);
        CHECK_OK(mcx_delete(c));
        th_sleep_ms(10);
    }
    CHECK_U64(th_global().released_bytes, >, released0);
    CHECK_OK(mcx_check(NULL));
    mcx_trim();
}

/* Two top chunks go idle at different times: the first stays within the budget, the second is
 * released once idle, and retain_bytes stay retained. */
static void retained_budget_holds_with_staggered_idle(void) {
    mcx_trim();
    const uint64_t decay = 1000;
    configure(4 * TH_MiB, decay);
    mcx_context *a = filled(2 * TH_MiB); /* three 1 MiB chunks: the first (4 MiB) top chunk */
    REQUIRE(a != NULL);
    mcx_context *b = filled(6 * TH_MiB); /* seven: the next (8 MiB) one */
    REQUIRE(b != NULL);
    struct mcx_global_stats g = th_global();
    REQUIRE_U64(g.top_chunk_count, ==, 2);
    CHECK_OK(mcx_delete(a));
    th_sleep_ms(30);
    uint64_t tb = mcx_now_ms();
    CHECK_OK(mcx_delete(b));
    /* A clock at which the first has been free for the decay and the second not yet. */
    mcx_maintain(tb + decay - 1);
    CHECK_U64(th_global().retained_bytes, ==, 12 * TH_MiB);
    mcx_maintain(mcx_now_ms() + 3 * decay); /* both idle: over the budget by the second */
    g = th_global();
    CHECK_U64(g.retained_bytes, ==, 4 * TH_MiB);
    CHECK_U64(g.top_chunk_count, ==, 1);
    CHECK_OK(mcx_check(NULL));
    mcx_trim();
    configure(MCXI_DEFAULT_RETAIN, MCXI_DEFAULT_DECAY_MS);
}

static void refused_munmap_keeps_figures_true(void) {
    mcx_trim();
    configure(0, 1000);
    /* A buddy top chunk. */
    mcx_context *big = filled(2 * TH_MiB);
    REQUIRE(big != NULL);
    CHECK_OK(mcx_delete(big));
    struct mcx_global_stats before = th_global();
    REQUIRE_U64(before.top_chunk_count, >=, 1);
    mcxi_os_fail_unmaps(1);
    uint64_t got = mcx_trim();
    struct mcx_global_stats after = th_global();
    /* Still mapped: only the madvised free runs count as released. */
    CHECK_U64(after.released_bytes - before.released_bytes, ==, got);
    CHECK_U64(after.mapped_bytes, ==, before.mapped_bytes);
    CHECK_U64(got, <, before.mapped_bytes);
    CHECK_U64(after.top_chunk_count, ==, before.top_chunk_count);
    CHECK_OK(mcx_check(NULL));
    got = mcx_trim(); /* the OS agrees now */
    CHECK_U64(got, >, 0);
    CHECK_U64(th_global().top_chunk_count, ==, 0);
    CHECK_OK(mcx_check(NULL));

    /* A dedicated mapping of a large allocation, unmapped when it is freed. */
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    void *p = mcx_alloc(ctx, 3 * TH_MiB);
    REQUIRE(p != NULL);
    before = th_global();
    mcxi_os_fail_unmaps(1);
    CHECK_OK(mcx_free(p));
    after = th_global();
    CHECK_U64(after.released_bytes, ==, before.released_bytes);
    CHECK_U64(after.mapped_bytes, ==, before.mapped_bytes);
    CHECK_OK(mcx_check(ctx));
    CHECK_U64(mcx_trim(), >=, 3 * TH_MiB);
    after = th_global();
    CHECK_U64(after.dedicated_count, ==, 0);
    CHECK_U64(after.released_bytes, >=, before.released_bytes + 3 * TH_MiB);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
    configure(MCXI_DEFAULT_RETAIN, MCXI_DEFAULT_DECAY_MS);
}

/* A load that falls from its peak and goes on below it keeps the memory of its recent peak warm
 * (no release, so no refaults when it rises again); once it stops taking chunks for a decay, the
 * same memory is released. */
static void steady_load_keeps_its_recent_peak_warm(void) {
    mcx_trim();
    /* Long beside one round of the load below; under valgrind, with other tests running beside
     * it, a round took more than 200 ms, and a decay without a chunk taken ends the headroom. */
    const uint64_t decay = th_under_valgrind() ? 1000 : 200;
    configure(0, decay);
    /* Chunk by chunk in turns, so that every top chunk keeps some of base's chunks. */
    mcx_context_options o = th_opts("fill", 1 * TH_MiB, 1 * TH_MiB, 0);
    mcx_context *base = mcx_context_create(NULL, &o), *peak = mcx_context_create(NULL, &o);
    REQUIRE(base != NULL && peak != NULL);
    for (int i = 0; i < 12; i++)
        for (int j = 0; j < 16; j++) {
            void *p = mcx_alloc(i % 3 == 0 ? base : peak, 64 * TH_KiB - 64);
            REQUIRE(p != NULL);
            memset(p, 1, 64 * TH_KiB - 64); /* resident, as a request's bodies are */
        }
    uint64_t resident0 = mcx_resident_bytes();
    REQUIRE_U64(resident0, >=, 12 * TH_MiB);
    CHECK_OK(mcx_delete(peak));
    /* Three decays of load below the peak: a 1 MiB chunk taken and given back every few ms. */
    for (uint64_t until = mcx_now_ms() + 3 * decay; mcx_now_ms() < until;) {
        mcx_context *c = filled(512 * TH_KiB);
        REQUIRE(c != NULL);
        CHECK_OK(mcx_delete(c));
        mcx_maintain(0);
        th_sleep_ms(5);
    }
    /* The load's own freed chunks count towards the headroom (they are resident), so a chunk
     * or two of the peak's may go; without the headroom, half of resident0 went. */
    CHECK_U64(mcx_resident_bytes() + 3 * TH_MiB, >=, resident0);
    /* The load stops: a decay without a chunk taken, then a pass past the decay again. */
    th_sleep_ms(2 * decay + 10);
    mcx_maintain(0);
    CHECK_U64(mcx_resident_bytes() + 7 * TH_MiB, <=, resident0);
    CHECK_OK(mcx_check(NULL));
    CHECK_OK(mcx_delete(base));
    mcx_trim();
    configure(MCXI_DEFAULT_RETAIN, MCXI_DEFAULT_DECAY_MS);
}

/* A chunk request takes a used, still resident free run before a given-back one, whichever top
 * chunk holds each: first fit in vector order would fault the given-back run in again. */
static void resident_run_before_given_back_one(void) {
    mcx_trim();
    configure(0, 1000);
    enum { SMALL = 64 * 1024, RUN = 512 * 1024, MAX_SMALL = 1024 };
    static void *small[MAX_SMALL];
    size_t n = 0, got;
    uint64_t tops0 = th_global().top_chunk_count;
    /* Fill the newest top chunk with small chunks until the next one is mapped. */
    while (n < MAX_SMALL) {
        REQUIRE(mcxi_chunk_acquire_top(SMALL, 0, false, false, &small[n], &got) == MCX_OK);
        n++;
        if (th_global().top_chunk_count == tops0 + 2) break;
    }
    REQUIRE_U64(th_global().top_chunk_count, ==, tops0 + 2);
    /* Two buddies in the new top chunk; the lower one is written to, then freed alone. */
    void *r, *r2;
    REQUIRE(mcxi_chunk_acquire_top(RUN, 0, false, false, &r, &got) == MCX_OK);
    REQUIRE(mcxi_chunk_acquire_top(RUN, 0, false, false, &r2, &got) == MCX_OK);
    MCXI_UNPOISON(r, RUN); /* a raw chunk: no context has unpoisoned it for use */
    memset(r, 1, RUN);
    /* The older top chunk's small chunks but one go back and are given back to the OS. */
    for (size_t i = 1; i + 1 < n; i++) mcxi_chunk_release_top(small[i], false);
    mcx_trim();
    mcxi_chunk_release_top(r, false);
    uint64_t resident0 = mcx_resident_bytes();
    void *x;
    REQUIRE(mcxi_chunk_acquire_top(RUN, 0, false, false, &x, &got) == MCX_OK);
    MCXI_UNPOISON(x, RUN);
    memset(x, 2, RUN);
    CHECK(x == r);
    CHECK_U64(mcx_resident_bytes(), <, resident0 + RUN / 2);
    mcxi_chunk_release_top(x, false);
    mcxi_chunk_release_top(r2, false);
    mcxi_chunk_release_top(small[0], false);
    mcxi_chunk_release_top(small[n - 1], false);
    CHECK_OK(mcx_check(NULL));
    mcx_trim();
    configure(MCXI_DEFAULT_RETAIN, MCXI_DEFAULT_DECAY_MS);
}

/* Who calls the OS to give memory back: counted by the OS layer's probe. */
static atomic_uint probe_locked, probe_decommits, probe_unmaps, probe_on_main;
static pthread_t probe_main;

static void count_release_call(int is_unmap, size_t size) {
    if (size <= MCXI_BLOCK) return; /* a page of the page map's own, given back under the lock */
    if (pthread_equal(pthread_self(), probe_main)) atomic_fetch_add(&probe_on_main, 1);
    if (pthread_mutex_trylock(&mcxi_g.lock) != 0) {
        atomic_fetch_add(&probe_locked, 1);
        return;
    }
    pthread_mutex_unlock(&mcxi_g.lock);
    atomic_fetch_add(is_unmap ? &probe_unmaps : &probe_decommits, 1);
}

static void probe_reset(void) {
    atomic_store(&probe_locked, 0);
    atomic_store(&probe_decommits, 0);
    atomic_store(&probe_unmaps, 0);
    atomic_store(&probe_on_main, 0);
    probe_main = pthread_self();
}

/* A pass madvises free runs of a top chunk in use and unmaps wholly free ones with the top lock
 * released: a thread that allocates meanwhile waits for no system call. */
static void release_calls_the_os_without_the_lock(void) {
    mcx_trim();
    configure(0, 1000);
    mcx_context *keep = mcx_context_create(NULL, NULL);
    REQUIRE(keep != NULL);
    REQUIRE(mcx_alloc(keep, 100) != NULL);
    mcx_context *big = filled(24 * TH_MiB);
    REQUIRE(big != NULL);
    CHECK_OK(mcx_delete(big));
    probe_reset();
    mcxi_os_set_release_probe(count_release_call);
    uint64_t got = mcx_trim();
    mcxi_os_set_release_probe(NULL);
    CHECK_U64(got, >=, 16 * TH_MiB);
    CHECK_U64(atomic_load(&probe_decommits), >, 0);
    CHECK_U64(atomic_load(&probe_unmaps), >, 0);
    CHECK_U64(atomic_load(&probe_locked), ==, 0);
    CHECK_OK(mcx_check(NULL));
    CHECK_OK(mcx_delete(keep));
    configure(MCXI_DEFAULT_RETAIN, MCXI_DEFAULT_DECAY_MS);
}

/* A large allocation's dedicated mapping goes back to the OS without the lock too: freed, freed
 * while held (its pages) and at its last unhold, with its context's delete, and by a pass that
 * tries again after the OS refused. */
static void large_frees_call_the_os_without_the_lock(void) {
    mcx_trim();
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    const size_t big = 4 * TH_MiB;
    void *a = mcx_alloc(ctx, big), *b = mcx_alloc(ctx, big), *c = mcx_alloc(ctx, big), *d = mcx_alloc(ctx, big);
    REQUIRE(a != NULL && b != NULL && c != NULL && d != NULL);
    memset(a, 1, big);
    memset(b, 2, big);
    memset(c, 3, big);
    memset(d, 4, big);
    CHECK_U64(th_global().dedicated_count, ==, 4);
    uint64_t released0 = th_global().released_bytes;
    probe_reset();
    mcxi_os_set_release_probe(count_release_call);
    CHECK_OK(mcx_free(a));
    CHECK_OK(mcx_hold(b));
    CHECK_OK(mcx_free(b));
    CHECK_U64(atomic_load(&probe_decommits), ==, 1); /* held: its pages go, the mapping stays */
    CHECK_U64(th_global().dedicated_count, ==, 3);
    CHECK_OK(mcx_unhold(b));
    mcxi_os_fail_unmaps(1);
    CHECK_OK(mcx_free(c)); /* refused: kept as a free mapping */
    CHECK_U64(th_global().dedicated_count, ==, 2);
    CHECK_U64(mcx_trim(), >=, big);
    CHECK_OK(mcx_delete(ctx));
    mcxi_os_set_release_probe(NULL);
    CHECK_U64(atomic_load(&probe_unmaps), >=, 5); /* a, b, c twice, d */
    CHECK_U64(atomic_load(&probe_locked), ==, 0);
    struct mcx_global_stats g = th_global();
    CHECK_U64(g.dedicated_count, ==, 0);
    CHECK_U64(g.released_bytes - released0, >=, 4 * big + (big - 4 * TH_KiB));
    CHECK_OK(mcx_check(NULL));
}

/* With the background thread on, the passes are its work: a thread that keeps taking and giving
 * back chunks after a spike never madvises or unmaps, yet the spike goes back to the OS. */
static void background_thread_takes_the_passes(void) {
    mcx_trim();
    mcx_config c;
    mcx_config_default(&c);
    c.retain_bytes = 0;
    c.decay_ms = 20;
    c.background_thread = 1;
    CHECK_OK(mcx_configure(&c));
    mcx_context *big = filled(16 * TH_MiB);
    REQUIRE(big != NULL);
    uint64_t released0 = th_global().released_bytes;
    probe_reset();
    mcxi_os_set_release_probe(count_release_call);
    CHECK_OK(mcx_delete(big));
    /* Top-layer calls on this thread, each a chance for an automatic pass, until the background
     * thread has given most of the spike back (or 5 s, a failure). */
    uint64_t deadline = mcx_now_ms() + 5000;
    while (th_global().released_bytes - released0 < 8 * TH_MiB && mcx_now_ms() < deadline) {
        void *r;
        size_t got;
        REQUIRE(mcxi_chunk_acquire_top(512 * TH_KiB, 0, false, false, &r, &got) == MCX_OK);
        mcxi_chunk_release_top(r, false);
        th_sleep_ms(1);
    }
    mcxi_os_set_release_probe(NULL);
    CHECK_U64(th_global().released_bytes - released0, >=, 8 * TH_MiB);
    CHECK_U64(atomic_load(&probe_decommits) + atomic_load(&probe_unmaps), >, 0);
    CHECK_U64(atomic_load(&probe_on_main), ==, 0);
    CHECK_U64(atomic_load(&probe_locked), ==, 0);
    CHECK_OK(mcx_check(NULL));
    c.background_thread = 0;
    CHECK_OK(mcx_configure(&c));
    configure(MCXI_DEFAULT_RETAIN, MCXI_DEFAULT_DECAY_MS);
}

TH_MAIN(TH_TEST(future_clock_keeps_automatic_release), TH_TEST(retained_budget_holds_with_staggered_idle),
        TH_TEST(refused_munmap_keeps_figures_true), TH_TEST(steady_load_keeps_its_recent_peak_warm),
        TH_TEST(resident_run_before_given_back_one), TH_TEST(release_calls_the_os_without_the_lock), TH_TEST(large_frees_call_the_os_without_the_lock),
        TH_TEST(background_thread_takes_the_passes))
