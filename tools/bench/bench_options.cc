// Parsing of `asynccrypt bench`'s command line (see bench_options.h).
#include "bench_options.h"

#include <getopt.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/numbers.h"
#include "workloads.h"

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

}  // namespace

const char* usage() { return kUsage; }

std::string parse_options(int argc, char** argv, Options* o, bool* help) {
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

}  // namespace asynccrypt::bench
