/* release.c - the release policy: giving memory back to the OS when traffic drops. Wholly free
 * top chunks are kept warm up to retain_bytes; beyond that, a top chunk idle for decay_ms is
 * unmapped (largest first). Free runs of 64 KiB or more inside top chunks that are still in use
 * are returned with madvise(MADV_DONTNEED) once idle for decay_ms, smaller ones once idle for
 * MCXI_DECOMMIT_SMALL_DECAYS x decay_ms. The pass runs on allocator calls (unless the background
 * thread runs), from mcx_maintain, from the optional background thread, and all at once from
 * mcx_trim. It chooses under the top lock and calls the OS without it. */
#include "internal.h"

#include <errno.h>
#include <time.h>

/* How often a pass is due: an eighth of the decay, so a range is released at most
 * 1.125 x decay_ms after it became idle (a pass is a walk of the vector and of the free lists:
 * microseconds, tens of them with thousands of small free runs). */
static uint64_t pass_interval_ms(void) {
    uint64_t iv = mcxi_g.config.decay_ms / 8;
    return iv < 1 ? 1 : iv;
}

void mcxi_demand_note_locked(uint64_t now_ms) {
    uint64_t decay = mcxi_g.config.decay_ms ? mcxi_g.config.decay_ms : 1;
    uint64_t start = now_ms - now_ms % decay;
    mcxi_demand *slot = &mcxi_g.demand[(now_ms / decay) % MCXI_DEMAND_DECAYS];
    if (slot->start_ms != start) {
        slot->start_ms = start;
        slot->peak_bytes = 0;
    }
    if (mcxi_g.chunk_bytes > slot->peak_bytes) slot->peak_bytes = mcxi_g.chunk_bytes;
    mcxi_g.last_take_ms = now_ms;
}

/* Free bytes to keep resident beyond what the decay keeps: the most chunk bytes in use over the
 * last MCXI_DEMAND_DECAYS decays less those in use now, while chunks are still being taken. */
static uint64_t demand_headroom(uint64_t now_ms) {
    uint64_t decay = mcxi_g.config.decay_ms ? mcxi_g.config.decay_ms : 1;
    if (now_ms > mcxi_g.last_take_ms + decay) return 0;
    uint64_t peak = 0;
    for (unsigned i = 0; i < MCXI_DEMAND_DECAYS; i++) {
        const mcxi_demand *slot = &mcxi_g.demand[i];
        if (slot->start_ms + MCXI_DEMAND_DECAYS * decay > now_ms && slot->peak_bytes > peak) peak = slot->peak_bytes;
    }
    return peak > mcxi_g.chunk_bytes ? peak - mcxi_g.chunk_bytes : 0;
}

/* The largest top chunk wholly free since cutoff_ms; *idle_bytes gets the bytes of all of them. A
 * top chunk with a run out for a pass's madvise is not wholly free until the run is back. */
static mcxi_top *largest_idle_empty(uint64_t cutoff_ms, uint64_t *idle_bytes) {
    mcxi_top *best = NULL;
    *idle_bytes = 0;
    for (size_t i = 0; i < mcxi_g.vec_len; i++) {
        mcxi_top *t = mcxi_g.vec[i];
        if (!t->empty_since_ms || t->empty_since_ms > cutoff_ms || t->releasing_bytes != 0 ||
            atomic_load_explicit(&t->holds, memory_order_acquire) > 0)
            continue;
        *idle_bytes += t->size;
        if (!best || t->size > best->size) best = t;
    }
    return best;
}

/* What one step of a pass gives back with the lock released: runs to madvise and top chunks to
 * unmap. A step that fills either continues in another (a forced pass until nothing is left, an
 * automatic one likewise: the OS calls are off the lock, so the length of a pass delays nobody). */
#define MCXI_RELEASE_RUNS 64u
#define MCXI_RELEASE_TOPS 16u

typedef struct release_step {
    mcxi_release_run runs[MCXI_RELEASE_RUNS];
    bool runs_done[MCXI_RELEASE_RUNS];
    mcxi_top_gone tops[MCXI_RELEASE_TOPS];
    bool tops_done[MCXI_RELEASE_TOPS];
    size_t nruns, ntops;
} release_step;

