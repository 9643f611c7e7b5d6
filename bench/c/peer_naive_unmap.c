/* peer_naive_unmap.c - the naive region that munmaps every chunk on reset. */
#define MCXB_NAIVE_UNMAP 1
#include "peer_naive.c"
