/* alloc.c - objects inside a memory context: bump allocation in the current process chunk,
 * size-class free lists for freed objects (reused by later allocations of the context), the
 * forwarding step that takes a new, doubled process chunk when the current one is full, large
 * allocations in process chunks of their own, realloc, and pointer validation. Entry points:
 * mcx_alloc, mcx_alloc_zero, mcx_alloc_aligned, mcx_free, mcx_realloc. */
#include "internal.h"

#include "debug.h"

/* ---- size classes -------------------------------------------------------------------------
 * Objects are bumped at their size rounded to 16 (to their class above 256 B once the context
 * frees: obj_need), unlike PostgreSQL's AllocSet which rounds to a power of two; classes only
 * index the free lists. 16-byte steps up to 256 B, then four classes per doubling up to
 * MCXI_SMALL_MAX. A freed object goes to the largest class not above its size; an allocation
 * takes from the smallest class not below its exact need (any object on that list is big
 * enough), or first from the class below when that one may hold an odd object (take_below: where
 * a freed object of the same size is found again). O(1), amortized for the class below. */
size_t mcxi_class_size(unsigned c) {
    if (c < 16) return (size_t)(c + 1) * 16;
    unsigned lg = 8 + (c - 16) / 4, idx = (c - 16) % 4;
    return ((size_t)1 << lg) + (size_t)(idx + 1) * ((size_t)1 << (lg - 2));
}

unsigned mcxi_class_ceil(size_t n) {
    if (n <= 256) return (unsigned)(n / 16) - 1;
    unsigned lg = mcxi_log2_floor(n - 1);
    unsigned idx = (unsigned)((n - 1 - ((size_t)1 << lg)) >> (lg - 2));
    unsigned c = 16 + (lg - 8) * 4 + idx;
    return c < MCXI_NCLASSES ? c : MCXI_NCLASSES - 1;
}

unsigned mcxi_class_floor(size_t n) {
    if (n >= mcxi_class_size(MCXI_NCLASSES - 1)) return MCXI_NCLASSES - 1;
    unsigned c = mcxi_class_ceil(n);
    return mcxi_class_size(c) > n ? c - 1 : c;
}

/* Bytes an object of size bytes occupies after its header: rounded to 16 and no more, while its
 * context has freed no object since its last reset; after that, above 256 B, rounded to its size
 * class (at most a fifth more), so that a freed object is found again by any allocation of its
 * class. Rounding to the class in every context would cost 85 B per object of the ramp
 * workload's 16 B-2 KiB sizes (8 % of its peak); sizing exactly in a context that frees cost the
 * mixed workload (16-512 B, a free per allocation) 8 % more peak RSS and 30 % more instructions,
 * its freed objects matching fewer later sizes. */
static inline size_t obj_need_exact(size_t size) {
    size_t need = mcxi_align_up(size + MCXI_SENTINEL_BYTES, MCX_ALIGN);
    return need ? need : MCX_ALIGN;
}
static inline size_t obj_need_class(size_t size) {
    size_t need = obj_need_exact(size);
    if (MCXI_LIKELY(need <= 256)) return need;
    return mcxi_align_up(need, (size_t)1 << (mcxi_log2_floor(need - 1) - 2));
}
static inline size_t obj_need(const mcx_context *ctx, size_t size) {
    return (ctx->flags & MCXI_CTX_FREES) ? obj_need_class(size) : obj_need_exact(size);
}

/* need (low 16 bits) and the class of the exact need (above) of every size up to
 * MCXI_SMALL_TABLE_MAX, by 16-byte step of size + sentinel: one load on the fast path. Two tables:
 * exact needs, and class needs for a context that frees (mcx_context.size_table points to its
 * own). The class is the exact need's in both: a freed object big enough for it serves, whatever
 * the bump would round to. */
#define TABLE_STEPS (MCXI_SMALL_TABLE_MAX / 16 + 1)
#define TABLE_NEED(e) ((size_t)((e) & 0xFFFFu))
#define TABLE_CLASS(e) ((unsigned)((e) >> 16))
static uint32_t table_exact[TABLE_STEPS], table_class[TABLE_STEPS];
static uint8_t floor_table[TABLE_STEPS]; /* class a freed object of 16 * i usable bytes joins */
static size_t class_sizes[MCXI_NCLASSES];

const uint32_t *mcxi_size_table(bool frees) { return frees ? table_class : table_exact; }

/* How ctx sizes its objects: at their exact need, or at their class's once it frees them one by
 * one (so a freed object serves the next of its class). Sets what mcx_alloc and mcx_alloc_inline
 * read; fast_max must be set. Class needs equal exact ones up to 256 B, so a context that frees
 * keeps the inline path for those sizes. The checking build's objects carry sentinels the inline
 * path does not write: it serves nothing there. */
void mcxi_ctx_set_sizing(mcx_context *ctx, bool frees) {
    if (frees) ctx->flags |= MCXI_CTX_FREES;
    else ctx->flags &= ~MCXI_CTX_FREES;
    ctx->size_table = mcxi_size_table(frees);
    size_t max = MCXI_CHECKING ? 0 : frees && ctx->fast_max > 256 ? 256 : ctx->fast_max;
    ctx->inline_max = max;
    unsigned top = max == 0 ? 0 : TABLE_CLASS(table_exact[(max + 15) >> 4]);
    ctx->inline_classes = max == 0 ? 0 : top >= 63 ? ~(uint64_t)0 : ((uint64_t)2 << top) - 1;
    mcxi_ctx_sync_inline(ctx);
}

void mcxi_alloc_init(void) {
    for (unsigned c = 0; c < MCXI_NCLASSES; c++) class_sizes[c] = mcxi_class_size(c);
    for (size_t i = 0; i < TABLE_STEPS; i++) {
        size_t size = i ? i * 16 - MCXI_SENTINEL_BYTES : 0;
        size_t fit = obj_need_exact(size);
        uint32_t c = (uint32_t)mcxi_class_ceil(fit) << 16;
        table_exact[i] = (uint32_t)fit | c;
        table_class[i] = (uint32_t)obj_need_class(size) | c;
        floor_table[i] = (uint8_t)(i ? mcxi_class_floor(i * 16) : 0);
    }
}

static inline void *fail(int status) {
    mcxi_set_errno(status);
    return NULL;
}

/* odd: o may be bigger than its class's size and should be found by the sizes between its class
 * and the next (an object freed at its exact size). A retired chunk tail is not: it serves its
 * class's sizes, and marking it sent every allocation of the class above through take_below. */
static inline void push_free(mcx_context *ctx, mcxi_obj *o, bool odd) {
    unsigned c = o->size <= MCXI_SMALL_TABLE_MAX ? floor_table[o->size >> 4] : mcxi_class_floor(o->size);
    /* A list whose bit is clear is empty whatever its head says (heads are not cleared). */
    o->u.next_free = (ctx->free_class_mask >> c) & 1u ? ctx->free_lists[c] : NULL;
    ctx->free_lists[c] = o;
    ctx->free_class_mask |= (uint64_t)1 << c;
    if (odd && o->size != class_sizes[c]) ctx->odd_class_mask |= (uint64_t)1 << c;
    if ((ctx->inline_classes >> c) & 1u) ctx->inline_end = NULL; /* mcx_alloc must take it first */
}

