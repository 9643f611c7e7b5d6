/* peer_mimalloc_free.c - mimalloc with mi_malloc / mi_free of every object. */
#define MCXB_MIMALLOC_FREE 1
#include "peer_mimalloc.c"
