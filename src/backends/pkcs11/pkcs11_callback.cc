// The pkcs11 device's crypto callback: which calls of wolfCrypt it answers, and how.
#include <cstring>
#include <memory>

#include "backends/pkcs11/pkcs11_device.h"
#include "core/registry.h"
#include "core/wolfssl_api.h"

#ifdef WOLF_CRYPTO_CB
#include <wolfssl/wolfcrypt/cryptocb.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/wc_port.h>
#endif

namespace asynccrypt {

#ifdef WOLF_CRYPTO_CB
namespace {

// wolfCrypt calls this for every operation on a key of a pkcs11 device's
// id. The device is looked up by that id, never taken from the callback's
// context pointer: the reference held for the call keeps the device alive
// while an application thread is inside it and another closes the device
// (wolfSSL's callback table has no lock, so a caller may already be on its
// way in when the device unregisters). After the close the lookup finds
// nothing and wolfCrypt's own code answers (and fails: it has no key).
int crypto_callback(int dev_id, wc_CryptoInfo* info, void* ctx) {
  (void)ctx;
  const std::shared_ptr<Device> device = Registry::instance().find(dev_id);
  auto* pkcs11 = dynamic_cast<Pkcs11Device*>(device.get());
  if (pkcs11 == nullptr) return CRYPTOCB_UNAVAILABLE;
  return pkcs11->on_crypto(info);
}

// The token object a key names, or false for a key that is not an id or
// label key (a software key given this device id: wolfCrypt computes it).
template <typename Key>
bool key_ref(const Key* key, p11::KeyRef* ref) {
  if (key->idLen > 0) {
    *ref = p11::KeyRef::id(
        std::string(reinterpret_cast<const char*>(key->id), static_cast<std::size_t>(key->idLen)));
    return true;
  }
  if (key->labelLen > 0) {
    *ref = p11::KeyRef::label(std::string(key->label, static_cast<std::size_t>(key->labelLen)));
    return true;
  }
  return false;
}

// An RSA public operation (TLS checks its own signature with the same key)
// on a software key made from the token's public parts: no trip to the HSM.
int rsa_public_op(const p11::RsaPublic& pub, const wc_CryptoInfo& info) {
  RsaKey soft;
  int ret = wc_InitRsaKey_ex(&soft, nullptr, INVALID_DEVID);
  if (ret != 0) return ret;
  ret = wc_RsaPublicKeyDecodeRaw(pub.modulus.data(), static_cast<word32>(pub.modulus.size()),
                                 pub.exponent.data(), static_cast<word32>(pub.exponent.size()),
                                 &soft);
  if (ret == 0) {
    ret = wc_RsaFunction(info.pk.rsa.in, info.pk.rsa.inLen, info.pk.rsa.out, info.pk.rsa.outLen,
                         info.pk.rsa.type, &soft, info.pk.rsa.rng);
  }
  wc_FreeRsaKey(&soft);
  return ret;
}

}  // namespace

Status Pkcs11Device::attach(int dev_id) {
  // wolfCrypt_Init empties the callback table (a zeroed table reads as
  // full of id 0); it counts its callers, so the device holds one
  // reference until it is destroyed (wolfCrypt_Cleanup calls into the
  // registry, so never from detach, which runs under its lock) and a
  // program that never called wolfSSL_Init still works.
  if (!crypt_initialised_) {
    const int ret = wolfCrypt_Init();
    if (ret != 0) return Status(ret, "pkcs11: wolfCrypt_Init failed");
    crypt_initialised_ = true;
  }
  const int ret = wc_CryptoCb_RegisterDevice(dev_id, &crypto_callback, nullptr);
  if (ret != 0) {
    // wolfSSL keeps a fixed table (MAX_CRYPTO_DEVID_CALLBACKS, 8 by default).
    return Status(ret,
                  "pkcs11: wolfSSL's crypto callback table is full: close a device "
                  "or build wolfSSL with a larger MAX_CRYPTO_DEVID_CALLBACKS");
  }
  return Status::ok();
}

void Pkcs11Device::detach(int dev_id) { wc_CryptoCb_UnRegisterDevice(dev_id); }

bool Pkcs11Device::take_signature(const WC_ASYNC_DEV* dev, const unsigned char* hash,
                                  word32 hash_len, unsigned char* out, word32* out_len, int* ret) {
  std::lock_guard lock(mu_);
  auto it = finished_.find(dev);
  if (it == finished_.end() || it->second.hash.size() != hash_len ||
      std::memcmp(it->second.hash.data(), hash, hash_len) != 0) {
    return false;
  }
  const std::vector<unsigned char> der = std::move(it->second.der);
  finished_.erase(it);
  if (*out_len < der.size()) {
    *ret = BUFFER_E;
    return true;
  }
  std::memcpy(out, der.data(), der.size());
  *out_len = static_cast<word32>(der.size());
  *ret = 0;
  return true;
}

void Pkcs11Device::release_wolfcrypt() {
  if (crypt_initialised_) wolfCrypt_Cleanup();
  crypt_initialised_ = false;
}

int Pkcs11Device::on_crypto(void* opaque) {
  auto* info = static_cast<wc_CryptoInfo*>(opaque);
  if (info->algo_type != WC_ALGO_TYPE_PK) return CRYPTOCB_UNAVAILABLE;
  p11::KeyRef ref;
  switch (info->pk.type) {
    case WC_PK_TYPE_RSA: {
      RsaKey* key = info->pk.rsa.key;
      if (!key_ref(key, &ref)) return CRYPTOCB_UNAVAILABLE;
      const int type = info->pk.rsa.type;
      if (type == RSA_PUBLIC_ENCRYPT || type == RSA_PUBLIC_DECRYPT) {
        auto pub = rsa_public(ref);
        if (!pub.is_ok()) return fail(pub.status());
        return rsa_public_op(pub.value(), *info);
      }
      auto job = std::make_unique<Pkcs11Job>();
      job->kind = Pkcs11Job::Kind::kRsaPrivate;
      job->key = ref;
      job->use = type == RSA_PRIVATE_DECRYPT ? p11::RawUse::kDecrypt : p11::RawUse::kSign;
      job->in.assign(info->pk.rsa.in, info->pk.rsa.in + info->pk.rsa.inLen);
      job->out = info->pk.rsa.out;
      job->out_len = info->pk.rsa.outLen;
      job->out_cap = *info->pk.rsa.outLen;
      return pend_or_run(&key->asyncDev, std::move(job));
    }
#ifdef _WC_PK_TYPE_MAX
    // The size query came with the macro (5.7.2 has both, 5.5.4 neither).
    // Without it wolfCrypt takes a key it cannot see for 2048 bits
    // (wc_RsaEncryptSize), so on 5.5.4 only RSA-2048 keys work by id.
    case WC_PK_TYPE_RSA_GET_SIZE: {
      const RsaKey* key = info->pk.rsa_get_size.key;
      if (!key_ref(key, &ref)) return CRYPTOCB_UNAVAILABLE;
      auto pub = rsa_public(ref);
      if (!pub.is_ok()) return fail(pub.status());
      *info->pk.rsa_get_size.keySize = static_cast<int>(pub.value().modulus.size());
      return 0;
    }
#endif
    case WC_PK_TYPE_ECDSA_SIGN: {
      ecc_key* key = info->pk.eccsign.key;
      if (!key_ref(key, &ref)) return CRYPTOCB_UNAVAILABLE;
      const byte* in = info->pk.eccsign.in;
      const word32 in_len = info->pk.eccsign.inlen;
      int ret = 0;
      // wolfCrypt's second call after the event completed: hand over the
      // signature the worker made for this key and hash.
      if (take_signature(&key->asyncDev, in, in_len, info->pk.eccsign.out, info->pk.eccsign.outlen,
                         &ret)) {
        return ret;
      }
      auto job = std::make_unique<Pkcs11Job>();
      job->kind = Pkcs11Job::Kind::kEcdsaSign;
      job->key = ref;
      job->in.assign(in, in + in_len);
      WC_ASYNC_DEV* dev = &key->asyncDev;
      ret = pend_or_run(dev, std::move(job));
      if (ret != 0) return ret;
      // Run at once: the signature is waiting, as after a worker.
      if (take_signature(dev, in, in_len, info->pk.eccsign.out, info->pk.eccsign.outlen, &ret)) {
        return ret;
      }
      return WC_HW_E;
    }
    default:
      return CRYPTOCB_UNAVAILABLE;
  }
}

#else  // !WOLF_CRYPTO_CB: create() refuses to open, so none of this runs.

Status Pkcs11Device::attach(int dev_id) {
  (void)dev_id;
  return Status(BAD_FUNC_ARG, "pkcs11: configure wolfSSL with --enable-cryptocb");
}
void Pkcs11Device::detach(int dev_id) { (void)dev_id; }
void Pkcs11Device::release_wolfcrypt() {}
int Pkcs11Device::on_crypto(void* info) {
  (void)info;
  return BAD_FUNC_ARG;
}

#endif  // WOLF_CRYPTO_CB

}  // namespace asynccrypt
