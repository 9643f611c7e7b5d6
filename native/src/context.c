/* context.c - the tree of memory contexts: create, reset, delete, reparent, reset callbacks and
 * navigation. A context lives at the head of its first process chunk (the keeper), as in
 * PostgreSQL's AllocSet, so creating one costs one chunk from the top layer and reset keeps the
 * keeper so that a reused context does not fault its pages in again. Tree walks never recurse:
 * a deep tree cannot overflow the stack. Entry points: mcx_context_create, mcx_reset,
 * mcx_delete, mcx_set_parent. */
#include "internal.h"

#include "debug.h"


#define MCXI_CHAIN_CEILING MCX_CHUNK_MAX /* largest process chunk in a forwarding chain */

int mcxi_ctx_validate_slow(const mcx_context *ctx) {
    if (MCXI_UNLIKELY(ctx == NULL)) return MCX_EINVAL;
#if MCXI_CHECKING
    /* Find the keeper through the page map before touching the context, so a deleted context
     * whose memory went back to the OS is reported instead of faulting. */
    const mcxi_top *top = mcxi_pagemap_get(ctx);
    if (!top) return MCX_EDELETED;
    const char *keeper = (const char *)ctx - MCXI_CHUNK_HDR;
    if (((uintptr_t)keeper & (MCXI_BLOCK - 1)) != 0) return MCX_EINVAL;
    if (!mcxi_chunk_is_live(top, keeper)) return MCX_EDELETED;
    /* A keeper in a thread's chunk cache is allocated in the buddy but no context's: its magic
     * holds the cache's link. */
    if (((const mcxi_chunk *)keeper)->magic != MCXI_CHUNK_MAGIC) return MCX_EDELETED;
    if (mcxi_dbg_poisoned(ctx, sizeof(uint32_t))) return MCX_EDELETED;
#endif
    if (MCXI_UNLIKELY(ctx->magic != MCXI_CTX_MAGIC)) return ctx->magic == MCXI_CTX_DEAD ? MCX_EDELETED : MCX_EINVAL;
    return MCX_OK;
}

static void link_child(mcx_context *ctx, mcx_context *parent) {
    ctx->parent = parent;
    ctx->prev_sibling = NULL;
    ctx->next_sibling = NULL;
    if (!parent) return;
    ctx->next_sibling = parent->first_child;
    if (parent->first_child) parent->first_child->prev_sibling = ctx;
    parent->first_child = ctx;
    parent->child_count++;
}

static void unlink_child(mcx_context *ctx) {
    mcx_context *parent = ctx->parent;
    if (!parent) return;
    if (ctx->prev_sibling) ctx->prev_sibling->next_sibling = ctx->next_sibling;
    else parent->first_child = ctx->next_sibling;
    if (ctx->next_sibling) ctx->next_sibling->prev_sibling = ctx->prev_sibling;
    parent->child_count--;
    ctx->parent = ctx->prev_sibling = ctx->next_sibling = NULL;
}

static void set_name(mcx_context *ctx, const char *name) {
    if (!name) name = "context";
    size_t n = strlen(name);
    if (n > MCX_NAME_MAX) n = MCX_NAME_MAX;
    memcpy(ctx->name, name, n);
    ctx->name[n] = '\0';
}

/* A deleted context of this thread, made with the same options, comes back: its reset left it
 * empty with a new object key (stale pointers into it stay refused) and its keeper scrubbed where
 * it wrote when it is clean. The link in its keeper's first bytes gives way to the header. */
static mcx_context *revive(mcx_context *ctx, mcx_context *parent, const char *name) {
    mcxi_chunk *keeper = ctx->keeper;
    keeper->magic = MCXI_CHUNK_MAGIC;
    keeper->flags = MCXI_CHUNK_KEEPER;
    keeper->owner = ctx;
    ctx->magic = MCXI_CTX_MAGIC;
    ctx->refused_frees = 0; /* its deferred frees were finished by the delete */
    ctx->refused_status = MCX_OK;
    mcxi_ctx_sync_inline(ctx);
    set_name(ctx, name);
    link_child(ctx, parent);
    return ctx;
}

