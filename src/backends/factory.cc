// Creates devices by kind name: the one place that knows every backend.
#include <pthread.h>
#include <sched.h>

#include <cstring>

#include "backends/chaos/chaos_device.h"
#include "backends/dpdk/dpdk_device.h"
#include "backends/sim/sim_device.h"
#include "backends/threads/threads_device.h"
#include "core/device_spec.h"
#include "core/registry.h"
#include "core/wolfssl_api.h"

namespace asynccrypt {
namespace {

// Binds the opening thread (*thread_id, or the caller) to one CPU, as the
// original's per-thread open did for its polling thread.
Status pin_thread(const OpenRequest& request, long cpu) {
  const pthread_t thread = request.thread_id != nullptr
                               ? *static_cast<const pthread_t*>(request.thread_id)
                               : pthread_self();
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<int>(cpu), &set);
  if (int err = pthread_setaffinity_np(thread, sizeof set, &set); err != 0) {
    return Status(BAD_FUNC_ARG,
                  "cannot pin thread to CPU " + std::to_string(cpu) + ": " + std::strerror(err));
  }
  return Status::ok();
}

}  // namespace

Result<std::shared_ptr<Device>> create_device(const OpenRequest& request) {
  auto spec = parse_device_spec(request.spec);
  if (!spec.is_ok()) return spec.status();
  const std::string kind = spec.value().kind;
  // cpu=N applies to every kind: it pins the thread of a per-thread open.
  auto cpu = spec.value().take_int("cpu", -1, 0, CPU_SETSIZE - 1);
  if (!cpu.is_ok()) return cpu.status();
  if (cpu.value() >= 0 && !request.per_thread) {
    return Status(BAD_FUNC_ARG, "device option " + kind + ":cpu= needs a per-thread open");
  }

  Result<std::shared_ptr<Device>> device =
      Status(BAD_FUNC_ARG, "unknown device kind '" + kind + "' (known: sim, threads, chaos, dpdk)");
  if (kind == "sim") device = SimDevice::create(spec.take());
  if (kind == "threads") device = ThreadsDevice::create(spec.take());
  if (kind == "chaos") device = ChaosDevice::create(spec.take());
  if (kind == "dpdk") device = create_dpdk_device(spec.take());
  if (device.is_ok() && cpu.value() >= 0) {
    if (Status s = pin_thread(request, cpu.value()); !s.is_ok()) return s;
  }
  return device;
}

}  // namespace asynccrypt
