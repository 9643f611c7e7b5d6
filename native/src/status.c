/* status.c - status codes: their descriptions, their stable string codes, and the per-thread
 * status of the last failed pointer-returning call (mcx_errno). */
#include "internal.h"

static _Thread_local int last_status;

void mcxi_set_errno(int status) { last_status = status; }

int mcx_errno(void) { return last_status; }

const char *mcx_strerror(int status) {
    switch (status) {
#define MCX_X_TEXT(name, value, code, text) \
    case value: return text;
        MCX_STATUS_LIST(MCX_X_TEXT)
#undef MCX_X_TEXT
    default: return "unknown status";
    }
}

const char *mcx_status_code(int status) {
    switch (status) {
#define MCX_X_CODE(name, value, code, text) \
    case value: return code;
        MCX_STATUS_LIST(MCX_X_CODE)
#undef MCX_X_CODE
    default: return "ERR_MEMCTX_UNKNOWN";
    }
}

int mcx_checking_enabled(void) { return MCXI_CHECKING; }
