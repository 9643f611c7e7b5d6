/* soak.c - owns the soak test of the memctx C core: repeated traffic ramps. Each cycle creates
 * many contexts (a tree), allocates up to --peak-mib of mixed small and large allocations with
 * frees and reallocs on the way, touches and checks every page, deletes the contexts in random
 * order, then lets the decay run (mcx_maintain from a polling loop, or the background thread with
 * no call at all; --mode both alternates them per cycle). After every cycle the mapped bytes, the
 * resident bytes (mincore) and the process's VmRSS must be back to their baseline within the
 * retained budget, and the last cycle must not sit higher than the first (no upward drift: the
 * mapped bytes, and the VmRSS outside memctx's top chunks).
 *
 * With --pin a long-lived context keeps a few hundred small allocations across all cycles (a
 * service's caches): top chunks then cannot be unmapped and the release must come from
 * madvise; the RSS limits still hold, the mapped bytes are reported and must not drift upward.
 *
 * Usage: soak [--seconds S] [--cycles N] [--peak-mib M] [--contexts K] [--decay-ms D]
 *             [--retain-mib R] [--mode maintain|background|both] [--pin] [--every N]
 * Prints one line per cycle (every Nth with --every), a summary, and "FIGURE soak_cycles=<n>".
 * Exit status 0 when every check held.
 */
#include "harness.h" /* test/c/harness.h: the one C test harness */

#define MAX_OBJS 600000
#define MAX_CTXS 1024
#define PIN_OBJS 400
#define SLACK_BYTES ((uint64_t)2 << 20) /* the "+ 2 MiB" allowance over the budget */
#define DRIFT_BYTES ((uint64_t)1 << 20) /* last cycle may sit at most this much above the first */

typedef struct obj {
    unsigned char *p;
    size_t size;
    uint64_t id;
} obj;

typedef struct cycle_fig {
    uint64_t peak_mapped, mapped_after, resident_after, rss_peak, rss_after, settle_ms, live_bytes;
    int background;
} cycle_fig;

static obj *g_objs;
static size_t g_nobjs;
static mcx_context *g_ctxs[MAX_CTXS];
static obj g_pin[PIN_OBJS];
static size_t g_pin_next;
static uint64_t g_id;
/* Under ASan (shadow memory) and valgrind the process's VmRSS is mostly the tool's: the VmRSS
 * limits are skipped there; mapped and resident bytes (memctx's own figures) are still checked. */
static int g_rss_meaningful = 1;

static size_t next_pos(size_t i, size_t size) {
    if (i < 32 || i + 32 >= size) return i + 1;
    size_t page_next = i + 4096 - (i % 4096);
    return page_next < size - 32 ? page_next : size - 32;
}
static void stamp(obj *o) {
    for (size_t i = 0; i < o->size; i = next_pos(i, o->size)) o->p[i] = th_pattern_byte(o->id, i);
}
static int stamp_ok(const obj *o) {
    for (size_t i = 0; i < o->size; i = next_pos(i, o->size))
        if (o->p[i] != th_pattern_byte(o->id, i)) return 0;
    return 1;
}

static uint64_t now_ms(void) { return mcx_now_ms(); }

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct opts {
    double seconds;
    long cycles;
    size_t peak_bytes;
    int contexts;
    uint64_t decay_ms;
    size_t retain_bytes;
    int mode; /* 0 maintain, 1 background, 2 both */
    int pin;
    int every;
} opts;

static void configure(const opts *o, int background) {
    mcx_config cfg;
    mcx_config_get(&cfg);
    cfg.decay_ms = o->decay_ms;
    cfg.retain_bytes = o->retain_bytes;
    cfg.background_thread = background;
    int st = mcx_configure(&cfg);
    if (st != MCX_OK) {
        fprintf(stderr, "soak: mcx_configure failed: %s\n", mcx_status_code(st));
        exit(1);
    }
}

/* One pinned allocation replaced (FIFO), so the long-lived context keeps touching new chunks. */
static void pin_step(mcx_context *pin, th_rng *rng) {
    obj *o = &g_pin[g_pin_next++ % PIN_OBJS];
    if (o->p) {
        CHECK(stamp_ok(o));
        CHECK_OK(mcx_free(o->p));
    }
    o->size = 32 + (size_t)th_below(rng, 480);
    o->p = mcx_alloc(pin, o->size);
    CHECK(o->p != NULL);
    if (!o->p) {
        o->size = 0;
        return;
    }
    o->id = ++g_id;
    stamp(o);
}

