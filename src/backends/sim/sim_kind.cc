// Registers the sim device kind (the simulator) with the table of device kinds.
#include "backends/sim/sim_device.h"
#include "core/device_kinds.h"

namespace asynccrypt {

void register_sim_kind(DeviceKinds& kinds) { kinds.add("sim", &SimDevice::create); }

}  // namespace asynccrypt
