// The software simulator device: operations run on the polling thread, as in the original.
#pragma once

#include <atomic>
#include <memory>

#include "core/device.h"
#include "core/device_spec.h"

namespace asynccrypt {

// SimDevice runs each recorded operation through wolfCrypt when a poll with
// WOLF_POLL_FLAG_CHECK_HW visits it. With skip = N > 0 it simulates
// hardware latency: the Nth, 2Nth, ... event a queue poll visits stays
// pending for that round, and so does every Nth single-event poll (the
// original never delayed single-event waits). Non-blocking math yields
// WC_PENDING_E and continues on the next poll.
class SimDevice final : public Device {
 public:
  // The skip used when the spec gives none: WOLF_ASYNC_SW_SKIP_MOD when the
  // build defines it (debug builds), otherwise 0.
  static int default_skip();

  // Options: skip=N (0 = never delay).
  static Result<std::shared_ptr<Device>> create(DeviceSpec spec);

  explicit SimDevice(int skip) : skip_(skip) {}

  const char* kind() const override { return "sim"; }
  bool runs_on_poll() const override { return true; }
  bool drive(Op* op, int visit) override;

  int skip() const { return skip_; }

 private:
  const int skip_;
  // Counts single-event polls, for the delay of single-event waits.
  std::atomic<unsigned> single_polls_{0};
};

}  // namespace asynccrypt
