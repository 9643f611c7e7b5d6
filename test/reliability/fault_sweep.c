/* fault_sweep.c - owns the fault-injection sweep of the memctx C core: for each public API that
 * can reach a mapping, a workload of calls to it runs once per N = 1, 2, ... with the Nth mapping
 * from the start of the workload failed (mcx_fault_inject), until a run passes without consuming
 * a fault. Each run proves, at the failed call: a clean MCX_ENOMEM (never a crash, never another
 * code), mcx_check() == MCX_OK, every allocation made so far intact, the statistics consistent;
 * then that the same call succeeds when retried and the rest of the workload succeeds; and after
 * the workload deletes its contexts and mcx_trim() runs, the mapped bytes, chunk bytes, top chunks
 * and live contexts are back to the figures before the run (no leak). The number of N values that
 * consumed a fault is the number of mapping points the API's paths reach.
 *
 * Prints "FIGURE faults_injected=<n>" at the end for scripts/reliability.sh.
 * Usage: fault_sweep [test names...]; MEMCTX_TEST_SCALE shrinks the workloads (valgrind).
 */
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h" /* test/c/harness.h: the one C test harness */

#define MAX_TRACKED 4096
#define MAX_N 400 /* a workload reaching more mapping points than this is itself a bug */

typedef struct tracked {
    unsigned char *p;
    size_t size;
    uint64_t id;
} tracked;

typedef struct sweep {
    unsigned n;             /* the mapping to fail, counted from sweep_arm */
    int armed;
    int failures;           /* calls that failed with the injected fault in this run */
    mcx_context *root;      /* checked with mcx_check after each failure */
    tracked objs[MAX_TRACKED];
    size_t nobjs;
    uint64_t next_id;
    uint64_t expected_contexts; /* contexts the workload should have alive (global count) */
    uint64_t base_contexts;
} sweep;

static uint64_t g_total_faults;
static char g_sites_report[2048];

static void sweep_arm(sweep *s) {
    s->armed = 1;
    mcx_fault_inject(s->n, 0);
}

static void sweep_disarm(sweep *s) {
    s->armed = 0;
    mcx_fault_inject(0, 0);
}

/* Allocations carry their pattern in the first and last STAMP bytes: enough to see one moved,
 * lost or overwritten by bookkeeping, and cheap enough to sweep hundreds of runs. */
#define STAMP 128
static void stamp_fill(unsigned char *p, size_t size, uint64_t id) {
    size_t head = size < STAMP ? size : STAMP;
    th_fill(p, head, id);
    if (size > head) th_fill(p + size - (size - head < STAMP ? size - head : STAMP),
                             size - head < STAMP ? size - head : STAMP, id + 0x5a5a);
}
static int stamp_ok(const unsigned char *p, size_t size, uint64_t id) {
    size_t head = size < STAMP ? size : STAMP;
    if (th_verify(p, head, id) != head) return 0;
    if (size > head) {
        size_t tail = size - head < STAMP ? size - head : STAMP;
        if (th_verify(p + size - tail, tail, id + 0x5a5a) != tail) return 0;
    }
    return 1;
}

static void track(sweep *s, void *p, size_t size) {
    if (s->nobjs >= MAX_TRACKED) return;
    tracked *t = &s->objs[s->nobjs++];
    t->p = p;
    t->size = size;
    t->id = ++s->next_id;
    stamp_fill(p, size, t->id);
}

static void untrack(sweep *s, void *p) {
    for (size_t i = 0; i < s->nobjs; i++)
        if (s->objs[i].p == p) {
            s->objs[i] = s->objs[--s->nobjs];
            return;
        }
}

static void verify_tracked(sweep *s, const char *when) {
    for (size_t i = 0; i < s->nobjs; i++) {
        if (!stamp_ok(s->objs[i].p, s->objs[i].size, s->objs[i].id)) {
            char d[200];
            snprintf(d, sizeof d, "%s: allocation of %zu bytes at %p changed (N=%u)", when, s->objs[i].size,
                     (void *)s->objs[i].p, s->n);
            th_fail(__FILE__, __LINE__, "allocation intact", d);
            return;
        }
    }
}

/* A call failed (status given). It must be the injected fault, cleanly reported, with every
 * structure valid and every allocation intact. Returns 1 when the caller should retry. */
