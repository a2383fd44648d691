// `asynccrypt bench`: options, devices, the order of runs, and the output.
#include "bench_main.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "asynccrypt/queue.h"
#include "bench_options.h"
#include "common/measure.h"
#include "driver.h"
#include "report.h"
#include "workloads.h"

#include <wolfssl/version.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/wc_port.h>

namespace asynccrypt::bench {
namespace {

// One way of running a row: synchronously, or on a device at a depth.
struct Mode {
  std::string device;  // "sync" or a device kind
  int dev_id = INVALID_DEVID;
  int depth = 1;
  bool nonblock = false;  // in slices (Workload::enable_nonblock), sim devices
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// Sets up a fresh workload for the mode, warms it up, and runs it once.
RunResult run_once(const RowSpec& spec, const Mode& mode, double seconds, WC_RNG* rng,
                   const AsyncTarget& target) {
  std::unique_ptr<Workload> workload = spec.make();
  if (mode.nonblock) workload->enable_nonblock();
  const bool sync = mode.device == "sync";
  const int ret = workload->setup(sync ? 1 : mode.depth, mode.dev_id, rng);
  if (ret != 0) {
    RunResult failed;
    failed.error =
        std::string("setup failed: ") + wc_GetErrorString(ret) + " (" + std::to_string(ret) + ")";
    return failed;
  }
  // A short warm-up: caches, the workers' first wake-ups, lazy tables.
  const double warmup = std::min(0.1, seconds / 4);
  AsyncTarget on_device = target;
  on_device.dev_id = mode.dev_id;
  RunResult warm =
      sync ? run_sync(*workload, warmup) : run_async(*workload, mode.depth, warmup, on_device);
  if (!warm.error.empty()) return warm;
  return sync ? run_sync(*workload, seconds) : run_async(*workload, mode.depth, seconds, on_device);
}

RowResult summarize(const RowSpec& spec, const Mode& mode, int workers,
                    std::vector<RunResult>& runs) {
  RowResult row;
  row.spec = &spec;
  row.device = mode.device;
  row.nonblock = mode.nonblock;
  if (mode.nonblock) (void)asynccrypt_DevGetSliceBudget(mode.dev_id, &row.slices, &row.budget_us);
  row.depth = mode.depth;
  row.workers = workers;
  row.repeats = static_cast<int>(runs.size());
  std::vector<double> rates, p50s, p99s, cpus, loop_cpus, poll_p99s;
  for (const RunResult& r : runs) {
    if (!r.error.empty()) {
      row.run = r;  // report the first failure
      return row;
    }
    rates.push_back(r.seconds > 0 ? static_cast<double>(r.ops) / r.seconds : 0);
    p50s.push_back(r.p50_us);
    p99s.push_back(r.p99_us);
    cpus.push_back(r.ops > 0 ? r.cpu_seconds * 1e6 / static_cast<double>(r.ops) : 0);
    loop_cpus.push_back(r.ops > 0 ? r.loop_cpu_seconds * 1e6 / static_cast<double>(r.ops) : 0);
    poll_p99s.push_back(r.p99_poll_us);
    row.max_poll_us = std::max(row.max_poll_us, r.max_poll_us);
  }
  row.p99_poll_us = median(poll_p99s);
  row.ops_per_sec = median(rates);
  row.p50_us = median(p50s);
  row.p99_us = median(p99s);
  row.cpu_us_per_op = median(cpus);
  row.loop_us_per_op = median(loop_cpus);
  // The run whose rate is nearest the median supplies counts and time.
  std::size_t best = 0;
  for (std::size_t i = 1; i < runs.size(); ++i) {
    if (std::abs(rates[i] - row.ops_per_sec) < std::abs(rates[best] - row.ops_per_sec)) best = i;
  }
  row.run = runs[best];
  if (row.run.ops > 0) {
    row.polls_per_op = static_cast<double>(row.run.polls) / static_cast<double>(row.run.ops);
  }
  if (spec.symmetric) row.mb_per_sec = row.ops_per_sec * spec.bits_or_bytes / (1024.0 * 1024.0);
  row.offloaded =
      row.run.ops > 0 ? static_cast<double>(row.run.pended) / static_cast<double>(row.run.ops) : 0;
  return row;
}

// Owners of the process-wide resources a run needs.
class Rng {
 public:
  Rng() : ret_(wc_InitRng(&rng_)) {}
  ~Rng() {
    if (ret_ == 0) wc_FreeRng(&rng_);
  }
  Rng(const Rng&) = delete;
  Rng& operator=(const Rng&) = delete;
  int ret() const { return ret_; }
  WC_RNG* get() { return &rng_; }

