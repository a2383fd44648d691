// AES-GCM throughput on a DPDK cryptodev: a minimal enqueue/dequeue loop versus the dpdk device.
//
//   dpdk_baseline raw    [size] [seconds]   plain DPDK: preallocated ops and mbufs, burst 32
//   dpdk_baseline device [size] [seconds]   wolfCrypt wc_AesGcmEncrypt on the dpdk device,
//                                           32 operations in flight, harvested by queue polls
//
// Both use crypto_aesni_mb with one queue pair on this thread, AES-128-GCM,
// a 13-byte AAD and a 16-byte tag; run each mode in its own process (the EAL
// starts once per process). Prints MB/s (10^6 bytes) and operations/s.
#include <rte_cryptodev.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>

namespace {

constexpr int kBurst = 32;
constexpr int kInFlight = 32;
constexpr std::uint16_t kIvOffset = sizeof(rte_crypto_op) + sizeof(rte_crypto_sym_op);

using Clock = std::chrono::steady_clock;

void report(const char* mode, std::size_t size, std::uint64_t ops, double seconds) {
  std::printf("%s: AES-128-GCM %zu B: %.0f MB/s, %.0f ops/s (%llu ops in %.2f s)\n", mode, size,
              static_cast<double>(ops) * static_cast<double>(size) / seconds / 1e6,
              static_cast<double>(ops) / seconds, static_cast<unsigned long long>(ops), seconds);
}

int run_raw(std::size_t size, double seconds) {
  const char* args[] = {"dpdk_baseline",
                        "--no-huge",
                        "--no-shconf",
                        "--no-pci",
                        "--no-telemetry",
                        "-m",
                        "256",
                        "--log-level=error",
                        "-l",
                        "0",
                        "--vdev=crypto_aesni_mb"};
  std::vector<char*> argv;
  for (const char* a : args) argv.push_back(const_cast<char*>(a));
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed\n");
    return 1;
  }
  const int dev = rte_cryptodev_get_dev_id("crypto_aesni_mb");
  if (dev < 0) return 1;
  const auto dev_id = static_cast<std::uint8_t>(dev);
  rte_mempool* sessions = rte_cryptodev_sym_session_pool_create(
      "bench_sess", 16, rte_cryptodev_sym_get_private_session_size(dev_id), 0, 0, SOCKET_ID_ANY);
  rte_mempool* ops = rte_crypto_op_pool_create("bench_ops", RTE_CRYPTO_OP_TYPE_SYMMETRIC, 256, 0,
                                               16, SOCKET_ID_ANY);
  rte_mempool* mbufs = rte_pktmbuf_pool_create(
      "bench_mbuf", 256, 0, 0, static_cast<std::uint16_t>(RTE_PKTMBUF_HEADROOM + size + 1024),
      SOCKET_ID_ANY);
  if (sessions == nullptr || ops == nullptr || mbufs == nullptr) return 1;
  rte_cryptodev_config config{};
  config.socket_id = SOCKET_ID_ANY;
  config.nb_queue_pairs = 1;
  rte_cryptodev_qp_conf qp_conf{};
  qp_conf.nb_descriptors = 256;
  qp_conf.mp_session = sessions;
  if (rte_cryptodev_configure(dev_id, &config) < 0 ||
      rte_cryptodev_queue_pair_setup(dev_id, 0, &qp_conf, SOCKET_ID_ANY) < 0 ||
      rte_cryptodev_start(dev_id) < 0) {
    return 1;
  }
  std::uint8_t key[16] = {1, 2, 3};
  rte_crypto_sym_xform xform{};
  xform.type = RTE_CRYPTO_SYM_XFORM_AEAD;
  xform.aead.op = RTE_CRYPTO_AEAD_OP_ENCRYPT;
  xform.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
  xform.aead.key.data = key;
  xform.aead.key.length = 16;
  xform.aead.iv.offset = kIvOffset;
  xform.aead.iv.length = 12;
  xform.aead.digest_length = 16;
  xform.aead.aad_length = 13;
  void* session = rte_cryptodev_sym_session_create(dev_id, &xform, sessions);
  if (session == nullptr) return 1;