static int sweep_failed(sweep *s, int status, uint64_t faults_before, const char *what) {
    char d[240];
    if (status != MCX_ENOMEM) {
        snprintf(d, sizeof d, "%s failed with %d (%s) at N=%u, expected MCX_ENOMEM", what, status,
                 mcx_status_code(status), s->n);
        th_fail(__FILE__, __LINE__, "clean out-of-memory error", d);
        return 0;
    }
    if (mcx_faults_injected() == faults_before) {
        snprintf(d, sizeof d, "%s returned MCX_ENOMEM at N=%u but no fault was injected during the call", what, s->n);
        th_fail(__FILE__, __LINE__, "MCX_ENOMEM only from the injected fault", d);
        return 0;
    }
    s->failures++;
    CHECK_OK(mcx_check(NULL));
    if (s->root) CHECK_OK(mcx_check(s->root));
    verify_tracked(s, what);
    struct mcx_global_stats g = th_global();
    if (g.context_count != s->expected_contexts) {
        snprintf(d, sizeof d, "%s failed at N=%u and left %" PRIu64 " contexts alive, expected %" PRIu64, what, s->n,
                 g.context_count, s->expected_contexts);
        th_fail(__FILE__, __LINE__, "a failed call leaves the context count unchanged", d);
    }
    if (s->failures > 1) {
        snprintf(d, sizeof d, "%s failed again at N=%u after the one injected fault (retry must succeed)", what, s->n);
        th_fail(__FILE__, __LINE__, "later operations succeed", d);
        return 0;
    }
    return 1;
}

/* Call a pointer-returning expression; on failure check it and retry once. */
#define SWEEP_PTR(s, var, expr, what)                                                   \
    do {                                                                                \
        for (int sw_try_ = 0; sw_try_ < 2; sw_try_++) {                                 \
            uint64_t sw_f_ = mcx_faults_injected();                                     \
            (var) = (expr);                                                             \
            if ((var) != NULL) break;                                                   \
            if (!sweep_failed((s), mcx_errno(), sw_f_, (what))) break;                  \
        }                                                                               \
    } while (0)

#define SWEEP_INT(s, st, expr, what)                                                    \
    do {                                                                                \
        for (int sw_try_ = 0; sw_try_ < 2; sw_try_++) {                                 \
            uint64_t sw_f_ = mcx_faults_injected();                                     \
            (st) = (expr);                                                              \
            if ((st) == MCX_OK) break;                                                  \
            if (!sweep_failed((s), (st), sw_f_, (what))) break;                         \
        }                                                                               \
    } while (0)

static mcx_context *make_ctx(mcx_context *parent, const char *name, size_t initial, size_t max_chunk) {
    mcx_context_options o;
    memset(&o, 0, sizeof o);
    o.name = name;
    o.initial_size = initial;
    o.max_chunk_size = max_chunk;
    return mcx_context_create(parent, &o);
}

/* ---- workloads: each arms injection right before the calls of its API ----------------------- */

/* mcx_context_create: roots and children with first chunks from 4 KiB to 4 MiB (top-chunk
 * growth, dedicated mappings, vector and page-map growth). */
static void wl_create(sweep *s) {
    static const size_t initial[] = {4096, 8192, 65536, 262144, (size_t)1 << 20, (size_t)4 << 20};
    mcx_context *made[64];
    size_t n = th_scaled(48, 12);
    sweep_arm(s);
    for (size_t i = 0; i < n; i++) {
        /* groups of three: a root and two children of it */
        mcx_context *parent = i % 3 == 0 ? NULL : made[i - i % 3];
        size_t init = initial[i % 6];
        mcx_context *c;
        SWEEP_PTR(s, c, make_ctx(parent, "sweep-create", init, init > ((size_t)1 << 20) ? init : 0),
                  "mcx_context_create");
        REQUIRE(c != NULL);
        made[i] = c;
        s->expected_contexts++;
        if (!s->root) s->root = c;
        void *p; /* the new context works */
        SWEEP_PTR(s, p, mcx_alloc(c, 100), "mcx_alloc in a new context");
        REQUIRE(p != NULL);
        track(s, p, 100);
    }
    sweep_disarm(s);
    verify_tracked(s, "end of workload");
    for (size_t i = 0; i < n; i += 3) CHECK_OK(mcx_delete(made[i])); /* the roots */
}

