/* ctx_queue.c: finds a WOLFSSL_CTX's event queue (see ctx_queue.h).
 *
 * Compiled as C against the same configured wolfSSL tree as libwolfssl:
 * options.h carries the configure flags that fix the layout of WOLFSSL_CTX,
 * so &ctx->event_queue is the address wolfSSL_CTX_AsyncPoll polls. The perf
 * tests would hang if it were not (the queue's fd would never fire). */
#include "perf/ctx_queue.h"

#include <wolfssl/internal.h>

WOLF_EVENT_QUEUE* perf_ctx_event_queue(WOLFSSL_CTX* ctx) {
  return ctx == NULL ? NULL : &ctx->event_queue;
}
