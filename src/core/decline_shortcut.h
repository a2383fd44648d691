// A device's standing answer for the operations it declines most, kept per thread by the core.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "core/wolfssl_api.h"

namespace asynccrypt {

// DeclineShortcut answers "this operation runs in the caller" for the
// operations a device declines most (threads: kinds cheaper than a
// hand-off) without the device being found first. wc_AsyncSwInit asks on
// every operation, and finding the device (a shared_ptr taken and given
// back) and counting the decline in the device's counter cost three locked
// instructions, a tenth of an AES-GCM record of 1 KiB; engine::declines
// keeps each thread's last shortcut and tally instead. A shortcut holds no
// threads, handles or secrets, so a cache that keeps one after its device
// is closed costs only its memory. Thread-safe.
class DeclineShortcut {
 public:
  // One thread's count of operations declined through the shortcut. Only
  // that thread adds, so adding is a load and a store, not a locked
  // instruction; any thread may read it.
  class Tally {
   public:
    void add_one() { n_.store(n_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
    std::uint64_t value() const { return n_.load(std::memory_order_relaxed); }

   private:
    std::atomic<std::uint64_t> n_{0};
  };

  virtual ~DeclineShortcut() = default;

  // True only when Device::declines would surely say true for this
  // operation now (it need not be asked; count it in the calling thread's
  // tally); false means "ask the device". Must be cheap: a few loads.
  virtual bool surely_declines(const WC_ASYNC_DEV* dev, int type) const = 0;

  // The calling thread's tally, made on its first call (a thread that ends
  // leaves its count behind, and a later thread with the same id goes on
  // with it); nullptr when out of memory. Takes a mutex: call it when a
  // cache is filled, not per operation.
  std::shared_ptr<Tally> tally_for_this_thread();

  // Everything declined through the shortcut, by every thread (a thread's
  // own adds are all in; another's as far as this thread has seen them).
  // DevStats.declined is this plus DeviceCounters::declined.
  std::uint64_t declined() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::thread::id, std::shared_ptr<Tally>>> tallies_;  // guarded by mu_
};

}  // namespace asynccrypt
