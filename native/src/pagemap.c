/* pagemap.c - the map from an address to the top chunk that holds it: a three-level radix table
 * over 64 KiB granules that covers the whole 64-bit address space (x86-64 with 5-level paging
 * hands out 57-bit addresses, arm64 up to 52-bit ones), written under the top lock and read
 * without it, so that validating a pointer (mcx_free, mcx_check) costs three loads instead of a
 * scan of the top-chunk vector. Leaf pages that no longer map anything are given back with
 * madvise: they read as zeros (NULL) afterwards, so a lock-free reader never faults. */
#include "internal.h"

#define LEVEL_BITS MCXI_PAGEMAP_LEVEL_BITS
#define LEVEL_SIZE ((size_t)1 << LEVEL_BITS)
#define TABLE_BYTES (LEVEL_SIZE * sizeof(void *))
_Static_assert(3 * LEVEL_BITS + MCXI_GRANULE_SHIFT == 64, "the page map covers 64-bit addresses");

typedef mcxi_pagemap_leaf leaf_entry;
typedef mcxi_pagemap_mid mid_entry;

#define root mcxi_pagemap_root
mcxi_pagemap_mid *_Atomic mcxi_pagemap_root[LEVEL_SIZE];
static uint64_t table_bytes; /* under the top lock */

static inline void split(uintptr_t addr, size_t *i0, size_t *i1, size_t *i2) {
    uint64_t g = (uint64_t)addr >> MCXI_GRANULE_SHIFT;
    *i0 = (size_t)(g >> (2 * LEVEL_BITS));
    *i1 = (size_t)((g >> LEVEL_BITS) & (LEVEL_SIZE - 1));
    *i2 = (size_t)(g & (LEVEL_SIZE - 1));
}

/* Map one table of LEVEL_SIZE pointers (zeroed by the OS). */
static int table_map(void **out) {
    int st = mcxi_os_map(TABLE_BYTES, 0, out);
    if (st == MCX_OK) table_bytes += TABLE_BYTES;
    return st;
}

/* The leaf for addr, created with its middle table when missing (create) or NULL. */
static leaf_entry *leaf_of(uintptr_t addr, bool create, int *status) {
    size_t i0, i1, i2;
    split(addr, &i0, &i1, &i2);
    mid_entry *mid = atomic_load_explicit(&root[i0], memory_order_acquire);
    if (!mid) {
        if (!create) return NULL;
        void *mem;
        if ((*status = table_map(&mem)) != MCX_OK) return NULL;
        mid = mem;
        atomic_store_explicit(&root[i0], mid, memory_order_release);
    }
    leaf_entry *leaf = atomic_load_explicit(&mid[i1], memory_order_acquire);
    if (!leaf) {
        if (!create) return NULL;
        void *mem;
        if ((*status = table_map(&mem)) != MCX_OK) return NULL;
        leaf = mem;
        atomic_store_explicit(&mid[i1], leaf, memory_order_release);
    }
    return leaf;
}

int mcxi_pagemap_set(const void *base, size_t size, mcxi_top *top) {
    uintptr_t start = (uintptr_t)base;
    /* First make sure every leaf exists, so a failure leaves nothing half-written. A leaf covers
     * 4 GiB, so this loop steps leaf by leaf. */
    for (uintptr_t a = start; a - start < size; a = (a | (((uintptr_t)1 << 32) - 1)) + 1) {
        int st = MCX_OK;
        if (!leaf_of(a, true, &st)) return st;
        if (((a | (((uintptr_t)1 << 32) - 1)) + 1) == 0) break; /* the last leaf of the space */
    }
    for (uintptr_t a = start; a - start < size; a += MCXI_GRANULE) {
        size_t i0, i1, i2;
        split(a, &i0, &i1, &i2);
        leaf_entry *leaf = leaf_of(a, false, NULL);
        atomic_store_explicit(&leaf[i2], top, memory_order_release);
        if (a + MCXI_GRANULE == 0) break;
    }
    return MCX_OK;
}

/* Give back the page of leaf entries holding entry when every entry on it is NULL. */
static void leaf_page_release(leaf_entry *entry) {
    size_t page = mcxi_os_page_size();
    uintptr_t first = (uintptr_t)entry & ~(uintptr_t)(page - 1);
    leaf_entry *p = (leaf_entry *)first;
    for (size_t i = 0; i < page / sizeof(leaf_entry); i++)
        if (atomic_load_explicit(&p[i], memory_order_relaxed) != NULL) return;
    mcxi_os_decommit(p, page);
}

void mcxi_pagemap_clear(const void *base, size_t size) {
    uintptr_t start = (uintptr_t)base;
    size_t page = mcxi_os_page_size();
    leaf_entry *pending = NULL; /* the last leaf page written, released once the walk leaves it */
    for (uintptr_t a = start; a - start < size; a += MCXI_GRANULE) {
        size_t i0, i1, i2;
        split(a, &i0, &i1, &i2);
        leaf_entry *leaf = leaf_of(a, false, NULL);
        if (leaf) {
            leaf_entry *e = &leaf[i2];
            atomic_store_explicit(e, NULL, memory_order_release);
            if (pending && ((uintptr_t)pending & ~(uintptr_t)(page - 1)) != ((uintptr_t)e & ~(uintptr_t)(page - 1)))
                leaf_page_release(pending);
            pending = e;
        }
        if (a + MCXI_GRANULE == 0) break;
    }
    if (pending) leaf_page_release(pending);
}

uint64_t mcxi_pagemap_meta_bytes(void) { return table_bytes; }
