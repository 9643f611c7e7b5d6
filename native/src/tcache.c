/* tcache.c - the per-thread cache of free process chunks and deleted contexts: a context created,
 * grown and deleted on one thread takes its chunks (or a whole deleted context) from here and
 * gives them back here, so the common request pattern (create, allocate, delete) takes neither
 * the top layer's lock nor the clock. Like APR's
 * allocator free lists and PostgreSQL's freelists of deleted contexts, but bounded per thread
 * (MCXI_TCACHE_BYTES) and released by the release policy: the pass drains a thread's cache once
 * it has not been used for decay_ms, mcx_trim drains every cache, and a thread that exits drains
 * its own. Each cache has a small lock that its thread takes without an atomic read-modify-write
 * and the release pass (or fork, or the statistics) takes with a membarrier; the thread never
 * holds it while taking the top lock. Entry points:
 * mcxi_tcache_take, mcxi_tcache_put, mcxi_tcache_drain_locked. */
#include "internal.h"

#include "debug.h"

/* A cached chunk's first bytes: the link, and whether the rest of it is zero (a clean context
 * scrubbed it before giving it back). The link overwrites the chunk header's magic (a chunk is
 * 4 KiB-aligned, so no link equals it): a stale pointer into a cached chunk is refused. */
typedef struct cached {
    struct cached *next;
    uint64_t zeroed;
} cached;

typedef struct mcxi_tcache {
    _Atomic int busy;               /* its thread is in the cache (or: the lock, see below) */
    _Atomic int stop;               /* a release pass, fork or stats reader holds the cache */
    bool registered;
    cached *heads[MCXI_TCACHE_ORDERS]; /* by order: 4 KiB << k */
    cached *contexts;               /* deleted contexts (their keepers), newest first */
    _Atomic uint32_t context_count;
    /* Written by its thread only; read without the lock by the release pass and the statistics. */
    _Atomic size_t bytes;           /* chunks and deleted contexts */
    _Atomic uint64_t uses;          /* takes and puts, to tell an idle cache from a busy one */
    uint64_t seen_uses;             /* uses at the last pass (under the top lock) */
    uint64_t idle_since_ms;         /* first pass that saw it unused; 0: used since */
    struct mcxi_tcache *next, *prev; /* registered caches (under the top lock) */
    /* Contexts created and deleted by this thread: counted here, not in shared atomics (a locked
     * add per create and delete cost more than the rest of a request's bookkeeping). Written by
     * the thread only; read by mcx_global_stats. */
    _Atomic uint64_t created, deleted;
} mcxi_tcache;

static _Thread_local mcxi_tcache tc;
static mcxi_tcache *caches; /* under the top lock */
static uint64_t exited_created, exited_deleted; /* counts of threads that exited; top lock */
static pthread_key_t exit_key;
static bool exit_key_ready;

/* The cache's lock. Its own thread takes it on every create, grow and delete; others (the
 * release pass, fork, the statistics) rarely, and always under the top lock, so one at a time.
 * With the kernel's membarrier the thread's side is plain stores and loads (an atomic exchange
 * is a full barrier that drains the store buffer: the cache's operations took a quarter of the
 * child-request workload's time with it), and the rare side pays for both: it raises stop,
 * makes every thread of the process pass a memory barrier (mcxi_os_membarrier), then waits for
 * busy to fall. Either the thread sees stop and backs off, or the other side sees busy and waits
 * (Dekker's protocol with the barrier moved to one side). Without membarrier (older kernels,
 * valgrind) busy is an exchange lock for both sides. */
static bool asymmetric;

#define RELAXED_ADD(field, delta) \
    atomic_store_explicit(&(field), atomic_load_explicit(&(field), memory_order_relaxed) + (delta), memory_order_relaxed)

