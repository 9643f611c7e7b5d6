/* internal.h - memctx internals shared between the core's files: constants, the structures of
 * top chunks, process chunks, contexts and objects, and the internal functions grouped by the
 * file that defines them. Nothing here is exported from the library. */
#ifndef MEMCTX_INTERNAL_H
#define MEMCTX_INTERNAL_H

#include "memctx.h"

#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

/* ---- tunables ----------------------------------------------------------------------------
 * Chosen from costs measured on the project's machines: a page fault costs ~1.9 us and an
 * mmap+munmap pair ~4.5 us, so small things are carved from larger mappings and only big,
 * long-idle ranges are given back. */
#define MCXI_BLOCK_SHIFT 12u                              /* buddy granule: 4 KiB */
#define MCXI_BLOCK ((size_t)1 << MCXI_BLOCK_SHIFT)
#define MCXI_GRANULE_SHIFT 16u                            /* page-map granule, mapping alignment */
#define MCXI_GRANULE ((size_t)1 << MCXI_GRANULE_SHIFT)
#define MCXI_MAX_ORDER 20u                                /* largest buddy top: 4 KiB << 20 = 4 GiB */
#define MCXI_DECOMMIT_MIN_ORDER 4u                        /* free runs >= 64 KiB are madvised */
/* Smaller free runs are madvised once idle for this many decays: by then they are fragments no
 * chunk request has wanted (on the ramp workload, trimmed chunk tails and keepers: 11 MiB of its
 * RSS after the idle time), and a burst within that time still finds them warm. */
#define MCXI_DECOMMIT_SMALL_DECAYS 2u
/* While chunks are still being taken (one in the last decay), free runs that were used stay
 * resident up to the most chunk bytes in use over this many decays: a load that rises and falls
 * finds its memory warm instead of refaulting what the decay gave back (a refault costs a fault
 * and a page clear per 4 KiB). Once no chunk has been taken for a decay, the decay alone rules. */
#define MCXI_DEMAND_DECAYS 8u
#define MCXI_DEDICATED_MIN ((size_t)1 << 20)              /* chunks >= 1 MiB get their own mapping */
#define MCXI_TOP_MIN MCX_TOP_CHUNK_MIN                     /* smallest top chunk */
#define MCXI_TOP_CEILING MCX_TOP_CHUNK_MAX                 /* largest top chunk ever */
#define MCXI_CHUNK_MIN MCX_CHUNK_MIN                       /* smallest process chunk */
#define MCXI_SMALL_MAX ((size_t)1 << 20)                  /* largest size-class object */
#define MCXI_NCLASSES 64u
/* mcx_alloc serves sizes up to this from a table (need and class by 16-byte step, 2 KiB of
 * table), not from the log2 arithmetic: the sizes of both request workloads (16 B - 2 KiB, and
 * up to 8 KiB with a child context) all fall in it. */
#define MCXI_SMALL_TABLE_MAX ((size_t)8192)
/* Per-thread chunk cache: chunks up to 4 KiB << (MCXI_TCACHE_ORDERS - 1) = 256 KiB, up to 1 MiB
 * per thread. A request of the peer workload (50 objects of 16 B-2 KiB) uses an 8, a 16 and a
 * 32 KiB chunk; 1 MiB holds the chunks of about 18 such requests, and is what a thread can keep
 * resident beyond retain_bytes until its cache has been idle for decay_ms. */
#define MCXI_TCACHE_ORDERS 7u
#define MCXI_TCACHE_BYTES ((size_t)1 << 20)
/* Deleted contexts a thread keeps for its next creates (within MCXI_TCACHE_BYTES): 64, the
 * Node addon's measure for a service with tens of requests in flight that frees and creates them
 * in bursts (with 16 its pool ran dry and overflowed in turns). */
#define MCXI_TCACHE_CONTEXTS 64u

#define MCXI_DEFAULT_TOP ((size_t)4 << 20)
#define MCXI_DEFAULT_MAX_TOP ((size_t)1 << 30)
#define MCXI_DEFAULT_RETAIN ((size_t)4 << 20)
#define MCXI_DEFAULT_DECAY_MS 1000u
#define MCXI_DEFAULT_INITIAL ((size_t)8 << 10)
#define MCXI_DEFAULT_MAX_CHUNK ((size_t)1 << 20)

#define MCXI_TOP_MAGIC 0x70504D43u   /* "CMPp" */
#define MCXI_CHUNK_MAGIC 0x6B4E4843u /* "CHNk" */
#define MCXI_CTX_MAGIC 0x58544E43u   /* "CNTX" */
#define MCXI_CTX_DEAD 0x44414544u    /* "DEAD" */
/* A live object's magic is bound to its address and to its context's key (mcxi_obj_magic), so a
 * header copied elsewhere, or left from before a reset or by another context, does not validate.
 * Its top bit is set, so the upper half of a user-space pointer (which a free object stores in
 * the same place) can never equal it; its low bit is set, so it never equals the pad magic. */
