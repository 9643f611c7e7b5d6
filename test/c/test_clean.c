/* test_clean.c - the MCX_CONTEXT_CLEAN flag: memory a clean context receives never holds bytes
 * another context wrote. Each test first dirties memory through a context (a pattern in its
 * span, chain chunks and large allocations), gives it back (delete, reset, free), and then
 * checks that a clean context handed the same memory (addresses are compared, so the test knows
 * the memory really was reused) reads zeros everywhere it can look: the span, new allocations,
 * large allocations, after reset, and in children; also when the span's borrower wrote above the
 * offset it reported. A context without the flag keeps the old
 * behaviour (its memory is not scrubbed), which the last test shows.
 */
#include "harness.h"

static mcx_context *make(mcx_context *parent, unsigned flags, size_t initial, size_t max) {
    mcx_context_options o = th_opts(flags ? "clean" : "plain", initial, max, 0);
    o.flags = flags;
    return mcx_context_create(parent, &o);
}

static int all_zero(const void *p, size_t n) { return th_nonzero_bytes(p, n) == 0; }

/* Fill ctx's span (its whole current chunk) with a pattern, commit it, then grow the chain a few
 * chunks and allocate large objects, writing every byte. */
static void dirty(mcx_context *ctx, uint64_t id) {
    mcx_span s;
    if (mcx_span_reserve(ctx, 0, &s) != MCX_OK) return;
    th_fill(s.chunk_data, s.chunk_bytes, id);
    mcx_span_commit(ctx, s.chunk_bytes, 0);
    for (int i = 0; i < 4; i++) {
        if (mcx_span_reserve(ctx, s.chunk_bytes + 1, &s) != MCX_OK) return;
        th_fill((char *)s.chunk_data + s.offset, s.chunk_bytes - s.offset, id + 1 + (uint64_t)i);
        mcx_span_commit(ctx, s.chunk_bytes, 0);
    }
}

/* Span reserves and allocations of a fresh clean context read zero. */
static void check_zero_everywhere(mcx_context *ctx) {
    mcx_span s;
    REQUIRE(mcx_span_reserve(ctx, 0, &s) == MCX_OK);
    CHECK(all_zero(s.chunk_data, s.chunk_bytes));
    for (int i = 0; i < 4; i++) {
        REQUIRE(mcx_span_reserve(ctx, s.chunk_bytes + 1, &s) == MCX_OK);
        CHECK(all_zero((char *)s.chunk_data + s.offset, s.chunk_bytes - s.offset));
        CHECK_OK(mcx_span_commit(ctx, s.chunk_bytes, 0));
    }
}

static void delete_then_clean_context_reads_zero(void) {
    for (unsigned first = 0; first <= MCX_CONTEXT_CLEAN; first++) {
        mcx_context *a = make(NULL, first, 8 * TH_KiB, 256 * TH_KiB);
        REQUIRE(a != NULL);
        dirty(a, 100 + first);
        void *a_addr = a;
        CHECK_OK(mcx_delete(a));
        mcx_context *b = make(NULL, MCX_CONTEXT_CLEAN, 8 * TH_KiB, 256 * TH_KiB);
        REQUIRE(b != NULL);
        CHECK((void *)b == a_addr); /* the same keeper: the test really looks at reused memory */
        check_zero_everywhere(b);
        CHECK_OK(mcx_check(b));
        CHECK_OK(mcx_delete(b));
    }
}

