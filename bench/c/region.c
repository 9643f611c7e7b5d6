/* region.c - issue 2's benchmark: the region workload (1e6 allocations of 16-256 B with seeded
 * sizes, one byte written to each, reset; 20 cycles) for memctx against glibc malloc/free and two
 * naive bump regions built here, interleaved in one process, with the four targets as ratios;
 * and (--rss-decay) the RSS fall after the last reset with the background thread.
 *
 * Usage: mcx_bench_region [--allocs N] [--cycles N] [--reps N] [--json FILE]
 *        mcx_bench_region --rss-decay [--allocs N] [--cycles N] [--json FILE]
 * Human-readable lines go to stderr, JSON to --json (default: none). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"
#include "memctx.h"
#include "naive_region.h"

#define SIZE_SEED 0x5EEDu
#define MAX_REPS 64
#define MAX_CYCLES 256

enum variant { V_NAIVE_KEEP, V_NAIVE_UNMAP, V_MEMCTX, V_MEMCTX_KEEP, V_GLIBC, V_COUNT };
static const char *const VARIANT_NAME[V_COUNT] = {"naive-keep", "naive-unmap", "memctx",
                                                  "memctx-keep", "glibc"};
static const char *const VARIANT_DOC[V_COUNT] = {
    "naive bump region over 1 MiB mmap chunks, keeps every chunk on reset",
    "naive bump region over 1 MiB mmap chunks, munmaps every chunk on reset",
    "memctx, default release policy (retain_bytes, decay_ms) + background thread",
    "memctx, keep-everything policy (retain 1 TiB, decay 1 h) + background thread",
    "glibc malloc, then free of every pointer"};

typedef struct run_cfg {
    size_t allocs;
    unsigned cycles;
    const uint16_t *sizes;
    void **ptrs; /* glibc only */
} run_cfg;

static mcx_config g_cfg_default, g_cfg_keep;

static void die(const char *what, int status) {
    fprintf(stderr, "mcx_bench_region: %s failed: %s (%s)\n", what, mcx_strerror(status),
            mcx_status_code(status));
    exit(1);
}

/* One run of the workload; cycle_ns receives each cycle's time, *cpu_ns the process CPU time of
 * the run. Returns the total wall ns of the cycles. */
static uint64_t run_variant(enum variant v, const run_cfg *rc, double *cycle_ns, double *cpu_ns) {
    uint64_t total = 0;
    const uint64_t cpu0 = mcxb_cpu_ns();
    const uint16_t *sizes = rc->sizes;
    const size_t n = rc->allocs;
    switch (v) {
    case V_NAIVE_KEEP:
    case V_NAIVE_UNMAP: {
        naive_region r;
        naive_init(&r, v == V_NAIVE_UNMAP);
        for (unsigned c = 0; c < rc->cycles; c++) {
            uint64_t t0 = mcxb_now_ns();
            for (size_t i = 0; i < n; i++) {
                char *p = naive_alloc(&r, sizes[i]);
                if (!p) die("naive_alloc", MCX_ENOMEM);
                *(volatile char *)p = (char)i;
            }
            naive_reset(&r);
            uint64_t dt = mcxb_now_ns() - t0;
            cycle_ns[c] = (double)dt;
            total += dt;
        }
        naive_destroy(&r);
        break;
    }
    case V_MEMCTX:
    case V_MEMCTX_KEEP: {
        /* Start cold like the naive regions do (they unmap everything at destroy). */
        int st = mcx_configure(v == V_MEMCTX ? &g_cfg_default : &g_cfg_keep);
        if (st != MCX_OK) die("mcx_configure", st);
        mcx_trim();
        mcx_context *ctx = mcx_context_create(NULL, NULL);
        if (!ctx) die("mcx_context_create", mcx_errno());
        for (unsigned c = 0; c < rc->cycles; c++) {
            uint64_t t0 = mcxb_now_ns();
            for (size_t i = 0; i < n; i++) {
                char *p = mcx_alloc_inline(ctx, sizes[i]);
                if (!p) die("mcx_alloc", mcx_errno());
                *(volatile char *)p = (char)i;
            }
            st = mcx_reset(ctx);
            if (st != MCX_OK) die("mcx_reset", st);
            uint64_t dt = mcxb_now_ns() - t0;
            cycle_ns[c] = (double)dt;
            total += dt;
        }
        st = mcx_delete(ctx);
        if (st != MCX_OK) die("mcx_delete", st);
        break;
    }
    case V_GLIBC: {
        void **ptrs = rc->ptrs;
        for (unsigned c = 0; c < rc->cycles; c++) {
            uint64_t t0 = mcxb_now_ns();
            for (size_t i = 0; i < n; i++) {
                char *p = malloc(sizes[i]);
                if (!p) die("malloc", MCX_ENOMEM);
                *(volatile char *)p = (char)i;
                ptrs[i] = p;
            }
            for (size_t i = 0; i < n; i++) free(ptrs[i]);
            uint64_t dt = mcxb_now_ns() - t0;
            cycle_ns[c] = (double)dt;
            total += dt;
        }
        break;
    }
    default:
        break;
    }
    *cpu_ns = (double)(mcxb_cpu_ns() - cpu0);
    return total;
}

