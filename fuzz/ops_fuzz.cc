// Fuzzes every offloaded operation type on every device kind against synchronous wolfCrypt.
#include "ops_fuzz.h"

#include "core/wolfssl_api.h"

#include <poll.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/des3.h>
#include <wolfssl/wolfcrypt/dh.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/memory.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#ifdef HAVE_CURVE25519
#include <wolfssl/wolfcrypt/curve25519.h>
#endif
#ifndef USE_CERT_BUFFERS_2048
#define USE_CERT_BUFFERS_2048
#endif
#include <wolfssl/certs_test.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include "fuzz_input.h"

namespace asynccrypt::fuzz {
namespace {

using Bytes = std::vector<byte>;

#if defined(HAVE_CURVE25519) && defined(WC_ASYNC_ENABLE_X25519) && \
    LIBWOLFSSL_VERSION_HEX >= 0x05009000
#define OPS_FUZZ_X25519 1
#endif

// OPS_FUZZ_TRACE=1 prints each operation's results, to replay a finding.
[[gnu::format(printf, 1, 2)]] void trace(const char* format, ...) {
  static const bool on = std::getenv("OPS_FUZZ_TRACE") != nullptr;
  if (!on) return;
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fputc('\n', stderr);
}

// ---------------------------------------------------------------------------
// Allocation failures: wolfSSL's allocator hook (XMALLOC: wolfCrypt's memory
// and the layer's operation records). Armed with n, it lets n allocations
// through and fails every later one, on every thread, until disarmed.
// ---------------------------------------------------------------------------

std::atomic<bool> g_armed{false};
std::atomic<long> g_allowed{0};

void* failing_malloc(size_t size) {
  if (g_armed.load(std::memory_order_relaxed) &&
      g_allowed.fetch_sub(1, std::memory_order_relaxed) <= 0) {
    return nullptr;
  }
  return std::malloc(size);
}
void failing_free(void* ptr) { std::free(ptr); }
void* failing_realloc(void* ptr, size_t size) {
  if (g_armed.load(std::memory_order_relaxed) &&
      g_allowed.fetch_sub(1, std::memory_order_relaxed) <= 0) {
    return nullptr;
  }
  return std::realloc(ptr, size);
}

// ---------------------------------------------------------------------------
// Keys and references, made once per process, used by the fuzzing thread only.
// ---------------------------------------------------------------------------

struct Keys {
  WC_RNG rng;
  RsaKey rsa;  // the synchronous reference
  Bytes ecc_priv, ecc_pub, peer_pub;
  ecc_key ecc;       // synchronous, the same pair as ecc_priv/ecc_pub
  ecc_key ecc_peer;  // synchronous, public part only
  const DhParams* dh = nullptr;
  DhKey dh_sync;
  Bytes dh_priv, dh_pub, dh_peer_priv, dh_peer_pub;

  Keys() {
    FUZZ_CHECK(wc_InitRng(&rng) == 0);
    FUZZ_CHECK(wc_InitRsaKey_ex(&rsa, nullptr, INVALID_DEVID) == 0);
    word32 idx = 0;
    FUZZ_CHECK(
        wc_RsaPrivateKeyDecode(client_key_der_2048, &idx, &rsa, sizeof_client_key_der_2048) == 0);
    FUZZ_CHECK(wc_RsaSetRNG(&rsa, &rng) == 0);
    ecc_pair(&ecc, &ecc_priv, &ecc_pub);
    Bytes ignored;
    ecc_pair(&ecc_peer, &ignored, &peer_pub);
    wc_ecc_set_rng(&ecc, &rng);
    dh = wc_Dh_ffdhe2048_Get();
    FUZZ_CHECK(dh != nullptr);
    FUZZ_CHECK(wc_InitDhKey_ex(&dh_sync, nullptr, INVALID_DEVID) == 0);
    FUZZ_CHECK(wc_DhSetKey(&dh_sync, dh->p, dh->p_len, dh->g, dh->g_len) == 0);
    dh_pair(&dh_priv, &dh_pub);
    dh_pair(&dh_peer_priv, &dh_peer_pub);
  }

  void ecc_pair(ecc_key* key, Bytes* priv, Bytes* pub) {
    FUZZ_CHECK(wc_ecc_init_ex(key, nullptr, INVALID_DEVID) == 0);
    FUZZ_CHECK(wc_ecc_make_key_ex(&rng, 32, key, ECC_SECP256R1) == 0);
    priv->resize(32);
    pub->resize(65);
    word32 priv_len = 32;
    word32 pub_len = 65;
    FUZZ_CHECK(wc_ecc_export_private_only(key, priv->data(), &priv_len) == 0);
    FUZZ_CHECK(wc_ecc_export_x963(key, pub->data(), &pub_len) == 0);
    priv->resize(priv_len);
    pub->resize(pub_len);
  }

