/* fuzz_ops.c - owns the libFuzzer target of the memctx C core: it decodes an input into a
 * sequence of operations (create, alloc of any size, alloc_zero, aligned, free, realloc, reset,
 * delete, set_parent, span reserve/bump/commit, trim, maintain with a moving clock, reset
 * callbacks, bad input, fault injection of the next mapping), runs them against memctx and a
 * simple model, and after every step checks that the two agree: mcx_check() on every root, the
 * tree, the owner and size of every allocation, the context and global statistics, and the bytes
 * of every live allocation (each is filled with a pattern derived from its id).
 *
 * Any disagreement prints the step, the operation and the last operations, then aborts, so that
 * libFuzzer keeps the input. MCX_FUZZ_TRACE=1 prints every operation as it runs (to turn a crash
 * file into a readable operation sequence for a bug report).
 *
 * Memory per input is bounded: at most MAX_STEPS operations, LIVE_CAP live bytes, and sizes of at
 * most 4 MiB (plus one "huge" request that is released at once), so a run stays fast and the
 * process stays small. At the end of every input every context is deleted and mcx_trim() must
 * bring the mapped bytes back to zero: a leak of one top chunk fails the input.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_pattern.h"
#include "memctx.h"

#define MAX_STEPS 400
#define MAX_CTX 16
#define MAX_OBJ 256
#define MAX_CB 64
#define LIVE_CAP ((size_t)8 << 20)    /* bytes of live allocations per input */
#define SIZE_CAP ((size_t)4 << 20)    /* largest ordinary request */
#define HUGE_SIZE ((size_t)64 << 20)  /* above every ordinary size; only its ends are touched */
#define SAMPLE_SMALL ((size_t)4096)   /* allocations up to this are verified whole every step */

/* ---- model ---------------------------------------------------------------------------------- */
typedef struct mctx {
    mcx_context *ptr;
    int alive;
    int parent;          /* slot of the parent, -1 for a root */
    int span;            /* a span borrower bump-allocates here: only large C allocations */
    size_t limit;
    size_t threshold;    /* mcx_large_threshold() at creation */
    char name[24];
    /* span state */
    int span_valid;
    unsigned char *span_data;
    size_t span_bytes, span_off;
    uint32_t span_index;
} mctx;

enum { OBJ_C = 0, OBJ_SPAN = 1 };

typedef struct mobj {
    unsigned char *p;
    size_t size;
    size_t align;
    uint64_t id;
    int ctx;
    int kind;
    int alive;
    int resized; /* went through mcx_realloc: may live in place past the large threshold */
} mobj;

typedef struct mcb {
    int ctx;     /* slot registered on */
    int seq;     /* registration order on that context */
    int ran;     /* times run */
    int used;
} mcb;

static mctx g_ctx[MAX_CTX];
static mobj g_obj[MAX_OBJ];
static mcb g_cb[MAX_CB];
static int g_cb_log[MAX_CB * 2];
static int g_cb_log_len;
static int g_cb_seq;
static uint64_t g_next_id;
static size_t g_live_bytes;
static uint64_t g_clock_off_ms;
static uint64_t g_base_contexts;
static int g_fault_every; /* "every mapping fails" mode is on */
static int g_step;
static int g_trace = -1;

/* Ring of the last operations, printed when a check fails. */
#define RING 48
static char g_ring[RING][112];
static int g_ring_len;

static void note(const char *fmt, ...) {
    char *slot = g_ring[g_ring_len % RING];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(slot, sizeof g_ring[0], fmt, ap);
    va_end(ap);
    g_ring_len++;
    if (g_trace) fprintf(stderr, "  step %3d: %s\n", g_step, slot);
}

static void fail(const char *fmt, ...) {
    fprintf(stderr, "\n=== memctx fuzz: model disagreement at step %d ===\n", g_step);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nlast operations (oldest first):\n");
    int first = g_ring_len > RING ? g_ring_len - RING : 0;
    for (int i = first; i < g_ring_len; i++) fprintf(stderr, "  %s\n", g_ring[i % RING]);
    fflush(stderr);
    abort();
}

/* ---- input reader ------------------------------------------------------------------------- */
typedef struct reader {
    const uint8_t *p;
    size_t n, i;
} reader;

static unsigned u8(reader *r) { return r->i < r->n ? r->p[r->i++] : 0u; }
static unsigned u16(reader *r) { return u8(r) | (u8(r) << 8); }
static unsigned u24(reader *r) { return u16(r) | (u8(r) << 16); }

/* ---- patterns ------------------------------------------------------------------------------ */
static inline unsigned char pat(uint64_t id, size_t i) { return fuzz_pat(id, i); }

static void fill(mobj *o, size_t from, size_t to) { fuzz_fill(o->p, o->id, from, to); }

static void verify_range(const mobj *o, size_t from, size_t to, const char *when) {
    if (to > o->size) to = o->size;
    size_t i = fuzz_first_bad(o->p, o->id, from, to);
    if (i < to) {
        fail("%s: allocation id %llu (%s, %zu bytes at %p in ctx slot %d) has byte %zu = 0x%02x, "
                 "expected 0x%02x",
                 when, (unsigned long long)o->id, o->kind == OBJ_C ? "alloc" : "span", o->size,
                 (void *)o->p, o->ctx, i, o->p[i], pat(o->id, i));
    }
}

static void verify_full(const mobj *o, const char *when) { verify_range(o, 0, o->size, when); }

/* Small allocations whole; large ones at both ends and 16 bytes in every 4 KiB page (at an
 * offset that moves with the step), which catches a page zeroed by a stray madvise or an
 * overlapping allocation. Full checks run before every free, realloc, reset, delete, trim and
 * maintain, and at the end of the input. */
static void verify_sampled(const mobj *o, const char *when) {
    if (o->size <= SAMPLE_SMALL) {
        verify_full(o, when);
        return;
    }
    verify_range(o, 0, 64, when);
    verify_range(o, o->size - 64, o->size, when);
    size_t shift = ((size_t)g_step * 272u) % 4080u;
    for (size_t off = shift; off + 16 <= o->size; off += 4096) verify_range(o, off, off + 16, when);
}

/* ---- model helpers ----------------------------------------------------------------------- */
static int is_descendant_or_self(int slot, int anc) {
    for (int s = slot; s >= 0; s = g_ctx[s].parent)
        if (s == anc) return 1;
    return 0;
}