#define MCXI_OBJ_LIVE_BITS 0x80000001u
#define MCXI_OBJ_PAD 0xA1105AD0u
#define MCXI_SENTINEL 0x7Eu
#define MCXI_WIPE 0x7Fu

#ifdef MEMCTX_CHECKING
#define MCXI_CHECKING 1
#define MCXI_SENTINEL_BYTES 1u
#else
#define MCXI_CHECKING 0
#define MCXI_SENTINEL_BYTES 0u
#endif

/* mcx_free in a release build reads the object's header this many frees later, after a prefetch:
 * the header of a cold object is a cache miss, and the frees in between overlap it instead of
 * stalling on it. The mixed workload (`mcx_peer_memctx --backend memctx --workload mixed`, built
 * with each value; medians of 11 runs interleaved with mimalloc-free): 523 ms reading the header
 * at once (the build before), 227 ms with 4, 232 ms with 8, 247 ms with 16, mimalloc 210 ms; the
 * spread between runs is wider than the gaps between 4, 8 and 16 (8 leaves room on a machine with
 * slower memory). The checking build reads it at once. */
#if MCXI_CHECKING
#define MCXI_FREE_DEFER 4u /* the ring's smallest size; unused: every free is checked at once */
#else
#define MCXI_FREE_DEFER 8u
#endif
_Static_assert(MCXI_FREE_DEFER % 4 == 0, "the deferred ring is compared four slots at a time");

#define MCXI_LIKELY(x) __builtin_expect(!!(x), 1)
#define MCXI_UNLIKELY(x) __builtin_expect(!!(x), 0)

static inline size_t mcxi_align_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }
static inline unsigned mcxi_log2_floor(size_t n) { return 63u - (unsigned)__builtin_clzll(n); }
static inline unsigned mcxi_log2_ceil(size_t n) { return n <= 1 ? 0 : mcxi_log2_floor(n - 1) + 1; }
static inline size_t mcxi_pow2_ceil(size_t n) { return (size_t)1 << mcxi_log2_ceil(n); }

/* ---- structures --------------------------------------------------------------------------- */

/* Per-block state in a buddy top chunk: set on the first block of a run only. */
#define MCXI_B_ORDER 0x1Fu
#define MCXI_B_FREE 0x20u
#define MCXI_B_ALLOC 0x40u
#define MCXI_B_DECOMMITTED 0x80u /* on a free run */
/* On an allocated run: a piece of a trimmed chunk after its first (the chunk starts at the
 * nearest run below without it). A trimmed chunk is a prefix of a power-of-two run, kept as the
 * binary decomposition of its length: pieces in decreasing size, each a buddy run. */
#define MCXI_B_CONT 0x80u
#define MCXI_NIL 0xFFFFFFFFu

/* A top chunk: a mapping from the OS. A buddy top chunk carves process chunks out of itself;
 * its bookkeeping (this header and the per-block arrays) sits in its first blocks. A dedicated
 * mapping holds one large process chunk at base + MCXI_BLOCK and has no block arrays. */
typedef struct mcxi_top {
    uint32_t magic;
    uint32_t dedicated;
    char *base;
    size_t size;
    unsigned order;            /* size == MCXI_BLOCK << order (buddy) */
    uint32_t nblocks;
    size_t meta_bytes;         /* bookkeeping blocks, counted in used_bytes */
    size_t used_bytes;         /* handed out as process chunks, plus meta_bytes */
    size_t decommitted_bytes;  /* free bytes given back with madvise */
    size_t releasing_bytes;    /* free runs out of the lists for a release pass's madvise */
    uint64_t empty_since_ms;   /* when it became wholly free; 0 while in use */
    uint32_t free_mask;        /* bit k set: free list of order k is not empty */
    uint32_t free_head[MCXI_MAX_ORDER + 1];
    uint32_t free_tail[MCXI_MAX_ORDER + 1];
    uint8_t *state;
    uint32_t *link_next;
    uint32_t *link_prev;
    /* Per block: the context whose chain chunk holds it while that context frees objects one by
     * one (MCXI_CTX_FREES), NULL for anything else. mcx_free finds such a context from a pointer
     * without reading the object's header or the chunk's; a context that never frees pays
     * nothing for it. */
    mcx_context **owner;
    uint64_t *freed_ms;        /* when the free run starting here was freed */
    uint8_t *dirty;            /* free run starting here: MCXI_RUN_* */
    _Atomic uint32_t holds;    /* mcx_hold count: never unmapped while > 0 */
    struct mcxi_top *dnext, *dprev; /* dedicated mappings list */
} mcxi_top;

