/* memctx.h - the public C API of memctx: memory contexts on top chunks and process chunks.
 *
 * Words (see native/README.md): a *top chunk* is a region mapped from the OS; the *top-chunk
 * vector* lists them; a *process chunk* is a block carved from a top chunk and owned by one
 * *memory context*; when a context's current process chunk is full, a new one twice its size is
 * taken and the old chunk's *forwarding header* points to it. *Release* gives memory back to the
 * OS (munmap of idle top chunks, madvise(MADV_DONTNEED) of large idle free runs).
 *
 * Contract in brief:
 *  - Nothing here aborts or prints. Functions returning int return MCX_OK (0) or a negative
 *    mcx_status; functions returning a pointer return NULL and set the calling thread's
 *    mcx_errno().
 *  - Size 0 is valid and returns a unique pointer. Sizes above MCX_ALLOC_MAX fail with
 *    MCX_ETOOBIG. Every allocation is aligned to MCX_ALIGN bytes.
 *  - The top-chunk layer is thread-safe. A context, its children and its allocations belong to
 *    one thread at a time (the caller serialises access to one context tree).
 *  - mcx_reset() frees every allocation and deletes every child but keeps the context and its
 *    first process chunk; mcx_delete() does the same and then frees the context itself.
 */
#ifndef MEMCTX_H
#define MEMCTX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exported from a shared build of the library; an embedding that links the core statically (the
 * Node addon) defines MCX_API as empty so the symbols stay hidden in its own object. */
#ifndef MCX_API
#if defined(__GNUC__)
#define MCX_API __attribute__((visibility("default")))
#else
#define MCX_API
#endif
#endif

#define MCX_VERSION_MAJOR 0
#define MCX_VERSION_MINOR 1
#define MCX_VERSION_PATCH 0

/* Every allocation is aligned to this many bytes. */
#define MCX_ALIGN 16u
/* Largest size mcx_alloc accepts (1 TiB); larger requests fail with MCX_ETOOBIG. */
#define MCX_ALLOC_MAX (((size_t)1) << 40)
/* Bounds mcx_configure accepts: top chunks are powers of two in [MCX_TOP_CHUNK_MIN,
 * MCX_TOP_CHUNK_MAX]; decay_ms is at most a day (a larger value is surely a unit error). */
#define MCX_TOP_CHUNK_MIN (((size_t)256) << 10)
#define MCX_TOP_CHUNK_MAX (((size_t)1) << 32)
#define MCX_DECAY_MAX_MS ((uint64_t)24 * 3600 * 1000)
/* Bounds of mcx_context_options.initial_size and max_chunk_size (0 picks the default). */
#define MCX_CHUNK_MIN (((size_t)4) << 10)
#define MCX_CHUNK_MAX (((size_t)1) << 30)

/* ---- status codes ---------------------------------------------------------------------- */
#define MCX_STATUS_LIST(X)                                                                    \
    X(MCX_OK, 0, "OK", "success")                                                             \
    X(MCX_EINVAL, -1, "ERR_MEMCTX_INVALID_ARG", "invalid argument")                          \
    X(MCX_ENOMEM, -2, "ERR_MEMCTX_OOM", "out of memory: the OS refused a mapping")           \
    X(MCX_ELIMIT, -3, "ERR_MEMCTX_LIMIT", "allocation would exceed the context's limit")     \
    X(MCX_EDELETED, -4, "ERR_MEMCTX_DELETED", "the context was deleted")                     \
    X(MCX_ETOOBIG, -5, "ERR_MEMCTX_TOO_LARGE", "size above MCX_ALLOC_MAX")                   \
    X(MCX_EFOREIGN, -6, "ERR_MEMCTX_FOREIGN_POINTER", "pointer not allocated by memctx")     \
    X(MCX_EFREED, -7, "ERR_MEMCTX_DOUBLE_FREE", "pointer already freed")                     \
    X(MCX_ECORRUPT, -8, "ERR_MEMCTX_CORRUPT", "corruption detected (sentinel or invariant)") \
    X(MCX_EBUSY, -9, "ERR_MEMCTX_BUSY", "operation not allowed in the current state")

typedef enum mcx_status {
#define MCX_X_ENUM(name, value, code, text) name = value,
    MCX_STATUS_LIST(MCX_X_ENUM)
#undef MCX_X_ENUM
} mcx_status;

