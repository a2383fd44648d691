// Stages an AES operation for the driver (crypto op, mbufs, copies) and copies its result back.
#pragma once

#ifdef ASYNCCRYPT_HAVE_DPDK

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include <rte_crypto.h>
#include <rte_cryptodev.h>
#include <rte_mbuf.h>
#include <wolfssl/wolfcrypt/aes.h>

#include <cstdint>

#include "backends/dpdk/dpdk_asym.h"
#include "backends/dpdk/dpdk_device.h"
#include "core/op.h"

namespace asynccrypt {

class DpdkQueuePair;
class DpdkRuntime;
struct SessionEntry;

// Largest plaintext or ciphertext the device takes in one operation: a TLS
// record's ciphertext (16 KiB + 2 KiB expansion). Larger ones run in software.
inline constexpr std::uint32_t kMaxData = 16384 + 2048;
// Largest GCM additional data the device takes (TLS uses 13 bytes).
inline constexpr std::uint32_t kMaxAad = 1024;
// mbuf layout, from the data offset: data | 64 bytes for the tag | AAD.
inline constexpr std::uint32_t kDigestOffset = kMaxData;
inline constexpr std::uint32_t kAadOffset = kMaxData + 64;
inline constexpr std::uint32_t kMbufRoom = RTE_PKTMBUF_HEADROOM + kAadOffset + kMaxAad;
inline constexpr std::uint32_t kGcmIvSize = 12;

// What lives in each crypto op's private area: the IV (the driver reads it
// at kIvOffset, given to the session) and our bookkeeping.
inline constexpr std::uint16_t kIvOffset = sizeof(rte_crypto_op) + sizeof(rte_crypto_sym_op);
inline constexpr std::uint16_t kJobOffset = kIvOffset + 16;

// One AES operation handed to the driver. Guarded by its queue pair's mutex.
struct SymJob {
  DpdkJobState state;  // zero_copy: the mbufs point at the caller's buffers
  rte_mbuf* mbuf;      // source (and destination when in place)
  rte_mbuf* dst;       // out-of-place destination (zero copy), or nullptr
  SessionEntry* session;
  std::uint8_t* side;                    // the pool buffer's tag and AAD area base
  std::uint32_t copied;                  // bytes of caller data copied into the pool buffer
  std::uint32_t aad;                     // bytes of AAD copied after kAadOffset
  std::uint8_t next_iv[AES_BLOCK_SIZE];  // CBC decrypt: the last ciphertext block
  rte_mbuf_ext_shared_info shinfo[2];    // for the external buffers
};

inline SymJob* job_of(rte_crypto_op* cop) {
  return rte_crypto_op_ctod_offset(cop, SymJob*, kJobOffset);
}

inline bool is_asym(const rte_crypto_op* cop) { return cop->type == RTE_CRYPTO_OP_TYPE_ASYMMETRIC; }

// The bookkeeping common to symmetric and public-key ops.
inline DpdkJobState& state_of(rte_crypto_op* cop) {
  return is_asym(cop) ? *DpdkAsym::state(cop) : job_of(cop)->state;
}

inline bool is_gcm(int type) {
  return type == ASYNC_SW_AES_GCM_ENCRYPT || type == ASYNC_SW_AES_GCM_DECRYPT;
}
inline bool is_aes(int type) {
  return type == ASYNC_SW_AES_CBC_ENCRYPT || type == ASYNC_SW_AES_CBC_DECRYPT || is_gcm(type);
}
inline bool is_decrypt(int type) {
  return type == ASYNC_SW_AES_CBC_DECRYPT || type == ASYNC_SW_AES_GCM_DECRYPT;
}

// Outcome of stage_locked.
enum class StageResult { kStaged, kNoRoom, kSoftware };

// Builds the crypto op for op (an AES one here, a public-key one through
// rt.asym) and appends it to qp.staged. kSoftware when the operation must
// run in software instead (no session for it: see session_locked and
// DpdkAsym::stage), kNoRoom when a pool is empty. Call with qp.mu held.
StageResult stage_locked(DpdkRuntime& rt, DpdkQueuePair& qp, Op* op, rte_crypto_op** out);

// Frees cop with its mbufs (wiping the pool buffer's copies) and its hold
// on its session, freeing an orphaned session it held last. Call with
// qp.mu held.
void release_locked(DpdkQueuePair& qp, rte_crypto_op* cop);

// Copies the driver's output to the caller, as wolfCrypt would have
// written it; returns the operation's result (kAsymRunInSoftware: compute
// it in software) and releases cop. Call with qp.mu held.
int finish_locked(DpdkQueuePair& qp, rte_crypto_op* cop, DpdkCounters& counters);

}  // namespace asynccrypt

#endif  // ASYNCCRYPT_HAVE_DPDK
