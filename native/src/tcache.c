/* tcache.c - the per-thread cache of free process chunks: a context created, grown and deleted on
 * one thread takes its chunks from here and gives them back here, so the common request pattern
 * (create, allocate, delete) takes neither the top layer's lock nor the clock. Like APR's
 * allocator free lists and PostgreSQL's freelists of deleted contexts, but bounded per thread
 * (MCXI_TCACHE_BYTES) and released by the release policy: the pass drains a thread's cache once
 * it has not been used for decay_ms, mcx_trim drains every cache, and a thread that exits drains
 * its own. Each cache has a small lock that only its thread and the release pass take (never
 * while the thread holds the top lock), so it is uncontended in practice. Entry points:
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
    _Atomic int busy;               /* the lock: its thread, or the release pass */
    bool registered;
    cached *heads[MCXI_TCACHE_ORDERS]; /* by order: 4 KiB << k */
    size_t bytes;
    uint64_t uses;                  /* takes and puts, to tell an idle cache from a busy one */
    uint64_t seen_uses;             /* uses at the last pass (under the top lock) */
    uint64_t idle_since_ms;         /* first pass that saw it unused; 0: used since */
    struct mcxi_tcache *next, *prev; /* registered caches (under the top lock) */
} mcxi_tcache;

static _Thread_local mcxi_tcache tc;
static mcxi_tcache *caches; /* under the top lock */
static pthread_key_t exit_key;
static bool exit_key_ready;

static inline void cache_lock(mcxi_tcache *c) {
    while (atomic_exchange_explicit(&c->busy, 1, memory_order_acquire))
        while (atomic_load_explicit(&c->busy, memory_order_relaxed)) {
        }
}
static inline void cache_unlock(mcxi_tcache *c) { atomic_store_explicit(&c->busy, 0, memory_order_release); }

/* Give every chunk of c back to its top chunk as freed at freed_ms. Top lock and c's lock held. */
static uint64_t drain(mcxi_tcache *c, uint64_t freed_ms) {
    uint64_t bytes = 0;
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
    c->bytes = 0;
    return bytes;
}

static void thread_exit(void *arg) {
    mcxi_tcache *c = arg;
    mcxi_lock();
    cache_lock(c);
    drain(c, mcxi_os_now_ms());
    if (c->prev) c->prev->next = c->next;
    else caches = c->next;
    if (c->next) c->next->prev = c->prev;
    c->registered = false;
    cache_unlock(c);
    mcxi_unlock();
}

void mcxi_tcache_init(void) {
    if (pthread_key_create(&exit_key, thread_exit) == 0) exit_key_ready = true;
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

bool mcxi_tcache_take(size_t size, bool zeroed, void **out) {
    unsigned k = mcxi_log2_floor(size >> MCXI_BLOCK_SHIFT);
    if (k >= MCXI_TCACHE_ORDERS || !tc.registered) return false;
    cache_lock(&tc);
    cached *ch = tc.heads[k];
    if (ch) {
        tc.heads[k] = ch->next;
        tc.bytes -= size;
        tc.uses++;
    }
    cache_unlock(&tc);
    if (!ch) return false;
    MCXI_UNPOISON(ch, sizeof *ch);
    MCXI_VG_UNDEFINED(ch, sizeof *ch);
    if (zeroed) {
        if (ch->zeroed) {
            memset(ch, 0, sizeof *ch);
        } else {
            MCXI_UNPOISON(ch, size);
            MCXI_VG_UNDEFINED(ch, size);
            memset(ch, 0, size);
            MCXI_POISON(ch, size);
        }
    }
    *out = ch;
    return true;
}

bool mcxi_tcache_put(void *chunk, size_t size, bool zeroed) {
    unsigned k = mcxi_log2_floor(size >> MCXI_BLOCK_SHIFT);
    if (k >= MCXI_TCACHE_ORDERS || !ensure_registered()) return false;
    if (tc.bytes + size > MCXI_TCACHE_BYTES) return false;
    cached *ch = chunk;
    MCXI_UNPOISON(ch, sizeof *ch);
    MCXI_VG_UNDEFINED(ch, sizeof *ch);
    ch->zeroed = zeroed;
    cache_lock(&tc);
    ch->next = tc.heads[k];
    tc.heads[k] = ch;
    tc.bytes += size;
    tc.uses++;
    cache_unlock(&tc);
    return true;
}

uint64_t mcxi_tcache_drain_locked(uint64_t now_ms, uint64_t real_ms, uint64_t decay_ms, bool force) {
    uint64_t bytes = 0;
    for (mcxi_tcache *c = caches; c; c = c->next) {
        cache_lock(c);
        if (c->uses != c->seen_uses) {
            /* Used since the last pass: idle from now on the real clock, at the earliest. */
            c->seen_uses = c->uses;
            c->idle_since_ms = real_ms;
        }
        if (c->bytes && (force || now_ms >= c->idle_since_ms + decay_ms))
            bytes += drain(c, c->idle_since_ms < now_ms ? c->idle_since_ms : now_ms);
        cache_unlock(c);
    }
    return bytes;
}

uint64_t mcxi_tcache_bytes_locked(void) {
    uint64_t bytes = 0;
    for (mcxi_tcache *c = caches; c; c = c->next) {
        cache_lock(c);
        bytes += c->bytes;
        cache_unlock(c);
    }
    return bytes;
}

void mcxi_tcache_fork_prepare(void) {
    for (mcxi_tcache *c = caches; c; c = c->next) cache_lock(c);
}
void mcxi_tcache_fork_release(void) {
    for (mcxi_tcache *c = caches; c; c = c->next) cache_unlock(c);
}
