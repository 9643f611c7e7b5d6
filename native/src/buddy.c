/* buddy.c - carving process chunks out of one top chunk: a binary buddy allocator over 4 KiB
 * blocks. Power-of-two runs suit the seed's doubling, and a freed run merges with its free buddy
 * in O(log n). The bookkeeping lives out of band (per-block arrays in the top chunk's first
 * blocks), so free runs are never written to: a run given back with madvise stays unfaulted
 * until it is handed out again. Called with the top lock held. */
#include "internal.h"

#include "debug.h"

static size_t header_bytes(void) { return mcxi_align_up(sizeof(mcxi_top), 64); }

size_t mcxi_buddy_meta_bytes(size_t top_size) {
    size_t nblocks = top_size >> MCXI_BLOCK_SHIFT;
    size_t raw = header_bytes() + 2 * mcxi_align_up(nblocks, 8) +
                 nblocks * (sizeof(uint64_t) + 2 * sizeof(uint32_t) + sizeof(mcx_context *));
    size_t blocks = (raw + MCXI_BLOCK - 1) >> MCXI_BLOCK_SHIFT;
    return MCXI_BLOCK * mcxi_pow2_ceil(blocks);
}

static void list_push(mcxi_top *t, unsigned k, uint32_t b) {
    uint32_t head = t->free_head[k];
    t->link_prev[b] = MCXI_NIL;
    t->link_next[b] = head;
    if (head != MCXI_NIL) t->link_prev[head] = b;
    else t->free_tail[k] = b;
    t->free_head[k] = b;
    t->free_mask |= 1u << k;
}

/* At the end of the list: taken only once every other free run of its size here is. */
static void list_append(mcxi_top *t, unsigned k, uint32_t b) {
    uint32_t tail = t->free_tail[k];
    t->link_next[b] = MCXI_NIL;
    t->link_prev[b] = tail;
    if (tail != MCXI_NIL) t->link_next[tail] = b;
    else t->free_head[k] = b;
    t->free_tail[k] = b;
    t->free_mask |= 1u << k;
}

static void list_remove(mcxi_top *t, unsigned k, uint32_t b) {
    uint32_t prev = t->link_prev[b], next = t->link_next[b];
    if (prev != MCXI_NIL) t->link_next[prev] = next;
    else t->free_head[k] = next;
    if (next != MCXI_NIL) t->link_prev[next] = prev;
    else t->free_tail[k] = prev;
    if (t->free_head[k] == MCXI_NIL) t->free_mask &= ~(1u << k);
}

static void decommitted_sub(mcxi_top *t, size_t bytes) {
    t->decommitted_bytes -= bytes;
    mcxi_g.decommitted_bytes -= bytes;
}

/* Lay out the bookkeeping in the top chunk's first blocks and mark the rest as one free run. */
void mcxi_buddy_init(mcxi_top *t, uint64_t now_ms) {
    size_t nblocks = t->size >> MCXI_BLOCK_SHIFT;
    char *p = t->base + header_bytes();
    t->nblocks = (uint32_t)nblocks;
    t->order = mcxi_log2_floor(nblocks);
    t->state = (uint8_t *)p;
    p += mcxi_align_up(nblocks, 8);
    t->dirty = (uint8_t *)p; /* a fresh mapping reads as zeros: every run starts clean */
    p += mcxi_align_up(nblocks, 8);
    t->freed_ms = (uint64_t *)p;
    p += nblocks * sizeof(uint64_t);
    t->link_next = (uint32_t *)p;
    p += nblocks * sizeof(uint32_t);
    t->link_prev = (uint32_t *)p;
    p += nblocks * sizeof(uint32_t);
    t->owner = (mcx_context **)p; /* 8-aligned (two uint32 per block before it); zeros: no owner */
    for (unsigned k = 0; k <= MCXI_MAX_ORDER; k++) t->free_head[k] = t->free_tail[k] = MCXI_NIL;
    t->free_mask = 0;
    t->state[0] = (uint8_t)(MCXI_B_FREE | t->order);
    t->freed_ms[0] = now_ms;
    list_push(t, t->order, 0);
    size_t meta = mcxi_buddy_meta_bytes(t->size);
    uint32_t b = mcxi_buddy_alloc(t, mcxi_log2_floor(meta >> MCXI_BLOCK_SHIFT), NULL);
    (void)b; /* always block 0: the lowest half is kept at every split */
    t->meta_bytes = meta;
    t->used_bytes = meta;
}

