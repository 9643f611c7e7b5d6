/* fuzz_replay.c - owns the replay driver of the fuzz target: runs LLVMFuzzerTestOneInput
 * (test/fuzz/fuzz_ops.c) once on every file given, or on every file of every directory given,
 * without libFuzzer. Built with the ordinary compiler, so the seed corpus and any crash file are
 * regression tests under ctest, the sanitizers and valgrind: `fuzz_replay test/fuzz/corpus`.
 * Exit status 0 when every input ran (a failing input aborts with its report). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_replay: cannot open %s\n", path);
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                fprintf(stderr, "fuzz_replay: out of memory reading %s\n", path);
                return -1;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        if (got == 0) break;
        len += got;
    }
    fclose(f);
    printf("replay %s (%zu bytes)\n", path, len);
    fflush(stdout);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    int files = 0, errors = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz_replay FILE|DIR...\n");
        return 2;
    }
    for (int a = 1; a < argc; a++) {
        struct stat st;
        if (stat(argv[a], &st) != 0) {
            fprintf(stderr, "fuzz_replay: no such file or directory: %s\n", argv[a]);
            errors++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            errors += run_file(argv[a]) != 0;
            files++;
            continue;
        }
        DIR *d = opendir(argv[a]);
        if (!d) {
            errors++;
            continue;
        }
        char *names[4096];
        size_t n = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL && n < 4096) {
            if (e->d_name[0] == '.') continue;
            size_t len = strlen(argv[a]) + strlen(e->d_name) + 2;
            names[n] = malloc(len);
            if (!names[n]) break;
            snprintf(names[n], len, "%s/%s", argv[a], e->d_name);
            n++;
        }
        closedir(d);
        qsort(names, n, sizeof names[0], cmp_str); /* a stable order: reproducible runs */
        for (size_t i = 0; i < n; i++) {
            errors += run_file(names[i]) != 0;
            files++;
            free(names[i]);
        }
    }
    printf("fuzz_replay: %d inputs replayed, %d unreadable\n", files, errors);
    return errors || files == 0 ? 1 : 0;
}