static double ratio_miss_pct(double ratio, double target, int lower_is_better) {
    /* how far past the target, in percent of the target */
    return lower_is_better ? (ratio / target - 1) * 100 : (1 - ratio / target) * 100;
}

static void print_target(FILE *json, const char *id, const char *what, const double *ratios,
                         size_t n, double target, int lower_is_better, int *first) {
    double med = mcxb_median(ratios, n), lo = mcxb_min(ratios, n), hi = mcxb_max(ratios, n);
    int met = lower_is_better ? med <= target : med >= target;
    fprintf(stderr, "%s %-44s %6.2fx (min-max %.2f-%.2f; target %s %.2fx)", met ? "PASS" : "MISS",
            what, med, lo, hi, lower_is_better ? "<=" : ">=", target);
    if (!met) fprintf(stderr, " missed by %.1f%%", ratio_miss_pct(med, target, lower_is_better));
    fputc('\n', stderr);
    if (json) {
        fprintf(json,
                "%s\n    {\"id\":\"%s\",\"what\":\"%s\",\"median\":%.4f,\"min\":%.4f,\"max\":%.4f,"
                "\"target\":%.2f,\"direction\":\"%s\",\"met\":%s,\"missByPct\":%.2f,\"ratios\":",
                *first ? "" : ",", id, what, med, lo, hi, target, lower_is_better ? "<=" : ">=",
                met ? "true" : "false", met ? 0.0 : ratio_miss_pct(med, target, lower_is_better));
        mcxb_json_doubles(json, ratios, n);
        fputc('}', json);
        *first = 0;
    }
}