static __attribute__((noinline)) void own_lock_wait(mcxi_tcache *c) {
    if (!asymmetric) {
        do
            while (atomic_load_explicit(&c->busy, memory_order_relaxed)) {
            }
        while (atomic_exchange_explicit(&c->busy, 1, memory_order_acquire));
        return;
    }
    do {
        atomic_store_explicit(&c->busy, 0, memory_order_release);
        while (atomic_load_explicit(&c->stop, memory_order_acquire)) {
        }
        atomic_store_explicit(&c->busy, 1, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
    } while (atomic_load_explicit(&c->stop, memory_order_acquire));
}
/* The thread's own side (c is its cache). */
static inline void own_lock(mcxi_tcache *c) {
    if (MCXI_LIKELY(asymmetric)) {
        atomic_store_explicit(&c->busy, 1, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst); /* the other side's membarrier is the fence */
        if (MCXI_UNLIKELY(atomic_load_explicit(&c->stop, memory_order_acquire))) own_lock_wait(c);
    } else if (MCXI_UNLIKELY(atomic_exchange_explicit(&c->busy, 1, memory_order_acquire))) {
        own_lock_wait(c);
    }
}
static inline void own_unlock(mcxi_tcache *c) { atomic_store_explicit(&c->busy, 0, memory_order_release); }

/* The other side, for first alone or, when all, every cache from first on: one membarrier for
 * all of them. Top lock held. */
static void others_lock(mcxi_tcache *first, bool all) {
    if (!asymmetric) {
        for (mcxi_tcache *c = first; c; c = all ? c->next : NULL)
            while (atomic_exchange_explicit(&c->busy, 1, memory_order_acquire))
                while (atomic_load_explicit(&c->busy, memory_order_relaxed)) {
                }
        return;
    }
    for (mcxi_tcache *c = first; c; c = all ? c->next : NULL) atomic_store_explicit(&c->stop, 1, memory_order_relaxed);
    mcxi_os_membarrier();
    for (mcxi_tcache *c = first; c; c = all ? c->next : NULL)
        while (atomic_load_explicit(&c->busy, memory_order_acquire)) {
        }
}
static void others_unlock(mcxi_tcache *first, bool all) {
    for (mcxi_tcache *c = first; c; c = all ? c->next : NULL)
        atomic_store_explicit(asymmetric ? &c->stop : &c->busy, 0, memory_order_release);
}

/* Give a cached context's keeper back to its top chunk. A clean context's reset scrubbed what it
 * wrote beyond its own structure; that goes too, so the run returns wholly zero. */
static uint64_t drain_context(cached *e, uint64_t freed_ms) {
    mcxi_chunk *keeper = (mcxi_chunk *)(void *)e;
    size_t data = mcxi_ctx_data_offset();
    MCXI_UNPOISON(keeper, data);
    mcx_context *ctx = (mcx_context *)((char *)keeper + MCXI_CHUNK_HDR);
    size_t size = keeper->size;
    bool clean = (ctx->flags & MCX_CONTEXT_CLEAN) != 0;
    MCXI_VG_DESTROY_POOL(ctx);
    if (clean) memset(keeper, 0, data);
    mcxi_dbg_chunk_released(keeper, size, clean);
    mcxi_chunk_release_locked(keeper, clean, freed_ms);
    return size;
}

/* Give every chunk and context of c back to its top chunk as freed at freed_ms. Top lock and c's
 * lock held. */
static uint64_t drain(mcxi_tcache *c, uint64_t freed_ms) {
    uint64_t bytes = 0;
    while (c->contexts) {
        cached *e = c->contexts;
        MCXI_UNPOISON(e, sizeof *e);
        c->contexts = e->next;
        bytes += drain_context(e, freed_ms);
    }
    atomic_store_explicit(&c->context_count, 0, memory_order_relaxed);
    for (unsigned k = 0; k < MCXI_TCACHE_ORDERS; k++) {
        while (c->heads[k]) {
            cached *ch = c->heads[k];
            c->heads[k] = ch->next;
            bool zeroed = ch->zeroed != 0;
            if (zeroed) memset(ch, 0, sizeof *ch); /* the run goes back wholly zero */
            MCXI_POISON(ch, sizeof *ch);
            MCXI_VG_NOACCESS(ch, sizeof *ch);
            mcxi_chunk_release_locked(ch, zeroed, freed_ms);
            bytes += MCXI_BLOCK << k;
        }
    }
    atomic_store_explicit(&c->bytes, 0, memory_order_relaxed);
    return bytes;
}

static void thread_exit(void *arg) {
    mcxi_tcache *c = arg;
    mcxi_lock();
    own_lock(c); /* this is its thread */
    drain(c, mcxi_os_now_ms());
    exited_created += atomic_load_explicit(&c->created, memory_order_relaxed);
    exited_deleted += atomic_load_explicit(&c->deleted, memory_order_relaxed);
    atomic_store_explicit(&c->created, 0, memory_order_relaxed);
    atomic_store_explicit(&c->deleted, 0, memory_order_relaxed);
    if (c->prev) c->prev->next = c->next;
    else caches = c->next;
    if (c->next) c->next->prev = c->prev;
    c->registered = false;
    own_unlock(c);
    mcxi_unlock();
}

void mcxi_tcache_init(void) {
    if (pthread_key_create(&exit_key, thread_exit) == 0) exit_key_ready = true;
    asymmetric = mcxi_os_membarrier_register();
}

/* Enter this thread's cache in the list the release pass walks (once per thread). */
static bool ensure_registered(void) {
    if (MCXI_LIKELY(tc.registered)) return true;
    if (!exit_key_ready || pthread_setspecific(exit_key, &tc) != 0) return false;
    mcxi_lock();
    tc.next = caches;
    tc.prev = NULL;
    if (caches) caches->prev = &tc;
    caches = &tc;
    tc.registered = true;
    mcxi_unlock();
    return true;
}

uint64_t mcxi_tcache_context_created(void) {
    ensure_registered();
    uint64_t n = atomic_load_explicit(&tc.created, memory_order_relaxed) + 1;
    atomic_store_explicit(&tc.created, n, memory_order_relaxed);
    return n ^ ((uint64_t)(uintptr_t)&tc << 20); /* unique per live thread */
}

void mcxi_tcache_contexts_deleted(uint64_t n) {
    ensure_registered();
    atomic_store_explicit(&tc.deleted, atomic_load_explicit(&tc.deleted, memory_order_relaxed) + n, memory_order_relaxed);
}

void mcxi_tcache_context_counts_locked(uint64_t *created, uint64_t *live) {
    uint64_t c = exited_created, d = exited_deleted;
    for (mcxi_tcache *t = caches; t; t = t->next) {
        c += atomic_load_explicit(&t->created, memory_order_relaxed);
        d += atomic_load_explicit(&t->deleted, memory_order_relaxed);
    }
    *created = c;
    *live = c - d;
}

/* A taken chunk for a clean context: only the link to clear when it was scrubbed, else all of it.
 * Out of line: it keeps the common take free of a frame. */
static __attribute__((noinline)) bool take_zeroed(cached *ch, size_t size, void **out) {
    if (ch->zeroed) {
        memset(ch, 0, sizeof *ch);
    } else {
        MCXI_UNPOISON(ch, size);
        MCXI_VG_UNDEFINED(ch, size);
        memset(ch, 0, size);
        MCXI_POISON(ch, size);
    }
    *out = ch;
    return true;
}

/* The take with this thread's cache locked. */
static inline bool take_locked(unsigned k, size_t size, bool zeroed, void **out) {
    cached *ch = tc.heads[k];
    if (ch) {
        tc.heads[k] = ch->next;
        RELAXED_ADD(tc.bytes, -size);
        RELAXED_ADD(tc.uses, 1);
    }
    own_unlock(&tc);
    if (!ch) return false;
    MCXI_UNPOISON(ch, sizeof *ch);
    MCXI_VG_DEFINED(ch, sizeof *ch); /* written by mcxi_tcache_put */
    if (zeroed) return take_zeroed(ch, size, out);
    *out = ch;
    return true;
}

bool mcxi_tcache_take(size_t size, bool zeroed, void **out) {
    unsigned k = mcxi_log2_floor(size >> MCXI_BLOCK_SHIFT);
    if (k >= MCXI_TCACHE_ORDERS || !tc.registered) return false;
    own_lock(&tc);
    return take_locked(k, size, zeroed, out);
}

bool mcxi_tcache_put(void *chunk, size_t size, bool zeroed) {
    unsigned k = mcxi_log2_floor(size >> MCXI_BLOCK_SHIFT);
    if (k >= MCXI_TCACHE_ORDERS || atomic_load_explicit(&tc.bytes, memory_order_relaxed) + size > MCXI_TCACHE_BYTES ||
        MCXI_UNLIKELY(!tc.registered && !ensure_registered()))
        return false;
    cached *ch = chunk;
    MCXI_UNPOISON(ch, sizeof *ch);
    MCXI_VG_UNDEFINED(ch, sizeof *ch);
    ch->zeroed = zeroed;
    own_lock(&tc);
    ch->next = tc.heads[k];
    tc.heads[k] = ch;
    RELAXED_ADD(tc.bytes, size);
    RELAXED_ADD(tc.uses, 1);
    own_unlock(&tc);
    return true;
}

/* ---- deleted contexts ----------------------------------------------------------------------
 * A deleted context is reset (its keeper alone, scrubbed where it wrote when it is clean) and kept
 * here whole, as PostgreSQL keeps freelists of deleted contexts: the next create on this thread
 * with the same keeper size takes it back, with its structure and key already made when the
 * options are the same too.
 * Its keeper's first 16 bytes hold the link, over the chunk header's magic, so a stale pointer
 * into it is refused as with a cached chunk; the context's magic says deleted. */

bool mcxi_tcache_put_context(mcx_context *ctx) {
    size_t bytes = ctx->total_bytes;
    /* Its keeper alone, as a reset leaves it; anything else goes the ordinary way. */
    if (bytes != ctx->keeper->size || atomic_load_explicit(&tc.context_count, memory_order_relaxed) >= MCXI_TCACHE_CONTEXTS || bytes > (MCXI_BLOCK << (MCXI_TCACHE_ORDERS - 1)) ||
        atomic_load_explicit(&tc.bytes, memory_order_relaxed) + bytes > MCXI_TCACHE_BYTES || !ensure_registered())
        return false;
    cached *e = (cached *)(void *)ctx->keeper;
    e->zeroed = 0;
    /* Everything but the link is out of bounds until the context is taken back. */
    MCXI_POISON((char *)e + sizeof *e, mcxi_ctx_data_offset() - sizeof *e);
    own_lock(&tc);
    e->next = tc.contexts;
    tc.contexts = e;
    RELAXED_ADD(tc.context_count, 1u);
    RELAXED_ADD(tc.bytes, bytes);
    RELAXED_ADD(tc.uses, 1);
    own_unlock(&tc);
    atomic_store_explicit(&tc.deleted, atomic_load_explicit(&tc.deleted, memory_order_relaxed) + 1, memory_order_relaxed);
    return true;
}

mcx_context *mcxi_tcache_take_context(size_t keeper_size) {
    mcx_context *ctx = NULL;
    if (!tc.registered) return NULL;
    own_lock(&tc);
    cached *e = tc.contexts;
    /* The newest only: O(1), and a thread's creates mostly look alike (the others go back with
     * the cache's decay). */
    if (e) {
        MCXI_UNPOISON(e, mcxi_ctx_data_offset());
        mcx_context *c = (mcx_context *)((char *)e + MCXI_CHUNK_HDR);
        if (c->total_bytes == keeper_size) {
            tc.contexts = e->next;
            RELAXED_ADD(tc.context_count, (uint32_t)-1);
            RELAXED_ADD(tc.bytes, -keeper_size);
            RELAXED_ADD(tc.uses, 1);
            atomic_store_explicit(&tc.created, atomic_load_explicit(&tc.created, memory_order_relaxed) + 1, memory_order_relaxed);
            ctx = c;
        } else {
            MCXI_POISON((char *)e + sizeof *e, mcxi_ctx_data_offset() - sizeof *e);
        }
    }
    own_unlock(&tc);
    return ctx;
}

uint64_t mcxi_tcache_drain_locked(uint64_t now_ms, uint64_t real_ms, uint64_t decay_ms, bool force) {
    uint64_t bytes = 0;
    for (mcxi_tcache *c = caches; c; c = c->next) {
        uint64_t uses = atomic_load_explicit(&c->uses, memory_order_relaxed);
        if (uses != c->seen_uses) {
            /* Used since the last pass: idle from now on the real clock, at the earliest. */
            c->seen_uses = uses;
            c->idle_since_ms = real_ms;
        }
        if (atomic_load_explicit(&c->bytes, memory_order_relaxed) && (force || now_ms >= c->idle_since_ms + decay_ms)) {
            others_lock(c, false);
            bytes += drain(c, c->idle_since_ms < now_ms ? c->idle_since_ms : now_ms);
            others_unlock(c, false);
        }
    }
    return bytes;
}

uint64_t mcxi_tcache_bytes_locked(void) {
    uint64_t bytes = 0;
    for (mcxi_tcache *c = caches; c; c = c->next) bytes += atomic_load_explicit(&c->bytes, memory_order_relaxed);
    return bytes;
}

void mcxi_tcache_fork_prepare(void) { others_lock(caches, true); }
void mcxi_tcache_fork_release(void) { others_unlock(caches, true); }
void mcxi_tcache_fork_child(void) {
    others_unlock(caches, true);
    /* The child is a new process to the kernel: register again, or fall back to the exchange
     * lock (safe now: the child has this one thread, and every busy flag is down). */
    asymmetric = asymmetric && mcxi_os_membarrier_register();
}