  void dh_pair(Bytes* priv, Bytes* pub) {
    priv->resize(256);
    pub->resize(256);
    word32 priv_len = 256;
    word32 pub_len = 256;
    FUZZ_CHECK(
        wc_DhGenerateKeyPair(&dh_sync, &rng, priv->data(), &priv_len, pub->data(), &pub_len) == 0);
    priv->resize(priv_len);
    pub->resize(pub_len);
  }

  static Keys& get() {
    static Keys keys;  // never freed: it lives as long as the fuzzing process
    return keys;
  }
};

// ---------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------

// FuzzOp is one operation on a fresh object bound to the device under test.
class FuzzOp {
 public:
  virtual ~FuzzOp() = default;
  virtual WC_ASYNC_DEV* record() = 0;
  // Clears the outputs before the operation's first call.
  virtual void prepare() {}
  // The wolfCrypt call; also the call made again after the event, for an
  // operation that resumes by calling again (with the same buffers, which
  // the device may have filled already).
  virtual int call() = 0;
  // RSA's and ECC's sign, verify and ECDH keep a state machine in the key
  // and finish in the call made again; the others finish with the event.
  virtual bool resumes_by_call() const = 0;
  // Checks a final result against synchronous wolfCrypt.
  virtual void check(int ret) = 0;

  std::atomic<bool> reported{false};
  bool pending = false;
};

Bytes take_bytes(Input& in, std::size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<byte>(in.byte());
  return b;
}

class RsaOp : public FuzzOp {
 public:
  explicit RsaOp(int dev) {
    FUZZ_CHECK(wc_InitRsaKey_ex(&key_, nullptr, dev) == 0);
    word32 idx = 0;
    FUZZ_CHECK(
        wc_RsaPrivateKeyDecode(client_key_der_2048, &idx, &key_, sizeof_client_key_der_2048) == 0);
    FUZZ_CHECK(wc_RsaSetRNG(&key_, &Keys::get().rng) == 0);
  }
  ~RsaOp() override { wc_FreeRsaKey(&key_); }
  WC_ASYNC_DEV* record() override { return &key_.asyncDev; }

 protected:
  RsaKey key_;
};

class RsaSign final : public RsaOp {
 public:
  RsaSign(int dev, Input& in) : RsaOp(dev), msg_(take_bytes(in, 1 + in.below(64))) {}
  void prepare() override { sig_.assign(256, 0); }
  int call() override {
    return wc_RsaSSL_Sign(msg_.data(), static_cast<word32>(msg_.size()), sig_.data(), 256, &key_,
                          &Keys::get().rng);
  }
  bool resumes_by_call() const override { return true; }
  void check(int ret) override {
    Bytes want(256);
    FUZZ_CHECK(wc_RsaSSL_Sign(msg_.data(), static_cast<word32>(msg_.size()), want.data(), 256,
                              &Keys::get().rsa, &Keys::get().rng) == 256);
    FUZZ_CHECK_EQ(ret, 256);
    FUZZ_CHECK(sig_ == want);
  }

 private:
  Bytes msg_, sig_;
};

class RsaVerify final : public RsaOp {
 public:
  RsaVerify(int dev, Input& in) : RsaOp(dev), sig_(256) {
    const Bytes msg = take_bytes(in, 1 + in.below(64));
    FUZZ_CHECK(wc_RsaSSL_Sign(msg.data(), static_cast<word32>(msg.size()), sig_.data(), 256,
                              &Keys::get().rsa, &Keys::get().rng) == 256);
    if (in.flag()) sig_[in.below(256)] ^= static_cast<byte>(1 + in.below(255));  // tampered
  }
  void prepare() override { out_.assign(256, 0); }
  int call() override { return wc_RsaSSL_Verify(sig_.data(), 256, out_.data(), 256, &key_); }
  bool resumes_by_call() const override { return true; }
  void check(int ret) override {
    Bytes want(256);
    const int want_ret = wc_RsaSSL_Verify(sig_.data(), 256, want.data(), 256, &Keys::get().rsa);
    FUZZ_CHECK_EQ(ret, want_ret);
    if (ret > 0) FUZZ_CHECK(std::memcmp(out_.data(), want.data(), static_cast<size_t>(ret)) == 0);
  }

 private:
  Bytes sig_, out_;
};

// wc_RsaFunction, private (decrypt) or public (encrypt), on a raw block.
class RsaRaw final : public RsaOp {
 public:
  RsaRaw(int dev, Input& in)
      : RsaOp(dev),
        type_(in.flag() ? RSA_PRIVATE_DECRYPT : RSA_PUBLIC_ENCRYPT),
        in_(take_bytes(in, 256)) {
    if (!in.flag()) in_[0] = 0;  // below the modulus (else maybe not: an error either way)
  }
  void prepare() override {
    out_.assign(256, 0);
    out_len_ = 256;
  }
  int call() override {
    return wc_RsaFunction(in_.data(), 256, out_.data(), &out_len_, type_, &key_, &Keys::get().rng);
  }
  bool resumes_by_call() const override { return false; }
  void check(int ret) override {
    Bytes want(256);
    word32 want_len = 256;
    const int want_ret = wc_RsaFunction(in_.data(), 256, want.data(), &want_len, type_,
                                        &Keys::get().rsa, &Keys::get().rng);
    FUZZ_CHECK_EQ(ret, want_ret);
    if (ret == 0) FUZZ_CHECK(out_len_ == want_len && out_ == want);
  }