static int live_ctx_count(void) {
    int n = 0;
    for (int i = 0; i < MAX_CTX; i++) n += g_ctx[i].alive;
    return n;
}

/* The k-th live context (k taken modulo the count), or -1. */
static int pick_ctx(unsigned k) {
    int n = live_ctx_count();
    if (n == 0) return -1;
    int want = (int)(k % (unsigned)n);
    for (int i = 0; i < MAX_CTX; i++)
        if (g_ctx[i].alive && want-- == 0) return i;
    return -1;
}

static int pick_obj(unsigned k, int kind) {
    int n = 0;
    for (int i = 0; i < MAX_OBJ; i++) n += g_obj[i].alive && g_obj[i].kind == kind;
    if (n == 0) return -1;
    int want = (int)(k % (unsigned)n);
    for (int i = 0; i < MAX_OBJ; i++)
        if (g_obj[i].alive && g_obj[i].kind == kind && want-- == 0) return i;
    return -1;
}

static int free_obj_slot(void) {
    for (int i = 0; i < MAX_OBJ; i++)
        if (!g_obj[i].alive) return i;
    return -1;
}

static mobj *add_obj(void *p, size_t size, size_t align, int ctx, int kind) {
    int s = free_obj_slot();
    if (s < 0) fail("internal: no object slot (caller must check)");
    mobj *o = &g_obj[s];
    o->p = (unsigned char *)p;
    o->size = size;
    o->align = align;
    o->id = ++g_next_id;
    o->ctx = ctx;
    o->kind = kind;
    o->alive = 1;
    o->resized = 0;
    g_live_bytes += size;
    return o;
}

static void drop_obj(mobj *o) {
    g_live_bytes -= o->size;
    o->alive = 0;
}

/* ---- fault accounting --------------------------------------------------------------------- */
typedef struct opctx {
    uint64_t faults_before;
} opctx;

static opctx op_begin(void) {
    opctx oc = {mcx_faults_injected()};
    return oc;
}

static int op_faulted(const opctx *oc) { return mcx_faults_injected() != oc->faults_before; }

/* A failure is acceptable when its status is one the situation allows: MCX_ENOMEM only when a
 * mapping was failed by injection during this operation, MCX_ELIMIT only for a context with a
 * limit, and the statuses listed in also (0-terminated). */
static void expect_failure(const char *what, int status, const opctx *oc, int has_limit, ...) {
    if (status == MCX_ENOMEM && op_faulted(oc)) return;
    if (status == MCX_ELIMIT && has_limit) return;
    va_list ap;
    va_start(ap, has_limit);
    for (int s = va_arg(ap, int); s != 0; s = va_arg(ap, int)) {
        if (s == status) {
            va_end(ap);
            return;
        }
    }
    va_end(ap);
    fail("%s failed with %d (%s)%s%s", what, status, mcx_status_code(status),
         op_faulted(oc) ? "" : "; no mapping fault was injected during the call",
         has_limit ? "" : "; the context has no limit");
}

static int ctx_has_limit(int slot) { return slot >= 0 && g_ctx[slot].limit != 0; }

/* ---- reset callbacks ---------------------------------------------------------------------- */
static void on_reset(void *arg) {
    mcb *cb = (mcb *)arg;
    cb->ran++;
    if (g_cb_log_len < (int)(sizeof g_cb_log / sizeof g_cb_log[0])) g_cb_log[g_cb_log_len++] = (int)(cb - g_cb);
}

static int log_pos(int cb) {
    for (int i = 0; i < g_cb_log_len; i++)
        if (g_cb_log[i] == cb) return i;
    return -1;
}

/* After reset/delete of slot: every callback registered in its subtree ran exactly once, the
 * callbacks of a context ran after those of all its descendants, its own last registered first;
 * no other callback ran. */
static void check_callbacks(int slot, const char *what) {
    for (int c = 0; c < MAX_CB; c++) {
        if (!g_cb[c].used) continue;
        int in_tree = is_descendant_or_self(g_cb[c].ctx, slot);
        if (in_tree && g_cb[c].ran != 1)
            fail("%s of slot %d: callback %d (slot %d, seq %d) ran %d times, expected once", what, slot,
                 c, g_cb[c].ctx, g_cb[c].seq, g_cb[c].ran);
        if (!in_tree && g_cb[c].ran != 0)
            fail("%s of slot %d: callback %d of slot %d outside the subtree ran", what, slot, c, g_cb[c].ctx);
    }
    for (int a = 0; a < MAX_CB; a++) {
        if (!g_cb[a].used || !g_cb[a].ran) continue;
        for (int b = 0; b < MAX_CB; b++) {
            if (a == b || !g_cb[b].used || !g_cb[b].ran) continue;
            int pa = log_pos(a), pb = log_pos(b);
            /* same context: later registration first */
            if (g_cb[a].ctx == g_cb[b].ctx && g_cb[a].seq > g_cb[b].seq && pa > pb)
                fail("%s: callbacks of slot %d ran in registration order (seq %d after seq %d), "
                     "expected last registered first",
                     what, g_cb[a].ctx, g_cb[a].seq, g_cb[b].seq);
            /* a's context is a strict descendant of b's: a first */
            if (g_cb[a].ctx != g_cb[b].ctx && is_descendant_or_self(g_cb[a].ctx, g_cb[b].ctx) && pa > pb)
                fail("%s: callback of slot %d ran after that of its ancestor slot %d", what, g_cb[a].ctx,
                     g_cb[b].ctx);
        }
    }
    for (int c = 0; c < MAX_CB; c++)
        if (g_cb[c].used && g_cb[c].ran) g_cb[c].used = 0;
    g_cb_log_len = 0;
}

/* ---- model updates for reset / delete ------------------------------------------------------ */
/* Before the call: full check of the bytes of everything that is about to go. */
static void verify_subtree(int slot, int include_self_objects, const char *when) {
    for (int i = 0; i < MAX_OBJ; i++) {
        mobj *o = &g_obj[i];
        if (!o->alive) continue;
        if (o->ctx == slot ? include_self_objects : is_descendant_or_self(o->ctx, slot)) verify_full(o, when);
    }
}

/* After the call: drop the descendants of slot (and slot itself when deleted) and their
 * objects, and slot's own objects. */
