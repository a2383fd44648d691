// The wolfSSL headers every asynccrypt source sees, in the order wolfSSL needs them.
#pragma once

// options.h carries the configuration wolfSSL was built with; struct layouts
// (WC_ASYNC_DEV, WOLF_EVENT, keys) depend on it, so it must come first.
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/async.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/types.h>
#include <wolfssl/wolfcrypt/wolfevent.h>

#ifndef WOLFSSL_ASYNC_CRYPT
#error "asynccrypt must be built against a wolfSSL configured with --enable-asynccrypt"
#endif
