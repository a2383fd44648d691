// The dpdk device: AES-CBC/GCM, RSA and DH agreement on a DPDK cryptodev, the rest in software.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/clock.h"
#include "core/device.h"
#include "core/device_spec.h"

namespace asynccrypt {

// Counters of a dpdk device beyond DeviceCounters; relaxed, for tests and
// statistics only.
struct DpdkCounters {
  std::atomic<std::uint64_t> offloaded{0};      // operations the cryptodev ran
  std::atomic<std::uint64_t> software{0};       // operations run in software (see below)
  std::atomic<std::uint64_t> full_waits{0};     // polls that found the queue pair full
  std::atomic<std::uint64_t> bursts{0};         // enqueue bursts handed to the driver
  std::atomic<std::uint64_t> driver_errors{0};  // ops the driver failed (not auth failures)
  std::atomic<std::int64_t> max_in_flight{0};   // most ops held by one queue pair at once
  std::atomic<std::uint64_t> timeouts{0};       // ops the driver kept past timeout_ms
};

// Creates a dpdk device from its spec (options in docs/hardware.md):
//   dpdk:vdev=crypto_aesni_mb,dev=NAME,qps=N,depth=D,burst=B,timeout_ms=T,eal=ARGS
// Fails with BAD_FUNC_ARG on a bad option and ASYNC_INIT_E when DPDK cannot
// start (no permission, no such driver or device), or when this build has no
// DPDK ("not built with DPDK"); the message is in asynccrypt_LastError().
Result<std::shared_ptr<Device>> create_dpdk_device(DeviceSpec spec);

// True when this build of asynccrypt includes the dpdk device.
bool dpdk_built();

#ifdef ASYNCCRYPT_HAVE_DPDK
class DpdkQueuePair;
class DpdkRuntime;

// DpdkDevice is a poll-driven device over one cryptodev queue pair. poll()
// runs on the thread that polls (the submitting thread, as every completion
// is harvested there): it stages the operation in a DPDK crypto op (data
// copied into an mbuf), enqueues staged ops in bursts, dequeues finished
// ones, and finishes its own operation once the driver has returned it.
// RSA and DH agreement go to the driver's asymmetric transforms when it
// advertises them (backends/dpdk/dpdk_asym.h). Operations the cryptodev
// cannot run (ECC, key generation, 3DES, sizes or parameters outside its
// limits) run through wolfCrypt in poll(), on the same thread. Every
// device of the process shares one EAL and one cryptodev; each device
// leases one of its queue pairs (several devices share one when there are
// more devices than pairs, under the pair's mutex). Thread-safe: a device
// shared by several threads serialises them on its queue pair.
class DpdkDevice final : public Device {
 public:
  DpdkDevice(std::shared_ptr<DpdkRuntime> runtime, DpdkQueuePair* qp, int burst,
             Clock::duration timeout = std::chrono::seconds(5));
  // Waits for the device's ops still in the driver (cancelled ones) and
  // gives its queue pair back; the last device stops the cryptodev.
  ~DpdkDevice() override;

  const char* kind() const override { return "dpdk"; }
  bool runs_on_poll() const override { return true; }
  Admission submit(Op* /*op*/, CompletionSink& /*sink*/) override { return Admission::kPolled; }
  bool poll(Op* op, const PollContext& context) override;
  // Forgets a not yet finished op: its DPDK resources are freed when the
  // driver returns it, and its result is dropped. Always returns true.
  bool cancel(Op* op) override;
  std::uint32_t capabilities() const override;
  // Declines the operation types the cryptodev does not take (see
  // capabilities()): wolfCrypt computes them at once on the caller's thread,
  // instead of pending to be computed in software at the next poll.
  bool declines(const WC_ASYNC_DEV* dev, int type) override;
  // An AES object being freed: the driver sessions made with its key, on
  // every queue pair, are freed (at once, or when their last operation
  // comes back) and their cache keys wiped.
  void forget(const WC_ASYNC_DEV* dev, word32 marker) override;

  DpdkCounters& dpdk_counters() { return dpdk_counters_; }
  int queue_pair_id() const;
  int depth() const;
  // For tests: whether any buffer of the device's mbuf pool (where data is
  // copied for the driver) holds `pattern`. Call with no operation in
  // flight: it reads every buffer without locks.
  bool pool_buffers_hold(const std::uint8_t* pattern, std::size_t len) const;
  // For tests: how many driver sessions the queue pairs cache.
  std::size_t cached_sessions() const;
  // For tests: while set, poll() dequeues nothing, as if the driver kept
  // every operation (a stuck device), so the timeout can be seen.
  void hold_returns_for_test(bool hold) { hold_returns_.store(hold, std::memory_order_relaxed); }

 private:
  std::shared_ptr<DpdkRuntime> runtime_;
  DpdkQueuePair* qp_;  // owned by runtime_
  int burst_;
  // How long an op may stay with the driver (staged or enqueued) before it
  // ends with WC_TIMEOUT_E. Copies only: see poll().
  Clock::duration timeout_;
  std::atomic<bool> hold_returns_{false};
  DpdkCounters dpdk_counters_;
};
#endif

}  // namespace asynccrypt
