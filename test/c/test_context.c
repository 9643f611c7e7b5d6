/* test_context.c - tests context creation (options, defaults, bad options, names), the tree
 * (navigation, mcx_set_parent with cycle refusal, delete of subtrees) and deep trees (100000
 * levels: create, check, reset and delete run on a small stack so recursion would overflow).
 */
#include <pthread.h>

#include "harness.h"

static size_t first_chunk_size(const mcx_context *ctx) {
    mcx_chunk_info info[4];
    size_t count = 0;
    if (mcx_context_chunks(ctx, info, 4, &count) != MCX_OK || count == 0) return 0;
    return (size_t)info[0].size;
}

static void create_defaults(void) {
    struct mcx_global_stats g0 = th_global();
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    REQUIRE(ctx != NULL);
    CHECK(strcmp(mcx_name(ctx), "context") == 0);
    CHECK(mcx_parent(ctx) == NULL);
    CHECK(mcx_first_child(ctx) == NULL);
    struct mcx_context_stats s = th_ctx_stats(ctx);
    CHECK(s.name != NULL && strcmp(s.name, "context") == 0);
    CHECK_U64(s.limit_bytes, ==, 0);
    CHECK_U64(s.chunk_count, ==, 1);
    CHECK_U64(s.large_count, ==, 0);
    CHECK_U64(s.child_count, ==, 0);
    CHECK_U64(s.used_bytes + s.free_bytes, ==, s.total_bytes);
    CHECK_U64(first_chunk_size(ctx), ==, 8 * TH_KiB); /* default first process chunk */
    CHECK(mcx_large_threshold(ctx) > 0);
    struct mcx_global_stats g1 = th_global();
    CHECK_U64(g1.context_count, ==, g0.context_count + 1);
    CHECK_U64(g1.contexts_created, ==, g0.contexts_created + 1);

    /* Options with zeros are the defaults too; a NULL name is "context". */
    mcx_context_options o = th_opts(NULL, 0, 0, 0);
    mcx_context *c2 = mcx_context_create(ctx, &o);
    REQUIRE(c2 != NULL);
    CHECK(strcmp(mcx_name(c2), "context") == 0);
    CHECK_U64(first_chunk_size(c2), ==, 8 * TH_KiB);
    CHECK(mcx_parent(c2) == ctx);
    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
    struct mcx_global_stats g2 = th_global();
    CHECK_U64(g2.context_count, ==, g0.context_count);
    CHECK_U64(g2.contexts_created, ==, g0.contexts_created + 2);
    CHECK_OK(mcx_check(NULL));
}

static void create_with_options(void) {
    mcx_context_options o = th_opts("request", 64 * TH_KiB, 256 * TH_KiB, 4 * TH_MiB);
    mcx_context *ctx = mcx_context_create(NULL, &o);
    REQUIRE(ctx != NULL);
    CHECK(strcmp(mcx_name(ctx), "request") == 0);
    CHECK_U64(first_chunk_size(ctx), ==, 64 * TH_KiB);
    struct mcx_context_stats s = th_ctx_stats(ctx);
    CHECK_U64(s.limit_bytes, ==, 4 * TH_MiB);
    CHECK_U64(s.total_bytes, >=, 64 * TH_KiB);

    /* The smallest first chunk (4 KiB). */
    mcx_context_options small = th_opts("small", 4 * TH_KiB, 0, 0);
    mcx_context *c2 = mcx_context_create(ctx, &small);
    REQUIRE(c2 != NULL);
    CHECK_U64(first_chunk_size(c2), ==, 4 * TH_KiB);

    /* A big first chunk (4 MiB) and chain (8 MiB): kept by reset like any first chunk. */
    mcx_context_options bigo = th_opts("big", 4 * TH_MiB, 8 * TH_MiB, 0);
    mcx_context *big = mcx_context_create(ctx, &bigo);
    REQUIRE(big != NULL);
    CHECK_U64(first_chunk_size(big), ==, 4 * TH_MiB);
    for (int i = 0; i < 3000; i++) REQUIRE(mcx_alloc(big, 2000) != NULL);
    struct mcx_context_stats bs = th_ctx_stats(big);
    CHECK_U64(bs.chunk_count, ==, 2);
    CHECK_U64(bs.total_bytes, ==, 12 * TH_MiB);
    CHECK_OK(mcx_reset(big));
    CHECK_U64(th_ctx_stats(big).total_bytes, ==, 4 * TH_MiB);
    CHECK_OK(mcx_check(big));

    /* The name is copied: changing the caller's buffer does not change it. */
    char buf[16];
    strcpy(buf, "copied");
    mcx_context_options named = th_opts(buf, 0, 0, 0);
    mcx_context *c3 = mcx_context_create(ctx, &named);
    REQUIRE(c3 != NULL);
    strcpy(buf, "changed");
    CHECK(strcmp(mcx_name(c3), "copied") == 0);

    /* Long names are truncated to MCX_NAME_MAX characters. */
    char longname[200];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    longname[0] = 'L';
    mcx_context_options lo = th_opts(longname, 0, 0, 0);
    mcx_context *c4 = mcx_context_create(ctx, &lo);
    REQUIRE(c4 != NULL);
    CHECK_U64(strlen(mcx_name(c4)), ==, MCX_NAME_MAX);
    CHECK(strncmp(mcx_name(c4), longname, MCX_NAME_MAX) == 0);
    /* An empty name stays empty. */
    mcx_context_options eo = th_opts("", 0, 0, 0);
    mcx_context *c5 = mcx_context_create(ctx, &eo);
    REQUIRE(c5 != NULL);
    CHECK(strcmp(mcx_name(c5), "") == 0);

    CHECK_OK(mcx_check(ctx));
    CHECK_OK(mcx_delete(ctx));
    CHECK_OK(mcx_check(NULL));
}