/* What a free run's dirty byte says of it. */
#define MCXI_RUN_DIRTY 0x1u /* it may hold bytes a context wrote */
#define MCXI_RUN_USED 0x2u  /* handed out since it was mapped or madvised: its pages may be resident */
/* On an allocated run (no chunk, no owner): taken by a release pass to be madvised without the
 * top lock; pointer validation refuses it, nothing takes, merges or unmaps it meanwhile. */
#define MCXI_RUN_RELEASING 0x4u

/* Header at the start of every process chunk. */
#define MCXI_CHUNK_KEEPER 0x1u /* the first chunk of a context; holds the context itself */
#define MCXI_CHUNK_LARGE 0x2u  /* holds one large allocation */
#define MCXI_CHUNK_SPAN 0x4u   /* bump-allocated by a span borrower: no object headers */

typedef struct mcxi_chunk {
    uint32_t magic;
    uint32_t flags;
    mcx_context *owner;
    struct mcxi_chunk *next; /* forwarding header: the chunk that replaced this one (large: list) */
    struct mcxi_chunk *prev; /* large allocations' list only */
    size_t size;             /* bytes of the chunk, this header included */
    size_t used;             /* bytes bumped, header included (the current chunk: see ctx->bump) */
    uint32_t index;          /* position in the forwarding chain */
    uint32_t reserved;
} mcxi_chunk;

#define MCXI_CHUNK_HDR ((size_t)64)
_Static_assert(sizeof(mcxi_chunk) <= MCXI_CHUNK_HDR, "chunk header fits its reserved space");

/* Header before every object allocated by C (16 bytes, so objects stay 16-byte aligned). */
typedef struct mcxi_obj {
    uint32_t size;      /* usable bytes after the header (multiple of 16); large: 0 */
    uint32_t chunk_off; /* (header - chunk) / 16 in the low MCXI_OFF_BITS; above: log2(align) - 4 */
    union {
        struct {
            uint32_t requested; /* bytes asked for (large: see the chunk) */
            uint32_t magic;     /* MCXI_OBJ_LIVE or MCXI_OBJ_PAD */
        } live;
        struct mcxi_obj *next_free; /* free objects: next in the size-class list */
    } u;
} mcxi_obj;

#define MCXI_OBJ_HDR ((size_t)16)
/* chunk_off: offsets up to 4 GiB (a chain chunk is at most 1 GiB), then the alignment asked of
 * mcx_alloc_aligned, which mcx_realloc keeps when it moves the object. */
#define MCXI_OFF_BITS 28u
#define MCXI_OFF_MASK ((1u << MCXI_OFF_BITS) - 1u)
static inline size_t mcxi_obj_off(const mcxi_obj *o) { return (size_t)(o->chunk_off & MCXI_OFF_MASK) * 16u; }
static inline size_t mcxi_obj_align(const mcxi_obj *o) { return (size_t)16 << (o->chunk_off >> MCXI_OFF_BITS); }
_Static_assert(sizeof(mcxi_obj) == MCXI_OBJ_HDR, "object header is 16 bytes");
_Static_assert(MCX_ALIGN == 16, "MCX_ALIGN matches the object header");

typedef struct mcxi_callback {
    struct mcxi_callback *next;
    mcx_reset_callback fn;
    void *arg;
} mcxi_callback;

