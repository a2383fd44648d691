// The benchmark's workloads: RSA, ECDSA, ECDH, DH, AES-GCM, AES-CBC and 3DES on N objects each.
#include "workloads.h"

#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/des3.h>
#include <wolfssl/wolfcrypt/dh.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/rsa.h>

// wolfSSL's built-in test keys (RSA-2048/3072, P-256). Using fixed keys
// means no key generation is needed, which the fast configuration lacks
// (no WOLFSSL_KEY_GEN).
#define USE_CERT_BUFFERS_2048
#define USE_CERT_BUFFERS_3072
#define USE_CERT_BUFFERS_256
#include <wolfssl/certs_test.h>

#include <array>
#include <cstring>

namespace asynccrypt::bench {
namespace {

using Bytes = std::vector<byte>;

// Deterministic, non-trivial contents for messages and buffers.
Bytes pattern(std::size_t n, unsigned seed) {
  Bytes out(n);
  unsigned x = seed * 2654435761u + 1;
  for (auto& b : out) {
    x = x * 1103515245u + 12345u;
    b = static_cast<byte>(x >> 16);
  }
  return out;
}

std::string failed(const char* what, int ret) {
  return std::string(what) + ": " + wc_GetErrorString(ret) + " (" + std::to_string(ret) + ")";
}

#ifndef NO_RSA
// ---------------------------------------------------------------------------
// RSA: PKCS#1 v1.5 sign (private key) and verify (public key) of a 32-byte digest.
// ---------------------------------------------------------------------------

class RsaWorkload : public Workload {
 public:
  RsaWorkload(const byte* der, word32 der_len, bool sign)
      : der_(der), der_len_(der_len), sign_(sign) {}
  ~RsaWorkload() override {
    for (int i = 0; i < inited_; ++i) wc_FreeRsaKey(&keys_[i]);
    if (sync_ok_) wc_FreeRsaKey(&sync_key_);
  }

  bool enable_nonblock() override {
    nonblock_ = kNonblockRsa;
    return nonblock_;
  }

  int setup(int count, int dev_id, WC_RNG* rng) override {
    rng_ = rng;
    msg_ = pattern(32, 1);
    if (int ret = load(&sync_key_, INVALID_DEVID); ret != 0) return ret;
    sync_ok_ = true;
    size_ = wc_RsaEncryptSize(&sync_key_);
    if (size_ <= 0) return size_ < 0 ? size_ : BAD_FUNC_ARG;
    // The signature every verify object checks, made synchronously.
    sig_.assign(static_cast<std::size_t>(size_), 0);
    int ret = wc_RsaSSL_Sign(msg_.data(), static_cast<word32>(msg_.size()), sig_.data(),
                             static_cast<word32>(size_), &sync_key_, rng_);
    if (ret != size_) return ret < 0 ? ret : BAD_FUNC_ARG;
    keys_ = std::make_unique<RsaKey[]>(static_cast<std::size_t>(count));
#ifdef ASYNCCRYPT_BENCH_NONBLOCK_RSA
    nb_ = std::make_unique<RsaNb[]>(static_cast<std::size_t>(count));
#endif
    out_.assign(static_cast<std::size_t>(count), Bytes(static_cast<std::size_t>(size_)));
    for (int i = 0; i < count; ++i) {
      if ((ret = load(&keys_[i], dev_id)) != 0) return ret;
      inited_ = i + 1;
#ifdef ASYNCCRYPT_BENCH_NONBLOCK_RSA
      // Only on a device, as for ECC: without one wolfCrypt's loop is the caller's.
      if (nonblock_ && dev_id != INVALID_DEVID) {
        if ((ret = wc_RsaSetNonBlock(&keys_[i], &nb_[static_cast<std::size_t>(i)])) != 0) {
          return ret;
        }
      }
#endif
    }
    return 0;
  }

  int start(int i) override {
    byte* out = out_[static_cast<std::size_t>(i)].data();
    if (sign_) {
      return wc_RsaSSL_Sign(msg_.data(), static_cast<word32>(msg_.size()), out,
                            static_cast<word32>(size_), &keys_[i], rng_);
    }
    return wc_RsaSSL_Verify(sig_.data(), static_cast<word32>(size_), out,
                            static_cast<word32>(size_), &keys_[i]);
  }

