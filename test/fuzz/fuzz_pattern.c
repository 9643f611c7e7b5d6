/* fuzz_pattern.c - owns the pattern loops of the fuzz target (see fuzz_pattern.h): built without
 * coverage instrumentation, with the sanitizers, a word at a time, so they run near memory speed. */
#include "fuzz_pattern.h"

#include <string.h>

static inline uint64_t le_word(uint64_t w) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return __builtin_bswap64(w);
#else
    return w;
#endif
}

void fuzz_fill(unsigned char *p, uint64_t id, size_t from, size_t to) {
    size_t i = from;
    for (; i < to && (i & 7u); i++) p[i] = fuzz_pat(id, i);
    for (; i + 8 <= to; i += 8) {
        uint64_t w = le_word(fuzz_word(id, i >> 3));
        memcpy(p + i, &w, 8);
    }
    for (; i < to; i++) p[i] = fuzz_pat(id, i);
}

size_t fuzz_first_bad(const unsigned char *p, uint64_t id, size_t from, size_t to) {
    size_t i = from;
    for (; i < to && (i & 7u); i++)
        if (p[i] != fuzz_pat(id, i)) return i;
    for (; i + 8 <= to; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w != le_word(fuzz_word(id, i >> 3))) break; /* find the byte below */
    }
    for (; i < to; i++)
        if (p[i] != fuzz_pat(id, i)) return i;
    return to;
}

size_t fuzz_first_nonzero(const unsigned char *p, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w) break;
    }
    for (; i < n; i++)
        if (p[i] != 0) return i;
    return n;
}
