/* harness.h - owns the header-only harness of the C test suite: CHECK/REQUIRE macros that print
 * file:line and the expression and count failures, a test runner (th_main), the scale factor
 * MEMCTX_TEST_SCALE that shrinks loops under sanitizers/valgrind, and small shared helpers
 * (byte patterns, VmRSS, global stats, tool detection).
 *
 * Every test program is one process: memctx's top-chunk layer and configuration are global, so
 * programs do not share state, and ctest can run them in parallel.
 */
#ifndef MEMCTX_TEST_HARNESS_H
#define MEMCTX_TEST_HARNESS_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memctx.h"

#if defined(__SANITIZE_ADDRESS__)
#define TH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TH_ASAN 1
#endif
#endif
#ifndef TH_ASAN
#define TH_ASAN 0
#endif
#if TH_ASAN
#include <sanitizer/asan_interface.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>) && __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#define TH_HAVE_VALGRIND_H 1
#endif
#endif
#ifndef TH_HAVE_VALGRIND_H
#define TH_HAVE_VALGRIND_H 0
#endif

static int th_failures;        /* failed checks in the whole program */
static long th_checks;         /* checks evaluated */
static int th_test_failures;   /* failed checks in the current test */

static inline void th_fail(const char *file, int line, const char *expr, const char *detail) {
    th_failures++;
    th_test_failures++;
    fprintf(stderr, "%s:%d: CHECK failed: %s%s%s\n", file, line, expr, detail ? "  -- " : "",
            detail ? detail : "");
    fflush(stderr);
}

/* CHECK: count a failure and go on. REQUIRE: count a failure and leave the test function (use
 * it where going on would dereference NULL). */