  bool call_again() const override { return true; }
  WC_ASYNC_DEV* async_dev(int i) override { return &keys_[i].asyncDev; }

  std::string verify(int i) override {
    const Bytes& out = out_[static_cast<std::size_t>(i)];
    if (sign_) {
      if (out != sig_) return "signature differs from synchronous wolfCrypt's";
      return "";
    }
    if (std::memcmp(out.data(), msg_.data(), msg_.size()) != 0) return "recovered digest differs";
    return "";
  }

 private:
  int load(RsaKey* key, int dev_id) {
    int ret = wc_InitRsaKey_ex(key, nullptr, dev_id);
    if (ret != 0) return ret;
    word32 idx = 0;
    ret = wc_RsaPrivateKeyDecode(der_, &idx, key, der_len_);
#ifdef WC_RSA_BLINDING
    if (ret == 0) ret = wc_RsaSetRNG(key, rng_);
#endif
    if (ret != 0) wc_FreeRsaKey(key);
    return ret;
  }

  const byte* der_;
  word32 der_len_;
  bool sign_;
  bool nonblock_ = false;
#ifdef ASYNCCRYPT_BENCH_NONBLOCK_RSA
  std::unique_ptr<RsaNb[]> nb_;  // one per key, outlives the keys' operations
#endif
  WC_RNG* rng_ = nullptr;
  Bytes msg_;
  Bytes sig_;
  int size_ = 0;
  RsaKey sync_key_{};
  bool sync_ok_ = false;
  std::unique_ptr<RsaKey[]> keys_;
  int inited_ = 0;
  std::vector<Bytes> out_;
};
#endif  // !NO_RSA

#if defined(HAVE_ECC) && defined(USE_CERT_BUFFERS_256)
// ---------------------------------------------------------------------------
// ECC P-256 and P-384: ECDSA sign and verify of a 32-byte digest, ECDH shared
// secret, key generation; optionally non-blocking (sliced on a sim device).
// ---------------------------------------------------------------------------

#if (defined(HAVE_ECC384) || defined(HAVE_ALL_CURVES)) && ECC_MIN_KEY_SZ <= 384
constexpr bool kHaveP384 = true;
#else
constexpr bool kHaveP384 = false;
#endif

int load_ecc(ecc_key* key, const byte* der, word32 der_len, int dev_id, WC_RNG* rng) {
  int ret = wc_ecc_init_ex(key, nullptr, dev_id);
  if (ret != 0) return ret;
  word32 idx = 0;
  ret = wc_EccPrivateKeyDecode(der, &idx, key, der_len);
#ifdef ECC_TIMING_RESISTANT
  if (ret == 0) ret = wc_ecc_set_rng(key, rng);  // blinding of the shared secret
#else
  (void)rng;
#endif
  if (ret != 0) wc_ecc_free(key);
  return ret;
}

class EccWorkload : public Workload {
 public:
  EccWorkload(EccOp op, int bits) : op_(op), bytes_(bits / 8) {}
  ~EccWorkload() override {
    for (int i = 0; i < inited_; ++i) wc_ecc_free(&keys_[i]);
    if (sync_ok_) wc_ecc_free(&sync_key_);
    if (peer_ok_) wc_ecc_free(&peer_);
  }

  bool enable_nonblock() override {
    nonblock_ = kNonblockEcc;
    return nonblock_;
  }