/* mcx_alloc, mcx_alloc_zero, mcx_alloc_aligned: many small objects (the forwarding chain), then
 * sizes up to 16 MiB (new top chunks, dedicated mappings). */
static void wl_alloc_kind(sweep *s, int kind) {
    mcx_context *ctx = make_ctx(NULL, "sweep-alloc", 0, 0);
    REQUIRE(ctx != NULL);
    s->root = ctx;
    s->expected_contexts++;
    static const size_t big[] = {4096, 65536, 262144, (size_t)1 << 20, (size_t)4 << 20, (size_t)16 << 20};
    size_t small_count = th_scaled(3000, 300), mib_count = 3;
    th_rng rng;
    th_rng_seed(&rng, 42 + (uint64_t)kind);
    const char *what = kind == 0 ? "mcx_alloc" : kind == 1 ? "mcx_alloc_zero" : "mcx_alloc_aligned";
    sweep_arm(s);
    for (size_t i = 0; i < small_count + 6 + mib_count; i++) {
        size_t size = i < small_count ? 16 + (size_t)th_below(&rng, 241)
                    : i < small_count + 6 ? big[i - small_count] : (size_t)1 << 20;
        size_t align = (size_t)1 << (i % 13);
        void *p;
        if (kind == 0) SWEEP_PTR(s, p, mcx_alloc(ctx, size), what);
        else if (kind == 1) SWEEP_PTR(s, p, mcx_alloc_zero(ctx, size), what);
        else SWEEP_PTR(s, p, mcx_alloc_aligned(ctx, size, align), what);
        REQUIRE(p != NULL);
        if (kind == 1) {
            const unsigned char *b = p;
            size_t nz = 0;
            for (size_t k = 0; k < size; k++) nz += b[k] != 0;
            CHECK_U64(nz, ==, 0);
        }
        if (kind == 2) CHECK_U64((uintptr_t)p % align, ==, 0);
        track(s, p, size);
        /* free some, so that free-list reuse is part of the path */
        if (i % 7 == 3 && i < small_count) {
            void *q = s->objs[s->nobjs - 2].p;
            untrack(s, q);
            CHECK_OK(mcx_free(q));
        }
    }
    sweep_disarm(s);
    verify_tracked(s, "end of workload");
    CHECK_OK(mcx_delete(ctx));
}
static void wl_alloc(sweep *s) { wl_alloc_kind(s, 0); }
static void wl_alloc_zero(sweep *s) { wl_alloc_kind(s, 1); }
static void wl_alloc_aligned(sweep *s) { wl_alloc_kind(s, 2); }

/* mcx_realloc: one allocation grown by doubling from 16 B to 32 MiB and shrunk back, beside a
 * population of small ones resized up and down. */
static void wl_realloc(sweep *s) {
    mcx_context *ctx = make_ctx(NULL, "sweep-realloc", 0, 0);
    REQUIRE(ctx != NULL);
    s->root = ctx;
    s->expected_contexts++;
    unsigned char *p = mcx_alloc(ctx, 16);
    REQUIRE(p != NULL);
    size_t size = 16;
    stamp_fill(p, size, 7777);
    sweep_arm(s);
    for (size_t target = 32; target <= ((size_t)32 << 20); target *= 2) {
        unsigned char *q;
        SWEEP_PTR(s, q, mcx_realloc(p, target), "mcx_realloc (grow)");
        if (!q) CHECK(stamp_ok(p, size, 7777)); /* the old one stays valid */
        REQUIRE(q != NULL);
        CHECK(stamp_ok(q, size, 7777));
        /* the kept bytes are the old head; restamp for the new size */
        stamp_fill(q, target, 7777);
        p = q;
        size = target;
    }
    for (size_t target = size / 4; target >= 64; target /= 4) {
        unsigned char *q;
        SWEEP_PTR(s, q, mcx_realloc(p, target), "mcx_realloc (shrink)");
        REQUIRE(q != NULL);
        CHECK_U64(th_verify(q, target < STAMP ? target : STAMP, 7777), ==, target < STAMP ? target : STAMP);
        stamp_fill(q, target, 7777);
        p = q;
        size = target;
    }
    th_rng rng;
    th_rng_seed(&rng, 9);
    size_t count = th_scaled(1500, 200);
    for (size_t i = 0; i < count; i++) {
        void *a;
        SWEEP_PTR(s, a, mcx_alloc(ctx, 16 + (size_t)th_below(&rng, 200)), "mcx_alloc (realloc workload)");
        REQUIRE(a != NULL);
        size_t ns = (size_t)th_below(&rng, 3000);
        void *b;
        SWEEP_PTR(s, b, mcx_realloc(a, ns), "mcx_realloc (small)");
        REQUIRE(b != NULL);
        track(s, b, ns);
    }
    sweep_disarm(s);
    CHECK(stamp_ok(p, size, 7777));
    verify_tracked(s, "end of workload");
    CHECK_OK(mcx_delete(ctx));
}

