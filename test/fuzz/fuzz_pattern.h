/* fuzz_pattern.h - owns the byte patterns of the fuzz target: every allocation is filled with a
 * pattern derived from its id, and checked against it. Compiled in its own file without libFuzzer's
 * coverage instrumentation: these loops are the fuzzer's bookkeeping, not library paths, and
 * instrumented they took most of the fuzzer's time. */
#ifndef MEMCTX_FUZZ_PATTERN_H
#define MEMCTX_FUZZ_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/* Word k (bytes 8k..8k+7) of the pattern of allocation id: differs between ids and along the
 * allocation; written and compared a word at a time. */
static inline uint64_t fuzz_word(uint64_t id, uint64_t k) {
    uint64_t x = (id * 0xD1B54A32D192ED03ull) ^ (k * 0x9E3779B97F4A7C15ull);
    return x ^ (x >> 29);
}
/* Byte i of the pattern of allocation id (little-endian bytes of the words). */
static inline unsigned char fuzz_pat(uint64_t id, size_t i) {
    return (unsigned char)(fuzz_word(id, i >> 3) >> ((i & 7u) * 8u));
}
/* Write the pattern of id into p[from, to). */
void fuzz_fill(unsigned char *p, uint64_t id, size_t from, size_t to);
/* First index in [from, to) where p differs from the pattern of id, or to. */
size_t fuzz_first_bad(const unsigned char *p, uint64_t id, size_t from, size_t to);
/* First non-zero byte of p[0, n), or n. */
size_t fuzz_first_nonzero(const unsigned char *p, size_t n);

#endif /* MEMCTX_FUZZ_PATTERN_H */