  int setup(int count, int dev_id, WC_RNG* rng) override {
    rng_ = rng;
    hash_ = pattern(32, 2);
    // wolfSSL's fixed test keys: P-256 (ours and a peer), P-384 (ours; the
    // peer is made here).
    const byte* der = bytes_ == 32 ? ecc_key_der_256 : ca_ecc_key_der_384;
    const auto der_len =
        static_cast<word32>(bytes_ == 32 ? sizeof_ecc_key_der_256 : sizeof_ca_ecc_key_der_384);
    int ret = load_ecc(&sync_key_, der, der_len, INVALID_DEVID, rng);
    if (ret != 0) return ret;
    sync_ok_ = true;
    if (wc_ecc_size(&sync_key_) != bytes_) return ECC_BAD_ARG_E;
    if (bytes_ == 32) {
      ret = load_ecc(&peer_, ecc_clikey_der_256, sizeof_ecc_clikey_der_256, INVALID_DEVID, rng);
    } else {
      ret = wc_ecc_init_ex(&peer_, nullptr, INVALID_DEVID);
      if (ret == 0) {
        ret = wc_ecc_make_key(rng, bytes_, &peer_);
        if (ret != 0) wc_ecc_free(&peer_);
      }
    }
    if (ret != 0) return ret;
    peer_ok_ = true;  // the peer of ECDH, used read-only by all objects
    sig_.assign(ECC_MAX_SIG_SIZE, 0);
    word32 sig_len = static_cast<word32>(sig_.size());
    ret = wc_ecc_sign_hash(hash_.data(), 32, sig_.data(), &sig_len, rng_, &sync_key_);
    if (ret != 0) return ret;
    sig_.resize(sig_len);
    secret_.assign(static_cast<std::size_t>(bytes_), 0);
    word32 secret_len = static_cast<word32>(bytes_);
    ret = wc_ecc_shared_secret(&sync_key_, &peer_, secret_.data(), &secret_len);
    if (ret != 0) return ret;

    const auto n = static_cast<std::size_t>(count);
    keys_ = std::make_unique<ecc_key[]>(n);
#ifdef ASYNCCRYPT_BENCH_NONBLOCK_ECC
    nb_ = std::make_unique<ecc_nb_ctx_t[]>(n);
#endif
    out_.assign(n, Bytes(ECC_MAX_SIG_SIZE));
    out_len_.assign(n, 0);
    stat_.assign(n, 0);
    for (int i = 0; i < count; ++i) {
      if (op_ == EccOp::kKeygen) {
        ret = wc_ecc_init_ex(&keys_[i], nullptr, dev_id);
      } else {
        ret = load_ecc(&keys_[i], der, der_len, dev_id, rng);
      }
      if (ret != 0) return ret;
      inited_ = i + 1;
#ifdef ASYNCCRYPT_BENCH_NONBLOCK_ECC
      // Only on a device: without one, wolfCrypt's synchronous path would
      // return FP_WOULDBLOCK after each slice (docs/known-issues.md, 7 and 8).
      if (nonblock_ && dev_id != INVALID_DEVID) {
        if ((ret = wc_ecc_set_nonblock(&keys_[i], &nb_[static_cast<std::size_t>(i)])) != 0) {
          return ret;
        }
      }
#endif
    }
    return 0;
  }

  int start(int i) override {
    const auto k = static_cast<std::size_t>(i);
    out_len_[k] = op_of(i) == EccOp::kAgree ? static_cast<word32>(bytes_)
                                            : static_cast<word32>(out_[k].size());
    stat_[k] = 0;
    if (op_ == EccOp::kKeygen) return wc_ecc_make_key(rng_, bytes_, &keys_[i]);
    return again(i);
  }

  // The same call collects the result; it must not reset the lengths.
  int again(int i) override {
    const auto k = static_cast<std::size_t>(i);
    switch (op_of(i)) {
      case EccOp::kSign:
        return wc_ecc_sign_hash(hash_.data(), 32, out_[k].data(), &out_len_[k], rng_, &keys_[i]);
      case EccOp::kVerify:
        return wc_ecc_verify_hash(sig_.data(), static_cast<word32>(sig_.size()), hash_.data(), 32,
                                  &stat_[k], &keys_[i]);
      case EccOp::kAgree:
        return wc_ecc_shared_secret(&keys_[i], &peer_, out_[k].data(), &out_len_[k]);
      default:
        return BAD_FUNC_ARG;  // key generation has no call-again step
    }
  }

  bool call_again() const override { return op_ != EccOp::kKeygen; }
  WC_ASYNC_DEV* async_dev(int i) override { return &keys_[i].asyncDev; }

