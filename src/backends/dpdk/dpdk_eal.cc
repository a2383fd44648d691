// Starts DPDK's EAL once per process, and tells a forked child from the process that started it.
#include "backends/dpdk/dpdk_eal.h"

#ifdef ASYNCCRYPT_HAVE_DPDK

#include "core/wolfssl_api.h"

#include <getopt.h>
#include <pthread.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <sched.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "backends/dpdk/dpdk_runtime.h"

namespace asynccrypt {

std::mutex g_dpdk_mu;

namespace {

std::vector<std::string> split_spaces(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

// The first CPU this thread may run on, for the EAL's main lcore.
int first_allowed_cpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (pthread_getaffinity_np(pthread_self(), sizeof set, &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) return cpu;
    }
  }
  return 0;
}

// The EAL can be initialised once per process and never again, even after
// a failure or rte_eal_cleanup. Guarded by g_dpdk_mu.
enum class EalState { kNone, kUp, kFailed };
EalState g_eal_state = EalState::kNone;
std::string g_eal_args;   // what it was started with
std::string g_eal_error;  // why it failed

// Set by the pthread_atfork child handler (see in_forked_child()).
std::atomic<bool> g_forked_child{false};
void note_forked_child() { g_forked_child.store(true, std::memory_order_relaxed); }

}  // namespace

bool in_forked_child() { return g_forked_child.load(std::memory_order_relaxed); }

Status start_eal_locked(const DpdkRuntimeConfig& cfg) {
  static const int fork_handler = pthread_atfork(nullptr, nullptr, &note_forked_child);
  if (fork_handler != 0) {
    return Status(ASYNC_INIT_E, std::string("device kind 'dpdk': pthread_atfork: ") +
                                    std::strerror(fork_handler));
  }
  std::vector<std::string> args{"asynccrypt"};
  if (cfg.eal.empty()) {
    // Works without root and without hugepages: memory from the heap, no
    // PCI scan, no files in /var/run, one lcore (the caller's CPU), no
    // worker threads.
    for (const char* a : {"--no-huge", "--no-shconf", "--no-pci", "--no-telemetry", "-m", "256",
                          "--log-level=error"}) {
      args.emplace_back(a);
    }
    args.push_back("-l");
    args.push_back(std::to_string(first_allowed_cpu()));
  } else {
    for (auto& a : split_spaces(cfg.eal)) args.push_back(a);
  }
  if (!cfg.vdev.empty()) args.push_back("--vdev=" + cfg.vdev);
  std::string joined;
  for (std::size_t i = 1; i < args.size(); ++i) joined += (i > 1 ? " " : "") + args[i];

  if (g_eal_state == EalState::kUp) {
    if (joined == g_eal_args || g_eal_args == "(started by the application)") return Status::ok();
    return Status(BAD_FUNC_ARG, "device kind 'dpdk': the EAL of this process was started with '" +
                                    g_eal_args + "'; it cannot restart with '" + joined +
                                    "' (use the same vdev= and eal= in every dpdk spec)");
  }
  if (g_eal_state == EalState::kFailed) return Status(ASYNC_INIT_E, g_eal_error);

  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // rte_eal_init pins the calling thread to its main lcore and parses with
  // getopt: give the application back its affinity and getopt state.
  cpu_set_t affinity;
  const bool have_affinity =
      pthread_getaffinity_np(pthread_self(), sizeof affinity, &affinity) == 0;
  const int saved_optind = optind, saved_opterr = opterr, saved_optopt = optopt;
  char* const saved_optarg = optarg;
  const int ret = rte_eal_init(static_cast<int>(args.size()), argv.data());
  const int err = rte_errno;
  optind = saved_optind;
  opterr = saved_opterr;
  optopt = saved_optopt;
  optarg = saved_optarg;
  if (have_affinity) (void)pthread_setaffinity_np(pthread_self(), sizeof affinity, &affinity);
  if (ret < 0 && err == EALREADY) {
    // The application runs DPDK itself and started the EAL: use it as is.
    g_eal_state = EalState::kUp;
    g_eal_args = "(started by the application)";
    return Status::ok();
  }
  if (ret < 0) {
    g_eal_state = EalState::kFailed;
    g_eal_error = "device kind 'dpdk': rte_eal_init(" + joined + ") failed: " + rte_strerror(err) +
                  (err == EACCES ? " (no permission: hugepages or devices need root; try "
                                   "eal=--no-huge --no-shconf --no-pci)"
                                 : "") +
                  "; the EAL cannot be retried in this process";
    return Status(ASYNC_INIT_E, g_eal_error);
  }
  g_eal_state = EalState::kUp;
  g_eal_args = joined;
  return Status::ok();
}

}  // namespace asynccrypt

#endif  // ASYNCCRYPT_HAVE_DPDK
