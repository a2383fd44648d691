// Example: RSA-2048 on the asynccrypt device with the README's wolfCrypt
// pattern: each call that answers WC_PENDING_E is waited for with
// wc_AsyncWait(..., WC_ASYNC_FLAG_CALL_AGAIN) and then made again, which
// collects the result (asynccrypt::call_and_wait in the C++ API). Runs
// public encrypt + private decrypt and sign + verify, checks both round
// trips and prints how often each call pended.
//
// usage: rsa_wait [-r]
//   -r  fail unless the device suspended at least one operation

// options.h fixes wolfSSL's structure layouts: it must come first.
#include <wolfssl/options.h>

// The built-in RSA-2048 test key (client_key_der_2048).
#define USE_CERT_BUFFERS_2048
#include <wolfssl/certs_test.h>
#include <wolfssl/wolfcrypt/async.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "asynccrypt/device.h"
#include "asynccrypt/event.h"

namespace {

constexpr std::string_view kMessage = "asynccrypt: RSA on an asynchronous device";

// Owners that release wolfCrypt objects on every path out of run(); the
// device's owner is asynccrypt::DeviceHandle.
class Rng {
 public:
  Rng() : status_(wc_InitRng(&rng_)) {}
  Rng(const Rng&) = delete;
  Rng& operator=(const Rng&) = delete;
  ~Rng() {
    if (status_ == 0) wc_FreeRng(&rng_);
  }
  int status() const { return status_; }
  WC_RNG* get() { return &rng_; }

 private:
  WC_RNG rng_;
  int status_;
};

class Key {
 public:
  explicit Key(int dev_id) : status_(wc_InitRsaKey_ex(&key_, nullptr, dev_id)) {}
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;
  ~Key() {
    if (status_ == 0) wc_FreeRsaKey(&key_);
  }
  int status() const { return status_; }
  RsaKey* get() { return &key_; }

 private:
  RsaKey key_;
  int status_;
};

void report_failure(const char* what, int ret) {
  std::fprintf(stderr, "rsa_wait: %s failed: %s (%d)\n", what, wc_GetErrorString(ret), ret);
}

int run(bool require_pending) {
  auto device = asynccrypt::DeviceHandle::open_default();
  if (!device) {
    std::fprintf(stderr, "rsa_wait: %s\n", device.error().describe().c_str());
    return 1;
  }
  Rng rng;
  if (rng.status() != 0) {
    report_failure("wc_InitRng", rng.status());
    return 1;
  }
  // The key carries the device id: its operations go to the device.
  Key key(device->id());
  if (key.status() != 0) {
    report_failure("wc_InitRsaKey_ex", key.status());
    return 1;
  }
  RsaKey* const k = key.get();

  word32 idx = 0;
  int ret = wc_RsaPrivateKeyDecode(client_key_der_2048, &idx, k,
                                   static_cast<word32>(sizeof_client_key_der_2048));
  if (ret == 0) ret = wc_RsaSetRNG(k, rng.get());  // blinding needs it
  if (ret != 0) {
    report_failure("decoding the RSA-2048 key", ret);
    return 1;
  }
  std::printf("rsa_wait: device %d, RSA-%d key decoded\n", device->id(), wc_RsaEncryptSize(k) * 8);

  const auto* in = reinterpret_cast<const byte*>(kMessage.data());
  const auto in_len = static_cast<word32>(kMessage.size());
  std::array<byte, 256> cipher{};
  std::array<byte, 256> plain{};
  std::array<byte, 256> sig{};
  std::array<byte, 256> recovered{};
  int total_pending = 0;
  int pending = 0;

  // wait_for makes one call on the key in the README's shape
  // (asynccrypt::call_and_wait): while it answers WC_PENDING_E,
  // wc_AsyncWait(..., WC_ASYNC_FLAG_CALL_AGAIN) waits for the operation and
  // the call is made again to collect the result. Returns that result, or -1
  // after printing why; `pending` says how often it pended.
  auto wait_for = [&](const char* what, auto call) {
    const asynccrypt::Expected<int> r =
        asynccrypt::call_and_wait(&k->asyncDev, call, what, &pending);
    total_pending += pending;
    if (!r) std::fprintf(stderr, "rsa_wait: %s\n", r.error().describe().c_str());
    return r ? *r : -1;
  };

  const int encrypted = wait_for("wc_RsaPublicEncrypt", [&] {
    return wc_RsaPublicEncrypt(in, in_len, cipher.data(), static_cast<word32>(cipher.size()), k,
                               rng.get());
  });
  if (encrypted < 0) return 1;
  const auto cipher_len = static_cast<word32>(encrypted);
  std::printf("rsa_wait: public encrypt: %u bytes, pended %d times\n", cipher_len, pending);

  const int decrypted = wait_for("wc_RsaPrivateDecrypt", [&] {
    return wc_RsaPrivateDecrypt(cipher.data(), cipher_len, plain.data(),
                                static_cast<word32>(plain.size()), k);
  });
  if (decrypted < 0) return 1;
  if (static_cast<word32>(decrypted) != in_len || std::memcmp(plain.data(), in, in_len) != 0) {
    std::fprintf(stderr, "rsa_wait: decrypt gave back different bytes\n");
    return 1;
  }
  std::printf("rsa_wait: private decrypt: %d bytes match, pended %d times\n", decrypted, pending);

  const int signed_len = wait_for("wc_RsaSSL_Sign", [&] {
    return wc_RsaSSL_Sign(in, in_len, sig.data(), static_cast<word32>(sig.size()), k, rng.get());
  });
  if (signed_len < 0) return 1;
  const auto sig_len = static_cast<word32>(signed_len);
  std::printf("rsa_wait: sign: %u bytes, pended %d times\n", sig_len, pending);

  const int verified = wait_for("wc_RsaSSL_Verify", [&] {
    return wc_RsaSSL_Verify(sig.data(), sig_len, recovered.data(),
                            static_cast<word32>(recovered.size()), k);
  });
  if (verified < 0) return 1;
  if (static_cast<word32>(verified) != in_len || std::memcmp(recovered.data(), in, in_len) != 0) {
    std::fprintf(stderr, "rsa_wait: verify recovered different bytes\n");
    return 1;
  }
  std::printf("rsa_wait: verify: signature good, pended %d times\n", pending);

  std::printf("rsa_pending=%d\n", total_pending);
  if (require_pending && total_pending == 0) {
    std::fprintf(stderr, "rsa_wait: -r given but no operation pended on the device\n");
    return 1;
  }
  std::printf("rsa_wait: ok\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool require_pending = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-r") == 0) {
      require_pending = true;
    } else {
      std::fprintf(stderr, "usage: %s [-r]\n", argv[0]);
      return 2;
    }
  }
  return run(require_pending);
}
