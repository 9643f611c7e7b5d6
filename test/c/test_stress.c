/* test_stress.c - deterministic random-operation stress test against a simple model.
 *
 * Usage: test_stress [iterations [seed]]  (iterations are scaled by MEMCTX_TEST_SCALE)
 *
 * A seeded PRNG drives alloc / alloc_zero / aligned / free / realloc / reset / delete / create /
 * set_parent (cycles included, which must be refused) / reset callbacks / trim / maintain with a
 * moving clock over a few context trees. The model keeps every live allocation (its context,
 * size and an id whose byte pattern fills it) and the tree. Every allocation is verified before it
 * is freed or reallocated, before its context is reset or deleted, and at the end; after every
 * step mcx_check passes on every root and the touched context's statistics agree with the model.
 * The first failure prints the step and the operation, so a seed reproduces it.
 */
#include "harness.h"

enum { MAXC = 24, MAXA = 2000 };

typedef struct mctx {
    mcx_context *h;
    int parent; /* slot, -1 for a root */
    int alive;
    int callbacks; /* registered and not yet run */
    uint64_t pad;  /* alignment padding since the last reset: it stays bumped (used) */
} mctx;

typedef struct malloc_rec {
    unsigned char *p;
    size_t size;
    size_t cap; /* largest size it had in place: a shrinking realloc keeps the room */
    size_t align;
    int ctx;
    uint64_t id;
} malloc_rec;

static mctx C[MAXC];
static malloc_rec A[MAXA];
static size_t nA;
static th_rng R;
static uint64_t next_id = 1;
static uint64_t step;
static const char *op_name = "";
static int callbacks_run;
static int stop; /* set at the first failure: later steps would only repeat it */

static void cb_count(void *arg) {
    (void)arg;
    callbacks_run++;
}

