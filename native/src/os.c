/* os.c - the OS layer: the only code in memctx that calls mmap, munmap, madvise, mincore,
 * membarrier and the clock. It returns status codes, never prints or aborts, counts its calls, and has the
 * fault-injection switch the tests use to make the Nth mapping fail. */
#include "internal.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Atomic uint64_t os_mmap_calls;
static _Atomic uint64_t os_munmap_calls;
static _Atomic uint64_t os_madvise_calls;
static _Atomic uint64_t os_map_failures;

/* Fault injection: countdown to the failing mapping (0 = off) and whether it stays failing. */
static _Atomic unsigned fault_countdown;
static _Atomic int fault_sticky;
static _Atomic uint64_t fault_injected;

void mcx_fault_inject(unsigned nth, unsigned sticky) {
    atomic_store(&fault_sticky, sticky != 0);
    atomic_store(&fault_countdown, nth);
}

uint64_t mcx_faults_injected(void) { return atomic_load(&fault_injected); }

/* True when this mapping call must fail. */
static int fault_fires(void) {
    unsigned n = atomic_load(&fault_countdown);
    while (n > 0) {
        if (n == 1) {
            if (atomic_load(&fault_sticky)) {
                atomic_fetch_add(&fault_injected, 1);
                return 1;
            }
            if (atomic_compare_exchange_weak(&fault_countdown, &n, 0)) {
                atomic_fetch_add(&fault_injected, 1);
                return 1;
            }
        } else if (atomic_compare_exchange_weak(&fault_countdown, &n, n - 1)) {
            return 0;
        }
    }
    return 0;
}

/* Map size bytes (a multiple of the page size) aligned to align (a power of two >= the page
 * size). Over-maps by align and trims both ends, because mmap only promises page alignment. */
int mcxi_os_map(size_t size, size_t align, void **out) {
    *out = NULL;
    if (fault_fires()) {
        atomic_fetch_add(&os_map_failures, 1);
        return MCX_ENOMEM;
    }
    size_t page = mcxi_os_page_size();
    if (align < page) align = page;
    size_t span = size + align - page;
    if (span < size) return MCX_ENOMEM; /* overflow */
    atomic_fetch_add(&os_mmap_calls, 1);
    void *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED) {
        atomic_fetch_add(&os_map_failures, 1);
        return MCX_ENOMEM;
    }
    uintptr_t start = (uintptr_t)p;
    uintptr_t aligned = (start + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = aligned - start;
    size_t tail = span - head - size;
    if (head > 0) {
        atomic_fetch_add(&os_munmap_calls, 1);
        munmap(p, head);
    }
    if (tail > 0) {
        atomic_fetch_add(&os_munmap_calls, 1);
        munmap((void *)(aligned + size), tail);
    }
    *out = (void *)aligned;
    return MCX_OK;
}

/* Test hook: the next n munmap calls of mcxi_os_unmap fail (the OS can refuse one, e.g. when
 * the mapping count limit is reached). */
static _Atomic unsigned unmap_failures_pending;
void mcxi_os_fail_unmaps(unsigned n) { atomic_store(&unmap_failures_pending, n); }

/* Test hook: called before each munmap and madvise (a test checks which locks are held there
 * and on which thread). */
static void (*_Atomic release_probe)(int is_unmap, size_t size);
void mcxi_os_set_release_probe(void (*probe)(int is_unmap, size_t size)) { atomic_store(&release_probe, probe); }

static void probe_release(int is_unmap, size_t size) {
    void (*probe)(int, size_t) = atomic_load_explicit(&release_probe, memory_order_relaxed);
    if (probe) probe(is_unmap, size);
}

int mcxi_os_unmap(void *p, size_t size) {
    probe_release(1, size);
    unsigned pending = atomic_load(&unmap_failures_pending);
    while (pending > 0)
        if (atomic_compare_exchange_weak(&unmap_failures_pending, &pending, pending - 1)) return MCX_ENOMEM;
    atomic_fetch_add(&os_munmap_calls, 1);
    return munmap(p, size) == 0 ? MCX_OK : MCX_ENOMEM;
}

/* Give the pages back at once: RSS falls now, and the range reads as zeros when touched again.
 * MADV_FREE is not used on purpose: it is lazy and RSS does not fall until memory pressure. */
int mcxi_os_decommit(void *p, size_t size) {
    probe_release(0, size);
    atomic_fetch_add(&os_madvise_calls, 1);
    return madvise(p, size, MADV_DONTNEED) == 0 ? MCX_OK : MCX_EINVAL;
}

int mcxi_os_residency(const void *p, size_t size, unsigned char *vec) {
    return mincore((void *)(uintptr_t)p, size, vec) == 0 ? MCX_OK : MCX_EINVAL;
}

uint64_t mcxi_os_resident(const void *p, size_t size) {
    size_t page = mcxi_os_page_size();
    size_t pages = (size + page - 1) / page;
    unsigned char vec[4096]; /* 16 MiB per call: a 1 GiB top chunk in 64 calls, not 1024 */
    uint64_t resident = 0;
    const char *cur = (const char *)p;
    while (pages > 0) {
        size_t n = pages < sizeof vec ? pages : sizeof vec;
        if (mcxi_os_residency(cur, n * page, vec) != MCX_OK) return resident;
        for (size_t i = 0; i < n; i++) resident += (vec[i] & 1u) ? page : 0;
        cur += n * page;
        pages -= n;
    }
    return resident;
}

bool mcxi_os_membarrier_register(void) {
#if defined(SYS_membarrier)
    return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#else
    return false;
#endif
}

void mcxi_os_membarrier(void) {
#if defined(SYS_membarrier)
    /* Registered by mcxi_os_membarrier_register: it cannot fail then. */
    (void)syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
#endif
}

uint64_t mcxi_os_random_seed(void) {
    static _Atomic uint64_t seed;
    uint64_t s = atomic_load_explicit(&seed, memory_order_relaxed);
    if (s) return s;
    if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)&seed;
    }
    s |= 1u;
    uint64_t expected = 0;
    atomic_compare_exchange_strong(&seed, &expected, s);
    return atomic_load(&seed);
}

uint64_t mcxi_os_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

size_t mcxi_os_page_size(void) {
    static _Atomic size_t cached;
    size_t page = atomic_load_explicit(&cached, memory_order_relaxed);
    if (page == 0) {
        long v = sysconf(_SC_PAGESIZE);
        page = v > 0 ? (size_t)v : 4096u;
        atomic_store_explicit(&cached, page, memory_order_relaxed);
    }
    return page;
}

void mcxi_os_counters(uint64_t *mmaps, uint64_t *munmaps, uint64_t *madvises, uint64_t *failures) {
    *mmaps = atomic_load(&os_mmap_calls);
    *munmaps = atomic_load(&os_munmap_calls);
    *madvises = atomic_load(&os_madvise_calls);
    *failures = atomic_load(&os_map_failures);
}