/* Short English description of a status code ("invalid argument"). Never NULL. */
MCX_API const char *mcx_strerror(int status);
/* Stable string code of a status ("ERR_MEMCTX_OOM"), used by the Node binding. Never NULL. */
MCX_API const char *mcx_status_code(int status);
/* Status of the calling thread's last failed pointer-returning call. */
MCX_API int mcx_errno(void);

/* ---- configuration of the top-chunk layer and the release policy ----------------------- */
typedef struct mcx_config {
    size_t top_chunk_size;     /* first top chunk, power of two >= 256 KiB; default 4 MiB */
    size_t max_top_chunk_size; /* ceiling of the doubling; default 1 GiB */
    size_t retain_bytes;       /* idle top chunks kept mapped up to this total; default 4 MiB */
    uint64_t decay_ms;         /* idle time before release; default 1000 ms (while chunks are
                                  still taken, free runs up to the most chunk bytes in use over
                                  the last 8 decays stay resident) */
    int background_thread;     /* 1: a thread runs mcx_maintain() by itself; default 0 */
} mcx_config;

/* Fill *out with the defaults (for use before mcx_configure). */
MCX_API void mcx_config_default(mcx_config *out);
/* Current configuration. */
MCX_API void mcx_config_get(mcx_config *out);
/* Validate and apply a configuration. MCX_EINVAL (nothing changed) on a bad field. */
MCX_API int mcx_configure(const mcx_config *config);

/* ---- memory contexts ------------------------------------------------------------------- */
typedef struct mcx_context mcx_context;

#define MCX_NAME_MAX 47 /* longer names are truncated */

typedef struct mcx_context_options {
    const char *name;      /* copied; NULL means "context" */
    size_t initial_size;   /* first process chunk, bytes; 0 = default 8 KiB (min 4 KiB) */
    size_t max_chunk_size; /* doubling stops here; 0 = default 1 MiB */
    size_t limit_bytes;    /* cap on this context's own process chunks; 0 = no limit */
    unsigned flags;        /* MCX_CONTEXT_* bits; 0 = none. Unknown bits: MCX_EINVAL */
} mcx_context_options;

/* A clean context never receives memory that holds bytes another context wrote: its process
 * chunks (the span lent by mcx_span_reserve included), the keeper it keeps across mcx_reset and
 * its large allocations read as zeros when first handed to it. It zeroes the bytes it used when
 * it gives memory back, so the next clean context gets it without a memset; a chunk last used by
 * a context without the flag is zeroed when a clean context takes it. Children of a clean context
 * are clean. Contexts without the flag pay nothing for it. A span borrower must commit its final
 * offset (mcx_span_commit) before mcx_reset or mcx_delete: bytes above it are not zeroed. */
#define MCX_CONTEXT_CLEAN 1u

/* Create a context, child of parent (NULL: a root). opts may be NULL for defaults.
 * NULL + mcx_errno() = MCX_EINVAL / MCX_ENOMEM / MCX_EDELETED on failure. */
MCX_API mcx_context *mcx_context_create(mcx_context *parent, const mcx_context_options *opts);

/* Allocate size bytes (contents undefined). NULL + mcx_errno() on failure. */
MCX_API void *mcx_alloc(mcx_context *ctx, size_t size);
/* ---- the inline fast path ----------------------------------------------------------------
 * mcx_alloc_inline is mcx_alloc with its common case compiled into the caller: a size from 1 to
 * the context's inline_max and room before inline_end. It reads and writes the head of the
 * context and writes the object header, whose layouts are fixed by MCX_CONTEXT_HEAD_VERSION (a
 * change of either bumps it). In the checking build (MEMCTX_CHECKING) it is mcx_alloc. Layout
 * version 3:
 *  - struct mcx_context_head, at the start of every context. inline_max is the largest size
 *    whose object mcx_alloc would bump at its exact size, rounded up to 16: 8 KiB for a context
 *    with the default max_chunk_size (less when a smaller one lowers its large threshold), 256 B
 *    while it frees objects one by one (larger objects are then sized to their class), 0 when the
 *    library is the checking build. inline_end is the end of the current chunk while the context
 *    lives and no freed object of 1 to inline_max bytes waits for reuse; otherwise NULL, which
 *    sends every call to mcx_alloc (so the inline path needs neither the magic nor the free
 *    lists);
 *  - the 16-byte header before each object: uint32 usable size (a multiple of 16), uint32
 *    offset of the header from its chunk in 16-byte units, uint32 requested size, uint32 magic
 *    (obj_key ^ (header address >> 4)) | MCX_OBJ_LIVE_BITS. */
