// `asynccrypt bench`: options, devices, the order of runs, and the output.
#include "bench_main.h"

#include <getopt.h>
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
#include "common/measure.h"
#include "common/numbers.h"
#include "driver.h"
#include "report.h"
#include "workloads.h"

#include <wolfssl/version.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/wc_port.h>

namespace asynccrypt::bench {
namespace {

constexpr const char* kUsage =
    "usage: asynccrypt bench [options]\n"
    "\n"
    "Measures wolfCrypt operations: ops/s and p50/p99 latency (submission to result),\n"
    "as plain synchronous wolfCrypt on one thread (SW) and on asynccrypt devices (HW),\n"
    "each device driven by ONE thread that keeps N operations in flight (N objects,\n"
    "one event queue, wolfAsync_EventQueuePoll, sleeping on asynccrypt_QueueFd).\n"
    "\n"
    "  --algs LIST       families to run (default: all the build supports):\n"
    "                    rsa2048, rsa3072, ecdsa-p256, ecdh-p256, ecdsa-p384,\n"
    "                    ecdh-p384, ecc-keygen (P-256 and P-384), dh2048,\n"
    "                    aes-gcm, aes-cbc, 3des (1 KiB and 16 KiB, enc and dec)\n"
    "  --devices LIST    devices for HW rows, kinds or specs (default: sim,threads,dpdk);\n"
    "                    'dpdk' is dpdk:vdev=crypto_aesni_mb; a spec's own options\n"
    "                    follow it: sim,dpdk:vdev=crypto_openssl,burst=8. A device\n"
    "                    that cannot start here (ASYNC_INIT_E: no DPDK, no driver)\n"
    "                    is skipped with its reason\n"
    "  --threads N       worker threads of the threads device (default: online CPUs)\n"
    "  --depth LIST      operations in flight for HW rows (default: 1,64)\n"
    "  --sizes LIST      buffer bytes of the symmetric rows, multiples of 16\n"
    "                    (default: 1024,16384)\n"
    "  --duration S      seconds per run (default: 1.0)\n"
    "  --repeat R        runs per row, interleaved; medians are reported (default: 1)\n"
    "  --json            print a JSON array (one object per row) instead of tables\n"
    "  --no-sw           skip the synchronous rows (the original's NO_SW_BENCH)\n"
    "  --no-hw           skip the device rows (the original's NO_HW_BENCH)\n"
    "  --help            this text\n"
    "\n"
    "Non-blocking: with a wolfSSL built --enable-ecc=nonblock --enable-sp=yes,nonblock\n"
    "(and on 5.9 --enable-dh=nonblock, --enable-rsa=nonblock), each ECC (DH, RSA)\n"
    "row also runs on every sim device with keys\n"
    "that compute in slices (device column 'sim/nb'): each poll runs a bounded\n"
    "amount (the device's slice budget: sim:budget_us=T or sim:slices=N).\n"
    "'poll p99'/'poll max' (JSON p99_poll_us, max_poll_us): how long one\n"
    "wolfAsync_EventQueuePoll call held the thread; on SW rows, one operation.\n"
    "'cpu us/op' (cpu_us_per_op): CPU time of the whole process per operation;\n"
    "'loop us' (loop_cpu_us_per_op): of that, the submitting thread's. 'layer us'\n"
    "(layer_us_per_offload): what the layer costs per operation handed to the\n"
    "device, on all threads, beyond the operation itself: the row's cpu us/op less\n"
    "the sync row's, over the offloaded share (needs the sync row in the run and\n"
    "a tenth offloaded).\n"
    "\n"
    "RSA uses wolfSSL's fixed test keys (certs_test.h), so no key generation is\n"
    "needed. Rows the wolfSSL build cannot run (e.g. 3DES with NO_DES3) are skipped\n"
    "with a note. Symmetric sizes below the build's thresholds (WC_ASYNC_THRESH_*)\n"
    "run synchronously even on a device; the offload column shows how many went.\n";

struct Options {
  std::vector<std::string> families;
  std::vector<std::string> devices{"sim", "threads", "dpdk"};
  int workers = 0;
  std::vector<int> depths{1, 64};
  std::vector<int> sizes;  // symmetric rows' buffer sizes; empty: the default
  double duration = 1.0;
  int repeat = 1;
  bool json = false;
  bool sw = true;
  bool hw = true;
};

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    const std::size_t comma = std::min(list.find(',', pos), list.size());
    if (comma > pos) out.push_back(list.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

// Splits a --devices list into specs: an item with '=' and no ':' is an
// option of the spec before it ("dpdk:vdev=x,burst=8" is one spec).
std::vector<std::string> split_specs(const std::string& list) {
  std::vector<std::string> out;
  for (const std::string& item : split(list)) {
    const bool option = item.find('=') != std::string::npos && item.find(':') == std::string::npos;
    if (option && !out.empty()) {
      out.back() += "," + item;
    } else {
      out.push_back(item);
    }
  }
  return out;
}

// Options' values for getopt_long beyond the short -h and -?.
enum LongOption {
  kAlgs = 1000,
  kDevices,
  kThreads,
  kDepth,
  kSizes,
  kDuration,
  kRepeat,
  kJson,
  kNoSw,
  kNoHw,
};

// What a usage error says when an option that takes a value has none.
std::string missing_value(int option) {
  switch (option) {
    case kAlgs:
      return "--algs needs a list";
    case kDevices:
      return "--devices needs a list";
    case kThreads:
      return "--threads needs 1..1024";
    case kDepth:
      return "--depth needs a list";
    case kSizes:
      return "--sizes needs a list";
    case kDuration:
      return "--duration needs seconds";
    case kRepeat:
      return "--repeat needs 1..100";
    default:
      return "an option needs a value";
  }
}

// with_reason appends a number parser's reason to a usage error.
std::string with_reason(const std::string& error, const std::string& reason) {
  return reason.empty() ? error : error + ": " + reason;
}

// Applies one option and its value (or nullptr); returns "" or a usage error.
std::string apply(int option, const char* value, Options* o) {
  const std::string v = value != nullptr ? value : "";
  switch (option) {
    case kJson:
      o->json = true;
      return "";
    case kNoSw:
      o->sw = false;
      return "";
    case kNoHw:
      o->hw = false;
      return "";
    case kAlgs: {
      o->families = split(v);
      const std::vector<std::string> known = all_families();
      for (const std::string& f : o->families) {
        if (std::find(known.begin(), known.end(), f) == known.end()) {
          return "unknown algorithm family '" + f + "'";
        }
      }
      return "";
    }
    case kDevices:
      o->devices = split_specs(v);
      return "";
    case kThreads: {
      const cli::Parsed<int> n = cli::parse_int(v, 1, 1024);
      if (!n) return with_reason("--threads needs 1..1024", n.error);
      o->workers = n.value;
      return "";
    }
    case kDepth:
      o->depths.clear();
      for (const std::string& d : split(v)) {
        const cli::Parsed<int> n = cli::parse_int(d, 1, 1 << 16);
        if (!n) return with_reason("--depth values must be 1..65536", n.error);
        o->depths.push_back(n.value);
      }
      if (o->depths.empty()) return "--depth needs at least one value";
      return "";
    case kSizes:
      o->sizes.clear();
      for (const std::string& item : split(v)) {
        const cli::Parsed<int> n = cli::parse_int(item, 16, 1 << 20);
        if (!n || n.value % 16 != 0) {
          return with_reason("--sizes values must be multiples of 16 in 16..1048576", n.error);
        }
        o->sizes.push_back(n.value);
      }
      if (o->sizes.empty()) return "--sizes needs at least one value";
      return "";
    case kDuration: {
      const cli::Parsed<double> s = cli::parse_double(v, 0, 3600, cli::LowerBound::kExclusive);
      if (!s) return with_reason("--duration needs seconds in (0, 3600]", s.error);
      o->duration = s.value;
      return "";
    }
    case kRepeat: {
      const cli::Parsed<int> n = cli::parse_int(v, 1, 100);
      if (!n) return with_reason("--repeat needs 1..100", n.error);
      o->repeat = n.value;
      return "";
    }
    default:
      return "unknown option";
  }
}

// Parses argv[1..] (getopt_long, as the perf tools do: "--opt value" and
// "--opt=value", unambiguous prefixes); returns "" or a usage error. Sets
// *help for --help, -h or -?, and stops there.
std::string parse(int argc, char** argv, Options* o, bool* help) {
  static const option kLong[] = {
      {"algs", required_argument, nullptr, kAlgs},
      {"devices", required_argument, nullptr, kDevices},
      {"threads", required_argument, nullptr, kThreads},
      {"depth", required_argument, nullptr, kDepth},
      {"sizes", required_argument, nullptr, kSizes},
      {"duration", required_argument, nullptr, kDuration},
      {"repeat", required_argument, nullptr, kRepeat},
      {"json", no_argument, nullptr, kJson},
      {"no-sw", no_argument, nullptr, kNoSw},
      {"no-hw", no_argument, nullptr, kNoHw},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  // "+": stop at the first word that is not an option (an error, below);
  // ":": a missing value is reported as ':', not '?'. -? is not among the
  // short options, so getopt reports it as unknown with optopt '?' (an
  // unknown long option has optopt 0). optind 0 restarts getopt's scan, so
  // that a second parse in one process starts clean.
  optind = 0;
  opterr = 0;
  for (;;) {
    const int at = optind == 0 ? 1 : optind;  // the word being read, for messages
    const int c = getopt_long(argc, argv, "+:h", kLong, nullptr);
    if (c == -1) break;
    if (c == 'h' || (c == '?' && optopt == '?')) {
      *help = true;
      return "";
    }
    if (c == ':') return missing_value(optopt);
    if (c == '?') return "unknown option '" + std::string(argv[at]) + "'";
    const std::string error = apply(c, optarg, o);
    if (!error.empty()) return error;
  }
  if (optind < argc) return "unknown option '" + std::string(argv[optind]) + "'";
  return "";
}

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
  const std::string error = parse(argc, argv, &options, &help);
  if (help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!error.empty()) {
    std::fprintf(stderr, "asynccrypt bench: %s\n\n%s", error.c_str(), kUsage);
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