/* One traffic ramp: returns the bytes allocated (live at the peak). */
static uint64_t ramp(const opts *o, th_rng *rng, mcx_context *pin, cycle_fig *fig) {
    int nctx = o->contexts;
    for (int c = 0; c < nctx; c++) {
        /* a forest: every fourth context a root, the others children of an earlier one */
        mcx_context *parent = (c % 4 == 0) ? NULL : g_ctxs[c - 1 - (int)th_below(rng, (uint64_t)(c % 4))];
        mcx_context_options co;
        memset(&co, 0, sizeof co);
        co.name = "soak";
        co.initial_size = (size_t)4096 << th_below(rng, 5);
        g_ctxs[c] = mcx_context_create(parent, &co);
        if (!g_ctxs[c]) {
            fprintf(stderr, "soak: mcx_context_create failed: %s\n", mcx_status_code(mcx_errno()));
            exit(1);
        }
    }
    uint64_t live = 0;
    g_nobjs = 0;
    while (live < o->peak_bytes && g_nobjs < MAX_OBJS) {
        int c = (int)th_below(rng, (uint64_t)nctx);
        uint64_t r = th_below(rng, 100);
        size_t size = r < 97 ? 16 + (size_t)th_below(rng, 4080)                       /* small: most calls */
                             : ((size_t)64 << 10) << th_below(rng, 7);                 /* 64 KiB .. 4 MiB */
        unsigned char *p = mcx_alloc(g_ctxs[c], size);
        if (!p) {
            fprintf(stderr, "soak: mcx_alloc(%zu) failed: %s\n", size, mcx_status_code(mcx_errno()));
            exit(1);
        }
        obj *ob = &g_objs[g_nobjs++];
        ob->p = p;
        ob->size = size;
        ob->id = ++g_id;
        stamp(ob);
        live += size;
        /* churn: free or resize an earlier object now and then */
        if (g_nobjs > 16 && th_below(rng, 8) == 0) {
            size_t k = (size_t)th_below(rng, g_nobjs);
            obj *v = &g_objs[k];
            CHECK(stamp_ok(v));
            if (th_below(rng, 2)) {
                CHECK_OK(mcx_free(v->p));
                live -= v->size;
                g_objs[k] = g_objs[--g_nobjs];
            } else {
                size_t ns = v->size / 2 + (size_t)th_below(rng, v->size + 1);
                unsigned char *q = mcx_realloc(v->p, ns);
                CHECK(q != NULL);
                if (q) {
                    size_t keep = ns < v->size ? ns : v->size;
                    /* the stamped positions of the old size that the new size keeps */
                    for (size_t i = 0; i < keep; i = next_pos(i, v->size))
                        if (q[i] != th_pattern_byte(v->id, i)) {
                            th_fail(__FILE__, __LINE__, "realloc keeps the bytes", NULL);
                            break;
                        }
                    live = live - v->size + ns;
                    v->p = q;
                    v->size = ns;
                    stamp(v);
                }
            }
        }
        if (pin && th_below(rng, 512) == 0) pin_step(pin, rng);
    }
    struct mcx_global_stats g = th_global();
    fig->peak_mapped = g.mapped_bytes;
    fig->rss_peak = th_vmrss_bytes();
    fig->live_bytes = live;
    /* every page of every allocation still carries its pattern */
    for (size_t i = 0; i < g_nobjs; i++)
        if (!stamp_ok(&g_objs[i])) {
            th_fail(__FILE__, __LINE__, "allocation intact at the peak", NULL);
            break;
        }
    for (int c = 0; c < nctx; c++)
        if (mcx_parent(g_ctxs[c]) == NULL) CHECK_OK(mcx_check(g_ctxs[c]));
    /* ramp down: delete the contexts in random order (a deleted parent takes its children) */
    int order[MAX_CTXS];
    for (int c = 0; c < nctx; c++) order[c] = c;
    for (int c = nctx - 1; c > 0; c--) {
        int k = (int)th_below(rng, (uint64_t)(c + 1));
        int t = order[c];
        order[c] = order[k];
        order[k] = t;
    }
    /* delete roots only (children go with them), in the shuffled order */
    for (int i = 0; i < nctx; i++)
        if (order[i] % 4 == 0) CHECK_OK(mcx_delete(g_ctxs[order[i]]));
    return live;
}

