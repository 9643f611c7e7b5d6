/* test_fork.c - memctx and fork(): a fork while another thread holds the top layer's lock must
 * not leave the child deadlocked (the lock is taken by the fork handlers and released on both
 * sides), the child can use memctx (and start a background thread), and two threads calling
 * mcx_configure at once never stop the same background thread twice. The lock is held on
 * purpose through the internal interface so the race is certain, not likely.
 */
#include "harness.h"
#include "internal.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Wait for a forked child and check that it exited with status 0 (a deadlock or a crash fails). */
static void expect_clean_exit(pid_t pid) {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    if (WIFEXITED(status)) CHECK_U64(WEXITSTATUS(status), ==, 0);
    else printf("  child ended by signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static _Atomic int holder_state; /* 1: holding the lock, 2: asked to let go */

static void *hold_lock(void *arg) {
    (void)arg;
    mcxi_lock();
    atomic_store(&holder_state, 1);
    th_sleep_ms(100); /* fork happens meanwhile */
    mcxi_unlock();
    return NULL;
}

/* The child: use the allocator, then leave with 0; a deadlock is ended by the alarm (SIGALRM). */
static void child_work(void) {
    alarm(5);
    mcx_context *ctx = mcx_context_create(NULL, NULL);
    if (!ctx || !mcx_alloc(ctx, 100) || mcx_delete(ctx) != MCX_OK) _exit(3);
    mcx_config c;
    mcx_config_default(&c);
    c.background_thread = 1;
    if (mcx_configure(&c) != MCX_OK) _exit(4);
    c.background_thread = 0;
    if (mcx_configure(&c) != MCX_OK) _exit(5);
    _exit(0);
}

static void fork_while_lock_held(void) {
    int rounds = (int)th_scaled(5, 2);
    for (int r = 0; r < rounds; r++) {
        atomic_store(&holder_state, 0);
        pthread_t t;
        REQUIRE(pthread_create(&t, NULL, hold_lock, NULL) == 0);
        while (atomic_load(&holder_state) != 1) th_sleep_ms(1);
        pid_t pid = fork();
        if (pid == 0) child_work();
        REQUIRE(pid > 0);
        expect_clean_exit(pid);
        pthread_join(t, NULL);
    }
    CHECK_OK(mcx_check(NULL));
}

static void *toggle_background(void *arg) {
    int n = *(int *)arg;
    mcx_config c;
    mcx_config_default(&c);
    for (int i = 0; i < n; i++) {
        c.background_thread = i & 1;
        if (mcx_configure(&c) != MCX_OK) return (void *)1;
    }
    return NULL;
}

static void concurrent_configure(void) {
    /* A child process, so a double join (a crash or a hang) is a failed check, not a dead suite. */
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20);
        int n = (int)th_scaled(400, 40);
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            if (pthread_create(&t[i], NULL, toggle_background, &n) != 0) _exit(2);
        int bad = 0;
        for (int i = 0; i < 4; i++) {
            void *rv;
            pthread_join(t[i], &rv);
            bad |= rv != NULL;
        }
        mcx_config c;
        mcx_config_default(&c);
        if (mcx_configure(&c) != MCX_OK) bad = 1;
        _exit(bad ? 3 : 0);
    }
    REQUIRE(pid > 0);
    expect_clean_exit(pid);
}

static _Atomic int churn_stop;

/* Deleted contexts go into this thread's cache and come back out, the cache's lock taken and
 * given back all the time. */
static void *churn_contexts(void *arg) {
    (void)arg;
    while (!atomic_load(&churn_stop)) {
        mcx_context *ctx = mcx_context_create(NULL, NULL);
        if (!ctx || !mcx_alloc(ctx, 5000) || mcx_delete(ctx) != MCX_OK) return (void *)1;
    }
    return NULL;
}

/* A fork while another thread moves contexts in and out of its cache leaves the child a usable
 * allocator, and the forking thread's cached contexts serve the child: it revives one (the same
 * address), uses it, deletes it and trims everything back. */
static void fork_with_cached_contexts(void) {
    mcx_context *mine = mcx_context_create(NULL, NULL);
    REQUIRE(mine != NULL);
    REQUIRE(mcx_alloc(mine, 3000) != NULL);
    CHECK_OK(mcx_delete(mine)); /* kept by this thread */
    atomic_store(&churn_stop, 0);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, churn_contexts, NULL) == 0);
    int rounds = (int)th_scaled(20, 4);
    for (int r = 0; r < rounds; r++) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(5);
            mcx_context *ctx = mcx_context_create(NULL, NULL);
            if (ctx != mine) _exit(6);
            if (!mcx_alloc(ctx, 100) || mcx_delete(ctx) != MCX_OK) _exit(3);
            mcx_trim();
            if (mcx_check(NULL) != MCX_OK) _exit(4);
            _exit(0);
        }
        REQUIRE(pid > 0);
        expect_clean_exit(pid);
    }
    atomic_store(&churn_stop, 1);
    void *rv;
    pthread_join(t, &rv);
    CHECK(rv == NULL);
    CHECK_OK(mcx_check(NULL));
}

TH_MAIN(TH_TEST(fork_while_lock_held), TH_TEST(concurrent_configure), TH_TEST(fork_with_cached_contexts))