/* Choose what goes (top lock held); true when there may be more than one step holds. */
static bool choose_locked(release_step *st, uint64_t now_ms, bool force) {
    const mcx_config *cfg = &mcxi_g.config;
    uint64_t cutoff = force ? UINT64_MAX : (now_ms > cfg->decay_ms ? now_ms - cfg->decay_ms : 0);
    uint64_t small_decay_ms = (uint64_t)cfg->decay_ms * MCXI_DECOMMIT_SMALL_DECAYS;
    uint64_t small_cutoff = force ? UINT64_MAX : (now_ms > small_decay_ms ? now_ms - small_decay_ms : 0);
    uint64_t budget = force ? 0 : cfg->retain_bytes;
    st->nruns = st->ntops = 0;
    /* Only chunks idle for the decay count against the budget: counting one that has just
     * become free would release an idle one now and the new one later, leaving nothing kept. */
    for (;;) {
        uint64_t idle_bytes;
        mcxi_top *t = largest_idle_empty(cutoff, &idle_bytes);
        if (!t || idle_bytes <= budget) break;
        if (st->ntops == MCXI_RELEASE_TOPS) return true;
        mcxi_top_detach_locked(t, &st->tops[st->ntops++]);
    }
    /* Dedicated mappings the OS refused to unmap before (or freed while held), tried again. */
    st->ntops += mcxi_dedicated_take_locked(st->tops + st->ntops, MCXI_RELEASE_TOPS - st->ntops);
    if (st->ntops == MCXI_RELEASE_TOPS) return true;
    /* The demand headroom, kept in used free runs of the top chunks in use: runs freed within
     * the decay stay resident anyway and count towards it. */
    uint64_t keep = force ? 0 : demand_headroom(now_ms);
    for (size_t i = 0; i < mcxi_g.vec_len && keep > 0; i++) {
        uint64_t recent = mcxi_buddy_recent_bytes(mcxi_g.vec[i], cutoff);
        keep = recent < keep ? keep - recent : 0;
    }
    for (size_t i = 0; i < mcxi_g.vec_len; i++) {
        mcxi_top *t = mcxi_g.vec[i];
        /* Retained empty top chunks stay warm: they are the budget that prevents refault thrash.
         * A held one cannot be unmapped, so its idle runs are decommitted instead. */
        if (t->empty_since_ms == 0 || force || atomic_load_explicit(&t->holds, memory_order_acquire) > 0) {
            st->nruns += mcxi_buddy_release_take(t, cutoff, small_cutoff, &keep, st->runs + st->nruns, MCXI_RELEASE_RUNS - st->nruns);
            if (st->nruns == MCXI_RELEASE_RUNS) return true;
        }
    }
    return false;
}

uint64_t mcxi_release_pass(uint64_t now_ms, bool force, bool if_due) {
    release_step st; /* about 2.5 KiB */
    uint64_t released = 0;
    mcxi_lock();
    if (if_due && now_ms < atomic_load_explicit(&mcxi_g.next_maintain_ms, memory_order_relaxed)) {
        mcxi_unlock();
        return 0;
    }
    atomic_store_explicit(&mcxi_g.next_maintain_ms, now_ms + pass_interval_ms(), memory_order_relaxed);
    mcxi_g.maintain_runs++;
    /* Chunks cached by threads that stopped using them go back to their top chunks first, so
     * the rest of the pass can release what they pinned. */
    mcxi_tcache_drain_locked(now_ms, mcxi_os_now_ms(), mcxi_g.config.decay_ms, force);
    for (;;) {
        bool more = choose_locked(&st, now_ms, force);
        mcxi_unlock();
        for (size_t i = 0; i < st.nruns; i++) {
            const mcxi_release_run *r = &st.runs[i];
            char *p = r->top->base + ((size_t)r->block << MCXI_BLOCK_SHIFT);
            st.runs_done[i] = mcxi_os_decommit(p, MCXI_BLOCK << r->order) == MCX_OK;
        }
        for (size_t i = 0; i < st.ntops; i++) st.tops_done[i] = mcxi_os_unmap(st.tops[i].base, st.tops[i].size) == MCX_OK;
        mcxi_lock();
        for (size_t i = 0; i < st.nruns; i++) {
            mcxi_buddy_release_put(&st.runs[i], st.runs_done[i]);
            if (st.runs_done[i]) {
                released += MCXI_BLOCK << st.runs[i].order;
                mcxi_g.released_bytes += MCXI_BLOCK << st.runs[i].order;
            }
        }
        for (size_t i = 0; i < st.ntops; i++) {
            if (st.tops_done[i]) {
                released += st.tops[i].size;
                mcxi_g.released_bytes += st.tops[i].size;
            } else {
                /* The OS refused: it stays, and the next pass tries again. */
                mcxi_top_reattach_locked(&st.tops[i]);
                more = false;
            }
        }
        /* A failed madvise leaves its run as it was: the next pass tries again. */
        for (size_t i = 0; i < st.nruns; i++)
            if (!st.runs_done[i]) more = false;
        if (!more) break;
    }
    mcxi_unlock();
    return released;
}

