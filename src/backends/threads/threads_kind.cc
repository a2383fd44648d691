// Registers the threads device kind (the worker pool) with the table of device kinds.
#include "backends/threads/threads_device.h"
#include "core/device_kinds.h"

namespace asynccrypt {

void register_threads_kind(DeviceKinds& kinds) { kinds.add("threads", &ThreadsDevice::create); }

}  // namespace asynccrypt