/* memctx's resident bytes and VmRSS, read when they agree: a release pass unlinks a top chunk
 * (gone from mcx_resident_bytes) before it unmaps it (still in VmRSS), so a reading inside that
 * window counts the chunk as RSS outside memctx. Two readings 20 ms apart whose difference
 * moved by less than 128 KiB are taken (at most 25 tries). */
static void read_settled(uint64_t *resident, uint64_t *rss) {
    uint64_t res0 = mcx_resident_bytes(), rss0 = th_vmrss_bytes();
    for (int tries = 0; tries < 25; tries++) {
        th_sleep_ms(20);
        uint64_t res1 = mcx_resident_bytes(), rss1 = th_vmrss_bytes();
        int64_t moved = ((int64_t)rss1 - (int64_t)res1) - ((int64_t)rss0 - (int64_t)res0);
        res0 = res1;
        rss0 = rss1;
        if (moved < ((int64_t)128 << 10) && moved > -((int64_t)128 << 10)) break;
    }
    *resident = res0;
    *rss = rss0;
}

/* After the decay of one cycle: back to the baseline within the retained budget. */
static void check_cycle(const cycle_fig *f, int pinned, uint64_t mapped_target, uint64_t rss_target,
                        uint64_t resident_target) {
    if (!pinned) CHECK_U64(f->mapped_after, <=, mapped_target);
    if (g_rss_meaningful) CHECK_U64(f->rss_after, <=, rss_target);
    CHECK_U64(f->resident_after, <=, resident_target);
}

/* No upward drift: the last cycle ends no higher than the first. The resident bytes of the top
 * chunks may rise between cycles within the retained budget (a kept top chunk gets more of its
 * pages touched; check_cycle bounds it), so the drift is measured on the rest of the process's
 * RSS (VmRSS - memctx's resident bytes: bookkeeping, page map, everything else), which must stay
 * flat, and on the mapped bytes. */