/* Take the first free run of order k and split it down to order. */
static uint32_t take_run(mcxi_top *t, unsigned k, unsigned order, bool *dirty) {
    uint32_t b = t->free_head[k];
    list_remove(t, k, b);
    uint8_t dec = t->state[b] & MCXI_B_DECOMMITTED;
    uint8_t dirt = dec ? 0 : t->dirty[b];
    uint64_t freed = t->freed_ms[b];
    while (k > order) {
        k--;
        uint32_t buddy = b + (1u << k);
        t->state[buddy] = (uint8_t)(MCXI_B_FREE | dec | k);
        t->freed_ms[buddy] = freed;
        t->dirty[buddy] = dirt;
        list_push(t, k, buddy);
    }
    t->state[b] = (uint8_t)(MCXI_B_ALLOC | order);
    t->dirty[b] = 0;
    if (dec) decommitted_sub(t, MCXI_BLOCK << order);
    if (dirty) *dirty = (dirt & MCXI_RUN_DIRTY) != 0;
    return b;
}

uint32_t mcxi_buddy_alloc(mcxi_top *t, unsigned order, bool *dirty) {
    if (order > t->order) return MCXI_NIL;
    uint32_t avail = t->free_mask >> order;
    if (avail == 0) return MCXI_NIL;
    return take_run(t, order + (unsigned)__builtin_ctz(avail), order, dirty);
}

uint32_t mcxi_buddy_alloc_used(mcxi_top *t, unsigned k, unsigned order, bool *dirty) {
    if (k > t->order || order > k || !mcxi_buddy_used_run(t, k)) return MCXI_NIL;
    return take_run(t, k, order, dirty);
}

/* Merge the run of order k at *b (its state already cleared) with its free buddies, upwards:
 * each leaves its list, and its given-back bytes leave the figures. Returns the merged order;
 * *dirt gathers the resident buddies' bits, *all_given_back stays true only while every buddy
 * was given back, and *freed_ms (when not NULL) becomes the latest free time among them. */
static unsigned merge_buddies(mcxi_top *t, uint32_t *b, unsigned k, uint8_t *dirt, bool *all_given_back, uint64_t *freed_ms) {
    while (k < t->order) {
        uint32_t buddy = *b ^ (1u << k);
        uint8_t s = t->state[buddy];
        if (!(s & MCXI_B_FREE) || (s & MCXI_B_ORDER) != k) break;
        list_remove(t, k, buddy);
        if (s & MCXI_B_DECOMMITTED) {
            decommitted_sub(t, MCXI_BLOCK << k);
        } else {
            *all_given_back = false;
            *dirt |= t->dirty[buddy];
        }
        if (freed_ms && t->freed_ms[buddy] > *freed_ms) *freed_ms = t->freed_ms[buddy];
        t->state[buddy] = 0;
        t->dirty[buddy] = 0;
        *b &= ~(1u << k);
        k++;
    }
    return k;
}

/* Free the run at b, merged with its free buddies; at_end: file it after the other free runs of
 * its size (see mcxi_buddy_trim). The merged run holds freshly freed, resident pages: it is
 * madvised again as a whole when it has been idle long enough, so the buddies' given-back state
 * is dropped. */
static void buddy_free(mcxi_top *t, uint32_t b, uint64_t now_ms, bool zeroed, bool at_end) {
    unsigned k = t->state[b] & MCXI_B_ORDER;
    uint8_t dirt = (uint8_t)(MCXI_RUN_USED | (zeroed ? 0u : MCXI_RUN_DIRTY));
    bool all_given_back = true;
    t->state[b] = 0;
    k = merge_buddies(t, &b, k, &dirt, &all_given_back, NULL);
    t->state[b] = (uint8_t)(MCXI_B_FREE | k);
    t->freed_ms[b] = now_ms;
    t->dirty[b] = dirt;
    if (at_end) list_append(t, k, b);
    else list_push(t, k, b);
}

void mcxi_buddy_free(mcxi_top *t, uint32_t b, uint64_t now_ms, bool zeroed) { buddy_free(t, b, now_ms, zeroed, false); }