#define MCX_CONTEXT_HEAD_VERSION 3
#define MCX_CONTEXT_MAGIC 0x58544E43u
#define MCX_OBJ_LIVE_BITS 0x80000001u

struct mcx_context_head {
    uint32_t magic;           /* MCX_CONTEXT_MAGIC while the context lives */
    uint32_t obj_key;         /* keys the object magics */
    char *bump;               /* next free byte of the current chunk */
    char *end;                /* end of the current chunk */
    char *current;            /* start of the current chunk */
    uint64_t free_class_mask; /* private to mcx_alloc */
    size_t fast_max;          /* private to mcx_alloc */
    char *inline_end;         /* end, or NULL: see above */
    size_t inline_max;        /* largest size served here: see above */
};

static inline void *mcx_alloc_inline(mcx_context *ctx, size_t size) {
#ifndef MEMCTX_CHECKING
    struct mcx_context_head *h = (struct mcx_context_head *)(void *)ctx;
    /* Sizes 1..inline_max in one compare; 0 goes to mcx_alloc. */
    if (h != NULL && size - 1 < h->inline_max) {
        size_t need = (size + 15) & ~(size_t)15;
        char *o = h->bump;
        char *next = o + 16 + need;
        if ((uintptr_t)next <= (uintptr_t)h->inline_end) {
            /* (o - current) is a multiple of 16 below 4 GiB: << 28 puts it / 16 in the high half. */
            uint64_t w0 = (uint64_t)need | (uint64_t)(o - h->current) << 28;
            uint32_t magic = (h->obj_key ^ (uint32_t)((uintptr_t)o >> 4)) | MCX_OBJ_LIVE_BITS;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            uint64_t hdr[2] = {w0, (uint64_t)size | (uint64_t)magic << 32};
#else
            uint32_t hdr[4] = {(uint32_t)need, (uint32_t)(w0 >> 32), (uint32_t)size, magic};
#endif
            memcpy(o, hdr, sizeof hdr);
            h->bump = next;
            return o + 16;
        }
    }
#endif
    return mcx_alloc(ctx, size);
}

/* Allocate size zeroed bytes. */
MCX_API void *mcx_alloc_zero(mcx_context *ctx, size_t size);
/* Allocate with alignment align: a power of two from 1 to the page size (4096). */
MCX_API void *mcx_alloc_aligned(mcx_context *ctx, size_t size, size_t align);
/* Free one allocation; its memory is reused by later allocations of its context.
 * MCX_EINVAL for NULL, MCX_EFOREIGN for a pointer not from memctx, MCX_EFREED when detected.
 * In a release build, a pointer into a live chunk of a context is accepted at once and its header
 * checked a few frees later (its cache miss overlaps them): a double free, a stale or an interior
 * pointer found then is refused, nothing written, counted in the context's refused_frees and
 * reported by mcx_free_flush. */
MCX_API int mcx_free(void *ptr);
/* Check ctx's deferred frees now: the status of the first free refused since the last call
 * (MCX_EFREED, MCX_EFOREIGN), else MCX_OK. The checking build checks every free at once. */
MCX_API int mcx_free_flush(mcx_context *ctx);
/* Resize, keeping min(old, new) bytes. NULL + mcx_errno() on failure; ptr stays valid then. */
MCX_API void *mcx_realloc(void *ptr, size_t size);
/* Size of an allocation as requested (the last mcx_realloc size); 0 for a bad pointer. */
MCX_API size_t mcx_alloc_size(const void *ptr);
/* Context owning an allocation; NULL for a bad pointer. */
MCX_API mcx_context *mcx_context_of(const void *ptr);

/* Free everything allocated in ctx and delete its children; keep ctx and its first chunk. */
MCX_API int mcx_reset(mcx_context *ctx);
/* mcx_reset, then free ctx itself. Any pointer into it, or to it, is invalid afterwards. */
MCX_API int mcx_delete(mcx_context *ctx);
/* Move ctx under new_parent (NULL: make it a root). MCX_EINVAL if that would make a cycle. */
MCX_API int mcx_set_parent(mcx_context *ctx, mcx_context *new_parent);

