/* top.c - the top-chunk layer: the top-chunk vector (the seed's TOP_MEM_CHUNK_VEC), growth by
 * doubling, handing process chunks to contexts and taking them back, dedicated mappings for
 * large chunks, configuration, and the global statistics. Everything here runs under one mutex:
 * it is the only state shared between threads. Entry points: mcxi_chunk_acquire/release. */
#include "internal.h"

#include "debug.h"

mcxi_global mcxi_g = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .config = {MCXI_DEFAULT_TOP, MCXI_DEFAULT_MAX_TOP, MCXI_DEFAULT_RETAIN, MCXI_DEFAULT_DECAY_MS, 0},
};

void mcxi_lock(void) { pthread_mutex_lock(&mcxi_g.lock); }
void mcxi_unlock(void) { pthread_mutex_unlock(&mcxi_g.lock); }

static void mapped_add(size_t bytes) {
    mcxi_g.mapped_bytes += bytes;
    if (mcxi_g.mapped_bytes > mcxi_g.peak_mapped_bytes) mcxi_g.peak_mapped_bytes = mcxi_g.mapped_bytes;
}

/* ---- the vector ------------------------------------------------------------------------------ */

/* Make room for one more entry; the vector's own storage is mapped, never malloc'd. */
static int vec_reserve(void) {
    if (mcxi_g.vec_len < mcxi_g.vec_cap) return MCX_OK;
    size_t cap = mcxi_g.vec_cap ? mcxi_g.vec_cap * 2 : 512;
    void *mem;
    int st = mcxi_os_map(cap * sizeof(mcxi_top *), 0, &mem);
    if (st != MCX_OK) return st;
    if (mcxi_g.vec) {
        memcpy(mem, mcxi_g.vec, mcxi_g.vec_len * sizeof(mcxi_top *));
        mcxi_os_unmap(mcxi_g.vec, mcxi_g.vec_cap * sizeof(mcxi_top *));
    }
    mcxi_g.vec_meta_bytes = cap * sizeof(mcxi_top *);
    mcxi_g.vec = mem;
    mcxi_g.vec_cap = cap;
    return MCX_OK;
}

static void vec_remove(mcxi_top *top) {
    for (size_t i = 0; i < mcxi_g.vec_len; i++) {
        if (mcxi_g.vec[i] == top) {
            memmove(&mcxi_g.vec[i], &mcxi_g.vec[i + 1], (mcxi_g.vec_len - i - 1) * sizeof(mcxi_top *));
            mcxi_g.vec_len--;
            return;
        }
    }
}

/* The seed's rule: a new top chunk is twice the previous one. "Previous" is the largest top
 * chunk still mapped, so after a spike has been released the size follows current demand
 * instead of the largest size ever reached. */
size_t mcxi_next_top_size_locked(size_t need) {
    size_t largest = 0;
    for (size_t i = 0; i < mcxi_g.vec_len; i++)
        if (mcxi_g.vec[i]->size > largest) largest = mcxi_g.vec[i]->size;
    size_t size = largest ? largest * 2 : mcxi_g.config.top_chunk_size;
    if (size < mcxi_g.config.top_chunk_size) size = mcxi_g.config.top_chunk_size;
    if (size > mcxi_g.config.max_top_chunk_size) size = mcxi_g.config.max_top_chunk_size;
    while (size < need + mcxi_buddy_meta_bytes(size) && size < MCXI_TOP_CEILING) size *= 2;
    return size;
}

/* Write a new mapping's header and enter it in the page map; on failure, give the mapping back
 * so that nothing is left half-registered. */
static int register_top(void *base, size_t size, uint32_t dedicated, mcxi_top **out) {
    mcxi_top *top = base;
    memset(top, 0, sizeof *top);
    top->magic = MCXI_TOP_MAGIC;
    top->dedicated = dedicated;
    top->base = base;
    top->size = size;
    int st = mcxi_pagemap_set(base, size, top);
    if (st != MCX_OK) {
        mcxi_pagemap_clear(base, size);
        mcxi_os_unmap(base, size);
        return st;
    }
    *out = top;
    return MCX_OK;
}

