/* peer.h - the interface between the peer benchmark driver (peer_main.c) and the allocator
 * backends (peer_*.c), each of which instantiates the workloads of workloads.inc. */
#ifndef MCXB_PEER_H
#define MCXB_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct mcxb_result;

typedef struct mcxb_opts {
    double scale;     /* 1.0 = the full workload sizes of BENCHMARKS.md */
    int warmup;       /* 1: run the workload once at 1/10 scale before the measured run */
    int callgrind;    /* 1: toggle callgrind collection around the measured part only */
    unsigned idle_ms; /* ramp: idle time after the last phase, RSS still sampled */
    unsigned cycles;  /* region: cycles (20) */
} mcxb_opts;

typedef struct mcxb_backend {
    const char *name; /* "memctx", "glibc", "mimalloc-heap", ... */
    const char *doc;  /* one line: the calls used */
    /* Run one workload and fill *res. Returns 0, 1 on failure (res->error says what), or
     * MCXB_SKIP when the backend does not do this workload (res->skip says why). */
    int (*run)(const char *workload, const mcxb_opts *opts, struct mcxb_result *res);
} mcxb_backend;

#define MCXB_SKIP 3

typedef struct mcxb_result {
    uint64_t ns;             /* measured wall time of the workload (ramp: without the idle) */
    uint64_t cpu_ns;         /* process CPU time (all threads) over the same part */
    uint64_t ops;            /* allocations made in the measured part */
    uint64_t units;          /* workload units: cycles, requests, operations, phases */
    uint64_t peak_rss_bytes; /* VmHWM over the measured part */
    uint64_t rss_end_bytes;  /* VmRSS right after the work (ramp: after the last phase) */
    uint64_t rss_after_bytes; /* VmRSS after the scope is freed (ramp: after the idle time) */
    const struct mcxb_sample *samples; /* ramp only */
    size_t sample_count;
    const char *skip;  /* reason, for MCXB_SKIP */
    const char *error; /* what failed, for 1 */
} mcxb_result;

/* Shared tables made once per process (before any timing) by peer_main.c. */
typedef struct mcxb_tables {
    const uint16_t *region_sizes; /* region_count sizes in 16..256 */
    size_t region_count;
    const uint16_t *request_sizes; /* 65536 sizes in 16..2048 */
    const uint16_t *mixed_sizes;   /* 65536 sizes in 16..512 */
    const uint32_t *mixed_picks;   /* 1 << 20 random 32-bit values */
    const uint16_t *session_counts; /* 65536 counts in 20..200 */
} mcxb_tables;
extern mcxb_tables mcxb_tab;

#define MCXB_TABLE_MASK 65535u
#define MCXB_PICKS_MASK ((1u << 20) - 1)

#endif /* MCXB_PEER_H */