  std::string verify(int i) override {
    const auto k = static_cast<std::size_t>(i);
    switch (op_of(i)) {
      case EccOp::kSign: {
        int ok = 0;
        const int ret =
            wc_ecc_verify_hash(out_[k].data(), out_len_[k], hash_.data(), 32, &ok, &sync_key_);
        if (ret != 0) return failed("wc_ecc_verify_hash", ret);
        return ok == 1 ? "" : "signature does not verify";
      }
      case EccOp::kVerify:
        return stat_[k] == 1 ? "" : "valid signature reported invalid";
      case EccOp::kAgree:
        if (out_len_[k] != secret_.size() ||
            std::memcmp(out_[k].data(), secret_.data(), secret_.size()) != 0) {
          return "shared secret differs from synchronous wolfCrypt's";
        }
        return "";
      case EccOp::kKeygen:
        return check_pair(&keys_[i]);
      default:
        return "unknown operation";
    }
  }

 private:
  EccOp op_of(int i) const {
    if (op_ != EccOp::kMixed) return op_;
    constexpr EccOp kTurns[] = {EccOp::kSign, EccOp::kVerify, EccOp::kAgree};
    return kTurns[i % 3];
  }

  // A generated pair is consistent when a copy of it without a device signs
  // a digest that its public key verifies.
  std::string check_pair(ecc_key* key) {
    byte priv[MAX_ECC_BYTES];
    byte pub[2 * MAX_ECC_BYTES + 1];
    word32 priv_len = sizeof priv;
    word32 pub_len = sizeof pub;
    int ret = wc_ecc_export_private_only(key, priv, &priv_len);
    if (ret == 0) ret = wc_ecc_export_x963(key, pub, &pub_len);
    if (ret != 0) return failed("exporting the generated key", ret);
    ecc_key copy;
    if ((ret = wc_ecc_init_ex(&copy, nullptr, INVALID_DEVID)) != 0) return failed("init", ret);
    ret = wc_ecc_import_private_key_ex(priv, priv_len, pub, pub_len, &copy,
                                       wc_ecc_get_curve_id(key->idx));
    byte sig[ECC_MAX_SIG_SIZE];
    word32 sig_len = sizeof sig;
    int ok = 0;
    if (ret == 0) ret = wc_ecc_sign_hash(hash_.data(), 32, sig, &sig_len, rng_, &copy);
    if (ret == 0) ret = wc_ecc_verify_hash(sig, sig_len, hash_.data(), 32, &ok, &copy);
    wc_ecc_free(&copy);
    if (ret != 0) return failed("checking the generated key", ret);
    return ok == 1 ? "" : "generated private and public keys do not match";
  }

  EccOp op_;
  int bytes_;  // 32 (P-256) or 48 (P-384)
  bool nonblock_ = false;
  WC_RNG* rng_ = nullptr;
  Bytes hash_;
  Bytes sig_;
  Bytes secret_;
  ecc_key sync_key_{};
  bool sync_ok_ = false;
  ecc_key peer_{};
  bool peer_ok_ = false;
  std::unique_ptr<ecc_key[]> keys_;
#ifdef ASYNCCRYPT_BENCH_NONBLOCK_ECC
  std::unique_ptr<ecc_nb_ctx_t[]> nb_;  // one per key, outlives the keys' operations
#endif
  int inited_ = 0;
  std::vector<Bytes> out_;
  std::vector<word32> out_len_;
  std::vector<int> stat_;
};
#endif  // HAVE_ECC

#if !defined(NO_DH) && defined(HAVE_FFDHE_2048)
// ---------------------------------------------------------------------------
// DH-2048 (RFC 7919 ffdhe2048): agreement with a fixed peer.
// ---------------------------------------------------------------------------

class DhWorkload : public Workload {
 public:
  ~DhWorkload() override {
    for (int i = 0; i < inited_; ++i) wc_FreeDhKey(&keys_[i]);
  }

  bool enable_nonblock() override {
    nonblock_ = kNonblockDh;
    return nonblock_;
  }

