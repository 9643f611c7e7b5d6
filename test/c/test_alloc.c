/* test_alloc.c - tests object allocation: mcx_alloc, mcx_alloc_zero, mcx_alloc_aligned (every
 * power of two up to 4096, bad alignments), size 0, size limits and NULL contexts, mcx_free
 * (reuse, NULL, foreign and double frees), mcx_realloc, mcx_alloc_size, mcx_context_of, and
 * large allocations that get a chunk of their own and are released as soon as they are freed.
 *
 * Strategy: every allocation is filled with a pattern of its own and verified later, so any
 * overlap between live allocations shows up; mcx_check runs after each group of operations.
 */
#include "harness.h"

static int aligned_to(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

static void alloc_basic_sizes(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    enum { N = 600 };
    static void *ptrs[N];
    static size_t sizes[N];
    th_rng r;
    th_rng_seed(&r, 42);
    for (size_t i = 0; i < N; i++) {
        sizes[i] = i < 300 ? i + 1 : (size_t)th_below(&r, 20000);
        ptrs[i] = (i % 2) ? mcx_alloc(ctx, sizes[i]) : mcx_alloc_zero(ctx, sizes[i]);
        REQUIRE(ptrs[i] != NULL);
        CHECK(aligned_to(ptrs[i], MCX_ALIGN));
        CHECK_U64(mcx_alloc_size(ptrs[i]), ==, sizes[i]); /* the requested size */
        CHECK(mcx_context_of(ptrs[i]) == ctx);
        if (i % 2 == 0) {
            const unsigned char *b = (const unsigned char *)ptrs[i];
            size_t nz = 0;
            for (size_t k = 0; k < sizes[i]; k++) nz += b[k] != 0;
            CHECK_U64(nz, ==, 0);
        }
        th_fill(ptrs[i], sizes[i], i);
    }
    for (size_t i = 0; i < N; i++) CHECK_U64(th_verify(ptrs[i], sizes[i], i), ==, sizes[i]);
    CHECK_OK(mcx_check(ctx));
    struct mcx_context_stats s = th_ctx_stats(ctx);
    uint64_t sum = 0;
    for (size_t i = 0; i < N; i++) sum += sizes[i];
    CHECK_U64(s.used_bytes, >=, sum);
    CHECK_U64(s.used_bytes + s.free_bytes, ==, s.total_bytes);
    for (size_t i = 0; i < N; i += 2) CHECK_OK(mcx_free(ptrs[i]));
    for (size_t i = 1; i < N; i += 2) CHECK_U64(th_verify(ptrs[i], sizes[i], i), ==, sizes[i]);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

static void alloc_zero_clears_reused_memory(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    size_t sizes[] = {16, 100, 256, 1000, 3000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (int round = 0; round < 3; round++) {
            unsigned char *p = (unsigned char *)mcx_alloc(ctx, sizes[k]);
            REQUIRE(p != NULL);
            memset(p, 0xFF, sizes[k]);
            CHECK_OK(mcx_free(p));
            unsigned char *z = (unsigned char *)mcx_alloc_zero(ctx, sizes[k]);
            REQUIRE(z != NULL);
            size_t nz = 0;
            for (size_t i = 0; i < sizes[k]; i++) nz += z[i] != 0;
            CHECK_U64(nz, ==, 0);
            CHECK_OK(mcx_free(z));
        }
    }
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

static void size_zero_gives_unique_pointers(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    enum { N = 300 };
    static void *p[N];
    for (size_t i = 0; i < N; i++) {
        p[i] = (i % 3 == 0)   ? mcx_alloc(ctx, 0)
               : (i % 3 == 1) ? mcx_alloc_zero(ctx, 0)
                              : mcx_alloc_aligned(ctx, 0, 64);
        REQUIRE(p[i] != NULL);
        CHECK(aligned_to(p[i], MCX_ALIGN));
        CHECK(mcx_context_of(p[i]) == ctx);
    }
    /* Pairwise distinct (sorted check would need a copy; N is small). */
    size_t dup = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = i + 1; j < N; j++) dup += p[i] == p[j];
    CHECK_U64(dup, ==, 0);
    for (size_t i = 0; i < N; i++) CHECK_OK(mcx_free(p[i]));
    /* realloc to 0 is valid too. */
    void *q = mcx_alloc(ctx, 50);
    REQUIRE(q != NULL);
    void *q0 = mcx_realloc(q, 0);
    CHECK(q0 != NULL);
    if (q0) CHECK_OK(mcx_free(q0));
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

static void size_limits_and_null_context(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    struct mcx_global_stats g0 = th_global();
    CHECK_FAILS(mcx_alloc(ctx, MCX_ALLOC_MAX + 1), MCX_ETOOBIG);
    CHECK_FAILS(mcx_alloc_zero(ctx, MCX_ALLOC_MAX + 1), MCX_ETOOBIG);
    CHECK_FAILS(mcx_alloc_aligned(ctx, MCX_ALLOC_MAX + 1, 64), MCX_ETOOBIG);
    CHECK_FAILS(mcx_alloc(ctx, SIZE_MAX), MCX_ETOOBIG);
    CHECK_FAILS(mcx_alloc_zero(ctx, SIZE_MAX), MCX_ETOOBIG);
    CHECK_FAILS(mcx_alloc_aligned(ctx, SIZE_MAX, 4096), MCX_ETOOBIG);
    CHECK_FAILS(mcx_alloc_aligned(ctx, SIZE_MAX - 15, 16), MCX_ETOOBIG);
    CHECK_FAILS(mcx_alloc(NULL, 16), MCX_EINVAL);
    CHECK_FAILS(mcx_alloc_zero(NULL, 16), MCX_EINVAL);
    CHECK_FAILS(mcx_alloc_aligned(NULL, 16, 16), MCX_EINVAL);
    CHECK_FAILS(mcx_alloc(NULL, 0), MCX_EINVAL);
    /* Nothing was mapped for the refused requests and the context is intact. */
    struct mcx_global_stats g1 = th_global();
    CHECK_U64(g1.mmap_calls, ==, g0.mmap_calls);
    CHECK_U64(g1.mapped_bytes, ==, g0.mapped_bytes);
    CHECK_OK(mcx_check(ctx));
    void *p = mcx_alloc(ctx, 32);
    CHECK(p != NULL);
    CHECK_OK(mcx_delete(ctx));
}

static void aligned_every_power_of_two(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    size_t big = mcx_large_threshold(ctx) + 1;
    size_t sizes[] = {0, 1, 17, 100, 4096, 5000, 0};
    sizes[6] = big;
    enum { MAXP = 13 * 7 };
    void *ptrs[MAXP];
    size_t psz[MAXP];
    size_t n = 0;
    for (size_t align = 1; align <= 4096; align <<= 1) {
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            void *p = mcx_alloc_aligned(ctx, sizes[k], align);
            REQUIRE(p != NULL);
            CHECK(aligned_to(p, align));
            CHECK(aligned_to(p, MCX_ALIGN)); /* never less than the base alignment */
            CHECK_U64(mcx_alloc_size(p), >=, sizes[k]);
            CHECK(mcx_context_of(p) == ctx);
            th_fill(p, sizes[k], n + 1000);
            ptrs[n] = p;
            psz[n] = sizes[k];
            n++;
        }
    }
    for (size_t i = 0; i < n; i++) CHECK_U64(th_verify(ptrs[i], psz[i], i + 1000), ==, psz[i]);
    CHECK_OK(mcx_check(ctx));
    /* Aligned allocations are freed and reallocated like any other. */
    for (size_t i = 0; i < n; i += 2) CHECK_OK(mcx_free(ptrs[i]));
    for (size_t i = 1; i < n; i += 2) {
        void *q = mcx_realloc(ptrs[i], psz[i] + 100);
        REQUIRE(q != NULL);
        CHECK_U64(th_verify(q, psz[i], i + 1000), ==, psz[i]);
        CHECK_OK(mcx_free(q));
    }
    CHECK_OK(mcx_check(ctx));

    /* A dedicated mapping (2 MiB) at every alignment too. */
    for (size_t align = 1; align <= 4096; align <<= 3) {
        unsigned char *d = (unsigned char *)mcx_alloc_aligned(ctx, 2 * TH_MiB, align);
        REQUIRE(d != NULL);
        CHECK(aligned_to(d, align));
        d[0] = 1;
        d[2 * TH_MiB - 1] = 2;
        CHECK_U64(mcx_alloc_size(d), ==, 2 * TH_MiB);
        CHECK_OK(mcx_free(d));
    }

    size_t bad[] = {0, 3, 5, 24, 48, 100, 8192, 65536, (size_t)1 << 40, SIZE_MAX};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        CHECK_FAILS(mcx_alloc_aligned(ctx, 64, bad[k]), MCX_EINVAL);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

static void free_memory_is_reused(void) {
    mcx_context_options o;
    memset(&o, 0, sizeof o);
    o.name = "reuse";
    mcx_context *ctx = mcx_context_create(NULL, &o);
    REQUIRE(ctx != NULL);
    enum { NMAX = 2000 };
    static void *p[NMAX];
    const size_t N = th_scaled(NMAX, 200);
    size_t sizes[] = {24, 100, 700, 3000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (size_t i = 0; i < N; i++) {
            p[i] = mcx_alloc(ctx, sizes[k]);
            REQUIRE(p[i] != NULL);
            th_fill(p[i], sizes[k], i);
        }
        struct mcx_context_stats full = th_ctx_stats(ctx);
        for (size_t i = 0; i < N; i++) CHECK_OK(mcx_free(p[i]));
        struct mcx_context_stats freed = th_ctx_stats(ctx);
        CHECK_U64(freed.total_bytes, ==, full.total_bytes);
        CHECK_U64(freed.used_bytes, <=, full.used_bytes - (uint64_t)N * sizes[k]);
        CHECK_U64(freed.used_bytes + freed.free_bytes, ==, freed.total_bytes);
        uint64_t mmaps = th_global().mmap_calls;
        /* The same number of allocations of the same size: every one reuses a freed object. */
        size_t reused = 0;
        static void *q[NMAX];
        for (size_t i = 0; i < N; i++) {
            q[i] = mcx_alloc(ctx, sizes[k]);
            REQUIRE(q[i] != NULL);
        }
        /* (quadratic membership test on a sorted copy would need qsort; use a hash of bits) */
        for (size_t i = 0; i < N; i++) {
            for (size_t j = 0; j < N; j++)
                if (q[i] == p[j]) {
                    reused++;
                    break;
                }
        }
        printf("  size %zu: %zu of %zu new allocations reused freed objects\n", sizes[k], reused,
               N);
        CHECK_U64(reused, ==, N);
        struct mcx_context_stats again = th_ctx_stats(ctx);
        CHECK_U64(again.total_bytes, ==, full.total_bytes);
        CHECK_U64(th_global().mmap_calls, ==, mmaps);
        for (size_t i = 0; i < N; i++) CHECK_OK(mcx_free(q[i]));
        /* A slightly smaller size (the same 16-byte step, the checking build's sentinel byte
         * included) reuses them too. */
        for (size_t i = 0; i < N; i++) {
            q[i] = mcx_alloc(ctx, sizes[k] - 1);
            REQUIRE(q[i] != NULL);
        }
        CHECK_U64(th_ctx_stats(ctx).total_bytes, ==, full.total_bytes);
        for (size_t i = 0; i < N; i++) CHECK_OK(mcx_free(q[i]));
        CHECK_OK(mcx_check(ctx));
    }
    CHECK_OK(mcx_delete(ctx));
}

/* An object takes its size (with the checking build's sentinel byte) rounded to 16 and no more,
 * not its size class, in a context that has freed nothing since its last reset: 1025 B take
 * 1040 B after the 16-byte header. Freed and asked again, the same object comes back; once the
 * context frees, new objects above 256 B take their class (1025 B: 1280 B), so that freed ones
 * serve any size of their class; after a reset, exact sizes again. */
static void objects_take_their_exact_size(void) {
    size_t sizes[] = {257, 700, 1025, 2000, 5000};
    size_t sentinel = mcx_checking_enabled() ? 1 : 0;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        mcx_context *ctx = mcx_context_create(NULL, NULL);
        REQUIRE(ctx != NULL);
        for (int round = 0; round < 2; round++) {
            uint64_t u0 = th_ctx_stats(ctx).used_bytes;
            void *p = mcx_alloc(ctx, sizes[k]);
            REQUIRE(p != NULL);
            CHECK_U64(th_ctx_stats(ctx).used_bytes - u0, ==, 16 + ((sizes[k] + sentinel + 15) & ~(size_t)15));
            REQUIRE(mcx_alloc(ctx, 16) != NULL); /* p is no longer the newest */
            CHECK_OK(mcx_free(p));
            CHECK_OK(mcx_free_flush(ctx)); /* on its free list now */
            CHECK(mcx_alloc(ctx, sizes[k]) == p);
            if (sizes[k] == 1025 && round == 0) {
                uint64_t u1 = th_ctx_stats(ctx).used_bytes;
                REQUIRE(mcx_alloc(ctx, 1025) != NULL);
                CHECK_U64(th_ctx_stats(ctx).used_bytes - u1, ==, 16 + 1280);
            }
            CHECK_OK(mcx_check(ctx));
            CHECK_OK(mcx_reset(ctx));
        }
        CHECK_OK(mcx_delete(ctx));
    }
}

static void free_bad_pointers(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    CHECK_STATUS(mcx_free(NULL), MCX_EINVAL);
    char stack_buf[64];
    memset(stack_buf, 0, sizeof stack_buf);
    CHECK_STATUS(mcx_free(stack_buf + 16), MCX_EFOREIGN);
    void *m = malloc(100);
    REQUIRE(m != NULL);
    CHECK_STATUS(mcx_free(m), MCX_EFOREIGN);
    void *big = malloc(4 * TH_MiB); /* glibc: its own mmap */
    REQUIRE(big != NULL);
    CHECK_STATUS(mcx_free(big), MCX_EFOREIGN);
    static char static_buf[64];
    CHECK_STATUS(mcx_free(static_buf + 16), MCX_EFOREIGN);
    CHECK_U64(mcx_alloc_size(NULL), ==, 0);
    CHECK_U64(mcx_alloc_size(stack_buf + 16), ==, 0);
    CHECK_U64(mcx_alloc_size(m), ==, 0);
    CHECK(mcx_context_of(NULL) == NULL);
    CHECK(mcx_context_of(stack_buf + 16) == NULL);
    CHECK(mcx_context_of(m) == NULL);
    CHECK_FAILS(mcx_realloc(stack_buf + 16, 10), MCX_EFOREIGN);
    CHECK_FAILS(mcx_realloc(m, 10), MCX_EFOREIGN);
    CHECK_FAILS(mcx_realloc(NULL, 10), MCX_EINVAL);
    free(m);
    free(big);
    CHECK_OK(mcx_check(ctx));

    /* Double frees, small and large, are refused and change nothing. */
    size_t sizes[] = {40, 2000, mcx_large_threshold(ctx) + 1};
    for (size_t k = 0; k < 3; k++) {
        void *a = mcx_alloc(ctx, sizes[k]);
        REQUIRE(a != NULL);
        CHECK_OK(mcx_free(a));
        struct mcx_context_stats s0 = th_ctx_stats(ctx);
        if (k < 2) {
            CHECK_STATUS(th_free(ctx, a), MCX_EFREED);
        } else {
            /* A freed large allocation's chunk may be gone already: foreign is right too. */
            int st = th_free(ctx, a);
            CHECK(st == MCX_EFREED || st == MCX_EFOREIGN);
        }
        struct mcx_context_stats s1 = th_ctx_stats(ctx);
        CHECK_U64(s1.used_bytes, ==, s0.used_bytes);
        CHECK_U64(s1.total_bytes, ==, s0.total_bytes);
        CHECK_OK(mcx_check(ctx));
        /* The object was not put twice on a free list: two new allocations differ. */
        void *x = mcx_alloc(ctx, sizes[k]);
        void *y = mcx_alloc(ctx, sizes[k]);
        REQUIRE(x && y);
        CHECK(x != y);
        th_fill(x, sizes[k], 1);
        th_fill(y, sizes[k], 2);
        CHECK_U64(th_verify(x, sizes[k], 1), ==, sizes[k]);
        CHECK_OK(mcx_free(x));
        CHECK_OK(mcx_free(y));
        CHECK_OK(mcx_check(ctx));
    }
    /* A freed small object: realloc says so. */
    void *f = mcx_alloc(ctx, 64);
    REQUIRE(f != NULL);
    CHECK_OK(mcx_free(f));
    CHECK_FAILS(mcx_realloc(f, 128), MCX_EFREED);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

/* Pointers that are near memctx memory but not allocations: interior pointers, pointers into a
 * deleted context's returned chunks, just outside a dedicated mapping. Refused without harm. */
static void free_interior_and_stale_pointers(void) {
    mcx_context *root = mcx_context_create(NULL, NULL); /* keeps the top chunk mapped */
    REQUIRE(root != NULL);
    unsigned char *p = (unsigned char *)mcx_alloc_zero(root, 256);
    REQUIRE(p != NULL);
    th_fill(p + 128, 128, 5);
    size_t offsets[] = {1, 8, 16, 32, 128};
    for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
        int st = th_free(root, p + offsets[k]);
        CHECK(st != MCX_OK);
        CHECK(mcx_context_of(p + offsets[k]) == NULL);
        CHECK_U64(mcx_alloc_size(p + offsets[k]), ==, 0);
        void *r = mcx_realloc(p + offsets[k], 10);
        CHECK(r == NULL);
    }
    CHECK_U64(th_verify(p + 128, 128, 5), ==, 128);
    CHECK(mcx_context_of(p) == root);
    CHECK_OK(mcx_check(root));

    /* A pointer into a deleted context's memory (its chunk went back to the top chunk). */
    mcx_context *gone = mcx_context_create(root, NULL);
    REQUIRE(gone != NULL);
    void *stale = mcx_alloc(gone, 100);
    REQUIRE(stale != NULL);
    CHECK_OK(mcx_delete(gone));
    int st = mcx_free(stale);
    CHECK(st == MCX_EFOREIGN || st == MCX_EFREED || st == MCX_EDELETED);
    CHECK(mcx_context_of(stale) == NULL);
    CHECK_OK(mcx_check(root));
    CHECK_OK(mcx_check(NULL));

    /* Just outside a dedicated mapping, and inside it past the object's start. */
    unsigned char *d = (unsigned char *)mcx_alloc(root, 4 * TH_MiB);
    REQUIRE(d != NULL);
    CHECK(mcx_free(d + 4096) != MCX_OK);
    CHECK(mcx_free(d + 4 * TH_MiB + 65536) != MCX_OK);
    CHECK(mcx_context_of(d + 4 * TH_MiB + 65536) == NULL);
    CHECK(mcx_context_of(d - 65536) == NULL);
    CHECK_OK(mcx_free(d));
    CHECK_OK(mcx_check(root));
    CHECK_OK(mcx_delete(root));
}

static void realloc_keeps_bytes(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    size_t threshold = mcx_large_threshold(ctx);
    /* Grow from 1 byte through small, medium and large sizes. */
    size_t steps[] = {1, 15, 16, 17, 100, 1000, 8000, 40000, 0, 0, 0};
    steps[8] = threshold + 1;
    steps[9] = 3 * threshold;
    steps[10] = th_scaled(8 * TH_MiB, 2 * TH_MiB);
    size_t nsteps = sizeof steps / sizeof steps[0];
    unsigned char *p = (unsigned char *)mcx_alloc(ctx, steps[0]);
    REQUIRE(p != NULL);
    th_fill(p, steps[0], 9);
    for (size_t i = 1; i < nsteps; i++) {
        unsigned char *q = (unsigned char *)mcx_realloc(p, steps[i]);
        REQUIRE(q != NULL);
        CHECK_U64(th_verify(q, steps[i - 1], 9), ==, steps[i - 1]);
        CHECK_U64(mcx_alloc_size(q), ==, steps[i]);
        CHECK(mcx_context_of(q) == ctx);
        th_fill(q, steps[i], 9);
        p = q;
        CHECK_OK(mcx_check(ctx));
    }
    /* Shrink back down, keeping the prefix. */
    for (size_t i = nsteps - 1; i-- > 0;) {
        unsigned char *q = (unsigned char *)mcx_realloc(p, steps[i]);
        REQUIRE(q != NULL);
        CHECK_U64(th_verify(q, steps[i], 9), ==, steps[i]);
        CHECK_U64(mcx_alloc_size(q), ==, steps[i]);
        p = q;
        CHECK_OK(mcx_check(ctx));
    }
    CHECK_OK(mcx_free(p));

    /* realloc does not disturb neighbours. */
    enum { N = 64 };
    void *v[N];
    size_t vs[N];
    for (size_t i = 0; i < N; i++) {
        vs[i] = 32 + i * 8;
        v[i] = mcx_alloc(ctx, vs[i]);
        REQUIRE(v[i] != NULL);
        th_fill(v[i], vs[i], 100 + i);
    }
    for (int round = 0; round < 4; round++) {
        for (size_t i = (size_t)round % 2; i < N; i += 2) {
            size_t ns = round < 2 ? vs[i] * 3 : vs[i] / 2 + 1;
            void *q = mcx_realloc(v[i], ns);
            REQUIRE(q != NULL);
            size_t keep = ns < vs[i] ? ns : vs[i];
            CHECK_U64(th_verify(q, keep, 100 + i), ==, keep);
            v[i] = q;
            vs[i] = ns;
            th_fill(q, ns, 100 + i);
        }
        for (size_t i = 0; i < N; i++) CHECK_U64(th_verify(v[i], vs[i], 100 + i), ==, vs[i]);
    }
    CHECK_OK(mcx_check(ctx));

    /* A refused realloc leaves the old allocation valid. */
    void *keep = mcx_alloc(ctx, 300);
    REQUIRE(keep != NULL);
    th_fill(keep, 300, 77);
    CHECK_FAILS(mcx_realloc(keep, MCX_ALLOC_MAX + 1), MCX_ETOOBIG);
    CHECK_U64(th_verify(keep, 300, 77), ==, 300);
    CHECK_OK(mcx_free(keep));
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

static void large_allocations_get_own_chunk(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    size_t threshold = mcx_large_threshold(ctx);
    struct mcx_context_stats fresh = th_ctx_stats(ctx);
    CHECK_U64(threshold, >=, 1024);
    CHECK_U64(threshold, <=, 8 * TH_MiB);
    struct mcx_context_stats s0 = th_ctx_stats(ctx);
    /* At the threshold: still a small allocation. */
    void *small = mcx_alloc(ctx, threshold);
    REQUIRE(small != NULL);
    CHECK_U64(th_ctx_stats(ctx).large_count, ==, 0);
    CHECK_OK(mcx_free(small));
    s0 = th_ctx_stats(ctx);

    void *a = mcx_alloc(ctx, threshold + 1);
    REQUIRE(a != NULL);
    th_fill(a, threshold + 1, 5);
    struct mcx_context_stats s1 = th_ctx_stats(ctx);
    CHECK_U64(s1.large_count, ==, s0.large_count + 1);
    CHECK_U64(s1.chunk_count, ==, s0.chunk_count); /* not in the chain */
    CHECK_U64(s1.total_bytes, >=, s0.total_bytes + threshold + 1);
    CHECK_U64(s1.used_bytes, >=, s0.used_bytes + threshold + 1);
    CHECK_U64(s1.used_bytes + s1.free_bytes, ==, s1.total_bytes);
    CHECK_U64(th_verify(a, threshold + 1, 5), ==, threshold + 1);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_free(a));
    struct mcx_context_stats s2 = th_ctx_stats(ctx);
    CHECK_U64(s2.large_count, ==, s0.large_count);
    CHECK_U64(s2.total_bytes, ==, s0.total_bytes); /* released from the context at once */
    CHECK_U64(s2.used_bytes, ==, s0.used_bytes);

    /* A very large one (bigger than the default top chunk): a dedicated mapping, unmapped as
     * soon as it is freed (64 MiB is beyond the default 8 MiB retained budget). */
    struct mcx_global_stats g0 = th_global();
    size_t huge = 64 * TH_MiB;
    unsigned char *h = (unsigned char *)mcx_alloc(ctx, huge);
    REQUIRE(h != NULL);
    for (size_t i = 0; i < huge; i += 4096) h[i] = (unsigned char)i;
    h[huge - 1] = 1;
    struct mcx_global_stats g1 = th_global();
    CHECK_U64(g1.mapped_bytes, >=, g0.mapped_bytes + huge);
    CHECK_U64(g1.dedicated_count, ==, g0.dedicated_count + 1);
    CHECK_U64(th_ctx_stats(ctx).large_count, ==, 1);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_free(h));
    struct mcx_global_stats g2 = th_global();
    CHECK_U64(g2.mapped_bytes, <=, g1.mapped_bytes - huge);
    CHECK_U64(g2.dedicated_count, ==, g0.dedicated_count);
    CHECK_U64(g2.munmap_calls, >, g1.munmap_calls);
    CHECK_U64(th_ctx_stats(ctx).large_count, ==, 0);
    CHECK_OK(mcx_check(ctx));

    /* Large allocations die with their context. */
    for (int i = 0; i < 4; i++) REQUIRE(mcx_alloc(ctx, 2 * threshold + (size_t)i) != NULL);
    CHECK_U64(th_ctx_stats(ctx).large_count, ==, 4);
    CHECK_OK(mcx_reset(ctx));
    CHECK_U64(th_ctx_stats(ctx).large_count, ==, 0);
    CHECK_U64(th_ctx_stats(ctx).total_bytes, ==, fresh.total_bytes); /* the first chunk only */
    CHECK_OK(mcx_delete(ctx));
    CHECK_OK(mcx_check(NULL));
}

/* Random alloc/free/realloc churn with a bounded live set: freed memory is reused, so the
 * context reaches a steady size instead of growing with the number of operations. */
static void churn_stays_bounded(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    enum { LIVE = 512 };
    static void *p[LIVE];
    static size_t sz[LIVE];
    th_rng r;
    th_rng_seed(&r, 7);
    /* At least 100000 operations: the context's chunks double, so below that the totals at half
     * time and at the end can sit on either side of one doubling by chance: the layout of the
     * first chunk decides (16 bytes more or less in the context structure move the crossing
     * between 20000 and 40000 operations). */
    size_t ops = th_scaled(400000, 100000);
    uint64_t live = 0, peak_live = 0, total_half = 0;
    for (size_t i = 0; i < ops; i++) {
        size_t k = (size_t)th_below(&r, LIVE);
        if (p[k]) {
            if (th_below(&r, 4) == 0) {
                size_t ns = 16 + (size_t)th_below(&r, 4080);
                void *q = mcx_realloc(p[k], ns);
                REQUIRE(q != NULL);
                live = live - sz[k] + ns;
                p[k] = q;
                sz[k] = ns;
            } else {
                CHECK_OK(mcx_free(p[k]));
                live -= sz[k];
                p[k] = NULL;
            }
        } else {
            sz[k] = 16 + (size_t)th_below(&r, 4080);
            p[k] = mcx_alloc(ctx, sz[k]);
            REQUIRE(p[k] != NULL);
            live += sz[k];
        }
        if (live > peak_live) peak_live = live;
        if (i == ops / 2) total_half = th_ctx_stats(ctx).total_bytes;
    }
    struct mcx_context_stats s = th_ctx_stats(ctx);
    printf("  %zu operations: peak live %" PRIu64 " KiB, context total %" PRIu64
           " KiB at half time, %" PRIu64 " KiB at the end\n",
           ops, peak_live / 1024, total_half / 1024, s.total_bytes / 1024);
    /* Steady state: the second half of the run adds little, and the total stays within a small
     * multiple of the peak live bytes (class rounding and per-class free lists). */
    CHECK_U64(s.total_bytes, <=, total_half + total_half / 4);
    CHECK_U64(s.total_bytes, <=, 4 * peak_live + TH_MiB);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

/* The largest size mcx_alloc_inline serves in ctx (struct mcx_context_head, layout version 3). */
static size_t inline_max(mcx_context *ctx) {
    return ((const struct mcx_context_head *)(const void *)ctx)->inline_max;
}

/* mcx_alloc_inline (the public header's fast path) makes objects mcx_alloc's equals: same
 * layout, so free, realloc, size and owner queries and mcx_check accept them, from 1 B to past
 * the 8 KiB it serves inline; a freed object of the class is reused through the slow path; NULL
 * still works. It serves up to 8 KiB, 256 B once the context frees (larger objects are then
 * sized to their class), 8 KiB again after a reset, nothing in the checking build. */
static void inline_fast_path(void) {
    const int checking = mcx_checking_enabled();
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    CHECK_U64(inline_max(ctx), ==, checking ? 0 : 8192);
    enum { N = 300, SPAN = 8192 + 40 };
    unsigned char *p[N];
    for (size_t i = 0; i < N; i++) {
        size_t size = i * 29 % SPAN;
        p[i] = mcx_alloc_inline(ctx, size);
        REQUIRE(p[i] != NULL);
        CHECK_U64((uintptr_t)p[i] % MCX_ALIGN, ==, 0);
        CHECK_U64(mcx_alloc_size(p[i]), ==, size);
        CHECK(mcx_context_of(p[i]) == ctx);
        th_fill(p[i], size, i);
    }
    CHECK_OK(mcx_check(ctx));
    for (size_t i = 0; i < N; i++) CHECK_U64(th_verify(p[i], i * 29 % SPAN, i), ==, i * 29 % SPAN);
    CHECK_OK(mcx_free(p[10]));
    CHECK_OK(mcx_free_flush(ctx));
    CHECK_U64(inline_max(ctx), ==, checking ? 0 : 256);
    unsigned char *again = mcx_alloc_inline(ctx, 10 * 29); /* class of p[10]: taken from the free list */
    CHECK(again == p[10]);
    /* Above 256 B a context that frees rounds to the class: the slow path serves, the object
     * keeps its requested size and frees back into its class. */
    unsigned char *big = mcx_alloc_inline(ctx, 1000);
    REQUIRE(big != NULL);
    CHECK_U64(mcx_alloc_size(big), ==, 1000);
    th_fill(big, 1000, 7);
    CHECK_OK(mcx_free(big));
    CHECK_OK(mcx_free_flush(ctx));
    CHECK(mcx_alloc_inline(ctx, 1000) == big);
    unsigned char *r = mcx_realloc(p[20], 9000);
    REQUIRE(r != NULL);
    CHECK_U64(th_verify(r, 20 * 29, 20), ==, 20 * 29);
    CHECK_OK(mcx_check(ctx));
    CHECK_FAILS(mcx_alloc_inline(NULL, 16), MCX_EINVAL);
    CHECK_OK(mcx_reset(ctx));
    CHECK_U64(inline_max(ctx), ==, checking ? 0 : 8192);
    CHECK_STATUS(mcx_free(p[0]), MCX_EFOREIGN); /* from before the reset */
    CHECK_OK(mcx_delete(ctx));
}

/* A context whose max_chunk_size lowers its large threshold below 8 KiB serves inline only up to
 * that threshold: a larger object gets a chunk of its own, as from mcx_alloc. */
static void inline_stops_at_the_large_threshold(void) {
    mcx_context_options o = {.initial_size = 4096, .max_chunk_size = 4096};
    mcx_context *ctx = mcx_context_create(NULL, &o);
    REQUIRE(ctx != NULL);
    CHECK_U64(mcx_large_threshold(ctx), ==, 512);
    CHECK_U64(inline_max(ctx), ==, mcx_checking_enabled() ? 0 : 512);
    unsigned char *small = mcx_alloc_inline(ctx, 512);
    unsigned char *large = mcx_alloc_inline(ctx, 513);
    REQUIRE(small != NULL && large != NULL);
    struct mcx_context_stats st;
    CHECK_OK(mcx_context_stats(ctx, &st));
    CHECK_U64(st.large_count, ==, 1);
    CHECK_U64(st.chunk_count, ==, 1);
    CHECK_U64(mcx_alloc_size(large), ==, 513);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

TH_MAIN(TH_TEST(inline_fast_path), TH_TEST(inline_stops_at_the_large_threshold), TH_TEST(alloc_basic_sizes), TH_TEST(churn_stays_bounded),
        TH_TEST(alloc_zero_clears_reused_memory), TH_TEST(size_zero_gives_unique_pointers),
        TH_TEST(size_limits_and_null_context), TH_TEST(aligned_every_power_of_two),
        TH_TEST(free_memory_is_reused), TH_TEST(objects_take_their_exact_size), TH_TEST(free_bad_pointers),
        TH_TEST(free_interior_and_stale_pointers), TH_TEST(realloc_keeps_bytes),
        TH_TEST(large_allocations_get_own_chunk))
