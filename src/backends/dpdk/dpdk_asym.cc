// Public-key operations of the dpdk device: RSA and DH agreement on a cryptodev's asymmetric API.
#include "backends/dpdk/dpdk_asym.h"

#ifdef ASYNCCRYPT_HAVE_DPDK

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include <rte_crypto.h>
#include <rte_crypto_asym.h>
#include <rte_cryptodev.h>
#include <rte_errno.h>
#include <rte_mempool.h>
#include <string.h>
#include <wolfssl/wolfcrypt/dh.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/wolfmath.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <new>

// What this wolfSSL configuration lets the device take: RSA with private
// keys in wolfCrypt's form, and DH agreement without wolfCrypt's import
// validation (WOLFSSL_VALIDATE_FFC_IMPORT checks keys that the driver would
// not, so such builds keep DH in software).
#if !defined(NO_RSA) && defined(WC_ASYNC_ENABLE_RSA) && !defined(WOLFSSL_RSA_PUBLIC_ONLY) && \
    !defined(WOLFSSL_RSA_VERIFY_ONLY)
#define ASYNCCRYPT_DPDK_RSA 1
#endif
#if !defined(NO_DH) && defined(WC_ASYNC_ENABLE_DH) && !defined(WOLFSSL_VALIDATE_FFC_IMPORT)
#define ASYNCCRYPT_DPDK_DH 1
#endif

