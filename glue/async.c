/* async.c: the part of asynccrypt that wolfSSL's own build compiles.
 *
 * wolfSSL compiles wolfcrypt/src/async.c into libwolfssl when async crypto is
 * on; scripts/build-wolfssl.sh places this file there. Everything else lives
 * in libasynccrypt (C++). The one thing only wolfSSL's build can see is the
 * layout of WOLFSSL, so the pending-device lookup for TLS events is here. */
#ifdef HAVE_CONFIG_H
    #include <config.h>
#endif
#include <wolfssl/wolfcrypt/settings.h>

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
#endif /* WOLFSSL_ASYNC_CRYPT */