#define SCHECK(expr)                                                                           \
    do {                                                                                       \
        th_checks++;                                                                           \
        if (!(expr)) {                                                                         \
            char d_[96];                                                                       \
            snprintf(d_, sizeof d_, "step %" PRIu64 ", op %s", step, op_name);                 \
            th_fail(__FILE__, __LINE__, #expr, d_);                                            \
            stop = 1;                                                                          \
        }                                                                                      \
    } while (0)

static int is_descendant(int c, int of) { /* c in the subtree of of (c == of included) */
    for (int x = c; x >= 0; x = C[x].parent)
        if (x == of) return 1;
    return 0;
}

static int pick_live_ctx(void) {
    for (int tries = 0; tries < 100; tries++) {
        int c = (int)th_below(&R, MAXC);
        if (C[c].alive) return c;
    }
    return 0; /* slot 0 is always alive */
}

static size_t pick_size(void) {
    uint64_t r = th_below(&R, 100);
    if (r < 5) return 0;
    if (r < 70) return (size_t)th_below(&R, 257);
    if (r < 90) return 257 + (size_t)th_below(&R, 4096 - 257);
    if (r < 98) return 4096 + (size_t)th_below(&R, 60000);
    return 64 * TH_KiB + (size_t)th_below(&R, TH_MiB); /* above most large thresholds */
}

static void verify_alloc(size_t i) {
    SCHECK(th_verify(A[i].p, A[i].size, A[i].id) == A[i].size);
    SCHECK(mcx_context_of(A[i].p) == C[A[i].ctx].h);
    SCHECK(mcx_alloc_size(A[i].p) == A[i].size);
}

static void remove_alloc(size_t i) { A[i] = A[--nA]; }

static void add_alloc(void *p, size_t size, size_t align, int c) {
    A[nA].p = (unsigned char *)p;
    A[nA].size = size;
    A[nA].cap = size;
    A[nA].align = align;
    A[nA].ctx = c;
    A[nA].id = next_id++;
    th_fill(p, size, A[nA].id);
    nA++;
}

/* Model and checks for reset (keep = 1) or delete (keep = 0) of slot c. */
static void drop_subtree(int c, int keep) {
    int expected_callbacks = 0;
    for (int x = 0; x < MAXC; x++)
        if (C[x].alive && is_descendant(x, c)) expected_callbacks += C[x].callbacks;
    /* Verify everything that is about to go. */
    for (size_t i = 0; i < nA; i++)
        if (is_descendant(A[i].ctx, c)) verify_alloc(i);
    int before = callbacks_run;
    uint64_t contexts_before = th_global().context_count;
    int st = keep ? mcx_reset(C[c].h) : mcx_delete(C[c].h);
    SCHECK(st == MCX_OK);
    SCHECK(callbacks_run - before == expected_callbacks);
    for (size_t i = nA; i-- > 0;)
        if (is_descendant(A[i].ctx, c)) remove_alloc(i);
    int gone = 0;
    /* Mark descendants dead, deepest last is fine since is_descendant reads parents only. */
    int dead[MAXC] = {0};
    for (int x = 0; x < MAXC; x++)
        if (C[x].alive && is_descendant(x, c) && (x != c || !keep)) dead[x] = 1;
    for (int x = 0; x < MAXC; x++)
        if (dead[x]) {
            C[x].alive = 0;
            C[x].h = NULL;
            gone++;
        }
    C[c].callbacks = 0;
    C[c].pad = 0;
    SCHECK(th_global().context_count == contexts_before - (uint64_t)gone);
    if (keep) {
        SCHECK(mcx_first_child(C[c].h) == NULL);
        struct mcx_context_stats s = th_ctx_stats(C[c].h);
        SCHECK(s.chunk_count == 1 && s.large_count == 0 && s.child_count == 0);
    }
}

/* Statistics of slot c agree with the model. */
static void check_ctx_stats(int c) {
    struct mcx_context_stats s;
    SCHECK(mcx_context_stats(C[c].h, &s) == MCX_OK);
    uint64_t live = 0, bound = 0, n = 0;
    for (size_t i = 0; i < nA; i++) {
        if (A[i].ctx != c) continue;
        n++;
        live += A[i].size;
        /* A free-list object comes from the class at or above the need and may be up to the
         * next class's size: above 256 B, classes are a quarter apart, so up to 1.5625x. */
        uint64_t need = (A[i].cap + 1 + 15) & ~(size_t)15;
        bound += need + need * 5 / 8 + 32 + (A[i].align > 16 ? A[i].align : 0);
    }
    SCHECK(s.used_bytes + s.free_bytes == s.total_bytes);
    SCHECK(s.used_bytes >= live);
    /* Headers, padding and the chunk headers are bounded; the keeper holds the context itself. */
    uint64_t upper = bound + C[c].pad + s.chunk_count * 64 + s.large_count * (64 + 4096) + 2048;
    SCHECK(s.used_bytes <= upper);
    if (s.used_bytes > upper)
        printf("  context slot %d: used %" PRIu64 " > bound %" PRIu64 " (%" PRIu64
               " allocations, %" PRIu64 " bytes asked, %" PRIu64 " chunks, %" PRIu64 " large)\n",
               c, s.used_bytes, upper, n, live, s.chunk_count, s.large_count);
    int kids = 0;
    for (int x = 0; x < MAXC; x++) kids += C[x].alive && C[x].parent == c;
    SCHECK(s.child_count == (uint64_t)kids);
}

static void check_all_roots(void) {
    for (int x = 0; x < MAXC; x++)
        if (C[x].alive && C[x].parent < 0) SCHECK(mcx_check(C[x].h) == MCX_OK);
}

static int create_in(int slot, int parent) {
    mcx_context_options o;
    memset(&o, 0, sizeof o);
    o.name = "stress";
    o.initial_size = (size_t)4096 << th_below(&R, 5);             /* 4 KiB .. 64 KiB */
    o.max_chunk_size = o.initial_size << (1 + th_below(&R, 5)); /* up to 32x */
    C[slot].h = mcx_context_create(parent >= 0 ? C[parent].h : NULL, &o);
    SCHECK(C[slot].h != NULL);
    if (!C[slot].h) return 0;
    C[slot].alive = 1;
    C[slot].parent = parent;
    C[slot].callbacks = 0;
    C[slot].pad = 0;
    return 1;
}

static void run(uint64_t iterations, uint64_t seed) {
    th_rng_seed(&R, seed);
    memset(C, 0, sizeof C);
    nA = 0;
    uint64_t clock = mcx_now_ms();
    create_in(0, -1);
    if (!C[0].h) return;
    uint64_t counts[16] = {0};
    for (step = 1; step <= iterations && !stop; step++) {
        uint64_t r = th_below(&R, 1000);
        int touched = -1;
        if (r < 300 || nA == 0) { /* alloc / alloc_zero / aligned */
            if (nA >= MAXA) goto do_free;
            int c = pick_live_ctx();
            size_t size = pick_size();
            uint64_t kind = th_below(&R, 10);
            void *p;
            size_t align = 16;
            if (kind < 6) {
                op_name = "alloc";
                p = mcx_alloc(C[c].h, size);
            } else if (kind < 8) {
                op_name = "alloc_zero";
                p = mcx_alloc_zero(C[c].h, size);
                if (p) {
                    size_t nz = 0;
                    for (size_t k = 0; k < size; k++) nz += ((unsigned char *)p)[k] != 0;
                    SCHECK(nz == 0);
                }
            } else {
                op_name = "aligned";
                align = (size_t)1 << th_below(&R, 13);
                p = mcx_alloc_aligned(C[c].h, size, align);
                if (p) SCHECK(((uintptr_t)p & (align - 1)) == 0);
                if (align > 16) C[c].pad += align;
            }
            SCHECK(p != NULL);
            if (!p) break;
            SCHECK(((uintptr_t)p & 15) == 0);
            add_alloc(p, size, align < 16 ? 16 : align, c);
            touched = c;
            counts[0]++;
        } else if (r < 500) {
        do_free:
            op_name = "free";
            size_t i = (size_t)th_below(&R, nA);
            verify_alloc(i);
            int c = A[i].ctx;
            SCHECK(mcx_free(A[i].p) == MCX_OK);
            remove_alloc(i);
            touched = c;
            counts[1]++;
        } else if (r < 620) {
            op_name = "realloc";
            size_t i = (size_t)th_below(&R, nA);
            verify_alloc(i);
            size_t ns = th_below(&R, 4) == 0 ? A[i].size / 2 : pick_size();
            void *q = mcx_realloc(A[i].p, ns);
            SCHECK(q != NULL);
            if (!q) break;
            size_t keep = ns < A[i].size ? ns : A[i].size;
            SCHECK(th_verify(q, keep, A[i].id) == keep);
            SCHECK(mcx_context_of(q) == C[A[i].ctx].h);
            A[i].cap = q == (void *)A[i].p ? (ns > A[i].cap ? ns : A[i].cap) : ns;
            SCHECK(((uintptr_t)q & (A[i].align - 1)) == 0); /* a move keeps the alignment */
            if (q != (void *)A[i].p && A[i].align > 16) C[A[i].ctx].pad += A[i].align;
            A[i].p = (unsigned char *)q;
            A[i].size = ns;
            th_fill(q, ns, A[i].id);
            touched = A[i].ctx;
            counts[2]++;
        } else if (r < 640) {
            op_name = "reset";
            int c = pick_live_ctx();
            drop_subtree(c, 1);
            touched = c;
            counts[3]++;
        } else if (r < 660) {
            op_name = "delete";
            int c = pick_live_ctx();
            if (c == 0) continue;
            int parent = C[c].parent;
            drop_subtree(c, 0);
            touched = parent;
            counts[4]++;
        } else if (r < 720) {
            op_name = "create";
            int slot = -1;
            for (int x = 1; x < MAXC; x++)
                if (!C[x].alive) {
                    slot = x;
                    break;
                }
            if (slot < 0) continue;
            int parent = th_below(&R, 10) == 0 ? -1 : pick_live_ctx();
            create_in(slot, parent);
            touched = slot;
            counts[5]++;
        } else if (r < 760) {
            op_name = "set_parent";
            int c = pick_live_ctx();
            if (c == 0) continue;
            int np = th_below(&R, 8) == 0 ? -1 : pick_live_ctx();
            int st = mcx_set_parent(C[c].h, np >= 0 ? C[np].h : NULL);
            if (np >= 0 && is_descendant(np, c)) {
                SCHECK(st == MCX_EINVAL); /* a cycle: refused, nothing changed */
                SCHECK(mcx_parent(C[c].h) == (C[c].parent >= 0 ? C[C[c].parent].h : NULL));
                counts[6]++;
            } else {
                SCHECK(st == MCX_OK);
                C[c].parent = np;
                SCHECK(mcx_parent(C[c].h) == (np >= 0 ? C[np].h : NULL));
                counts[7]++;
            }
            touched = c;
        } else if (r < 790) {
            op_name = "callback";
            int c = pick_live_ctx();
            SCHECK(mcx_register_reset_callback(C[c].h, cb_count, NULL) == MCX_OK);
            C[c].callbacks++;
            touched = c;
            counts[8]++;
        } else if (r < 800) {
            op_name = "free foreign";
            int local = 0;
            SCHECK(mcx_free(&local) == MCX_EFOREIGN);
            counts[9]++;
        } else if (r < 810) {
            op_name = "trim";
            mcx_trim();
            counts[10]++;
        } else if (r < 900) {
            op_name = "maintain";
            clock += th_below(&R, 600); /* ms; the clock only moves forward */
            mcx_maintain(clock);
            counts[11]++;
        } else {
            op_name = "verify some";
            for (int k = 0; k < 8 && nA; k++) verify_alloc((size_t)th_below(&R, nA));
            counts[12]++;
        }
        check_all_roots();
        if (touched >= 0 && C[touched].alive) check_ctx_stats(touched);
        if (step % 512 == 0) {
            for (int x = 0; x < MAXC; x++)
                if (C[x].alive) check_ctx_stats(x);
            SCHECK(mcx_check(NULL) == MCX_OK);
        }
    }
    op_name = "final verify";
    for (size_t i = 0; i < nA; i++) verify_alloc(i);
    for (int x = 0; x < MAXC; x++)
        if (C[x].alive) check_ctx_stats(x);
    printf("  steps %" PRIu64 ": alloc %" PRIu64 " free %" PRIu64 " realloc %" PRIu64
           " reset %" PRIu64 " delete %" PRIu64 " create %" PRIu64 " reparent %" PRIu64
           " (cycles refused %" PRIu64 ") callbacks %" PRIu64 " trim %" PRIu64
           " maintain %" PRIu64 "; %zu live allocations\n",
           step - 1, counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[7],
           counts[6], counts[8], counts[10], counts[11], nA);
    /* Tear down: every root, then nothing may stay mapped. */
    op_name = "teardown";
    for (int x = 0; x < MAXC; x++)
        if (C[x].alive && C[x].parent < 0) drop_subtree(x, 0);
    SCHECK(th_global().context_count == 0);
    mcx_trim();
    struct mcx_global_stats g = th_global();
    SCHECK(g.mapped_bytes == 0);
    SCHECK(g.chunk_bytes == 0);
    SCHECK(mcx_check(NULL) == MCX_OK);
}

int main(int argc, char **argv) {
    uint64_t iterations = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    uint64_t n = th_scaled((size_t)iterations, 200);
    printf("stress: %" PRIu64 " iterations (scale %.3g), seed %" PRIu64 "\n", n, th_scale(), seed);
    /* Move the release policy into the test's reach: short decay, small budget. */
    mcx_config c;
    mcx_config_default(&c);
    c.top_chunk_size = 256 * TH_KiB;
    c.retain_bytes = 1 * TH_MiB;
    c.decay_ms = 200;
    if (mcx_configure(&c) != MCX_OK) {
        fprintf(stderr, "configure failed\n");
        return 1;
    }
    run(n, seed);
    printf("%ld checks, %d failed\n", th_checks, th_failures);
    return th_failures ? 1 : 0;
}