#if !MCXI_CHECKING
typedef uint32_t mcxi_u32x4 __attribute__((vector_size(16)));
typedef uint64_t mcxi_u64x2 __attribute__((vector_size(16)));

/* Whether a free of p may wait in ctx's ring: its low 32 bits are there (four slots per compare;
 * the few instructions keep the fast path's window of overlapping misses wide). */
static inline bool deferred_may_hold(const mcx_context *ctx, const void *p) {
    uint32_t low = (uint32_t)(uintptr_t)p;
    mcxi_u32x4 want = {low, low, low, low}, hit = {0, 0, 0, 0};
    for (unsigned i = 0; i < MCXI_FREE_DEFER; i += 4) {
        mcxi_u32x4 v;
        memcpy(&v, &ctx->deferred_low[i], sizeof v);
        hit |= (mcxi_u32x4)(v == want);
    }
    mcxi_u64x2 any = (mcxi_u64x2)hit;
    return (any[0] | any[1]) != 0;
}
#endif

/* Take the newest freed object of class c (its bit is set) for size bytes of need: NULL when it is
 * too small (a list holds objects of at least its class's size, so only a retired chunk tail
 * filed under a class it does not fill can be), or when a free of it waits in the ring. That free
 * is a double free: the object stays on its list until the free is read and refused (its header
 * would pass once the object is live again), and the caller bumps instead. */
static inline void *pop_free(mcx_context *ctx, unsigned c, size_t size, size_t need) {
    mcxi_obj *o = ctx->free_lists[c];
    if (MCXI_UNLIKELY(o->size < need)) return NULL;
#if !MCXI_CHECKING
    if (MCXI_UNLIKELY(deferred_may_hold(ctx, o + 1))) return NULL;
#endif
    ctx->free_lists[c] = o->u.next_free;
    /* The next pop of this class reads that header: a miss when it was freed long ago. */
    __builtin_prefetch(ctx->free_lists[c], 1);
    if (!ctx->free_lists[c]) {
        ctx->free_class_mask &= ~((uint64_t)1 << c);
        ctx->odd_class_mask &= ~((uint64_t)1 << c);
        mcxi_ctx_sync_inline(ctx);
    }
    o->chunk_off &= MCXI_OFF_MASK; /* it may have been an aligned object */
    o->u.live.requested = (uint32_t)size;
    o->u.live.magic = mcxi_obj_magic(ctx, o);
    ctx->used_bytes += MCXI_OBJ_HDR + o->size;
    void *p = o + 1;
    mcxi_dbg_obj_alloc(ctx, p, size, o->size);
    return p;
}

/* A freed object for need bytes from class c, the class below need's own, whose odd bit is set
 * (it may hold an object not of the class's own size: one sized exactly, a retired chunk tail):
 * its head when it is big enough. A head too small for need that is odd moves down a class (it
 * is at least that class's size), so no such object blocks the sizes between two classes: each
 * moves at most c times, O(1) amortized. A head of the class's own size ends the search and
 * clears the odd bit: objects further down stay where they are and serve the class's sizes. */
static __attribute__((noinline)) void *take_below(mcx_context *ctx, unsigned c, size_t size, size_t need) {
    while ((ctx->free_class_mask >> c) & 1u) {
        mcxi_obj *o = ctx->free_lists[c];
        if (o->size >= need) return pop_free(ctx, c, size, need);
        if (c == 0 || o->size == class_sizes[c]) break;
        ctx->free_lists[c] = o->u.next_free;
        if (!ctx->free_lists[c]) ctx->free_class_mask &= ~((uint64_t)1 << c);
        o->u.next_free = (ctx->free_class_mask >> (c - 1)) & 1u ? ctx->free_lists[c - 1] : NULL;
        ctx->free_lists[c - 1] = o;
        ctx->free_class_mask |= (uint64_t)1 << (c - 1);
        ctx->odd_class_mask |= (uint64_t)1 << (c - 1);
        mcxi_ctx_sync_inline(ctx);
    }
    ctx->odd_class_mask &= ~((uint64_t)1 << c);
    return NULL;
}

/* Whether a freed object may serve a need of class c: one in class c, or an odd one in class
 * c - 1 (which fits only a need between the two classes; take_below finds out). */
static inline bool free_waits(const mcx_context *ctx, unsigned c) {
    return (((ctx->free_class_mask | ctx->odd_class_mask << 1) >> c) & 1u) != 0;
}

/* A freed object for fit bytes (the exact need, of class c): when class c - 1 may hold an odd
 * object, from there (where an object of the same size waits); else from class c, where every
 * object fits but may be larger. NULL when neither has one. */
static inline void *take_free(mcx_context *ctx, unsigned c, size_t size, size_t fit) {
    if (c > 0 && ((ctx->odd_class_mask >> (c - 1)) & 1u)) {
        void *p = take_below(ctx, c - 1, size, fit);
        if (p) return p;
    }
    return (ctx->free_class_mask >> c) & 1u ? pop_free(ctx, c, size, fit) : NULL;
}

/* Place an object header at o (in the current chunk) for an object of need bytes. */
static inline void *place(mcx_context *ctx, mcxi_obj *o, size_t size, size_t need) {
    mcxi_dbg_hdr_writable(o);
    mcxi_obj_place(ctx, o, size, need);
    void *p = o + 1;
    mcxi_dbg_obj_alloc(ctx, p, size, need);
    return p;
}

/* Make the current chunk's free tail a free object, so the forwarding step wastes nothing. A
 * span borrower owns the tail itself, so its chunks are left alone. */
static void retire_tail(mcx_context *ctx) {
    ctx->used_bytes += (size_t)(ctx->bump - (char *)ctx->current);
    size_t tail = (size_t)(ctx->end - ctx->bump);
    if (!ctx->span_mode && tail >= MCXI_OBJ_HDR + MCX_ALIGN) {
        mcxi_obj *o = (mcxi_obj *)ctx->bump;
        mcxi_dbg_hdr_writable(o);
        o->size = (uint32_t)(tail - MCXI_OBJ_HDR);
        o->chunk_off = (uint32_t)(((char *)o - (char *)ctx->current) / MCX_ALIGN);
        push_free(ctx, o, false);
        ctx->bump = ctx->end;
    }
    ctx->current->used = (size_t)(ctx->bump - (char *)ctx->current);
}

/* The forwarding step: a new process chunk, twice the last one (up to max_chunk_size, or as
 * large as need requires), linked from the old chunk's header and made current. When no run of
 * that size waits whole but a smaller one that holds need does, the chunk is that one and the
 * next step asks for the same size again (mcxi_chunk_acquire_top). */
