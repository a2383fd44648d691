// A consumer of the installed package: opens a device through the C++ API, runs one RSA signature
// on it with call_and_wait, and checks the C contract's header is the installed one.
#include <wolfssl/options.h>

#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#define USE_CERT_BUFFERS_2048
#include <wolfssl/certs_test.h>

#include <cstdio>

#include "asynccrypt/asynccrypt.h"

int main() {
  auto dev = asynccrypt::DeviceHandle::open("sim");
  if (!dev) {
    std::fprintf(stderr, "consumer: %s\n", dev.error().describe().c_str());
    return 1;
  }
  WC_RNG rng;
  RsaKey key;
  word32 idx = 0;
  if (wc_InitRng(&rng) != 0 || wc_InitRsaKey_ex(&key, nullptr, dev->id()) != 0 ||
      wc_RsaPrivateKeyDecode(client_key_der_2048, &idx, &key, sizeof_client_key_der_2048) != 0 ||
      wc_RsaSetRNG(&key, &rng) != 0) {
    std::fprintf(stderr, "consumer: key setup failed\n");
    return 1;
  }
  const byte msg[] = "installed";
  byte sig[256];
  int pended = 0;
  auto len = asynccrypt::call_and_wait(
      &key.asyncDev, [&] { return wc_RsaSSL_Sign(msg, sizeof msg, sig, sizeof sig, &key, &rng); },
      "wc_RsaSSL_Sign", &pended);
  wc_FreeRsaKey(&key);
  wc_FreeRng(&rng);
  if (!len) {
    std::fprintf(stderr, "consumer: %s\n", len.error().describe().c_str());
    return 1;
  }
  std::printf("consumer: %s device, %d-byte signature, pended %d times\n",
              dev->kind().has_value() ? dev->kind()->c_str() : "?", *len, pended);
  return pended > 0 ? 0 : 1;
}