 private:
  int type_;
  Bytes in_, out_;
  word32 out_len_ = 256;
};

class EccOp : public FuzzOp {
 public:
  explicit EccOp(int dev) {
    Keys& k = Keys::get();
    FUZZ_CHECK(wc_ecc_init_ex(&key_, nullptr, dev) == 0);
    FUZZ_CHECK(wc_ecc_import_private_key_ex(
                   k.ecc_priv.data(), static_cast<word32>(k.ecc_priv.size()), k.ecc_pub.data(),
                   static_cast<word32>(k.ecc_pub.size()), &key_, ECC_SECP256R1) == 0);
    FUZZ_CHECK(wc_ecc_set_rng(&key_, &k.rng) == 0);
  }
  ~EccOp() override { wc_ecc_free(&key_); }
  WC_ASYNC_DEV* record() override { return &key_.asyncDev; }
  bool resumes_by_call() const override { return true; }

 protected:
  ecc_key key_;
};

class EcdsaSign final : public EccOp {
 public:
  EcdsaSign(int dev, Input& in) : EccOp(dev), hash_(take_bytes(in, 32)) {}
  void prepare() override {
    sig_.assign(ECC_MAX_SIG_SIZE, 0);
    sig_len_ = static_cast<word32>(sig_.size());
  }
  int call() override {
    return wc_ecc_sign_hash(hash_.data(), 32, sig_.data(), &sig_len_, &Keys::get().rng, &key_);
  }
  void check(int ret) override {
    // The signature is random; the result code is not (a zero hash is refused).
    Bytes want(ECC_MAX_SIG_SIZE);
    auto want_len = static_cast<word32>(want.size());
    const int want_ret = wc_ecc_sign_hash(hash_.data(), 32, want.data(), &want_len,
                                          &Keys::get().rng, &Keys::get().ecc);
    FUZZ_CHECK_EQ(ret, want_ret);
    if (ret != 0) return;
    int ok = 0;
    FUZZ_CHECK(wc_ecc_verify_hash(sig_.data(), sig_len_, hash_.data(), 32, &ok, &Keys::get().ecc) ==
               0);
    FUZZ_CHECK(ok == 1);
  }

 private:
  Bytes hash_, sig_;
  word32 sig_len_ = 0;
};

class EcdsaVerify final : public EccOp {
 public:
  EcdsaVerify(int dev, Input& in) : EccOp(dev), hash_(take_bytes(in, 32)), sig_(ECC_MAX_SIG_SIZE) {
    hash_[31] |= 1;  // wolfCrypt refuses to sign a zero hash (EcdsaSign covers that)
    word32 len = static_cast<word32>(sig_.size());
    FUZZ_CHECK(wc_ecc_sign_hash(hash_.data(), 32, sig_.data(), &len, &Keys::get().rng,
                                &Keys::get().ecc) == 0);
    sig_.resize(len);
    if (in.flag()) sig_[in.below(len)] ^= static_cast<byte>(1 + in.below(255));  // tampered
  }
  void prepare() override { ok_ = -1; }
  int call() override {
    return wc_ecc_verify_hash(sig_.data(), static_cast<word32>(sig_.size()), hash_.data(), 32, &ok_,
                              &key_);
  }
  void check(int ret) override {
    int want_ok = -1;
    const int want_ret = wc_ecc_verify_hash(sig_.data(), static_cast<word32>(sig_.size()),
                                            hash_.data(), 32, &want_ok, &Keys::get().ecc);
    FUZZ_CHECK_EQ(ret, want_ret);
    if (ret == 0) FUZZ_CHECK(ok_ == want_ok);
  }

 private:
  Bytes hash_, sig_;
  int ok_ = -1;
};

class Ecdh final : public EccOp {
 public:
  explicit Ecdh(int dev) : EccOp(dev) {}
  void prepare() override {
    out_.assign(32, 0);
    len_ = 32;
  }
  int call() override {
    return wc_ecc_shared_secret(&key_, &Keys::get().ecc_peer, out_.data(), &len_);
  }
  void check(int ret) override {
    Bytes want(32);
    word32 len = 32;
    FUZZ_CHECK(wc_ecc_shared_secret(&Keys::get().ecc, &Keys::get().ecc_peer, want.data(), &len) ==
               0);
    FUZZ_CHECK_EQ(ret, 0);
    FUZZ_CHECK(len_ == len && out_ == want);
  }