  int setup(int count, int dev_id, WC_RNG* rng) override {
    params_ = wc_Dh_ffdhe2048_Get();
    if (params_ == nullptr) return BAD_FUNC_ARG;
    // Our key pair and the peer's, made synchronously, and the secret.
    DhKey ours;
    DhKey peer;
    int ret = init(&ours, INVALID_DEVID);
    if (ret != 0) return ret;
    ret = init(&peer, INVALID_DEVID);
    if (ret != 0) {
      wc_FreeDhKey(&ours);
      return ret;
    }
    priv_.assign(256, 0);
    pub_.assign(256, 0);
    peer_priv_.assign(256, 0);
    peer_pub_.assign(256, 0);
    word32 priv_len = 256, pub_len = 256, peer_priv_len = 256, peer_pub_len = 256;
    ret = wc_DhGenerateKeyPair(&ours, rng, priv_.data(), &priv_len, pub_.data(), &pub_len);
    if (ret == 0) {
      ret = wc_DhGenerateKeyPair(&peer, rng, peer_priv_.data(), &peer_priv_len, peer_pub_.data(),
                                 &peer_pub_len);
    }
    priv_.resize(priv_len);
    peer_pub_.resize(peer_pub_len);
    secret_.assign(256, 0);
    word32 secret_len = 256;
    if (ret == 0) {
      ret = wc_DhAgree(&ours, secret_.data(), &secret_len, priv_.data(), priv_len, peer_pub_.data(),
                       peer_pub_len);
    }
    secret_.resize(secret_len);
    wc_FreeDhKey(&ours);
    wc_FreeDhKey(&peer);
    if (ret != 0) return ret;

    const auto n = static_cast<std::size_t>(count);
    keys_ = std::make_unique<DhKey[]>(n);
#ifdef ASYNCCRYPT_BENCH_NONBLOCK_DH
    nb_ = std::make_unique<DhNb[]>(n);
#endif
    out_.assign(n, Bytes(256));
    out_len_.assign(n, 0);
    for (int i = 0; i < count; ++i) {
      if ((ret = init(&keys_[i], dev_id)) != 0) return ret;
      inited_ = i + 1;
#ifdef ASYNCCRYPT_BENCH_NONBLOCK_DH
      if (nonblock_ && dev_id != INVALID_DEVID) {
        if ((ret = wc_DhSetNonBlock(&keys_[i], &nb_[static_cast<std::size_t>(i)])) != 0) {
          return ret;
        }
      }
#endif
    }
    return 0;
  }

  int start(int i) override {
    const auto k = static_cast<std::size_t>(i);
    out_len_[k] = static_cast<word32>(out_[k].size());
    return wc_DhAgree(&keys_[i], out_[k].data(), &out_len_[k], priv_.data(),
                      static_cast<word32>(priv_.size()), peer_pub_.data(),
                      static_cast<word32>(peer_pub_.size()));
  }

  bool call_again() const override { return false; }
  WC_ASYNC_DEV* async_dev(int i) override { return &keys_[i].asyncDev; }

  std::string verify(int i) override {
    const auto k = static_cast<std::size_t>(i);
    if (out_len_[k] != secret_.size() ||
        std::memcmp(out_[k].data(), secret_.data(), secret_.size()) != 0) {
      return "agreed secret differs from synchronous wolfCrypt's";
    }
    return "";
  }

 private:
  int init(DhKey* key, int dev_id) {
    int ret = wc_InitDhKey_ex(key, nullptr, dev_id);
    if (ret != 0) return ret;
    ret = wc_DhSetKey(key, params_->p, params_->p_len, params_->g, params_->g_len);
    if (ret != 0) wc_FreeDhKey(key);
    return ret;
  }

  const DhParams* params_ = nullptr;
  bool nonblock_ = false;
#ifdef ASYNCCRYPT_BENCH_NONBLOCK_DH
  std::unique_ptr<DhNb[]> nb_;  // one per key, outlives the keys' operations
#endif
  Bytes priv_, pub_, peer_priv_, peer_pub_, secret_;
  std::unique_ptr<DhKey[]> keys_;
  int inited_ = 0;
  std::vector<Bytes> out_;
  std::vector<word32> out_len_;
};
#endif  // !NO_DH && HAVE_FFDHE_2048

// ---------------------------------------------------------------------------
// Ciphers: `size`-byte buffers, each object with its own key schedule.
// ---------------------------------------------------------------------------

// Symmetric workloads share this shape: a plaintext, its ciphertext (made
// synchronously at setup) and one output buffer per object.
class CipherWorkload : public Workload {
 public:
  CipherWorkload(std::size_t size, bool encrypt) : size_(size), encrypt_(encrypt) {}

  bool call_again() const override { return false; }