static void create_bad_options(void) {
    struct mcx_global_stats g0 = th_global();
    mcx_context *root = mcx_context_create(NULL, NULL);
    REQUIRE(root != NULL);
    mcx_context_options o;

    o = th_opts("inverted", 64 * TH_KiB, 16 * TH_KiB, 0); /* ceiling below the first chunk */
    CHECK_FAILS(mcx_context_create(root, &o), MCX_EINVAL);
    o = th_opts("cramped", 64 * TH_KiB, 0, 16 * TH_KiB); /* limit below the first chunk */
    CHECK_FAILS(mcx_context_create(root, &o), MCX_EINVAL);
    o = th_opts("huge", MCX_ALLOC_MAX + 1, 0, 0);
    void *p = mcx_context_create(root, &o);
    int e = mcx_errno();
    CHECK(p == NULL);
    CHECK(e == MCX_EINVAL || e == MCX_ETOOBIG);

    /* Sizes that are not bad: below the 4 KiB minimum is raised to it; others are rounded up
     * to a power of two. */
    o = th_opts("tiny", 1000, 0, 0);
    mcx_context *tiny = mcx_context_create(root, &o);
    REQUIRE(tiny != NULL);
    CHECK_U64(first_chunk_size(tiny), ==, 4 * TH_KiB);
    o = th_opts("odd", 5000, 0, 0);
    mcx_context *odd = mcx_context_create(root, &o);
    REQUIRE(odd != NULL);
    CHECK_U64(first_chunk_size(odd), ==, 8 * TH_KiB);
    CHECK_OK(mcx_delete(tiny));
    CHECK_OK(mcx_delete(odd));

    /* Nothing was left behind by the failures. */
    CHECK(mcx_first_child(root) == NULL);
    CHECK_U64(th_global().context_count, ==, g0.context_count + 1);
    CHECK_OK(mcx_check(root));
    /* And the parent still works. */
    void *a = mcx_alloc(root, 100);
    CHECK(a != NULL);
    CHECK_OK(mcx_delete(root));
    CHECK_OK(mcx_check(NULL));
}

static int contains_child(const mcx_context *parent, const mcx_context *child) {
    for (mcx_context *c = mcx_first_child(parent); c; c = mcx_next_sibling(c))
        if (c == child) return 1;
    return 0;
}
static size_t count_children(const mcx_context *parent) {
    size_t n = 0;
    for (mcx_context *c = mcx_first_child(parent); c; c = mcx_next_sibling(c)) n++;
    return n;
}