int mcxi_ctx_grow(mcx_context *ctx, size_t need) {
    size_t min = mcxi_pow2_ceil(need + MCXI_CHUNK_HDR);
    size_t want = ctx->next_chunk_size > min ? ctx->next_chunk_size : min;
    if (ctx->limit_bytes && ctx->total_bytes + want > ctx->limit_bytes) {
        /* Near the limit, take just what this allocation needs before giving up. */
        want = min;
        if (ctx->total_bytes + want > ctx->limit_bytes) return MCX_ELIMIT;
    }
    void *mem;
    size_t got;
    /* A context that frees objects one by one reuses its chunks' space and keeps to the doubling:
     * smaller chunks scatter its free lists (test_alloc's churn_stays_bounded grew by two thirds
     * in its second half when they were allowed). So does a span borrower (the Node facade):
     * each new chunk costs it a call from JavaScript. */
    size_t min_got = (ctx->flags & MCXI_CTX_FREES) || ctx->span_mode ? 0 : min;
    int st = mcxi_chunk_acquire(want, min_got, false, (ctx->flags & MCX_CONTEXT_CLEAN) != 0, &mem, &got);
    if (st != MCX_OK) return st;
    mcxi_dbg_chunk_acquired(mem, got);
    retire_tail(ctx);
    mcxi_chunk *ch = mem;
    ch->magic = MCXI_CHUNK_MAGIC;
    ch->flags = 0;
    ch->owner = ctx;
    if (ctx->flags & MCXI_CTX_FREES) mcxi_chunk_set_owner(ch, got, ctx);
    ch->next = NULL;
    ch->prev = NULL;
    ch->size = got;
    ch->used = MCXI_CHUNK_HDR;
    ch->index = ctx->current->index + 1;
    ch->reserved = 0;
    ctx->current->next = ch;
    ctx->current = ch;
    ctx->bump = (char *)ch + MCXI_CHUNK_HDR;
    ctx->end = (char *)ch + got;
    mcxi_ctx_sync_inline(ctx);
    ctx->total_bytes += got;
    ctx->chunk_count++;
    if (got >= want) {
        size_t next = (got > ctx->next_chunk_size ? got : ctx->next_chunk_size) * 2;
        ctx->next_chunk_size = next < ctx->max_chunk_size ? next : ctx->max_chunk_size;
    }
    return MCX_OK;
}

/* A large allocation: a process chunk of its own (a dedicated mapping from 1 MiB), given back as
 * soon as it is freed. The object sits at an offset aligned to align inside the chunk. */
static void *alloc_large(mcx_context *ctx, size_t size, size_t align) {
    size_t off = mcxi_align_up(MCXI_CHUNK_HDR + MCXI_OBJ_HDR, align);
    size_t bytes = off + size + MCXI_SENTINEL_BYTES;
    if (ctx->limit_bytes && ctx->total_bytes + bytes > ctx->limit_bytes) return fail(MCX_ELIMIT);
    void *mem;
    size_t got;
    bool clean = (ctx->flags & MCX_CONTEXT_CLEAN) != 0;
    int st = mcxi_chunk_acquire(bytes, 0, true, clean, &mem, &got);
    if (st != MCX_OK) return fail(st);
    if (ctx->limit_bytes && ctx->total_bytes + got > ctx->limit_bytes) {
        mcxi_chunk_release(mem, got, clean); /* untouched since it was acquired */
        return fail(MCX_ELIMIT);
    }
    mcxi_dbg_chunk_acquired(mem, got);
    mcxi_chunk *ch = mem;
    ch->magic = MCXI_CHUNK_MAGIC;
    ch->flags = MCXI_CHUNK_LARGE;
    ch->owner = ctx;
    ch->size = got;
    ch->used = off + size;
    ch->index = 0;
    ch->reserved = (uint32_t)off; /* where the object starts, for the checking walk */
    ch->prev = NULL;
    ch->next = ctx->large_head;
    if (ctx->large_head) ctx->large_head->prev = ch;
    ctx->large_head = ch;
    mcxi_obj *o = (mcxi_obj *)((char *)ch + off - MCXI_OBJ_HDR);
    mcxi_dbg_hdr_writable(o);
    o->size = 0;
    o->chunk_off = (uint32_t)((off - MCXI_OBJ_HDR) / MCX_ALIGN) | (mcxi_log2_floor(align) - 4u) << MCXI_OFF_BITS;
    o->u.live.requested = 0;
    o->u.live.magic = mcxi_obj_magic(ctx, o);
    ctx->total_bytes += got;
    ctx->used_bytes += ch->used;
    ctx->large_count++;
    void *p = (char *)ch + off;
    mcxi_dbg_obj_alloc(ctx, p, size, size);
    return p;
}

static void *alloc_slow(mcx_context *ctx, size_t size, size_t need) {
    int st = mcxi_ctx_grow(ctx, need + MCXI_OBJ_HDR);
    if (st != MCX_OK) return fail(st);
    mcxi_obj *o = (mcxi_obj *)ctx->bump;
    ctx->bump += MCXI_OBJ_HDR + need;
    return place(ctx, o, size, need);
}

static void *alloc_after_frees(mcx_context *ctx, size_t size);

/* Not inlined into the fast path: rare, and it keeps mcx_alloc's frame small. */
static __attribute__((noinline)) void *alloc_other(mcx_context *ctx, size_t size) {
    int st = mcxi_ctx_validate(ctx);
    if (st != MCX_OK) return fail(st);
    if (size > MCX_ALLOC_MAX) return fail(MCX_ETOOBIG);
    if (size > ctx->large_threshold) return alloc_large(ctx, size, MCX_ALIGN);
    size_t i = (size + MCXI_SENTINEL_BYTES + 15) >> 4;
    bool tabled = size <= ctx->fast_max;
    uint32_t e = tabled ? ctx->size_table[i] : 0;
    size_t need = tabled ? TABLE_NEED(e) : obj_need(ctx, size);
    if (ctx->free_class_mask) {
        size_t fit = obj_need_exact(size);
        void *p = take_free(ctx, tabled ? TABLE_CLASS(e) : mcxi_class_ceil(fit), size, fit);
        if (p) return p;
    }
    if ((size_t)(ctx->end - ctx->bump) >= MCXI_OBJ_HDR + need) {
        mcxi_obj *o = (mcxi_obj *)ctx->bump;
        ctx->bump += MCXI_OBJ_HDR + need;
        return place(ctx, o, size, need);
    }
    /* Before the context grows, its deferred frees may give what it needs (under a limit, all
     * the room it has). */
    if (MCXI_UNLIKELY(ctx->deferred_count > 0)) return alloc_after_frees(ctx, size);
    return alloc_slow(ctx, size, need);
}

static __attribute__((noinline)) void *alloc_after_frees(mcx_context *ctx, size_t size) {
    mcxi_ctx_finish_frees(ctx);
    return alloc_other(ctx, size);
}