mcx_context *mcx_context_create(mcx_context *parent, const mcx_context_options *opts) {
    mcx_context_options o = {0};
    if (opts) o = *opts;
    if (parent) {
        int st = mcxi_ctx_validate(parent);
        if (st != MCX_OK) {
            mcxi_set_errno(st);
            return NULL;
        }
    }
    if (o.initial_size > MCXI_CHAIN_CEILING || o.max_chunk_size > MCXI_CHAIN_CEILING ||
        (o.initial_size && o.max_chunk_size && o.max_chunk_size < o.initial_size)) {
        mcxi_set_errno(MCX_EINVAL);
        return NULL;
    }
    size_t initial = mcxi_pow2_ceil(o.initial_size ? o.initial_size : MCXI_DEFAULT_INITIAL);
    if (initial < MCXI_CHUNK_MIN) initial = MCXI_CHUNK_MIN;
    size_t max_chunk = mcxi_pow2_ceil(o.max_chunk_size ? o.max_chunk_size : MCXI_DEFAULT_MAX_CHUNK);
    if (max_chunk < initial) max_chunk = initial;
    if (o.flags & ~MCX_CONTEXT_CLEAN) {
        mcxi_set_errno(MCX_EINVAL);
        return NULL;
    }
    unsigned flags = o.flags | (parent ? parent->flags & MCX_CONTEXT_CLEAN : 0u);
    if (o.limit_bytes && o.limit_bytes < initial) {
        mcxi_set_errno(MCX_EINVAL); /* the limit must at least hold the first process chunk */
        return NULL;
    }
    /* A context whose sibling comes after it has most likely stopped growing (a request, a
     * session): the untouched tail of its last chunk goes back for others to use, instead of
     * staying with it, resident when an earlier owner had touched it. If it grows again, it
     * forwards to a new chunk as it does when full. */
    if (parent && parent->first_child) mcxi_ctx_trim_tail(parent->first_child);
    void *mem;
    size_t got;
    mcx_context *kept = mcxi_tcache_take_context(initial); /* counted as created */
    uint32_t kept_key = 0;
    if (kept) {
        if (kept->max_chunk_size == max_chunk && kept->limit_bytes == o.limit_bytes && kept->flags == flags)
            return revive(kept, parent, o.name);
        /* Other options: its keeper serves as a fresh chunk. A plain context's keeper may hold
         * bytes beyond those it wrote (it took a dirty run): a clean one zeroes all of it. */
        MCXI_VG_DESTROY_POOL(kept);
        kept_key = kept->obj_key;
        mem = kept->keeper;
        got = initial;
        if ((flags & MCX_CONTEXT_CLEAN) && !(kept->flags & MCX_CONTEXT_CLEAN)) {
            MCXI_UNPOISON(mem, got);
            MCXI_VG_UNDEFINED(mem, got);
            memset(mem, 0, got);
        }
    } else {
        int st = mcxi_chunk_acquire(initial, 0, false, (flags & MCX_CONTEXT_CLEAN) != 0, &mem, &got);
        if (st != MCX_OK) {
            mcxi_set_errno(st);
            return NULL;
        }
    }
    mcxi_dbg_chunk_acquired(mem, got);
    size_t data = mcxi_ctx_data_offset();
    MCXI_UNPOISON(mem, data);
    mcxi_chunk *keeper = mem;
    keeper->magic = MCXI_CHUNK_MAGIC;
    keeper->flags = MCXI_CHUNK_KEEPER;
    keeper->next = keeper->prev = NULL;
    keeper->size = got;
    keeper->used = data;
    keeper->index = 0;
    keeper->reserved = 0;
    mcx_context *ctx = (mcx_context *)((char *)mem + MCXI_CHUNK_HDR);
    /* The free-list heads are read only under their bit of free_class_mask: left as they are. */
    memset(ctx, 0, offsetof(struct mcx_context, free_lists));
    keeper->owner = ctx;
    ctx->magic = MCXI_CTX_MAGIC;
    ctx->flags = flags;
    ctx->keeper = ctx->current = keeper;
    ctx->bump = (char *)keeper + data;
    ctx->end = (char *)keeper + got;
    ctx->initial_size = initial;
    ctx->max_chunk_size = max_chunk;
    ctx->next_chunk_size = got * 2 < max_chunk ? got * 2 : max_chunk;
    /* Objects above an eighth of the largest chunk get chunks of their own (PostgreSQL uses the
     * same ratio), so a chain chunk never wastes more than an eighth on one big object. */
    size_t threshold = max_chunk / 8;
    if (threshold > MCXI_SMALL_MAX / 2) threshold = MCXI_SMALL_MAX / 2; /* its class is below the last */
    if (threshold < 256) threshold = 256;
    ctx->large_threshold = threshold;
    ctx->fast_max = threshold < MCXI_SMALL_TABLE_MAX - MCXI_SENTINEL_BYTES ? threshold : MCXI_SMALL_TABLE_MAX - MCXI_SENTINEL_BYTES;
    mcxi_ctx_set_sizing(ctx, false);
    ctx->limit_bytes = o.limit_bytes;
    ctx->total_bytes = got;
    ctx->used_bytes = 0; /* the keeper's header and this struct are in its bumped range */
    ctx->chunk_count = 1;
    set_name(ctx, o.name);
    link_child(ctx, parent);
    MCXI_VG_CREATE_POOL(ctx);
    if (kept) {
        ctx->obj_key = mcxi_key_mix((uint64_t)kept_key + 1); /* as a reset would */
    } else {
        uint64_t serial = mcxi_tcache_context_created();
        ctx->obj_key = mcxi_key_mix(mcxi_os_random_seed() + serial);
    }
    return ctx;
}

