/* async.c: the part of asynccrypt that wolfSSL's own build compiles.
 *
 * wolfSSL compiles wolfcrypt/src/async.c into libwolfssl when async crypto is
 * on; scripts/build-wolfssl.sh places this file there. Everything else lives
 * in libasynccrypt (C++). The one thing only wolfSSL's build can see is the
 * layout of WOLFSSL, so the pending-device lookup for TLS events is here,
 * and so is the X25519 free hook below. */
#if defined(__has_include)
    #if __has_include(<wolfssl/wolfcrypt/libwolfssl_sources.h>)
        /* wolfSSL 5.8 and later: every library source starts with it (it
         * brings config.h and settings.h; upstream's CI checks the order). */
        #define ASYNCCRYPT_HAVE_LIBWOLFSSL_SOURCES_H
    #endif
#endif
#ifdef ASYNCCRYPT_HAVE_LIBWOLFSSL_SOURCES_H
    #include <wolfssl/wolfcrypt/libwolfssl_sources.h>
#else
    #ifdef HAVE_CONFIG_H
        #include <config.h>
    #endif
    #include <wolfssl/wolfcrypt/settings.h>
#endif

#ifdef WOLFSSL_ASYNC_CRYPT
#include <wolfssl/wolfcrypt/async.h>
#ifndef WOLFCRYPT_ONLY
    #include <wolfssl/internal.h>
#endif

/* The device record of the operation a TLS connection is waiting for, or
 * NULL. Called by asynccrypt for WOLF_EVENT_TYPE_ASYNC_WOLFSSL events. */
WOLFSSL_API WC_ASYNC_DEV* asynccrypt_SslPendingDev(void* ssl);

WC_ASYNC_DEV* asynccrypt_SslPendingDev(void* ssl)
{
#ifndef WOLFCRYPT_ONLY
    return ssl == NULL ? NULL : ((WOLFSSL*)ssl)->asyncDev;
#else
    (void)ssl;
    return NULL;
#endif
}

#ifdef HAVE_CURVE25519
#include <wolfssl/wolfcrypt/curve25519.h>

/* wolfSSL 5.9 sends X25519 through the layer, but wc_curve25519_free never
 * calls wolfAsync_DevCtxFree (every other key's free does): freeing a key
 * with an operation in flight (wolfSSL_free in mid-handshake) would leave
 * its event linked in the context's queue and a worker writing into freed
 * memory. libwolfssl is linked with -Wl,--wrap=wc_curve25519_free
 * (scripts/build-wolfssl.sh; programs linking libwolfssl.a need the same
 * flag, which asynccrypt's CMake package adds), so every call reaches this
 * function first: it cancels or drains the key's operation, then frees. On
 * versions that never bind X25519 keys the marker does not match and
 * wolfAsync_DevCtxFree does nothing. */
void __real_wc_curve25519_free(curve25519_key* key);
WOLFSSL_API void __wrap_wc_curve25519_free(curve25519_key* key);

void __wrap_wc_curve25519_free(curve25519_key* key)
{
    if (key != NULL) {
        wolfAsync_DevCtxFree(&key->asyncDev, WOLFSSL_ASYNC_MARKER_X25519);
    }
    __real_wc_curve25519_free(key);
}
#endif /* HAVE_CURVE25519 */
#endif /* WOLFSSL_ASYNC_CRYPT */
