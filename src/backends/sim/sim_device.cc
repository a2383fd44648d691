// The software simulator device.
#include "backends/sim/sim_device.h"

#include "wolfcrypt/execute.h"

namespace asynccrypt {

int SimDevice::default_skip() {
#ifdef WOLF_ASYNC_SW_SKIP_MOD
  return WOLF_ASYNC_SW_SKIP_MOD;
#else
  return 0;
#endif
}

Result<std::shared_ptr<Device>> SimDevice::create(DeviceSpec spec) {
  auto skip = spec.take_int("skip", default_skip(), 0, 1 << 20);
  if (!skip.is_ok()) return skip.status();
  // skip=1 would leave every operation pending on every poll: a hang.
  if (skip.value() == 1) {
    return Status(BAD_FUNC_ARG,
                  "device option sim:skip=1 would delay every operation forever; "
                  "use 0 (no delay) or a value of 2 or more");
  }
  if (Status s = spec.check_all_taken(); !s.is_ok()) return s;
  return std::shared_ptr<Device>(std::make_shared<SimDevice>(static_cast<int>(skip.value())));
}

bool SimDevice::drive(Op* op, int visit) {
  if (skip_ > 0) {
    const unsigned n = visit > 0 ? static_cast<unsigned>(visit)
                                 : single_polls_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n % static_cast<unsigned>(skip_) == 0) return false;
  }
  const int ret = wolfcrypt::execute(op->dev);
  if (ret == WC_PENDING_E) return false;
  op->result = ret;
  return true;
}

}  // namespace asynccrypt