  std::string verify(int i) override {
    const Bytes& want = encrypt_ ? cipher_ : plain_;
    if (out_[static_cast<std::size_t>(i)] != want) {
      return encrypt_ ? "ciphertext differs from synchronous wolfCrypt's"
                      : "decryption does not give the plaintext back";
    }
    if (encrypt_ && !tag_.empty() && tags_[static_cast<std::size_t>(i)] != tag_) {
      return "tag differs from synchronous wolfCrypt's";
    }
    return "";
  }

 protected:
  // Fills plain_ and the per-object buffers; subclasses fill cipher_ (and tag_).
  void prepare(int count) {
    plain_ = pattern(size_, 3);
    out_.assign(static_cast<std::size_t>(count), Bytes(size_));
  }
  const byte* input() const { return encrypt_ ? plain_.data() : cipher_.data(); }
  byte* output(int i) { return out_[static_cast<std::size_t>(i)].data(); }
  word32 size() const { return static_cast<word32>(size_); }

  std::size_t size_;
  bool encrypt_;
  Bytes plain_, cipher_, tag_;
  std::vector<Bytes> out_;
  std::vector<Bytes> tags_;  // GCM only
};

#ifndef NO_AES
constexpr std::array<byte, 16> kAesKey = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                                          0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
constexpr std::array<byte, 16> kIv = {0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
                                      0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f};

class AesWorkload : public CipherWorkload {
 public:
  using CipherWorkload::CipherWorkload;
  ~AesWorkload() override {
    for (int i = 0; i < inited_; ++i) wc_AesFree(&aes_[i]);
  }
  WC_ASYNC_DEV* async_dev(int i) override { return &aes_[i].asyncDev; }

 protected:
  std::unique_ptr<Aes[]> aes_;
  int inited_ = 0;
};

#ifdef HAVE_AESGCM
// AES-128-GCM with a 12-byte nonce and 13 bytes of additional data (a TLS
// record header), 16-byte tag.
class AesGcmWorkload final : public AesWorkload {
 public:
  using AesWorkload::AesWorkload;

  int setup(int count, int dev_id, WC_RNG*) override {
    prepare(count);
    aad_ = pattern(13, 4);
    Aes sync;
    int ret = init(&sync, INVALID_DEVID);
    if (ret != 0) return ret;
    cipher_.assign(size_, 0);
    tag_.assign(16, 0);
    ret = wc_AesGcmEncrypt(&sync, cipher_.data(), plain_.data(), size(), kIv.data(), 12,
                           tag_.data(), 16, aad_.data(), 13);
    wc_AesFree(&sync);
    if (ret != 0) return ret;
    tags_.assign(static_cast<std::size_t>(count), Bytes(16));
    aes_ = std::make_unique<Aes[]>(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
      if ((ret = init(&aes_[i], dev_id)) != 0) return ret;
      inited_ = i + 1;
    }
    return 0;
  }

  int start(int i) override {
    if (encrypt_) {
      return wc_AesGcmEncrypt(&aes_[i], output(i), input(), size(), kIv.data(), 12,
                              tags_[static_cast<std::size_t>(i)].data(), 16, aad_.data(), 13);
    }
    return wc_AesGcmDecrypt(&aes_[i], output(i), input(), size(), kIv.data(), 12, tag_.data(), 16,
                            aad_.data(), 13);
  }

 private:
  static int init(Aes* aes, int dev_id) {
    int ret = wc_AesInit(aes, nullptr, dev_id);
    if (ret != 0) return ret;
    ret = wc_AesGcmSetKey(aes, kAesKey.data(), static_cast<word32>(kAesKey.size()));
    if (ret != 0) wc_AesFree(aes);
    return ret;
  }

  Bytes aad_;
};
#endif  // HAVE_AESGCM

#ifdef HAVE_AES_CBC
// AES-128-CBC. Each operation starts from the same IV, so every output can
// be checked against one synchronous result.
class AesCbcWorkload final : public AesWorkload {
 public:
  using AesWorkload::AesWorkload;

