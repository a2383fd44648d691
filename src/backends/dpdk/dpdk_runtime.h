// The cryptodev that all dpdk devices of a process share: its configuration, queue pairs, pools.
#pragma once

#ifdef ASYNCCRYPT_HAVE_DPDK

#include <rte_cryptodev.h>
#include <rte_mempool.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/dpdk/dpdk_asym.h"
#include "backends/dpdk/dpdk_session.h"
#include "core/status.h"

namespace asynccrypt {

// Most crypto ops one enqueue or dequeue burst moves (and the largest burst=).
inline constexpr int kMaxBurst = 256;
// Driver sessions each queue pair caches (dpdk_session.h).
inline constexpr std::size_t kSessionsPerQp = 128;

// The process-wide part of a spec: all dpdk devices of a process share it.
struct DpdkRuntimeConfig {
  std::string vdev;  // --vdev= given to the EAL ("" for none)
  std::string dev;   // cryptodev name
  std::string eal;   // EAL arguments ("" for the defaults)
  int qps = 0;
  int depth = 0;
  std::string copy;  // "auto" or "always"
  // Where DH agreement (a modular exponentiation with the private
  // exponent) runs: "auto" (on the driver only if it is hardware; see
  // docs/hardware.md), "driver" or "software".
  std::string dh;

  bool operator==(const DpdkRuntimeConfig&) const = default;
  std::string describe() const {
    return "dev=" + dev + ",qps=" + std::to_string(qps) + ",depth=" + std::to_string(depth) +
           ",copy=" + copy + ",dh=" + dh;
  }
};

// One queue pair of the cryptodev and what is in flight on it.
class DpdkQueuePair {
 public:
  std::uint8_t dev_id = 0;  // the cryptodev
  std::uint16_t id = 0;
  int users = 0;  // devices leasing it; guarded by DpdkRuntime::lease_mu_

  std::mutex mu;
  // Guarded by mu:
  std::vector<rte_crypto_op*> staged;  // built, not yet enqueued
  int enqueued = 0;                    // in the driver
  int held = 0;                        // staged + enqueued + dequeued and not yet finished
  std::unordered_map<std::string, SessionEntry> sessions;
};

// The EAL's cryptodev, configured and started while any dpdk device is open.
class DpdkRuntime {
 public:
  // The running runtime when its configuration is cfg, else a new one
  // (the EAL started on first use). Fails with BAD_FUNC_ARG when a runtime
  // with another configuration runs, the EAL runs with other vdev= or eal=
  // arguments, or qps= exceeds the cryptodev's queue pairs; with
  // ASYNC_INIT_E when DPDK cannot start, and in a process forked after it
  // started. The status says why.
  static Result<std::shared_ptr<DpdkRuntime>> acquire(const DpdkRuntimeConfig& cfg);
  // Takes back what the driver still holds (cancelled ops, for up to 5 s per
  // queue pair), frees the cached sessions, stops the cryptodev and frees
  // the pools unless the driver kept some op. In a forked child, nothing.
  ~DpdkRuntime();

  // The queue pair with the fewest devices on it, now leased to one more.
  DpdkQueuePair* lease();
  void unlease(DpdkQueuePair* qp);

  std::uint8_t dev_id = 0;
  int depth = 0;
  const rte_cryptodev_symmetric_capability* cbc = nullptr;  // nullptr: not supported
  const rte_cryptodev_symmetric_capability* gcm = nullptr;
  rte_mempool* op_pool = nullptr;
  rte_mempool* mbuf_pool = nullptr;
  rte_mempool* session_pool = nullptr;
  // Public-key operations (RSA, DH agreement); never null once started.
  std::unique_ptr<DpdkAsym> asym;
  // A CPU driver (no DMA): operations may run on the caller's own buffers.
  bool zero_copy = false;

 private:
  friend class DpdkDevice;
  Status start(const DpdkRuntimeConfig& cfg);
  void drain_and_release(DpdkQueuePair& qp);

  DpdkRuntimeConfig cfg_;
  bool started_ = false;
  std::mutex lease_mu_;
  std::vector<std::unique_ptr<DpdkQueuePair>> qps_;
};

}  // namespace asynccrypt

#endif  // ASYNCCRYPT_HAVE_DPDK