/* The smallest top chunk that holds need bytes next to its bookkeeping. */
static size_t smallest_top_size(size_t need) {
    size_t size = mcxi_g.config.top_chunk_size;
    while (size < need + mcxi_buddy_meta_bytes(size) && size < MCXI_TOP_CEILING) size *= 2;
    return size;
}

static int top_map_buddy(size_t need, mcxi_top **out) {
    size_t size = mcxi_next_top_size_locked(need);
    if (size < need + mcxi_buddy_meta_bytes(size)) return MCX_ENOMEM;
    int st = vec_reserve();
    if (st != MCX_OK) return st;
    void *base;
    st = mcxi_os_map(size, MCXI_GRANULE, &base);
    if (st != MCX_OK) {
        /* Near the address-space limit the doubled size may not fit where a smaller one does. */
        size_t smallest = smallest_top_size(need);
        if (smallest >= size) return st;
        size = smallest;
        st = mcxi_os_map(size, MCXI_GRANULE, &base);
        if (st != MCX_OK) return st;
    }
    mcxi_top *top;
    st = register_top(base, size, 0, &top);
    if (st != MCX_OK) return st;
    mcxi_buddy_init(top, mcxi_os_now_ms());
    MCXI_POISON(top->base + top->meta_bytes, size - top->meta_bytes);
    mcxi_g.vec[mcxi_g.vec_len++] = top;
    mcxi_g.top_chunk_count++;
    mapped_add(size);
    /* A new top chunk starts wholly free: it counts as retained until a chunk is carved. */
    top->empty_since_ms = mcxi_os_now_ms();
    mcxi_g.retained_bytes += size;
    *out = top;
    return MCX_OK;
}

static int map_dedicated(size_t bytes, void **out, size_t *got) {
    size_t size = mcxi_align_up(bytes + MCXI_BLOCK, MCXI_GRANULE);
    if (size < bytes) return MCX_ENOMEM;
    void *base;
    int st = mcxi_os_map(size, MCXI_GRANULE, &base);
    if (st != MCX_OK) return st;
    mcxi_top *top;
    st = register_top(base, size, 1, &top);
    if (st != MCX_OK) return st;
    top->meta_bytes = MCXI_BLOCK;
    top->used_bytes = size;
    top->dnext = mcxi_g.dedicated;
    if (mcxi_g.dedicated) mcxi_g.dedicated->dprev = top;
    mcxi_g.dedicated = top;
    mcxi_g.dedicated_count++;
    mapped_add(size);
    mcxi_g.chunk_bytes += size - MCXI_BLOCK;
    *out = top->base + MCXI_BLOCK;
    *got = size - MCXI_BLOCK;
    return MCX_OK;
}

/* A dedicated mapping whose allocation is freed, or that the OS refused to unmap, is a free one:
 * unmapped by a later release pass or its last unhold. */
static void keep_dedicated_free(mcxi_top *top) {
    if (top->dedicated && !top->empty_since_ms) {
        top->empty_since_ms = mcxi_os_now_ms() | 1u;
        mcxi_g.chunk_bytes -= top->size - MCXI_BLOCK;
    }
}

bool mcxi_dedicated_detach_locked(mcxi_top *top, mcxi_top_gone *gone) {
    keep_dedicated_free(top);
    if (atomic_load_explicit(&top->holds, memory_order_acquire) > 0) return false;
    *gone = (mcxi_top_gone){top, top->base, top->size, top->meta_bytes, 0, true};
    mcxi_pagemap_clear(top->base, top->size);
    if (top->dprev) top->dprev->dnext = top->dnext;
    else mcxi_g.dedicated = top->dnext;
    if (top->dnext) top->dnext->dprev = top->dprev;
    mcxi_g.dedicated_count--;
    mcxi_g.mapped_bytes -= top->size;
    /* ASan keeps shadow state per address: clear it, or a later mapping at this address (by
     * anyone) would look poisoned. */
    MCXI_UNPOISON(top->base, top->size);
    return true;
}

