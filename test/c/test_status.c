/* test_status.c - tests status codes (mcx_strerror, mcx_status_code, mcx_errno per thread),
 * the configuration API (defaults, get, valid and invalid configure) and mcx_checking_enabled.
 *
 * Strategy: every code of MCX_STATUS_LIST is compared with the strings the header defines; every
 * config field is set to a bad value one at a time and the whole config must stay unchanged.
 */
#include <pthread.h>

#include "harness.h"

static void status_strings_for_every_code(void) {
    struct {
        int value;
        const char *code, *text;
    } table[] = {
#define X(name, value, code, text) {value, code, text},
        MCX_STATUS_LIST(X)
#undef X
    };
    size_t n = sizeof table / sizeof table[0];
    CHECK_U64(n, ==, 10);
    for (size_t i = 0; i < n; i++) {
        const char *code = mcx_status_code(table[i].value);
        const char *text = mcx_strerror(table[i].value);
        REQUIRE(code != NULL);
        REQUIRE(text != NULL);
        CHECK(strcmp(code, table[i].code) == 0);
        CHECK(strcmp(text, table[i].text) == 0);
        /* The codes are distinct, so the binding can map back from them. */
        for (size_t j = 0; j < i; j++) CHECK(strcmp(code, mcx_status_code(table[j].value)) != 0);
    }
    CHECK(MCX_OK == 0);
    CHECK(MCX_EBUSY == -9);
    /* Unknown codes still give a string. */
    int unknown[] = {1, 7, -10, -100, 12345, -2147483647 - 1};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *c = mcx_status_code(unknown[i]);
        const char *t = mcx_strerror(unknown[i]);
        REQUIRE(c != NULL);
        REQUIRE(t != NULL);
        CHECK(strlen(c) > 0);
        CHECK(strlen(t) > 0);
        CHECK(strcmp(c, "OK") != 0);
    }
}

static void *fail_in_thread(void *arg) {
    int *out = (int *)arg;
    void *p = mcx_alloc(NULL, 8); /* EINVAL in this thread */
    out[0] = p == NULL;
    out[1] = mcx_errno();
    return NULL;
}

static void errno_is_per_thread(void) {
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    CHECK_FAILS(mcx_alloc(ctx, MCX_ALLOC_MAX + 1), MCX_ETOOBIG);
    int out[2] = {0, 0};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, fail_in_thread, out) == 0);
    pthread_join(t, NULL);
    CHECK(out[0] == 1);
    CHECK_STATUS(out[1], MCX_EINVAL);
    /* The other thread's failure did not touch this thread's errno. */
    CHECK_STATUS(mcx_errno(), MCX_ETOOBIG);
    CHECK_OK(mcx_delete(ctx));
}

static int config_equal(const mcx_config *a, const mcx_config *b) {
    return a->top_chunk_size == b->top_chunk_size &&
           a->max_top_chunk_size == b->max_top_chunk_size &&
           a->retain_bytes == b->retain_bytes && a->decay_ms == b->decay_ms &&
           a->background_thread == b->background_thread;
}

static void config_defaults(void) {
    mcx_config d, cur;
    memset(&d, 0xEE, sizeof d);
    mcx_config_default(&d);
    CHECK_U64(d.top_chunk_size, ==, 4 * TH_MiB);
    CHECK_U64(d.max_top_chunk_size, ==, 1024 * TH_MiB);
    CHECK_U64(d.retain_bytes, ==, 4 * TH_MiB);
    CHECK_U64(d.decay_ms, ==, 1000);
    CHECK(d.background_thread == 0);
    /* Before any configure, the current configuration is the default one. */
    memset(&cur, 0xEE, sizeof cur);
    mcx_config_get(&cur);
    CHECK(config_equal(&d, &cur));
}

