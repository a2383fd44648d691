/* ctx_queue.h: the event queue of a WOLFSSL_CTX, for the perf tools.
 *
 * wolfSSL's public API keeps WOLFSSL_CTX opaque, but an event loop that
 * sleeps on asynccrypt_QueueFd needs the queue that wolfSSL_CTX_AsyncPoll
 * polls (ctx->event_queue). ctx_queue.c is the one file of the tools that
 * reads wolfSSL's internal layout to find it. */
#ifndef ASYNCCRYPT_TOOLS_PERF_CTX_QUEUE_H
#define ASYNCCRYPT_TOOLS_PERF_CTX_QUEUE_H

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/wolfevent.h>

#ifdef __cplusplus
extern "C" {
#endif

/* perf_ctx_event_queue returns &ctx->event_queue, or NULL for a NULL ctx.
 * The queue lives as long as the context. */
WOLF_EVENT_QUEUE* perf_ctx_event_queue(WOLFSSL_CTX* ctx);

#ifdef __cplusplus
}
#endif

#endif
