/* peer_jemalloc_free.c - jemalloc with je_malloc / je_free of every object. */
#define MCXB_JEMALLOC_FREE 1
#include "peer_jemalloc.c"