  int setup(int count, int dev_id, WC_RNG*) override {
    prepare(count);
    Aes sync;
    int ret = init(&sync, INVALID_DEVID, AES_ENCRYPTION);
    if (ret != 0) return ret;
    cipher_.assign(size_, 0);
    ret = wc_AesCbcEncrypt(&sync, cipher_.data(), plain_.data(), size());
    wc_AesFree(&sync);
    if (ret != 0) return ret;
    aes_ = std::make_unique<Aes[]>(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
      ret = init(&aes_[i], dev_id, encrypt_ ? AES_ENCRYPTION : AES_DECRYPTION);
      if (ret != 0) return ret;
      inited_ = i + 1;
    }
    return 0;
  }

  int start(int i) override {
    int ret = wc_AesSetIV(&aes_[i], kIv.data());
    if (ret != 0) return ret;
    return encrypt_ ? wc_AesCbcEncrypt(&aes_[i], output(i), input(), size())
                    : wc_AesCbcDecrypt(&aes_[i], output(i), input(), size());
  }

 private:
  static int init(Aes* aes, int dev_id, int dir) {
    int ret = wc_AesInit(aes, nullptr, dev_id);
    if (ret != 0) return ret;
    ret = wc_AesSetKey(aes, kAesKey.data(), static_cast<word32>(kAesKey.size()), kIv.data(), dir);
    if (ret != 0) wc_AesFree(aes);
    return ret;
  }
};
#endif  // HAVE_AES_CBC
#endif  // !NO_AES

#ifndef NO_DES3
// 3DES-CBC (three-key), same IV for every operation.
class Des3Workload final : public CipherWorkload {
 public:
  using CipherWorkload::CipherWorkload;
  ~Des3Workload() override {
    for (int i = 0; i < inited_; ++i) wc_Des3Free(&des_[i]);
  }

  int setup(int count, int dev_id, WC_RNG*) override {
    prepare(count);
    key_ = pattern(24, 5);
    Des3 sync;
    int ret = init(&sync, INVALID_DEVID, DES_ENCRYPTION);
    if (ret != 0) return ret;
    cipher_.assign(size_, 0);
    ret = wc_Des3_CbcEncrypt(&sync, cipher_.data(), plain_.data(), size());
    wc_Des3Free(&sync);
    if (ret != 0) return ret;
    des_ = std::make_unique<Des3[]>(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
      ret = init(&des_[i], dev_id, encrypt_ ? DES_ENCRYPTION : DES_DECRYPTION);
      if (ret != 0) return ret;
      inited_ = i + 1;
    }
    return 0;
  }

  int start(int i) override {
    int ret = wc_Des3_SetIV(&des_[i], kIv3.data());
    if (ret != 0) return ret;
    return encrypt_ ? wc_Des3_CbcEncrypt(&des_[i], output(i), input(), size())
                    : wc_Des3_CbcDecrypt(&des_[i], output(i), input(), size());
  }

  WC_ASYNC_DEV* async_dev(int i) override { return &des_[i].asyncDev; }

 private:
  static constexpr std::array<byte, 8> kIv3 = {1, 2, 3, 4, 5, 6, 7, 8};

  int init(Des3* des, int dev_id, int dir) {
    int ret = wc_Des3Init(des, nullptr, dev_id);
    if (ret != 0) return ret;
    ret = wc_Des3_SetKey(des, key_.data(), kIv3.data(), dir);
    if (ret != 0) wc_Des3Free(des);
    return ret;
  }

