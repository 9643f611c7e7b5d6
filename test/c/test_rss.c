/* test_rss.c - shows release by the figure users watch: VmRSS from /proc/self/status rises by a
 * 256 MiB spike of small allocations and falls back near its baseline (within retain_bytes +
 * 2 MiB) once the spike's context is deleted and the decay has passed: once by mcx_maintain with a
 * clock moved past decay_ms, once by the background thread alone (no call, wait decay_ms + 250 ms).
 * ctest runs each test in its own process so each has its own baseline.
 */
#include "harness.h"

/* Spike size: 256 MiB at scale 1; at least 32 MiB under the tools. */
static size_t spike_bytes(void) { return th_scaled(256 * TH_MiB, 32 * TH_MiB); }

/* RSS may exceed the baseline by this much after release: the retain_bytes + 2 MiB, plus,
 * under ASan, the shadow (1/8) of the top chunks memctx poisoned (up to twice the spike, since
 * top chunks double) and ASan's own bookkeeping. */
static uint64_t allowed_over_baseline(size_t retain, size_t spike) {
    uint64_t allow = retain + 2 * TH_MiB;
    if (th_under_asan()) allow += spike / 4 + 4 * TH_MiB;
    return allow;
}

/* Fill a new child of parent with spike bytes of 2000-byte objects, every byte written. */
static mcx_context *spike(mcx_context *parent, size_t bytes) {
    mcx_context_options o = th_opts("spike", 64 * TH_KiB, 1 * TH_MiB, 0);
    mcx_context *ctx = mcx_context_create(parent, &o);
    if (!ctx) return NULL;
    for (size_t done = 0; done < bytes; done += 2000) {
        void *p = mcx_alloc(ctx, 2000);
        if (!p) return NULL;
        memset(p, 0x5A, 2000);
    }
    return ctx;
}

struct rss_run {
    uint64_t base_rss, peak_rss, after_rss;
    uint64_t base_res, peak_res, after_res;
    size_t spike;
};

static int start_spike(struct rss_run *run, mcx_context **app, mcx_context **sp) {
    /* A long-lived application context with a little in it (it pins the first top chunk). */
    mcx_context_options o = th_opts("app", 8 * TH_KiB, 0, 0);
    *app = mcx_context_create(NULL, &o);
    if (!*app) return 0;
    for (int i = 0; i < 100; i++)
        if (!mcx_alloc(*app, 64)) return 0;
    /* Warm up stdio and the page cache of this program before the baseline. */
    printf("  warming up\n");
    run->base_rss = th_vmrss_bytes();
    run->base_res = mcx_resident_bytes();
    run->spike = spike_bytes();
    *sp = spike(*app, run->spike);
    if (!*sp) return 0;
    run->peak_rss = th_vmrss_bytes();
    run->peak_res = mcx_resident_bytes();
    return 1;
}

static void report(const char *what, const struct rss_run *r) {
    printf("  %s: spike %zu MiB; VmRSS %" PRIu64 " -> %" PRIu64 " -> %" PRIu64
           " KiB; memctx resident %" PRIu64 " -> %" PRIu64 " -> %" PRIu64 " KiB\n",
           what, r->spike / TH_MiB, r->base_rss / 1024, r->peak_rss / 1024, r->after_rss / 1024,
           r->base_res / 1024, r->peak_res / 1024, r->after_res / 1024);
}

static void check_run(const struct rss_run *r, size_t retain) {
    uint64_t allow = allowed_over_baseline(retain, r->spike);
    CHECK_U64(r->peak_res, >=, r->base_res + r->spike * 9 / 10);
    CHECK_U64(r->after_res, <=, r->base_res + retain + 2 * TH_MiB);
    if (th_under_valgrind()) {
        th_skip("VmRSS checks", "valgrind's own memory is in VmRSS");
        return;
    }
    REQUIRE(r->base_rss > 0);
    CHECK_U64(r->peak_rss, >=, r->base_rss + r->spike * 9 / 10);
    CHECK_U64(r->after_rss, <=, r->base_rss + allow);
}

