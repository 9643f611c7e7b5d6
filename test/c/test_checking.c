/* test_checking.c - tests of the checking build (MEMCTX_CHECKING): a write past the end of an
 * allocation is reported as MCX_ECORRUPT by mcx_check, mcx_realloc, mcx_free and mcx_reset and
 * leaves every structure valid; freed and reset memory is wiped with a fixed byte (0x7F); a
 * deleted context is refused with MCX_EDELETED by every call; under ASan, freed, reset and
 * unused memory is poisoned. In a plain build every test prints a skip line and passes.
 *
 * Reading freed memory or writing past an allocation would be reported by ASan/Valgrind (that is
 * the point of the poisoning), so the tests open exactly the bytes they touch with the tools'
 * client requests first and close them again. An unguarded read of freed memory under ASan would
 * abort the process, so that case is not run in-process.
 */
#include "harness.h"

static int skip_unless_checking(const char *what) {
    if (mcx_checking_enabled()) return 0;
    th_skip(what, "not a checking build (MEMCTX_CHECKING off)");
    return 1;
}

/* Make [p, p + n) accessible to this test under ASan/Valgrind (open_bytes returns whether ASan
 * had it poisoned), and close it again when it was. Valgrind: memctx marks a sentinel defined
 * itself before reading it, and freed memory is marked again when it is reused. */
static int open_bytes(const void *p, size_t n) {
    int was = 0;
#if TH_ASAN
    was = __asan_region_is_poisoned((void *)(uintptr_t)p, n) != NULL;
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
#if TH_HAVE_VALGRIND_H
    VALGRIND_MAKE_MEM_DEFINED(p, n);
#endif
    (void)p;
    (void)n;
    return was;
}
static void close_bytes(const void *p, size_t n, int was_poisoned) {
#if TH_ASAN
    if (was_poisoned) ASAN_POISON_MEMORY_REGION(p, n);
#endif
#if TH_HAVE_VALGRIND_H
    if (was_poisoned) VALGRIND_MAKE_MEM_NOACCESS(p, n);
#endif
    (void)p;
    (void)n;
    (void)was_poisoned;
}
/* Write one byte that may belong to memctx (a sentinel). */
static void poke(unsigned char *p, unsigned char v) {
    int was = open_bytes(p, 1);
    *p = v;
    close_bytes(p, 1, was);
}
static unsigned char peek(const unsigned char *p) {
    int was = open_bytes(p, 1);
    unsigned char v = *p;
    close_bytes(p, 1, was);
    return v;
}

/* 1 when ASan sees [p, p + n) as wholly poisoned; -1 when not under ASan. */
static int asan_poisoned(const void *p, size_t n) {
#if TH_ASAN
    for (size_t i = 0; i < n; i++)
        if (!__asan_address_is_poisoned((const char *)p + i)) return 0;
    return 1;
#else
    (void)p;
    (void)n;
    return -1;
#endif
}

static void overrun_one(mcx_context *ctx, size_t size, size_t align) {
    unsigned char *p = (unsigned char *)mcx_alloc_aligned(ctx, size, align);
    REQUIRE(p != NULL);
    /* The bytes next to the sentinel carry a pattern (all of them would be slow under valgrind). */
    size_t tail = size < 8192 ? size : 8192;
    unsigned char *t = p + size - tail;
    th_fill(t, tail, 11);
    /* Under ASan the byte after the sentinel is poisoned (ASan itself reports a longer overrun). */
    if (th_under_asan()) CHECK(asan_poisoned(p + size + 1, 1) == 1);
    unsigned char saved = peek(p + size);
    CHECK_U64(saved, ==, 0x7E);              /* the documented sentinel */
    poke(p + size, (unsigned char)(saved ^ 0x55)); /* the overrun */

    CHECK_STATUS(mcx_check(ctx), MCX_ECORRUPT);
    CHECK_OK(mcx_check(NULL)); /* the top layer is fine */
    CHECK_FAILS(mcx_realloc(p, size + 1000), MCX_ECORRUPT);
    CHECK_U64(th_verify(t, tail, 11), ==, tail); /* refused, so nothing moved */
    CHECK(mcx_context_of(p) == ctx);

    /* Restore the byte: the context is whole again, the object frees cleanly. */
    poke(p + size, saved);
    CHECK_OK(mcx_check(ctx));

    /* Corrupt again and free: the free reports it and still leaves valid structures. */
    poke(p + size, (unsigned char)(saved ^ 0x0F));
    CHECK_STATUS(mcx_free(p), MCX_ECORRUPT);
    CHECK_OK(mcx_check(ctx));
    void *q = mcx_alloc(ctx, size);
    CHECK(q != NULL);
    if (q) CHECK_OK(mcx_free(q));
    CHECK_OK(mcx_check(ctx));
}