  // kInFlight ops, each with its own mbuf, reused for the whole run.
  std::vector<rte_crypto_op*> all(kInFlight);
  for (auto& cop : all) {
    cop = rte_crypto_op_alloc(ops, RTE_CRYPTO_OP_TYPE_SYMMETRIC);
    rte_mbuf* m = rte_pktmbuf_alloc(mbufs);
    auto* data =
        reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, static_cast<std::uint16_t>(size)));
    std::memset(data, 0x5a, size);
    cop->sym->m_src = m;
    rte_crypto_op_attach_sym_session(cop, session);
    std::memset(rte_crypto_op_ctod_offset(cop, std::uint8_t*, kIvOffset), 7, 12);
    cop->sym->aead.data.offset = 0;
    cop->sym->aead.data.length = static_cast<std::uint32_t>(size);
    cop->sym->aead.digest.data = data + size;
    cop->sym->aead.digest.phys_addr = rte_pktmbuf_iova_offset(m, size);
    cop->sym->aead.aad.data = data + size + 64;
    cop->sym->aead.aad.phys_addr = rte_pktmbuf_iova_offset(m, size + 64);
  }
  std::vector<rte_crypto_op*> ready = all;  // not in the driver
  std::uint64_t done = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  rte_crypto_op* out[kBurst];
  while (Clock::now() < end) {
    for (int r = 0; r < 64; ++r) {
      if (!ready.empty()) {
        const std::uint16_t n = rte_cryptodev_enqueue_burst(
            dev_id, 0, ready.data(),
            static_cast<std::uint16_t>(std::min<std::size_t>(ready.size(), kBurst)));
        ready.erase(ready.begin(), ready.begin() + n);
      }
      const std::uint16_t n = rte_cryptodev_dequeue_burst(dev_id, 0, out, kBurst);
      for (std::uint16_t i = 0; i < n; ++i) {
        if (out[i]->status != RTE_CRYPTO_OP_STATUS_SUCCESS) return 1;
        ready.push_back(out[i]);
      }
      done += n;
    }
  }
  report("raw DPDK loop", size, done, std::chrono::duration<double>(Clock::now() - start).count());
  return 0;
}

int run_device(std::size_t size, double seconds) {
  int dev_id = INVALID_DEVID;
  const std::string spec = "dpdk:vdev=crypto_aesni_mb,qps=1,burst=32,depth=256";
  if (asynccrypt_DevOpenSpec(&dev_id, spec.c_str(), nullptr) != 0) {
    std::fprintf(stderr, "cannot open %s: %s\n", spec.c_str(), asynccrypt_LastError());
    return 1;
  }
  std::vector<Aes> aes(kInFlight);
  std::vector<std::vector<byte>> in(kInFlight, std::vector<byte>(size, 0x5a)),
      out(kInFlight, std::vector<byte>(size)), tag(kInFlight, std::vector<byte>(16));
  byte key[16] = {1, 2, 3}, iv[12] = {7}, aad[13] = {9};
  WOLF_EVENT_QUEUE queue;
  wolfEventQueue_Init(&queue);
  const auto submit = [&](int i) {
    int ret = wc_AesGcmEncrypt(&aes[i], out[i].data(), in[i].data(), static_cast<word32>(size), iv,
                               12, tag[i].data(), 16, aad, 13);
    if (ret != WC_PENDING_E) return false;
    return wc_AsyncHandle(&aes[i].asyncDev, &queue, WC_ASYNC_FLAG_NONE) == 0;
  };
  for (int i = 0; i < kInFlight; ++i) {
    if (wc_AesInit(&aes[i], nullptr, dev_id) != 0 || wc_AesGcmSetKey(&aes[i], key, 16) != 0) {
      return 1;
    }
  }
  std::uint64_t done = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  for (int i = 0; i < kInFlight; ++i) {
    if (!submit(i)) return 1;
  }
  while (Clock::now() < end) {
    for (int r = 0; r < 64; ++r) {
      WOLF_EVENT* events[kInFlight];
      int count = 0;
      wolfAsync_EventQueuePoll(&queue, nullptr, events, kInFlight, WOLF_POLL_FLAG_CHECK_HW, &count);
      for (int k = 0; k < count; ++k) {
        if (wolfAsync_EventPop(events[k], WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT) != 0) return 1;
        const auto i =
            static_cast<int>(reinterpret_cast<Aes*>(reinterpret_cast<byte*>(events[k]->context) -
                                                    offsetof(Aes, asyncDev)) -
                             aes.data());
        ++done;
        if (!submit(i)) return 1;
      }
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  report("dpdk device (wolfCrypt)", size, done, elapsed);
  for (auto& a : aes) wc_AesFree(&a);
  wolfEventQueue_Free(&queue);
  wolfAsync_DevClose(&dev_id);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  const std::size_t size = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 16384;
  const double seconds = argc > 3 ? std::strtod(argv[3], nullptr) : 3.0;
  if (size == 0 || size > 16384 + 2048) {
    std::fprintf(stderr, "size must be 1..18432\n");
    return 2;
  }
  if (mode == "raw") return run_raw(size, seconds);
  if (mode == "device") return run_device(size, seconds);
  std::fprintf(stderr, "usage: %s raw|device [size] [seconds]\n", argv[0]);
  return 2;
}