#define CHECK(expr)                                                \
    do {                                                           \
        th_checks++;                                               \
        if (!(expr)) th_fail(__FILE__, __LINE__, #expr, NULL);     \
    } while (0)

#define REQUIRE(expr)                                              \
    do {                                                           \
        th_checks++;                                               \
        if (!(expr)) {                                             \
            th_fail(__FILE__, __LINE__, #expr, "(test stopped)");  \
            return;                                                \
        }                                                          \
    } while (0)

/* Unsigned comparisons that print both values. */
#define TH_CMP_U64(a, op, b, isreq)                                                           \
    do {                                                                                      \
        uint64_t th_a_ = (uint64_t)(a), th_b_ = (uint64_t)(b);                                \
        th_checks++;                                                                          \
        if (!(th_a_ op th_b_)) {                                                              \
            char th_d_[160];                                                                  \
            snprintf(th_d_, sizeof th_d_, "%" PRIu64 " " #op " %" PRIu64 " is false", th_a_,  \
                     th_b_);                                                                  \
            th_fail(__FILE__, __LINE__, #a " " #op " " #b, th_d_);                            \
            if (isreq) return;                                                                \
        }                                                                                     \
    } while (0)
#define CHECK_U64(a, op, b) TH_CMP_U64(a, op, b, 0)
#define REQUIRE_U64(a, op, b) TH_CMP_U64(a, op, b, 1)

/* Status comparisons that print the status codes by name. */
#define CHECK_STATUS(expr, expected)                                                          \
    do {                                                                                      \
        int th_s_ = (expr), th_e_ = (expected);                                               \
        th_checks++;                                                                          \
        if (th_s_ != th_e_) {                                                                 \
            char th_d_[160];                                                                  \
            snprintf(th_d_, sizeof th_d_, "got %d (%s), expected %d (%s)", th_s_,             \
                     mcx_status_code(th_s_), th_e_, mcx_status_code(th_e_));                  \
            th_fail(__FILE__, __LINE__, #expr " == " #expected, th_d_);                       \
        }                                                                                     \
    } while (0)
#define CHECK_OK(expr) CHECK_STATUS(expr, MCX_OK)

/* A pointer-returning call that must fail with NULL and set mcx_errno() to code. */
#define CHECK_FAILS(ptr_expr, code)                                                           \
    do {                                                                                      \
        const void *th_p_ = (const void *)(ptr_expr);                                         \
        int th_e_ = mcx_errno();                                                              \
        th_checks++;                                                                          \
        if (th_p_ != NULL || th_e_ != (code)) {                                               \
            char th_d_[200];                                                                  \
            snprintf(th_d_, sizeof th_d_, "got %p with errno %d (%s), expected NULL and %s",  \
                     th_p_, th_e_, mcx_status_code(th_e_), mcx_status_code(code));            \
            th_fail(__FILE__, __LINE__, #ptr_expr, th_d_);                                    \
        }                                                                                     \
    } while (0)

/* ---- scale -------------------------------------------------------------------------------- */
/* MEMCTX_TEST_SCALE (default 1.0): the sanitizer run sets 0.25, valgrind 0.05. */
static inline double th_scale(void) {
    static double scale = -1.0;
    if (scale < 0) {
        const char *env = getenv("MEMCTX_TEST_SCALE");
        double v = env ? strtod(env, NULL) : 1.0;
        scale = (v > 0 && v <= 100) ? v : 1.0;
    }
    return scale;
}
/* n scaled, never below min. */
static inline size_t th_scaled(size_t n, size_t min) {
    double v = (double)n * th_scale();
    size_t s = (size_t)v;
    return s < min ? min : s;
}

/* ---- tools -------------------------------------------------------------------------------- */
static inline int th_under_valgrind(void) {
#if TH_HAVE_VALGRIND_H
    return RUNNING_ON_VALGRIND ? 1 : 0;
#else
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "vgpreload") ? 1 : 0;
#endif
}
static inline int th_under_asan(void) { return TH_ASAN; }

static inline void th_skip(const char *what, const char *why) {
    printf("  SKIP %s: %s\n", what, why);
    fflush(stdout);
}

/* ---- helpers ------------------------------------------------------------------------------ */
#define TH_KiB ((size_t)1024)
#define TH_MiB ((size_t)1024 * 1024)

/* Context options with the given name and sizes (0 = the core's default). */
static inline mcx_context_options th_opts(const char *name, size_t initial, size_t max, size_t limit) {
    mcx_context_options o;
    memset(&o, 0, sizeof o);
    o.name = name;
    o.initial_size = initial;
    o.max_chunk_size = max;
    o.limit_bytes = limit;
    return o;
}

static inline struct mcx_global_stats th_global(void) {
    struct mcx_global_stats g;
    memset(&g, 0, sizeof g);
    mcx_global_stats(&g);
    return g;
}

static inline struct mcx_context_stats th_ctx_stats(const mcx_context *ctx) {
    struct mcx_context_stats s;
    memset(&s, 0, sizeof s);
    if (mcx_context_stats(ctx, &s) != MCX_OK) memset(&s, 0, sizeof s);
    return s;
}

/* mcx_free's verdict on ptr, an object (or not) of ctx: at once, or when mcx_free_flush checks it
 * (a release build reads the header a few frees later). */
static inline int th_free(mcx_context *ctx, void *ptr) {
    int st = mcx_free(ptr);
    int later = mcx_free_flush(ctx);
    return st != MCX_OK ? st : later;
}

/* Byte i of the pattern of allocation id: differs between ids and along the allocation. */
static inline unsigned char th_pattern_byte(uint64_t id, size_t i) {
    uint64_t x = id * 0x9E3779B97F4A7C15ull + (uint64_t)i * 0x2545F4914F6CDD1Dull;
    return (unsigned char)(x >> 56);
}
/* Bytes of [p, p + n) that are not zero. Under Valgrind a fresh allocation is "undefined" to
 * memcheck even where it is zero: it is the value that is checked, so the bytes are declared
 * defined first. */
static inline size_t th_nonzero_bytes(const void *p, size_t n) {
#if TH_HAVE_VALGRIND_H
    VALGRIND_MAKE_MEM_DEFINED(p, n);
#endif
    const unsigned char *b = p;
    size_t nz = 0;
    for (size_t i = 0; i < n; i++) nz += b[i] != 0;
    return nz;
}

static inline void th_fill(void *p, size_t n, uint64_t id) {
    unsigned char *b = (unsigned char *)p;
    for (size_t i = 0; i < n; i++) b[i] = th_pattern_byte(id, i);
}
/* Index of the first wrong byte, or n when all are right. */
static inline size_t th_verify(const void *p, size_t n, uint64_t id) {
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != th_pattern_byte(id, i)) return i;
    return n;
}

/* VmRSS of this process from /proc/self/status, bytes; 0 when unreadable. */
static inline uint64_t th_vmrss_bytes(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    uint64_t kib = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtoull(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib * 1024;
}

static inline void th_sleep_ms(unsigned ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Small seeded PRNG (xorshift64*), deterministic across platforms. */
typedef struct th_rng {
    uint64_t s;
} th_rng;
static inline void th_rng_seed(th_rng *r, uint64_t seed) {
    r->s = seed ? seed : 0x853c49e6748fea9bull;
}
static inline uint64_t th_rand(th_rng *r) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}
/* Uniform in [0, n). */
static inline uint64_t th_below(th_rng *r, uint64_t n) { return n ? th_rand(r) % n : 0; }

/* ---- runner ------------------------------------------------------------------------------- */
typedef struct th_test {
    const char *name;
    void (*fn)(void);
} th_test;
#define TH_TEST(fn) {#fn, fn}

/* Run every test (or, with arguments, only the tests named), print one line per test and a
 * summary; exit status 0 when no check failed. */
static inline int th_main(int argc, char **argv, const th_test *tests, size_t count) {
    int ran = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("scale %.3g%s%s, checking build %d\n", th_scale(), th_under_asan() ? ", ASan" : "",
           th_under_valgrind() ? ", valgrind" : "", mcx_checking_enabled());
    for (size_t i = 0; i < count; i++) {
        int wanted = argc < 2;
        for (int a = 1; a < argc; a++)
            if (strcmp(argv[a], tests[i].name) == 0) wanted = 1;
        if (!wanted) continue;
        th_test_failures = 0;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        tests[i].fn();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        printf("%s %s (%.0f ms)\n", th_test_failures ? "FAIL" : "ok  ", tests[i].name, ms);
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "no test matched the arguments\n");
        return 2;
    }
    printf("%d tests, %ld checks, %d failed\n", ran, th_checks, th_failures);
    return th_failures ? 1 : 0;
}

#define TH_MAIN(...)                                                                       \
    int main(int argc, char **argv) {                                                      \
        static const th_test th_tests_[] = {__VA_ARGS__};                                  \
        return th_main(argc, argv, th_tests_, sizeof th_tests_ / sizeof th_tests_[0]);    \
    }

#endif /* MEMCTX_TEST_HARNESS_H */