size_t mcxi_buddy_trim(mcxi_top *t, uint32_t b, uint32_t keep, uint64_t now_ms, bool zeroed) {
    /* The chunk's blocks: its pieces from b on, the first without MCXI_B_CONT. */
    uint32_t end = b + (1u << (t->state[b] & MCXI_B_ORDER));
    while (end < t->nblocks && (t->state[end] & (MCXI_B_ALLOC | MCXI_B_CONT)) == (MCXI_B_ALLOC | MCXI_B_CONT))
        end += 1u << (t->state[end] & MCXI_B_ORDER);
    if (keep == 0 || b + keep >= end) return 0;
    /* The pieces a chunk of n blocks is made of: its length's binary decomposition, largest
     * first, so each piece starts at a multiple of its size (the chunk's start is aligned to its
     * first piece's, at least). */
    for (uint32_t p = b; p < end;) {
        unsigned k = t->state[p] & MCXI_B_ORDER;
        t->state[p] = 0;
        p += 1u << k;
    }
    uint32_t p = b;
    for (unsigned k = 31; p < b + keep; k--) {
        if (!((keep >> k) & 1u)) continue;
        t->state[p] = (uint8_t)(MCXI_B_ALLOC | (p == b ? 0u : MCXI_B_CONT) | k);
        p += 1u << k;
    }
    /* The rest: the largest aligned runs that fit, each freed (they are each other's non-buddies
     * or already whole, so none merges with another piece of the tail). They go to the end of
     * their free lists: left alone, they merge back into the whole run when the chunk is freed,
     * instead of splitting it between two owners (on the ramp workload, filing them first left
     * 7 MiB more of free resident runs too small for the next sessions' chunks at its peak). */
    size_t freed = 0;
    while (p < end) {
        unsigned k = p ? (unsigned)__builtin_ctz(p) : t->order;
        while (p + (1u << k) > end) k--;
        t->state[p] = (uint8_t)(MCXI_B_ALLOC | k);
        buddy_free(t, p, now_ms, zeroed, true);
        freed += MCXI_BLOCK << k;
        p += 1u << k;
    }
    return freed;
}

size_t mcxi_buddy_release_take(mcxi_top *t, uint64_t cutoff_ms, uint64_t small_cutoff_ms, uint64_t *keep_bytes,
                               mcxi_release_run *out, size_t cap) {
    size_t n = 0;
    for (unsigned k = t->order + 1; k-- > 0 && n < cap;) {
        uint64_t cut = k < MCXI_DECOMMIT_MIN_ORDER ? small_cutoff_ms : cutoff_ms;
        size_t bytes = MCXI_BLOCK << k;
        for (uint32_t b = t->free_head[k], next; b != MCXI_NIL && n < cap; b = next) {
            next = t->link_next[b];
            if (t->state[b] & MCXI_B_DECOMMITTED) continue;
            if (t->freed_ms[b] > cut) continue;
            if ((t->dirty[b] & MCXI_RUN_USED) && bytes <= *keep_bytes) {
                *keep_bytes -= bytes;
                continue;
            }
            out[n++] = (mcxi_release_run){t, t->freed_ms[b], b, (uint8_t)k, t->dirty[b]};
            list_remove(t, k, b);
            t->state[b] = (uint8_t)(MCXI_B_ALLOC | k);
            t->dirty[b] = MCXI_RUN_RELEASING;
            t->releasing_bytes += bytes;
        }
    }
    return n;
}

void mcxi_buddy_release_put(const mcxi_release_run *r, bool decommitted) {
    mcxi_top *t = r->top;
    uint32_t b = r->block;
    unsigned k = r->order;
    t->releasing_bytes -= MCXI_BLOCK << k;
    uint8_t dirt = decommitted ? 0 : r->dirty;
    uint64_t freed = r->freed_ms;
    /* Merged with free buddies, as a free would. The whole run counts as given back only when
     * every part of it was; it keeps the latest free time of its parts, so a part freed recently
     * is not madvised before its own decay. */
    bool dec = decommitted;
    t->state[b] = 0;
    t->dirty[b] = 0;
    k = merge_buddies(t, &b, k, &dirt, &dec, &freed);
    if (!dec && decommitted) dirt |= MCXI_RUN_USED; /* part of it is resident again */
    t->state[b] = (uint8_t)(MCXI_B_FREE | (dec ? MCXI_B_DECOMMITTED : 0u) | k);
    t->freed_ms[b] = freed;
    t->dirty[b] = dec ? 0 : dirt;
    if (dec) {
        t->decommitted_bytes += MCXI_BLOCK << k;
        mcxi_g.decommitted_bytes += MCXI_BLOCK << k;
    }
    /* A given-back run goes after the resident ones of its size: those are taken first. */
    if (dec) list_append(t, k, b);
    else list_push(t, k, b);
}

