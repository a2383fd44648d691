// The table of device kinds: each backend folder registers its kind's name and factory here.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/device.h"
#include "core/device_spec.h"
#include "core/status.h"

namespace asynccrypt {

// DeviceFactory makes a device of one kind from its spec, whose options it
// reads with DeviceSpec's helpers (take_int, check_all_taken). Fails with
// BAD_FUNC_ARG and a message on a bad or unknown option, ASYNC_INIT_E when
// the device cannot start.
using DeviceFactory = Result<std::shared_ptr<Device>> (*)(DeviceSpec spec);

// DeviceKinds maps a kind name ("sim", "threads") to its factory. The core
// names no kind: the build lists the kinds (one add_subdirectory line each in
// src/backends/CMakeLists.txt), each folder defines
// register_<kind>_kind(DeviceKinds&), and the table calls them all once, in
// that order, when it is first used. Read-only afterwards, so thread-safe.
class DeviceKinds {
 public:
  static const DeviceKinds& instance();

  // Registers `name`. Only for register_<kind>_kind, during construction.
  void add(const char* name, DeviceFactory create);

  // Creates a device of spec.kind. Fails with BAD_FUNC_ARG naming the known
  // kinds when spec.kind is not one of them, else as the kind's factory.
  Result<std::shared_ptr<Device>> create(DeviceSpec spec) const;

  // The registered names in registration order: "sim, threads, ...".
  std::string names() const;

 private:
  DeviceKinds();

  std::vector<std::pair<std::string, DeviceFactory>> kinds_;  // written only by the constructor
};

}  // namespace asynccrypt