 private:
  Bytes out_;
  word32 len_ = 32;
};

class DhOp : public FuzzOp {
 public:
  explicit DhOp(int dev) {
    const DhParams* p = Keys::get().dh;
    FUZZ_CHECK(wc_InitDhKey_ex(&key_, nullptr, dev) == 0);
    FUZZ_CHECK(wc_DhSetKey(&key_, p->p, p->p_len, p->g, p->g_len) == 0);
  }
  ~DhOp() override { wc_FreeDhKey(&key_); }
  WC_ASYNC_DEV* record() override { return &key_.asyncDev; }
  bool resumes_by_call() const override { return false; }

 protected:
  // The synchronous agreement of priv with pub (ret, and the secret).
  static int agree(const Bytes& priv, const Bytes& pub, Bytes* out) {
    out->assign(256, 0);
    word32 len = 256;
    const int ret =
        wc_DhAgree(&Keys::get().dh_sync, out->data(), &len, priv.data(),
                   static_cast<word32>(priv.size()), pub.data(), static_cast<word32>(pub.size()));
    out->resize(ret == 0 ? len : 0);
    return ret;
  }

  DhKey key_;
};

// Agreement with the peer's public value, as given or tampered with.
class DhAgree final : public DhOp {
 public:
  DhAgree(int dev, Input& in) : DhOp(dev), peer_(Keys::get().dh_peer_pub) {
    switch (in.below(4)) {
      case 0:
        peer_[in.below(static_cast<unsigned>(peer_.size()))] ^=
            static_cast<byte>(1 + in.below(255));
        break;
      case 1:
        peer_.assign(1 + in.below(4), 0);
        peer_.back() = static_cast<byte>(in.below(3));  // 0, 1 or 2: weak values
        break;
      default:
        break;  // the peer's own
    }
  }
  void prepare() override {
    out_.assign(256, 0);
    len_ = 256;
  }
  int call() override {
    const Bytes& priv = Keys::get().dh_priv;
    return wc_DhAgree(&key_, out_.data(), &len_, priv.data(), static_cast<word32>(priv.size()),
                      peer_.data(), static_cast<word32>(peer_.size()));
  }
  void check(int ret) override {
    Bytes want;
    const int want_ret = agree(Keys::get().dh_priv, peer_, &want);
    FUZZ_CHECK_EQ(ret, want_ret);
    if (ret == 0) FUZZ_CHECK(Bytes(out_.begin(), out_.begin() + len_) == want);
  }

 private:
  Bytes peer_, out_;
  word32 len_ = 256;
};

// Key generation: the pair is checked by agreeing with the peer both ways.
class DhGen final : public DhOp {
 public:
  explicit DhGen(int dev) : DhOp(dev) {}
  void prepare() override {
    priv_.assign(256, 0);
    pub_.assign(256, 0);
    priv_len_ = 256;
    pub_len_ = 256;
  }
  int call() override {
    return wc_DhGenerateKeyPair(&key_, &Keys::get().rng, priv_.data(), &priv_len_, pub_.data(),
                                &pub_len_);
  }
  void check(int ret) override {
    FUZZ_CHECK_EQ(ret, 0);
    priv_.resize(priv_len_);
    pub_.resize(pub_len_);
    Bytes ours, theirs;
    FUZZ_CHECK(agree(priv_, Keys::get().dh_peer_pub, &ours) == 0);
    FUZZ_CHECK(agree(Keys::get().dh_peer_priv, pub_, &theirs) == 0);
    FUZZ_CHECK(ours == theirs);
  }

 private:
  Bytes priv_, pub_;
  word32 priv_len_ = 256, pub_len_ = 256;
};

// A size around the asynchronous threshold: below it wolfCrypt computes at
// once, above it the device gets it; odd sizes are CBC's length errors.
word32 sym_size(Input& in, word32 threshold, word32 block) {
  switch (in.below(4)) {
    case 0:
      return block * (1 + in.below(8));  // below the threshold
    case 1:
      return threshold + in.below(64);  // maybe not a whole block
    default:
      return threshold + block * in.below(128);
  }
}

class AesCbc final : public FuzzOp {
 public:
  AesCbc(int dev, Input& in)
      : dir_(in.flag() ? AES_ENCRYPTION : AES_DECRYPTION),
        key_bytes_(take_bytes(in, 16u + 8u * in.below(3))),
        iv_(take_bytes(in, 16)),
        in_(take_bytes(in, sym_size(in, WC_ASYNC_THRESH_AES_CBC, 16))) {
    init(&aes_, dev);
  }
  ~AesCbc() override { wc_AesFree(&aes_); }
  WC_ASYNC_DEV* record() override { return &aes_.asyncDev; }
  // CBC chains: the object's IV moved on with its last operation.
  void prepare() override {
    out_.assign(in_.size(), 0);
    FUZZ_CHECK(wc_AesSetIV(&aes_, iv_.data()) == 0);
  }
  int call() override { return run(&aes_, &out_); }
  bool resumes_by_call() const override { return false; }
  void check(int ret) override {
    Aes sync;
    init(&sync, INVALID_DEVID);
    Bytes want(in_.size());
    const int want_ret = run(&sync, &want);
    wc_AesFree(&sync);
    FUZZ_CHECK_EQ(ret, want_ret);
    if (ret == 0) FUZZ_CHECK(out_ == want);
  }

