// Registers the dpdk device kind (a DPDK cryptodev) with the table of device kinds.
#include "backends/dpdk/dpdk_device.h"
#include "core/device_kinds.h"

namespace asynccrypt {

void register_dpdk_kind(DeviceKinds& kinds) { kinds.add("dpdk", &create_dpdk_device); }

}  // namespace asynccrypt