 private:
  WC_RNG rng_;
  int ret_;
};

class Devices {
 public:
  Devices() = default;
  ~Devices() {
    for (int& id : ids_) wolfAsync_DevClose(&id);
  }
  Devices(const Devices&) = delete;
  Devices& operator=(const Devices&) = delete;
  // Opens spec; returns the id or INVALID_DEVID (with *error and *code set).
  int open(const std::string& spec, std::string* error, int* code) {
    int id = INVALID_DEVID;
    const int ret = asynccrypt_DevOpenSpec(&id, spec.c_str(), nullptr);
    *code = ret;
    if (ret != 0) {
      *error = "cannot open device '" + spec + "': " + asynccrypt_LastError();
      return INVALID_DEVID;
    }
    ids_.push_back(id);
    return id;
  }

 private:
  std::vector<int> ids_;
};

int run(const Options& options) {
  std::vector<std::string> skipped;
  const std::vector<RowSpec> rows = all_rows(&skipped, options.sizes);
  std::vector<const RowSpec*> selected;
  for (const RowSpec& spec : rows) {
    if (options.families.empty() || std::find(options.families.begin(), options.families.end(),
                                              spec.family) != options.families.end()) {
      selected.push_back(&spec);
    }
  }
  std::FILE* info = options.json ? stderr : stdout;
  for (const std::string& note : skipped) {
    const std::string family = note.substr(0, note.find(':'));
    bool wanted = options.families.empty();
    for (const std::string& f : options.families)
      wanted = wanted || family.find(f) != std::string::npos;
    if (wanted) std::fprintf(info, "skipped: %s\n", note.c_str());
  }

  const int cpus = measure::cpu_count();
  const int workers = options.workers > 0 ? options.workers : cpus;
  const int max_depth = *std::max_element(options.depths.begin(), options.depths.end());

  Rng rng;
  if (rng.ret() != 0) {
    std::fprintf(stderr, "asynccrypt bench: wc_InitRng failed: %d\n", rng.ret());
    return 1;
  }
  Devices devices;
  auto queue = EventQueue::create();  // with its fd (queue_fd) for the device modes
  if (!queue) {
    std::fprintf(stderr, "asynccrypt bench: %s\n", queue.error().describe().c_str());
    return 1;
  }
  int queue_fd = -1;
  std::vector<Mode> modes;
  if (options.sw) modes.push_back(Mode{"sync", INVALID_DEVID, 1});
  if (options.hw) {
    const auto fd = queue->fd();
    if (!fd) {
      std::fprintf(stderr, "asynccrypt bench: asynccrypt_QueueFd failed: %d\n", fd.error().code());
      return 1;
    }
    queue_fd = *fd;
    for (const std::string& kind : options.devices) {
      std::string spec = kind;
      if (kind == "threads" || kind.rfind("threads:", 0) == 0) {
        // The device's own limit stays above the deepest run, so rows
        // measure the workers rather than inline runs (which are counted).
        // Options the spec gives itself (threads:lone=offload) stay.
        spec += kind == "threads" ? ":" : ",";
        spec += "workers=" + std::to_string(workers) +
                ",depth=" + std::to_string(std::max(256, max_depth));
      }
      if (kind == "dpdk") {
        // DPDK's software AES driver; its queue pair holds the deepest run.
        spec += ":vdev=crypto_aesni_mb,depth=" + std::to_string(std::clamp(max_depth, 256, 4096));
      }
      std::string error;
      int code = 0;
      const int id = devices.open(spec, &error, &code);
      if (id == INVALID_DEVID && code == ASYNC_INIT_E) {
        // Cannot start on this machine (no DPDK, no driver, no permission):
        // its rows are left out, saying so.
        std::fprintf(info, "skipped: %s\n", error.c_str());
        continue;
      }
      if (id == INVALID_DEVID) {
        std::fprintf(stderr, "asynccrypt bench: %s\n", error.c_str());
        return 2;
      }
      for (int depth : options.depths) modes.push_back(Mode{kind, id, depth});
    }
  }
  // Non-blocking ECC, RSA, DH: each sim device's modes again, right after them, for
  // the rows that have that mode.
  if (kNonblockAny) {
    auto is_sim = [](int dev_id) {
      char kind[32] = "";
      return asynccrypt_DevKind(dev_id, kind, sizeof kind) == 0 && std::strcmp(kind, "sim") == 0;
    };
    std::vector<Mode> with_nonblock;
    std::size_t group = 0;  // first mode of the current device
    for (std::size_t m = 0; m < modes.size(); ++m) {
      with_nonblock.push_back(modes[m]);
      if (m + 1 < modes.size() && modes[m + 1].dev_id == modes[m].dev_id) continue;
      if (modes[m].device != "sync" && is_sim(modes[m].dev_id)) {
        for (std::size_t k = group; k <= m; ++k) {
          with_nonblock.push_back(modes[k]);
          with_nonblock.back().nonblock = true;
        }
      }
      group = m + 1;
    }
    modes = std::move(with_nonblock);
  }
  if (modes.empty()) {
    std::fprintf(stderr, "asynccrypt bench: --no-sw and --no-hw leave nothing to run\n");
    return 2;
  }

  if (!options.json) {
    std::printf(
        "asynccrypt bench: wolfSSL %s, %d CPUs online, threads device: %d workers; "
        "%.2f s per run, %d run(s) per row (medians)\n",
        LIBWOLFSSL_VERSION_STRING, cpus, workers, options.duration, options.repeat);
    print_table_header(stdout);
    std::fflush(stdout);
  }

  AsyncTarget target;
  target.queue = queue->get();
  target.queue_fd = queue_fd;
  std::vector<RowResult> results;
  bool all_ok = true;
  for (const RowSpec* spec : selected) {
    // Repeats are interleaved across modes, so slow drifts of a shared
    // machine hit every mode alike.
    std::vector<std::vector<RunResult>> runs(modes.size());
    for (int r = 0; r < options.repeat; ++r) {
      for (std::size_t m = 0; m < modes.size(); ++m) {
        if (modes[m].nonblock && !spec->nonblock) continue;
        runs[m].push_back(run_once(*spec, modes[m], options.duration, rng.get(), target));
      }
    }
    double sync_rate = 0;
    double sync_cpu_us = 0;
    for (std::size_t m = 0; m < modes.size(); ++m) {
      if (runs[m].empty()) continue;  // a mode this row does not have
      const bool threads = modes[m].device.rfind("threads", 0) == 0;
      RowResult row = summarize(*spec, modes[m], threads ? workers : 0, runs[m]);
      if (modes[m].device == "sync") {
        sync_rate = row.ops_per_sec;
        sync_cpu_us = row.cpu_us_per_op;
      }
      if (sync_rate > 0 && row.run.error.empty()) row.vs_sync = row.ops_per_sec / sync_rate;
      // Below a tenth offloaded, the difference of two noisy CPU figures
      // divided by a small share says nothing.
      if (modes[m].device != "sync" && sync_rate > 0 && row.offloaded >= 0.1 &&
          row.run.error.empty()) {
        row.layer_us_per_offload = (row.cpu_us_per_op - sync_cpu_us) / row.offloaded;
        row.has_layer_cost = true;
      }
      all_ok = all_ok && row.run.error.empty();
      if (!options.json) {
        print_table_row(stdout, row);
        std::fflush(stdout);
      }
      results.push_back(std::move(row));
    }
  }

  if (options.json) {
    print_json(stdout, results);
  } else {
    std::printf("\n");
    print_original_lines(stdout, results);
  }
  return all_ok ? 0 : 1;
}

}  // namespace
}  // namespace asynccrypt::bench

int bench_main(int argc, char** argv) {
  using namespace asynccrypt::bench;
  Options options;
  bool help = false;
  const std::string error = parse_options(argc, argv, &options, &help);
  if (help) {
    std::fputs(usage(), stdout);
    return 0;
  }
  if (!error.empty()) {
    std::fprintf(stderr, "asynccrypt bench: %s\n\n%s", error.c_str(), usage());
    return 2;
  }
  if (wolfCrypt_Init() != 0) {
    std::fprintf(stderr, "asynccrypt bench: wolfCrypt_Init failed\n");
    return 1;
  }
  wolfAsync_HardwareStart();
  const int ret = run(options);
  wolfAsync_HardwareStop();
  wolfCrypt_Cleanup();
  return ret;
}
