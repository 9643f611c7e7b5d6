/* peer_main.c - driver of one peer benchmark process: makes the seeded tables, runs one workload
 * for one backend compiled into this executable, prints one JSON object on stdout.
 *
 * Usage: <exe> --list
 *        <exe> --backend NAME --workload region|requests|mixed|ramp [--scale X] [--cycles N]
 *              [--idle-ms N] [--no-warmup] [--callgrind]
 * One allocator per process: libmimalloc and libjemalloc (as Debian ships them) replace malloc
 * for the whole process, so they get executables of their own, and RSS figures stay separate. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "peer.h"

mcxb_tables mcxb_tab;

/* Weak references: each executable links only some backend files; absent ones are NULL. */
#define MCXB_ALL_BACKENDS(X)                                                                   \
    X(memctx) X(memctx_clean) X(glibc) X(glibc_trim) X(naive_keep) X(naive_unmap) X(mimalloc_heap)           \
        X(mimalloc_free) X(jemalloc_arena) X(jemalloc_free) X(apr_pool) X(talloc)
#define MCXB_X_DECL(id) extern const mcxb_backend mcxb_backend_##id __attribute__((weak));
MCXB_ALL_BACKENDS(MCXB_X_DECL)
#undef MCXB_X_DECL
#define MCXB_X_ADDR(id) &mcxb_backend_##id,
static const mcxb_backend *const ALL[] = {MCXB_ALL_BACKENDS(MCXB_X_ADDR)};
#undef MCXB_X_ADDR
#define N_ALL (sizeof ALL / sizeof ALL[0])

#define REGION_SEED 0x5EEDu /* same as region.c: the same sizes in both programs */

static void json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static int make_tables(size_t region_allocs) {
    mcxb_tab.region_count = region_allocs;
    uint16_t *region = mcxb_size_table(region_allocs, 16, 256, REGION_SEED);
    uint16_t *req = mcxb_size_table(MCXB_TABLE_MASK + 1, 16, 2048, 0xBEEF);
    uint16_t *mixed = mcxb_size_table(MCXB_TABLE_MASK + 1, 16, 512, 0xF00D);
    uint16_t *counts = mcxb_size_table(MCXB_TABLE_MASK + 1, 20, 200, 0xC0DE);
    uint32_t *picks = mcxb_map((MCXB_PICKS_MASK + 1) * sizeof(uint32_t));
    if (!region || !req || !mixed || !counts || !picks) return -1;
    mcxb_rng rng = mcxb_rng_seed(0x1CE);
    for (uint32_t i = 0; i <= MCXB_PICKS_MASK; i++) picks[i] = (uint32_t)mcxb_rng_next(&rng);
    mcxb_tab.region_sizes = region;
    mcxb_tab.request_sizes = req;
    mcxb_tab.mixed_sizes = mixed;
    mcxb_tab.session_counts = counts;
    mcxb_tab.mixed_picks = picks;
    return 0;
}

int main(int argc, char **argv) {
    if (mcxb_flag(argc, argv, "--list")) {
        for (size_t i = 0; i < N_ALL; i++)
            if (ALL[i]) printf("%s\t%s\n", ALL[i]->name, ALL[i]->doc);
        return 0;
    }
    const char *name = mcxb_arg(argc, argv, "--backend");
    const char *workload = mcxb_arg(argc, argv, "--workload");
    const char *s;
    mcxb_opts o = {1.0, 1, 0, 2000, 20};
    if ((s = mcxb_arg(argc, argv, "--scale"))) o.scale = strtod(s, NULL);
    if ((s = mcxb_arg(argc, argv, "--cycles"))) o.cycles = (unsigned)atoi(s);
    if ((s = mcxb_arg(argc, argv, "--idle-ms"))) o.idle_ms = (unsigned)atoi(s);
    if (mcxb_flag(argc, argv, "--no-warmup")) o.warmup = 0;
    if (mcxb_flag(argc, argv, "--callgrind")) o.callgrind = 1;
    if (!name || !workload || !(o.scale > 0) || o.cycles == 0) {
        fprintf(stderr, "usage: %s --backend NAME --workload region|requests|mixed|ramp "
                        "[--scale X>0] [--cycles N>0] [--idle-ms N] [--no-warmup] [--callgrind]\n",
                argv[0]);
        return 2;
    }
    const mcxb_backend *b = NULL;
    for (size_t i = 0; i < N_ALL; i++)
        if (ALL[i] && strcmp(ALL[i]->name, name) == 0) b = ALL[i];
    if (!b) {
        fprintf(stderr, "%s: backend '%s' is not in this executable (see --list)\n", argv[0], name);
        return 2;
    }
    size_t region_allocs = (size_t)(1000000 * o.scale);
    if (make_tables(region_allocs ? region_allocs : 1) != 0) {
        fprintf(stderr, "%s: mapping the size tables failed\n", argv[0]);
        return 1;
    }
    mcxb_result res = {0};
    int rc = b->run(workload, &o, &res);
    printf("{\"backend\":");
    json_string(stdout, b->name);
    printf(",\"doc\":");
    json_string(stdout, b->doc);
    printf(",\"workload\":");
    json_string(stdout, workload);
    printf(",\"scale\":%g", o.scale);
    if (rc == MCXB_SKIP) {
        printf(",\"skip\":");
        json_string(stdout, res.skip);
        printf("}\n");
        return 0;
    }
    if (rc != 0) {
        printf(",\"error\":");
        json_string(stdout, res.error ? res.error : "failed");
        printf("}\n");
        return 1;
    }
    printf(",\"ns\":%llu,\"cpuNs\":%llu,\"ops\":%llu,\"units\":%llu,\"peakRssBytes\":%llu,\"rssEndBytes\":%llu,"
           "\"rssAfterBytes\":%llu",
           (unsigned long long)res.ns, (unsigned long long)res.cpu_ns, (unsigned long long)res.ops,
           (unsigned long long)res.units, (unsigned long long)res.peak_rss_bytes,
           (unsigned long long)res.rss_end_bytes, (unsigned long long)res.rss_after_bytes);
    if (strcmp(workload, "region") == 0) printf(",\"cycles\":%u", o.cycles);
    if (strcmp(workload, "ramp") == 0) printf(",\"idleMs\":%u", o.idle_ms);
    if (res.samples) {
        printf(",\"samples\":[");
        for (size_t i = 0; i < res.sample_count; i++)
            printf("%s[%llu,%llu,%u]", i ? "," : "", (unsigned long long)res.samples[i].t_ms,
                   (unsigned long long)res.samples[i].rss_bytes, res.samples[i].phase);
        printf("]");
    }
    printf("}\n");
    return 0;
}