/* mcx_span_reserve: reserves from 1 KiB to 4 MiB, each bumped into and committed. */
static void wl_span(sweep *s) {
    mcx_context *ctx = make_ctx(NULL, "sweep-span", 4096, 0);
    REQUIRE(ctx != NULL);
    s->root = ctx;
    s->expected_contexts++;
    sweep_arm(s);
    size_t rounds = th_scaled(400, 60);
    for (size_t i = 0; i < rounds; i++) {
        size_t want = i % 50 == 49 ? ((size_t)4 << 20) >> (i % 4) : 512 + (i * 977) % 30000;
        mcx_span sp;
        int st;
        SWEEP_INT(s, st, mcx_span_reserve(ctx, want, &sp), "mcx_span_reserve");
        REQUIRE(st == MCX_OK);
        REQUIRE(sp.chunk_bytes - sp.offset >= want);
        size_t at = (sp.offset + 15) & ~(size_t)15;
        size_t n = want < sp.chunk_bytes - at ? want : sp.chunk_bytes - at;
        track(s, (char *)sp.chunk_data + at, n);
        CHECK_OK(mcx_span_commit(ctx, at + n, 0));
    }
    sweep_disarm(s);
    verify_tracked(s, "end of workload");
    CHECK_OK(mcx_delete(ctx));
}

static int g_cb_runs;
static void count_cb(void *arg) {
    (void)arg;
    g_cb_runs++;
}

/* mcx_register_reset_callback: thousands of registrations (their records may take memory). */
static void wl_callbacks(sweep *s) {
    mcx_context *ctx = make_ctx(NULL, "sweep-callbacks", 4096, 0);
    REQUIRE(ctx != NULL);
    s->root = ctx;
    s->expected_contexts++;
    size_t n = th_scaled(4000, 500);
    size_t registered = 0;
    g_cb_runs = 0;
    sweep_arm(s);
    for (size_t i = 0; i < n; i++) {
        int st;
        SWEEP_INT(s, st, mcx_register_reset_callback(ctx, count_cb, NULL), "mcx_register_reset_callback");
        REQUIRE(st == MCX_OK);
        registered++;
    }
    sweep_disarm(s);
    CHECK_OK(mcx_delete(ctx));
    CHECK_U64(g_cb_runs, ==, registered); /* each registered callback ran once; failed ones never */
}

/* mcx_configure then allocation: a new first top-chunk size takes effect on the next mapping. */
static void wl_configure(sweep *s) {
    mcx_config saved, cfg;
    mcx_config_get(&saved);
    cfg = saved;
    cfg.top_chunk_size = (size_t)256 << 10;
    cfg.max_top_chunk_size = (size_t)4 << 20;
    cfg.retain_bytes = 0;
    cfg.decay_ms = 0;
    mcx_context *ctx = make_ctx(NULL, "sweep-configure", 0, 0);
    REQUIRE(ctx != NULL);
    s->root = ctx;
    s->expected_contexts++;
    sweep_arm(s);
    int st;
    SWEEP_INT(s, st, mcx_configure(&cfg), "mcx_configure");
    CHECK_OK(st);
    size_t count = th_scaled(2000, 300);
    for (size_t i = 0; i < count; i++) {
        void *p;
        SWEEP_PTR(s, p, mcx_alloc(ctx, 1000 + i % 3000), "mcx_alloc after mcx_configure");
        REQUIRE(p != NULL);
        track(s, p, 1000 + i % 3000);
    }
    sweep_disarm(s);
    verify_tracked(s, "end of workload");
    CHECK_OK(mcx_delete(ctx));
    CHECK_OK(mcx_configure(&saved));
}

/* Calls that should not map at all: reset, delete, set_parent, free, the statistics, trim,
 * maintain, check. Armed at N=1, they must either consume no fault or handle it cleanly. */
