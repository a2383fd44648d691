// The cryptodev that all dpdk devices of a process share: its configuration, queue pairs, pools.
#include "backends/dpdk/dpdk_runtime.h"

#ifdef ASYNCCRYPT_HAVE_DPDK

#include "core/wolfssl_api.h"

#include <rte_crypto.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "backends/dpdk/dpdk_eal.h"
#include "backends/dpdk/dpdk_staging.h"
#include "core/clock.h"

namespace asynccrypt {
namespace {

std::weak_ptr<DpdkRuntime> g_runtime;  // guarded by g_dpdk_mu
// Tells each runtime's pools apart: DPDK's pool names are process-wide, and
// a runtime's pools outlive it when a driver never returned its ops (see
// ~DpdkRuntime). Guarded by g_dpdk_mu (start() runs under acquire()'s lock).
unsigned g_pool_serial = 0;
// Serialises configuring and tearing down the cryptodev (a runtime may be
// destroyed on any thread while the next one is created).
std::mutex g_device_mu;

}  // namespace

Result<std::shared_ptr<DpdkRuntime>> DpdkRuntime::acquire(const DpdkRuntimeConfig& cfg) {
  std::lock_guard lock(g_dpdk_mu);
  if (in_forked_child()) {
    return Status(ASYNC_INIT_E,
                  "device kind 'dpdk': DPDK was started before fork(), and a forked child "
                  "cannot use it; open dpdk devices in the parent (or after exec)");
  }
  if (std::shared_ptr<DpdkRuntime> running = g_runtime.lock()) {
    if (running->cfg_ == cfg) return running;
    return Status(BAD_FUNC_ARG, "device kind 'dpdk': the cryptodev is already running with " +
                                    running->cfg_.describe() + "; cannot also open " +
                                    cfg.describe());
  }
  if (Status s = start_eal_locked(cfg); !s.is_ok()) return s;
  auto runtime = std::make_shared<DpdkRuntime>();
  if (Status s = runtime->start(cfg); !s.is_ok()) return s;
  g_runtime = runtime;
  return runtime;
}

Status DpdkRuntime::start(const DpdkRuntimeConfig& cfg) {
  std::lock_guard device_lock(g_device_mu);
  cfg_ = cfg;
  depth = cfg.depth;
  const int id = rte_cryptodev_get_dev_id(cfg.dev.c_str());
  if (id < 0) {
    std::string have;
    for (std::uint8_t d = 0; d < rte_cryptodev_count(); ++d) {
      have += std::string(have.empty() ? "" : ", ") + rte_cryptodev_name_get(d);
    }
    return Status(ASYNC_INIT_E, "device kind 'dpdk': no cryptodev named '" + cfg.dev +
                                    "' (have: " + (have.empty() ? "none" : have) +
                                    "); give vdev=crypto_aesni_mb, or bind a PCI device and "
                                    "name it with dev=");
  }
  dev_id = static_cast<std::uint8_t>(id);
  rte_cryptodev_info info{};
  rte_cryptodev_info_get(dev_id, &info);
  const int max_qps = static_cast<int>(info.max_nb_queue_pairs);
  const int n_qps = cfg.qps > 0 ? cfg.qps : std::min(4, max_qps);
  if (n_qps > max_qps) {
    return Status(BAD_FUNC_ARG, "device option dpdk:qps=" + std::to_string(cfg.qps) +
                                    " exceeds the " + std::to_string(info.max_nb_queue_pairs) +
                                    " queue pairs of " + cfg.dev);
  }
  // Software drivers read the data with the CPU, by virtual address;
  // hardware (DMA) always gets copies in pool memory.
  zero_copy = cfg.copy == "auto" && (info.feature_flags & RTE_CRYPTODEV_FF_HW_ACCELERATED) == 0 &&
              (info.feature_flags & RTE_CRYPTODEV_FF_OOP_LB_IN_LB_OUT) != 0;
  if ((info.feature_flags & RTE_CRYPTODEV_FF_SYMMETRIC_CRYPTO) != 0) {
    rte_cryptodev_sym_capability_idx idx{};
    idx.type = RTE_CRYPTO_SYM_XFORM_CIPHER;
    idx.algo.cipher = RTE_CRYPTO_CIPHER_AES_CBC;
    cbc = rte_cryptodev_sym_capability_get(dev_id, &idx);
    idx.type = RTE_CRYPTO_SYM_XFORM_AEAD;
    idx.algo.aead = RTE_CRYPTO_AEAD_AES_GCM;
    gcm = rte_cryptodev_sym_capability_get(dev_id, &idx);
  }

  const unsigned serial = ++g_pool_serial;
  const auto name = [serial](const char* what) {
    return std::string("acr_") + what + "_" + std::to_string(serial);
  };
  const unsigned n_ops = static_cast<unsigned>(n_qps * cfg.depth + 64);
  const int socket = SOCKET_ID_ANY;
  op_pool = rte_crypto_op_pool_create(name("ops").c_str(), RTE_CRYPTO_OP_TYPE_SYMMETRIC, n_ops, 0,
                                      16 + sizeof(SymJob), socket);
  mbuf_pool = rte_pktmbuf_pool_create(name("mbuf").c_str(), n_ops, 0, 0, kMbufRoom, socket);
  const unsigned n_sessions = static_cast<unsigned>(n_qps) * (kSessionsPerQp + 1) + 16;
  session_pool = rte_cryptodev_sym_session_pool_create(
      name("sess").c_str(), n_sessions, rte_cryptodev_sym_get_private_session_size(dev_id), 0, 0,
      socket);
  if (op_pool == nullptr || mbuf_pool == nullptr || session_pool == nullptr) {
    return Status(ASYNC_INIT_E, std::string("device kind 'dpdk': cannot create memory pools (") +
                                    rte_strerror(rte_errno) +
                                    "); give the EAL more memory (-m) or lower qps/depth");
  }
  // Software drivers (crypto_openssl) exponentiate in variable time: the
  // private DH exponent stays with wolfCrypt there unless dh=driver says
  // otherwise.
  const bool hardware = (info.feature_flags & RTE_CRYPTODEV_FF_HW_ACCELERATED) != 0;
  const bool secret_modex = cfg.dh == "driver" || (cfg.dh == "auto" && hardware);
  auto asym_ops =
      DpdkAsym::create(dev_id, info.feature_flags, secret_modex, n_ops, std::to_string(serial));
  if (!asym_ops.is_ok()) return asym_ops.status();
  asym = asym_ops.take();

  rte_cryptodev_config config{};
  config.socket_id = socket;
  config.nb_queue_pairs = static_cast<std::uint16_t>(n_qps);
  config.ff_disable = RTE_CRYPTODEV_FF_SECURITY;
  if (int r = rte_cryptodev_configure(dev_id, &config); r < 0) {
    return Status(ASYNC_INIT_E, "device kind 'dpdk': rte_cryptodev_configure(" + cfg.dev +
                                    ") failed: " + rte_strerror(-r));
  }
  rte_cryptodev_qp_conf qp_conf{};
  qp_conf.nb_descriptors = rte_align32pow2(static_cast<std::uint32_t>(cfg.depth));
  qp_conf.mp_session = session_pool;
  for (int q = 0; q < n_qps; ++q) {
    if (int r =
            rte_cryptodev_queue_pair_setup(dev_id, static_cast<std::uint16_t>(q), &qp_conf, socket);
        r < 0) {
      return Status(ASYNC_INIT_E, "device kind 'dpdk': queue pair " + std::to_string(q) +
                                      " setup failed: " + rte_strerror(-r));
    }
    auto qp = std::make_unique<DpdkQueuePair>();
    qp->dev_id = dev_id;
    qp->id = static_cast<std::uint16_t>(q);
    // Room for everything an operation's path may add, reserved now so that
    // staging an operation or caching a session never grows them (see
    // session_cached_locked): at most depth ops are held, staged among them.
    qp->staged.reserve(static_cast<std::size_t>(cfg.depth));
    qp->sessions.reserve(kSessionsPerQp);
    qps_.push_back(std::move(qp));
  }
  if (int r = rte_cryptodev_start(dev_id); r < 0) {
    return Status(ASYNC_INIT_E, "device kind 'dpdk': rte_cryptodev_start(" + cfg.dev +
                                    ") failed: " + rte_strerror(-r));
  }
  started_ = true;
  return Status::ok();
}

void DpdkRuntime::drain_and_release(DpdkQueuePair& qp) {
  std::lock_guard lock(qp.mu);
  // Everything still here was cancelled (a live op keeps its device, and so
  // this runtime, alive). Give the driver a few seconds to hand it back.
  if (!qp.staged.empty()) {
    for (rte_crypto_op* cop : qp.staged) state_of(cop).done = true;
  }
  // The runtime outlives its devices, so it reads the real clock itself.
  const Clock& clock = Clock::steady();
  const Clock::time_point deadline = clock.now() + std::chrono::seconds(5);
  while (qp.enqueued > 0 && clock.now() < deadline) {
    rte_crypto_op* done[kMaxBurst];
    const std::uint16_t n = rte_cryptodev_dequeue_burst(dev_id, qp.id, done, kMaxBurst);
    qp.enqueued -= n;
    for (std::uint16_t i = 0; i < n; ++i) qp.staged.push_back(done[i]);
    if (n == 0) std::this_thread::yield();
  }
  for (rte_crypto_op* cop : qp.staged) {
    if (is_asym(cop)) {
      DpdkAsym::release(cop);  // frees its session, wipes its buffers
      continue;
    }
    rte_pktmbuf_free(job_of(cop)->mbuf);
    rte_crypto_op_free(cop);
  }
  qp.staged.clear();
  for (auto& [key, entry] : qp.sessions) {
    if (entry.session != nullptr) (void)rte_cryptodev_sym_session_free(dev_id, entry.session);
    wipe(key);
  }
  qp.sessions.clear();
}

DpdkRuntime::~DpdkRuntime() {
  if (in_forked_child()) return;  // the driver and its pools are the parent's
  std::lock_guard device_lock(g_device_mu);
  for (auto& qp : qps_) drain_and_release(*qp);
  if (started_) rte_cryptodev_stop(dev_id);
  // Ops that a driver never returned (a hung card) still point into the
  // pools: leak them rather than free memory the hardware may write.
  bool all_back = true;
  for (auto& qp : qps_) all_back = all_back && qp->enqueued == 0;
  if (all_back) {
    rte_mempool_free(op_pool);
    rte_mempool_free(mbuf_pool);
    rte_mempool_free(session_pool);
    if (asym != nullptr) asym->free_pools();
  }
}

DpdkQueuePair* DpdkRuntime::lease() {
  std::lock_guard lock(lease_mu_);
  auto best = std::min_element(qps_.begin(), qps_.end(),
                               [](const auto& a, const auto& b) { return a->users < b->users; });
  ++(*best)->users;
  return best->get();
}

void DpdkRuntime::unlease(DpdkQueuePair* qp) {
  std::lock_guard lock(lease_mu_);
  --qp->users;
}

}  // namespace asynccrypt

#endif  // ASYNCCRYPT_HAVE_DPDK
