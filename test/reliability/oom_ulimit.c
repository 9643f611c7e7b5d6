/* oom_ulimit.c - owns the real out-of-memory test of the memctx C core: under a small address-space
 * limit (ulimit -v, or RLIMIT_AS set by the program itself with --limit-mib) it allocates until the
 * OS refuses a mapping, and proves that memctx reports MCX_ENOMEM (no abort, no crash), that every
 * structure is valid and every byte already handed out is intact, and that after freeing it goes
 * on allocating; three rounds, with large, small and realloc traffic; at the end everything is
 * deleted and trimmed back to zero mapped bytes.
 *
 * Usage: oom_ulimit [--limit-mib N]
 *   --limit-mib N  set RLIMIT_AS to the current address-space size + N MiB first (so that it
 *                  also works under ASan, whose shadow memory is already reserved). Without it
 *                  the limit comes from the caller (scripts/ulimit-tests.sh runs ulimit -v).
 * Prints "FIGURE enomem_reported=<n>" for scripts/reliability.sh.
 */
#include <sys/resource.h>

#include "harness.h" /* test/c/harness.h: the one C test harness */

#define MAX_OBJS 200000
#define MAX_CTXS 256
#define CAP_BYTES ((uint64_t)8 << 30) /* if the limit does not bite by 8 GiB, it is not in force */

typedef struct obj {
    unsigned char *p;
    size_t size;
    uint64_t id;
    int ctx;
} obj;

static obj *g_objs;
static size_t g_nobjs;
static mcx_context *g_ctxs[MAX_CTXS];
static int g_nctx;
static uint64_t g_next_id;
static uint64_t g_enomem;

static uint64_t vm_size_bytes(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    uint64_t kib = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmSize:", 7) == 0) kib = strtoull(line + 7, NULL, 10);
    fclose(f);
    return kib * 1024;
}

/* Stamp positions: the first and last 64 bytes, and one byte per page between them, so every
 * page is touched (the memory is real) at a small cost. */
static size_t next_pos(size_t i, size_t size) {
    if (i < 64 || i + 64 >= size) return i + 1;
    size_t page_next = i + 4096 - (i % 4096);
    return page_next < size - 64 ? page_next : size - 64;
}
static void stamp(obj *o) {
    for (size_t i = 0; i < o->size; i = next_pos(i, o->size)) o->p[i] = th_pattern_byte(o->id, i);
}
static size_t check_stamp(const obj *o) {
    for (size_t i = 0; i < o->size; i = next_pos(i, o->size))
        if (o->p[i] != th_pattern_byte(o->id, i)) return i;
    return o->size;
}

static void verify_all(const char *when) {
    for (size_t i = 0; i < g_nobjs; i++) {
        size_t bad = check_stamp(&g_objs[i]);
        if (bad != g_objs[i].size) {
            char d[160];
            snprintf(d, sizeof d, "%s: allocation %zu (%zu bytes) lost byte %zu", when, i, g_objs[i].size, bad);
            th_fail(__FILE__, __LINE__, "allocations intact under OOM", d);
            return;
        }
    }
}

static int new_ctx(void) {
    if (g_nctx >= MAX_CTXS) return -1;
    mcx_context_options o;
    memset(&o, 0, sizeof o);
    o.name = "oom";
    o.max_chunk_size = (size_t)1 << 20;
    mcx_context *c = mcx_context_create(NULL, &o);
    if (!c) {
        int e = mcx_errno();
        if (e == MCX_ENOMEM) g_enomem++;
        else {
            char d[120];
            snprintf(d, sizeof d, "mcx_context_create failed with %s", mcx_status_code(e));
            th_fail(__FILE__, __LINE__, "create fails only with MCX_ENOMEM", d);
        }
        return -1;
    }
    g_ctxs[g_nctx] = c;
    return g_nctx++;
}

/* Allocate sizes from pick() into round-robin contexts until MCX_ENOMEM; returns bytes reached. */
static uint64_t fill_until_enomem(size_t (*pick)(th_rng *), th_rng *rng, const char *what) {
    uint64_t bytes = 0;
    for (;;) {
        if (g_nobjs >= MAX_OBJS) {
            th_skip(what, "object table full before the limit was reached");
            return bytes;
        }
        if (g_nctx == 0 || th_below(rng, 8) == 0) {
            if (new_ctx() < 0 && g_nctx == 0) return bytes;
        }
        int c = (int)th_below(rng, (uint64_t)g_nctx);
        size_t size = pick(rng);
        void *p = mcx_alloc(g_ctxs[c], size);
        if (!p) {
            int e = mcx_errno();
            char d[160];
            snprintf(d, sizeof d, "%s: mcx_alloc(%zu) failed with %s after %" PRIu64 " MiB", what, size,
                     mcx_status_code(e), bytes >> 20);
            if (e != MCX_ENOMEM) th_fail(__FILE__, __LINE__, "allocation fails only with MCX_ENOMEM", d);
            else g_enomem++;
            struct mcx_global_stats g = th_global();
            mcx_top_info tops[64];
            size_t ntops = 0;
            uint64_t largest = 0;
            (void)mcx_top_chunks(tops, 64, &ntops);
            for (size_t k = 0; k < ntops && k < 64; k++)
                if (!tops[k].dedicated && tops[k].size > largest) largest = tops[k].size;
            printf("  %s: MCX_ENOMEM for %zu bytes after %" PRIu64 " MiB in %d contexts; mapped %" PRIu64
                   " MiB in %" PRIu64 " top chunks (largest %" PRIu64 " KiB) + %" PRIu64
                   " dedicated, address space %" PRIu64 " MiB\n",
                   what, size, bytes >> 20, g_nctx, g.mapped_bytes >> 20, g.top_chunk_count, largest >> 10,
                   g.dedicated_count, vm_size_bytes() >> 20);
            return bytes;
        }
        obj *o = &g_objs[g_nobjs++];
        o->p = p;
        o->size = size;
        o->id = ++g_next_id;
        o->ctx = c;
        stamp(o);
        bytes += size;
        if (bytes > CAP_BYTES) {
            th_fail(__FILE__, __LINE__, "the address-space limit is in force", "8 GiB allocated without MCX_ENOMEM");
            return bytes;
        }
    }
}