static void overrun_is_reported(void) {
    if (skip_unless_checking("overrun detection")) return;
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    void *neighbour = mcx_alloc(ctx, 64); /* so the objects below are not first */
    REQUIRE(neighbour != NULL);
    size_t threshold = mcx_large_threshold(ctx);
    size_t sizes[] = {0, 1, 15, 16, 100, 1000, 5000, 0, 0};
    sizes[7] = threshold + 10;
    sizes[8] = 2 * TH_MiB + 3; /* a dedicated mapping */
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        overrun_one(ctx, sizes[k], 16);
        overrun_one(ctx, sizes[k], 256);
    }
    /* mcx_reset reports a broken sentinel too, and still resets. */
    unsigned char *p = (unsigned char *)mcx_alloc(ctx, 40);
    REQUIRE(p != NULL);
    REQUIRE(mcx_alloc(ctx, 40) != NULL);
    poke(p + 40, (unsigned char)(peek(p + 40) ^ 0x33));
    CHECK_STATUS(mcx_reset(ctx), MCX_ECORRUPT);
    CHECK_OK(mcx_check(ctx));
    CHECK_U64(th_ctx_stats(ctx).chunk_count, ==, 1);
    CHECK(mcx_alloc(ctx, 40) != NULL);
    CHECK_OK(mcx_delete(ctx));
}

/* True when [p, p + n) holds only byte b (the bytes are opened for the read). */
static size_t count_not(const unsigned char *p, size_t n, unsigned char b) {
    int was = open_bytes(p, n);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += p[i] != b;
    close_bytes(p, n, was || th_under_valgrind());
    return bad;
}

static void freed_memory_is_wiped(void) {
    if (skip_unless_checking("wiping")) return;
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    size_t sizes[] = {32, 256, 1000, 4000, 0};
    sizes[4] = mcx_large_threshold(ctx) / 2;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        unsigned char *p = (unsigned char *)mcx_alloc(ctx, sizes[k]);
        unsigned char *after = (unsigned char *)mcx_alloc(ctx, 16); /* p is not the newest */
        REQUIRE(p && after);
        memset(p, 0xAA, sizes[k]);
        CHECK_OK(mcx_free(p));
        if (th_under_asan()) CHECK(asan_poisoned(p, sizes[k]) == 1);
        /* The first 16 bytes may hold the free-list link; the rest is the wipe byte. */
        CHECK_U64(count_not(p + 16, sizes[k] - 16, 0x7F), ==, 0);
        /* The newest object's bytes go back to the bump pointer: wiped as well. */
        unsigned char *newest = (unsigned char *)mcx_alloc(ctx, sizes[k]);
        REQUIRE(newest != NULL);
        memset(newest, 0xAA, sizes[k]);
        CHECK_OK(mcx_free(newest));
        CHECK_U64(count_not(newest + 16, sizes[k] - 16, 0x7F), ==, 0);
        CHECK_OK(mcx_free(after));
    }
    /* Reset wipes (and poisons) what it frees, in the kept first chunk too. */
    unsigned char *q = (unsigned char *)mcx_alloc(ctx, 512);
    REQUIRE(q != NULL);
    REQUIRE(mcx_alloc(ctx, 16) != NULL);
    memset(q, 0xAA, 512);
    CHECK_OK(mcx_reset(ctx));
    CHECK(mcx_context_of(q) == NULL); /* no longer an allocation */
    if (th_under_asan()) CHECK(asan_poisoned(q, 512) == 1);
    CHECK_U64(count_not(q, 512, 0x7F), ==, 0);
    /* A realloc that moves wipes the old place. */
    unsigned char *r = (unsigned char *)mcx_alloc(ctx, 100);
    REQUIRE(mcx_alloc(ctx, 16) != NULL);
    REQUIRE(r != NULL);
    memset(r, 0xAA, 100);
    unsigned char *r2 = (unsigned char *)mcx_realloc(r, 5000);
    REQUIRE(r2 != NULL);
    CHECK(r2 != r);
    CHECK_U64(count_not(r + 16, 84, 0x7F), ==, 0);
    CHECK_OK(mcx_delete(ctx));
    if (th_under_asan())
        th_skip("read of freed memory",
                "ASan reports it and aborts the process; checked as poisoned");
}

