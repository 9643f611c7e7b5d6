/* check.c - mcx_check: walks the top layer and a context tree and verifies every invariant
 * (the buddy tiling and free lists, the global byte counts, tree links, forwarding chains,
 * object headers, free lists, used + free == total, and in the checking build each sentinel).
 * Tests call it after every step of their random runs. */
#include "internal.h"

#include "debug.h"

#define CHECK(cond)                     \
    do {                                \
        if (!(cond)) return MCX_ECORRUPT; \
    } while (0)

static int check_top_layer(void) {
    uint64_t mapped = 0, retained = 0, decommitted = 0, chunk_bytes = 0, dedicated = 0;
    for (size_t i = 0; i < mcxi_g.vec_len; i++) {
        const mcxi_top *t = mcxi_g.vec[i];
        CHECK(t->magic == MCXI_TOP_MAGIC && !t->dedicated && t->base == (const char *)t);
        CHECK(mcxi_pagemap_get(t->base) == t && mcxi_pagemap_get(t->base + t->size - 1) == t);
        CHECK(t->size == (MCXI_BLOCK << t->order));
        CHECK(mcxi_buddy_check(t) == MCX_OK);
        CHECK((t->empty_since_ms != 0) == (t->used_bytes == t->meta_bytes));
        mapped += t->size;
        if (t->empty_since_ms) retained += t->size;
        decommitted += t->decommitted_bytes;
        chunk_bytes += t->used_bytes - t->meta_bytes;
    }
    for (const mcxi_top *t = mcxi_g.dedicated; t; t = t->dnext) {
        CHECK(t->magic == MCXI_TOP_MAGIC && t->dedicated && mcxi_pagemap_get(t->base) == t);
        CHECK(!t->dnext || t->dnext->dprev == t);
        mapped += t->size;
        if (!t->empty_since_ms) chunk_bytes += t->size - MCXI_BLOCK; /* else: unmap refused, free */
        dedicated++;
    }
    CHECK(mapped == mcxi_g.mapped_bytes && retained == mcxi_g.retained_bytes);
    CHECK(decommitted == mcxi_g.decommitted_bytes && chunk_bytes == mcxi_g.chunk_bytes);
    CHECK(mcxi_g.vec_len == mcxi_g.top_chunk_count && dedicated == mcxi_g.dedicated_count);
    CHECK(mcxi_g.peak_mapped_bytes >= mcxi_g.mapped_bytes);
    return MCX_OK;
}

/* Walk the objects of a chunk filled by C, header to header; *live gets the bytes counted as
 * used (live objects with headers, pads). Span chunks have no headers and are skipped. */
int mcxi_check_chunk_objects(const mcx_context *ctx, const mcxi_chunk *ch, size_t *live) {
    *live = 0;
    if (ch->flags & MCXI_CHUNK_SPAN) return MCX_OK;
    const char *p = (const char *)ch + ((ch->flags & MCXI_CHUNK_KEEPER) ? mcxi_ctx_data_offset() : MCXI_CHUNK_HDR);
    const char *end = ch == ctx->current ? ctx->bump : (const char *)ch + ch->used;
    while (p < end) {
        const mcxi_obj *o = (const mcxi_obj *)p;
        MCXI_VG_DEFINED(o, MCXI_OBJ_HDR);
        CHECK(!mcxi_dbg_poisoned(o, MCXI_OBJ_HDR));
        CHECK(mcxi_obj_off(o) == (size_t)(p - (const char *)ch));
        CHECK(o->size % MCX_ALIGN == 0 && p + MCXI_OBJ_HDR + o->size <= end);
        if (o->u.live.magic == mcxi_obj_magic(ctx, o)) {
            CHECK(o->u.live.requested + MCXI_SENTINEL_BYTES <= o->size);
            CHECK(mcxi_dbg_sentinel_ok(o + 1, o->u.live.requested));
            *live += MCXI_OBJ_HDR + o->size;
        } else if (o->u.live.magic == MCXI_OBJ_PAD) {
            *live += MCXI_OBJ_HDR + o->size;
        }
        p += MCXI_OBJ_HDR + o->size;
    }
    CHECK(p == end);
    return MCX_OK;
}