static void model_reset(int slot, int delete_self) {
    for (int i = 0; i < MAX_OBJ; i++)
        if (g_obj[i].alive && is_descendant_or_self(g_obj[i].ctx, slot)) drop_obj(&g_obj[i]);
    /* mark descendants dead (deepest first does not matter: parents are looked up before) */
    int dead[MAX_CTX] = {0};
    for (int i = 0; i < MAX_CTX; i++)
        if (g_ctx[i].alive && i != slot && is_descendant_or_self(i, slot)) dead[i] = 1;
    for (int i = 0; i < MAX_CTX; i++)
        if (dead[i]) g_ctx[i].alive = 0;
    g_ctx[slot].span_valid = 0;
    if (delete_self) g_ctx[slot].alive = 0;
}

/* ---- the whole-state check ------------------------------------------------------------------ */
static int cmp_ptr(const void *a, const void *b) {
    const mobj *x = *(const mobj *const *)a, *y = *(const mobj *const *)b;
    return x->p < y->p ? -1 : x->p > y->p;
}

static void check_all(void) {
    /* mcx_check on the top layer and on every root */
    int st = mcx_check(NULL);
    if (st != MCX_OK) fail("mcx_check(NULL) = %d (%s)", st, mcx_status_code(st));
    int live = 0;
    for (int i = 0; i < MAX_CTX; i++) {
        mctx *c = &g_ctx[i];
        if (!c->alive) continue;
        live++;
        if (c->parent < 0) {
            st = mcx_check(c->ptr);
            if (st != MCX_OK) fail("mcx_check(root slot %d '%s') = %d (%s)", i, c->name, st, mcx_status_code(st));
        }
        /* tree */
        mcx_context *want_parent = c->parent >= 0 ? g_ctx[c->parent].ptr : NULL;
        if (mcx_parent(c->ptr) != want_parent)
            fail("mcx_parent(slot %d) = %p, model parent slot %d = %p", i, (void *)mcx_parent(c->ptr),
                 c->parent, (void *)want_parent);
        int model_children = 0;
        for (int j = 0; j < MAX_CTX; j++) model_children += g_ctx[j].alive && g_ctx[j].parent == i;
        int nav_children = 0;
        for (mcx_context *ch = mcx_first_child(c->ptr); ch; ch = mcx_next_sibling(ch)) {
            int found = -1;
            for (int j = 0; j < MAX_CTX; j++)
                if (g_ctx[j].alive && g_ctx[j].ptr == ch) found = j;
            if (found < 0 || g_ctx[found].parent != i)
                fail("child %p of slot %d is not a model child (model slot %d)", (void *)ch, i, found);
            if (++nav_children > MAX_CTX) fail("child list of slot %d does not end", i);
        }
        if (nav_children != model_children)
            fail("slot %d has %d children by navigation, model %d", i, nav_children, model_children);
        if (strncmp(mcx_name(c->ptr) ? mcx_name(c->ptr) : "", c->name, MCX_NAME_MAX) != 0)
            fail("mcx_name(slot %d) = '%s', expected '%s'", i, mcx_name(c->ptr), c->name);
        /* statistics */
        struct mcx_context_stats s;
        memset(&s, 0, sizeof s);
        st = mcx_context_stats(c->ptr, &s);
        if (st != MCX_OK) fail("mcx_context_stats(slot %d) = %d", i, st);
        if (s.child_count != (uint64_t)model_children)
            fail("stats child_count of slot %d = %llu, model %d", i, (unsigned long long)s.child_count, model_children);
        if (s.total_bytes != s.used_bytes + s.free_bytes)
            fail("stats of slot %d: total %llu != used %llu + free %llu", i, (unsigned long long)s.total_bytes,
                 (unsigned long long)s.used_bytes, (unsigned long long)s.free_bytes);
        if (s.limit_bytes != c->limit)
            fail("stats limit of slot %d = %llu, expected %zu", i, (unsigned long long)s.limit_bytes, c->limit);
        if (c->limit && s.total_bytes > c->limit)
            fail("slot %d owns %llu bytes, above its limit %zu", i, (unsigned long long)s.total_bytes, c->limit);
        uint64_t model_bytes = 0;
        uint64_t model_large = 0;
        for (int j = 0; j < MAX_OBJ; j++) {
            if (!g_obj[j].alive || g_obj[j].ctx != i) continue;
            model_bytes += g_obj[j].size;
            model_large += g_obj[j].kind == OBJ_C && !g_obj[j].resized && g_obj[j].size > c->threshold;
        }
        if (s.used_bytes < model_bytes)
            fail("stats used_bytes of slot %d = %llu, below the %llu bytes of its live allocations", i,
                 (unsigned long long)s.used_bytes, (unsigned long long)model_bytes);
        if (s.large_count < model_large)
            fail("stats large_count of slot %d = %llu, model has %llu allocations above the threshold %zu", i,
                 (unsigned long long)s.large_count, (unsigned long long)model_large, c->threshold);
        mcx_chunk_info chunks[64];
        size_t nchunks = 0;
        st = mcx_context_chunks(c->ptr, chunks, 64, &nchunks);
        if (st != MCX_OK || nchunks != s.chunk_count || nchunks == 0)
            fail("mcx_context_chunks(slot %d) = %d, count %zu, stats chunk_count %llu", i, st, nchunks,
                 (unsigned long long)s.chunk_count);
        for (size_t k = 0; k < nchunks && k < 64; k++)
            if (chunks[k].used > chunks[k].size)
                fail("chunk %zu of slot %d: used %llu > size %llu", k, i, (unsigned long long)chunks[k].used,
                     (unsigned long long)chunks[k].size);
        if (c->span_valid && c->span_index + 1 != nchunks)
            fail("slot %d: span chunk index %u but the chain has %zu chunks", i, c->span_index, nchunks);
    }
    /* allocations: owner, size, alignment, bytes, no overlap */
    mobj *sorted[MAX_OBJ];
    int n = 0;
    for (int i = 0; i < MAX_OBJ; i++) {
        mobj *o = &g_obj[i];
        if (!o->alive) continue;
        sorted[n++] = o;
        if (((uintptr_t)o->p % o->align) != 0)
            fail("allocation id %llu at %p is not aligned to %zu", (unsigned long long)o->id, (void *)o->p, o->align);
        if (o->kind == OBJ_C) {
            if (mcx_context_of(o->p) != g_ctx[o->ctx].ptr)
                fail("mcx_context_of(id %llu) = %p, expected slot %d = %p", (unsigned long long)o->id,
                     (void *)mcx_context_of(o->p), o->ctx, (void *)g_ctx[o->ctx].ptr);
            size_t us = mcx_alloc_size(o->p);
            if (us < o->size)
                fail("mcx_alloc_size(id %llu) = %zu < requested %zu", (unsigned long long)o->id, us, o->size);
        }
        verify_sampled(o, "after the step");
    }
    qsort(sorted, (size_t)n, sizeof sorted[0], cmp_ptr);
    for (int i = 1; i < n; i++) {
        const mobj *a = sorted[i - 1], *b = sorted[i];
        size_t alen = a->size ? a->size : 1;
        if (a->p + alen > b->p)
            fail("allocations overlap: id %llu [%p, +%zu) and id %llu [%p, +%zu)", (unsigned long long)a->id,
                 (void *)a->p, a->size, (unsigned long long)b->id, (void *)b->p, b->size);
    }
    /* global statistics */
    struct mcx_global_stats g;
    mcx_global_stats(&g);
    if (g.context_count != g_base_contexts + (uint64_t)live)
        fail("global context_count = %llu, model %llu", (unsigned long long)g.context_count,
             (unsigned long long)(g_base_contexts + (uint64_t)live));
    if (g.peak_mapped_bytes < g.mapped_bytes) fail("peak_mapped_bytes below mapped_bytes");
    mcx_top_info tops[256];
    size_t ntops = 0;
    st = mcx_top_chunks(tops, 256, &ntops);
    /* the vector's top chunks, then the dedicated mappings */
    if (st != MCX_OK || ntops != g.top_chunk_count + g.dedicated_count)
        fail("mcx_top_chunks = %d with %zu entries, top_chunk_count %llu + dedicated_count %llu", st, ntops,
             (unsigned long long)g.top_chunk_count, (unsigned long long)g.dedicated_count);
    uint64_t sum = 0;
    for (size_t k = 0; k < ntops && k < 256; k++) {
        sum += tops[k].size;
        if ((tops[k].dedicated != 0) != (k >= g.top_chunk_count))
            fail("top chunk %zu: dedicated flag %d, but the vector has %llu entries", k, tops[k].dedicated,
                 (unsigned long long)g.top_chunk_count);
        if (tops[k].used > tops[k].size)
            fail("top chunk %zu: used %llu > size %llu", k, (unsigned long long)tops[k].used,
                 (unsigned long long)tops[k].size);
    }
    if (ntops <= 256 && sum != g.mapped_bytes)
        fail("top chunk sizes add up to %llu, mapped_bytes %llu", (unsigned long long)sum,
             (unsigned long long)g.mapped_bytes);
}

