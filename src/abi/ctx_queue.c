/* ctx_queue.c: asynccrypt_CtxQueueFd and asynccrypt_CtxQueueRelease, the
 * completion fd of a TLS context's event queue.
 *
 * WOLFSSL_CTX is opaque to applications, but the queue that
 * wolfSSL_CTX_AsyncPoll polls is one of its fields. libasynccrypt is built
 * against the configured wolfSSL tree it links with (options.h fixes the
 * layout), so this one file, in C as wolfSSL is, reads the field; the C++
 * code never includes wolfSSL's internal.h. Keeping it out of glue/async.c
 * means no wolfSSL rebuild is needed for it. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>

#ifdef WOLFSSL_ASYNC_CRYPT
#include <wolfssl/wolfcrypt/async.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#ifndef WOLFCRYPT_ONLY
#include <wolfssl/internal.h>
#endif

/* The context's queue, or NULL (no context, or a wolfCrypt-only build). */
static WOLF_EVENT_QUEUE* ctx_queue(struct WOLFSSL_CTX* ctx) {
#ifndef WOLFCRYPT_ONLY
  return ctx == NULL ? NULL : &ctx->event_queue;
#else
  (void)ctx;
  return NULL;
#endif
}

int asynccrypt_CtxQueueFd(struct WOLFSSL_CTX* ctx) {
  WOLF_EVENT_QUEUE* queue = ctx_queue(ctx);
  return queue == NULL ? BAD_FUNC_ARG : asynccrypt_QueueFd(queue);
}

int asynccrypt_CtxQueueRelease(struct WOLFSSL_CTX* ctx) {
  WOLF_EVENT_QUEUE* queue = ctx_queue(ctx);
  return queue == NULL ? BAD_FUNC_ARG : asynccrypt_QueueRelease(queue);
}
#endif /* WOLFSSL_ASYNC_CRYPT */