static void wl_nomap(sweep *s) {
    mcx_context *a = make_ctx(NULL, "sweep-a", 0, 0);
    mcx_context *b = a ? make_ctx(a, "sweep-b", 0, 0) : NULL;
    mcx_context *c = b ? make_ctx(NULL, "sweep-c", 65536, 0) : NULL;
    REQUIRE(c != NULL);
    s->root = a;
    s->expected_contexts += 3;
    void *ps[64];
    for (int i = 0; i < 64; i++) {
        ps[i] = mcx_alloc(i % 2 ? b : a, (size_t)1 << (4 + i % 17));
        REQUIRE(ps[i] != NULL);
    }
    void *big = mcx_alloc(c, (size_t)8 << 20);
    REQUIRE(big != NULL);
    sweep_arm(s);
    int st;
    for (int i = 0; i < 64; i += 2) SWEEP_INT(s, st, mcx_free(ps[i]), "mcx_free");
    SWEEP_INT(s, st, mcx_set_parent(c, b), "mcx_set_parent");
    SWEEP_INT(s, st, mcx_free(big), "mcx_free (large)");
    struct mcx_context_stats cs;
    SWEEP_INT(s, st, mcx_context_stats(a, &cs), "mcx_context_stats");
    mcx_chunk_info ci[8];
    size_t count;
    SWEEP_INT(s, st, mcx_context_chunks(a, ci, 8, &count), "mcx_context_chunks");
    mcx_top_info ti[8];
    SWEEP_INT(s, st, mcx_top_chunks(ti, 8, &count), "mcx_top_chunks");
    struct mcx_global_stats g;
    mcx_global_stats(&g);
    (void)mcx_resident_bytes();
    SWEEP_INT(s, st, mcx_check(a), "mcx_check");
    SWEEP_INT(s, st, mcx_reset(b), "mcx_reset");
    s->expected_contexts -= 1; /* c, now a child of b, went with the reset */
    (void)mcx_maintain(mcx_now_ms() + 100000);
    (void)mcx_trim();
    SWEEP_INT(s, st, mcx_delete(b), "mcx_delete (child)");
    s->expected_contexts -= 1;
    SWEEP_INT(s, st, mcx_delete(a), "mcx_delete (root)");
    sweep_disarm(s);
}

/* First use of the library in a fresh process: the first top chunk, the top-chunk vector's
 * storage and the page-map leaves are mapped here and only here (they are kept for the life of
 * the process), so this workload runs in a forked child per N (run_sweep_forked). */
static void wl_first_use(sweep *s) {
    sweep_arm(s);
    mcx_context *ctx;
    SWEEP_PTR(s, ctx, make_ctx(NULL, "sweep-first", 0, 0), "mcx_context_create (first use)");
    REQUIRE(ctx != NULL);
    s->root = ctx;
    s->expected_contexts++;
    for (int i = 0; i < 200; i++) {
        void *p;
        SWEEP_PTR(s, p, mcx_alloc(ctx, 16 + (size_t)i * 40), "mcx_alloc (first use)");
        REQUIRE(p != NULL);
        track(s, p, 16 + (size_t)i * 40);
    }
    void *big;
    SWEEP_PTR(s, big, mcx_alloc(ctx, (size_t)2 << 20), "mcx_alloc 2 MiB (first use)");
    REQUIRE(big != NULL);
    track(s, big, (size_t)2 << 20);
    sweep_disarm(s);
    verify_tracked(s, "end of workload");
    CHECK_OK(mcx_delete(ctx));
}

/* Growth of the top-chunk vector (512 entries at first, doubled when full): with 256 KiB top
 * chunks, one context with a 128 KiB first chunk per top chunk, 508 are made unarmed, then the
 * armed creations cross 512. The vector's storage is kept once grown, so this runs forked too. */
