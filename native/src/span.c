/* span.c - lending the free tail of a context's current process chunk to a caller that
 * bump-allocates inside it on its own (the Node facade), and taking back its progress so the
 * context's accounting stays true. Entry points: mcx_span_reserve, mcx_span_commit. */
#include "internal.h"

#include "debug.h"

static char *chunk_data(const mcxi_chunk *ch) {
    return (char *)ch + ((ch->flags & MCXI_CHUNK_KEEPER) ? mcxi_ctx_data_offset() : MCXI_CHUNK_HDR);
}

static void describe(const mcx_context *ctx, mcx_span *out) {
    char *data = chunk_data(ctx->current);
    out->chunk_data = data;
    out->chunk_bytes = (size_t)(ctx->end - data);
    out->offset = (size_t)(ctx->bump - data);
    out->chunk_index = ctx->current->index;
}

int mcx_span_reserve(mcx_context *ctx, size_t min_bytes, mcx_span *out) {
    int st = mcxi_ctx_validate(ctx);
    if (st != MCX_OK) return st;
    if (!out) return MCX_EINVAL;
    if (min_bytes > MCX_ALLOC_MAX) return MCX_ETOOBIG;
    ctx->span_mode = 1;
    if ((size_t)(ctx->end - ctx->bump) < min_bytes) {
        st = mcxi_ctx_grow(ctx, min_bytes);
        if (st != MCX_OK) return st;
    }
    ctx->current->flags |= MCXI_CHUNK_SPAN;
    MCXI_UNPOISON(ctx->bump, (size_t)(ctx->end - ctx->bump));
    describe(ctx, out);
    return MCX_OK;
}

int mcx_span_commit(mcx_context *ctx, size_t offset, size_t free_bytes) {
    int st = mcxi_ctx_validate(ctx);
    if (st != MCX_OK) return st;
    char *data = chunk_data(ctx->current);
    if (offset > (size_t)(ctx->end - data)) return MCX_EINVAL;
    char *pos = data + offset;
    if ((ctx->flags & MCX_CONTEXT_CLEAN) && pos < ctx->bump) {
        /* Bytes below the old offset were handed out: keep them inside the scrubbed range. */
        MCXI_UNPOISON(pos, (size_t)(ctx->bump - pos));
        memset(pos, 0, (size_t)(ctx->bump - pos));
    }
    ctx->bump = pos;
    ctx->span_free_bytes = free_bytes;
    return MCX_OK;
}

size_t mcx_large_threshold(const mcx_context *ctx) {
    return mcxi_ctx_validate(ctx) == MCX_OK ? ctx->large_threshold : 0;
}
