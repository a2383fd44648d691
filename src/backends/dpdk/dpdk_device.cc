// The dpdk device: AES-CBC/GCM (and, through dpdk_asym, RSA and DH agreement) on a DPDK cryptodev
// queue pair, driven from the owner's polls.
#include "backends/dpdk/dpdk_device.h"

#include "core/wolfssl_api.h"

#ifndef ASYNCCRYPT_HAVE_DPDK

namespace asynccrypt {

bool dpdk_built() { return false; }

// NOLINTNEXTLINE(performance-unnecessary-value-param): DeviceFactory's signature
Result<std::shared_ptr<Device>> create_dpdk_device(DeviceSpec spec) {
  (void)spec;
  return Status(ASYNC_INIT_E,
                "device kind 'dpdk': asynccrypt was not built with DPDK "
                "(install libdpdk-dev, which pkg-config finds as libdpdk, and rebuild)");
}

}  // namespace asynccrypt

#else  // ASYNCCRYPT_HAVE_DPDK

#include <getopt.h>
#include <pthread.h>
#include <rte_cryptodev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <sched.h>
#include <unistd.h>
#include <wolfssl/wolfcrypt/aes.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <new>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "backends/dpdk/dpdk_asym.h"
#include "wolfcrypt/execute.h"

namespace asynccrypt {
namespace {

// Largest plaintext or ciphertext the device takes in one operation: a TLS
// record's ciphertext (16 KiB + 2 KiB expansion). Larger ones run in software.
constexpr std::uint32_t kMaxData = 16384 + 2048;
// Largest GCM additional data the device takes (TLS uses 13 bytes).
constexpr std::uint32_t kMaxAad = 1024;
// mbuf layout, from the data offset: data | 64 bytes for the tag | AAD.
constexpr std::uint32_t kDigestOffset = kMaxData;
constexpr std::uint32_t kAadOffset = kMaxData + 64;
constexpr std::uint32_t kMbufRoom = RTE_PKTMBUF_HEADROOM + kAadOffset + kMaxAad;
constexpr int kMaxBurst = 256;
constexpr int kMaxQps = 64;
constexpr int kMaxDepth = 4096;
constexpr std::size_t kSessionsPerQp = 128;
constexpr std::uint32_t kGcmIvSize = 12;

// What lives in each crypto op's private area: the IV (the driver reads it
// at kIvOffset, given to the session) and our bookkeeping.
constexpr std::uint16_t kIvOffset = sizeof(rte_crypto_op) + sizeof(rte_crypto_sym_op);
constexpr std::uint16_t kJobOffset = kIvOffset + 16;

struct SessionEntry {
  void* session = nullptr;  // nullptr: the driver does not take these parameters
  int refs = 0;             // crypto ops holding it
  // Its key's object was freed while ops still held it: it stays in the
  // map under orphan_key() (the key wiped), and the release of its last op
  // frees it.
  bool orphaned = false;
};

// The cache key of an orphaned session: its address, no key material. Nine
// bytes, within std::string's inline buffer, so the free and cancel paths
// that build it never allocate; the first byte is no operation type, so it
// matches no live key.
std::string orphan_key(const SessionEntry* entry) {
  const auto address = reinterpret_cast<std::uintptr_t>(entry);
  char bytes[1 + sizeof address];
  bytes[0] = '\xff';
  std::memcpy(bytes + 1, &address, sizeof address);
  return std::string(bytes, sizeof bytes);
}

// One operation handed to the driver. Guarded by its queue pair's mutex.
struct Job {
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

Job* job_of(rte_crypto_op* cop) { return rte_crypto_op_ctod_offset(cop, Job*, kJobOffset); }

bool is_asym(const rte_crypto_op* cop) { return cop->type == RTE_CRYPTO_OP_TYPE_ASYMMETRIC; }

// The bookkeeping common to symmetric and public-key ops.
DpdkJobState& state_of(rte_crypto_op* cop) {
  return is_asym(cop) ? *DpdkAsym::state(cop) : job_of(cop)->state;
}

// Overwrites a secret that a std::string holds, before it is released.
void wipe(const std::string& s) {
  auto* p = const_cast<volatile char*>(s.data());
  for (std::size_t i = 0; i < s.size(); ++i) p[i] = 0;
}

// Overwrites pool memory that held secrets; explicit_bzero is never
// optimised away.
void wipe(std::uint8_t* p, std::size_t n) {
  if (n > 0) explicit_bzero(p, n);
}

std::vector<std::string> split_spaces(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

// The process-wide part of a spec: all dpdk devices of a process share it.
struct RuntimeConfig {
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

  bool operator==(const RuntimeConfig&) const = default;
  std::string describe() const {
    return "dev=" + dev + ",qps=" + std::to_string(qps) + ",depth=" + std::to_string(depth) +
           ",copy=" + copy + ",dh=" + dh;
  }
};

// The first CPU this thread may run on, for the EAL's main lcore.
int first_allowed_cpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (pthread_getaffinity_np(pthread_self(), sizeof set, &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) return cpu;
    }
  }
  return 0;
}

// The EAL can be initialised once per process and never again, even after
// a failure or rte_eal_cleanup. Guarded by g_mu.
std::mutex g_mu;
enum class EalState { kNone, kUp, kFailed };
EalState g_eal_state = EalState::kNone;
std::string g_eal_args;   // what it was started with
std::string g_eal_error;  // why it failed
unsigned g_pool_serial = 0;

// True in a process forked after the EAL started. DPDK does not survive
// fork(): the child shares the parent's driver state and pool memory
// without its threads, and the EAL cannot start twice in a process. So in
// a child the device touches nothing of DPDK: operations fail with WC_HW_E,
// cancellation and teardown leave the driver alone, and opening fails.
std::atomic<bool> g_forked_child{false};
void note_forked_child() { g_forked_child.store(true, std::memory_order_relaxed); }
bool in_forked_child() { return g_forked_child.load(std::memory_order_relaxed); }

Status start_eal_locked(const RuntimeConfig& cfg) {
  static const int fork_handler = pthread_atfork(nullptr, nullptr, &note_forked_child);
  if (fork_handler != 0) {
    return Status(ASYNC_INIT_E, std::string("device kind 'dpdk': pthread_atfork: ") +
                                    std::strerror(fork_handler));
  }
  std::vector<std::string> args{"asynccrypt"};
  if (cfg.eal.empty()) {
    // Works without root and without hugepages: memory from the heap, no
    // PCI scan, no files in /var/run, one lcore (the caller's CPU), no
    // worker threads.
    for (const char* a : {"--no-huge", "--no-shconf", "--no-pci", "--no-telemetry", "-m", "256",
                          "--log-level=error"}) {
      args.emplace_back(a);
    }
    args.push_back("-l");
    args.push_back(std::to_string(first_allowed_cpu()));
  } else {
    for (auto& a : split_spaces(cfg.eal)) args.push_back(a);
  }
  if (!cfg.vdev.empty()) args.push_back("--vdev=" + cfg.vdev);
  std::string joined;
  for (std::size_t i = 1; i < args.size(); ++i) joined += (i > 1 ? " " : "") + args[i];

  if (g_eal_state == EalState::kUp) {
    if (joined == g_eal_args || g_eal_args == "(started by the application)") return Status::ok();
    return Status(BAD_FUNC_ARG, "device kind 'dpdk': the EAL of this process was started with '" +
                                    g_eal_args + "'; it cannot restart with '" + joined +
                                    "' (use the same vdev= and eal= in every dpdk spec)");
  }
  if (g_eal_state == EalState::kFailed) return Status(ASYNC_INIT_E, g_eal_error);

  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // rte_eal_init pins the calling thread to its main lcore and parses with
  // getopt: give the application back its affinity and getopt state.
  cpu_set_t affinity;
  const bool have_affinity =
      pthread_getaffinity_np(pthread_self(), sizeof affinity, &affinity) == 0;
  const int saved_optind = optind, saved_opterr = opterr, saved_optopt = optopt;
  char* const saved_optarg = optarg;
  const int ret = rte_eal_init(static_cast<int>(args.size()), argv.data());
  const int err = rte_errno;
  optind = saved_optind;
  opterr = saved_opterr;
  optopt = saved_optopt;
  optarg = saved_optarg;
  if (have_affinity) (void)pthread_setaffinity_np(pthread_self(), sizeof affinity, &affinity);
  if (ret < 0 && err == EALREADY) {
    // The application runs DPDK itself and started the EAL: use it as is.
    g_eal_state = EalState::kUp;
    g_eal_args = "(started by the application)";
    return Status::ok();
  }
  if (ret < 0) {
    g_eal_state = EalState::kFailed;
    g_eal_error = "device kind 'dpdk': rte_eal_init(" + joined + ") failed: " + rte_strerror(err) +
                  (err == EACCES ? " (no permission: hugepages or devices need root; try "
                                   "eal=--no-huge --no-shconf --no-pci)"
                                 : "") +
                  "; the EAL cannot be retried in this process";
    return Status(ASYNC_INIT_E, g_eal_error);
  }
  g_eal_state = EalState::kUp;
  g_eal_args = joined;
  return Status::ok();
}

}  // namespace

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
  static Result<std::shared_ptr<DpdkRuntime>> acquire(const RuntimeConfig& cfg);
  ~DpdkRuntime();

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
  Status start(const RuntimeConfig& cfg);
  void drain_and_release(DpdkQueuePair& qp);