/* ---- sizes ---------------------------------------------------------------------------------- */
static size_t decode_size(reader *r, size_t threshold) {
    size_t n;
    switch (u8(r) % 8) {
    case 0: n = 0; break;
    case 1: n = u8(r) % 32 + 1; break;
    case 2: n = u8(r); break;
    case 3: n = u16(r) % 4096; break;
    case 4: n = u16(r); break;
    case 5: {
        unsigned k = u8(r) % 23; /* up to 4 MiB */
        int delta = (int)(u8(r) % 3) - 1;
        n = ((size_t)1 << k) + (size_t)(long)delta;
        if (n > SIZE_CAP) n = SIZE_CAP;
        break;
    }
    case 6: n = u24(r) % (SIZE_CAP + 1); break;
    default: {
        /* around the context's large threshold */
        size_t d = u8(r) % 65;
        n = threshold + d >= 32 ? threshold + d - 32 : 0;
        if (n > SIZE_CAP) n = SIZE_CAP;
        break;
    }
    }
    return n;
}

static int room_for(size_t n) { return g_live_bytes + n <= LIVE_CAP && free_obj_slot() >= 0; }

/* ---- operations ------------------------------------------------------------------------------ */
static const size_t k_initial[] = {0, 4096, 8192, 16384, 65536, (size_t)1 << 20, 5000, 100};
static const size_t k_maxchunk[] = {0, 65536, (size_t)1 << 20, (size_t)8 << 20};
static const size_t k_limit[] = {0, 0, 0, 65536, (size_t)1 << 20, (size_t)4 << 20};

static void op_create(reader *r) {
    unsigned pb = u8(r), ob = u8(r), nb = u8(r);
    int slot = -1;
    for (int i = 0; i < MAX_CTX; i++)
        if (!g_ctx[i].alive) {
            slot = i;
            break;
        }
    if (slot < 0) return;
    int parent = (pb % 4 == 0) ? -1 : pick_ctx(pb / 4);
    mcx_context_options o;
    memset(&o, 0, sizeof o);
    char name[24];
    snprintf(name, sizeof name, "f%u-%d", nb, g_step);
    o.name = name;
    o.initial_size = k_initial[ob % 8];
    o.max_chunk_size = k_maxchunk[(ob / 8) % 4];
    o.limit_bytes = k_limit[(ob / 32) % 6];
    int span = (nb & 1) != 0;
    /* odd options: sizes below the minimum or not a power of two, a maximum below the initial
     * size, a limit below the first chunk; the library may round or refuse them (MCX_EINVAL). */
    size_t eff_initial = o.initial_size ? o.initial_size : 8192;
    size_t eff_max = o.max_chunk_size ? o.max_chunk_size : ((size_t)1 << 20);
    int odd = (o.initial_size == 5000 || o.initial_size == 100 || eff_max < eff_initial ||
               (o.limit_bytes && o.limit_bytes < 2 * eff_initial));
    note("create slot %d parent %d initial %zu max %zu limit %zu span %d", slot, parent, o.initial_size,
         o.max_chunk_size, o.limit_bytes, span);
    opctx oc = op_begin();
    mcx_context *c = mcx_context_create(parent >= 0 ? g_ctx[parent].ptr : NULL, &o);
    if (!c) {
        expect_failure("mcx_context_create", mcx_errno(), &oc, o.limit_bytes != 0, odd ? MCX_EINVAL : 0, 0);
        return;
    }
    mctx *m = &g_ctx[slot];
    memset(m, 0, sizeof *m);
    m->ptr = c;
    m->alive = 1;
    m->parent = parent;
    m->span = span;
    m->limit = o.limit_bytes;
    m->threshold = mcx_large_threshold(c);
    snprintf(m->name, sizeof m->name, "%s", name);
    if (m->threshold == 0 || m->threshold > MCX_ALLOC_MAX) fail("mcx_large_threshold(new context) = %zu", m->threshold);
}