 private:
  void init(Aes* aes, int dev) {
    FUZZ_CHECK(wc_AesInit(aes, nullptr, dev) == 0);
    FUZZ_CHECK(wc_AesSetKey(aes, key_bytes_.data(), static_cast<word32>(key_bytes_.size()),
                            iv_.data(), dir_) == 0);
  }
  int run(Aes* aes, Bytes* out) {
    const auto sz = static_cast<word32>(in_.size());
    return dir_ == AES_ENCRYPTION ? wc_AesCbcEncrypt(aes, out->data(), in_.data(), sz)
                                  : wc_AesCbcDecrypt(aes, out->data(), in_.data(), sz);
  }

  int dir_;
  Bytes key_bytes_, iv_, in_, out_;
  Aes aes_;
};

class AesGcm final : public FuzzOp {
 public:
  AesGcm(int dev, Input& in)
      : encrypt_(in.flag()),
        key_bytes_(take_bytes(in, 16u + 8u * in.below(3))),
        iv_(take_bytes(in, in.below(4) == 0 ? 1 + in.below(16) : 12)),
        aad_(take_bytes(in, in.below(40))),
        in_(take_bytes(in, sym_size(in, WC_ASYNC_THRESH_AES_GCM, 1))),
        tag_(take_bytes(in, 16)) {
    FUZZ_CHECK(wc_AesInit(&aes_, nullptr, dev) == 0);
    FUZZ_CHECK(wc_AesGcmSetKey(&aes_, key_bytes_.data(), static_cast<word32>(key_bytes_.size())) ==
               0);
    if (!encrypt_ && in.flag()) {
      // A decryption whose tag is right: the tag of encrypting in_ in place.
      Aes sync;
      sync_key(&sync);
      Bytes ct(in_.size());
      FUZZ_CHECK(run(&sync, true, in_, &ct, &tag_) == 0);
      in_ = ct;
      wc_AesFree(&sync);
    }
  }
  ~AesGcm() override { wc_AesFree(&aes_); }
  WC_ASYNC_DEV* record() override { return &aes_.asyncDev; }
  void prepare() override {
    out_.assign(in_.size(), 0);
    out_tag_ = tag_;
  }
  int call() override { return run(&aes_, encrypt_, in_, &out_, &out_tag_); }
  bool resumes_by_call() const override { return false; }
  void check(int ret) override {
    Aes sync;
    sync_key(&sync);
    Bytes want(in_.size());
    Bytes want_tag = tag_;
    const int want_ret = run(&sync, encrypt_, in_, &want, &want_tag);
    wc_AesFree(&sync);
    FUZZ_CHECK_EQ(ret, want_ret);
    if (ret == 0) FUZZ_CHECK(out_ == want && out_tag_ == want_tag);
  }

 private:
  void sync_key(Aes* aes) {
    FUZZ_CHECK(wc_AesInit(aes, nullptr, INVALID_DEVID) == 0);
    FUZZ_CHECK(wc_AesGcmSetKey(aes, key_bytes_.data(), static_cast<word32>(key_bytes_.size())) ==
               0);
  }
  int run(Aes* aes, bool encrypt, const Bytes& in, Bytes* out, Bytes* tag) {
    const auto sz = static_cast<word32>(in.size());
    const auto iv_sz = static_cast<word32>(iv_.size());
    const byte* aad = aad_.empty() ? nullptr : aad_.data();
    const auto aad_sz = static_cast<word32>(aad_.size());
    return encrypt ? wc_AesGcmEncrypt(aes, out->data(), in.data(), sz, iv_.data(), iv_sz,
                                      tag->data(), 16, aad, aad_sz)
                   : wc_AesGcmDecrypt(aes, out->data(), in.data(), sz, iv_.data(), iv_sz,
                                      tag->data(), 16, aad, aad_sz);
  }

