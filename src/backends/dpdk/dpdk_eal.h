// Starts DPDK's EAL once per process, and tells a forked child from the process that started it.
#pragma once

#ifdef ASYNCCRYPT_HAVE_DPDK

#include <mutex>

#include "core/status.h"

namespace asynccrypt {

struct DpdkRuntimeConfig;

// Guards the EAL's state (dpdk_eal.cc) and the process's running
// DpdkRuntime (dpdk_runtime.cc): a runtime is started, EAL first, under it.
extern std::mutex g_dpdk_mu;

// Starts the EAL with cfg's vdev= and eal= arguments (or, when eal= is
// empty, ones that need neither root nor hugepages), or checks that the
// running EAL was started with the same arguments or by the application.
// Fails with BAD_FUNC_ARG for other arguments, and with ASYNC_INIT_E when
// rte_eal_init fails, then and on every later call: the EAL cannot be
// retried in a process. Call with g_dpdk_mu held.
Status start_eal_locked(const DpdkRuntimeConfig& cfg);

// True in a process forked after the EAL started. DPDK does not survive
// fork(): the child shares the parent's driver state and pool memory
// without its threads, and the EAL cannot start twice in a process. So in
// a child the device touches nothing of DPDK: operations fail with WC_HW_E,
// cancellation and teardown leave the driver alone, and opening fails.
bool in_forked_child();

}  // namespace asynccrypt

#endif  // ASYNCCRYPT_HAVE_DPDK