size_t mcxi_dedicated_take_locked(mcxi_top_gone *out, size_t cap) {
    size_t n = 0;
    for (mcxi_top *t = mcxi_g.dedicated, *next; t && n < cap; t = next) {
        next = t->dnext;
        if (t->empty_since_ms && mcxi_dedicated_detach_locked(t, &out[n])) n++;
    }
    return n;
}

void mcxi_top_detach_locked(mcxi_top *top, mcxi_top_gone *gone) {
    *gone = (mcxi_top_gone){top, top->base, top->size, top->meta_bytes, top->decommitted_bytes, false};
    mcxi_pagemap_clear(top->base, top->size);
    vec_remove(top);
    mcxi_g.top_chunk_count--;
    mcxi_g.decommitted_bytes -= top->decommitted_bytes;
    mcxi_g.retained_bytes -= top->size;
    mcxi_g.mapped_bytes -= top->size;
    MCXI_UNPOISON(top->base, top->size);
}

void mcxi_top_reattach_locked(const mcxi_top_gone *gone) {
    mcxi_top *t = gone->top;
    if (gone->dedicated) {
        /* The page map's leaves for the range still exist: entering it again cannot fail. */
        if (mcxi_pagemap_set(gone->base, gone->size, t) != MCX_OK) return;
        t->dprev = NULL;
        t->dnext = mcxi_g.dedicated;
        if (mcxi_g.dedicated) mcxi_g.dedicated->dprev = t;
        mcxi_g.dedicated = t;
        mcxi_g.dedicated_count++;
        mcxi_g.mapped_bytes += gone->size;
        return;
    }
    /* Its entry was freed just now: the vector has room unless another top chunk came
     * meanwhile, and the page map's leaves for the range still exist. Should either fail, the
     * mapping stays out of the figures rather than half registered. */
    if (vec_reserve() != MCX_OK || mcxi_pagemap_set(gone->base, gone->size, t) != MCX_OK) return;
    MCXI_POISON(gone->base + gone->meta_bytes, gone->size - gone->meta_bytes);
    mcxi_g.vec[mcxi_g.vec_len++] = t;
    mcxi_g.top_chunk_count++;
    mcxi_g.decommitted_bytes += gone->decommitted_bytes;
    mcxi_g.retained_bytes += gone->size;
    mcxi_g.mapped_bytes += gone->size;
}

void mcxi_top_unmap_gone(const mcxi_top_gone *gone) {
    bool unmapped = mcxi_os_unmap(gone->base, gone->size) == MCX_OK;
    mcxi_lock();
    if (unmapped) mcxi_g.released_bytes += gone->size;
    else mcxi_top_reattach_locked(gone);
    mcxi_unlock();
}

/* Give back one hold on a dedicated mapping, and count `released` bytes its holder gave back;
 * the last hold of a freed mapping unmaps it, without the lock. */
static int dedicated_unhold(mcxi_top *top, uint64_t released) {
    mcxi_top_gone gone;
    bool detached = false;
    mcxi_lock();
    mcxi_g.released_bytes += released;
    uint32_t n = atomic_load_explicit(&top->holds, memory_order_relaxed);
    if (n > 0) atomic_store_explicit(&top->holds, n - 1, memory_order_release);
    if (n == 1 && top->empty_since_ms) detached = mcxi_dedicated_detach_locked(top, &gone);
    mcxi_unlock();
    if (detached) mcxi_top_unmap_gone(&gone);
    return n > 0 ? MCX_OK : MCX_EINVAL;
}

