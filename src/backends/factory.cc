// Creates devices by kind name: the one place that knows every backend.
#include "backends/sim/sim_device.h"
#include "core/device_spec.h"
#include "core/registry.h"
#include "core/wolfssl_api.h"

namespace asynccrypt {

Result<std::shared_ptr<Device>> create_device(const OpenRequest& request) {
  auto spec = parse_device_spec(request.spec);
  if (!spec.is_ok()) return spec.status();
  const std::string kind = spec.value().kind;
  if (kind == "sim") return SimDevice::create(spec.take());
  return Status(BAD_FUNC_ARG, "unknown device kind '" + kind + "' (known: sim)");
}

}  // namespace asynccrypt
