// The dpdk device: operations driven through a DPDK cryptodev queue pair from the owner's polls.
#include "backends/dpdk/dpdk_device.h"

#ifdef ASYNCCRYPT_HAVE_DPDK

#include "core/wolfssl_api.h"

#include <rte_cryptodev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <wolfssl/wolfcrypt/aes.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "backends/dpdk/dpdk_asym.h"
#include "backends/dpdk/dpdk_eal.h"
#include "backends/dpdk/dpdk_runtime.h"
#include "backends/dpdk/dpdk_session.h"
#include "backends/dpdk/dpdk_staging.h"
#include "wolfcrypt/execute.h"

namespace asynccrypt {
namespace {

// Whether the driver may take the operation recorded in dev, before any
// session is looked up (the session check is the driver's own).
bool offloadable(const WC_ASYNC_DEV& dev, const DpdkRuntime& rt) {
  const auto& a = dev.sw.aes;
  switch (dev.sw.type) {
    case ASYNC_SW_AES_CBC_ENCRYPT:
    case ASYNC_SW_AES_CBC_DECRYPT:
      // Partial blocks and empty inputs keep wolfCrypt's own answers.
      return rt.cbc != nullptr && a.aes != nullptr && a.in != nullptr && a.out != nullptr &&
             a.sz > 0 && a.sz % AES_BLOCK_SIZE == 0 && a.sz <= kMaxData;
    case ASYNC_SW_AES_GCM_ENCRYPT:
    case ASYNC_SW_AES_GCM_DECRYPT:
      return rt.gcm != nullptr && a.aes != nullptr && a.iv != nullptr && a.ivSz == kGcmIvSize &&
             a.authTag != nullptr && a.authTagSz >= WOLFSSL_MIN_AUTH_TAG_SZ &&
             a.authTagSz <= AES_BLOCK_SIZE && a.sz <= kMaxData &&
             (a.sz == 0 || (a.in != nullptr && a.out != nullptr)) && a.authInSz <= kMaxAad &&
             (a.authInSz == 0 || a.authIn != nullptr);
    default:
      return rt.asym != nullptr && rt.asym->offloadable(dev);
  }
}

// Dequeues up to `burst` finished ops: cancelled ones are released, the
// others marked done for their owners. Returns true when `watch` was among
// them.
bool dequeue_locked(const DpdkRuntime& rt, DpdkQueuePair& qp, int burst, rte_crypto_op* watch) {
  rte_crypto_op* done[kMaxBurst];
  const std::uint16_t n =
      rte_cryptodev_dequeue_burst(rt.dev_id, qp.id, done, static_cast<std::uint16_t>(burst));
  qp.enqueued -= n;
  bool seen = false;
  for (std::uint16_t i = 0; i < n; ++i) {
    seen = seen || done[i] == watch;
    DpdkJobState& state = state_of(done[i]);
    if (state.op == nullptr) {
      release_locked(qp, done[i]);  // cancelled
    } else {
      state.done = true;
    }
  }
  return seen;
}

// After a short enqueue: when the driver refused the first op left staged
// rather than ran out of room (it set an error status, as drivers that
// compute inside the enqueue call do, or it holds nothing of this pair, so
// it cannot be full), that op is finished with its error instead of being
// offered again forever (it would block every op behind it). Returns true
// when it took the op out.
bool reject_head_locked(DpdkQueuePair& qp) {
  rte_crypto_op* head = qp.staged.front();
  if (head->status == RTE_CRYPTO_OP_STATUS_NOT_PROCESSED && qp.enqueued > 0) return false;
  if (head->status == RTE_CRYPTO_OP_STATUS_NOT_PROCESSED ||
      head->status == RTE_CRYPTO_OP_STATUS_SUCCESS) {
    head->status = RTE_CRYPTO_OP_STATUS_ERROR;
  }
  qp.staged.erase(qp.staged.begin());
  DpdkJobState& state = state_of(head);
  if (state.op == nullptr) {
    release_locked(qp, head);  // cancelled
  } else {
    state.done = true;
  }
  return true;
}

// True when the driver has kept cop (staged or enqueued) for `timeout` or
// longer: cop is then taken from the op (freed now, or when the driver
// returns it) and the op must end with an error.
bool timed_out_locked(DpdkQueuePair& qp, rte_crypto_op* cop, const Clock& clock,
                      Clock::duration timeout) {
  DpdkJobState& job = state_of(cop);
  // A zero-copy op is never given up: the driver works on the caller's
  // buffers, which the caller may reuse once told the op ended. Only CPU
  // drivers get zero copy, and they compute inside our enqueue and dequeue
  // calls, so theirs come back unless the driver is broken.
  if (job.zero_copy || clock.now() - job.staged_at < timeout) return false;
  auto staged = std::find(qp.staged.begin(), qp.staged.end(), cop);
  if (staged != qp.staged.end()) {
    qp.staged.erase(staged);  // never accepted by the driver
    release_locked(qp, cop);
  } else {
    job.op = nullptr;  // in the driver: released when it comes back
  }
  return true;
}

}  // namespace

DpdkDevice::DpdkDevice(std::shared_ptr<DpdkRuntime> runtime, DpdkQueuePair* qp, int burst,
                       Clock::duration timeout)
    : runtime_(std::move(runtime)), qp_(qp), burst_(burst), timeout_(timeout) {}

DpdkDevice::~DpdkDevice() { runtime_->unlease(qp_); }

int DpdkDevice::queue_pair_id() const { return qp_->id; }
int DpdkDevice::depth() const { return runtime_->depth; }

void DpdkDevice::forget(const WC_ASYNC_DEV* dev, word32 marker) {
  if (marker != WOLFSSL_ASYNC_MARKER_AES || in_forked_child()) return;
  // The Aes that owns dev (wolfCrypt embeds the WC_ASYNC_DEV in it); its
  // key is still there (wc_AesFree wipes it after this call).
  const auto* aes =
      reinterpret_cast<const Aes*>(reinterpret_cast<const char*>(dev) - offsetof(Aes, asyncDev));
  const auto key_len = static_cast<std::size_t>(aes->keylen);
  if (key_len != 16 && key_len != 24 && key_len != 32) return;
  const std::string_view key(reinterpret_cast<const char*>(aes->devKey), key_len);
  for (auto& qp : runtime_->qps_) {
    std::lock_guard lock(qp->mu);
    for (auto it = qp->sessions.begin(); it != qp->sessions.end();) {
      // Cache keys are 4 bytes of parameters, then the AES key.
      const std::string& k = it->first;
      if (it->second.orphaned || k.size() != 4 + key_len || std::string_view(k).substr(4) != key) {
        ++it;
        continue;
      }
      if (it->second.refs == 0) {
        if (it->second.session != nullptr) {
          (void)rte_cryptodev_sym_session_free(runtime_->dev_id, it->second.session);
        }
        wipe(k);
        it = qp->sessions.erase(it);
        continue;
      }
      auto node = qp->sessions.extract(it++);
      wipe(node.key());
      node.mapped().orphaned = true;
      node.key() = orphan_key(&node.mapped());
      qp->sessions.insert(std::move(node));
    }
  }
}

std::size_t DpdkDevice::cached_sessions() const {
  std::size_t n = 0;
  for (auto& qp : runtime_->qps_) {
    std::lock_guard lock(qp->mu);
    n += qp->sessions.size();
  }
  return n;
}

bool DpdkDevice::pool_buffers_hold(const std::uint8_t* pattern, std::size_t len) const {
  struct Search {
    const std::uint8_t* pattern;
    std::size_t len;
    bool found;
  } search{pattern, len, false};
  (void)rte_mempool_obj_iter(
      runtime_->mbuf_pool,
      [](rte_mempool*, void* arg, void* obj, unsigned) {
        auto* s = static_cast<Search*>(arg);
        const auto* m = static_cast<const rte_mbuf*>(obj);
        const auto* room = static_cast<const std::uint8_t*>(m->buf_addr);
        s->found = s->found || std::search(room, room + m->buf_len, s->pattern,
                                           s->pattern + s->len) != room + m->buf_len;
      },
      &search);
  return search.found;
}

std::uint32_t DpdkDevice::capabilities() const {
  std::uint32_t mask = 0;
  if (runtime_->cbc != nullptr) {
    mask |= (1u << ASYNC_SW_AES_CBC_ENCRYPT) | (1u << ASYNC_SW_AES_CBC_DECRYPT);
  }
  if (runtime_->gcm != nullptr) {
    mask |= (1u << ASYNC_SW_AES_GCM_ENCRYPT) | (1u << ASYNC_SW_AES_GCM_DECRYPT);
  }
  if (runtime_->asym != nullptr) mask |= runtime_->asym->capabilities();
  return mask;
}

bool DpdkDevice::declines(const WC_ASYNC_DEV* dev, int type) {
  (void)dev;
  return type > 0 && type < 32 && (capabilities() & (1u << type)) == 0;
}

bool DpdkDevice::poll(Op* op, const PollContext& context) {
  if (in_forked_child()) {
    op->slot.state = nullptr;  // a crypto op of the parent's, if any: not ours
    op->result = WC_HW_E;
    return true;
  }
  DpdkRuntime& rt = *runtime_;
  DpdkQueuePair& qp = *qp_;
  auto* cop = op->slot.state_as<rte_crypto_op>();
  bool software = cop == nullptr && !offloadable(*op->dev, rt);
  if (!software) {
    std::lock_guard lock(qp.mu);
    const auto flush = [&] {
      while (!qp.staged.empty()) {
        const std::uint16_t n = rte_cryptodev_enqueue_burst(
            rt.dev_id, qp.id, qp.staged.data(),
            static_cast<std::uint16_t>(std::min<std::size_t>(qp.staged.size(), kMaxBurst)));
        if (n > 0) dpdk_counters_.bursts.fetch_add(1, std::memory_order_relaxed);
        qp.enqueued += n;
        qp.staged.erase(qp.staged.begin(), qp.staged.begin() + n);
        if (qp.staged.empty() || !reject_head_locked(qp)) break;
      }
    };
    // A new poll (its first visit) or a single-event wait first sends what
    // the previous poll left staged.
    if (context.visit <= 1 && !qp.staged.empty()) flush();
    if (cop == nullptr) {
      if (qp.held >= rt.depth) {
        dpdk_counters_.full_waits.fetch_add(1, std::memory_order_relaxed);
      } else {
        switch (stage_locked(rt, qp, op, &cop)) {
          case StageResult::kStaged:
            op->slot.state = cop;
            state_of(cop).staged_at = clock().now();
            if (qp.held > dpdk_counters_.max_in_flight.load(std::memory_order_relaxed)) {
              dpdk_counters_.max_in_flight.store(qp.held, std::memory_order_relaxed);
            }
            break;
          case StageResult::kNoRoom:
            dpdk_counters_.full_waits.fetch_add(1, std::memory_order_relaxed);
            break;
          case StageResult::kSoftware:
            software = true;
            break;
        }
      }
    }
    if (!software) {
      if (qp.staged.size() >= static_cast<std::size_t>(burst_) ||
          (context.single_event() && !qp.staged.empty())) {
        flush();
      }
      if (qp.enqueued > 0 && !hold_returns_.load(std::memory_order_relaxed)) {
        (void)dequeue_locked(rt, qp, burst_, nullptr);
      }
      if (cop == nullptr) return false;
      if (!state_of(cop).done) {
        if (!timed_out_locked(qp, cop, clock(), timeout_)) return false;
        // The driver kept it too long: the caller gets an error rather than
        // a wait without end; the op is dropped when the driver returns it.
        dpdk_counters_.timeouts.fetch_add(1, std::memory_order_relaxed);
        op->slot.state = nullptr;
        op->result = WC_TIMEOUT_E;
        op->dev->sw.type = ASYNC_SW_NONE;
        return true;
      }
      op->result = finish_locked(qp, cop, dpdk_counters_);
      op->slot.state = nullptr;
      // A public-key result whose exact wolfCrypt form only wolfCrypt
      // knows (a DH secret of 1): computed again below, in software.
      software = op->result == kAsymRunInSoftware;
    }
    if (!software) {
      op->dev->sw.type = ASYNC_SW_NONE;
      return true;
    }
  }
  // Not for this driver: wolfCrypt runs it here, on the polling thread.
  const int ret = wolfcrypt::execute(op->dev);
  if (ret == WC_PENDING_E) return false;  // a non-blocking slice; more next poll
  dpdk_counters_.software.fetch_add(1, std::memory_order_relaxed);
  op->result = ret;
  return true;
}

bool DpdkDevice::cancel(Op* op) {
  auto* cop = op->slot.state_as<rte_crypto_op>();
  if (cop == nullptr) return true;
  if (in_forked_child()) {
    op->slot.state = nullptr;  // the parent's driver holds it: leave it there
    return true;
  }
  DpdkQueuePair& qp = *qp_;
  std::lock_guard lock(qp.mu);
  DpdkJobState& job = state_of(cop);
  auto staged = std::find(qp.staged.begin(), qp.staged.end(), cop);
  if (staged != qp.staged.end()) {
    qp.staged.erase(staged);
    release_locked(qp, cop);
  } else if (job.done) {
    release_locked(qp, cop);
  } else if (job.zero_copy) {
    // The driver works on the caller's buffers, which are about to be
    // freed: wait until it hands the op back (a CPU driver does the work
    // inside the dequeue call, so this is short).
    job.op = nullptr;
    const Clock::time_point deadline = clock().now() + std::chrono::seconds(5);
    while (!dequeue_locked(*runtime_, qp, kMaxBurst, cop) && clock().now() < deadline) {
    }
  } else {
    job.op = nullptr;  // in the driver: released when it comes back
  }
  op->slot.state = nullptr;
  return true;
}

}  // namespace asynccrypt

#endif  // ASYNCCRYPT_HAVE_DPDK