/* A large allocation's dedicated mapping goes back to the OS as soon as it is freed, with the
 * lock released for the system call. Held (a Node ArrayBuffer over it not yet collected), it
 * stays mapped but its pages go back (a late writer faults in a zero page, not a signal; the
 * header block stays): under a hold of this call's own, so no last unhold unmaps it meanwhile. */
static void release_dedicated(mcxi_top *top) {
    mcxi_top_gone gone;
    mcxi_lock();
    bool detached = mcxi_dedicated_detach_locked(top, &gone);
    if (!detached) atomic_fetch_add_explicit(&top->holds, 1, memory_order_relaxed);
    mcxi_unlock();
    if (detached) {
        mcxi_top_unmap_gone(&gone);
        return;
    }
    size_t bytes = top->size - MCXI_BLOCK;
    bool decommitted = mcxi_os_decommit(top->base + MCXI_BLOCK, bytes) == MCX_OK;
    dedicated_unhold(top, decommitted ? bytes : 0);
}

/* ---- process chunks ---------------------------------------------------------------------------- */

int mcxi_chunk_acquire_top(size_t bytes, size_t min_bytes, bool large, bool zeroed, void **out, size_t *got) {
    *out = NULL;
    if (bytes < MCXI_CHUNK_MIN) bytes = MCXI_CHUNK_MIN;
    uint64_t now = mcxi_os_now_ms();
    mcxi_maybe_maintain(now);
    mcxi_lock();
    int st;
    if (large && bytes >= MCXI_DEDICATED_MIN) {
        st = map_dedicated(bytes, out, got);
        mcxi_unlock();
        return st;
    }
    size_t size = mcxi_pow2_ceil(bytes);
    unsigned order = mcxi_log2_floor(size >> MCXI_BLOCK_SHIFT);
    mcxi_top *top = NULL;
    uint32_t b = MCXI_NIL;
    bool dirty = false;
    /* A chain chunk may be smaller than asked, down to min_bytes: a smaller free run that waits
     * whole and was used before (largest first, older top chunks first) is taken before a run of
     * the size asked is looked for. Runs freed by contexts that are gone are resident and of the
     * sizes their chains had, not of the size the next context's doubling asks for; taking the
     * size asked instead took fresh pages while those stayed free (on the ramp workload: 52 MiB of
     * its peak). Runs never used (a fresh top chunk's) are split as the doubling asks. Taking a
     * whole run of the size asked from any top chunk first, too, made a context that frees
     * objects grow by a fifth more (test_alloc's churn_stays_bounded). */
    if (min_bytes && min_bytes < size) {
        unsigned min_order = mcxi_log2_floor(mcxi_pow2_ceil(min_bytes < MCXI_CHUNK_MIN ? MCXI_CHUNK_MIN : min_bytes) >> MCXI_BLOCK_SHIFT);
        for (unsigned k = order; k-- > min_order && b == MCXI_NIL;) {
            for (size_t i = 0; i < mcxi_g.vec_len; i++) {
                top = mcxi_g.vec[i];
                if (mcxi_buddy_used_run(top, k)) {
                    b = mcxi_buddy_alloc(top, k, &dirty);
                    order = k;
                    size = MCXI_BLOCK << k;
                    break;
                }
            }
        }
    }
    /* A used, still resident run (the most recently freed of its size in a top chunk) before
     * any other: splitting a fresh or given-back run faults its pages in again. */
    for (unsigned k = order; k <= MCXI_MAX_ORDER && b == MCXI_NIL; k++) {
        for (size_t i = 0; i < mcxi_g.vec_len; i++) {
            top = mcxi_g.vec[i];
            b = mcxi_buddy_alloc_used(top, k, order, &dirty);
            if (b != MCXI_NIL) break;
        }
    }
    /* First fit in vector order: older, smaller top chunks fill first, which lets the newest
     * and largest drain and be released when traffic drops. */
    for (size_t i = 0; i < mcxi_g.vec_len && b == MCXI_NIL; i++) {
        top = mcxi_g.vec[i];
        if ((top->free_mask >> order) != 0) b = mcxi_buddy_alloc(top, order, &dirty);
    }
    if (b == MCXI_NIL) {
        st = top_map_buddy(size, &top);
        if (st != MCX_OK) {
            mcxi_unlock();
            return st;
        }
        b = mcxi_buddy_alloc(top, order, &dirty);
    }
    if (top->empty_since_ms) {
        top->empty_since_ms = 0;
        mcxi_g.retained_bytes -= top->size;
    }
    top->used_bytes += size;
    mcxi_g.chunk_bytes += size;
    mcxi_demand_note_locked(now);
    mcxi_unlock();
    *out = top->base + ((size_t)b << MCXI_BLOCK_SHIFT);
    *got = size;
    if (zeroed && dirty) {
        /* Last used by a context that does not scrub: the whole run may hold its bytes. */
        MCXI_UNPOISON(*out, size);
        MCXI_VG_UNDEFINED(*out, size);
        memset(*out, 0, size);
        MCXI_POISON(*out, size);
    }
    return MCX_OK;
}

