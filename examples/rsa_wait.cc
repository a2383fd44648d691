// Example: RSA-2048 on the asynccrypt device with the README's wolfCrypt
// pattern: each call that answers WC_PENDING_E is waited for with
// wc_AsyncWait(..., WC_ASYNC_FLAG_CALL_AGAIN) and then made again, which
// collects the result. Runs public encrypt + private decrypt and sign +
// verify, checks both round trips and prints how often each call pended.
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

namespace {

constexpr std::string_view kMessage = "asynccrypt: RSA on an asynchronous device";

// Owners that release wolfCrypt objects on every path out of run().
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

class Device {
 public:
  Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  ~Device() {
    if (id_ != INVALID_DEVID) wolfAsync_DevClose(&id_);
  }
  int open() { return wolfAsync_DevOpen(&id_); }
  int id() const { return id_; }

 private:
  int id_ = INVALID_DEVID;
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
  Device device;
  int ret = device.open();
  if (ret != 0) {
    report_failure("wolfAsync_DevOpen", ret);
    return 1;
  }
  Rng rng;
  if (rng.status() != 0) {
    report_failure("wc_InitRng", rng.status());
    return 1;
  }
  // The key carries the device id: its operations go to the device.
  Key key(device.id());
  if (key.status() != 0) {
    report_failure("wc_InitRsaKey_ex", key.status());
    return 1;
  }
  RsaKey* const k = key.get();

  word32 idx = 0;
  ret = wc_RsaPrivateKeyDecode(client_key_der_2048, &idx, k,
                               static_cast<word32>(sizeof_client_key_der_2048));
  if (ret == 0) ret = wc_RsaSetRNG(k, rng.get());  // blinding needs it
  if (ret != 0) {
    report_failure("decoding the RSA-2048 key", ret);
    return 1;
  }
  std::printf("rsa_wait: device %d, RSA-%d key decoded\n", device.id(), wc_RsaEncryptSize(k) * 8);

  const auto* in = reinterpret_cast<const byte*>(kMessage.data());
  const auto in_len = static_cast<word32>(kMessage.size());
  std::array<byte, 256> cipher{};
  std::array<byte, 256> plain{};
  std::array<byte, 256> sig{};
  std::array<byte, 256> recovered{};
  int total_pending = 0;

  // Public encrypt, in the README's shape. ret is 0 on entry, so the first
  // wc_AsyncWait passes it through and the call is made; each WC_PENDING_E
  // is waited for and the call made again to collect the result.
  int pending = 0;
  do {
    ret = wc_AsyncWait(ret, &k->asyncDev, WC_ASYNC_FLAG_CALL_AGAIN);
    if (ret >= 0) {
      ret = wc_RsaPublicEncrypt(in, in_len, cipher.data(), static_cast<word32>(cipher.size()), k,
                                rng.get());
      if (ret == WC_PENDING_E) ++pending;
    }
  } while (ret == WC_PENDING_E);
  if (ret < 0) {
    report_failure("wc_RsaPublicEncrypt", ret);
    return 1;
  }
  const auto cipher_len = static_cast<word32>(ret);
  std::printf("rsa_wait: public encrypt: %u bytes, pended %d times\n", cipher_len, pending);
  total_pending += pending;

  pending = 0;
  ret = 0;
  do {
    ret = wc_AsyncWait(ret, &k->asyncDev, WC_ASYNC_FLAG_CALL_AGAIN);
    if (ret >= 0) {
      ret = wc_RsaPrivateDecrypt(cipher.data(), cipher_len, plain.data(),
                                 static_cast<word32>(plain.size()), k);
      if (ret == WC_PENDING_E) ++pending;
    }
  } while (ret == WC_PENDING_E);
  if (ret < 0) {
    report_failure("wc_RsaPrivateDecrypt", ret);
    return 1;
  }
  if (static_cast<word32>(ret) != in_len || std::memcmp(plain.data(), in, in_len) != 0) {
    std::fprintf(stderr, "rsa_wait: decrypt gave back different bytes\n");
    return 1;
  }
  std::printf("rsa_wait: private decrypt: %d bytes match, pended %d times\n", ret, pending);
  total_pending += pending;

  pending = 0;
  ret = 0;
  do {
    ret = wc_AsyncWait(ret, &k->asyncDev, WC_ASYNC_FLAG_CALL_AGAIN);
    if (ret >= 0) {
      ret = wc_RsaSSL_Sign(in, in_len, sig.data(), static_cast<word32>(sig.size()), k, rng.get());
      if (ret == WC_PENDING_E) ++pending;
    }
  } while (ret == WC_PENDING_E);
  if (ret < 0) {
    report_failure("wc_RsaSSL_Sign", ret);
    return 1;
  }
  const auto sig_len = static_cast<word32>(ret);
  std::printf("rsa_wait: sign: %u bytes, pended %d times\n", sig_len, pending);
  total_pending += pending;

  pending = 0;
  ret = 0;
  do {
    ret = wc_AsyncWait(ret, &k->asyncDev, WC_ASYNC_FLAG_CALL_AGAIN);
    if (ret >= 0) {
      ret = wc_RsaSSL_Verify(sig.data(), sig_len, recovered.data(),
                             static_cast<word32>(recovered.size()), k);
      if (ret == WC_PENDING_E) ++pending;
    }
  } while (ret == WC_PENDING_E);
  if (ret < 0) {
    report_failure("wc_RsaSSL_Verify", ret);
    return 1;
  }
  if (static_cast<word32>(ret) != in_len || std::memcmp(recovered.data(), in, in_len) != 0) {
    std::fprintf(stderr, "rsa_wait: verify recovered different bytes\n");
    return 1;
  }
  std::printf("rsa_wait: verify: signature good, pended %d times\n", pending);
  total_pending += pending;

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