static int run_timing(size_t allocs, unsigned cycles, unsigned reps, FILE *json) {
    static double cycle_ns[V_COUNT][MAX_REPS][MAX_CYCLES];
    static double total_ns[V_COUNT][MAX_REPS];
    static double cpu_ns[V_COUNT][MAX_REPS];
    double ignored_cpu;
    uint16_t *sizes = mcxb_size_table(allocs, 16, 256, SIZE_SEED);
    void **ptrs = mcxb_map(allocs * sizeof(void *));
    if (!sizes || !ptrs) {
        fprintf(stderr, "mcx_bench_region: mapping the size table failed\n");
        return 1;
    }
    run_cfg rc = {allocs, cycles, sizes, ptrs};

    /* Warm-up round (2 cycles each, not recorded): code paths, glibc's heap, page tables. */
    run_cfg warm = rc;
    warm.cycles = cycles < 2 ? cycles : 2;
    for (int v = 0; v < V_COUNT; v++) run_variant((enum variant)v, &warm, cycle_ns[v][0], &ignored_cpu);

    /* Interleaved: A B C D E, A B C D E, ... so drift hits every variant alike. */
    for (unsigned r = 0; r < reps; r++) {
        for (int v = 0; v < V_COUNT; v++)
            total_ns[v][r] = (double)run_variant((enum variant)v, &rc, cycle_ns[v][r], &cpu_ns[v][r]);
        fprintf(stderr, "  round %u/%u done\n", r + 1, reps);
    }

    /* Per-variant figures: ns per allocation, and the steady cycle (cycles 2..N). */
    double ns_per_alloc[V_COUNT][MAX_REPS], steady_ns[V_COUNT][MAX_REPS];
    const double allocs_total = (double)allocs * cycles;
    fprintf(stderr, "\nregion workload: %zu allocations of 16-256 B x %u cycles, %u interleaved rounds\n",
            allocs, cycles, reps);
    fprintf(stderr, "%-12s %12s %18s %16s\n", "variant", "ns/alloc", "min-max", "steady cycle ms");
    for (int v = 0; v < V_COUNT; v++) {
        for (unsigned r = 0; r < reps; r++) {
            ns_per_alloc[v][r] = total_ns[v][r] / allocs_total;
            steady_ns[v][r] = cycles > 1 ? mcxb_median(&cycle_ns[v][r][1], cycles - 1)
                                         : cycle_ns[v][r][0];
        }
        fprintf(stderr, "%-12s %12.2f %8.2f-%-9.2f %16.2f\n", VARIANT_NAME[v],
                mcxb_median(ns_per_alloc[v], reps), mcxb_min(ns_per_alloc[v], reps),
                mcxb_max(ns_per_alloc[v], reps), mcxb_median(steady_ns[v], reps) / 1e6);
    }

    /* Paired ratios: each round's ratio, then the median of those. */
    double r_naive[MAX_REPS], r_glibc[MAX_REPS], r_steady[MAX_REPS];
    double c_naive[MAX_REPS], c_glibc[MAX_REPS];
    for (unsigned r = 0; r < reps; r++) {
        r_naive[r] = total_ns[V_MEMCTX][r] / total_ns[V_NAIVE_KEEP][r];
        r_glibc[r] = total_ns[V_GLIBC][r] / total_ns[V_MEMCTX][r];
        r_steady[r] = steady_ns[V_MEMCTX][r] / steady_ns[V_MEMCTX_KEEP][r];
        c_naive[r] = cpu_ns[V_MEMCTX][r] / cpu_ns[V_NAIVE_KEEP][r];
        c_glibc[r] = cpu_ns[V_GLIBC][r] / cpu_ns[V_MEMCTX][r];
    }
    fprintf(stderr, "(process CPU time, for comparison: memctx / naive-keep %.2fx, glibc / memctx %.2fx)\n",
            mcxb_median(c_naive, reps), mcxb_median(c_glibc, reps));
    fputc('\n', stderr);
    int first = 1;
    if (json) {
        fprintf(json, "{\n  \"benchmark\":\"region\",\"allocs\":%zu,\"cycles\":%u,\"rounds\":%u,"
                      "\"sizeMin\":16,\"sizeMax\":256,\"seed\":%u,\n",
                allocs, cycles, reps, SIZE_SEED);
        fprintf(json, "  \"config\":{\"retainBytes\":%zu,\"decayMs\":%llu,\"backgroundThread\":%d,"
                      "\"topChunkSize\":%zu},\n",
                g_cfg_default.retain_bytes, (unsigned long long)g_cfg_default.decay_ms,
                g_cfg_default.background_thread, g_cfg_default.top_chunk_size);
        fprintf(json, "  \"variants\":[");
        for (int v = 0; v < V_COUNT; v++) {
            fprintf(json, "%s\n    {\"name\":\"%s\",\"doc\":\"%s\",\"nsPerAlloc\":", v ? "," : "",
                    VARIANT_NAME[v], VARIANT_DOC[v]);
            mcxb_json_doubles(json, ns_per_alloc[v], reps);
            fprintf(json, ",\"cpuNsPerAlloc\":[");
            for (unsigned r = 0; r < reps; r++)
                fprintf(json, "%s%.4g", r ? "," : "", cpu_ns[v][r] / allocs_total);
            fprintf(json, "]");
            fprintf(json, ",\"steadyCycleNs\":");
            mcxb_json_doubles(json, steady_ns[v], reps);
            fprintf(json, ",\"firstCycleNs\":[");
            for (unsigned r = 0; r < reps; r++)
                fprintf(json, "%s%.0f", r ? "," : "", cycle_ns[v][r][0]);
            fprintf(json, "]}");
        }
        fprintf(json, "\n  ],\n  \"targets\":[");
    }
    print_target(json, "memctx-vs-naive", "memctx time / naive keep-everything region", r_naive,
                 reps, 1.2, 1, &first);
    print_target(json, "glibc-vs-memctx", "glibc malloc/free time / memctx time", r_glibc, reps,
                 8.0, 0, &first);
    print_target(json, "steady-vs-keep", "steady cycle: default policy / keep-everything",
                 r_steady, reps, 1.1, 1, &first);
    if (json) {
        fprintf(json, "\n  ],\n  \"cpuRatios\":{\"memctx-vs-naive\":");
        mcxb_json_doubles(json, c_naive, reps);
        fprintf(json, ",\"glibc-vs-memctx\":");
        mcxb_json_doubles(json, c_glibc, reps);
        fprintf(json, "}\n}\n");
    }
    mcxb_size_table_free(sizes, allocs);
    mcxb_unmap(ptrs, allocs * sizeof(void *));
    return 0;
}