/* A freed object waits that may serve size (need bytes if bumped, of class c): reuse it
 * (per-object free's steady state), else bump. Out of line, so mcx_alloc keeps no frame. */
static __attribute__((noinline)) void *alloc_freed(mcx_context *ctx, size_t size, size_t need, unsigned c) {
    void *p = take_free(ctx, c, size, obj_need_exact(size));
    if (p) return p;
    if ((size_t)(ctx->end - ctx->bump) < MCXI_OBJ_HDR + need) return alloc_other(ctx, size);
    mcxi_obj *o = (mcxi_obj *)ctx->bump;
    ctx->bump += MCXI_OBJ_HDR + need;
    return place(ctx, o, size, need);
}

/* The fast path: a valid context with no freed object of the needed class and room in the
 * current chunk costs a few compares, a bump and a 16-byte header. The rest: alloc_other. */
void *mcx_alloc(mcx_context *ctx, size_t size) {
    if (MCXI_LIKELY(!MCXI_CHECKING && ctx != NULL && ctx->magic == MCXI_CTX_MAGIC && size <= ctx->fast_max)) {
        uint32_t e = ctx->size_table[(size + MCXI_SENTINEL_BYTES + 15) >> 4];
        size_t need = TABLE_NEED(e);
        unsigned c = TABLE_CLASS(e);
        /* Only a freed object of this class (or an odd one of the class below) must be
         * preferred; other classes' objects leave the bump path open. */
        if (MCXI_LIKELY(!free_waits(ctx, c))) {
            char *o = ctx->bump;
            char *next = o + MCXI_OBJ_HDR + need;
            if (MCXI_LIKELY(next <= ctx->end)) {
                ctx->bump = next;
                return place(ctx, (mcxi_obj *)o, size, need);
            }
        } else if (MCXI_LIKELY(c == 0 || !((ctx->odd_class_mask >> (c - 1)) & 1u))) {
            /* A freed object of this class waits, and every one fits: reuse it (per-object free's
             * steady state). */
            void *p = pop_free(ctx, c, size, need);
            if (MCXI_LIKELY(p != NULL)) return p;
        } else {
            return alloc_freed(ctx, size, need, c);
        }
    }
    return alloc_other(ctx, size);
}

void *mcx_alloc_zero(mcx_context *ctx, size_t size) {
    void *p = mcx_alloc(ctx, size);
    if (p) memset(p, 0, size);
    return p;
}

void *mcx_alloc_aligned(mcx_context *ctx, size_t size, size_t align) {
    int st = mcxi_ctx_validate(ctx);
    if (st != MCX_OK) return fail(st);
    if (align == 0 || (align & (align - 1)) != 0 || align > MCXI_BLOCK) return fail(MCX_EINVAL);
    if (align <= MCX_ALIGN) return mcx_alloc(ctx, size);
    if (size > MCX_ALLOC_MAX) return fail(MCX_ETOOBIG);
    size_t need = obj_need(ctx, size);
    if (size > ctx->large_threshold) return alloc_large(ctx, size, align);
    for (int attempt = 0; attempt < 2; attempt++) {
        uintptr_t obj = (uintptr_t)ctx->bump + MCXI_OBJ_HDR;
        size_t pad = (size_t)(mcxi_align_up(obj, align) - obj); /* a multiple of 16 */
        if ((size_t)(ctx->end - ctx->bump) >= pad + MCXI_OBJ_HDR + need) {
            if (pad) {
                /* A pad pseudo-object keeps the chunk walkable from header to header. */
                mcxi_obj *padding = (mcxi_obj *)ctx->bump;
                mcxi_dbg_hdr_writable(padding);
                padding->size = (uint32_t)(pad - MCXI_OBJ_HDR);
                padding->chunk_off = (uint32_t)(((char *)padding - (char *)ctx->current) / MCX_ALIGN);
                padding->u.live.requested = 0;
                padding->u.live.magic = MCXI_OBJ_PAD;
                ctx->bump += pad;
            }
            mcxi_obj *o = (mcxi_obj *)ctx->bump;
            ctx->bump += MCXI_OBJ_HDR + need;
            void *p = place(ctx, o, size, need);
            o->chunk_off |= (mcxi_log2_floor(align) - 4u) << MCXI_OFF_BITS; /* kept by realloc */
            return p;
        }
        st = mcxi_ctx_grow(ctx, need + MCXI_OBJ_HDR + align);
        if (st != MCX_OK) return fail(st);
    }
    return fail(MCX_ENOMEM); /* unreachable: a fresh chunk always fits */
}

/* ---- pointer validation --------------------------------------------------------------------- */

#if MCXI_CHECKING
/* The start of the buddy run that contains block idx: the first run start met when widening the
 * candidate alignment, since runs tile the top chunk. */
static uint32_t containing_run(const mcxi_top *top, uint32_t idx) {
    for (unsigned k = 0; k <= top->order; k++) {
        uint32_t s = idx & ~((1u << k) - 1);
        if (top->state[s] & (MCXI_B_FREE | MCXI_B_ALLOC)) {
            /* A later piece of a trimmed chunk: the chunk starts with the piece before it. */
            if ((top->state[s] & (MCXI_B_ALLOC | MCXI_B_CONT)) == (MCXI_B_ALLOC | MCXI_B_CONT) && s > 0)
                return containing_run(top, s - 1);
            return s;
        }
    }
    return MCXI_NIL;
}
#endif