  Bytes key_;
  std::unique_ptr<Des3[]> des_;
  int inited_ = 0;
};
#endif  // !NO_DES3

constexpr int kSizes[] = {1024, 16384};

template <typename W>
void add_cipher_rows(std::vector<RowSpec>& rows, const char* family, const char* algorithm,
                     const std::vector<int>& sizes) {
  const std::vector<int> chosen =
      sizes.empty() ? std::vector<int>(std::begin(kSizes), std::end(kSizes)) : sizes;
  for (int size : chosen) {
    for (bool encrypt : {true, false}) {
      rows.push_back(
          RowSpec{family, algorithm, encrypt ? "enc" : "dec", size, true, [size, encrypt] {
                    return std::make_unique<W>(static_cast<std::size_t>(size), encrypt);
                  }});
    }
  }
}

}  // namespace

std::vector<std::string> all_families() {
  return {"rsa2048",    "rsa3072", "ecdsa-p256", "ecdh-p256", "ecdsa-p384", "ecdh-p384",
          "ecc-keygen", "dh2048",  "aes-gcm",    "aes-cbc",   "3des"};
}

std::unique_ptr<Workload> make_ecc_workload(EccOp op, int bits) {
#if defined(HAVE_ECC) && defined(USE_CERT_BUFFERS_256)
  if (bits == 256 || (bits == 384 && kHaveP384)) return std::make_unique<EccWorkload>(op, bits);
#else
  (void)op;
  (void)bits;
#endif
  return nullptr;
}

std::vector<RowSpec> all_rows(std::vector<std::string>* skipped,
                              const std::vector<int>& cipher_sizes) {
  std::vector<RowSpec> rows;
  [[maybe_unused]] auto skip = [skipped](const std::string& line) {
    if (skipped != nullptr) skipped->push_back(line);
  };
#ifndef NO_RSA
  for (bool sign : {true, false}) {
    rows.push_back(RowSpec{"rsa2048", "RSA", sign ? "sign" : "verify", 2048, false,
                           [sign] {
                             return std::make_unique<RsaWorkload>(
                                 client_key_der_2048,
                                 static_cast<word32>(sizeof_client_key_der_2048), sign);
                           },
                           kNonblockRsa});
  }
  // wolfSSL's fixed RSA-3072 test key: the build need not generate keys.
  rows.push_back(RowSpec{"rsa3072", "RSA", "sign", 3072, false, [] {
                           return std::make_unique<RsaWorkload>(
                               client_key_der_3072, static_cast<word32>(sizeof_client_key_der_3072),
                               true);
                         }});
#else
  skip("rsa2048, rsa3072: this wolfSSL build has NO_RSA");
#endif
#if defined(HAVE_ECC) && defined(USE_CERT_BUFFERS_256)
  // With WC_ECC_NONBLOCK every ECC row also runs non-blocking on sim devices.
  for (int bits : {256, 384}) {
    if (bits == 384 && !kHaveP384) {
      skip("ecdsa-p384, ecdh-p384, ecc-keygen P-384: this wolfSSL build has no P-384");
      continue;
    }
    const std::string curve = "-p" + std::to_string(bits);
    auto add = [&](const std::string& family, const char* algorithm, const char* op, EccOp ecc_op) {
      rows.push_back(RowSpec{family, algorithm, op, bits, false,
                             [ecc_op, bits] { return std::make_unique<EccWorkload>(ecc_op, bits); },
                             kNonblockEcc});
    };
    add("ecdsa" + curve, "ECDSA", "sign", EccOp::kSign);
    add("ecdsa" + curve, "ECDSA", "verify", EccOp::kVerify);
    add("ecdh" + curve, "ECDHE", "agree", EccOp::kAgree);
    add("ecc-keygen", "ECC", "keygen", EccOp::kKeygen);
  }
#else
  skip("ecdsa-p256, ecdh-p256, ecdsa-p384, ecdh-p384, ecc-keygen: this wolfSSL build has no ECC");
#endif
#if !defined(NO_DH) && defined(HAVE_FFDHE_2048)
  rows.push_back(RowSpec{"dh2048", "DH", "agree", 2048, false,
                         [] { return std::make_unique<DhWorkload>(); }, kNonblockDh});
#else
  skip("dh2048: this wolfSSL build has NO_DH or no ffdhe2048 group");
#endif
#if !defined(NO_AES) && defined(HAVE_AESGCM)
  add_cipher_rows<AesGcmWorkload>(rows, "aes-gcm", "AES-128-GCM", cipher_sizes);
#else
  skip("aes-gcm: this wolfSSL build has no AES-GCM");
#endif
#if !defined(NO_AES) && defined(HAVE_AES_CBC)
  add_cipher_rows<AesCbcWorkload>(rows, "aes-cbc", "AES-128-CBC", cipher_sizes);
#else
  skip("aes-cbc: this wolfSSL build has no AES-CBC");
#endif
#ifndef NO_DES3
  add_cipher_rows<Des3Workload>(rows, "3des", "3DES-CBC", cipher_sizes);
#else
  skip("3des: this wolfSSL build has NO_DES3");
#endif
  return rows;
}

}  // namespace asynccrypt::bench