struct mcx_context {
    /* The head: the fields mcx_alloc_inline (memctx.h) reads, laid out as struct
     * mcx_context_head (layout version MCX_CONTEXT_HEAD_VERSION; asserted below). */
    uint32_t magic;
    uint32_t obj_key;          /* keys live object magics; changes at every reset */
    char *bump;                /* next free byte of the current chunk */
    char *end;                 /* end of the current chunk */
    mcxi_chunk *current;       /* last chunk of the forwarding chain: allocation happens here */
    uint64_t free_class_mask;  /* bit c set: free_lists[c] is not empty; clear: ignore its head */
    size_t fast_max;           /* largest size mcx_alloc's table path serves */
    char *inline_end;          /* end, or NULL: mcxi_ctx_sync_inline */
    size_t inline_max;         /* largest size mcx_alloc_inline serves: mcxi_ctx_set_sizing */
    /* The rest is private. */
    uint64_t inline_classes;   /* classes of sizes 1..inline_max: a freed one waiting stops the inline path */
    uint32_t span_mode;        /* a span borrower bump-allocates in this context */
    uint32_t flags;            /* MCX_CONTEXT_*, MCXI_CTX_FREES */
    uint64_t odd_class_mask;   /* bit c: free_lists[c] may hold an object not of class c's size */
    const uint32_t *size_table; /* mcx_alloc's need and class by size: mcxi_size_table(frees) */
    mcx_context *parent;
    mcx_context *first_child;
    mcx_context *next_sibling;
    mcx_context *prev_sibling;
    mcxi_chunk *keeper;        /* first process chunk; holds this struct */
    mcxi_chunk *large_head;    /* chunks of large allocations */
    size_t next_chunk_size;
    size_t initial_size;
    size_t max_chunk_size;
    size_t large_threshold;
    size_t limit_bytes;
    size_t total_bytes;        /* chain + large chunks */
    /* Used bytes outside the current chunk's bumped range; the bumped range (bump - current) is
     * added when read (mcxi_ctx_used), so the bump fast path does no accounting. Modular. */
    size_t used_bytes;
    size_t span_free_bytes;    /* bytes a span borrower holds on its own free lists */
    uint32_t chunk_count;
    uint32_t large_count;
    uint32_t child_count;
    mcxi_callback *callbacks;
    /* Frees whose object header is read later (alloc.c, mcx_free): a ring, oldest at
     * deferred_head; slots outside it hold NULL. */
    uint32_t deferred_head;
    uint32_t deferred_count;
    void *deferred[MCXI_FREE_DEFER];
    /* The low 32 bits of each, 0 for none: pop_free compares them all with one vector compare. */
    uint32_t deferred_low[MCXI_FREE_DEFER] __attribute__((aligned(16)));
    uint64_t refused_frees;    /* deferred frees refused when their header was read */
    int refused_status;        /* the first of them since mcx_free_flush, MCX_OK if none */
    mcxi_obj *free_lists[MCXI_NCLASSES];
    char name[MCX_NAME_MAX + 1];
};

#define MCXI_HEAD_SAME(f) (offsetof(struct mcx_context, f) == offsetof(struct mcx_context_head, f))
_Static_assert(MCXI_HEAD_SAME(magic) && MCXI_HEAD_SAME(obj_key) && MCXI_HEAD_SAME(bump) && MCXI_HEAD_SAME(end) &&
                   MCXI_HEAD_SAME(current) && MCXI_HEAD_SAME(free_class_mask) && MCXI_HEAD_SAME(fast_max) && MCXI_HEAD_SAME(inline_end) &&
                   MCXI_HEAD_SAME(inline_max),
               "struct mcx_context starts with struct mcx_context_head");
_Static_assert(MCXI_CTX_MAGIC == MCX_CONTEXT_MAGIC && MCXI_OBJ_LIVE_BITS == MCX_OBJ_LIVE_BITS,
               "the public layout's constants");

/* A private bit of mcx_context.flags, beside the public MCX_CONTEXT_* ones: an object of the chain
 * was freed since the last reset. Such a context sizes new objects to their class above 256 B
 * (alloc.c, obj_need) and grows by doubling alone (mcxi_ctx_grow). */
#define MCXI_CTX_FREES 0x80000000u
_Static_assert((MCXI_CTX_FREES & MCX_CONTEXT_CLEAN) == 0, "the private flag is apart from the public ones");

/* mcx_alloc_inline bumps up to inline_end: the chunk's end while no freed object of its sizes
 * waits (it would have to be taken first), NULL otherwise and for a deleted context. Called
 * wherever end, free_class_mask, inline_classes or the magic change. */
static inline void mcxi_ctx_sync_inline(mcx_context *ctx) {
    ctx->inline_end = (ctx->free_class_mask & ctx->inline_classes) || ctx->magic != MCXI_CTX_MAGIC ? NULL : ctx->end;
}

/* Write the header of a live object at o in the current chunk: one 16-byte store. Its offset
 * (o - current, a multiple of 16 below 4 GiB) << 28 is offset / 16 in the high half. */
static inline void mcxi_obj_place(const mcx_context *ctx, void *o, size_t requested, size_t need) {
    uint64_t w0 = (uint64_t)need | (uint64_t)((char *)o - (char *)ctx->current) << 28;
    uint32_t magic = (ctx->obj_key ^ (uint32_t)((uintptr_t)o >> 4)) | MCXI_OBJ_LIVE_BITS;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t hdr[2] = {w0, (uint64_t)requested | (uint64_t)magic << 32};
#else
    uint32_t hdr[4] = {(uint32_t)need, (uint32_t)(w0 >> 32), (uint32_t)requested, magic};
#endif
    memcpy(o, hdr, sizeof hdr);
}