static void no_op(void *arg) { (void)arg; }

static void deleted_context_is_refused(void) {
    if (skip_unless_checking("deleted-context detection")) return;
    mcx_context *root = mcx_context_create(NULL, NULL);
    REQUIRE(root != NULL);
    REQUIRE(mcx_alloc(root, 100) != NULL);
    mcx_context *victims[2];
    victims[0] = mcx_context_create(root, NULL); /* a child */
    victims[1] = mcx_context_create(NULL, NULL); /* a root beside root, same top chunk */
    REQUIRE(victims[0] && victims[1]);
    for (int v = 0; v < 2; v++) {
        mcx_context *d = victims[v];
        mcx_context *grandchild = mcx_context_create(d, NULL);
        REQUIRE(grandchild != NULL);
        REQUIRE(mcx_alloc(d, 100) != NULL);
        CHECK_OK(mcx_delete(d));
        CHECK_FAILS(mcx_alloc(d, 16), MCX_EDELETED);
        CHECK_FAILS(mcx_alloc_zero(d, 16), MCX_EDELETED);
        CHECK_FAILS(mcx_alloc_aligned(d, 16, 64), MCX_EDELETED);
        CHECK_FAILS(mcx_context_create(d, NULL), MCX_EDELETED);
        CHECK_STATUS(mcx_reset(d), MCX_EDELETED);
        CHECK_STATUS(mcx_delete(d), MCX_EDELETED);
        CHECK_STATUS(mcx_delete(grandchild), MCX_EDELETED);
        CHECK_STATUS(mcx_set_parent(d, root), MCX_EDELETED);
        CHECK_STATUS(mcx_set_parent(root, d), MCX_EDELETED);
        CHECK_STATUS(mcx_register_reset_callback(d, no_op, NULL), MCX_EDELETED);
        struct mcx_context_stats s;
        CHECK_STATUS(mcx_context_stats(d, &s), MCX_EDELETED);
        size_t count;
        CHECK_STATUS(mcx_context_chunks(d, NULL, 0, &count), MCX_EDELETED);
        mcx_span span;
        CHECK_STATUS(mcx_span_reserve(d, 16, &span), MCX_EDELETED);
        CHECK_STATUS(mcx_span_commit(d, 0, 0), MCX_EDELETED);
        CHECK_STATUS(mcx_check(d), MCX_EDELETED);
        CHECK(mcx_parent(d) == NULL);
        CHECK(mcx_first_child(d) == NULL);
        /* The rest of the tree is untouched. */
        CHECK_OK(mcx_check(root));
        CHECK_OK(mcx_check(NULL));
    }
    CHECK(mcx_first_child(root) == NULL);
    CHECK_OK(mcx_delete(root));
    CHECK_STATUS(mcx_reset(root), MCX_EDELETED);
}