/* --rss-decay: after the last reset, with no call from us, VmRSS must come back within
 * retain_bytes + 2 MiB of its baseline within decay_ms + 250 ms. */
static int run_rss_decay(size_t allocs, unsigned cycles, FILE *json) {
    uint16_t *sizes = mcxb_size_table(allocs, 16, 256, SIZE_SEED);
    if (!sizes) return 1;
    int st = mcx_configure(&g_cfg_default);
    if (st != MCX_OK) die("mcx_configure", st);
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    if (!ctx) die("mcx_context_create", mcx_errno());
    const uint64_t baseline = mcxb_rss_bytes();
    for (unsigned c = 0; c < cycles; c++) {
        for (size_t i = 0; i < allocs; i++) {
            char *p = mcx_alloc_inline(ctx, sizes[i]);
            if (!p) die("mcx_alloc", mcx_errno());
            *(volatile char *)p = (char)i;
        }
        if (c + 1 < cycles && (st = mcx_reset(ctx)) != MCX_OK) die("mcx_reset", st);
    }
    const uint64_t before_reset = mcxb_rss_bytes();
    if ((st = mcx_reset(ctx)) != MCX_OK) die("mcx_reset", st);
    const uint64_t t0 = mcxb_now_ns();
    const uint64_t limit = baseline + g_cfg_default.retain_bytes + 2 * MCXB_MIB;
    const uint64_t deadline_ms = g_cfg_default.decay_ms + 250;
    const uint64_t watch_ms = g_cfg_default.decay_ms + 3000;
    static uint64_t t_ms[4096], rss[4096];
    size_t n = 0;
    int64_t fell_ms = -1;
    /* Sample every 10 ms; nothing else is called (no allocation, no mcx_* call). */
    for (;;) {
        uint64_t now = (mcxb_now_ns() - t0) / 1000000ULL;
        uint64_t r = mcxb_rss_bytes();
        if (n < 4096) {
            t_ms[n] = now;
            rss[n] = r;
            n++;
        }
        if (r <= limit && fell_ms < 0) fell_ms = (int64_t)now;
        if (r > limit) fell_ms = -1; /* must stay down */
        if (now >= watch_ms) break;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    const uint64_t final_rss = mcxb_rss_bytes();
    int met = fell_ms >= 0 && (uint64_t)fell_ms <= deadline_ms;
    fprintf(stderr,
            "\nRSS after the last reset (background thread, no calls): baseline %.1f MiB, before "
            "reset %.1f MiB, limit baseline+retain+2MiB = %.1f MiB, final %.1f MiB\n",
            baseline / 1048576.0, before_reset / 1048576.0, limit / 1048576.0,
            final_rss / 1048576.0);
    if (fell_ms >= 0)
        fprintf(stderr, "%s RSS fell under the limit (and stayed) after %lld ms (target <= %llu ms)",
                met ? "PASS" : "MISS", (long long)fell_ms, (unsigned long long)deadline_ms);
    else
        fprintf(stderr, "MISS RSS did not stay under the limit within %llu ms (target <= %llu ms)",
                (unsigned long long)watch_ms, (unsigned long long)deadline_ms);
    if (!met && fell_ms >= 0)
        fprintf(stderr, " missed by %lld ms", (long long)(fell_ms - (int64_t)deadline_ms));
    fputc('\n', stderr);
    if (json) {
        struct mcx_global_stats gs;
        mcx_global_stats(&gs);
        fprintf(json,
                "{\"benchmark\":\"rss-decay\",\"allocs\":%zu,\"cycles\":%u,\"retainBytes\":%zu,"
                "\"decayMs\":%llu,\"baselineBytes\":%llu,\"beforeResetBytes\":%llu,"
                "\"limitBytes\":%llu,\"finalBytes\":%llu,\"fellMs\":%lld,\"deadlineMs\":%llu,"
                "\"met\":%s,\"munmapCalls\":%llu,\"madviseCalls\":%llu,\"maintainRuns\":%llu,"
                "\"samples\":[",
                allocs, cycles, g_cfg_default.retain_bytes,
                (unsigned long long)g_cfg_default.decay_ms, (unsigned long long)baseline,
                (unsigned long long)before_reset, (unsigned long long)limit,
                (unsigned long long)final_rss, (long long)fell_ms,
                (unsigned long long)deadline_ms, met ? "true" : "false",
                (unsigned long long)gs.munmap_calls, (unsigned long long)gs.madvise_calls,
                (unsigned long long)gs.maintain_runs);
        for (size_t i = 0; i < n; i++)
            fprintf(json, "%s[%llu,%llu]", i ? "," : "", (unsigned long long)t_ms[i],
                    (unsigned long long)rss[i]);
        fprintf(json, "]}\n");
    }
    mcx_delete(ctx);
    mcxb_size_table_free(sizes, allocs);
    return 0;
}

int main(int argc, char **argv) {
    const char *s;
    size_t allocs = (s = mcxb_arg(argc, argv, "--allocs")) ? strtoull(s, NULL, 10) : 1000000;
    unsigned cycles = (s = mcxb_arg(argc, argv, "--cycles")) ? (unsigned)atoi(s) : 20;
    unsigned reps = (s = mcxb_arg(argc, argv, "--reps")) ? (unsigned)atoi(s) : 5;
    if (allocs == 0 || cycles == 0 || cycles > MAX_CYCLES || reps == 0 || reps > MAX_REPS) {
        fprintf(stderr, "mcx_bench_region: bad --allocs/--cycles (1..%d)/--reps (1..%d)\n",
                MAX_CYCLES, MAX_REPS);
        return 2;
    }
    FILE *json = NULL;
    if ((s = mcxb_arg(argc, argv, "--json")) && !(json = fopen(s, "w"))) {
        fprintf(stderr, "mcx_bench_region: cannot write %s: %s\n", s, strerror(errno));
        return 2;
    }
    mcx_config_default(&g_cfg_default);
    g_cfg_default.background_thread = 1;
    g_cfg_keep = g_cfg_default;
    g_cfg_keep.retain_bytes = (size_t)1 << 40;
    g_cfg_keep.decay_ms = 3600u * 1000u;
    int rc = mcxb_flag(argc, argv, "--rss-decay") ? run_rss_decay(allocs, cycles, json)
                                                   : run_timing(allocs, cycles, reps, json);
    if (json) fclose(json);
    return rc;
}