/* The magic of a live object whose header is at o in ctx. */
static inline uint32_t mcxi_obj_magic(const mcx_context *ctx, const void *o) {
    return (ctx->obj_key ^ (uint32_t)((uintptr_t)o >> 4)) | MCXI_OBJ_LIVE_BITS;
}
/* A new object key (at creation and at each reset). */
static inline uint32_t mcxi_key_mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    x ^= x >> 33;
    return (uint32_t)x;
}

/* Bytes of live allocations, their headers and chunk headers (before span free lists). */
static inline size_t mcxi_ctx_used(const mcx_context *ctx) {
    return ctx->used_bytes + (size_t)(ctx->bump - (const char *)ctx->current);
}

/* ---- os.c ---------------------------------------------------------------------------------- */
int mcxi_os_map(size_t size, size_t align, void **out);
int mcxi_os_unmap(void *p, size_t size);
void mcxi_os_fail_unmaps(unsigned n); /* test hook */
void mcxi_os_set_release_probe(void (*probe)(int is_unmap, size_t size)); /* test hook; NULL: none */
int mcxi_os_decommit(void *p, size_t size);
/* vec[i] & 1: page i of [p, p + size) is resident (mincore). MCX_OK or MCX_EINVAL. */
int mcxi_os_residency(const void *p, size_t size, unsigned char *vec);
uint64_t mcxi_os_resident(const void *p, size_t size);
uint64_t mcxi_os_now_ms(void);
uint64_t mcxi_os_random_seed(void); /* per process, from the OS (getrandom) or the clock */
/* membarrier(2): register the process for expedited barriers (false when the kernel, or valgrind,
 * does not have them), then make every running thread of the process pass a memory barrier. */
bool mcxi_os_membarrier_register(void);
void mcxi_os_membarrier(void);
size_t mcxi_os_page_size(void);
void mcxi_os_counters(uint64_t *mmaps, uint64_t *munmaps, uint64_t *madvises, uint64_t *failures);

/* ---- pagemap.c: address -> top chunk, lock-free reads ---------------------------------------- */
int mcxi_pagemap_set(const void *base, size_t size, mcxi_top *top); /* under the top lock */
void mcxi_pagemap_clear(const void *base, size_t size);             /* under the top lock */
/* Three levels of 16 index bits over 64 KiB granules; the lookup is inline (mcx_free's path). */
#define MCXI_PAGEMAP_LEVEL_BITS 16u
typedef _Atomic(mcxi_top *) mcxi_pagemap_leaf;
typedef _Atomic(mcxi_pagemap_leaf *) mcxi_pagemap_mid;
extern mcxi_pagemap_mid *_Atomic mcxi_pagemap_root[(size_t)1 << MCXI_PAGEMAP_LEVEL_BITS];
static inline mcxi_top *mcxi_pagemap_get(const void *p) {
    uint64_t g = (uint64_t)(uintptr_t)p >> MCXI_GRANULE_SHIFT;
    const size_t mask = ((size_t)1 << MCXI_PAGEMAP_LEVEL_BITS) - 1;
    mcxi_pagemap_mid *mid = atomic_load_explicit(&mcxi_pagemap_root[g >> (2 * MCXI_PAGEMAP_LEVEL_BITS)], memory_order_acquire);
    if (!mid) return NULL;
    mcxi_pagemap_leaf *leaf = atomic_load_explicit(&mid[(g >> MCXI_PAGEMAP_LEVEL_BITS) & mask], memory_order_acquire);
    if (!leaf) return NULL;
    return atomic_load_explicit(&leaf[g & mask], memory_order_acquire);
}
uint64_t mcxi_pagemap_meta_bytes(void);

/* ---- buddy.c: process chunks carved out of one top chunk ---------------------------------- */
size_t mcxi_buddy_meta_bytes(size_t top_size);
void mcxi_buddy_init(mcxi_top *top, uint64_t now_ms);
/* Returns the block index, or MCXI_NIL when no free run of that order exists; *dirty (when not
 * NULL) tells whether the run may hold bytes written by a context (else it reads as zeros). */
uint32_t mcxi_buddy_alloc(mcxi_top *top, unsigned order, bool *dirty);
/* True when the first free run of order k (the one mcxi_buddy_alloc takes) exists and has been
 * used before (MCXI_RUN_USED). */
static inline bool mcxi_buddy_used_run(const mcxi_top *top, unsigned k) {
    return ((top->free_mask >> k) & 1u) && (top->dirty[top->free_head[k]] & MCXI_RUN_USED);
}
/* The first free run of order k when it was used before (else MCXI_NIL), split down to order. */
uint32_t mcxi_buddy_alloc_used(mcxi_top *top, unsigned k, unsigned order, bool *dirty);
/* zeroed: every byte of the run is zero (a clean context scrubbed what it used). */
void mcxi_buddy_free(mcxi_top *top, uint32_t block, uint64_t now_ms, bool zeroed);
/* A free run a release pass madvises: taken out of its top chunk's free lists under the lock,
 * given back (decommitted, or as it was when the madvise failed) under the lock again. */