static void unused_memory_is_poisoned(void) {
    if (skip_unless_checking("ASan poisoning")) return;
    if (!th_under_asan()) {
        th_skip("ASan poisoning", "not an ASan build");
        return;
    }
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    unsigned char *p = (unsigned char *)mcx_alloc(ctx, 100);
    REQUIRE(p != NULL);
    CHECK(asan_poisoned(p, 100) == 0);      /* live bytes are open */
    CHECK(asan_poisoned(p + 112, 256) == 1); /* the unbumped rest of the chunk is not */
    /* A freed object is poisoned again, and a reset poisons everything it freed. */
    unsigned char *q = (unsigned char *)mcx_alloc(ctx, 300);
    REQUIRE(q != NULL);
    REQUIRE(mcx_alloc(ctx, 16) != NULL);
    CHECK_OK(mcx_free(q));
    CHECK(asan_poisoned(q, 300) == 1);
    CHECK(asan_poisoned(p, 100) == 0);
    CHECK_OK(mcx_reset(ctx));
    CHECK(asan_poisoned(p, 100) == 1);
    CHECK_OK(mcx_delete(ctx));
}

/* Valid use that reuses bytes of a freed object: the newest object's bytes go back to the bump
 * pointer, then new headers and an in-place grow land on them. Runs in every build; under
 * Valgrind the mempool annotations must let the allocator and the caller use those bytes. */
static void bytes_reused_after_rollback(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    void *keep = mcx_alloc(ctx, 64);
    unsigned char *p = (unsigned char *)mcx_alloc(ctx, 100); /* the newest object */
    REQUIRE(keep && p);
    CHECK_OK(mcx_free(p)); /* rolled back into the bump */
    unsigned char *a = (unsigned char *)mcx_alloc(ctx, 8);  /* where p's header was */
    unsigned char *b = (unsigned char *)mcx_alloc(ctx, 8);  /* header inside p's old bytes */
    REQUIRE(a && b);
    th_fill(a, 8, 1);
    th_fill(b, 8, 2);
    /* b is the newest: roll a 200-byte object back over its tail, then grow b in place. */
    void *t = mcx_alloc(ctx, 200);
    REQUIRE(t != NULL);
    CHECK_OK(mcx_free(t));
    unsigned char *g = (unsigned char *)mcx_realloc(b, 250);
    REQUIRE(g != NULL);
    CHECK_U64(th_verify(g, 8, 2), ==, 8);
    th_fill(g, 250, 3);
    CHECK_U64(th_verify(g, 250, 3), ==, 250);
    CHECK_U64(th_verify(a, 8, 1), ==, 8);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

/* mcx_check finds a broken object header in any build (the walk checks sizes and magic words),
 * and the walk itself survives it. */
static void check_finds_broken_headers(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    unsigned char *a = (unsigned char *)mcx_alloc(ctx, 100);
    unsigned char *b = (unsigned char *)mcx_alloc(ctx, 200);
    unsigned char *c = (unsigned char *)mcx_alloc(ctx, 300);
    REQUIRE(a && b && c);
    CHECK_OK(mcx_free(a)); /* a free object before b, a live one after */
    CHECK_OK(mcx_check(ctx));
    /* Flip bytes of b's 16-byte header one at a time: each breaks an invariant. */
    int offsets[] = {-16, -15, -4, -1};
    for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
        unsigned char *h = b + offsets[k];
        unsigned char saved = peek(h);
        poke(h, (unsigned char)(saved ^ 0x40));
        CHECK_STATUS(mcx_check(ctx), MCX_ECORRUPT);
        CHECK_OK(mcx_check(NULL)); /* the top layer is not affected */
        poke(h, saved);
        CHECK_OK(mcx_check(ctx));
    }
    CHECK_OK(mcx_free(b));
    CHECK_OK(mcx_free(c));
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

TH_MAIN(TH_TEST(check_finds_broken_headers), TH_TEST(bytes_reused_after_rollback),
        TH_TEST(overrun_is_reported), TH_TEST(freed_memory_is_wiped),
        TH_TEST(deleted_context_is_refused), TH_TEST(unused_memory_is_poisoned))