static void op_alloc(reader *r, int kind /* 0 alloc, 1 zero, 2 aligned */) {
    int slot = pick_ctx(u8(r));
    if (slot < 0) return;
    mctx *c = &g_ctx[slot];
    size_t n = decode_size(r, c->threshold);
    size_t align = MCX_ALIGN;
    int bad_align = 0;
    if (kind == 2) {
        unsigned a = u8(r) % 16;
        if (a <= 12) align = (size_t)1 << a;
        else {
            align = a == 13 ? 0 : a == 14 ? 3 : 8192;
            bad_align = 1;
        }
    }
    if (c->span && n <= c->threshold) n = c->threshold + 1 + n % 4096; /* span contexts: large only */
    if (!room_for(n)) return;
    note("%s slot %d size %zu align %zu", kind == 0 ? "alloc" : kind == 1 ? "alloc_zero" : "alloc_aligned",
         slot, n, align);
    opctx oc = op_begin();
    void *p = kind == 0 ? mcx_alloc(c->ptr, n) : kind == 1 ? mcx_alloc_zero(c->ptr, n)
                                                          : mcx_alloc_aligned(c->ptr, n, align);
    if (bad_align) {
        if (p) fail("mcx_alloc_aligned(align %zu) succeeded; expected MCX_EINVAL", align);
        if (mcx_errno() != MCX_EINVAL)
            fail("mcx_alloc_aligned(align %zu) failed with %s; expected MCX_EINVAL", align,
                 mcx_status_code(mcx_errno()));
        return;
    }
    if (!p) {
        expect_failure("allocation", mcx_errno(), &oc, ctx_has_limit(slot), 0);
        return;
    }
    if (kind == 1) {
        size_t i = fuzz_first_nonzero(p, n);
        if (i < n) fail("mcx_alloc_zero(%zu): byte %zu is 0x%02x", n, i, ((unsigned char *)p)[i]);
    }
    mobj *o = add_obj(p, n, align < MCX_ALIGN ? MCX_ALIGN : align, slot, OBJ_C);
    fill(o, 0, n);
}

static void op_burst(reader *r) {
    int slot = pick_ctx(u8(r));
    if (slot < 0 || g_ctx[slot].span) return;
    unsigned count = u8(r) % 64 + 1;
    size_t n = u8(r) % 200;
    note("burst slot %d: %u allocations of %zu bytes", slot, count, n);
    for (unsigned k = 0; k < count && room_for(n); k++) {
        opctx oc = op_begin();
        void *p = mcx_alloc(g_ctx[slot].ptr, n);
        if (!p) {
            expect_failure("mcx_alloc (burst)", mcx_errno(), &oc, ctx_has_limit(slot), 0);
            return;
        }
        fill(add_obj(p, n, MCX_ALIGN, slot, OBJ_C), 0, n);
    }
}

static void op_free(reader *r) {
    int i = pick_obj(u8(r), OBJ_C);
    if (i < 0) return;
    mobj *o = &g_obj[i];
    note("free id %llu (%zu bytes, slot %d)", (unsigned long long)o->id, o->size, o->ctx);
    verify_full(o, "before free");
    int st = mcx_free(o->p);
    if (st != MCX_OK) fail("mcx_free(id %llu) = %d (%s)", (unsigned long long)o->id, st, mcx_status_code(st));
    drop_obj(o);
}

static void op_free_many(reader *r) {
    int slot = pick_ctx(u8(r));
    if (slot < 0) return;
    unsigned stride = u8(r) % 3 + 2;
    note("free every %u-th allocation of slot %d", stride, slot);
    unsigned k = 0;
    for (int i = 0; i < MAX_OBJ; i++) {
        mobj *o = &g_obj[i];
        if (!o->alive || o->ctx != slot || o->kind != OBJ_C) continue;
        if (k++ % stride) continue;
        verify_full(o, "before free");
        int st = mcx_free(o->p);
        if (st != MCX_OK) fail("mcx_free(id %llu) = %d (%s)", (unsigned long long)o->id, st, mcx_status_code(st));
        drop_obj(o);
    }
}

static void op_realloc(reader *r) {
    int i = pick_obj(u8(r), OBJ_C);
    if (i < 0) return;
    mobj *o = &g_obj[i];
    mctx *c = &g_ctx[o->ctx];
    size_t n = decode_size(r, c->threshold);
    if (c->span && n <= c->threshold) n = c->threshold + 1 + n % 4096;
    if (n > o->size && !room_for(n - o->size)) return;
    note("realloc id %llu (%zu bytes, slot %d) to %zu", (unsigned long long)o->id, o->size, o->ctx, n);
    verify_full(o, "before realloc");
    opctx oc = op_begin();
    void *q = mcx_realloc(o->p, n);
    if (!q) {
        expect_failure("mcx_realloc", mcx_errno(), &oc, ctx_has_limit(o->ctx), 0);
        verify_full(o, "after a failed realloc (the old allocation must stay valid)");
        return;
    }
    size_t keep = n < o->size ? n : o->size;
    size_t old = o->size;
    o->p = (unsigned char *)q;
    o->size = keep;
    verify_full(o, "after realloc (kept bytes)");
    o->size = n;
    o->align = MCX_ALIGN;
    o->resized = 1;
    g_live_bytes = g_live_bytes - old + n;
    fill(o, keep, n);
}

static void op_reset_or_delete(reader *r, int del) {
    int slot = pick_ctx(u8(r));
    if (slot < 0) return;
    note("%s slot %d", del ? "delete" : "reset", slot);
    verify_subtree(slot, 1, del ? "before delete" : "before reset");
    g_cb_log_len = 0;
    opctx oc = op_begin();
    int st = del ? mcx_delete(g_ctx[slot].ptr) : mcx_reset(g_ctx[slot].ptr);
    if (st != MCX_OK) {
        (void)oc;
        fail("%s(slot %d) = %d (%s)", del ? "mcx_delete" : "mcx_reset", slot, st, mcx_status_code(st));
    }
    model_reset(slot, del);
    check_callbacks(slot, del ? "delete" : "reset");
}