int mcxi_resolve(const void *ptr, mcxi_obj **obj, mcxi_chunk **chunk) {
    if (!ptr) return MCX_EINVAL;
    if ((uintptr_t)ptr & (MCX_ALIGN - 1)) return MCX_EFOREIGN;
    const mcxi_top *top = mcxi_pagemap_get(ptr);
    if (!top) return MCX_EFOREIGN;
    const char *p = ptr;
    mcxi_chunk *ch;
    if (top->dedicated) {
        ch = (mcxi_chunk *)(top->base + MCXI_BLOCK);
    } else {
        size_t off = (size_t)(p - top->base);
        if (off < top->meta_bytes + MCXI_CHUNK_HDR + MCXI_OBJ_HDR) return MCX_EFOREIGN;
#if MCXI_CHECKING
        /* Find the chunk from the buddy state alone: an interior pointer then never makes the
         * allocator read the user's (possibly uninitialised) bytes, which Valgrind would report. */
        uint32_t run = containing_run(top, (uint32_t)((off - MCXI_OBJ_HDR) >> MCXI_BLOCK_SHIFT));
        if (run == MCXI_NIL || !(top->state[run] & MCXI_B_ALLOC) || (top->dirty[run] & MCXI_RUN_RELEASING)) return MCX_EFOREIGN;
        ch = (mcxi_chunk *)(top->base + ((size_t)run << MCXI_BLOCK_SHIFT));
#else
        /* Trust the header's offset only as far as the buddy state confirms it: the chunk it
         * names must be a live run that contains the pointer. O(1), on every free. */
        const mcxi_obj *h = (const mcxi_obj *)(p - MCXI_OBJ_HDR);
        if (mcxi_dbg_poisoned(h, MCXI_OBJ_HDR)) return MCX_EFOREIGN;
        size_t ch_off = off - MCXI_OBJ_HDR - mcxi_obj_off(h);
        if (ch_off >= off || ch_off < top->meta_bytes || (ch_off & (MCXI_BLOCK - 1)) != 0) return MCX_EFOREIGN;
        uint8_t st = top->state[ch_off >> MCXI_BLOCK_SHIFT];
        if ((st & (MCXI_B_ALLOC | MCXI_B_CONT)) != MCXI_B_ALLOC || (top->dirty[ch_off >> MCXI_BLOCK_SHIFT] & MCXI_RUN_RELEASING))
            return MCX_EFOREIGN;
        ch = (mcxi_chunk *)(top->base + ch_off);
        /* A trimmed chunk is shorter than twice its first piece; its header says how long. */
        size_t run = MCXI_BLOCK << (st & MCXI_B_ORDER);
        if (off >= ch_off + 2 * run || (off >= ch_off + run && (ch->magic != MCXI_CHUNK_MAGIC || off >= ch_off + ch->size)))
            return MCX_EFOREIGN;
#endif
    }
    /* The magic first: a chunk in a thread's cache has its link there (and the rest of its
     * header is poisoned under ASan). */
    if (ch->magic != MCXI_CHUNK_MAGIC) return MCX_EFOREIGN;
    if (p < (char *)ch + MCXI_CHUNK_HDR + MCXI_OBJ_HDR || p >= (char *)ch + ch->size) return MCX_EFOREIGN;
    /* A large chunk's object sits at a known offset: anything else is an interior pointer, and
     * reading a "header" there would read the user's bytes. */
    if ((ch->flags & MCXI_CHUNK_LARGE) && p != (char *)ch + ch->reserved) return MCX_EFOREIGN;
    mcxi_obj *o = (mcxi_obj *)(p - MCXI_OBJ_HDR);
    if (mcxi_dbg_poisoned(o, MCXI_OBJ_HDR)) return MCX_EFOREIGN;
    if (mcxi_obj_off(o) != (size_t)((char *)o - (char *)ch)) return MCX_EFOREIGN;
    if (ch->flags & MCXI_CHUNK_LARGE) {
        if (o->size != 0) return MCX_EFOREIGN;
    } else if (o->size < MCX_ALIGN || (o->size & (MCX_ALIGN - 1)) != 0 ||
               (char *)o + MCXI_OBJ_HDR + o->size > (char *)ch + ch->size) {
        /* A size no object of this chunk can have: a stale header of another kind (a large
         * object's, whose chunk became a chain chunk) must not reach the free lists. */
        return MCX_EFOREIGN;
    }
    int st = mcxi_ctx_validate(ch->owner);
    if (st != MCX_OK) return st;
    if (o->u.live.magic != mcxi_obj_magic(ch->owner, o))
        return o->u.live.magic == MCXI_OBJ_PAD || (o->u.live.magic & MCXI_OBJ_LIVE_BITS) == MCXI_OBJ_LIVE_BITS
                   ? MCX_EFOREIGN /* a pad, or a header not made here for this context since its last reset */
                   : MCX_EFREED;
    *obj = o;
    *chunk = ch;
    return MCX_OK;
}

/* ---- free and realloc ------------------------------------------------------------------------ */

/* mcx_free's common case in a plain build: an object of a chain chunk in a top chunk. The same
 * checks as mcxi_resolve in the order of their loads, without those that cannot fail for such an
 * object (the chunk found from the header's offset starts where that offset says, and lies within
 * the buddy run the state byte describes) and without the owner's magic (a chunk whose header
 * magic is intact belongs to a live context: cached chunks and deleted contexts' keepers carry a
 * link there). False sends the pointer to mcxi_resolve, which finds the status. */
static inline bool resolve_chain(const void *ptr, mcxi_obj **obj, mcxi_chunk **chunk) {
#if MCXI_CHECKING || defined(MCXI_ASAN)
    (void)ptr;
    (void)obj;
    (void)chunk;
    return false; /* the full walk, which reads no poisoned or undefined byte */
#else
    const mcxi_top *top = mcxi_pagemap_get(ptr);
    if (((uintptr_t)ptr & (MCX_ALIGN - 1)) || !top || top->dedicated) return false;
    const char *p = ptr;
    size_t off = (size_t)(p - top->base);
    mcxi_obj *o = (mcxi_obj *)(p - MCXI_OBJ_HDR);
    if (off < top->meta_bytes + MCXI_CHUNK_HDR + MCXI_OBJ_HDR) return false;
    size_t ch_off = off - MCXI_OBJ_HDR - mcxi_obj_off(o);
    if (ch_off >= off || ch_off < top->meta_bytes || (ch_off & (MCXI_BLOCK - 1)) != 0) return false;
    uint8_t st = top->state[ch_off >> MCXI_BLOCK_SHIFT];
    mcxi_chunk *ch = (mcxi_chunk *)(top->base + ch_off);
    /* The chunk's length is its header's once the state byte says a chunk starts there and the
     * magic is intact (a trimmed chunk is shorter than its power-of-two run). */
    if ((st & (MCXI_B_ALLOC | MCXI_B_CONT)) != MCXI_B_ALLOC || (top->dirty[ch_off >> MCXI_BLOCK_SHIFT] & MCXI_RUN_RELEASING) ||
        ch->magic != MCXI_CHUNK_MAGIC)
        return false;
    size_t run = ch->size;
    if (run > (MCXI_BLOCK << 1 << (st & MCXI_B_ORDER)) || off >= ch_off + run || (ch->flags & MCXI_CHUNK_LARGE) ||
        off < ch_off + MCXI_CHUNK_HDR + MCXI_OBJ_HDR)
        return false;
    if (o->size < MCX_ALIGN || (o->size & (MCX_ALIGN - 1)) != 0 || off + o->size > ch_off + run) return false;
    if (o->u.live.magic != mcxi_obj_magic(ch->owner, o)) return false;
    *obj = o;
    *chunk = ch;
    return true;
#endif
}

static size_t large_requested(const mcxi_chunk *ch, const void *p) {
    return ch->used - (size_t)((const char *)p - (const char *)ch);
}

static int free_large(mcx_context *ctx, mcxi_chunk *ch, void *p) {
    int rc = mcxi_dbg_sentinel_ok(p, large_requested(ch, p)) ? MCX_OK : MCX_ECORRUPT;
    if (ch->prev) ch->prev->next = ch->next;
    else ctx->large_head = ch->next;
    if (ch->next) ch->next->prev = ch->prev;
    ctx->total_bytes -= ch->size;
    ctx->used_bytes -= ch->used;
    ctx->large_count--;
    MCXI_VG_POOL_FREE(ctx, p);
    mcxi_ctx_chunk_give_back(ctx, ch, ch->used);
    return rc;
}