static void wl_vector_growth(sweep *s) {
    mcx_config cfg;
    mcx_config_get(&cfg);
    cfg.top_chunk_size = (size_t)256 << 10;
    cfg.max_top_chunk_size = (size_t)256 << 10;
    cfg.retain_bytes = 0;
    cfg.decay_ms = 0;
    CHECK_OK(mcx_configure(&cfg));
    static mcx_context *made[600];
    size_t n = 0;
    while (th_global().top_chunk_count < 508 && n < 600) {
        made[n] = make_ctx(NULL, "sweep-vector", (size_t)128 << 10, 0);
        REQUIRE(made[n] != NULL);
        n++;
        s->expected_contexts++;
    }
    s->root = made[0];
    sweep_arm(s);
    while (th_global().top_chunk_count < 520 && n < 600) {
        SWEEP_PTR(s, made[n], make_ctx(NULL, "sweep-vector", (size_t)128 << 10, 0), "mcx_context_create (vector growth)");
        REQUIRE(made[n] != NULL);
        n++;
        s->expected_contexts++;
    }
    sweep_disarm(s);
    CHECK_U64(th_global().top_chunk_count, >=, 513);
    for (size_t i = 0; i < n; i++) CHECK_OK(mcx_delete(made[i]));
}

/* ---- the sweep driver -------------------------------------------------------------------- */
typedef struct snapshot {
    uint64_t mapped, chunk, tops, contexts, meta;
} snapshot;

static snapshot take_snapshot(void) {
    (void)mcx_trim();
    struct mcx_global_stats g = th_global();
    snapshot sn = {g.mapped_bytes, g.chunk_bytes, g.top_chunk_count, g.context_count, g.meta_bytes};
    return sn;
}

static void run_sweep(const char *api, void (*wl)(sweep *)) {
    static sweep s; /* large: keep it off the stack */
    /* one unfaulted run first: lazily created bookkeeping (vector, page map) exists after it,
     * so the start figure is the steady state */
    memset(&s, 0, sizeof s);
    s.n = 1000000;
    s.base_contexts = s.expected_contexts = th_global().context_count;
    wl(&s);
    mcx_fault_inject(0, 0);
    snapshot start = take_snapshot();
    unsigned sites = 0;
    uint64_t faults_api = 0;
    unsigned n;
    for (n = 1; n <= MAX_N; n++) {
        memset(&s, 0, sizeof s);
        s.n = n;
        s.base_contexts = s.expected_contexts = start.contexts;
        uint64_t f0 = mcx_faults_injected();
        struct mcx_global_stats g0 = th_global();
        int failures_before = th_test_failures;
        wl(&s);
        mcx_fault_inject(0, 0);
        uint64_t consumed = mcx_faults_injected() - f0;
        struct mcx_global_stats g1 = th_global();
        CHECK_U64(g1.map_failures - g0.map_failures, ==, consumed);
        snapshot end = take_snapshot();
        if (end.mapped != start.mapped || end.chunk != start.chunk || end.tops != start.tops ||
            end.contexts != start.contexts) {
            char d[300];
            snprintf(d, sizeof d,
                     "%s, N=%u: after delete + trim mapped %" PRIu64 " (start %" PRIu64 "), chunk %" PRIu64
                     " (%" PRIu64 "), top chunks %" PRIu64 " (%" PRIu64 "), contexts %" PRIu64 " (%" PRIu64 ")",
                     api, n, end.mapped, start.mapped, end.chunk, start.chunk, end.tops, start.tops, end.contexts,
                     start.contexts);
            th_fail(__FILE__, __LINE__, "no leak after a failed mapping", d);
        }
        if (th_test_failures != failures_before) {
            printf("  %s: first failure at N=%u (see above)\n", api, n);
            break;
        }
        if (consumed == 0) break; /* the workload needs fewer than n mappings: all points done */
        if (s.failures == 0) {
            /* the fault was consumed by a call that still succeeded (a fallback path): fine */
        }
        faults_api += consumed;
        sites++;
    }
    if (n > MAX_N) th_fail(__FILE__, __LINE__, "sweep ends", "more than MAX_N mapping points reached");
    g_total_faults += faults_api;
    struct mcx_global_stats g = th_global();
    printf("  %-28s mapping points reached %3u, faults injected %4" PRIu64 ", meta bytes %" PRIu64 " (start %" PRIu64 ")\n",
           api, sites, faults_api, g.meta_bytes, start.meta);
    size_t len = strlen(g_sites_report);
    snprintf(g_sites_report + len, sizeof g_sites_report - len, "%s%s=%u", len ? " " : "", api, sites);
}

/* One run per N in a forked child, so that every run starts from a fresh library (nothing mapped,
 * no vector, no page map). The child's exit status: 0 no fault consumed, 10 a fault consumed, 1 a
 * check failed (its messages are on stderr). */