static void op_set_parent(reader *r) {
    int slot = pick_ctx(u8(r));
    unsigned pb = u8(r);
    if (slot < 0) return;
    int np = (pb % 4 == 0) ? -1 : pick_ctx(pb / 4);
    int cycle = np >= 0 && is_descendant_or_self(np, slot);
    note("set_parent slot %d -> %d%s", slot, np, cycle ? " (cycle)" : "");
    int st = mcx_set_parent(g_ctx[slot].ptr, np >= 0 ? g_ctx[np].ptr : NULL);
    if (cycle) {
        if (st != MCX_EINVAL) fail("mcx_set_parent making a cycle returned %d (%s), expected MCX_EINVAL", st, mcx_status_code(st));
        return;
    }
    if (st != MCX_OK) fail("mcx_set_parent(slot %d, %d) = %d (%s)", slot, np, st, mcx_status_code(st));
    g_ctx[slot].parent = np;
}

static int span_reserve(int slot, size_t min_bytes) {
    mctx *c = &g_ctx[slot];
    mcx_span sp;
    memset(&sp, 0, sizeof sp);
    opctx oc = op_begin();
    int st = mcx_span_reserve(c->ptr, min_bytes, &sp);
    if (st != MCX_OK) {
        expect_failure("mcx_span_reserve", st, &oc, ctx_has_limit(slot), 0);
        return 0;
    }
    if (!sp.chunk_data || sp.offset > sp.chunk_bytes || sp.chunk_bytes - sp.offset < min_bytes)
        fail("mcx_span_reserve(slot %d, %zu): data %p, bytes %zu, offset %zu", slot, min_bytes, sp.chunk_data,
             sp.chunk_bytes, sp.offset);
    if ((uintptr_t)sp.chunk_data % MCX_ALIGN) fail("span data %p not aligned", sp.chunk_data);
    if (c->span_valid) {
        if (sp.chunk_index == c->span_index) {
            if ((unsigned char *)sp.chunk_data != c->span_data || sp.offset != c->span_off)
                fail("span reserve on the same chunk %u moved it: data %p/%p offset %zu/%zu", sp.chunk_index,
                     sp.chunk_data, (void *)c->span_data, sp.offset, c->span_off);
        } else if (sp.chunk_index != c->span_index + 1) {
            fail("span chunk index went from %u to %u", c->span_index, sp.chunk_index);
        }
    }
    c->span_valid = 1;
    c->span_data = (unsigned char *)sp.chunk_data;
    c->span_bytes = sp.chunk_bytes;
    c->span_off = sp.offset;
    c->span_index = sp.chunk_index;
    return 1;
}

static int pick_span_ctx(unsigned k) {
    int n = 0;
    for (int i = 0; i < MAX_CTX; i++) n += g_ctx[i].alive && g_ctx[i].span;
    if (n == 0) return -1;
    int want = (int)(k % (unsigned)n);
    for (int i = 0; i < MAX_CTX; i++)
        if (g_ctx[i].alive && g_ctx[i].span && want-- == 0) return i;
    return -1;
}

static void op_span_reserve(reader *r) {
    int slot = pick_span_ctx(u8(r));
    if (slot < 0) return;
    size_t n = decode_size(r, g_ctx[slot].threshold);
    note("span_reserve slot %d min %zu", slot, n);
    span_reserve(slot, n);
}

static void op_span_bump(reader *r) {
    int slot = pick_span_ctx(u8(r));
    if (slot < 0) return;
    mctx *c = &g_ctx[slot];
    size_t n = u16(r) % 2048;
    if (u8(r) % 8 == 0) n = u16(r) * 4u; /* sometimes up to 256 KiB */
    if (!room_for(n)) return;
    note("span_bump slot %d size %zu", slot, n);
    size_t at = (c->span_off + MCX_ALIGN - 1) & ~(size_t)(MCX_ALIGN - 1);
    if (!c->span_valid || at + n > c->span_bytes) {
        if (!span_reserve(slot, n + MCX_ALIGN)) return;
        at = (c->span_off + MCX_ALIGN - 1) & ~(size_t)(MCX_ALIGN - 1);
        if (at + n > c->span_bytes) fail("span of %zu bytes from offset %zu cannot hold %zu", c->span_bytes, at, n);
    }
    /* a zero-length bump is a zero-length view (the facade's alloc(0)): no region to track, and
     * it may share its address with the next one */
    if (n > 0) fill(add_obj(c->span_data + at, n, MCX_ALIGN, slot, OBJ_SPAN), 0, n);
    c->span_off = at + n;
    int st = mcx_span_commit(c->ptr, c->span_off, 0);
    if (st != MCX_OK) fail("mcx_span_commit(slot %d, %zu, 0) = %d (%s)", slot, c->span_off, st, mcx_status_code(st));
}

static void op_span_free(reader *r) {
    int i = pick_obj(u8(r), OBJ_SPAN);
    if (i < 0) return;
    mobj *o = &g_obj[i];
    mctx *c = &g_ctx[o->ctx];
    note("span_free id %llu (%zu bytes, slot %d)", (unsigned long long)o->id, o->size, o->ctx);
    verify_full(o, "before span free");
    size_t n = o->size;
    int slot = o->ctx;
    drop_obj(o);
    if (!c->span_valid) return; /* nothing to report against */
    int st = mcx_span_commit(c->ptr, c->span_off, n);
    if (st != MCX_OK) fail("mcx_span_commit(slot %d, %zu, freed %zu) = %d (%s)", slot, c->span_off, n, st, mcx_status_code(st));
}

static void verify_everything(const char *when) {
    for (int i = 0; i < MAX_OBJ; i++)
        if (g_obj[i].alive) verify_full(&g_obj[i], when);
}

static void op_trim(void) {
    note("trim");
    uint64_t released = mcx_trim();
    struct mcx_global_stats g;
    mcx_global_stats(&g);
    if (g.retained_bytes != 0)
        fail("after mcx_trim (released %llu) retained_bytes = %llu", (unsigned long long)released,
             (unsigned long long)g.retained_bytes);
    verify_everything("after trim");
}

static void op_maintain(reader *r) {
    uint64_t delta = u16(r) % 3000;
    g_clock_off_ms += delta;
    uint64_t now = mcx_now_ms() + g_clock_off_ms;
    note("maintain at now+%llu ms", (unsigned long long)g_clock_off_ms);
    (void)mcx_maintain(now);
    verify_everything("after maintain");
}

static void op_fault(reader *r) {
    unsigned b = u8(r);
    if (b % 8 == 7) {
        g_fault_every = !g_fault_every;
        note("fault injection: every mapping %s", g_fault_every ? "fails" : "succeeds again");
        mcx_fault_inject(g_fault_every ? 1 : 0, g_fault_every ? 1 : 0);
    } else {
        unsigned nth = b % 4 + 1;
        note("fault injection: mapping %u from now fails", nth);
        g_fault_every = 0;
        mcx_fault_inject(nth, 0);
    }
}

