/* bench_common.c - shared helpers of the C benchmarks (see bench_common.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_common.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

uint64_t mcxb_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t mcxb_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t mcxb_status_bytes(const char *field) {
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    size_t flen = strlen(field);
    for (char *line = buf; line && *line;) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            /* "VmRSS:\t  123456 kB" */
            char *p = line + flen + 1;
            while (*p == ' ' || *p == '\t') p++;
            uint64_t kib = 0;
            while (*p >= '0' && *p <= '9') kib = kib * 10 + (uint64_t)(*p++ - '0');
            return kib * 1024;
        }
        line = strchr(line, '\n');
        if (line) line++;
    }
    return 0;
}

int mcxb_reset_peak_rss(void) {
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, "5", 1);
    close(fd);
    return n == 1 ? 0 : -1;
}

void *mcxb_map(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void mcxb_unmap(void *ptr, size_t bytes) {
    if (ptr) munmap(ptr, bytes);
}

uint16_t *mcxb_size_table(size_t count, uint32_t lo, uint32_t hi, uint64_t seed) {
    uint16_t *t = mcxb_map(count * sizeof *t);
    if (!t) return NULL;
    mcxb_rng rng = mcxb_rng_seed(seed);
    for (size_t i = 0; i < count; i++) t[i] = (uint16_t)mcxb_rng_range(&rng, lo, hi);
    return t;
}

void mcxb_size_table_free(uint16_t *table, size_t count) { mcxb_unmap(table, count * sizeof *table); }

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double mcxb_median(const double *values, size_t n) {
    double tmp[4096];
    if (n == 0) return 0;
    if (n > 4096) n = 4096;
    memcpy(tmp, values, n * sizeof *tmp);
    qsort(tmp, n, sizeof *tmp, cmp_double);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

double mcxb_min(const double *values, size_t n) {
    double m = n ? values[0] : 0;
    for (size_t i = 1; i < n; i++) m = values[i] < m ? values[i] : m;
    return m;
}

double mcxb_max(const double *values, size_t n) {
    double m = n ? values[0] : 0;
    for (size_t i = 1; i < n; i++) m = values[i] > m ? values[i] : m;
    return m;
}

/* ---- RSS sampler ---------------------------------------------------------------------- */
static mcxb_sample g_samples[MCXB_SAMPLES_MAX];
static atomic_size_t g_sample_count;
static atomic_uint g_phase;
static atomic_int g_sampler_stop;
static pthread_t g_sampler;
static unsigned g_period_ms;
static uint64_t g_sampler_t0_ns;

static void *sampler_main(void *arg) {
    (void)arg;
    while (!atomic_load(&g_sampler_stop)) {
        size_t i = atomic_load(&g_sample_count);
        if (i < MCXB_SAMPLES_MAX) {
            g_samples[i].t_ms = (mcxb_now_ns() - g_sampler_t0_ns) / 1000000ULL;
            g_samples[i].rss_bytes = mcxb_rss_bytes();
            g_samples[i].phase = atomic_load(&g_phase);
            atomic_store(&g_sample_count, i + 1);
        }
        struct timespec ts = {0, (long)g_period_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int mcxb_sampler_start(unsigned period_ms) {
    g_period_ms = period_ms ? period_ms : 10;
    atomic_store(&g_sample_count, 0);
    atomic_store(&g_sampler_stop, 0);
    g_sampler_t0_ns = mcxb_now_ns();
    return pthread_create(&g_sampler, NULL, sampler_main, NULL) == 0 ? 0 : -1;
}

void mcxb_sampler_set_phase(uint32_t phase) { atomic_store(&g_phase, phase); }

const mcxb_sample *mcxb_sampler_stop(size_t *count) {
    atomic_store(&g_sampler_stop, 1);
    pthread_join(g_sampler, NULL);
    *count = atomic_load(&g_sample_count);
    return g_samples;
}

void mcxb_json_doubles(FILE *out, const double *values, size_t n) {
    fputc('[', out);
    for (size_t i = 0; i < n; i++) fprintf(out, "%s%.6g", i ? "," : "", values[i]);
    fputc(']', out);
}

const char *mcxb_arg(int argc, char **argv, const char *name) {
    size_t len = strlen(name);
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], name, len) != 0) continue;
        if (argv[i][len] == '=') return argv[i] + len + 1;
        if (argv[i][len] == '\0' && i + 1 < argc) return argv[i + 1];
    }
    return NULL;
}

int mcxb_flag(int argc, char **argv, const char *name) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return 1;
    return 0;
}