static void rss_spike_falls_after_maintain(void) {
    mcx_config c;
    mcx_config_default(&c); /* retain 8 MiB, decay 1000 ms */
    CHECK_OK(mcx_configure(&c));
    struct rss_run run;
    memset(&run, 0, sizeof run);
    mcx_context *app = NULL, *sp = NULL;
    REQUIRE(start_spike(&run, &app, &sp));
    CHECK_OK(mcx_delete(sp));
    /* The decay passes: a clock moved past decay_ms. */
    uint64_t released = mcx_maintain(mcx_now_ms() + c.decay_ms + 1);
    run.after_rss = th_vmrss_bytes();
    run.after_res = mcx_resident_bytes();
    report("maintain", &run);
    CHECK_U64(released, >=, run.spike - c.retain_bytes - 2 * TH_MiB);
    check_run(&run, c.retain_bytes);
    struct mcx_global_stats g = th_global();
    CHECK_U64(g.mapped_bytes, <=, g.peak_mapped_bytes - run.spike + c.retain_bytes + 8 * TH_MiB);
    CHECK_OK(mcx_check(app));
    /* The application context still works, and a second spike falls again. */
    sp = spike(app, run.spike / 4);
    REQUIRE(sp != NULL);
    CHECK_OK(mcx_delete(sp));
    mcx_maintain(mcx_now_ms() + c.decay_ms + 1);
    CHECK_U64(mcx_resident_bytes(), <=, run.base_res + c.retain_bytes + 2 * TH_MiB);
    CHECK_OK(mcx_delete(app));
    mcx_trim();
}

static void rss_spike_falls_with_background_thread(void) {
    mcx_config c;
    mcx_config_default(&c);
    c.decay_ms = 300;
    c.background_thread = 1;
    CHECK_OK(mcx_configure(&c));
    struct rss_run run;
    memset(&run, 0, sizeof run);
    mcx_context *app = NULL, *sp = NULL;
    REQUIRE(start_spike(&run, &app, &sp));
    CHECK_OK(mcx_delete(sp));
    uint64_t runs0 = th_global().maintain_runs;
    /* No call into memctx from here: only the background thread can release. */
    unsigned wait_ms = (unsigned)c.decay_ms + 250;
    if (th_under_valgrind() || th_under_asan()) wait_ms += 2000; /* tools slow the thread */
    th_sleep_ms(wait_ms);
    run.after_rss = th_vmrss_bytes();
    run.after_res = mcx_resident_bytes(); /* mincore of memctx's own mappings, at the deadline */
    report("background thread", &run);
    CHECK_U64(th_global().maintain_runs, >, runs0);
    /* The strict target is on memctx's resident pages at the deadline (check_run). VmRSS is the
     * kernel's figure: on a loaded machine an munmap of hundreds of MiB may still be tearing
     * pages down when it is read, so give the kernel up to one more second to settle. */
    uint64_t allow = allowed_over_baseline(c.retain_bytes, run.spike);
    unsigned settle_ms = 0;
    while (!th_under_valgrind() && run.after_rss > run.base_rss + allow && settle_ms < 1000) {
        th_sleep_ms(25);
        settle_ms += 25;
        run.after_rss = th_vmrss_bytes();
    }
    if (settle_ms)
        printf("  VmRSS settled %u ms after the deadline: %" PRIu64 " KiB\n", settle_ms,
               run.after_rss / 1024);
    check_run(&run, c.retain_bytes);
    CHECK_OK(mcx_check(app));
    CHECK_OK(mcx_delete(app));
    /* Stop the thread again. */
    c.background_thread = 0;
    CHECK_OK(mcx_configure(&c));
    mcx_trim();
}

TH_MAIN(TH_TEST(rss_spike_falls_after_maintain), TH_TEST(rss_spike_falls_with_background_thread))