void mcxi_chunk_release_locked(void *chunk, bool zeroed, uint64_t freed_ms) {
    mcxi_top *top = mcxi_pagemap_get(chunk);
    uint32_t b = (uint32_t)(((char *)chunk - top->base) >> MCXI_BLOCK_SHIFT);
    size_t size = 0;
    /* Its pieces, when it was trimmed: each is read before the one before it is freed (a freed
     * piece merges only with free runs, never with the pieces still allocated). */
    do {
        unsigned k = top->state[b] & MCXI_B_ORDER;
        uint32_t next = b + (1u << k);
        mcxi_buddy_free(top, b, freed_ms, zeroed);
        size += MCXI_BLOCK << k;
        b = next;
    } while (b < top->nblocks && (top->state[b] & (MCXI_B_ALLOC | MCXI_B_CONT)) == (MCXI_B_ALLOC | MCXI_B_CONT));
    top->used_bytes -= size;
    mcxi_g.chunk_bytes -= size;
    if (top->used_bytes == top->meta_bytes) {
        top->empty_since_ms = freed_ms;
        mcxi_g.retained_bytes += top->size;
    }
}

void mcxi_chunk_set_owner(void *chunk, size_t size, mcx_context *owner) {
    mcxi_top *top = mcxi_pagemap_get(chunk);
    if (top->dedicated) return;
    size_t b = (size_t)((char *)chunk - top->base) >> MCXI_BLOCK_SHIFT;
    for (size_t i = b; i < b + (size >> MCXI_BLOCK_SHIFT); i++) top->owner[i] = owner;
}

void mcxi_chunk_release_top(void *chunk, bool zeroed) {
    mcxi_top *top = mcxi_pagemap_get(chunk);
    if (top->dedicated) {
        release_dedicated(top);
        return;
    }
    mcxi_lock();
    uint64_t now = mcxi_os_now_ms();
    mcxi_chunk_release_locked(chunk, zeroed, now);
    mcxi_unlock();
    mcxi_maybe_maintain(now);
}

void mcxi_chunk_trim_top(void *chunk, size_t keep, bool zeroed) {
    mcxi_top *top = mcxi_pagemap_get(chunk);
    mcxi_lock();
    uint64_t now = mcxi_os_now_ms();
    uint32_t b = (uint32_t)(((char *)chunk - top->base) >> MCXI_BLOCK_SHIFT);
    size_t freed = mcxi_buddy_trim(top, b, (uint32_t)(keep >> MCXI_BLOCK_SHIFT), now, zeroed);
    top->used_bytes -= freed;
    mcxi_g.chunk_bytes -= freed;
    mcxi_unlock();
    mcxi_maybe_maintain(now);
}