typedef void (*mcx_reset_callback)(void *arg);
/* Run fn(arg) once at the next reset or delete of ctx: children's callbacks run first, then
 * ctx's own, last registered first. Callbacks must not use the context tree being reset. */
MCX_API int mcx_register_reset_callback(mcx_context *ctx, mcx_reset_callback fn, void *arg);

/* Navigation of the tree (NULL at the ends or for a NULL/invalid context). */
MCX_API mcx_context *mcx_parent(const mcx_context *ctx);
MCX_API mcx_context *mcx_first_child(const mcx_context *ctx);
MCX_API mcx_context *mcx_next_sibling(const mcx_context *ctx);
MCX_API const char *mcx_name(const mcx_context *ctx);

/* ---- spans: bump allocation done by the caller (the Node facade) ------------------------
 * A span is the free tail of a context's current process chunk, lent to a caller that bump-
 * allocates inside it on its own (the JS facade does, so that small allocations never cross
 * into C). The caller reports its progress with mcx_span_commit; C stays the authority on
 * chunks and its statistics stay true after each commit. While a span is lent, small C
 * allocations (mcx_alloc of sizes below the context's large threshold) must not be mixed into
 * the same context; large allocations, which get process chunks of their own, may. */
typedef struct mcx_span {
    void *chunk_data;     /* first usable byte of the current process chunk */
    size_t chunk_bytes;   /* usable bytes of the chunk from chunk_data */
    size_t offset;        /* bytes of the chunk already used, from chunk_data */
    uint32_t chunk_index; /* position of the chunk in the context's forwarding chain */
} mcx_span;

/* Make sure the current process chunk has min_bytes free from its offset (forwarding to a new
 * chunk of the doubled size, or larger, when it does not) and describe it. */
MCX_API int mcx_span_reserve(mcx_context *ctx, size_t min_bytes, mcx_span *out);
/* Record that the caller has used the current chunk up to offset (from chunk_data), and that
 * it now holds free_bytes of what it handed out on free lists of its own (a running figure, not
 * a delta; used for statistics). Call it before any other call on the context, and call
 * mcx_span_reserve again after one: C allocations (mcx_register_reset_callback included) bump
 * the same chunk. */
MCX_API int mcx_span_commit(mcx_context *ctx, size_t offset, size_t free_bytes);
/* Bytes above which an allocation in ctx gets a process chunk of its own. */
MCX_API size_t mcx_large_threshold(const mcx_context *ctx);

/* ---- holds ------------------------------------------------------------------------------
 * A hold keeps the memory around p mapped: the top chunk (or dedicated mapping) holding p is not
 * unmapped while it has holds, though its free parts may still be reused and decommitted. An
 * embedding whose users may write through stale pointers (the Node binding: native code can
 * outlive the JavaScript view it was given) holds what it lent until the last such view is gone,
 * so a stale write lands in mapped memory instead of crashing. MCX_EFOREIGN for memory memctx
 * did not map; mcx_unhold without a hold is MCX_EINVAL. Thread-safe. */
MCX_API int mcx_hold(const void *p);
MCX_API int mcx_unhold(const void *p);

/* ---- statistics ------------------------------------------------------------------------ */
/* Global statistics, defined once: X(field, camelName, description). All O(1) to read. */
#define MCX_GLOBAL_STATS_LIST(X)                                                           \
    X(mapped_bytes, "mappedBytes", "bytes currently mapped from the OS for top chunks")    \
    X(peak_mapped_bytes, "peakMappedBytes", "highest mapped_bytes reached")                \
    X(chunk_bytes, "chunkBytes", "bytes of top chunks handed out as process chunks")       \
    X(retained_bytes, "retainedBytes", "bytes of wholly free top chunks kept mapped")      \
    X(decommitted_bytes, "decommittedBytes", "free bytes returned with MADV_DONTNEED")     \
    X(meta_bytes, "metaBytes", "bytes mapped for bookkeeping (vector, page map)")          \
    X(top_chunk_count, "topChunkCount", "top chunks in the top-chunk vector")              \
    X(dedicated_count, "dedicatedCount", "top chunks holding one large allocation")        \
    X(context_count, "contextCount", "live memory contexts")                               \
    X(contexts_created, "contextsCreated", "memory contexts created since start")          \
    X(mmap_calls, "mmapCalls", "mmap calls made")                                          \
    X(munmap_calls, "munmapCalls", "munmap calls made")                                    \
    X(madvise_calls, "madviseCalls", "madvise(MADV_DONTNEED) calls made")                  \
    X(map_failures, "mapFailures", "mappings the OS (or fault injection) refused")         \
    X(released_bytes, "releasedBytes", "bytes given back to the OS since start")           \
    X(maintain_runs, "maintainRuns", "release passes run (timer, thread or allocation)")