/* Name owner in the owner map for every chunk of ctx's chain (mcxi_top.owner). */
static void own_chain(mcx_context *ctx, mcx_context *owner) {
    for (mcxi_chunk *c = ctx->keeper; c; c = c->next) mcxi_chunk_set_owner(c, c->size, owner);
}

/* Free o, a live object of ctx in its chain chunk ch (its header validated). give_to_bump: the
 * newest object may go back to the bump (not for a deferred free: the bump path does not look
 * for deferred frees of the addresses it hands out, as pop_free does). */
static int free_small(mcx_context *ctx, mcxi_obj *o, const mcxi_chunk *ch, void *ptr, bool give_to_bump) {
    int rc = mcxi_dbg_sentinel_ok(ptr, o->u.live.requested) ? MCX_OK : MCX_ECORRUPT;
    size_t usable = o->size;
    if (!(ctx->flags & MCXI_CTX_FREES)) {
        mcxi_ctx_set_sizing(ctx, true);
        own_chain(ctx, ctx); /* its later frees can wait (mcx_free) */
    }
    mcxi_dbg_obj_free(ctx, ptr, usable);
    /* A clean context never lowers its bump: the bytes above it would escape the scrub. */
    if (give_to_bump && (char *)ptr + usable == ctx->bump && ch == ctx->current && !ctx->span_mode &&
        !(ctx->flags & MCX_CONTEXT_CLEAN)) {
        /* The header stays readable (not poisoned), so a second free sees a freed object. */
        o->u.live.magic = 0;
        ctx->bump = (char *)o; /* the newest object: give its bytes back to the bump */
    } else {
        ctx->used_bytes -= MCXI_OBJ_HDR + usable;
        push_free(ctx, o, true);
    }
    return rc;
}

/* Free o (its header validated, in chain or large chunk ch). */
static int free_resolved(mcxi_obj *o, mcxi_chunk *ch, void *ptr) {
    mcx_context *ctx = ch->owner; /* validated by mcxi_resolve */
    if (ch->flags & MCXI_CHUNK_LARGE) return free_large(ctx, ch, ptr);
    return free_small(ctx, o, ch, ptr, true);
}

/* Free ptr now, reading its header: the status names what is wrong with it. */
static int free_now(void *ptr) {
    mcxi_obj *o;
    mcxi_chunk *ch;
    if (!resolve_chain(ptr, &o, &ch)) {
        int st = mcxi_resolve(ptr, &o, &ch);
        if (st != MCX_OK) return st;
    }
    return free_resolved(o, ch, ptr);
}

/* The status of a free refused when its header was read: as mcxi_resolve names it. */
static int refused_status(const mcxi_obj *o) {
    if (o->size < MCX_ALIGN || (o->size & (MCX_ALIGN - 1)) != 0) return MCX_EFOREIGN;
    return o->u.live.magic == MCXI_OBJ_PAD || (o->u.live.magic & MCXI_OBJ_LIVE_BITS) == MCXI_OBJ_LIVE_BITS ? MCX_EFOREIGN
                                                                                                       : MCX_EFREED;
}

static void refuse(mcx_context *ctx, int status) {
    ctx->refused_frees++;
    if (ctx->refused_status == MCX_OK) ctx->refused_status = status;
}

/* Finish a deferred free of ctx: its header is read (and checked) now. ctx's chain chunk held
 * ptr when it was deferred, and still does (reset and delete finish deferred frees first), so a
 * header with ctx's live magic for its address is a live object of that chunk: the chunk header,
 * a cache miss of its own, is not read. */
static void finish_deferred(mcx_context *ctx, void *ptr) {
    mcxi_obj *o = (mcxi_obj *)((char *)ptr - MCXI_OBJ_HDR);
    /* A large object's header (size 0) left where a chain chunk now is has a live magic too. */
    if (o->u.live.magic != mcxi_obj_magic(ctx, o) || o->size < MCX_ALIGN || (o->size & (MCX_ALIGN - 1)) != 0) {
        refuse(ctx, refused_status(o)); /* a double free, a stale or interior pointer: nothing written */
        return;
    }
    free_small(ctx, o, (const mcxi_chunk *)((char *)o - mcxi_obj_off(o)), ptr, false);
}

void mcxi_ctx_finish_frees(mcx_context *ctx) {
    while (ctx->deferred_count > 0) {
        uint32_t h = ctx->deferred_head;
        void *ptr = ctx->deferred[h];
        ctx->deferred[h] = NULL;
        ctx->deferred_low[h] = 0; /* pop_free compares every slot */
        ctx->deferred_head = (h + 1) % MCXI_FREE_DEFER;
        ctx->deferred_count--;
        finish_deferred(ctx, ptr);
    }
}

#if !MCXI_CHECKING
/* The context whose chain chunk holds ptr, found without reading ptr's header or its chunk's (the
 * top chunk's owner map): NULL for anything mcx_free must look at now (not from a buddy top
 * chunk, misaligned, in bookkeeping, a free run, a cached or a large chunk, a deleted context). */
static inline mcx_context *deferrable_owner(const void *ptr) {
    const mcxi_top *top = mcxi_pagemap_get(ptr);
    if (((uintptr_t)ptr & (MCX_ALIGN - 1)) || !top || top->dedicated) return NULL;
    mcx_context *ctx = top->owner[(size_t)((const char *)ptr - top->base) >> MCXI_BLOCK_SHIFT];
    return ctx && ctx->magic == MCXI_CTX_MAGIC ? ctx : NULL;
}
#endif

/* In a release build the header of the object freed is read MCXI_FREE_DEFER frees later, after a
 * prefetch now: the frees in between overlap its cache miss. Until then the object is not reused
 * (it is on no free list, and pop_free refuses a deferred free of an object it hands out), so
 * every free the header shows wrong is refused as if it were read now; what the page map, the
 * owner map and the context show is checked now (native/README.md, "Pointer validation"). */
int mcx_free(void *ptr) {
#if !MCXI_CHECKING
    /* First: the miss starts while the owner is looked up (a prefetch never faults). */
    __builtin_prefetch((const void *)((uintptr_t)ptr - MCXI_OBJ_HDR), 1);
    mcx_context *ctx = deferrable_owner(ptr);
    if (MCXI_LIKELY(ctx != NULL)) {
        /* Above the bump: never handed out (a pointer from before a reset), or the newest object
         * given back to the bump by its free. No later header would tell: read it now. */
        if (MCXI_UNLIKELY((char *)ptr >= ctx->bump && (char *)ptr < ctx->end)) return free_now(ptr);
        uint32_t h = ctx->deferred_head;
        if (ctx->deferred_count == MCXI_FREE_DEFER) {
            void *oldest = ctx->deferred[h];
            ctx->deferred[h] = ptr;
            ctx->deferred_low[h] = (uint32_t)(uintptr_t)ptr;
            ctx->deferred_head = (h + 1) % MCXI_FREE_DEFER;
            finish_deferred(ctx, oldest);
        } else {
            uint32_t slot = (h + ctx->deferred_count) % MCXI_FREE_DEFER;
            ctx->deferred[slot] = ptr;
            ctx->deferred_low[slot] = (uint32_t)(uintptr_t)ptr;
            ctx->deferred_count++;
        }
        return MCX_OK;
    }
#endif
    return free_now(ptr);
}