static int check_context(const mcx_context *ctx) {
    CHECK(ctx->magic == MCXI_CTX_MAGIC);
    CHECK(ctx->keeper == (const mcxi_chunk *)((const char *)ctx - MCXI_CHUNK_HDR));
    /* Tree links. */
    uint32_t children = 0;
    const mcx_context *prev = NULL;
    for (const mcx_context *c = ctx->first_child; c; prev = c, c = c->next_sibling) {
        CHECK(c->parent == ctx && c->prev_sibling == prev);
        CHECK(++children <= ctx->child_count);
    }
    CHECK(children == ctx->child_count);
    /* The forwarding chain. */
    uint64_t total = 0, used = 0;
    uint32_t n = 0;
    bool span = false;
    const mcxi_chunk *last = NULL;
    for (const mcxi_chunk *c = ctx->keeper; c; last = c, c = c->next, n++) {
        CHECK(c->magic == MCXI_CHUNK_MAGIC && c->owner == ctx && c->index == n);
        CHECK(((c->flags & MCXI_CHUNK_KEEPER) != 0) == (n == 0) && !(c->flags & MCXI_CHUNK_LARGE));
        const mcxi_top *top = mcxi_pagemap_get(c);
        CHECK(top && mcxi_chunk_is_live(top, c));
        CHECK(n <= ctx->chunk_count);
        /* The owner map names this context on every block of its chunks while it frees. */
        if (!top->dedicated) {
            size_t b = (size_t)((const char *)c - top->base) >> MCXI_BLOCK_SHIFT;
            for (size_t i = b; i < b + (c->size >> MCXI_BLOCK_SHIFT); i++)
                CHECK(top->owner[i] == ((ctx->flags & MCXI_CTX_FREES) ? ctx : NULL));
        }
        total += c->size;
        size_t live;
        CHECK(mcxi_check_chunk_objects(ctx, c, &live) == MCX_OK);
        if (c->flags & MCXI_CHUNK_SPAN) span = true;
        used += live + (n == 0 ? mcxi_ctx_data_offset() : MCXI_CHUNK_HDR);
    }
    CHECK(n == ctx->chunk_count && last == ctx->current);
    CHECK(ctx->bump >= (const char *)ctx->current + MCXI_CHUNK_HDR && ctx->bump <= ctx->end);
    CHECK(ctx->end == (const char *)ctx->current + ctx->current->size);
    /* mcx_alloc_inline's bound: the end while no freed object of its sizes waits. */
    CHECK(ctx->inline_end == ((ctx->free_class_mask & ctx->inline_classes) ? NULL : ctx->end));
    CHECK(ctx->inline_max <= ctx->fast_max && ctx->fast_max <= ctx->large_threshold);
    CHECK(!(ctx->flags & MCXI_CTX_FREES) || ctx->inline_max <= 256);
    /* Large allocations. */
    uint32_t large = 0;
    const mcxi_chunk *lprev = NULL;
    for (const mcxi_chunk *c = ctx->large_head; c; lprev = c, c = c->next) {
        CHECK(c->magic == MCXI_CHUNK_MAGIC && c->owner == ctx && (c->flags & MCXI_CHUNK_LARGE));
        CHECK(c->prev == lprev && c->used <= c->size && ++large <= ctx->large_count);
        CHECK(mcxi_dbg_sentinel_ok((const char *)c + c->reserved, c->used - c->reserved));
        total += c->size;
        used += c->used;
    }
    CHECK(large == ctx->large_count && total == ctx->total_bytes);
    /* Span borrowers' bytes are only known through their commits. */
    if (!span) CHECK(used == mcxi_ctx_used(ctx));
    CHECK(mcxi_ctx_used(ctx) <= ctx->total_bytes);
    /* Free lists: every object is a free object of this context, big enough for its class. */
    for (unsigned c = 0; c < MCXI_NCLASSES; c++) {
        if (!((ctx->free_class_mask >> c) & 1u)) continue; /* empty, whatever the head says */
        CHECK(ctx->free_lists[c] != NULL);
        size_t guard = 0;
        for (const mcxi_obj *o = ctx->free_lists[c]; o; o = o->u.next_free) {
            const mcxi_top *top = mcxi_pagemap_get(o);
            CHECK(top != NULL);
            const mcxi_chunk *ch = (const mcxi_chunk *)((const char *)o - mcxi_obj_off(o));
            CHECK(mcxi_chunk_is_live(top, ch) && ch->owner == ctx);
            CHECK(o->size >= mcxi_class_size(c) && o->u.live.magic != mcxi_obj_magic(ctx, o));
            CHECK(++guard <= (ctx->total_bytes / (MCXI_OBJ_HDR + MCX_ALIGN)));
        }
    }
    return MCX_OK;
}

int mcx_check(const mcx_context *root) {
    mcxi_lock();
    int st = check_top_layer();
    mcxi_unlock();
    if (st != MCX_OK || !root) return st;
    st = mcxi_ctx_validate(root);
    if (st != MCX_OK) return st;
    /* Pre-order walk without recursion: down to the first child, else across to the next
     * sibling, else up until an ancestor (below root) has one. */
    const mcx_context *node = root;
    for (;;) {
        st = check_context(node);
        if (st != MCX_OK) return st;
        if (node->first_child) {
            node = node->first_child;
            continue;
        }
        while (node != root && !node->next_sibling) node = node->parent;
        if (node == root) return MCX_OK;
        node = node->next_sibling;
    }
}