static size_t pick_large(th_rng *r) { return ((size_t)1 << (16 + th_below(r, 8))) + (size_t)th_below(r, 4096); }
static size_t pick_small(th_rng *r) { return 16 + (size_t)th_below(r, 2000); }

/* Drop every object of context c from the table, then delete c. */
static void delete_ctx(int c) {
    size_t w = 0;
    for (size_t i = 0; i < g_nobjs; i++)
        if (g_objs[i].ctx != c) g_objs[w++] = g_objs[i];
    g_nobjs = w;
    CHECK_OK(mcx_delete(g_ctxs[c]));
    g_ctxs[c] = g_ctxs[--g_nctx];
    for (size_t i = 0; i < g_nobjs; i++)
        if (g_objs[i].ctx == g_nctx) g_objs[i].ctx = c;
}

static void check_structures(const char *when) {
    CHECK_OK(mcx_check(NULL));
    for (int c = 0; c < g_nctx; c++) CHECK_OK(mcx_check(g_ctxs[c]));
    verify_all(when);
}

static void oom_rounds(void) {
    th_rng rng;
    th_rng_seed(&rng, 20261126);
    uint64_t first_large = 0;
    for (int round = 0; round < 3; round++) {
        char what[64];
        snprintf(what, sizeof what, "round %d large", round + 1);
        uint64_t reached = fill_until_enomem(pick_large, &rng, what);
        if (round == 0) first_large = reached;
        check_structures(what);
        snprintf(what, sizeof what, "round %d small", round + 1);
        fill_until_enomem(pick_small, &rng, what);
        check_structures(what);
        /* realloc of a live object to something the OS cannot map: refused, the object intact */
        if (g_nobjs > 0) {
            obj *o = &g_objs[g_nobjs - 1];
            void *q = mcx_realloc(o->p, (size_t)2 << 30);
            if (q) {
                th_fail(__FILE__, __LINE__, "realloc to 2 GiB under the limit fails", "it succeeded");
            } else {
                CHECK_STATUS(mcx_errno(), MCX_ENOMEM);
                g_enomem++;
            }
            CHECK_U64(check_stamp(o), ==, o->size);
        }
        /* free half of the contexts and trim: later operations succeed again */
        for (int k = g_nctx / 2; k > 0 && g_nctx > 0; k--) delete_ctx((int)th_below(&rng, (uint64_t)g_nctx));
        (void)mcx_trim();
        check_structures("after freeing half");
        int c = new_ctx();
        CHECK(c >= 0);
        if (c >= 0) {
            void *p = mcx_alloc(g_ctxs[c], (size_t)1 << 20);
            CHECK(p != NULL);
        }
    }
    printf("  first round reached %" PRIu64 " MiB of large allocations before MCX_ENOMEM\n", first_large >> 20);
    while (g_nctx > 0) delete_ctx(g_nctx - 1);
    (void)mcx_trim();
    struct mcx_global_stats g = th_global();
    CHECK_U64(g.mapped_bytes, ==, 0);
    CHECK_U64(g.context_count, ==, 0);
    CHECK_U64(g_enomem, >=, 6);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    long limit_mib = 0;
    for (int a = 1; a + 1 < argc; a++)
        if (strcmp(argv[a], "--limit-mib") == 0) limit_mib = strtol(argv[a + 1], NULL, 10);
    if (th_under_valgrind()) {
        th_skip("oom_ulimit", "valgrind manages the address space itself (RLIMIT_AS is not the guest's)");
        return 0;
    }
    g_objs = calloc(MAX_OBJS, sizeof *g_objs); /* before the limit, outside memctx */
    if (!g_objs) return 1;
    if (limit_mib > 0) {
        struct rlimit rl;
        uint64_t cur = vm_size_bytes();
        rl.rlim_cur = rl.rlim_max = (rlim_t)(cur + ((uint64_t)limit_mib << 20));
        if (setrlimit(RLIMIT_AS, &rl) != 0) {
            perror("setrlimit");
            return 1;
        }
        printf("RLIMIT_AS set to the current %" PRIu64 " MiB + %ld MiB\n", cur >> 20, limit_mib);
    } else {
        struct rlimit rl;
        getrlimit(RLIMIT_AS, &rl);
        if (rl.rlim_cur == RLIM_INFINITY) {
            fprintf(stderr, "oom_ulimit: no address-space limit: run under `ulimit -v` or with --limit-mib N\n");
            return 2;
        }
        printf("address-space limit %" PRIu64 " MiB (ulimit -v), current size %" PRIu64 " MiB\n",
               (uint64_t)rl.rlim_cur >> 20, vm_size_bytes() >> 20);
    }
    static const th_test tests[] = {TH_TEST(oom_rounds)};
    char *args[] = {argv[0]};
    int rc = th_main(1, args, tests, 1);
    printf("FIGURE enomem_reported=%" PRIu64 "\n", g_enomem);
    free(g_objs);
    return rc;
}
