/* peer_glibc_trim.c - glibc malloc/free with malloc_trim(0) after each ramp phase. */
#define MCXB_GLIBC_TRIM 1
#include "peer_glibc.c"