int mcx_free_flush(mcx_context *ctx) {
    int st = mcxi_ctx_validate(ctx);
    if (st != MCX_OK) return st;
    mcxi_ctx_finish_frees(ctx);
    st = ctx->refused_status;
    ctx->refused_status = MCX_OK;
    return st;
}

/* mcxi_resolve for a pointer the caller goes on using: a free of it still deferred is finished
 * first, so a freed object is never taken for a live one. */
static int resolve_settled(const void *ptr, mcxi_obj **obj, mcxi_chunk **chunk) {
    int st = mcxi_resolve(ptr, obj, chunk);
    if (st != MCX_OK || (*chunk)->owner->deferred_count == 0) return st;
    mcxi_ctx_finish_frees((*chunk)->owner);
    return mcxi_resolve(ptr, obj, chunk);
}

void *mcx_realloc(void *ptr, size_t size) {
    mcxi_obj *o;
    mcxi_chunk *ch;
    int st = resolve_settled(ptr, &o, &ch);
    if (st != MCX_OK) return fail(st);
    mcx_context *ctx = ch->owner;
    st = mcxi_ctx_validate(ctx);
    if (st != MCX_OK) return fail(st);
    if (size > MCX_ALLOC_MAX) return fail(MCX_ETOOBIG);
    size_t need = obj_need(ctx, size);
    size_t old;
    if (ch->flags & MCXI_CHUNK_LARGE) {
        old = large_requested(ch, ptr);
        if (!mcxi_dbg_sentinel_ok(ptr, old)) return fail(MCX_ECORRUPT);
        size_t off = (size_t)((char *)ptr - (char *)ch);
        if (size > ctx->large_threshold && off + size + MCXI_SENTINEL_BYTES <= ch->size) {
            /* A clean context scrubs only up to used when the chunk goes: clear what a shrink
             * drops now. */
            if ((ctx->flags & MCX_CONTEXT_CLEAN) && off + size < ch->used) {
                MCXI_UNPOISON((char *)ch + off + size, ch->used - off - size);
                memset((char *)ch + off + size, 0, ch->used - off - size);
            }
            ctx->used_bytes = ctx->used_bytes - ch->used + off + size;
            ch->used = off + size;
            mcxi_dbg_obj_resize(ctx, ptr, old, size, ch->size - off);
            return ptr;
        }
    } else {
        old = o->u.live.requested;
        if (!mcxi_dbg_sentinel_ok(ptr, old)) return fail(MCX_ECORRUPT);
        if (need <= o->size && size <= ctx->large_threshold) {
            o->u.live.requested = (uint32_t)size;
            mcxi_dbg_obj_resize(ctx, ptr, old, size, o->size);
            return ptr;
        }
        /* The newest object grows in place when its chunk has room. */
        if ((char *)ptr + o->size == ctx->bump && ch == ctx->current && !ctx->span_mode &&
            size <= ctx->large_threshold && (size_t)(ctx->end - (char *)ptr) >= need) {
            MCXI_UNPOISON((char *)ptr + o->size, need - o->size);
            ctx->bump = (char *)ptr + need;
            o->size = (uint32_t)need;
            o->u.live.requested = (uint32_t)size;
            mcxi_dbg_obj_resize(ctx, ptr, old, size, need);
            return ptr;
        }
    }
    size_t align = mcxi_obj_align(o);
    void *np = align > MCX_ALIGN ? mcx_alloc_aligned(ctx, size, align) : mcx_alloc(ctx, size);
    if (!np) return NULL;
    memcpy(np, ptr, old < size ? old : size);
    free_resolved(o, ch, ptr);
    return np;
}

size_t mcx_alloc_size(const void *ptr) {
    mcxi_obj *o;
    mcxi_chunk *ch;
    if (resolve_settled(ptr, &o, &ch) != MCX_OK) return 0;
    return (ch->flags & MCXI_CHUNK_LARGE) ? large_requested(ch, ptr) : o->u.live.requested;
}

mcx_context *mcx_context_of(const void *ptr) {
    mcxi_obj *o;
    mcxi_chunk *ch;
    if (resolve_settled(ptr, &o, &ch) != MCX_OK) return NULL;
    return ch->owner;
}

/* ---- releasing a context's memory (reset and delete) ------------------------------------------ */

size_t mcxi_chunk_written(const mcx_context *ctx, const mcxi_chunk *chunk) {
    return chunk == ctx->current ? (size_t)(ctx->bump - (const char *)chunk) : chunk->used;
}

/* Longest span tail zeroed with memset at a clean release; above it, pages are looked at first,
 * so a mostly unused large chunk is neither faulted in to be cleared nor given back to the OS
 * (which would fault its resident pages in again at the next use). */
#define MCXI_SPAN_TAIL_MEMSET_MAX ((size_t)16 << 10)

static bool page_is_zero(const char *p) {
    const uint64_t *w = (const uint64_t *)(const void *)p;
    for (size_t i = 0; i < MCXI_BLOCK / sizeof *w; i++)
        if (w[i]) return false;
    return true;
}

/* Zero the whole pages [p, p + bytes): a resident page is cleared only if it holds a non-zero
 * byte; runs of pages not resident go back with madvise (untouched ones cost nothing; a page
 * swapped out may hold bytes). */
static void scrub_pages(char *p, size_t bytes) {
    unsigned char vec[256];
    for (size_t off = 0; off < bytes;) {
        size_t n = (bytes - off) >> MCXI_BLOCK_SHIFT;
        if (n > sizeof vec) n = sizeof vec;
        char *q = p + off;
        if (mcxi_os_residency(q, n << MCXI_BLOCK_SHIFT, vec) != MCX_OK) {
            memset(q, 0, n << MCXI_BLOCK_SHIFT);
        } else {
            size_t gone = 0; /* start of the current run of pages not resident, + 1 */
            for (size_t i = 0; i <= n; i++) {
                bool resident = i < n && (vec[i] & 1u);
                if (i < n && !resident) {
                    if (!gone) gone = i + 1;
                    continue;
                }
                if (gone) {
                    char *r = q + ((gone - 1) << MCXI_BLOCK_SHIFT);
                    size_t len = (i - (gone - 1)) << MCXI_BLOCK_SHIFT;
                    if (mcxi_os_decommit(r, len) != MCX_OK) memset(r, 0, len);
                    gone = 0;
                }
                if (resident && !page_is_zero(q + (i << MCXI_BLOCK_SHIFT))) memset(q + (i << MCXI_BLOCK_SHIFT), 0, MCXI_BLOCK);
            }
        }
        off += n << MCXI_BLOCK_SHIFT;
    }
}