/* Free a deleted context's memory: reset to its keeper alone and kept by this thread for its next
 * create when the cache has room, else every chunk goes back. Counts the deletion. */
static int release_context(mcx_context *ctx) {
    int rc = mcxi_ctx_release_memory(ctx);
    ctx->magic = MCXI_CTX_DEAD;
    mcxi_ctx_sync_inline(ctx);
    if (rc == MCX_OK && mcxi_tcache_put_context(ctx)) return rc; /* counted there */
    mcxi_tcache_contexts_deleted(1);
    MCXI_VG_DESTROY_POOL(ctx); /* the reset made a new one */
    /* Whatever the reset kept beyond the keeper goes too (each chunk scrubbed where it was
     * written, for a clean context), then the keeper. */
    for (mcxi_chunk *c = ctx->keeper->next, *next; c; c = next) {
        next = c->next;
        mcxi_ctx_chunk_give_back(ctx, c, mcxi_chunk_written(ctx, c));
    }
    mcxi_ctx_chunk_give_back(ctx, ctx->keeper, mcxi_chunk_written(ctx, ctx->keeper));
    return rc;
}

/* Run and forget ctx's reset callbacks, last registered first. */
static void run_callbacks(mcx_context *ctx) {
    while (ctx->callbacks) {
        mcxi_callback *cb = ctx->callbacks;
        ctx->callbacks = cb->next;
        cb->fn(cb->arg);
    }
}

/* Delete every context under root, leaves first, running each one's callbacks before its memory
 * goes; then run root's own callbacks. Iterative: the walk goes down to a leaf, deletes it and
 * climbs to the parent, so its depth costs no stack. */
static int delete_descendants(mcx_context *root) {
    int rc = MCX_OK;
    mcx_context *node = root;
    for (;;) {
        while (node->first_child) node = node->first_child;
        run_callbacks(node);
        if (node->first_child) continue; /* a callback created a child: delete it too */
        if (node == root) return rc;
        mcx_context *parent = node->parent;
        unlink_child(node);
        if (release_context(node) != MCX_OK) rc = MCX_ECORRUPT;
        node = parent;
    }
}

int mcx_reset(mcx_context *ctx) {
    int st = mcxi_ctx_validate(ctx);
    if (st != MCX_OK) return st;
    int rc = delete_descendants(ctx);
    if (mcxi_ctx_release_memory(ctx) != MCX_OK) rc = MCX_ECORRUPT;
    return rc;
}

int mcx_delete(mcx_context *ctx) {
    int st = mcxi_ctx_validate(ctx);
    if (st != MCX_OK) return st;
    int rc = delete_descendants(ctx);
    unlink_child(ctx);
    if (release_context(ctx) != MCX_OK) rc = MCX_ECORRUPT;
    return rc;
}

int mcx_set_parent(mcx_context *ctx, mcx_context *new_parent) {
    int st = mcxi_ctx_validate(ctx);
    if (st != MCX_OK) return st;
    if (new_parent) {
        st = mcxi_ctx_validate(new_parent);
        if (st != MCX_OK) return st;
    }
    if (new_parent == ctx->parent) return MCX_OK;
    for (const mcx_context *p = new_parent; p; p = p->parent)
        if (p == ctx) return MCX_EINVAL; /* ctx would become its own ancestor */
    unlink_child(ctx);
    link_child(ctx, new_parent);
    return MCX_OK;
}

int mcx_register_reset_callback(mcx_context *ctx, mcx_reset_callback fn, void *arg) {
    int st = mcxi_ctx_validate(ctx);
    if (st != MCX_OK) return st;
    if (!fn) return MCX_EINVAL;
    /* The record lives in the context itself, so it goes with the context's memory. */
    mcxi_callback *cb = mcx_alloc(ctx, sizeof *cb);
    if (!cb) return mcx_errno();
    cb->fn = fn;
    cb->arg = arg;
    cb->next = ctx->callbacks;
    ctx->callbacks = cb;
    return MCX_OK;
}

mcx_context *mcx_parent(const mcx_context *ctx) { return mcxi_ctx_validate(ctx) == MCX_OK ? ctx->parent : NULL; }
mcx_context *mcx_first_child(const mcx_context *ctx) {
    return mcxi_ctx_validate(ctx) == MCX_OK ? ctx->first_child : NULL;
}
mcx_context *mcx_next_sibling(const mcx_context *ctx) {
    return mcxi_ctx_validate(ctx) == MCX_OK ? ctx->next_sibling : NULL;
}
const char *mcx_name(const mcx_context *ctx) { return mcxi_ctx_validate(ctx) == MCX_OK ? ctx->name : NULL; }
