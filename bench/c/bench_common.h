/* bench_common.h - shared helpers of the C benchmarks: clocks, VmRSS/VmHWM readers, seeded
 * size tables, an RSS sampler thread, statistics (median/min/max) and JSON output. */
#ifndef MCXB_COMMON_H
#define MCXB_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MCXB_KIB ((size_t)1024)
#define MCXB_MIB ((size_t)1024 * 1024)

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t mcxb_now_ns(void);
/* CPU time of the whole process (every thread) in nanoseconds: unlike wall time it does not
 * grow while other processes hold the CPUs, so it is reported beside it on shared machines. */
uint64_t mcxb_cpu_ns(void);

/* A field of /proc/self/status in bytes ("VmRSS", "VmHWM"), read with open/read into a stack
 * buffer so the reading itself never calls malloc. 0 when unreadable. */
uint64_t mcxb_status_bytes(const char *field);
static inline uint64_t mcxb_rss_bytes(void) { return mcxb_status_bytes("VmRSS"); }
static inline uint64_t mcxb_peak_rss_bytes(void) { return mcxb_status_bytes("VmHWM"); }
/* Reset VmHWM to the current VmRSS (writes "5" to /proc/self/clear_refs). 0 on success. */
int mcxb_reset_peak_rss(void);

/* Seeded xorshift64* generator: the same seed gives the same sizes in every process. */
typedef struct mcxb_rng {
    uint64_t state;
} mcxb_rng;
static inline uint64_t mcxb_rng_next(mcxb_rng *rng) {
    uint64_t x = rng->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng->state = x;
    return x * 0x2545F4914F6CDD1DULL;
}
static inline mcxb_rng mcxb_rng_seed(uint64_t seed) {
    mcxb_rng rng = {seed ? seed : 0x9E3779B97F4A7C15ULL};
    return rng;
}
/* Uniform in [lo, hi]. */
static inline uint32_t mcxb_rng_range(mcxb_rng *rng, uint32_t lo, uint32_t hi) {
    return lo + (uint32_t)(mcxb_rng_next(rng) % (uint64_t)(hi - lo + 1));
}

/* A table of count sizes uniform in [lo, hi] from seed, mapped with mmap (not malloc, so that
 * it never shares pages with an allocator under test). NULL on failure. */
uint16_t *mcxb_size_table(size_t count, uint32_t lo, uint32_t hi, uint64_t seed);
void mcxb_size_table_free(uint16_t *table, size_t count);

/* Zeroed memory for the benchmark's own bookkeeping (pointer arrays), from mmap. */
void *mcxb_map(size_t bytes);
void mcxb_unmap(void *ptr, size_t bytes);

/* Sort-free statistics over a small array (copied and sorted internally, n <= 4096). */
double mcxb_median(const double *values, size_t n);
double mcxb_min(const double *values, size_t n);
double mcxb_max(const double *values, size_t n);

/* RSS sampler: a thread reads VmRSS every period_ms into a fixed array (no malloc). */
typedef struct mcxb_sample {
    uint64_t t_ms;      /* since mcxb_sampler_start */
    uint64_t rss_bytes; /* VmRSS */
    uint32_t phase;     /* value of the phase marker when sampled */
} mcxb_sample;
#define MCXB_SAMPLES_MAX 8192
int mcxb_sampler_start(unsigned period_ms);
void mcxb_sampler_set_phase(uint32_t phase);
/* Stop the thread; returns the samples (static storage) and their count. */
const mcxb_sample *mcxb_sampler_stop(size_t *count);

/* Write a JSON array of doubles. */
void mcxb_json_doubles(FILE *out, const double *values, size_t n);
/* Parse "--name=value" or "--name value" options in a tiny way. */
const char *mcxb_arg(int argc, char **argv, const char *name);
int mcxb_flag(int argc, char **argv, const char *name);

#endif /* MCXB_COMMON_H */