static void tree_navigation(void) {
    mcx_context_options o = th_opts("root", 0, 0, 0);
    mcx_context *root = mcx_context_create(NULL, &o);
    REQUIRE(root != NULL);
    mcx_context *kids[5];
    char name[16];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "kid%d", i);
        o = th_opts(name, 0, 0, 0);
        kids[i] = mcx_context_create(root, &o);
        REQUIRE(kids[i] != NULL);
        CHECK(mcx_parent(kids[i]) == root);
        CHECK(strcmp(mcx_name(kids[i]), name) == 0);
    }
    o = th_opts("grandkid", 0, 0, 0);
    mcx_context *gk = mcx_context_create(kids[2], &o);
    REQUIRE(gk != NULL);

    CHECK_U64(count_children(root), ==, 5);
    for (int i = 0; i < 5; i++) CHECK(contains_child(root, kids[i]));
    CHECK(mcx_first_child(kids[2]) == gk);
    CHECK(mcx_next_sibling(gk) == NULL);
    CHECK(mcx_parent(gk) == kids[2]);
    CHECK(mcx_next_sibling(root) == NULL);
    CHECK_U64(th_ctx_stats(root).child_count, ==, 5);
    CHECK_U64(th_ctx_stats(kids[2]).child_count, ==, 1);

    /* NULL in, NULL out. */
    CHECK(mcx_parent(NULL) == NULL);
    CHECK(mcx_first_child(NULL) == NULL);
    CHECK(mcx_next_sibling(NULL) == NULL);
    CHECK(mcx_name(NULL) == NULL);

    /* Deleting a middle child unlinks it and its subtree. */
    struct mcx_global_stats g0 = th_global();
    CHECK_OK(mcx_delete(kids[2]));
    CHECK_U64(th_global().context_count, ==, g0.context_count - 2);
    CHECK_U64(count_children(root), ==, 4);
    CHECK(!contains_child(root, kids[2]));
    CHECK_U64(th_ctx_stats(root).child_count, ==, 4);
    CHECK_OK(mcx_check(root));
    /* Deleting the first and the last of the list. */
    mcx_context *first = mcx_first_child(root);
    CHECK_OK(mcx_delete(first));
    mcx_context *last = mcx_first_child(root);
    while (last && mcx_next_sibling(last)) last = mcx_next_sibling(last);
    REQUIRE(last != NULL);
    CHECK_OK(mcx_delete(last));
    CHECK_U64(count_children(root), ==, 2);
    CHECK_OK(mcx_check(root));
    CHECK_OK(mcx_delete(root));
    CHECK_OK(mcx_check(NULL));
}

static void set_parent_moves_and_refuses_cycles(void) {
    mcx_context *a = mcx_context_create(NULL, NULL);
    mcx_context *b = mcx_context_create(NULL, NULL);
    REQUIRE(a && b);
    mcx_context *a1 = mcx_context_create(a, NULL);
    mcx_context *a11 = mcx_context_create(a1, NULL);
    REQUIRE(a1 && a11);
    void *p = mcx_alloc(a11, 100);
    REQUIRE(p != NULL);
    th_fill(p, 100, 7);

    /* Cycles: onto itself, under its child, under its grandchild. */
    CHECK_STATUS(mcx_set_parent(a, a), MCX_EINVAL);
    CHECK_STATUS(mcx_set_parent(a, a1), MCX_EINVAL);
    CHECK_STATUS(mcx_set_parent(a, a11), MCX_EINVAL);
    CHECK_STATUS(mcx_set_parent(a1, a11), MCX_EINVAL);
    CHECK(mcx_parent(a) == NULL);
    CHECK(mcx_parent(a1) == a);
    CHECK_OK(mcx_check(a));
    CHECK_STATUS(mcx_set_parent(NULL, a), MCX_EINVAL);

    /* Move a1 (with its child) under b. */
    CHECK_OK(mcx_set_parent(a1, b));
    CHECK(mcx_parent(a1) == b);
    CHECK(contains_child(b, a1));
    CHECK(!contains_child(a, a1));
    CHECK_U64(th_ctx_stats(a).child_count, ==, 0);
    CHECK_U64(th_ctx_stats(b).child_count, ==, 1);
    CHECK_OK(mcx_check(a));
    CHECK_OK(mcx_check(b));
    /* Now a under a11 is legal (a is no longer an ancestor). */
    CHECK_OK(mcx_set_parent(a, a11));
    CHECK(mcx_parent(a) == a11);
    /* and b under a is a cycle (b -> a1 -> a11 -> a). */
    CHECK_STATUS(mcx_set_parent(b, a), MCX_EINVAL);
    /* Moving to the same parent is fine. */
    CHECK_OK(mcx_set_parent(a, a11));
    CHECK_U64(count_children(a11), ==, 1);
    /* Make a a root again, then delete b: a survives, a1 and a11 go. */
    CHECK_OK(mcx_set_parent(a, NULL));
    CHECK(mcx_parent(a) == NULL);
    CHECK_U64(count_children(a11), ==, 0);
    CHECK_U64(th_verify(p, 100, 7), ==, 100);
    struct mcx_global_stats g0 = th_global();
    CHECK_OK(mcx_delete(b));
    CHECK_U64(th_global().context_count, ==, g0.context_count - 3);
    CHECK_OK(mcx_check(a));
    void *q = mcx_alloc(a, 10);
    CHECK(q != NULL);
    CHECK_OK(mcx_delete(a));
    CHECK_OK(mcx_check(NULL));
}