uint64_t mcxi_buddy_recent_bytes(const mcxi_top *t, uint64_t cutoff_ms) {
    uint64_t bytes = 0;
    for (unsigned k = 0; k <= t->order; k++)
        for (uint32_t b = t->free_head[k]; b != MCXI_NIL; b = t->link_next[b])
            if (!(t->state[b] & MCXI_B_DECOMMITTED) && (t->dirty[b] & MCXI_RUN_USED) && t->freed_ms[b] > cutoff_ms)
                bytes += MCXI_BLOCK << k;
    return bytes;
}

/* Verify the tiling of blocks, the free lists, the mask and the byte counts. */
int mcxi_buddy_check(const mcxi_top *t) {
    size_t used = 0, decommitted = 0, releasing = 0;
    uint32_t free_count[MCXI_MAX_ORDER + 1] = {0};
    uint32_t b = 0, prev_run = 0;
    while (b < t->nblocks) {
        uint8_t s = t->state[b];
        unsigned k = s & MCXI_B_ORDER;
        if (!(s & (MCXI_B_FREE | MCXI_B_ALLOC)) || ((s & MCXI_B_FREE) && (s & MCXI_B_ALLOC))) return MCX_ECORRUPT;
        if (k > t->order || (b & ((1u << k) - 1)) != 0 || b + (1u << k) > t->nblocks) return MCX_ECORRUPT;
        for (uint32_t i = b + 1; i < b + (1u << k); i++)
            if (t->state[i] != 0) return MCX_ECORRUPT;
        if ((s & MCXI_B_ALLOC) && (t->dirty[b] & MCXI_RUN_RELEASING)) {
            releasing += MCXI_BLOCK << k;
        } else if (s & MCXI_B_ALLOC) {
            used += MCXI_BLOCK << k;
            /* A trimmed chunk's later piece follows a piece at least twice its size. */
            if ((s & MCXI_B_CONT) && (b == 0 || !(t->state[prev_run] & MCXI_B_ALLOC) ||
                                      (t->state[prev_run] & MCXI_B_ORDER) <= k))
                return MCX_ECORRUPT;
        } else {
            free_count[k]++;
            for (uint32_t i = b; i < b + (1u << k); i++)
                if (t->owner[i] != NULL) return MCX_ECORRUPT; /* no context owns a free run */
            if (s & MCXI_B_DECOMMITTED) decommitted += MCXI_BLOCK << k;
            if (k < t->order) {
                uint8_t bs = t->state[b ^ (1u << k)];
                if ((bs & MCXI_B_FREE) && (bs & MCXI_B_ORDER) == k) return MCX_ECORRUPT; /* unmerged */
            }
        }
        prev_run = b;
        b += 1u << k;
    }
    if (used != t->used_bytes || decommitted != t->decommitted_bytes || releasing != t->releasing_bytes) return MCX_ECORRUPT;
    for (unsigned k = 0; k <= MCXI_MAX_ORDER; k++) {
        uint32_t n = 0, prev = MCXI_NIL;
        for (uint32_t i = t->free_head[k]; i != MCXI_NIL; i = t->link_next[i]) {
            if (i >= t->nblocks || !(t->state[i] & MCXI_B_FREE) || (t->state[i] & MCXI_B_ORDER) != k) return MCX_ECORRUPT;
            if (t->link_prev[i] != prev || ++n > free_count[k]) return MCX_ECORRUPT;
            prev = i;
        }
        if (n != free_count[k]) return MCX_ECORRUPT;
        if (((t->free_mask >> k) & 1u) != (n > 0)) return MCX_ECORRUPT;
    }
    return MCX_OK;
}
