// Stages an AES operation for the driver (crypto op, mbufs, copies) and copies its result back.
#include "backends/dpdk/dpdk_staging.h"

#ifdef ASYNCCRYPT_HAVE_DPDK

#include <rte_mempool.h>
#include <string.h>

#include <atomic>
#include <cstddef>
#include <cstring>

#include "backends/dpdk/dpdk_runtime.h"
#include "backends/dpdk/dpdk_session.h"

namespace asynccrypt {
namespace {

void no_free(void* addr, void* opaque) {
  (void)addr;
  (void)opaque;
}

// Attaches the caller's buffer to m as an external buffer (no copy). Only
// for CPU drivers, which read virtual addresses: no IOVA is involved.
void attach_caller_buffer(rte_mbuf* m, const std::uint8_t* data, std::uint32_t sz,
                          rte_mbuf_ext_shared_info* shinfo) {
  shinfo->free_cb = no_free;
  shinfo->fcb_opaque = nullptr;
  rte_mbuf_ext_refcnt_set(shinfo, 1);
  auto* addr = const_cast<std::uint8_t*>(data);
  rte_pktmbuf_attach_extbuf(m, addr,
                            static_cast<rte_iova_t>(reinterpret_cast<std::uintptr_t>(addr)),
                            static_cast<std::uint16_t>(sz), shinfo);
  (void)rte_pktmbuf_append(m, static_cast<std::uint16_t>(sz));
}

// Overwrites pool memory that held secrets; explicit_bzero is never
// optimised away.
void wipe(std::uint8_t* p, std::size_t n) {
  if (n > 0) explicit_bzero(p, n);
}

// Translates a driver's status into a wolfSSL code (auth failures aside).
int driver_error(std::uint8_t status) {
  switch (status) {
    case RTE_CRYPTO_OP_STATUS_INVALID_ARGS:
      return BAD_FUNC_ARG;
    default:
      return WC_HW_E;  // ERROR, NOT_PROCESSED, INVALID_SESSION, ...
  }
}

}  // namespace

StageResult stage_locked(DpdkRuntime& rt, DpdkQueuePair& qp, Op* op, rte_crypto_op** out) {
  const WC_ASYNC_DEV& dev = *op->dev;
  if (!is_aes(dev.sw.type)) {
    switch (rt.asym->stage(op, out)) {
      case AsymStage::kStaged:
        qp.staged.push_back(*out);
        ++qp.held;
        return StageResult::kStaged;
      case AsymStage::kNoRoom:
        return StageResult::kNoRoom;
      case AsymStage::kSoftware:
        return StageResult::kSoftware;
    }
  }
  const auto& a = dev.sw.aes;
  SessionEntry* entry = session_locked(rt, qp, dev);
  if (entry == nullptr) return StageResult::kSoftware;
  rte_crypto_op* cop = rte_crypto_op_alloc(rt.op_pool, RTE_CRYPTO_OP_TYPE_SYMMETRIC);
  if (cop == nullptr) return StageResult::kNoRoom;
  SymJob* job = job_of(cop);
  const bool zero_copy = rt.zero_copy && a.sz > 0;
  const bool out_of_place = zero_copy && a.in != a.out;
  rte_mbuf* m = rte_pktmbuf_alloc(rt.mbuf_pool);
  rte_mbuf* dst = out_of_place ? rte_pktmbuf_alloc(rt.mbuf_pool) : nullptr;
  if (m == nullptr || (out_of_place && dst == nullptr)) {
    rte_pktmbuf_free(m);
    rte_pktmbuf_free(dst);
    rte_crypto_op_free(cop);
    return StageResult::kNoRoom;
  }
  // The tag and AAD always travel in the pool mbuf (small copies).
  auto* base = rte_pktmbuf_mtod(m, std::uint8_t*);
  const rte_iova_t base_iova = rte_pktmbuf_iova(m);
  if (zero_copy) {
    // A CPU driver works on the caller's buffers directly.
    attach_caller_buffer(m, a.in, a.sz, &job->shinfo[0]);
    if (out_of_place) attach_caller_buffer(dst, a.out, a.sz, &job->shinfo[1]);
  } else {
    // A DMA driver sees only this copy (pool memory, with IOVAs the EAL
    // knows), never the caller's buffers: see docs/hardware.md.
    if (a.sz > 0) std::memcpy(base, a.in, a.sz);
    (void)rte_pktmbuf_append(m, static_cast<std::uint16_t>(a.sz));
  }
  rte_crypto_sym_op* sym = cop->sym;
  sym->m_src = m;
  sym->m_dst = dst;
  (void)rte_crypto_op_attach_sym_session(cop, entry->session);
  auto* iv = rte_crypto_op_ctod_offset(cop, std::uint8_t*, kIvOffset);
  if (is_gcm(dev.sw.type)) {
    std::memcpy(iv, a.iv, kGcmIvSize);
    sym->aead.data.offset = 0;
    sym->aead.data.length = a.sz;
    sym->aead.digest.data = base + kDigestOffset;
    sym->aead.digest.phys_addr = base_iova + kDigestOffset;
    if (is_decrypt(dev.sw.type)) std::memcpy(base + kDigestOffset, a.authTag, a.authTagSz);
    sym->aead.aad.data = base + kAadOffset;
    sym->aead.aad.phys_addr = base_iova + kAadOffset;
    if (a.authInSz > 0) std::memcpy(base + kAadOffset, a.authIn, a.authInSz);
  } else {
    // CBC continues from the object's chaining register, as wolfCrypt does.
    std::memcpy(iv, a.aes->reg, AES_BLOCK_SIZE);
    sym->cipher.data.offset = 0;
    sym->cipher.data.length = a.sz;
  }
  job->state = DpdkJobState{op, false, zero_copy};
  job->mbuf = m;
  job->dst = dst;
  job->session = entry;
  job->side = base;
  job->copied = zero_copy ? 0 : a.sz;
  job->aad = is_gcm(dev.sw.type) ? a.authInSz : 0;
  if (dev.sw.type == ASYNC_SW_AES_CBC_DECRYPT) {
    // The next IV is the last ciphertext block; in place, the driver
    // overwrites it, so keep it now.
    std::memcpy(job->next_iv, a.in + a.sz - AES_BLOCK_SIZE, AES_BLOCK_SIZE);
  }
  ++entry->refs;
  qp.staged.push_back(cop);
  ++qp.held;
  *out = cop;
  return StageResult::kStaged;
}

void release_locked(DpdkQueuePair& qp, rte_crypto_op* cop) {
  if (is_asym(cop)) {
    DpdkAsym::release(cop);
    --qp.held;
    return;
  }
  SymJob* job = job_of(cop);
  // The pool buffer held the caller's input (plaintext, when encrypting),
  // the driver's output (plaintext, when decrypting), the tag and the AAD:
  // wipe them before the pool hands the buffer to someone else.
  wipe(job->side, job->copied);
  wipe(job->side + kDigestOffset, 64);
  wipe(job->side + kAadOffset, job->aad);
  rte_pktmbuf_free(job->mbuf);  // detaches a caller's buffer without freeing it
  rte_pktmbuf_free(job->dst);
  if (--job->session->refs == 0 && job->session->orphaned) {
    // Its object was freed while this op held it (DpdkDevice::forget).
    if (job->session->session != nullptr) {
      (void)rte_cryptodev_sym_session_free(qp.dev_id, job->session->session);
    }
    qp.sessions.erase(orphan_key(job->session));
  }
  rte_crypto_op_free(cop);
  --qp.held;
}

int finish_locked(DpdkQueuePair& qp, rte_crypto_op* cop, DpdkCounters& counters) {
  if (is_asym(cop)) {
    bool driver_failed = false;
    const int result = DpdkAsym::finish(cop, &driver_failed);
    if (driver_failed) {
      counters.driver_errors.fetch_add(1, std::memory_order_relaxed);
    } else if (result != kAsymRunInSoftware) {
      counters.offloaded.fetch_add(1, std::memory_order_relaxed);
    }
    release_locked(qp, cop);
    return result;
  }
  SymJob* job = job_of(cop);
  WC_ASYNC_DEV& dev = *job->state.op->dev;
  const auto& a = dev.sw.aes;
  const int type = dev.sw.type;
  const std::uint8_t* base = job->side;  // copied data, then the tag at kDigestOffset
  const bool auth_failed =
      cop->status == RTE_CRYPTO_OP_STATUS_AUTH_FAILED && type == ASYNC_SW_AES_GCM_DECRYPT;
  int result = 0;
  if (cop->status == RTE_CRYPTO_OP_STATUS_SUCCESS || auth_failed) {
    // wolfCrypt's C code also writes the plaintext before it reports a
    // tag mismatch; callers must ignore it either way.
    if (type == ASYNC_SW_AES_CBC_DECRYPT) std::memcpy(a.aes->reg, job->next_iv, AES_BLOCK_SIZE);
    if (a.sz > 0 && !job->state.zero_copy) std::memcpy(a.out, base, a.sz);
    if (type == ASYNC_SW_AES_CBC_ENCRYPT) {
      std::memcpy(a.aes->reg, a.out + a.sz - AES_BLOCK_SIZE, AES_BLOCK_SIZE);
    }
    if (type == ASYNC_SW_AES_GCM_ENCRYPT) std::memcpy(a.authTag, base + kDigestOffset, a.authTagSz);
    result = auth_failed ? AES_GCM_AUTH_E : 0;
    counters.offloaded.fetch_add(1, std::memory_order_relaxed);
  } else {
    result = driver_error(cop->status);
    counters.driver_errors.fetch_add(1, std::memory_order_relaxed);
  }
  release_locked(qp, cop);
  return result;
}

}  // namespace asynccrypt

#endif  // ASYNCCRYPT_HAVE_DPDK