static void reset_keeps_no_bytes(void) {
    mcx_context *ctx = make(NULL, MCX_CONTEXT_CLEAN, 8 * TH_KiB, 64 * TH_KiB);
    REQUIRE(ctx != NULL);
    for (int round = 0; round < 3; round++) {
        dirty(ctx, 200 + (uint64_t)round);
        CHECK_OK(mcx_reset(ctx));
        check_zero_everywhere(ctx);
        CHECK_OK(mcx_reset(ctx));
        /* Through C allocations too: written, some freed (the newest among them), then reset.
         * (Inside one context a freed object's bytes may come back: they are its own.) */
        for (int pass = 0; pass < 2; pass++) {
            unsigned char *ps[50];
            for (int i = 0; i < 50; i++) {
                ps[i] = mcx_alloc(ctx, 100);
                REQUIRE(ps[i] != NULL);
                CHECK(all_zero(ps[i], 100));
                memset(ps[i], 0xEE, 100);
            }
            for (int i = 49; i >= 0; i -= 3) CHECK_OK(mcx_free(ps[i]));
            CHECK_OK(mcx_reset(ctx));
        }
        unsigned char *q = mcx_alloc(ctx, 4000);
        REQUIRE(q != NULL);
        CHECK(all_zero(q, 4000));
        CHECK_OK(mcx_reset(ctx));
    }
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

static void large_allocations_read_zero(void) {
    /* max 1 MiB: objects above 128 KiB get chunks of their own from the buddy (below 1 MiB). */
    for (unsigned first = 0; first <= MCX_CONTEXT_CLEAN; first++) {
        mcx_context *a = make(NULL, first, 8 * TH_KiB, 1 * TH_MiB);
        REQUIRE(a != NULL);
        unsigned char *p = mcx_alloc(a, 300 * TH_KiB);
        REQUIRE(p != NULL);
        th_fill(p, 300 * TH_KiB, 7);
        /* Shrink in place, then free: the dropped tail must not survive either. */
        unsigned char *r = mcx_realloc(p, 200 * TH_KiB);
        REQUIRE(r == p);
        CHECK_OK(mcx_free(r));
        mcx_context *b = make(NULL, MCX_CONTEXT_CLEAN, 8 * TH_KiB, 1 * TH_MiB);
        REQUIRE(b != NULL);
        unsigned char *q = mcx_alloc(b, 300 * TH_KiB);
        REQUIRE(q != NULL);
        CHECK(all_zero(q, 300 * TH_KiB));
        CHECK_OK(mcx_delete(b));
        CHECK_OK(mcx_delete(a));
    }
}

static void children_are_clean(void) {
    mcx_context *plain = make(NULL, 0, 8 * TH_KiB, 64 * TH_KiB);
    REQUIRE(plain != NULL);
    dirty(plain, 300);
    CHECK_OK(mcx_delete(plain));
    mcx_context *parent = make(NULL, MCX_CONTEXT_CLEAN, 8 * TH_KiB, 64 * TH_KiB);
    REQUIRE(parent != NULL);
    mcx_context *child = make(parent, 0, 8 * TH_KiB, 64 * TH_KiB);
    REQUIRE(child != NULL);
    check_zero_everywhere(child);
    dirty(child, 301);
    CHECK_OK(mcx_reset(parent)); /* deletes the child, scrubbing what it wrote */
    mcx_context *again = make(parent, 0, 8 * TH_KiB, 64 * TH_KiB);
    REQUIRE(again != NULL);
    check_zero_everywhere(again);
    CHECK_OK(mcx_delete(parent));
}

static void unknown_flags_refused(void) {
    CHECK_FAILS(make(NULL, 2u, 0, 0), MCX_EINVAL);
    CHECK_FAILS(make(NULL, MCX_CONTEXT_CLEAN | 0x80u, 0, 0), MCX_EINVAL);
}

/* Without the flag nothing is scrubbed: the next plain context sees the old bytes (this is what
 * makes the clean tests above meaningful). */
static void plain_contexts_are_not_scrubbed(void) {
    mcx_context *a = make(NULL, 0, 8 * TH_KiB, 64 * TH_KiB);
    REQUIRE(a != NULL);
    dirty(a, 400);
    void *addr = a;
    CHECK_OK(mcx_delete(a));
    mcx_context *b = make(NULL, 0, 8 * TH_KiB, 64 * TH_KiB);
    REQUIRE(b != NULL);
    CHECK((void *)b == addr);
    mcx_span s;
    REQUIRE(mcx_span_reserve(b, 0, &s) == MCX_OK);
    CHECK(!all_zero(s.chunk_data, s.chunk_bytes));
    CHECK_OK(mcx_delete(b));
}

/* A borrower may write anywhere in the chunks it is lent (the Node facade's ArrayBuffer covers a
 * whole chunk) yet report a small offset: the bytes above the offset are scrubbed too, in the
 * keeper and in chain chunks, short tails (memset) and long ones (given back with madvise). */
static void span_bytes_above_the_offset_are_scrubbed(void) {
    for (int reset = 0; reset <= 1; reset++) {
        mcx_context *a = make(NULL, MCX_CONTEXT_CLEAN, 8 * TH_KiB, 1 * TH_MiB);
        REQUIRE(a != NULL);
        mcx_span s;
        REQUIRE(mcx_span_reserve(a, 0, &s) == MCX_OK);
        th_fill(s.chunk_data, s.chunk_bytes, 300);
        CHECK_OK(mcx_span_commit(a, s.offset + 16, 0));
        for (int i = 0; i < 4; i++) {
            REQUIRE(mcx_span_reserve(a, s.chunk_bytes + 1, &s) == MCX_OK);
            th_fill(s.chunk_data, s.chunk_bytes, 301 + (uint64_t)i);
            CHECK_OK(mcx_span_commit(a, s.offset + 16, 0));
        }
        CHECK_U64(s.chunk_bytes, >, 64 * TH_KiB); /* the last tail takes the madvise path */
        mcx_context *b = a;
        if (reset) {
            CHECK_OK(mcx_reset(a));
        } else {
            void *a_addr = a;
            CHECK_OK(mcx_delete(a));
            b = make(NULL, MCX_CONTEXT_CLEAN, 8 * TH_KiB, 1 * TH_MiB);
            REQUIRE(b != NULL);
            CHECK((void *)b == a_addr);
        }
        check_zero_everywhere(b);
        CHECK_OK(mcx_check(b));
        CHECK_OK(mcx_delete(b));
    }
}

TH_MAIN(TH_TEST(delete_then_clean_context_reads_zero), TH_TEST(reset_keeps_no_bytes),
        TH_TEST(span_bytes_above_the_offset_are_scrubbed),
        TH_TEST(large_allocations_read_zero), TH_TEST(children_are_clean), TH_TEST(unknown_flags_refused),
        TH_TEST(plain_contexts_are_not_scrubbed))