  bool encrypt_;
  Bytes key_bytes_, iv_, aad_, in_, tag_, out_, out_tag_;
  Aes aes_;
};

#ifndef NO_DES3
class Des3Cbc final : public FuzzOp {
 public:
  Des3Cbc(int dev, Input& in)
      : encrypt_(in.flag()),
        key_bytes_(take_bytes(in, 24)),
        iv_(take_bytes(in, 8)),
        in_(take_bytes(in, sym_size(in, WC_ASYNC_THRESH_DES3_CBC, 8))) {
    init(&des_, dev);
  }
  ~Des3Cbc() override { wc_Des3Free(&des_); }
  WC_ASYNC_DEV* record() override { return &des_.asyncDev; }
  void prepare() override {
    out_.assign(in_.size(), 0);
    FUZZ_CHECK(wc_Des3_SetIV(&des_, iv_.data()) == 0);
  }
  int call() override { return run(&des_, &out_); }
  bool resumes_by_call() const override { return false; }
  void check(int ret) override {
    Des3 sync;
    init(&sync, INVALID_DEVID);
    Bytes want(in_.size());
    const int want_ret = run(&sync, &want);
    wc_Des3Free(&sync);
    FUZZ_CHECK_EQ(ret, want_ret);
    if (ret == 0) FUZZ_CHECK(out_ == want);
  }

 private:
  void init(Des3* des, int dev) {
    FUZZ_CHECK(wc_Des3Init(des, nullptr, dev) == 0);
    FUZZ_CHECK(wc_Des3_SetKey(des, key_bytes_.data(), iv_.data(),
                              encrypt_ ? DES_ENCRYPTION : DES_DECRYPTION) == 0);
  }
  int run(Des3* des, Bytes* out) {
    const auto sz = static_cast<word32>(in_.size());
    return encrypt_ ? wc_Des3_CbcEncrypt(des, out->data(), in_.data(), sz)
                    : wc_Des3_CbcDecrypt(des, out->data(), in_.data(), sz);
  }

  bool encrypt_;
  Bytes key_bytes_, iv_, in_, out_;
  Des3 des_;
};
#endif

#ifdef OPS_FUZZ_X25519
// X25519 key generation on the device, checked by agreeing with a
// synchronous key both ways (through the device when it records it).
class X25519 final : public FuzzOp {
 public:
  explicit X25519(int dev) { FUZZ_CHECK(wc_curve25519_init_ex(&key_, nullptr, dev) == 0); }
  ~X25519() override { wc_curve25519_free(&key_); }
  WC_ASYNC_DEV* record() override { return &key_.asyncDev; }
  int call() override {
    return wc_curve25519_make_key(&Keys::get().rng, CURVE25519_KEYSIZE, &key_);
  }
  bool resumes_by_call() const override { return false; }
  void check(int ret) override {
    FUZZ_CHECK_EQ(ret, 0);
    curve25519_key peer;
    FUZZ_CHECK(wc_curve25519_init(&peer) == 0);
    FUZZ_CHECK(wc_curve25519_make_key(&Keys::get().rng, CURVE25519_KEYSIZE, &peer) == 0);
    byte ours[CURVE25519_KEYSIZE];
    byte theirs[CURVE25519_KEYSIZE];
    word32 ours_len = sizeof ours;
    word32 theirs_len = sizeof theirs;
    int r = wc_curve25519_shared_secret(&key_, &peer, ours, &ours_len);
    if (r == WC_PENDING_E) r = wc_AsyncWait(r, &key_.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN);
    FUZZ_CHECK(r == 0);
    FUZZ_CHECK(wc_curve25519_shared_secret(&peer, &key_, theirs, &theirs_len) == 0);
    FUZZ_CHECK(ours_len == theirs_len && std::memcmp(ours, theirs, ours_len) == 0);
    wc_curve25519_free(&peer);
  }