/* The stats structs are used with their struct tags: the functions that fill them carry the
 * same names (mcx_global_stats, mcx_context_stats), which C keeps in a separate namespace. */
struct mcx_global_stats {
#define MCX_X_FIELD(field, camel, doc) uint64_t field;
    MCX_GLOBAL_STATS_LIST(MCX_X_FIELD)
#undef MCX_X_FIELD
};

MCX_API void mcx_global_stats(struct mcx_global_stats *out);
/* Bytes of the top chunks that are resident in RAM, measured with mincore (O(mapped pages)). A
 * top chunk that a release pass is unmapping at that moment is no longer counted, though its
 * pages may still be in the process's RSS for the length of the munmap. */
MCX_API uint64_t mcx_resident_bytes(void);

typedef struct mcx_top_info {
    uint64_t size;      /* bytes mapped */
    uint64_t used;      /* bytes handed out as process chunks (including bookkeeping) */
    uint64_t decommitted; /* free bytes returned with madvise */
    int dedicated;      /* 1 when it holds a single large allocation */
} mcx_top_info;

/* Copy up to cap entries: the top-chunk vector in order, then the dedicated mappings of large
 * allocations (dedicated = 1); *count gets the total. */
MCX_API int mcx_top_chunks(mcx_top_info *out, size_t cap, size_t *count);

struct mcx_context_stats {
    const char *name;
    uint64_t total_bytes; /* bytes of process chunks owned (chain + large) */
    uint64_t used_bytes;  /* bytes of live allocations, their headers and the chunk headers */
    uint64_t free_bytes;  /* total_bytes - used_bytes: free lists and unused chunk tails */
    uint64_t limit_bytes; /* 0 = none */
    uint64_t chunk_count; /* process chunks in the forwarding chain */
    uint64_t large_count; /* large allocations with a chunk of their own */
    uint64_t child_count;
    uint64_t refused_frees; /* frees refused when checked later (release build: see mcx_free) */
};

MCX_API int mcx_context_stats(const mcx_context *ctx, struct mcx_context_stats *out);

typedef struct mcx_chunk_info {
    uint64_t size; /* bytes of the process chunk */
    uint64_t used; /* bytes bumped so far (header included) */
} mcx_chunk_info;

/* The process chunks of ctx in forwarding order (first chunk first); *count gets the total. */
MCX_API int mcx_context_chunks(const mcx_context *ctx, mcx_chunk_info *out, size_t cap,
                               size_t *count);

/* ---- release ----------------------------------------------------------------------------- */
/* Run the decay now: release what has been idle for decay_ms (beyond retain_bytes for whole top
 * chunks). now_ms: a CLOCK_MONOTONIC reading in ms, or 0 for "now". Returns bytes released. */
MCX_API uint64_t mcx_maintain(uint64_t now_ms);
/* Release everything releasable at once, ignoring decay and the retained budget. */
MCX_API uint64_t mcx_trim(void);
/* CLOCK_MONOTONIC in milliseconds, the clock mcx_maintain uses. */
MCX_API uint64_t mcx_now_ms(void);

/* ---- checking ---------------------------------------------------------------------------- */
/* Walk the top layer and, when root is not NULL, the tree under root, verifying every
 * invariant (and, in the checking build, every sentinel). MCX_OK or MCX_ECORRUPT. */
MCX_API int mcx_check(const mcx_context *root);
/* 1 when built with MEMCTX_CHECKING (sentinels, wiping, deleted-context detection). */
MCX_API int mcx_checking_enabled(void);

/* ---- testing hooks -------------------------------------------------------------------------- */
/* Make the nth mapping call from now fail (1 = the next one); nth = 0 turns injection off.
 * sticky != 0 makes every mapping from the nth on fail, until mcx_fault_inject(0, 0). */
MCX_API void mcx_fault_inject(unsigned nth, unsigned sticky);
/* Number of mapping calls failed by injection since start. */
MCX_API uint64_t mcx_faults_injected(void);

#ifdef __cplusplus
}
#endif

#endif /* MEMCTX_H */