static void check_drift(const cycle_fig *first, const cycle_fig *last, uint64_t mapped_allowance) {
    uint64_t first_rest = first->rss_after - (first->resident_after < first->rss_after ? first->resident_after : 0);
    uint64_t last_rest = last->rss_after - (last->resident_after < last->rss_after ? last->resident_after : 0);
    if (g_rss_meaningful) CHECK_U64(last_rest, <=, first_rest + DRIFT_BYTES);
    CHECK_U64(last->mapped_after, <=, first->mapped_after + mapped_allowance);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    opts o = {30.0, 0, (size_t)256 << 20, 64, 200, (size_t)8 << 20, 2, 0, 1};
    for (int a = 1; a < argc; a++) {
        const char *v = a + 1 < argc ? argv[a + 1] : "";
        if (strcmp(argv[a], "--seconds") == 0) o.seconds = strtod(v, NULL), a++;
        else if (strcmp(argv[a], "--cycles") == 0) o.cycles = strtol(v, NULL, 10), a++;
        else if (strcmp(argv[a], "--peak-mib") == 0) o.peak_bytes = (size_t)strtoul(v, NULL, 10) << 20, a++;
        else if (strcmp(argv[a], "--contexts") == 0) o.contexts = (int)strtol(v, NULL, 10), a++;
        else if (strcmp(argv[a], "--decay-ms") == 0) o.decay_ms = strtoull(v, NULL, 10), a++;
        else if (strcmp(argv[a], "--retain-mib") == 0) o.retain_bytes = (size_t)strtoul(v, NULL, 10) << 20, a++;
        else if (strcmp(argv[a], "--every") == 0) o.every = (int)strtol(v, NULL, 10), a++;
        else if (strcmp(argv[a], "--pin") == 0) o.pin = 1;
        else if (strcmp(argv[a], "--mode") == 0) {
            o.mode = strcmp(v, "maintain") == 0 ? 0 : strcmp(v, "background") == 0 ? 1 : strcmp(v, "both") == 0 ? 2 : -1;
            a++;
        } else o.mode = -1;
    }
    if (o.mode < 0 || o.contexts < 4 || o.contexts > MAX_CTXS || o.peak_bytes == 0 || o.every < 1) {
        fprintf(stderr, "usage: soak [--seconds S] [--cycles N] [--peak-mib M] [--contexts 4..%d] [--decay-ms D]\n"
                        "            [--retain-mib R] [--mode maintain|background|both] [--pin] [--every N]\n",
                MAX_CTXS);
        return 2;
    }
    /* MEMCTX_TEST_SCALE (sanitizer and valgrind runs of ctest) shrinks the ramps */
    if (th_scale() < 1.0) {
        o.peak_bytes = th_scaled(o.peak_bytes, (size_t)8 << 20);
        o.contexts = o.contexts > 16 ? 16 : o.contexts;
    }
    g_rss_meaningful = !th_under_asan() && !th_under_valgrind();
    if (!g_rss_meaningful) printf("soak: VmRSS checks skipped (ASan or valgrind owns most of the RSS)\n");
    /* bookkeeping first, touched, so it is part of the baseline */
    g_objs = calloc(MAX_OBJS, sizeof *g_objs);
    if (!g_objs) return 1;
    memset(g_objs, 1, MAX_OBJS * sizeof *g_objs);
    size_t max_cycles = o.cycles > 0 ? (size_t)o.cycles : 100000;
    cycle_fig *figs = calloc(max_cycles < 100000 ? max_cycles : 100000, sizeof *figs);
    uint64_t *settle = calloc(max_cycles < 100000 ? max_cycles : 100000, sizeof *settle);
    if (!figs || !settle) return 1;
    memset(figs, 0, (max_cycles < 100000 ? max_cycles : 100000) * sizeof *figs);

    th_rng rng;
    th_rng_seed(&rng, 20261126);
    configure(&o, o.mode == 1);
    mcx_context *pin = NULL;
    if (o.pin) {
        mcx_context_options po;
        memset(&po, 0, sizeof po);
        po.name = "soak-pin";
        pin = mcx_context_create(NULL, &po);
        if (!pin) return 1;
        for (int i = 0; i < PIN_OBJS; i++) pin_step(pin, &rng);
    }
    (void)mcx_trim();
    th_sleep_ms(50);
    struct mcx_global_stats g0 = th_global();
    uint64_t base_mapped = g0.mapped_bytes, base_rss = th_vmrss_bytes(), base_resident = mcx_resident_bytes();
    printf("soak: peak %zu MiB per cycle in %d contexts, decay %" PRIu64 " ms, retain %zu MiB, mode %s%s\n",
           o.peak_bytes >> 20, o.contexts, o.decay_ms, o.retain_bytes >> 20,
           o.mode == 0 ? "maintain" : o.mode == 1 ? "background" : "both (alternating)", o.pin ? ", pinned" : "");
    printf("baseline: mapped %.1f MiB, resident %.1f MiB, VmRSS %.1f MiB\n", (double)base_mapped / 1048576.0,
           (double)base_resident / 1048576.0, (double)base_rss / 1048576.0);
    printf("%6s %5s %9s %10s %11s %12s %9s %12s %9s\n", "cycle", "mode", "live MiB", "peak map", "mapped aft",
           "resident aft", "RSS peak", "RSS after", "settle ms");

    uint64_t t_start = now_ms();
    size_t n = 0;
    int mode_now = o.mode == 1;
    for (; n < max_cycles && n < 100000; n++) {
        if ((double)(now_ms() - t_start) / 1000.0 >= o.seconds && o.cycles <= 0) break;
        int background = o.mode == 2 ? (int)(n % 2) : o.mode;
        if (background != mode_now) {
            configure(&o, background);
            mode_now = background;
        }
        cycle_fig *f = &figs[n];
        f->background = background;
        ramp(&o, &rng, pin, f);
        /* the decay: wait until the figures are back, or give up after decay + 3 s */
        /* the pinned context keeps its process chunks (not only its objects' bytes) */
        uint64_t pin_bytes = pin ? th_ctx_stats(pin).total_bytes : 0;
        uint64_t rss_target = base_rss + o.retain_bytes + SLACK_BYTES + pin_bytes;
        uint64_t mapped_target = base_mapped + o.retain_bytes;
        uint64_t t0 = now_ms(), deadline = t0 + o.decay_ms + 3000;
        for (;;) {
            if (!background) (void)mcx_maintain(0);
            struct mcx_global_stats g = th_global();
            uint64_t rss = th_vmrss_bytes();
            /* Pinned, a top chunk holding one of its chunks stays mapped: the release is done
             * when no process chunk but the pinned context's is handed out (the thread's cache
             * drained) and the wholly free top chunks kept are within the budget. Reading the
             * mapped bytes before then (a pass lagging under load) would count as drift. */
            int mapped_ok = pin ? g.chunk_bytes <= pin_bytes && g.retained_bytes <= o.retain_bytes
                                : g.mapped_bytes <= mapped_target;
            int rss_ok = !g_rss_meaningful || rss <= rss_target;
            if ((mapped_ok && rss_ok && now_ms() - t0 >= o.decay_ms) || now_ms() > deadline) break;
            th_sleep_ms(10);
        }
        f->settle_ms = now_ms() - t0;
        settle[n] = f->settle_ms;
        struct mcx_global_stats g = th_global();
        f->mapped_after = g.mapped_bytes;
        read_settled(&f->resident_after, &f->rss_after);
        CHECK_OK(mcx_check(NULL));
        if (pin) CHECK_OK(mcx_check(pin));
        check_cycle(f, pin != NULL, mapped_target, rss_target, (uint64_t)o.retain_bytes + pin_bytes + SLACK_BYTES);
        if (n % (size_t)o.every == 0 || th_test_failures)
            printf("%6zu %5s %9.1f %10.1f %11.1f %12.1f %9.1f %12.1f %9" PRIu64 "\n", n + 1, background ? "bg" : "mnt",
                   (double)f->live_bytes / 1048576.0, (double)f->peak_mapped / 1048576.0,
                   (double)f->mapped_after / 1048576.0, (double)f->resident_after / 1048576.0,
                   (double)f->rss_peak / 1048576.0, (double)f->rss_after / 1048576.0, f->settle_ms);
        th_test_failures = 0;
    }
    if (n == 0) {
        fprintf(stderr, "soak: no cycle ran\n");
        return 1;
    }
    /* no upward drift: the last cycle ends no higher than the first */
    const cycle_fig *first = &figs[0], *last = &figs[n - 1];
    check_drift(first, last, pin ? (uint64_t)o.retain_bytes : DRIFT_BYTES);
    uint64_t max_rss_after = 0, max_mapped_after = 0, max_peak = 0;
    for (size_t i = 0; i < n; i++) {
        if (figs[i].rss_after > max_rss_after) max_rss_after = figs[i].rss_after;
        if (figs[i].mapped_after > max_mapped_after) max_mapped_after = figs[i].mapped_after;
        if (figs[i].peak_mapped > max_peak) max_peak = figs[i].peak_mapped;
    }
    qsort(settle, n, sizeof settle[0], cmp_u64);
    struct mcx_global_stats gend = th_global();
    printf("summary: %zu cycles in %.1f s; peak mapped max %.1f MiB; after decay: mapped first %.1f / last %.1f / "
           "max %.1f MiB, VmRSS baseline %.1f, first %.1f / last %.1f / max %.1f MiB; settle median %" PRIu64
           " ms, max %" PRIu64 " ms; mmap %" PRIu64 ", munmap %" PRIu64 ", madvise %" PRIu64 ", released %.1f MiB\n",
           n, (double)(now_ms() - t_start) / 1000.0, (double)max_peak / 1048576.0,
           (double)first->mapped_after / 1048576.0, (double)last->mapped_after / 1048576.0,
           (double)max_mapped_after / 1048576.0, (double)base_rss / 1048576.0, (double)first->rss_after / 1048576.0,
           (double)last->rss_after / 1048576.0, (double)max_rss_after / 1048576.0, settle[n / 2], settle[n - 1],
           gend.mmap_calls, gend.munmap_calls, gend.madvise_calls, (double)gend.released_bytes / 1048576.0);
    printf("drift: VmRSS outside memctx's top chunks first %.1f / last %.1f MiB; mapped first %.1f / last %.1f MiB\n",
           (double)(first->rss_after - first->resident_after) / 1048576.0,
           (double)(last->rss_after - last->resident_after) / 1048576.0, (double)first->mapped_after / 1048576.0,
           (double)last->mapped_after / 1048576.0);
    if (pin) {
        for (int i = 0; i < PIN_OBJS; i++)
            if (g_pin[i].p) CHECK(stamp_ok(&g_pin[i]));
        CHECK_OK(mcx_delete(pin));
    }
    configure(&o, 0);
    printf("FIGURE soak_cycles=%zu\n", n);
    printf("%s: %ld checks, %d failed\n", th_failures ? "FAIL" : "ok", th_checks, th_failures);
    free(figs);
    free(settle);
    free(g_objs);
    return th_failures ? 1 : 0;
}
