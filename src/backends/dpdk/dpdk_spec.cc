// Creates a dpdk device from its spec (dpdk:vdev=...,depth=...), or says this build has no DPDK.
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

#include <chrono>
#include <string>
#include <utility>

#include "backends/dpdk/dpdk_runtime.h"

namespace asynccrypt {
namespace {

constexpr int kMaxQps = 64;
constexpr int kMaxDepth = 4096;

}  // namespace

bool dpdk_built() { return true; }

Result<std::shared_ptr<Device>> create_dpdk_device(DeviceSpec spec) {
  DpdkRuntimeConfig cfg;
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