 private:
  curve25519_key key_;
};
#endif

std::unique_ptr<FuzzOp> make_op(int dev, Input& in) {
  switch (in.below(13)) {
    case 0:
      return std::make_unique<RsaSign>(dev, in);
    case 1:
      return std::make_unique<RsaVerify>(dev, in);
    case 2:
      return std::make_unique<RsaRaw>(dev, in);
    case 3:
      return std::make_unique<EcdsaSign>(dev, in);
    case 4:
      return std::make_unique<EcdsaVerify>(dev, in);
    case 5:
      return std::make_unique<Ecdh>(dev);
    case 6:
      return std::make_unique<DhAgree>(dev, in);
    case 7:
      return std::make_unique<DhGen>(dev);
    case 8:
      return std::make_unique<AesCbc>(dev, in);
#ifndef NO_DES3
    case 9:
      return std::make_unique<Des3Cbc>(dev, in);
#endif
#ifdef OPS_FUZZ_X25519
    case 10:
      return std::make_unique<X25519>(dev);
#endif
    default:
      return std::make_unique<AesGcm>(dev, in);
  }
}

// ---------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------

// A device kind and whether it injects failures (chaos failpm=).
struct DeviceChoice {
  std::string spec;
  bool fails = false;
  bool keep_open = false;  // dpdk: its start is slow, so one stays open
};

DeviceChoice choose_device(Input& in) {
  switch (in.below(6)) {
    case 0:
      return {"sim:skip=" + std::to_string(std::max(0, static_cast<int>(in.below(5)) - 1) * 2)};
    case 1:
      return {"threads:workers=" + std::to_string(1 + in.below(2)) + ",inline_us=0"};
    case 2:
      return {"threads:workers=2,inline_us=1000000"};  // declines: wolfCrypt computes at once
    case 3: {
      const unsigned failpm = in.below(4) == 0 ? in.below(300) : 0;
      return {"chaos:seed=" + std::to_string(in.byte()) + ",maxpolls=" +
                  std::to_string(1 + in.below(6)) + ",failpm=" + std::to_string(failpm),
              failpm > 0};
    }
    case 4: {
      const unsigned failpm = in.below(4) == 0 ? in.below(300) : 0;
      return {"chaos:seed=" + std::to_string(in.byte()) +
                  ",over=threads,workers=" + std::to_string(1 + in.below(2)) +
                  ",delay=" + std::to_string(in.below(50)) + ",failpm=" + std::to_string(failpm),
              failpm > 0};
    }
    default:
      return {"dpdk:vdev=crypto_aesni_mb,qps=2,depth=16,burst=4", false, true};
  }
}

// Opens the chosen device; dpdk once per process, and the simulator where
// DPDK cannot start.
int open_device(const DeviceChoice& choice) {
  int id = INVALID_DEVID;
  if (choice.keep_open) {
    static const int kept = [&choice] {
      int opened = INVALID_DEVID;
      if (asynccrypt_DevOpenSpec(&opened, choice.spec.c_str(), nullptr) != 0) {
        std::fprintf(stderr, "ops_fuzz: %s does not open (%s): the simulator stands in\n",
                     choice.spec.c_str(), asynccrypt_LastError());
        FUZZ_CHECK(asynccrypt_DevOpenSpec(&opened, "sim:skip=2", nullptr) == 0);
      }
      return opened;
    }();
    return kept;
  }
  FUZZ_CHECK(asynccrypt_DevOpenSpec(&id, choice.spec.c_str(), nullptr) == 0);
  return id;
}

// ---------------------------------------------------------------------------
// One batch: started together, harvested, resumed, checked.
// ---------------------------------------------------------------------------

// Notes a harvested event: it must be one of the batch's, reported once.
void note_reported(const std::vector<std::unique_ptr<FuzzOp>>& ops, WOLF_EVENT* event) {
  FuzzOp* found = nullptr;
  for (const auto& op : ops) {
    if (&op->record()->event == event) found = op.get();
  }
  FUZZ_CHECK(found != nullptr);
  FUZZ_CHECK(!found->reported.exchange(true));  // exactly once
}

// Whether fd becomes readable within limit. A signal ends poll() early
// (EINTR), and libFuzzer's -timeout arms an interval timer whose SIGALRM
// does just that: the wait goes on for what is left. Taking EINTR for a
// timeout made this harness report lost wake-ups that were not
// (docs/robustness.md).
bool readable_within(int fd, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    if (n == 1) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

// Harvests `pending` operations of the queue on this thread. A poll that
// finds nothing while work is left must leave the fd readable: a worker's
// report or the poll itself wrote it.
void harvest(WOLF_EVENT_QUEUE* queue, int fd, const std::vector<std::unique_ptr<FuzzOp>>& ops,
             int pending, bool memory_out) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (pending > 0) {
    FUZZ_CHECK(std::chrono::steady_clock::now() < deadline);  // a hang
    WOLF_EVENT* events[16];
    int count = 0;
    const int ret =
        wolfAsync_EventQueuePoll(queue, nullptr, events, 16, WOLF_POLL_FLAG_CHECK_HW, &count);
    FUZZ_CHECK(ret == 0 || memory_out);
    for (int i = 0; i < count; ++i) {
      note_reported(ops, events[i]);
      --pending;
    }
    if (count == 0 && pending > 0 && ret == 0) {
      FUZZ_CHECK(readable_within(fd, std::chrono::seconds(30)));  // a lost wake-up otherwise
    }
  }
}

// Two threads poll the queue at once, with no filter, until every pending
// operation is reported (each exactly once).
void harvest_two_threads(WOLF_EVENT_QUEUE* queue, int fd,
                         const std::vector<std::unique_ptr<FuzzOp>>& ops, int pending) {
  std::atomic<int> left{pending};
  auto poller = [&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (left.load() > 0) {
      FUZZ_CHECK(std::chrono::steady_clock::now() < deadline);
      WOLF_EVENT* events[4];
      int count = 0;
      FUZZ_CHECK(wolfAsync_EventQueuePoll(queue, nullptr, events, 4, WOLF_POLL_FLAG_CHECK_HW,
                                          &count) == 0);
      for (int i = 0; i < count; ++i) {
        note_reported(ops, events[i]);
        left.fetch_sub(1);
      }
      if (count == 0) {
        // The other thread may consume the signal: wait briefly, then poll.
        pollfd p{fd, POLLIN, 0};
        ::poll(&p, 1, 10);
      }
    }
  };
  std::thread other(poller);
  poller();
  other.join();
}

// Is ret an acceptable final result of op: a device failure where the
// device injects them, any error while memory was out; otherwise checked.
void finish(FuzzOp& op, int ret, bool device_fails, bool memory_out) {
  if (device_fails && ret == WC_HW_E) return;
  if (memory_out && ret < 0 && ret != WC_PENDING_E) return;
  op.check(ret);
}

class Batch {
 public:
  Batch(int dev, Input& in) {
    const int n = 1 + static_cast<int>(in.below(8));
    for (int i = 0; i < n; ++i) ops_.push_back(make_op(dev, in));
  }