static void configure_valid(void) {
    mcx_config c;
    mcx_config_default(&c);
    c.top_chunk_size = 256 * TH_KiB; /* the documented minimum */
    c.max_top_chunk_size = 64 * TH_MiB;
    c.retain_bytes = 0;
    c.decay_ms = 0;
    CHECK_OK(mcx_configure(&c));
    mcx_config got;
    mcx_config_get(&got);
    CHECK(config_equal(&c, &got));

    /* The new first size is used: with nothing mapped, a new context lives in a 256 KiB top
     * chunk. */
    mcx_trim();
    mcx_top_info tops[8];
    size_t count = 99;
    CHECK_OK(mcx_top_chunks(tops, 8, &count));
    CHECK_U64(count, ==, 0);
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    CHECK_OK(mcx_top_chunks(tops, 8, &count));
    REQUIRE(count >= 1);
    CHECK_U64(tops[0].size, ==, 256 * TH_KiB);
    CHECK_OK(mcx_delete(ctx));

    c.top_chunk_size = 8 * TH_MiB;
    c.max_top_chunk_size = 8 * TH_MiB; /* ceiling equal to the first size: no doubling */
    c.retain_bytes = 1;                /* any byte count */
    c.decay_ms = 60000;
    CHECK_OK(mcx_configure(&c));
    mcx_config_get(&got);
    CHECK(config_equal(&c, &got));

    c.background_thread = 1;
    c.decay_ms = 50;
    CHECK_OK(mcx_configure(&c));
    mcx_config_get(&got);
    CHECK(config_equal(&c, &got));
    c.background_thread = 0; /* and the thread stops again */
    CHECK_OK(mcx_configure(&c));
    mcx_config_get(&got);
    CHECK(config_equal(&c, &got));

    mcx_config_default(&c);
    CHECK_OK(mcx_configure(&c));
    mcx_config_get(&got);
    CHECK(config_equal(&c, &got));
    CHECK_OK(mcx_check(NULL));
}

static void configure_invalid_changes_nothing(void) {
    mcx_config before, bad, after;
    mcx_config_default(&before);
    before.retain_bytes = 3 * TH_MiB; /* a non-default current config, to see it kept */
    before.decay_ms = 777;
    CHECK_OK(mcx_configure(&before));

    CHECK_STATUS(mcx_configure(NULL), MCX_EINVAL);
    mcx_config_get(&after);
    CHECK(config_equal(&before, &after));

    size_t bad_sizes[] = {0, 1, 4096, 128 * TH_KiB, 256 * TH_KiB + 4096, 3 * TH_MiB,
                          5 * TH_MiB + 1};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        bad = before;
        bad.top_chunk_size = bad_sizes[i];
        CHECK_STATUS(mcx_configure(&bad), MCX_EINVAL);
        mcx_config_get(&after);
        CHECK(config_equal(&before, &after));
    }
    /* Ceiling below the first size. */
    bad = before;
    bad.top_chunk_size = 8 * TH_MiB;
    bad.max_top_chunk_size = 4 * TH_MiB;
    CHECK_STATUS(mcx_configure(&bad), MCX_EINVAL);
    mcx_config_get(&after);
    CHECK(config_equal(&before, &after));
    /* A bad field next to good changes: nothing is applied. */
    bad = before;
    bad.retain_bytes = 99 * TH_MiB;
    bad.decay_ms = 5;
    bad.top_chunk_size = 1000;
    CHECK_STATUS(mcx_configure(&bad), MCX_EINVAL);
    mcx_config_get(&after);
    CHECK(config_equal(&before, &after));
    CHECK_OK(mcx_check(NULL));
}

static void checking_enabled_matches_build(void) {
#ifdef MEMCTX_CHECKING
    CHECK(mcx_checking_enabled() == 1);
#else
    CHECK(mcx_checking_enabled() == 0);
#endif
    CHECK(mcx_now_ms() > 0);
    uint64_t a = mcx_now_ms();
    th_sleep_ms(20);
    uint64_t b = mcx_now_ms();
    CHECK_U64(b, >=, a + 15);
    CHECK_U64(b, <, a + 5000);
}

TH_MAIN(TH_TEST(config_defaults), TH_TEST(status_strings_for_every_code),
        TH_TEST(errno_is_per_thread), TH_TEST(configure_valid),
        TH_TEST(configure_invalid_changes_nothing), TH_TEST(checking_enabled_matches_build))
