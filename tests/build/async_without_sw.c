/* Compiled by the CTest header_requires_async_sw, which expects it to fail:
 * a wolfSSL configuration with async crypt but without the software records
 * (configure's --enable-asynccrypt with crypto callbacks, 5.7 and later)
 * must be refused at compile time, with a message naming the option. */
#include <wolfssl/options.h>
#undef WOLFSSL_ASYNC_CRYPT_SW
#include <wolfssl/wolfcrypt/async.h>

int main(void) { return 0; }