typedef struct mcxi_release_run {
    mcxi_top *top;
    uint64_t freed_ms;
    uint32_t block;
    uint8_t order;
    uint8_t dirty;
} mcxi_release_run;
/* Take up to cap free runs to madvise: of order >= MCXI_DECOMMIT_MIN_ORDER idle since before
 * cutoff_ms, smaller ones idle since before small_cutoff_ms, largest first; *keep_bytes of used
 * runs are kept resident instead, and taken off *keep_bytes. Returns how many were taken; each is
 * marked allocated and MCXI_RUN_RELEASING and counted in the top chunk's releasing bytes. */
size_t mcxi_buddy_release_take(mcxi_top *top, uint64_t cutoff_ms, uint64_t small_cutoff_ms, uint64_t *keep_bytes,
                               mcxi_release_run *out, size_t cap);
/* Give a taken run back to its free lists: decommitted (its madvise succeeded) or as it was. */
void mcxi_buddy_release_put(const mcxi_release_run *run, bool decommitted);
/* Bytes of used, resident free runs freed after cutoff_ms (which no pass releases yet). */
uint64_t mcxi_buddy_recent_bytes(const mcxi_top *top, uint64_t cutoff_ms);
/* Keep the first keep_blocks blocks of the allocated run (or trimmed chunk) at block and free the
 * rest as free runs (freed at now_ms, zeroed as for mcxi_buddy_free); returns the bytes freed. */
size_t mcxi_buddy_trim(mcxi_top *top, uint32_t block, uint32_t keep_blocks, uint64_t now_ms, bool zeroed);
int mcxi_buddy_check(const mcxi_top *top);

/* ---- top.c: the top-chunk vector, dedicated mappings, the lock ------------------------------- */
/* The most chunk bytes in use during one decay-long interval, from start_ms. */
typedef struct mcxi_demand {
    uint64_t start_ms, peak_bytes;
} mcxi_demand;

typedef struct mcxi_global {
    pthread_mutex_t lock;
    mcx_config config;
    mcxi_top **vec;            /* the top-chunk vector, in creation order */
    size_t vec_len;
    size_t vec_cap;
    mcxi_top *dedicated;       /* mappings of one large allocation each */
    _Atomic uint64_t next_maintain_ms; /* written under the lock, read without it to see a pass is due */
    _Atomic bool background;           /* the background thread runs the passes */
    /* statistics kept under the lock */
    uint64_t mapped_bytes, peak_mapped_bytes, chunk_bytes, retained_bytes, decommitted_bytes;
    uint64_t vec_meta_bytes, top_chunk_count, dedicated_count, released_bytes, maintain_runs;
    /* the demand of the last MCXI_DEMAND_DECAYS decays (interval n in slot n % MCXI_DEMAND_DECAYS,
     * n = ms / decay_ms), and when a chunk was last taken from a top chunk */
    mcxi_demand demand[MCXI_DEMAND_DECAYS];
    uint64_t last_take_ms;
} mcxi_global;

extern mcxi_global mcxi_g;

void mcxi_lock(void);
void mcxi_unlock(void);
/* Get a process chunk of at least bytes (or min_bytes, below), rounded up to a power of two; a
 * large one (for one large allocation) of MCXI_DEDICATED_MIN or more gets a dedicated mapping
 * rounded to the granule. zeroed: the chunk must read as zeros (a clean context). *got receives
 * its size. MCX_OK or MCX_ENOMEM. The thread's cache first (inline: it is most of a request's
 * chunk traffic), then the top layer. */
int mcxi_chunk_acquire_top(size_t bytes, size_t min_bytes, bool large, bool zeroed, void **out, size_t *got);
bool mcxi_tcache_take(size_t size, bool zeroed, void **out);
/* min_bytes (0: bytes): past the thread's cache, a chain chunk may be as small as this when a
 * smaller free run that was used before waits whole in a top chunk (mcxi_chunk_acquire_top). */
static inline int mcxi_chunk_acquire(size_t bytes, size_t min_bytes, bool large, bool zeroed, void **out, size_t *got) {
    if (!large || bytes < MCXI_DEDICATED_MIN) {
        size_t size = bytes < MCXI_CHUNK_MIN ? MCXI_CHUNK_MIN : mcxi_pow2_ceil(bytes);
        if (mcxi_tcache_take(size, zeroed, out)) {
            *got = size;
            return MCX_OK;
        }
    }
    return mcxi_chunk_acquire_top(bytes, min_bytes, large, zeroed, out, got);
}
/* Give a process chunk of size bytes back (to this thread's cache, or to its top chunk; a
 * dedicated mapping is unmapped at once, without the top lock); zeroed: every byte of it is zero. */
