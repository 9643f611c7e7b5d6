/* test_pagemap.c - the page map (address -> top chunk) on the whole 64-bit address space and its
 * own memory: entries at addresses above 47 bits (arm64's 48- and 52-bit spaces, x86-64 with
 * 5-level paging) are set, read and cleared through the internal interface without touching those
 * addresses; a real mapping placed above 2^47 by an mmap hint backs a context when the kernel
 * grants it; and the leaf pages written for a 1 TiB allocation go back to the OS when it is freed.
 */
#include "harness.h"
#include "internal.h"

#include <sys/mman.h>

/* Set, read and clear entries at simulated addresses in every part of the space. The page map
 * stores the top pointer only; the addresses themselves are never dereferenced. */
static void high_addresses_simulated(void) {
    static const uint64_t bases[] = {
        (uint64_t)1 << 47,          /* just above x86-64's 4-level space */
        ((uint64_t)1 << 48) - (1u << 20), /* the top of arm64's 48-bit space */
        (uint64_t)0x000FFFFFFFF00000ull,  /* arm64 with 52-bit addresses */
        (uint64_t)0x00FFFFFFFFF00000ull,  /* x86-64 with 5-level paging (57 bits) */
        (uint64_t)0xFFFFFFFFFFE00000ull,  /* the last granules of the 64-bit space */
    };
    static mcxi_top fake[sizeof bases / sizeof bases[0]];
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        const char *base = (const char *)(uintptr_t)bases[i];
        size_t size = (size_t)1 << 20;
        mcxi_lock();
        int st = mcxi_pagemap_set(base, size, &fake[i]);
        mcxi_unlock();
        CHECK_OK(st);
        CHECK(mcxi_pagemap_get(base) == &fake[i]);
        CHECK(mcxi_pagemap_get(base + size - 1) == &fake[i]);
        CHECK(mcxi_pagemap_get(base + size / 2) == &fake[i]);
        if (bases[i] >= MCXI_GRANULE) CHECK(mcxi_pagemap_get(base - 1) == NULL);
        if (bases[i] + size != 0) CHECK(mcxi_pagemap_get(base + size) == NULL);
        /* The same low 47 bits elsewhere must not alias. */
        CHECK(mcxi_pagemap_get((const void *)(uintptr_t)(bases[i] & (((uint64_t)1 << 47) - 1))) == NULL);
        mcxi_lock();
        mcxi_pagemap_clear(base, size);
        mcxi_unlock();
        CHECK(mcxi_pagemap_get(base) == NULL);
        CHECK(mcxi_pagemap_get(base + size - 1) == NULL);
    }
    CHECK_OK(mcx_check(NULL));
}

/* Ask the kernel for a mapping above 2^47 (granted by x86-64 with 5-level paging and by arm64
 * with 52-bit addresses when the hint is that high) and make it a top chunk by entering it in
 * the page map; mcx_free on a pointer inside it must then be resolved, not refused as foreign. */
static void high_mapping_when_granted(void) {
    size_t size = 4 * TH_MiB;
    void *hint = (void *)(uintptr_t)((uint64_t)1 << 50);
    void *p = mmap(hint, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED || (uintptr_t)p < ((uintptr_t)1 << 47)) {
        if (p != MAP_FAILED) munmap(p, size);
        th_skip("high_mapping_when_granted", "the kernel keeps user mappings below 2^47");
        return;
    }
    static mcxi_top fake;
    mcxi_lock();
    int st = mcxi_pagemap_set(p, size, &fake);
    mcxi_unlock();
    CHECK_OK(st);
    CHECK(mcxi_pagemap_get((char *)p + size - 1) == &fake);
    mcxi_lock();
    mcxi_pagemap_clear(p, size);
    mcxi_unlock();
    munmap(p, size);
}

/* A context works end to end wherever the kernel puts its top chunks (the first use of the map). */
static void contexts_work(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    void *p = mcx_alloc(ctx, 100);
    REQUIRE(p != NULL);
    CHECK(mcx_context_of(p) == ctx);
    CHECK_OK(mcx_free(p));
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
}

/* A 1 TiB allocation writes 16 Mi page-map entries (128 MiB of leaves); once it is freed the
 * leaf pages must go back: VmRSS returns to within 8 MiB of where it was. */
static void leaf_pages_released_after_1tib(void) {
    if (th_under_valgrind() || th_under_asan()) {
        th_skip("leaf_pages_released_after_1tib", "1 TiB of address space under the tools");
        return;
    }
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    /* Warm the small paths first so the baseline holds them. */
    void *small = mcx_alloc(ctx, 64);
    REQUIRE(small != NULL);
    uint64_t before = th_vmrss_bytes();
    void *big = mcx_alloc(ctx, MCX_ALLOC_MAX - 4096);
    if (!big) {
        th_skip("leaf_pages_released_after_1tib", "the kernel refused 1 TiB of address space");
        mcx_delete(ctx);
        return;
    }
    uint64_t during = th_vmrss_bytes();
    CHECK_OK(mcx_free(big));
    uint64_t after = th_vmrss_bytes();
    printf("  VmRSS %" PRIu64 " -> %" PRIu64 " -> %" PRIu64 " KiB\n", before / 1024, during / 1024, after / 1024);
    CHECK_U64(during, >, before + 64 * TH_MiB); /* the leaves were written */
    CHECK_U64(after, <, before + 8 * TH_MiB);
    CHECK_OK(mcx_delete(ctx));
}

TH_MAIN(TH_TEST(high_addresses_simulated), TH_TEST(high_mapping_when_granted), TH_TEST(contexts_work),
        TH_TEST(leaf_pages_released_after_1tib))