  RuntimeConfig cfg_;
  bool started_ = false;
  std::mutex lease_mu_;
  std::vector<std::unique_ptr<DpdkQueuePair>> qps_;
};

namespace {
std::weak_ptr<DpdkRuntime> g_runtime;  // guarded by g_mu
// Serialises configuring and tearing down the cryptodev (a runtime may be
// destroyed on any thread while the next one is created).
std::mutex g_device_mu;
}  // namespace

Result<std::shared_ptr<DpdkRuntime>> DpdkRuntime::acquire(const RuntimeConfig& cfg) {
  std::lock_guard lock(g_mu);
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

Status DpdkRuntime::start(const RuntimeConfig& cfg) {
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
                                      16 + sizeof(Job), socket);
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

bool is_gcm(int type) {
  return type == ASYNC_SW_AES_GCM_ENCRYPT || type == ASYNC_SW_AES_GCM_DECRYPT;
}
bool is_aes(int type) {
  return type == ASYNC_SW_AES_CBC_ENCRYPT || type == ASYNC_SW_AES_CBC_DECRYPT || is_gcm(type);
}
bool is_decrypt(int type) {
  return type == ASYNC_SW_AES_CBC_DECRYPT || type == ASYNC_SW_AES_GCM_DECRYPT;
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

bool dpdk_built() { return true; }

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

namespace {

SessionEntry* session_cached_locked(DpdkRuntime& rt, DpdkQueuePair& qp, const WC_ASYNC_DEV& dev,
                                    bool gcm, std::uint16_t key_len);

// The session for op's key and parameters on qp, created on first use;
// nullptr when the driver refuses them, the cache is full of busy ones or
// memory ran out.
SessionEntry* session_locked(DpdkRuntime& rt, DpdkQueuePair& qp, const WC_ASYNC_DEV& dev) {
  const auto& aes = *dev.sw.aes.aes;
  const bool gcm = is_gcm(dev.sw.type);
  const auto key_len = static_cast<std::uint16_t>(aes.keylen);
  if (key_len != 16 && key_len != 24 && key_len != 32) return nullptr;
  // The key and the map's node need memory: this file is compiled with
  // -fexceptions so that running out of it sends the operation to
  // software (nullptr) instead of aborting; the map is left as it was.
  try {
    return session_cached_locked(rt, qp, dev, gcm, key_len);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

SessionEntry* session_cached_locked(DpdkRuntime& rt, DpdkQueuePair& qp, const WC_ASYNC_DEV& dev,
                                    bool gcm, std::uint16_t key_len) {
  const auto& a = dev.sw.aes;
  const Aes& aes = *a.aes;
  const int type = dev.sw.type;
  std::string key;
  key.reserve(8 + key_len);
  key.push_back(static_cast<char>(type));
  key.push_back(static_cast<char>(gcm ? a.authTagSz : 0));
  key.push_back(static_cast<char>(gcm ? a.authInSz & 0xff : 0));
  key.push_back(static_cast<char>(gcm ? a.authInSz >> 8 : 0));
  key.append(reinterpret_cast<const char*>(aes.devKey), key_len);
  if (auto it = qp.sessions.find(key); it != qp.sessions.end()) {
    wipe(key);
    return it->second.session != nullptr ? &it->second : nullptr;
  }
  if (qp.sessions.size() >= kSessionsPerQp) {
    for (auto it = qp.sessions.begin(); it != qp.sessions.end();) {
      if (it->second.refs != 0) {
        ++it;
        continue;
      }
      if (it->second.session != nullptr) {
        (void)rte_cryptodev_sym_session_free(rt.dev_id, it->second.session);
      }
      wipe(it->first);
      it = qp.sessions.erase(it);
    }
    if (qp.sessions.size() >= kSessionsPerQp) {
      wipe(key);
      return nullptr;
    }
  }

  rte_crypto_sym_xform xform{};
  void* session = nullptr;
  const auto* key_bytes = reinterpret_cast<const std::uint8_t*>(aes.devKey);
  if (gcm) {
    if (rte_cryptodev_sym_capability_check_aead(
            rt.gcm, key_len, static_cast<std::uint16_t>(a.authTagSz),
            static_cast<std::uint16_t>(a.authInSz), kGcmIvSize) == 0) {
      xform.type = RTE_CRYPTO_SYM_XFORM_AEAD;
      xform.aead.op = is_decrypt(type) ? RTE_CRYPTO_AEAD_OP_DECRYPT : RTE_CRYPTO_AEAD_OP_ENCRYPT;
      xform.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
      xform.aead.key.data = key_bytes;
      xform.aead.key.length = key_len;
      xform.aead.iv.offset = kIvOffset;
      xform.aead.iv.length = kGcmIvSize;
      xform.aead.digest_length = static_cast<std::uint16_t>(a.authTagSz);
      xform.aead.aad_length = static_cast<std::uint16_t>(a.authInSz);
      session = rte_cryptodev_sym_session_create(rt.dev_id, &xform, rt.session_pool);
    }
  } else if (rte_cryptodev_sym_capability_check_cipher(rt.cbc, key_len, AES_BLOCK_SIZE) == 0) {
    xform.type = RTE_CRYPTO_SYM_XFORM_CIPHER;
    xform.cipher.op =
        is_decrypt(type) ? RTE_CRYPTO_CIPHER_OP_DECRYPT : RTE_CRYPTO_CIPHER_OP_ENCRYPT;
    xform.cipher.algo = RTE_CRYPTO_CIPHER_AES_CBC;
    xform.cipher.key.data = key_bytes;
    xform.cipher.key.length = key_len;
    xform.cipher.iv.offset = kIvOffset;
    xform.cipher.iv.length = AES_BLOCK_SIZE;
    session = rte_cryptodev_sym_session_create(rt.dev_id, &xform, rt.session_pool);
  }
  // A refusal is remembered too (session == nullptr), so it is asked once.
  // The buckets are reserved for kSessionsPerQp entries (DpdkRuntime::start),
  // so only the node is allocated here: when that fails, key was not moved.
  try {
    auto [it, inserted] = qp.sessions.emplace(std::move(key), SessionEntry{session, 0});
    (void)inserted;
    return session != nullptr ? &it->second : nullptr;
  } catch (const std::bad_alloc&) {
    if (session != nullptr) (void)rte_cryptodev_sym_session_free(rt.dev_id, session);
    wipe(key);
    return nullptr;  // runs in software this time
  }
}

enum class Stage { kStaged, kNoRoom, kSoftware };

// Builds the crypto op for op and appends it to qp.staged.
Stage stage_locked(DpdkRuntime& rt, DpdkQueuePair& qp, Op* op, rte_crypto_op** out) {
  const WC_ASYNC_DEV& dev = *op->dev;
  if (!is_aes(dev.sw.type)) {
    switch (rt.asym->stage(op, out)) {
      case AsymStage::kStaged:
        qp.staged.push_back(*out);
        ++qp.held;
        return Stage::kStaged;
      case AsymStage::kNoRoom:
        return Stage::kNoRoom;
      case AsymStage::kSoftware:
        return Stage::kSoftware;
    }
  }
  const auto& a = dev.sw.aes;
  SessionEntry* entry = session_locked(rt, qp, dev);
  if (entry == nullptr) return Stage::kSoftware;
  rte_crypto_op* cop = rte_crypto_op_alloc(rt.op_pool, RTE_CRYPTO_OP_TYPE_SYMMETRIC);
  if (cop == nullptr) return Stage::kNoRoom;
  Job* job = job_of(cop);
  const bool zero_copy = rt.zero_copy && a.sz > 0;
  const bool out_of_place = zero_copy && a.in != a.out;
  rte_mbuf* m = rte_pktmbuf_alloc(rt.mbuf_pool);
  rte_mbuf* dst = out_of_place ? rte_pktmbuf_alloc(rt.mbuf_pool) : nullptr;
  if (m == nullptr || (out_of_place && dst == nullptr)) {
    rte_pktmbuf_free(m);
    rte_pktmbuf_free(dst);
    rte_crypto_op_free(cop);
    return Stage::kNoRoom;
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
  return Stage::kStaged;
}

void release_locked(DpdkQueuePair& qp, rte_crypto_op* cop) {
  if (is_asym(cop)) {
    DpdkAsym::release(cop);
    --qp.held;
    return;
  }
  Job* job = job_of(cop);
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

// Copies the driver's output to the caller, as wolfCrypt would have
// written it; returns the operation's result.
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
  Job* job = job_of(cop);
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

}  // namespace

namespace {

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

bool DpdkDevice::drive(Op* op, int visit) {
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
    // A new poll (visit 1) or a single-event wait (visit 0) first sends
    // what the previous poll left staged.
    if (visit <= 1 && !qp.staged.empty()) flush();
    if (cop == nullptr) {
      if (qp.held >= rt.depth) {
        dpdk_counters_.full_waits.fetch_add(1, std::memory_order_relaxed);
      } else {
        switch (stage_locked(rt, qp, op, &cop)) {
          case Stage::kStaged:
            op->slot.state = cop;
            state_of(cop).staged_at = clock().now();
            if (qp.held > dpdk_counters_.max_in_flight.load(std::memory_order_relaxed)) {
              dpdk_counters_.max_in_flight.store(qp.held, std::memory_order_relaxed);
            }
            break;
          case Stage::kNoRoom:
            dpdk_counters_.full_waits.fetch_add(1, std::memory_order_relaxed);
            break;
          case Stage::kSoftware:
            software = true;
            break;
        }
      }
    }
    if (!software) {
      if (qp.staged.size() >= static_cast<std::size_t>(burst_) ||
          (visit == 0 && !qp.staged.empty())) {
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

Result<std::shared_ptr<Device>> create_dpdk_device(DeviceSpec spec) {
  RuntimeConfig cfg;
  const auto take_string = [&spec](const char* key) {
    std::string value;
    if (auto it = spec.options.find(key); it != spec.options.end()) {
      value = it->second;
      spec.options.erase(it);
    }
    return value;
  };
  cfg.vdev = take_string("vdev");
  cfg.dev = take_string("dev");
  cfg.eal = take_string("eal");
  if (cfg.vdev.find_first_of(" \t") != std::string::npos) {
    return Status(BAD_FUNC_ARG, "device option dpdk:vdev='" + cfg.vdev + "' has a space");
  }
  if (cfg.dev.empty()) cfg.dev = cfg.vdev;
  if (cfg.dev.empty()) {
    return Status(BAD_FUNC_ARG,
                  "device kind 'dpdk' needs vdev=NAME (a software PMD such as crypto_aesni_mb) "
                  "or dev=NAME (a cryptodev the EAL finds, such as a QAT function)");
  }
  // qps=0 (the default): up to 4, as many as the cryptodev has.
  auto qps = spec.take_int("qps", 0, 0, kMaxQps);
  if (!qps.is_ok()) return qps.status();
  auto depth = spec.take_int("depth", 256, 1, kMaxDepth);
  if (!depth.is_ok()) return depth.status();
  // copy=auto: zero copy on CPU drivers, copies for DMA drivers; always.
  cfg.copy = take_string("copy");
  if (cfg.copy.empty()) cfg.copy = "auto";
  if (cfg.copy != "auto" && cfg.copy != "always") {
    return Status(BAD_FUNC_ARG,
                  "device option dpdk:copy='" + cfg.copy + "' must be auto or always");
  }
  cfg.dh = take_string("dh");
  if (cfg.dh.empty()) cfg.dh = "auto";
  if (cfg.dh != "auto" && cfg.dh != "driver" && cfg.dh != "software") {
    return Status(BAD_FUNC_ARG,
                  "device option dpdk:dh='" + cfg.dh + "' must be auto, driver or software");
  }
  auto burst = spec.take_int("burst", 32, 1, kMaxBurst);
  if (!burst.is_ok()) return burst.status();
  // How long the driver may keep an op before it fails with WC_TIMEOUT_E.
  auto timeout_ms = spec.take_int("timeout_ms", 5000, 1, 3600L * 1000);
  if (!timeout_ms.is_ok()) return timeout_ms.status();
  if (Status s = spec.check_all_taken(); !s.is_ok()) return s;
  cfg.qps = static_cast<int>(qps.value());
  cfg.depth = static_cast<int>(depth.value());

  auto runtime = DpdkRuntime::acquire(cfg);
  if (!runtime.is_ok()) return runtime.status();
  std::shared_ptr<DpdkRuntime> rt = runtime.take();
  DpdkQueuePair* qp = rt->lease();
  return std::shared_ptr<Device>(
      std::make_shared<DpdkDevice>(std::move(rt), qp, static_cast<int>(burst.value()),
                                   std::chrono::milliseconds(timeout_ms.value())));
}

}  // namespace asynccrypt

#endif  // ASYNCCRYPT_HAVE_DPDK