void mcxi_chunk_release_top(void *chunk, bool zeroed);
bool mcxi_tcache_put(void *chunk, size_t size, bool zeroed);
/* Name owner as the context of every block of the chain chunk at chunk (NULL: none); nothing
 * for a dedicated mapping. Called by the chunk's owner (its blocks are no other thread's). */
void mcxi_chunk_set_owner(void *chunk, size_t size, mcx_context *owner);
static inline void mcxi_chunk_release(void *chunk, size_t size, bool zeroed) {
    /* Chunks of the cached sizes are never dedicated mappings (those start at 1 MiB); a trimmed
     * chunk (not a power of two) goes back to its top chunk, which frees its pieces. */
    if (size < MCXI_DEDICATED_MIN && (size & (size - 1)) == 0 && mcxi_tcache_put(chunk, size, zeroed)) return;
    mcxi_chunk_release_top(chunk, zeroed);
}
/* Give back the tail of a chain chunk above its first keep bytes (a multiple of
 * MCXI_BLOCK, above zero): the chunk is then keep bytes long. zeroed: the tail reads as zeros. */
void mcxi_chunk_trim_top(void *chunk, size_t keep, bool zeroed);
/* The same, straight to its top chunk, freed at freed_ms, with the top lock held; never a
 * dedicated mapping (the thread caches, its callers, hold chunks below MCXI_DEDICATED_MIN). */
void mcxi_chunk_release_locked(void *chunk, bool zeroed, uint64_t freed_ms);
/* True when the process chunk at p is a dedicated mapping (fresh from the OS, unmapped on free). */
bool mcxi_chunk_dedicated(const void *chunk);
/* True when p is the first byte of a process chunk handed out by the top layer. */
bool mcxi_chunk_is_live(const mcxi_top *top, const void *p);
/* A top chunk or dedicated mapping unmapped without the lock: what the unmap and a refusal need
 * of its header, which lives in the mapping. */
typedef struct mcxi_top_gone {
    mcxi_top *top;
    char *base;
    size_t size, meta_bytes, decommitted_bytes;
    bool dedicated;
} mcxi_top_gone;
/* A wholly free, unheld buddy top chunk leaves the vector and the page map, and its bytes leave
 * the figures, so that the release pass can unmap it without the lock. */
void mcxi_top_detach_locked(mcxi_top *top, mcxi_top_gone *gone);
/* A dedicated mapping whose allocation is freed becomes a free one; unless holds keep it mapped,
 * it then leaves the list and the page map likewise (true: *gone is to be unmapped). */
bool mcxi_dedicated_detach_locked(mcxi_top *top, mcxi_top_gone *gone);
/* Up to cap free, unheld dedicated mappings (ones the OS refused to unmap before) detached into
 * out, for the release pass; returns how many. */
size_t mcxi_dedicated_take_locked(mcxi_top_gone *out, size_t cap);
/* The OS refused to unmap a detached mapping: it comes back as it was (a dedicated one as free,
 * for a later pass). */
void mcxi_top_reattach_locked(const mcxi_top_gone *gone);
/* Unmap a detached mapping with the lock released, then take the lock to count it (or to bring
 * it back, should the OS refuse). */
void mcxi_top_unmap_gone(const mcxi_top_gone *gone);
size_t mcxi_next_top_size_locked(size_t need);

/* ---- tcache.c: per-thread cache of free process chunks -------------------------------------- */
void mcxi_tcache_init(void); /* once, at load */
/* mcxi_tcache_take: a chunk of size bytes (a power of two) from this thread's cache; zeroed:
 * make it read zeros. mcxi_tcache_put: keep a chunk in this thread's cache; false when it does
 * not fit (then release it). Declared with mcxi_chunk_acquire and mcxi_chunk_release. */
/* Keep a deleted context, already reset to its keeper alone, and count its deletion; false when
 * it does not fit (then give its keeper back and count it). */
bool mcxi_tcache_put_context(mcx_context *ctx);
/* The newest deleted context of this thread when its keeper is keeper_size bytes, else NULL; a
 * context taken is counted as created. Its magics are the caller's to restore. */
mcx_context *mcxi_tcache_take_context(size_t keeper_size);
/* Drain caches idle for decay_ms (all of them when force); top lock held. Returns bytes. */
uint64_t mcxi_tcache_drain_locked(uint64_t now_ms, uint64_t real_ms, uint64_t decay_ms, bool force);
uint64_t mcxi_tcache_bytes_locked(void); /* bytes cached by all threads; top lock held */
/* Count a context created by this thread; returns a number unique among live threads' contexts. */
uint64_t mcxi_tcache_context_created(void);
void mcxi_tcache_contexts_deleted(uint64_t n);
void mcxi_tcache_context_counts_locked(uint64_t *created, uint64_t *live); /* top lock held */
void mcxi_tcache_fork_prepare(void); /* top lock held */
void mcxi_tcache_fork_release(void); /* the parent */
void mcxi_tcache_fork_child(void);

