/* peer_memctx_clean.c - memctx with clean contexts (MCX_CONTEXT_CLEAN), the cost of scrubbing. */
#define MCXB_MEMCTX_CLEAN 1
#include "peer_memctx.c"