/* A chunk lent as a span (the Node facade's ArrayBuffer covers all of it) may hold bytes anywhere
 * above what the borrower reported as used: its code can write through the whole ArrayBuffer.
 * Zero [from, size) of such a chunk, as a clean context must before the memory goes on. */
static void scrub_span_tail(mcxi_chunk *chunk, size_t from, size_t size) {
    if (from >= size) return;
    char *p = (char *)chunk;
    MCXI_UNPOISON(p + from, size - from);
    MCXI_VG_DEFINED(p + from, size - from);
    if (size - from <= MCXI_SPAN_TAIL_MEMSET_MAX) {
        memset(p + from, 0, size - from);
        return;
    }
    size_t page = mcxi_align_up(from, MCXI_BLOCK);
    memset(p + from, 0, page - from);
    scrub_pages(p + page, size - page);
}

void mcxi_ctx_chunk_give_back(mcx_context *ctx, mcxi_chunk *chunk, size_t used) {
    size_t size = chunk->size;
    /* A dedicated mapping is unmapped: the next one comes fresh from the OS. */
    bool zero = (ctx->flags & MCX_CONTEXT_CLEAN) && !mcxi_chunk_dedicated(chunk);
    if (zero) {
        bool span = (chunk->flags & MCXI_CHUNK_SPAN) != 0; /* read before the header is zeroed */
        MCXI_UNPOISON(chunk, used);
        MCXI_VG_UNDEFINED(chunk, used);
        memset(chunk, 0, used);
        if (span) scrub_span_tail(chunk, used, size);
    }
    mcxi_dbg_chunk_released(chunk, size, zero);
    mcxi_chunk_release(chunk, size, zero);
}

/* Trimming takes the top lock and a few buddy steps: a tail shorter than this stays with its
 * chunk. One page: on the ramp workload (bench/c, 4809 sessions at its peak) 8 KiB left the peak
 * 1 MiB higher and 16 KiB 6 MiB, at the same speed within the noise. */
#define MCXI_TRIM_MIN_BYTES ((size_t)4 << 10)

void mcxi_ctx_trim_tail(mcx_context *ctx) {
    mcxi_chunk *ch = ctx->current;
    /* The keeper stays whole (a deleted context is cached with it); a span borrower owns its
     * chunk's tail. */
    if (ch == ctx->keeper || ctx->span_mode) return;
    size_t keep = mcxi_align_up((size_t)(ctx->bump - (char *)ch), MCXI_BLOCK);
    if (ch->size < keep + MCXI_TRIM_MIN_BYTES) return;
    /* Above a clean context's bump every byte is zero; a plain context's chunk may have come
     * with bytes of an earlier owner there. */
    bool zeroed = (ctx->flags & MCX_CONTEXT_CLEAN) != 0;
    size_t tail = ch->size - keep;
    if (ctx->flags & MCXI_CTX_FREES) mcxi_chunk_set_owner((char *)ch + keep, tail, NULL);
    mcxi_dbg_chunk_released((char *)ch + keep, tail, zeroed);
    mcxi_chunk_trim_top(ch, keep, zeroed);
    ch->size = keep;
    ctx->total_bytes -= tail;
    ctx->end = (char *)ch + keep;
    mcxi_ctx_sync_inline(ctx);
}

int mcxi_ctx_release_memory(mcx_context *ctx) {
    int rc = MCX_OK;
    mcxi_ctx_finish_frees(ctx); /* a double free among them is counted, not lost */
    if (ctx->flags & MCXI_CTX_FREES) own_chain(ctx, NULL); /* the flag goes below */
#if MCXI_CHECKING
    for (const mcxi_chunk *c = ctx->keeper; c; c = c->next) {
        size_t live;
        if (mcxi_check_chunk_objects(ctx, c, &live) != MCX_OK) rc = MCX_ECORRUPT;
    }
    for (const mcxi_chunk *c = ctx->large_head; c; c = c->next) {
        const char *p = (const char *)c + c->reserved;
        if (!mcxi_dbg_sentinel_ok(p, c->used - c->reserved)) rc = MCX_ECORRUPT;
    }
#endif
    /* Forget the objects before any chunk goes back: another thread may get it at once, and
     * destroying the pool later would mark that thread's new objects inaccessible. */
    MCXI_VG_DESTROY_POOL(ctx);
    for (mcxi_chunk *c = ctx->large_head, *next; c; c = next) {
        next = c->next;
        mcxi_ctx_chunk_give_back(ctx, c, c->used);
    }
    for (mcxi_chunk *c = ctx->keeper->next, *next; c; c = next) {
        next = c->next;
        mcxi_ctx_chunk_give_back(ctx, c, mcxi_chunk_written(ctx, c));
    }
    mcxi_chunk *keeper = ctx->keeper;
    size_t keeper_used = mcxi_chunk_written(ctx, keeper);
    bool clean = (ctx->flags & MCX_CONTEXT_CLEAN) != 0;
    size_t data = mcxi_ctx_data_offset();
    if (clean && keeper_used > data) {
        /* The kept keeper may serve another request next (a recycled context): scrub it. */
        MCXI_UNPOISON((char *)keeper + data, keeper_used - data);
        MCXI_VG_UNDEFINED((char *)keeper + data, keeper_used - data);
        memset((char *)keeper + data, 0, keeper_used - data);
    }
    if (clean && (keeper->flags & MCXI_CHUNK_SPAN)) scrub_span_tail(keeper, keeper_used > data ? keeper_used : data, keeper->size);
    keeper->next = NULL;
    keeper->flags &= ~MCXI_CHUNK_SPAN;
    keeper->used = data;
    ctx->span_mode = 0; /* a borrower calls mcx_span_reserve again after a reset */
    ctx->obj_key = mcxi_key_mix((uint64_t)ctx->obj_key + 1); /* headers from before are stale */
    ctx->current = keeper;
    ctx->bump = (char *)keeper + data;
    ctx->end = (char *)keeper + keeper->size;
    ctx->large_head = NULL;
    ctx->total_bytes = keeper->size;
    ctx->used_bytes = 0;
    ctx->span_free_bytes = 0;
    ctx->chunk_count = 1;
    ctx->large_count = 0;
    ctx->free_class_mask = 0;
    ctx->odd_class_mask = 0;
    mcxi_ctx_set_sizing(ctx, false); /* the end, the flags and the free lists are set */
    size_t next = keeper->size * 2;
    ctx->next_chunk_size = next < ctx->max_chunk_size ? next : ctx->max_chunk_size;
    MCXI_UNPOISON(ctx->bump, (size_t)(ctx->end - ctx->bump));
    MCXI_VG_DEFINED(ctx->bump, (size_t)(ctx->end - ctx->bump));
#if MCXI_CHECKING
    memset(ctx->bump, clean ? 0 : MCXI_WIPE, (size_t)(ctx->end - ctx->bump));
#endif
    MCXI_POISON(ctx->bump, (size_t)(ctx->end - ctx->bump));
    MCXI_VG_CREATE_POOL(ctx);
    return rc;
}