  // Runs every operation to its end; returns the results in order.
  std::vector<int> run(WOLF_EVENT_QUEUE* queue, int fd, bool two_threads, bool memory_out) {
    std::vector<int> results(ops_.size(), WC_PENDING_E);
    for (std::size_t i = 0; i < ops_.size(); ++i) {
      FuzzOp& op = *ops_[i];
      op.prepare();
      results[i] = op.call();
      trace("start %zu (%s): %d", i, typeid(op).name(), results[i]);
    }
    for (int round = 0;; ++round) {
      FUZZ_CHECK(round < 64);
      int pending = 0;
      for (std::size_t i = 0; i < ops_.size(); ++i) {
        FuzzOp& op = *ops_[i];
        op.pending = false;
        if (results[i] != WC_PENDING_E) continue;
        op.reported.store(false);
        const int pushed = wc_AsyncHandle(op.record(), queue, WC_ASYNC_FLAG_NONE);
        if (pushed != 0) {
          FUZZ_CHECK(memory_out);
          results[i] = pushed;
          continue;
        }
        op.pending = true;
        ++pending;
      }
      if (pending == 0) return results;
      if (two_threads && !memory_out) {
        harvest_two_threads(queue, fd, ops_, pending);
      } else {
        harvest(queue, fd, ops_, pending, memory_out);
      }
      for (std::size_t i = 0; i < ops_.size(); ++i) {
        FuzzOp& op = *ops_[i];
        if (!op.pending) continue;
        int ret = wolfAsync_EventPop(&op.record()->event, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT);
        trace("event %zu: %d", i, ret);
        if (ret >= 0 && op.resumes_by_call()) ret = op.call();
        trace("after the event %zu: %d", i, ret);
        results[i] = ret;
      }
    }
  }

  std::vector<std::unique_ptr<FuzzOp>>& ops() { return ops_; }

 private:
  std::vector<std::unique_ptr<FuzzOp>> ops_;
};

}  // namespace

void run_ops(const std::uint8_t* data, std::size_t size) {
  // wolfSSL's allocator goes through the failing one (off until armed).
  static const bool hooked =
      wolfSSL_SetAllocators(failing_malloc, failing_free, failing_realloc) == 0;
  FUZZ_CHECK(hooked);
  Keys::get();
  Input in(data, size);
  const DeviceChoice device = choose_device(in);
  const int dev = open_device(device);
  WOLF_EVENT_QUEUE queue;
  FUZZ_CHECK(wolfEventQueue_Init(&queue) == 0);
  const int fd = asynccrypt_QueueFd(&queue);
  FUZZ_CHECK(fd >= 0);
  for (int b = 0; b < 3 && in.more(); ++b) {
    const unsigned mode = in.byte();
    const bool two_threads = (mode & 1) != 0;
    // From allocation N on, every allocation fails (N from the input).
    const bool memory_out = (mode & 6) == 6;
    const long allowed = static_cast<long>(in.byte()) * 4;
    Batch batch(dev, in);
    if (memory_out) {
      g_allowed.store(allowed);
      g_armed.store(true);
    }
    const std::vector<int> results = batch.run(&queue, fd, two_threads, memory_out);
    g_armed.store(false);
    for (std::size_t i = 0; i < results.size(); ++i) {
      FuzzOp& op = *batch.ops()[i];
      trace("result %zu (%s): %d on %s, memory out %d from %ld", i, typeid(op).name(), results[i],
            device.spec.c_str(), memory_out, allowed);
      finish(op, results[i], device.fails, memory_out);
    }
    if (memory_out) {
      // Memory is back: each object must work again, the same call on it.
      const std::vector<int> again = batch.run(&queue, fd, false, false);
      for (std::size_t i = 0; i < again.size(); ++i) {
        finish(*batch.ops()[i], again[i], device.fails, false);
      }
    }
    FUZZ_CHECK(queue.count == 0);
  }
  FUZZ_CHECK(asynccrypt_QueueRelease(&queue) == 0);
  wolfEventQueue_Free(&queue);
  int closing = dev;
  if (!device.keep_open) wolfAsync_DevClose(&closing);
}

}  // namespace asynccrypt::fuzz

#ifndef ASYNCCRYPT_FUZZ_NO_MAIN
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  asynccrypt::fuzz::run_ops(data, size);
  return 0;
}
#endif