/* ---- release.c: the release policy (decay, retained budget, trim, background thread) ------- */
/* A release pass, called without the top lock: it takes the lock to choose what goes, and
 * madvises and unmaps with the lock released, so allocating threads never wait on the OS.
 * if_due: only when a pass is due (the automatic passes on allocator calls). Returns the bytes. */
uint64_t mcxi_release_pass(uint64_t now_ms, bool force, bool if_due);
/* The automatic pass on an allocator call, without the top lock held: when one is due and no
 * background thread runs the passes. */
void mcxi_maybe_maintain(uint64_t now_ms);
/* A chunk was taken at now_ms with chunk_bytes in use: the demand the release pass keeps warm. */
void mcxi_demand_note_locked(uint64_t now_ms);
int mcxi_background_apply(int enable);
/* fork() handlers of the background thread's state: take its lock before fork, release it after
 * (the child also forgets the thread, which fork did not copy). */
void mcxi_background_fork_prepare(void);
void mcxi_background_fork_parent(void);
void mcxi_background_fork_child(void);

/* ---- context.c ------------------------------------------------------------------------------ */
/* Validate a context handle: MCX_OK, MCX_EINVAL (NULL or garbage), MCX_EDELETED. The checking
 * build goes through the page map first (context.c); a plain build checks the magic inline, as
 * this sits on the allocation fast path. */
int mcxi_ctx_validate_slow(const mcx_context *ctx);
static inline int mcxi_ctx_validate(const mcx_context *ctx) {
#if MCXI_CHECKING
    return mcxi_ctx_validate_slow(ctx);
#else
    if (MCXI_UNLIKELY(ctx == NULL)) return MCX_EINVAL;
    if (MCXI_UNLIKELY(ctx->magic != MCXI_CTX_MAGIC)) return ctx->magic == MCXI_CTX_DEAD ? MCX_EDELETED : MCX_EINVAL;
    return MCX_OK;
#endif
}
/* Where a keeper's first object goes: after the chunk header and the context. */
static inline size_t mcxi_ctx_data_offset(void) { return MCXI_CHUNK_HDR + mcxi_align_up(sizeof(mcx_context), MCX_ALIGN); }

/* ---- alloc.c ------------------------------------------------------------------------------- */
void mcxi_alloc_init(void); /* once, at load: the size tables */
/* mcx_alloc's table for a context that has freed an object since its last reset (frees), or not. */
const uint32_t *mcxi_size_table(bool frees);
void mcxi_ctx_set_sizing(mcx_context *ctx, bool frees);
unsigned mcxi_class_ceil(size_t n);
unsigned mcxi_class_floor(size_t n);
size_t mcxi_class_size(unsigned c);
/* Take a new process chunk for ctx that can hold need bytes of objects; links it into the
 * forwarding chain and makes it current. */
int mcxi_ctx_grow(mcx_context *ctx, size_t need);
/* Give the untouched tail of ctx's current chunk back to the top layer (mcx_context_create does
 * so for the newest sibling of a new context: it has most likely stopped growing). */
void mcxi_ctx_trim_tail(mcx_context *ctx);
/* Free every object and chunk of ctx except the keeper, as reset does. */
int mcxi_ctx_release_memory(mcx_context *ctx);
/* Finish ctx's deferred frees (alloc.c, mcx_free): before anything reads its free lists or counts. */
void mcxi_ctx_finish_frees(mcx_context *ctx);
/* Give one process chunk of ctx back to the top layer, of which used bytes were written (a clean
 * context zeroes them first). */
void mcxi_ctx_chunk_give_back(mcx_context *ctx, mcxi_chunk *chunk, size_t used);
/* Bytes of chunk written so far (its bumped range). */
size_t mcxi_chunk_written(const mcx_context *ctx, const mcxi_chunk *chunk);
/* Resolve an object pointer: MCX_OK with *obj and *chunk, or an error status. */
int mcxi_resolve(const void *ptr, mcxi_obj **obj, mcxi_chunk **chunk);
int mcxi_check_chunk_objects(const mcx_context *ctx, const mcxi_chunk *chunk, size_t *live_bytes);

/* ---- status.c ------------------------------------------------------------------------------- */
void mcxi_set_errno(int status);

#endif /* MEMCTX_INTERNAL_H */
