/* pagemap.c - the map from an address to the top chunk that holds it: a two-level radix table
 * over 64 KiB granules, written under the top lock and read without it, so that validating a
 * pointer (mcx_free, mcx_check) costs two loads instead of a scan of the top-chunk vector. */
#include "internal.h"

#define L2_BITS 16u
#define L1_BITS (47u - MCXI_GRANULE_SHIFT - L2_BITS) /* 47-bit user address space */
#define L1_SIZE ((size_t)1 << L1_BITS)
#define L2_SIZE ((size_t)1 << L2_BITS)

typedef _Atomic(mcxi_top *) leaf_entry;

static _Atomic(leaf_entry *) level1[L1_SIZE];
static uint64_t leaf_bytes; /* under the top lock */

static inline bool split(uintptr_t addr, size_t *i1, size_t *i2) {
    uintptr_t g = addr >> MCXI_GRANULE_SHIFT;
    *i1 = (size_t)(g >> L2_BITS);
    *i2 = (size_t)(g & (L2_SIZE - 1));
    return *i1 < L1_SIZE;
}

int mcxi_pagemap_set(const void *base, size_t size, mcxi_top *top) {
    uintptr_t start = (uintptr_t)base;
    /* First make sure every leaf exists, so a failure leaves nothing half-written. */
    for (uintptr_t a = start; a < start + size; a += MCXI_GRANULE) {
        size_t i1, i2;
        if (!split(a, &i1, &i2)) return MCX_ENOMEM; /* beyond 47 bits: not supported */
        if (atomic_load_explicit(&level1[i1], memory_order_acquire) == NULL) {
            void *leaf;
            int st = mcxi_os_map(L2_SIZE * sizeof(leaf_entry), 0, &leaf);
            if (st != MCX_OK) return st;
            leaf_bytes += L2_SIZE * sizeof(leaf_entry);
            atomic_store_explicit(&level1[i1], (leaf_entry *)leaf, memory_order_release);
        }
    }
    for (uintptr_t a = start; a < start + size; a += MCXI_GRANULE) {
        size_t i1, i2;
        split(a, &i1, &i2);
        leaf_entry *leaf = atomic_load_explicit(&level1[i1], memory_order_acquire);
        atomic_store_explicit(&leaf[i2], top, memory_order_release);
    }
    return MCX_OK;
}

void mcxi_pagemap_clear(const void *base, size_t size) {
    uintptr_t start = (uintptr_t)base;
    for (uintptr_t a = start; a < start + size; a += MCXI_GRANULE) {
        size_t i1, i2;
        if (!split(a, &i1, &i2)) continue;
        leaf_entry *leaf = atomic_load_explicit(&level1[i1], memory_order_acquire);
        if (leaf) atomic_store_explicit(&leaf[i2], NULL, memory_order_release);
    }
}

mcxi_top *mcxi_pagemap_get(const void *p) {
    size_t i1, i2;
    if (!split((uintptr_t)p, &i1, &i2)) return NULL;
    leaf_entry *leaf = atomic_load_explicit(&level1[i1], memory_order_acquire);
    if (leaf == NULL) return NULL;
    return atomic_load_explicit(&leaf[i2], memory_order_acquire);
}

uint64_t mcxi_pagemap_meta_bytes(void) { return leaf_bytes; }