static void run_sweep_forked(const char *api, void (*wl)(sweep *)) {
    static sweep s;
    unsigned sites = 0, n;
    for (n = 1; n <= MAX_N; n++) {
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) {
            th_fail(__FILE__, __LINE__, "fork", "fork failed");
            return;
        }
        if (pid == 0) {
            memset(&s, 0, sizeof s);
            s.n = n;
            uint64_t f0 = mcx_faults_injected();
            wl(&s);
            mcx_fault_inject(0, 0);
            uint64_t consumed = mcx_faults_injected() - f0;
            (void)mcx_trim();
            struct mcx_global_stats g = th_global();
            if (g.mapped_bytes || g.chunk_bytes || g.top_chunk_count || g.dedicated_count || g.context_count) {
                char d[240];
                snprintf(d, sizeof d,
                         "%s, N=%u: after delete + trim mapped %" PRIu64 ", chunk %" PRIu64 ", top chunks %" PRIu64
                         ", dedicated %" PRIu64 ", contexts %" PRIu64 " (all should be 0)",
                         api, n, g.mapped_bytes, g.chunk_bytes, g.top_chunk_count, g.dedicated_count, g.context_count);
                th_fail(__FILE__, __LINE__, "no leak after a failed mapping", d);
            }
            fflush(stdout);
            exit(th_failures ? 1 : consumed ? 10 : 0);
        }
        int status = 0;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 10)) {
            char d[160];
            snprintf(d, sizeof d, "%s, N=%u: the child %s %d", api, n,
                     WIFSIGNALED(status) ? "died of signal" : "exited with", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            th_fail(__FILE__, __LINE__, "a run with an injected fault ends cleanly", d);
            break;
        }
        if (WEXITSTATUS(status) == 0) break;
        sites++;
    }
    if (n > MAX_N) th_fail(__FILE__, __LINE__, "sweep ends", "more than MAX_N mapping points reached");
    g_total_faults += sites; /* one injected fault per consuming run */
    printf("  %-28s mapping points reached %3u, faults injected %4u (fresh process per run)\n", api, sites, sites);
    size_t len = strlen(g_sites_report);
    snprintf(g_sites_report + len, sizeof g_sites_report - len, "%s%s=%u", len ? " " : "", api, sites);
}

static void sweep_first_use(void) { run_sweep_forked("first use (fresh process)", wl_first_use); }
static void sweep_vector_growth(void) { run_sweep_forked("top-chunk vector growth", wl_vector_growth); }
static void sweep_context_create(void) { run_sweep("mcx_context_create", wl_create); }
static void sweep_alloc(void) { run_sweep("mcx_alloc", wl_alloc); }
static void sweep_alloc_zero(void) { run_sweep("mcx_alloc_zero", wl_alloc_zero); }
static void sweep_alloc_aligned(void) { run_sweep("mcx_alloc_aligned", wl_alloc_aligned); }
static void sweep_realloc(void) { run_sweep("mcx_realloc", wl_realloc); }
static void sweep_span_reserve(void) { run_sweep("mcx_span_reserve", wl_span); }
static void sweep_reset_callback(void) { run_sweep("mcx_register_reset_callback", wl_callbacks); }
static void sweep_configure(void) { run_sweep("mcx_configure", wl_configure); }
static void sweep_no_mapping_calls(void) { run_sweep("free/reset/delete/stats/trim", wl_nomap); }

int main(int argc, char **argv) {
    /* the forked sweeps first: their children must inherit a library that has mapped nothing */
    static const th_test tests[] = {
        TH_TEST(sweep_first_use),      TH_TEST(sweep_vector_growth),
        TH_TEST(sweep_context_create), TH_TEST(sweep_alloc),          TH_TEST(sweep_alloc_zero),
        TH_TEST(sweep_alloc_aligned),  TH_TEST(sweep_realloc),        TH_TEST(sweep_span_reserve),
        TH_TEST(sweep_reset_callback), TH_TEST(sweep_configure),      TH_TEST(sweep_no_mapping_calls),
    };
    int rc = th_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
    printf("fault sweep: %" PRIu64 " faults injected (%" PRIu64 " by the library's counter); mapping points: %s\n",
           g_total_faults, mcx_faults_injected(), g_sites_report);
    printf("FIGURE faults_injected=%" PRIu64 "\n", g_total_faults);
    return rc;
}
