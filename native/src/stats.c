/* stats.c - per-context statistics: totals, the forwarding chain of process chunks with their
 * use, and children. Global statistics are kept by the top layer (top.c). */
#include "internal.h"

int mcx_context_stats(const mcx_context *ctx, struct mcx_context_stats *out) {
    int st = mcxi_ctx_validate(ctx);
    if (st != MCX_OK) return st;
    if (!out) return MCX_EINVAL;
    /* Deferred frees are finished first: used_bytes counts them as freed. */
    mcxi_ctx_finish_frees((mcx_context *)ctx);
    size_t bumped = mcxi_ctx_used(ctx);
    size_t used = bumped > ctx->span_free_bytes ? bumped - ctx->span_free_bytes : 0;
    out->name = ctx->name;
    out->total_bytes = ctx->total_bytes;
    out->used_bytes = used;
    out->free_bytes = ctx->total_bytes - used;
    out->limit_bytes = ctx->limit_bytes;
    out->chunk_count = ctx->chunk_count;
    out->large_count = ctx->large_count;
    out->child_count = ctx->child_count;
    out->refused_frees = ctx->refused_frees;
    return MCX_OK;
}

int mcx_context_chunks(const mcx_context *ctx, mcx_chunk_info *out, size_t cap, size_t *count) {
    int st = mcxi_ctx_validate(ctx);
    if (st != MCX_OK) return st;
    if (!count || (cap > 0 && !out)) return MCX_EINVAL;
    size_t n = 0;
    for (const mcxi_chunk *c = ctx->keeper; c; c = c->next, n++) {
        if (n >= cap) continue;
        out[n].size = c->size;
        out[n].used = c == ctx->current ? (size_t)(ctx->bump - (const char *)c) : c->used;
    }
    *count = n;
    return MCX_OK;
}