void mcxi_maybe_maintain(uint64_t now_ms) {
    if (atomic_load_explicit(&mcxi_g.background, memory_order_relaxed)) return;
    if (now_ms < atomic_load_explicit(&mcxi_g.next_maintain_ms, memory_order_relaxed)) return;
    mcxi_release_pass(now_ms, false, true);
}

uint64_t mcx_maintain(uint64_t now_ms) {
    uint64_t real_ms = mcxi_os_now_ms();
    if (now_ms == 0) now_ms = real_ms;
    uint64_t released = mcxi_release_pass(now_ms, false, false);
    /* The next automatic pass is scheduled on the real clock: a caller's clock ahead of it (a
     * test, or another time base) must not switch the automatic passes off until it catches up. */
    mcxi_lock();
    if (atomic_load_explicit(&mcxi_g.next_maintain_ms, memory_order_relaxed) > real_ms + pass_interval_ms())
        atomic_store_explicit(&mcxi_g.next_maintain_ms, real_ms + pass_interval_ms(), memory_order_relaxed);
    mcxi_unlock();
    return released;
}

uint64_t mcx_trim(void) { return mcxi_release_pass(mcxi_os_now_ms(), true, false); }

uint64_t mcx_now_ms(void) { return mcxi_os_now_ms(); }

/* ---- the optional background thread ------------------------------------------------------ */

static pthread_mutex_t bg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bg_cond;
static pthread_t bg_thread;
static bool bg_running, bg_stop, bg_cond_ready;

static void *bg_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&bg_lock);
    while (!bg_stop) {
        mcxi_lock();
        uint64_t iv = pass_interval_ms();
        mcxi_unlock();
        if (iv > 1000) iv = 1000;
        if (iv < 5) iv = 5;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)(iv / 1000);
        ts.tv_nsec += (long)(iv % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        int rc = 0;
        while (!bg_stop && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&bg_cond, &bg_lock, &ts);
        if (bg_stop) break;
        pthread_mutex_unlock(&bg_lock);
        mcx_maintain(0);
        pthread_mutex_lock(&bg_lock);
    }
    pthread_mutex_unlock(&bg_lock);
    return NULL;
}

void mcxi_background_fork_prepare(void) { pthread_mutex_lock(&bg_lock); }
void mcxi_background_fork_parent(void) { pthread_mutex_unlock(&bg_lock); }
void mcxi_background_fork_child(void) {
    bg_running = false;
    atomic_store(&mcxi_g.background, false);
    bg_stop = false;
    if (bg_cond_ready) {
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&bg_cond, &attr);
        pthread_condattr_destroy(&attr);
    }
    pthread_mutex_unlock(&bg_lock);
}

int mcxi_background_apply(int enable) {
    int st = MCX_OK;
    pthread_mutex_lock(&bg_lock);
    if (!bg_cond_ready) {
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&bg_cond, &attr);
        pthread_condattr_destroy(&attr);
        bg_cond_ready = true;
    }
    if (enable && !bg_running) {
        bg_stop = false;
        if (pthread_create(&bg_thread, NULL, bg_main, NULL) == 0) bg_running = true;
        else st = MCX_ENOMEM;
        atomic_store(&mcxi_g.background, bg_running);
        pthread_mutex_unlock(&bg_lock);
    } else if (!enable && bg_running) {
        bg_stop = true;
        pthread_cond_signal(&bg_cond);
        pthread_mutex_unlock(&bg_lock);
        pthread_join(bg_thread, NULL);
        pthread_mutex_lock(&bg_lock);
        bg_running = false;
        atomic_store(&mcxi_g.background, false);
        pthread_mutex_unlock(&bg_lock);
    } else {
        pthread_mutex_unlock(&bg_lock);
    }
    return st;
}