namespace asynccrypt {
namespace {

// Largest modulus the device takes: 8192 bits (ffdhe8192, RSA-8192).
constexpr std::size_t kMaxModBytes = 1024;

// What lives in an asymmetric crypto op's private area. The input and output
// buffers are pool memory: a DMA driver reads and writes them at their IOVA.
struct AsymJob {
  DpdkJobState state;
  void* session;                   // for this operation only; freed at release
  std::uint8_t dev_id;             // the cryptodev the session belongs to
  std::uint8_t type;               // the WC_ASYNC_SW_TYPE
  std::uint16_t mod_len;           // bytes of the RSA modulus or the DH prime
  std::uint8_t in[kMaxModBytes];   // the input, right-aligned to mod_len
  std::uint8_t out[kMaxModBytes];  // where the driver writes the result
};

constexpr std::uint32_t kAsymJobOffset = sizeof(rte_crypto_op) + sizeof(rte_crypto_asym_op);

AsymJob* asym_job(rte_crypto_op* cop) {
  return rte_crypto_op_ctod_offset(cop, AsymJob*, kAsymJobOffset);
}

rte_iova_t job_iova(rte_crypto_op* cop, std::size_t member_offset) {
  return rte_crypto_op_ctophys_offset(cop, kAsymJobOffset + member_offset);
}

const rte_cryptodev_asymmetric_xform_capability* cap(const void* p) {
  return static_cast<const rte_cryptodev_asymmetric_xform_capability*>(p);
}

// Overwrites a secret; the compiler may not drop it (explicit_bzero).
void wipe(void* p, std::size_t n) { explicit_bzero(p, n); }

int bin_size(const mp_int& a) { return mp_unsigned_bin_size(const_cast<mp_int*>(&a)); }

// Writes a's magnitude big-endian into exactly `len` bytes (left zeros).
bool to_fixed(const mp_int& a, std::uint8_t* out, std::size_t len) {
  const int size = bin_size(a);
  if (size < 0 || static_cast<std::size_t>(size) > len) return false;
  return mp_to_unsigned_bin_len(const_cast<mp_int*>(&a), out, static_cast<int>(len)) == MP_OKAY;
}

// Copies the number in[0..len) right-aligned into out[0..width); false when
// it does not fit once its leading zeros are dropped.
bool right_align(const std::uint8_t* in, std::size_t len, std::uint8_t* out, std::size_t width) {
  while (len > 0 && *in == 0) {
    ++in;
    --len;
  }
  if (len > width) return false;
  std::memset(out, 0, width - len);
  if (len > 0) std::memcpy(out + (width - len), in, len);
  return true;
}

bool is_private_rsa(int type) { return type == RSA_PRIVATE_ENCRYPT || type == RSA_PRIVATE_DECRYPT; }

bool modlen_ok(const void* capability, std::size_t len) {
  return capability != nullptr && rte_cryptodev_asym_xform_capability_check_modlen(
                                      cap(capability), static_cast<std::uint16_t>(len)) == 0;
}

}  // namespace

int dpdk_asym_status_to_error(std::uint8_t status) {
  switch (status) {
    case RTE_CRYPTO_OP_STATUS_SUCCESS:
      return 0;
    case RTE_CRYPTO_OP_STATUS_INVALID_ARGS:
      return BAD_FUNC_ARG;
    default:
      return WC_HW_E;  // ERROR, NOT_PROCESSED, INVALID_SESSION, ...
  }
}

Result<std::unique_ptr<DpdkAsym>> DpdkAsym::create(std::uint8_t dev_id, std::uint64_t feature_flags,
                                                   bool secret_modex, unsigned n_ops,
                                                   const std::string& tag) {
  std::unique_ptr<DpdkAsym> asym(new DpdkAsym());
  if ((feature_flags & RTE_CRYPTODEV_FF_ASYMMETRIC_CRYPTO) == 0) return asym;
  asym->dev_id_ = dev_id;
  rte_cryptodev_asym_capability_idx idx{};
  // Only what the driver advertises, asked at run time: no ECDSA, ECDH or
  // point multiplication on crypto_openssl in DPDK 22.11, for instance.
  idx.type = RTE_CRYPTO_ASYM_XFORM_RSA;
  const auto* rsa = rte_cryptodev_asym_capability_get(dev_id, &idx);
  if (rsa != nullptr &&
      rte_cryptodev_asym_xform_capability_check_optype(rsa, RTE_CRYPTO_ASYM_OP_ENCRYPT) != 0) {
    asym->rsa_ = rsa;
    asym->rsa_crt_ =
        (feature_flags & RTE_CRYPTODEV_FF_RSA_PRIV_OP_KEY_QT) != 0 &&
        rte_cryptodev_asym_xform_capability_check_optype(rsa, RTE_CRYPTO_ASYM_OP_DECRYPT) != 0;
    asym->rsa_exp_ =
        (feature_flags & RTE_CRYPTODEV_FF_RSA_PRIV_OP_KEY_EXP) != 0 &&
        rte_cryptodev_asym_xform_capability_check_optype(rsa, RTE_CRYPTO_ASYM_OP_DECRYPT) != 0;
  }
  // Modular exponentiation serves DH agreement only, whose exponent is the
  // private key: used only where the caller trusts the driver with it.
  idx.type = RTE_CRYPTO_ASYM_XFORM_MODEX;
  if (secret_modex) asym->modex_ = rte_cryptodev_asym_capability_get(dev_id, &idx);
  if (asym->rsa_ == nullptr && asym->modex_ == nullptr) return asym;

  const int socket = SOCKET_ID_ANY;
  asym->op_pool_ = rte_crypto_op_pool_create(
      ("acr_aop_" + tag).c_str(), RTE_CRYPTO_OP_TYPE_ASYMMETRIC, n_ops, 0, sizeof(AsymJob), socket);
  asym->session_pool_ =
      rte_cryptodev_asym_session_pool_create(("acr_asess_" + tag).c_str(), n_ops, 0, 0, socket);
  if (asym->op_pool_ == nullptr || asym->session_pool_ == nullptr) {
    const int err = rte_errno;
    asym->free_pools();
    return Status(ASYNC_INIT_E,
                  std::string("device kind 'dpdk': cannot create the public-key pools (") +
                      rte_strerror(err) + "); give the EAL more memory (-m) or lower qps/depth");
  }
  return asym;
}

void DpdkAsym::free_pools() {
  rte_mempool_free(static_cast<rte_mempool*>(op_pool_));
  rte_mempool_free(static_cast<rte_mempool*>(session_pool_));
  op_pool_ = nullptr;
  session_pool_ = nullptr;
}

const char* DpdkAsym::rsa_private_form() const {
  if (rsa_ == nullptr) return "none";
  if (rsa_crt_) return "crt";
  return rsa_exp_ ? "exponent" : "none";
}

std::uint32_t DpdkAsym::capabilities() const {
  std::uint32_t mask = 0;
#ifdef ASYNCCRYPT_DPDK_RSA
  if (rsa_ != nullptr) mask |= 1u << ASYNC_SW_RSA_FUNC;
#endif
#ifdef ASYNCCRYPT_DPDK_DH
  if (modex_ != nullptr) mask |= 1u << ASYNC_SW_DH_AGREE;
#endif
  return mask;
}

bool DpdkAsym::offloadable(const WC_ASYNC_DEV& dev) const {
  if (op_pool_ == nullptr) return false;
  switch (dev.sw.type) {
#ifdef ASYNCCRYPT_DPDK_RSA
    case ASYNC_SW_RSA_FUNC: {
      const auto& r = dev.sw.rsaFunc;
      if (rsa_ == nullptr || r.key == nullptr || r.in == nullptr || r.out == nullptr ||
          r.outSz == nullptr || r.inSz == 0) {
        return false;
      }
      const RsaKey& key = *r.key;
      const int mod_len = bin_size(key.n);
      // wolfCrypt's own answers (BAD_FUNC_ARG, MP_VAL, RSA_BUFFER_E, ...)
      // for these come from software.
      if (mod_len <= 0 || static_cast<std::size_t>(mod_len) > kMaxModBytes ||
          r.inSz > static_cast<word32>(mod_len) || *r.outSz < static_cast<word32>(mod_len) ||
          mp_iseven(const_cast<mp_int*>(&key.n)) || !modlen_ok(rsa_, mod_len)) {
        return false;
      }
      if (r.type == RSA_PUBLIC_ENCRYPT || r.type == RSA_PUBLIC_DECRYPT) {
        return !mp_iszero(const_cast<mp_int*>(&key.e));
      }
      if (!is_private_rsa(r.type) || key.type != RSA_PRIVATE) return false;
#ifdef WC_RSA_BLINDING
      if (r.rng == nullptr) return false;  // wolfCrypt's blinding needs one
#endif
#ifndef RSA_LOW_MEM  // RSA_LOW_MEM keys keep no CRT parameters
      if (rsa_crt_) {
        return !mp_iszero(const_cast<mp_int*>(&key.p)) && !mp_iszero(const_cast<mp_int*>(&key.q)) &&
               !mp_iszero(const_cast<mp_int*>(&key.dP)) &&
               !mp_iszero(const_cast<mp_int*>(&key.dQ)) && !mp_iszero(const_cast<mp_int*>(&key.u));
      }
#endif
      return rsa_exp_ && !mp_iszero(const_cast<mp_int*>(&key.d));
    }
#endif
#ifdef ASYNCCRYPT_DPDK_DH
    case ASYNC_SW_DH_AGREE: {
      const auto& a = dev.sw.dhAgree;
      if (modex_ == nullptr || a.key == nullptr || a.agree == nullptr || a.agreeSz == nullptr ||
          a.priv == nullptr || a.otherPub == nullptr || a.privSz == 0 || a.pubSz == 0) {
        return false;
      }
      const int p_len = bin_size(a.key->p);
      return p_len > 0 && static_cast<std::size_t>(p_len) <= kMaxModBytes &&
             a.privSz <= kMaxModBytes && *a.agreeSz >= static_cast<word32>(p_len) &&
             !mp_iseven(const_cast<mp_int*>(&a.key->p)) && modlen_ok(modex_, p_len);
    }
#endif
    default:
      return false;
  }
}

AsymStage DpdkAsym::stage(Op* op, rte_crypto_op** out) {
  const WC_ASYNC_DEV& dev = *op->dev;
  rte_crypto_asym_xform xform{};
  // Byte copies of the key (secrets among them), wiped once the session
  // holds the driver's own copy. A well-formed CRT key needs about 3.5
  // moduli (n, e, and five numbers of half its length); a malformed one
  // whose parts do not fit stays in software.
  std::array<std::uint8_t, 6 * kMaxModBytes> scratch;
  std::size_t used = 0;
  const auto take = [&](const mp_int& a, rte_crypto_uint* param) {
    const int size = bin_size(a);
    if (size < 0 || static_cast<std::size_t>(size) > kMaxModBytes ||
        static_cast<std::size_t>(size) > scratch.size() - used) {
      return false;
    }
    std::uint8_t* p = scratch.data() + used;
    if (!to_fixed(a, p, static_cast<std::size_t>(size))) return false;
    used += static_cast<std::size_t>(size);
    param->data = p;
    param->length = static_cast<std::size_t>(size);
    return true;
  };
  std::uint8_t input[kMaxModBytes];
  std::size_t mod_len = 0;

  bool ok = false;
#ifdef ASYNCCRYPT_DPDK_RSA
  if (dev.sw.type == ASYNC_SW_RSA_FUNC) {
    const auto& r = dev.sw.rsaFunc;
    const RsaKey& key = *r.key;
    mod_len = static_cast<std::size_t>(bin_size(key.n));
    xform.xform_type = RTE_CRYPTO_ASYM_XFORM_RSA;
    ok = take(key.n, &xform.rsa.n) && take(key.e, &xform.rsa.e) &&
         right_align(r.in, r.inSz, input, mod_len) &&
         // The driver computes on inputs below the modulus only; wolfCrypt
         // reduces larger ones, so those keep wolfCrypt's result.
         std::memcmp(input, xform.rsa.n.data, mod_len) < 0;
    if (ok && is_private_rsa(r.type)) {
#ifndef RSA_LOW_MEM
      if (rsa_crt_) {
        xform.rsa.key_type = RTE_RSA_KEY_TYPE_QT;
        ok = take(key.p, &xform.rsa.qt.p) && take(key.q, &xform.rsa.qt.q) &&
             take(key.dP, &xform.rsa.qt.dP) && take(key.dQ, &xform.rsa.qt.dQ) &&
             take(key.u, &xform.rsa.qt.qInv);
      } else
#endif
      {
        xform.rsa.key_type = RTE_RSA_KEY_TYPE_EXP;
        ok = take(key.d, &xform.rsa.d);
      }
    } else {
      xform.rsa.key_type = RTE_RSA_KEY_TYPE_EXP;  // no private part
    }
  }
#endif
#ifdef ASYNCCRYPT_DPDK_DH
  if (dev.sw.type == ASYNC_SW_DH_AGREE) {
    const auto& a = dev.sw.dhAgree;
    const mp_int& p = a.key->p;
    mod_len = static_cast<std::size_t>(bin_size(p));
    xform.xform_type = RTE_CRYPTO_ASYM_XFORM_MODEX;
    ok = take(p, &xform.modex.modulus) && right_align(a.otherPub, a.pubSz, input, mod_len);
    if (ok) {
      // Only 1 < y < p - 1 (p is odd: p - 1 differs in its last byte only);
      // wolfCrypt answers the rest itself.
      std::uint8_t p_minus_1[kMaxModBytes];
      std::memcpy(p_minus_1, xform.modex.modulus.data, mod_len);
      p_minus_1[mod_len - 1] = static_cast<std::uint8_t>(p_minus_1[mod_len - 1] - 1);
      bool above_one = input[mod_len - 1] > 1;
      for (std::size_t i = 0; i + 1 < mod_len && !above_one; ++i) above_one = input[i] != 0;
      ok = above_one && std::memcmp(input, p_minus_1, mod_len) < 0;
    }
    if (ok) {
      // The private exponent at its full length, leading zeros kept, so
      // its length says nothing of its value (a zero one stays in
      // software: wolfCrypt reports it).
      bool nonzero = false;
      for (std::size_t i = 0; i < a.privSz; ++i) nonzero = nonzero || a.priv[i] != 0;
      ok = nonzero;
      xform.modex.exponent.data = const_cast<std::uint8_t*>(a.priv);
      xform.modex.exponent.length = a.privSz;
    }
  }
#endif
  const auto wipe_copies = [&] {
    wipe(scratch.data(), used);
    wipe(input, sizeof input);
  };
  if (!ok) {
    wipe_copies();
    return AsymStage::kSoftware;
  }

  rte_crypto_op* cop =
      rte_crypto_op_alloc(static_cast<rte_mempool*>(op_pool_), RTE_CRYPTO_OP_TYPE_ASYMMETRIC);
  if (cop == nullptr) {
    wipe_copies();
    return AsymStage::kNoRoom;
  }
  void* session = nullptr;
  const int created = rte_cryptodev_asym_session_create(
      dev_id_, &xform, static_cast<rte_mempool*>(session_pool_), &session);
  if (created != 0 || session == nullptr) {
    rte_crypto_op_free(cop);
    wipe_copies();
    // An empty session pool is backpressure; anything else the driver's
    // refusal of this key.
    return created == -ENOMEM ? AsymStage::kNoRoom : AsymStage::kSoftware;
  }
  AsymJob* job = new (asym_job(cop)) AsymJob;
  job->state = DpdkJobState{op, false, false};
  job->session = session;
  job->dev_id = dev_id_;
  job->type = static_cast<std::uint8_t>(dev.sw.type);
  job->mod_len = static_cast<std::uint16_t>(mod_len);
  std::memcpy(job->in, input, mod_len);
  wipe_copies();
  (void)rte_crypto_op_attach_asym_session(cop, static_cast<rte_cryptodev_asym_session*>(session));

  rte_crypto_asym_op* asym = cop->asym;
  const rte_iova_t in_iova = job_iova(cop, offsetof(AsymJob, in));
  const rte_iova_t out_iova = job_iova(cop, offsetof(AsymJob, out));
#ifdef ASYNCCRYPT_DPDK_RSA
  if (dev.sw.type == ASYNC_SW_RSA_FUNC) {
    // Raw RSA: wolfCrypt pads before and unpads after, so no padding here.
    // Public operations (encrypt, or verify's m = s^e) are ENCRYPT; private
    // ones (decrypt, or sign's s = m^d) are DECRYPT.
    const bool priv = is_private_rsa(dev.sw.rsaFunc.type);
    asym->rsa.op_type = priv ? RTE_CRYPTO_ASYM_OP_DECRYPT : RTE_CRYPTO_ASYM_OP_ENCRYPT;
    asym->rsa.padding.type = RTE_CRYPTO_RSA_PADDING_NONE;
    rte_crypto_param& from = priv ? asym->rsa.cipher : asym->rsa.message;
    rte_crypto_param& to = priv ? asym->rsa.message : asym->rsa.cipher;
    from.data = job->in;
    from.iova = in_iova;
    from.length = mod_len;
    to.data = job->out;
    to.iova = out_iova;
    to.length = mod_len;
  } else
#endif
  {
    asym->modex.base.data = job->in;
    asym->modex.base.iova = in_iova;
    asym->modex.base.length = mod_len;
    asym->modex.result.data = job->out;
    asym->modex.result.iova = out_iova;
    asym->modex.result.length = mod_len;
  }
  *out = cop;
  return AsymStage::kStaged;
}

int DpdkAsym::finish(rte_crypto_op* cop, bool* driver_failed) {
  AsymJob* job = asym_job(cop);
  const WC_ASYNC_DEV& dev = *job->state.op->dev;
  *driver_failed = false;
  if (cop->status != RTE_CRYPTO_OP_STATUS_SUCCESS) {
    *driver_failed = true;
    return dpdk_asym_status_to_error(cop->status);
  }
  const std::size_t mod_len = job->mod_len;
#ifdef ASYNCCRYPT_DPDK_RSA
  if (job->type == ASYNC_SW_RSA_FUNC) {
    const auto& r = dev.sw.rsaFunc;
    const bool priv = is_private_rsa(r.type);
    const rte_crypto_param& result = priv ? cop->asym->rsa.message : cop->asym->rsa.cipher;
    // wolfCrypt writes the modulus' length, left-padded with zeros.
    if (result.length > mod_len || !right_align(job->out, result.length, r.out, mod_len)) {
      *driver_failed = true;
      return WC_HW_E;
    }
    *r.outSz = static_cast<word32>(mod_len);
    return 0;
  }
#endif
#ifdef ASYNCCRYPT_DPDK_DH
  const auto& a = dev.sw.dhAgree;
  const std::uint8_t* z = job->out;
  std::size_t len = cop->asym->modex.result.length;
  if (len > mod_len) {
    *driver_failed = true;
    return WC_HW_E;
  }
  // wolfCrypt's shared secret has no leading zeros; 0 and 1 get its own
  // error handling.
  while (len > 0 && *z == 0) {
    ++z;
    --len;
  }
  if (len == 0 || (len == 1 && z[0] == 1)) return kAsymRunInSoftware;
  std::memcpy(a.agree, z, len);
  *a.agreeSz = static_cast<word32>(len);
  return 0;
#else
  (void)dev;
  (void)mod_len;
  *driver_failed = true;
  return WC_HW_E;  // never staged
#endif
}

void DpdkAsym::release(rte_crypto_op* cop) {
  AsymJob* job = asym_job(cop);
  if (job->session != nullptr) (void)rte_cryptodev_asym_session_free(job->dev_id, job->session);
  wipe(job->in, job->mod_len);
  wipe(job->out, job->mod_len);
  job->session = nullptr;
  rte_crypto_op_free(cop);
}

DpdkJobState* DpdkAsym::state(rte_crypto_op* cop) { return &asym_job(cop)->state; }

}  // namespace asynccrypt

#endif  // ASYNCCRYPT_HAVE_DPDK