static void op_callback(reader *r) {
    int slot = pick_ctx(u8(r));
    if (slot < 0 || g_ctx[slot].span) return;
    int c = -1;
    for (int i = 0; i < MAX_CB; i++)
        if (!g_cb[i].used) {
            c = i;
            break;
        }
    if (c < 0) return;
    note("register callback %d on slot %d", c, slot);
    opctx oc = op_begin();
    int st = mcx_register_reset_callback(g_ctx[slot].ptr, on_reset, &g_cb[c]);
    if (st != MCX_OK) {
        expect_failure("mcx_register_reset_callback", st, &oc, ctx_has_limit(slot), 0);
        return;
    }
    g_cb[c].used = 1;
    g_cb[c].ran = 0;
    g_cb[c].ctx = slot;
    g_cb[c].seq = ++g_cb_seq;
}

/* Bad input: every call must refuse it with the documented status and change nothing. */
static void op_bad(reader *r) {
    unsigned b = u8(r);
    int slot = pick_ctx(u8(r));
    int oi = pick_obj(u8(r), OBJ_C);
    static unsigned char not_ours[64];
    unsigned char on_stack[32];
    int st;
    void *p;
    switch (b % 10) {
    case 0:
        note("bad: mcx_free(NULL)");
        if ((st = mcx_free(NULL)) != MCX_EINVAL) fail("mcx_free(NULL) = %d (%s), expected MCX_EINVAL", st, mcx_status_code(st));
        break;
    case 1:
        note("bad: mcx_free(static buffer)");
        if ((st = mcx_free(not_ours + 16)) != MCX_EFOREIGN)
            fail("mcx_free(static buffer) = %d (%s), expected MCX_EFOREIGN", st, mcx_status_code(st));
        break;
    case 2:
        note("bad: mcx_free(stack buffer), alloc_size/context_of of it");
        if ((st = mcx_free(on_stack)) != MCX_EFOREIGN)
            fail("mcx_free(stack buffer) = %d (%s), expected MCX_EFOREIGN", st, mcx_status_code(st));
        if (mcx_alloc_size(on_stack) != 0 || mcx_context_of(on_stack) != NULL)
            fail("mcx_alloc_size/mcx_context_of accepted a stack pointer");
        break;
    case 3:
        if (slot < 0) return;
        note("bad: mcx_alloc(slot %d, MCX_ALLOC_MAX + 1)", slot);
        p = mcx_alloc(g_ctx[slot].ptr, MCX_ALLOC_MAX + 1);
        if (p || mcx_errno() != MCX_ETOOBIG) fail("mcx_alloc(MCX_ALLOC_MAX + 1) = %p, errno %s", p, mcx_status_code(mcx_errno()));
        p = mcx_alloc_zero(g_ctx[slot].ptr, SIZE_MAX);
        if (p || mcx_errno() != MCX_ETOOBIG) fail("mcx_alloc_zero(SIZE_MAX) = %p, errno %s", p, mcx_status_code(mcx_errno()));
        p = mcx_alloc_aligned(g_ctx[slot].ptr, SIZE_MAX - 8, 64);
        if (p || mcx_errno() != MCX_ETOOBIG)
            fail("mcx_alloc_aligned(SIZE_MAX - 8, 64) = %p, errno %s", p, mcx_status_code(mcx_errno()));
        break;
    case 4:
        note("bad: NULL context to alloc/reset/delete/stats/span");
        p = mcx_alloc(NULL, 8);
        if (p || mcx_errno() != MCX_EINVAL) fail("mcx_alloc(NULL, 8) = %p, errno %s", p, mcx_status_code(mcx_errno()));
        if ((st = mcx_reset(NULL)) != MCX_EINVAL) fail("mcx_reset(NULL) = %s", mcx_status_code(st));
        if ((st = mcx_delete(NULL)) != MCX_EINVAL) fail("mcx_delete(NULL) = %s", mcx_status_code(st));
        {
            struct mcx_context_stats s;
            if ((st = mcx_context_stats(NULL, &s)) != MCX_EINVAL) fail("mcx_context_stats(NULL) = %s", mcx_status_code(st));
            mcx_span sp;
            if ((st = mcx_span_reserve(NULL, 16, &sp)) != MCX_EINVAL) fail("mcx_span_reserve(NULL) = %s", mcx_status_code(st));
        }
        break;
    case 5:
        if (oi < 0) return;
        note("bad: realloc id %llu to MCX_ALLOC_MAX + 1", (unsigned long long)g_obj[oi].id);
        p = mcx_realloc(g_obj[oi].p, MCX_ALLOC_MAX + 1);
        if (p || mcx_errno() != MCX_ETOOBIG)
            fail("mcx_realloc(MCX_ALLOC_MAX + 1) = %p, errno %s", p, mcx_status_code(mcx_errno()));
        verify_full(&g_obj[oi], "after a refused realloc");
        break;
    case 6:
        if (slot < 0) return;
        note("bad: set_parent(slot %d, itself)", slot);
        if ((st = mcx_set_parent(g_ctx[slot].ptr, g_ctx[slot].ptr)) != MCX_EINVAL)
            fail("mcx_set_parent(ctx, ctx) = %d (%s), expected MCX_EINVAL", st, mcx_status_code(st));
        break;
    case 7:
        note("bad: mcx_realloc(NULL, 16), mcx_realloc(static buffer, 16)");
        p = mcx_realloc(NULL, 16);
        if (p || mcx_errno() != MCX_EINVAL) fail("mcx_realloc(NULL, 16) = %p, errno %s", p, mcx_status_code(mcx_errno()));
        p = mcx_realloc(not_ours + 32, 16);
        if (p || mcx_errno() != MCX_EFOREIGN)
            fail("mcx_realloc(static buffer, 16) = %p, errno %s", p, mcx_status_code(mcx_errno()));
        break;
    case 8: {
        int s = pick_span_ctx((unsigned)slot);
        if (s < 0 || !g_ctx[s].span_valid) return;
        note("bad: span_commit(slot %d) past the end of the chunk", s);
        st = mcx_span_commit(g_ctx[s].ptr, g_ctx[s].span_bytes + 16, 0);
        if (st != MCX_EINVAL) fail("mcx_span_commit(offset past chunk end) = %d (%s), expected MCX_EINVAL", st, mcx_status_code(st));
        break;
    }
    default: {
        note("bad: mcx_configure with top_chunk_size 1000 and decay/retain unchanged");
        mcx_config before, bad, after;
        mcx_config_get(&before);
        bad = before;
        bad.top_chunk_size = 1000;
        if ((st = mcx_configure(&bad)) != MCX_EINVAL) fail("mcx_configure(top_chunk_size 1000) = %s", mcx_status_code(st));
        mcx_config_get(&after);
        /* field by field: the struct has padding, which memcmp would read uninitialised */
        if (before.top_chunk_size != after.top_chunk_size || before.max_top_chunk_size != after.max_top_chunk_size ||
            before.retain_bytes != after.retain_bytes || before.decay_ms != after.decay_ms ||
            before.background_thread != after.background_thread)
            fail("a refused mcx_configure changed the configuration");
        break;
    }
    }
}