/* ---- holds ------------------------------------------------------------------------------------ */

/* The top chunk (or dedicated mapping) holding p, or NULL for memory memctx did not map. */
static mcxi_top *top_of(const void *p) {
    if (!p) return NULL;
    mcxi_top *top = mcxi_pagemap_get(p);
    if (!top || (const char *)p < top->base || (const char *)p >= top->base + top->size) return NULL;
    return top;
}

/* A hold is taken on memory a live context owns, so its top chunk cannot be unmapped meanwhile,
 * and the release pass reads the count under the lock: taking and giving back are lock-free. A
 * dedicated mapping is the exception on the way down: freed while held, it goes with the last
 * hold, so that decrement happens under the lock (no pass may unmap it between the two). */
int mcx_hold(const void *p) {
    mcxi_top *top = top_of(p);
    if (!top) return MCX_EFOREIGN;
    atomic_fetch_add_explicit(&top->holds, 1, memory_order_relaxed);
    return MCX_OK;
}

int mcx_unhold(const void *p) {
    mcxi_top *top = top_of(p);
    if (!top) return MCX_EFOREIGN;
    if (top->dedicated) return dedicated_unhold(top, 0);
    uint32_t n = atomic_load_explicit(&top->holds, memory_order_relaxed);
    do {
        if (n == 0) return MCX_EINVAL;
    } while (!atomic_compare_exchange_weak_explicit(&top->holds, &n, n - 1, memory_order_acq_rel, memory_order_relaxed));
    return MCX_OK;
}

bool mcxi_chunk_dedicated(const void *chunk) { return mcxi_pagemap_get(chunk)->dedicated != 0; }

bool mcxi_chunk_is_live(const mcxi_top *top, const void *p) {
    if (top->dedicated) return (const char *)p == top->base + MCXI_BLOCK;
    size_t off = (size_t)((const char *)p - top->base);
    if (off >= top->size || (off & (MCXI_BLOCK - 1)) != 0 || off < top->meta_bytes) return false;
    size_t b = off >> MCXI_BLOCK_SHIFT;
    return (top->state[b] & (MCXI_B_ALLOC | MCXI_B_CONT)) == MCXI_B_ALLOC && !(top->dirty[b] & MCXI_RUN_RELEASING);
}

/* ---- configuration and statistics ---------------------------------------------------------- */

void mcx_config_default(mcx_config *out) {
    if (!out) return;
    out->top_chunk_size = MCXI_DEFAULT_TOP;
    out->max_top_chunk_size = MCXI_DEFAULT_MAX_TOP;
    out->retain_bytes = MCXI_DEFAULT_RETAIN;
    out->decay_ms = MCXI_DEFAULT_DECAY_MS;
    out->background_thread = 0;
}

void mcx_config_get(mcx_config *out) {
    if (!out) return;
    mcxi_lock();
    *out = mcxi_g.config;
    mcxi_unlock();
}

static bool pow2(size_t n) { return n != 0 && (n & (n - 1)) == 0; }

/* Serialises mcx_configure: two callers must not both stop (join) the same background thread. */
static pthread_mutex_t configure_lock = PTHREAD_MUTEX_INITIALIZER;

/* fork() while another thread holds a lock would leave the child's copy locked forever: take
 * every lock before the fork (in the order the code takes them) and release them on both sides.
 * The child has no background thread: its configuration says so. */
static void fork_prepare(void) {
    pthread_mutex_lock(&configure_lock);
    mcxi_background_fork_prepare();
    mcxi_lock();
    mcxi_tcache_fork_prepare();
}
static void fork_parent(void) {
    mcxi_tcache_fork_release();
    mcxi_unlock();
    mcxi_background_fork_parent();
    pthread_mutex_unlock(&configure_lock);
}
static void fork_child(void) {
    mcxi_g.config.background_thread = 0;
    mcxi_tcache_fork_child();
    mcxi_unlock();
    mcxi_background_fork_child();
    pthread_mutex_unlock(&configure_lock);
}
__attribute__((constructor)) static void at_load(void) {
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    mcxi_tcache_init();
    mcxi_alloc_init();
}

