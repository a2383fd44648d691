// Registers the chaos device kind (the seeded test device) with the table of device kinds.
#include "backends/chaos/chaos_device.h"
#include "core/device_kinds.h"

namespace asynccrypt {

void register_chaos_kind(DeviceKinds& kinds) { kinds.add("chaos", &ChaosDevice::create); }

}  // namespace asynccrypt
