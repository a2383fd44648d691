// The pkcs11 device kind where it was not built: opening it says why.
#include <memory>

#include "core/device_kinds.h"
#include "core/wolfssl_api.h"

namespace asynccrypt {
namespace {

// NOLINTNEXTLINE(performance-unnecessary-value-param): DeviceFactory's signature
Result<std::shared_ptr<Device>> create_unavailable(DeviceSpec) {
  return Status(
      BAD_FUNC_ARG,
      "pkcs11: this asynccrypt was built without the pkcs11 device (p11-kit's "
      "pkcs11.h was not found: install libp11-kit-dev, or ASYNCCRYPT_WITH_PKCS11 was OFF)");
}

}  // namespace

// The kind stays in the list, so that a spec naming it fails with the reason
// rather than as an unknown kind.
void register_pkcs11_kind(DeviceKinds& kinds) { kinds.add("pkcs11", &create_unavailable); }

}  // namespace asynccrypt