int mcx_configure(const mcx_config *c) {
    if (!c) return MCX_EINVAL;
    if (!pow2(c->top_chunk_size) || c->top_chunk_size < MCXI_TOP_MIN || c->top_chunk_size > MCXI_TOP_CEILING)
        return MCX_EINVAL;
    if (!pow2(c->max_top_chunk_size) || c->max_top_chunk_size < c->top_chunk_size ||
        c->max_top_chunk_size > MCXI_TOP_CEILING)
        return MCX_EINVAL;
    if (c->decay_ms > MCX_DECAY_MAX_MS) return MCX_EINVAL;
    if (c->background_thread != 0 && c->background_thread != 1) return MCX_EINVAL;
    pthread_mutex_lock(&configure_lock);
    int st = mcxi_background_apply(c->background_thread);
    if (st == MCX_OK) {
        mcxi_lock();
        mcxi_g.config = *c;
        atomic_store_explicit(&mcxi_g.next_maintain_ms, 0, memory_order_relaxed); /* apply the new policy at the next opportunity */
        mcxi_unlock();
    }
    pthread_mutex_unlock(&configure_lock);
    return st;
}

void mcx_global_stats(struct mcx_global_stats *out) {
    if (!out) return;
    mcxi_lock();
    out->mapped_bytes = mcxi_g.mapped_bytes;
    out->peak_mapped_bytes = mcxi_g.peak_mapped_bytes;
    /* Chunks in the threads' caches are not any context's: they are reported as not handed out. */
    out->chunk_bytes = mcxi_g.chunk_bytes - mcxi_tcache_bytes_locked();
    out->retained_bytes = mcxi_g.retained_bytes;
    out->decommitted_bytes = mcxi_g.decommitted_bytes;
    out->meta_bytes = mcxi_g.vec_meta_bytes + mcxi_pagemap_meta_bytes();
    out->top_chunk_count = mcxi_g.top_chunk_count;
    out->dedicated_count = mcxi_g.dedicated_count;
    out->released_bytes = mcxi_g.released_bytes;
    out->maintain_runs = mcxi_g.maintain_runs;
    mcxi_tcache_context_counts_locked(&out->contexts_created, &out->context_count);
    mcxi_unlock();
    mcxi_os_counters(&out->mmap_calls, &out->munmap_calls, &out->madvise_calls, &out->map_failures);
}

uint64_t mcx_resident_bytes(void) {
    uint64_t resident = 0;
    mcxi_lock();
    for (size_t i = 0; i < mcxi_g.vec_len; i++)
        resident += mcxi_os_resident(mcxi_g.vec[i]->base, mcxi_g.vec[i]->size);
    for (mcxi_top *t = mcxi_g.dedicated; t; t = t->dnext) resident += mcxi_os_resident(t->base, t->size);
    mcxi_unlock();
    return resident;
}

static void top_info(const mcxi_top *t, mcx_top_info *out) {
    out->size = t->size;
    out->used = t->used_bytes;
    out->decommitted = t->decommitted_bytes;
    out->dedicated = (int)t->dedicated;
}

int mcx_top_chunks(mcx_top_info *out, size_t cap, size_t *count) {
    if (!count || (cap > 0 && !out)) return MCX_EINVAL;
    mcxi_lock();
    size_t n = 0;
    for (size_t i = 0; i < mcxi_g.vec_len; i++, n++)
        if (n < cap) top_info(mcxi_g.vec[i], &out[n]);
    for (mcxi_top *t = mcxi_g.dedicated; t; t = t->dnext, n++)
        if (n < cap) top_info(t, &out[n]);
    mcxi_unlock();
    *count = n;
    return MCX_OK;
}