/* ---- deep trees, on a small stack -------------------------------------------------------- */
struct deep_job {
    size_t depth;
    int ok_create, ok_check, ok_stats, ok_reset, ok_delete, ok_cycle;
    uint64_t contexts_after_reset;
    uint64_t contexts_before;
};

static void *deep_worker(void *arg) {
    struct deep_job *job = (struct deep_job *)arg;
    mcx_context_options o = th_opts("deep", 4 * TH_KiB, 0, 0);
    job->contexts_before = th_global().context_count;
    mcx_context *root = mcx_context_create(NULL, &o);
    if (!root) return NULL;
    mcx_context *c = root;
    size_t made = 1;
    for (size_t i = 1; i < job->depth; i++) {
        mcx_context *n = mcx_context_create(c, &o);
        if (!n) break;
        if (i % 97 == 0 && !mcx_alloc(n, 24)) break; /* some allocations on the way down */
        c = n;
        made++;
    }
    job->ok_create = made == job->depth;
    mcx_context *leaf = c;
    job->ok_check = mcx_check(root) == MCX_OK;
    job->ok_stats = th_ctx_stats(root).child_count == 1;
    /* The cycle test walks all ancestors. */
    job->ok_cycle = mcx_set_parent(root, leaf) == MCX_EINVAL;
    /* Reset of a middle node deletes the deep subtree under it; reset of root the rest. */
    mcx_context *mid = root;
    for (size_t i = 0; i < job->depth / 2 && mcx_first_child(mid); i++) mid = mcx_first_child(mid);
    job->ok_reset = mcx_reset(mid) == MCX_OK && mcx_first_child(mid) == NULL &&
                    mcx_check(root) == MCX_OK;
    job->ok_reset = job->ok_reset && mcx_reset(root) == MCX_OK && mcx_first_child(root) == NULL;
    job->contexts_after_reset = th_global().context_count;
    /* Build a second deep chain and delete it from the root in one call. */
    c = root;
    for (size_t i = 1; i < job->depth; i++) {
        mcx_context *n = mcx_context_create(c, &o);
        if (!n) break;
        c = n;
    }
    job->ok_delete = mcx_delete(root) == MCX_OK &&
                     th_global().context_count == job->contexts_before &&
                     mcx_check(NULL) == MCX_OK;
    return NULL;
}

static void deep_tree_does_not_recurse(void) {
    struct deep_job job;
    memset(&job, 0, sizeof job);
    /* 100000 levels at scale 1; at least 20000 so that recursion would still overflow the
     * 256 KiB stack the worker runs on. */
    job.depth = th_scaled(100000, 20000);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, th_under_asan() ? 1024 * TH_KiB : 256 * TH_KiB);
    pthread_t t;
    REQUIRE(pthread_create(&t, &attr, deep_worker, &job) == 0);
    pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
    printf("  depth %zu\n", job.depth);
    CHECK(job.ok_create);
    CHECK(job.ok_check);
    CHECK(job.ok_stats);
    CHECK(job.ok_cycle);
    CHECK(job.ok_reset);
    CHECK_U64(job.contexts_after_reset, ==, job.contexts_before + 1);
    CHECK(job.ok_delete);
    mcx_trim();
    CHECK_OK(mcx_check(NULL));
}

static void wide_tree(void) {
    mcx_context *root = mcx_context_create(NULL, NULL);
    REQUIRE(root != NULL);
    size_t n = th_scaled(20000, 1000);
    mcx_context_options o = th_opts("wide", 4 * TH_KiB, 0, 0);
    for (size_t i = 0; i < n; i++) {
        mcx_context *c = mcx_context_create(root, &o);
        REQUIRE(c != NULL);
        if (i % 3 == 0) REQUIRE(mcx_alloc(c, 64) != NULL);
    }
    CHECK_U64(th_ctx_stats(root).child_count, ==, n);
    CHECK_U64(count_children(root), ==, n);
    CHECK_OK(mcx_check(root));
    uint64_t before = th_global().context_count;
    CHECK_OK(mcx_reset(root));
    CHECK_U64(th_global().context_count, ==, before - n);
    CHECK_OK(mcx_delete(root));
    CHECK_OK(mcx_check(NULL));
}

TH_MAIN(TH_TEST(create_defaults), TH_TEST(create_with_options), TH_TEST(create_bad_options),
        TH_TEST(tree_navigation), TH_TEST(set_parent_moves_and_refuses_cycles),
        TH_TEST(deep_tree_does_not_recurse), TH_TEST(wide_tree))
