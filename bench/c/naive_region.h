/* naive_region.h - the two reference regions of the region workload, built in the benchmark:
 * a bump allocator over 1 MiB chunks from mmap that either keeps every chunk on reset
 * (fast, never gives memory back) or munmaps them all on reset (gives memory back, refaults).
 *
 * naive_alloc is kept out of line (noinline) on purpose: memctx and every peer are called as
 * library functions, so the reference pays one call per allocation as they do. */
#ifndef MCXB_NAIVE_REGION_H
#define MCXB_NAIVE_REGION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#define NAIVE_CHUNK_BYTES ((size_t)1 << 20)
#define NAIVE_ALIGN 16u /* same alignment as MCX_ALIGN */

typedef struct naive_chunk {
    struct naive_chunk *next; /* chunks after this one (kept on reset in keep mode) */
} naive_chunk;

typedef struct naive_region {
    char *cur, *end;
    naive_chunk *first;   /* first chunk of the list, NULL when none */
    naive_chunk *current; /* chunk cur points into */
    int unmap_on_reset;   /* 1: munmap every chunk on reset */
} naive_region;

static inline void naive_init(naive_region *r, int unmap_on_reset) {
    r->cur = r->end = NULL;
    r->first = r->current = NULL;
    r->unmap_on_reset = unmap_on_reset;
}

/* Slow path: move to the next kept chunk, or map a new one. */
__attribute__((noinline)) static void *naive_grow(naive_region *r, size_t size) {
    naive_chunk *next = r->current ? r->current->next : r->first;
    if (!next) {
        void *m = mmap(NULL, NAIVE_CHUNK_BYTES, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return NULL;
        next = m;
        next->next = NULL;
        if (r->current)
            r->current->next = next;
        else
            r->first = next;
    }
    r->current = next;
    r->cur = (char *)next + NAIVE_ALIGN;
    r->end = (char *)next + NAIVE_CHUNK_BYTES;
    char *p = r->cur;
    r->cur += size;
    return p;
}

__attribute__((noinline)) static void *naive_alloc(naive_region *r, size_t size) {
    size = (size + NAIVE_ALIGN - 1) & ~(size_t)(NAIVE_ALIGN - 1);
    if ((size_t)(r->end - r->cur) >= size) {
        char *p = r->cur;
        r->cur += size;
        return p;
    }
    return naive_grow(r, size);
}

static inline void naive_unmap_all(naive_region *r) {
    for (naive_chunk *c = r->first; c;) {
        naive_chunk *next = c->next;
        munmap(c, NAIVE_CHUNK_BYTES);
        c = next;
    }
    r->first = r->current = NULL;
    r->cur = r->end = NULL;
}

static inline void naive_reset(naive_region *r) {
    if (r->unmap_on_reset) {
        naive_unmap_all(r);
        return;
    }
    /* keep every chunk: rewind to before the first one */
    r->current = NULL;
    r->cur = r->end = NULL;
}

static inline void naive_destroy(naive_region *r) { naive_unmap_all(r); }

#endif /* MCXB_NAIVE_REGION_H */