static void op_huge(reader *r) {
    int slot = pick_ctx(u8(r));
    if (slot < 0) return;
    note("huge allocation of %zu bytes in slot %d", HUGE_SIZE, slot);
    opctx oc = op_begin();
    unsigned char *p = mcx_alloc(g_ctx[slot].ptr, HUGE_SIZE);
    if (!p) {
        expect_failure("mcx_alloc(64 MiB)", mcx_errno(), &oc, ctx_has_limit(slot), 0);
        return;
    }
    if (mcx_alloc_size(p) < HUGE_SIZE) fail("mcx_alloc_size(64 MiB allocation) = %zu", mcx_alloc_size(p));
    p[0] = 1;
    p[HUGE_SIZE - 1] = 2;
    int st = mcx_free(p);
    if (st != MCX_OK) fail("mcx_free(64 MiB allocation) = %d (%s)", st, mcx_status_code(st));
}

/* ---- one input ------------------------------------------------------------------------------ */
static void configure_from(unsigned b) {
    mcx_config cfg;
    mcx_config_default(&cfg);
    switch (b % 4) {
    case 0: break;
    case 1: cfg.top_chunk_size = (size_t)256 << 10; cfg.max_top_chunk_size = (size_t)8 << 20; cfg.retain_bytes = 0; cfg.decay_ms = 0; break;
    case 2: cfg.top_chunk_size = (size_t)512 << 10; cfg.max_top_chunk_size = (size_t)64 << 20; cfg.retain_bytes = (size_t)1 << 20; cfg.decay_ms = 50; break;
    default: cfg.top_chunk_size = (size_t)1 << 20; cfg.retain_bytes = (size_t)256 << 10; cfg.decay_ms = 500; break;
    }
    cfg.background_thread = 0;
    int st = mcx_configure(&cfg);
    if (st != MCX_OK) fail("mcx_configure(variant %u) = %d (%s)", b % 4, st, mcx_status_code(st));
}

static void teardown(void) {
    g_step = -1;
    mcx_fault_inject(0, 0);
    g_fault_every = 0;
    verify_everything("at the end of the input");
    /* delete roots; their subtrees go with them */
    for (int i = 0; i < MAX_CTX; i++) {
        if (!g_ctx[i].alive || g_ctx[i].parent >= 0) continue;
        g_cb_log_len = 0;
        int st = mcx_delete(g_ctx[i].ptr);
        if (st != MCX_OK) fail("teardown: mcx_delete(root slot %d) = %d (%s)", i, st, mcx_status_code(st));
        model_reset(i, 1);
        check_callbacks(i, "teardown delete");
    }
    if (live_ctx_count() != 0) fail("teardown: model still has live contexts (a cycle in the model?)");
    (void)mcx_trim();
    struct mcx_global_stats g;
    mcx_global_stats(&g);
    if (g.context_count != g_base_contexts)
        fail("teardown: %llu contexts alive after deleting all, expected %llu", (unsigned long long)g.context_count,
             (unsigned long long)g_base_contexts);
    if (g.mapped_bytes != 0 || g.chunk_bytes != 0 || g.top_chunk_count != 0 || g.dedicated_count != 0 ||
        g.retained_bytes != 0)
        fail("teardown: after deleting every context and mcx_trim: mapped %llu, chunk %llu, top chunks %llu, "
             "retained %llu (expected all 0: a leak)",
             (unsigned long long)g.mapped_bytes, (unsigned long long)g.chunk_bytes,
             (unsigned long long)g.top_chunk_count, (unsigned long long)g.retained_bytes);
    int st = mcx_check(NULL);
    if (st != MCX_OK) fail("teardown: mcx_check(NULL) = %d", st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (g_trace < 0) {
        const char *t = getenv("MCX_FUZZ_TRACE");
        g_trace = t && *t && *t != '0';
        struct mcx_global_stats g;
        mcx_global_stats(&g);
        g_base_contexts = g.context_count;
    }
    memset(g_ctx, 0, sizeof g_ctx);
    memset(g_obj, 0, sizeof g_obj);
    memset(g_cb, 0, sizeof g_cb);
    g_cb_log_len = 0;
    g_cb_seq = 0;
    g_next_id = 0;
    g_live_bytes = 0;
    g_clock_off_ms = 0;
    g_ring_len = 0;
    g_fault_every = 0;
    mcx_fault_inject(0, 0);

    reader r = {data, size, 0};
    g_step = 0;
    configure_from(u8(&r));
    note("configure variant %u", size ? data[0] % 4 : 0);
    for (g_step = 1; g_step <= MAX_STEPS && r.i < r.n; g_step++) {
        unsigned op = u8(&r) % 20;
        switch (op) {
        case 0: op_create(&r); break;
        case 1: op_alloc(&r, 0); break;
        case 2: op_alloc(&r, 1); break;
        case 3: op_alloc(&r, 2); break;
        case 4: op_free(&r); break;
        case 5: op_realloc(&r); break;
        case 6: op_reset_or_delete(&r, 0); break;
        case 7: op_reset_or_delete(&r, 1); break;
        case 8: op_set_parent(&r); break;
        case 9: op_span_reserve(&r); break;
        case 10: op_span_bump(&r); break;
        case 11: op_span_free(&r); break;
        case 12: op_trim(); break;
        case 13: op_maintain(&r); break;
        case 14: op_fault(&r); break;
        case 15: op_callback(&r); break;
        case 16: op_bad(&r); break;
        case 17: op_huge(&r); break;
        case 18: op_burst(&r); break;
        default: op_free_many(&r); break;
        }
        check_all();
    }
    teardown();
    return 0;
}
