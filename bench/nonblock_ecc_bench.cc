// Non-blocking ECC on the simulator: throughput and poll latency next to blocking wolfCrypt.
//
//   nonblock_ecc_bench [--spec=sim] [--seconds=1] [--inflight=1] [--curve=256|384]
//                      [--json] [--no-slices]
//
// Rows, for P-256 (or --curve) sign, verify, ECDH and key generation:
//  - "blocking": wolfCrypt on a key without a device; one poll of an event
//    loop would last the whole operation, so max/p99 "poll" are the
//    operation's duration;
//  - "nonblock": the same operation on a key with an ecc_nb_ctx_t, through a
//    device opened from --spec, `inflight` at a time on one event queue that
//    is polled with wolfAsync_EventQueuePoll; each poll is timed;
//  - "mixed": sign, verify and ECDH `inflight` each at once on one queue (the
//    latency target: the longest poll while all three are in flight).
// The workloads and both drivers are `asynccrypt bench`'s (tools/bench),
// whose ECC rows show the same figures next to the other devices.
// Unless --no-slices, it also prints the distribution of single slices
// (wolfCrypt's non-blocking steps, timed one call at a time without a device).
// --json prints one JSON object with a "rows" array instead of the table.
// Build needs a wolfSSL configured with --enable-ecc=nonblock
// --enable-sp=yes,nonblock; otherwise it says so and exits 0.
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/async.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/random.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "driver.h"
#include "workloads.h"

#if defined(WC_ECC_NONBLOCK) && defined(WOLFSSL_ASYNC_CRYPT_SW)

namespace {

using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

using asynccrypt::bench::EccOp;
using asynccrypt::bench::RunResult;

enum class Kind { kSign, kVerify, kEcdh };
const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kSign:
      return "sign";
    case Kind::kVerify:
      return "verify";
    case Kind::kEcdh:
      return "ecdh";
  }
  return "?";
}

struct Options {
  std::string spec = "sim";
  double seconds = 1.0;
  int inflight = 1;
  int curve_bytes = 32;
  bool json = false;
  bool slices = true;
};

struct Row {
  std::string name;  // "sign", "verify", "ecdh", "keygen", "mixed"
  std::string mode;  // "blocking", "nonblock", "slice"
  double ops_per_s = 0;
  double max_poll_us = 0;
  double p99_poll_us = 0;
  double p50_poll_us = 0;
  double polls_per_op = 0;
  double ratio = 0;            // nonblock ops/s over blocking ops/s
  double p99_poll_cpu_us = 0;  // mode "nonblock-cpu" only (see AsyncTarget)
  double max_poll_cpu_us = 0;
};

void die(const char* what, int ret) {
  std::fprintf(stderr, "nonblock_ecc_bench: %s failed: %d\n", what, ret);
  std::exit(1);
}

// A row from one run of the shared drivers; exits on a failed run.
Row row_of(const char* name, const char* mode, const RunResult& run) {
  if (!run.error.empty()) {
    std::fprintf(stderr, "nonblock_ecc_bench: %s %s: %s\n", name, mode, run.error.c_str());
    std::exit(1);
  }
  Row row{name, mode};
  row.ops_per_s = run.seconds > 0 ? static_cast<double>(run.ops) / run.seconds : 0;
  row.max_poll_us = run.max_poll_us;
  row.p99_poll_us = run.p99_poll_us;
  row.p99_poll_cpu_us = run.p99_poll_cpu_us;
  row.max_poll_cpu_us = run.max_poll_cpu_us;
  row.p50_poll_us = run.p50_poll_us;
  row.polls_per_op = run.polls > 0 && run.ops > 0
                         ? static_cast<double>(run.polls) / static_cast<double>(run.ops)
                         : 1;
  return row;
}

// Runs `op` for `seconds`: blocking (no device, one at a time) when
// target is null, else non-blocking with `inflight` objects on the device.
Row measure(EccOp op, const char* name, int bits, int inflight, double seconds, WC_RNG* rng,
            const asynccrypt::bench::AsyncTarget* target) {
  std::unique_ptr<asynccrypt::bench::Workload> workload =
      asynccrypt::bench::make_ecc_workload(op, bits);
  if (workload == nullptr) die("this curve in this build", BAD_FUNC_ARG);
  if (target == nullptr) {
    if (const int ret = workload->setup(1, INVALID_DEVID, rng); ret != 0) die("setup", ret);
    return row_of(name, "blocking", asynccrypt::bench::run_sync(*workload, seconds));
  }
  if (!workload->enable_nonblock()) die("enable_nonblock", BAD_FUNC_ARG);
  if (const int ret = workload->setup(inflight, target->dev_id, rng); ret != 0) die("setup", ret);
  return row_of(name, target->poll_cpu_time ? "nonblock-cpu" : "nonblock",
                asynccrypt::bench::run_async(*workload, inflight, seconds, *target));
}

// Shared inputs of the slice measurement: a signing key pair, a peer key for
// ECDH, a digest and a signature over it.
struct Fixture {
  WC_RNG rng;
  ecc_key priv;  // blocking, no device
  ecc_key peer;
  byte digest[32];
  byte sig[ECC_MAX_SIG_SIZE];
  word32 sig_sz = sizeof(sig);
  byte der[256];
  word32 der_sz = 0;

  explicit Fixture(int curve_bytes) {
    if (wc_InitRng(&rng) != 0) die("wc_InitRng", -1);
    wc_ecc_init_ex(&priv, nullptr, INVALID_DEVID);
    wc_ecc_init_ex(&peer, nullptr, INVALID_DEVID);
    int ret = wc_ecc_make_key(&rng, curve_bytes, &priv);
    if (ret == 0) ret = wc_ecc_make_key(&rng, curve_bytes, &peer);
    if (ret != 0) die("wc_ecc_make_key", ret);
    std::memset(digest, 0x5a, sizeof digest);
    ret = wc_ecc_sign_hash(digest, sizeof digest, sig, &sig_sz, &rng, &priv);
    if (ret != 0) die("wc_ecc_sign_hash", ret);
    der_sz = sizeof der;
    ret = wc_EccKeyToDer(&priv, der, der_sz);
    if (ret < 0) die("wc_EccKeyToDer", ret);
    der_sz = static_cast<word32>(ret);
  }
  ~Fixture() {
    wc_ecc_free(&priv);
    wc_ecc_free(&peer);
    wc_FreeRng(&rng);
  }
};

// Times single non-blocking steps without a device.
Row slice_row(Kind kind, Fixture& f, int ops) {
  ecc_key key;
  ecc_nb_ctx_t nb;
  wc_ecc_init_ex(&key, nullptr, INVALID_DEVID);
  word32 idx = 0;
  if (wc_EccPrivateKeyDecode(f.der, &idx, &key, f.der_sz) != 0) die("decode", -1);
  mp_int r;
  mp_int s;
  mp_int vr;
  mp_int vs;
  if (mp_init_multi(&r, &s, &vr, &vs, nullptr, nullptr) != 0) die("mp_init", -1);
  {
    byte rb[MAX_ECC_BYTES];
    byte sb[MAX_ECC_BYTES];
    word32 rl = sizeof rb;
    word32 sl = sizeof sb;
    int ret = wc_ecc_sig_to_rs(f.sig, f.sig_sz, rb, &rl, sb, &sl);
    if (ret == 0) ret = mp_read_unsigned_bin(&vr, rb, rl);
    if (ret == 0) ret = mp_read_unsigned_bin(&vs, sb, sl);
    if (ret != 0) die("wc_ecc_sig_to_rs", ret);
  }
  asynccrypt::bench::Latencies t;
  t.reserve(static_cast<std::size_t>(ops) * 20000);
  for (int i = 0; i < ops; ++i) {
    // wolfSSL 5.5.4 leaves the sign/verify step counter at "done": reset it.
    wc_ecc_set_nonblock(&key, &nb);
    int ret;
    do {
      byte out[80];
      word32 out_sz = sizeof out;
      int stat = 0;
      const auto t_start = Clock::now();
      switch (kind) {
        case Kind::kSign:
          ret = wc_ecc_sign_hash_ex(f.digest, sizeof f.digest, &f.rng, &key, &r, &s);
          break;
        case Kind::kVerify:
          ret = wc_ecc_verify_hash_ex(&vr, &vs, f.digest, sizeof f.digest, &stat, &key);
          break;
        default:
          ret = wc_ecc_shared_secret_ex(&key, &f.peer.pubkey, out, &out_sz);
          break;
      }
      t.add(us_since(t_start));
    } while (ret == FP_WOULDBLOCK);
  }
  mp_clear(&r);
  mp_clear(&s);
  mp_clear(&vr);
  mp_clear(&vs);
  wc_ecc_free(&key);
  Row row{kind_name(kind), "slice"};
  row.polls_per_op = static_cast<double>(t.size()) / ops;
  row.max_poll_us = t.max();
  row.p99_poll_us = t.percentile(99);
  row.p50_poll_us = t.percentile(50);
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&](const char* name) -> const char* {
      const std::string p = std::string(name) + "=";
      return a.rfind(p, 0) == 0 ? argv[i] + p.size() : nullptr;
    };
    if (const char* v = val("--spec"))
      o.spec = v;
    else if (const char* v2 = val("--seconds"))
      o.seconds = std::atof(v2);
    else if (const char* v3 = val("--inflight"))
      o.inflight = std::max(1, std::atoi(v3));
    else if (const char* v4 = val("--curve"))
      o.curve_bytes = std::atoi(v4) / 8;
    else if (a == "--json")
      o.json = true;
    else if (a == "--no-slices")
      o.slices = false;
    else {
      std::fprintf(stderr,
                   "usage: %s [--spec=SPEC] [--seconds=S] [--inflight=N] [--curve=256|384] "
                   "[--json] [--no-slices]\n",
                   argv[0]);
      return 2;
    }
  }
  if (o.curve_bytes != 32 && o.curve_bytes != 48) {
    std::fprintf(stderr, "--curve must be 256 or 384\n");
    return 2;
  }
  wolfCrypt_Init();
  int dev_id = INVALID_DEVID;
  if (asynccrypt_DevOpenSpec(&dev_id, o.spec.c_str(), nullptr) != 0) {
    std::fprintf(stderr, "cannot open '%s': %s\n", o.spec.c_str(), asynccrypt_LastError());
    return 1;
  }
  int slices = 0;
  int budget_us = 0;
  (void)asynccrypt_DevGetSliceBudget(dev_id, &slices, &budget_us);
  Fixture f(o.curve_bytes);
  const int bits = o.curve_bytes * 8;
  WOLF_EVENT_QUEUE queue;
  if (const int ret = wolfEventQueue_Init(&queue); ret != 0) die("wolfEventQueue_Init", ret);
  asynccrypt::bench::AsyncTarget target;
  target.dev_id = dev_id;
  target.queue = &queue;
  target.queue_fd = asynccrypt_QueueFd(&queue);
  if (target.queue_fd < 0) die("asynccrypt_QueueFd", target.queue_fd);
  std::vector<Row> rows;
  const struct {
    EccOp op;
    const char* name;
  } ops[] = {{EccOp::kSign, "sign"},
             {EccOp::kVerify, "verify"},
             {EccOp::kAgree, "ecdh"},
             {EccOp::kKeygen, "keygen"}};
  for (const auto& op : ops) {
    const Row b = measure(op.op, op.name, bits, 1, o.seconds, &f.rng, nullptr);
    rows.push_back(b);
    Row n = measure(op.op, op.name, bits, o.inflight, o.seconds, &f.rng, &target);
    n.ratio = b.ops_per_s > 0 ? n.ops_per_s / b.ops_per_s : 0;
    rows.push_back(n);
  }
  // Object i of the mixed workload signs, verifies or agrees by i % 3.
  rows.push_back(measure(EccOp::kMixed, "mixed", bits, 3 * o.inflight, o.seconds, &f.rng, &target));
  // The same again, each poll also timed on the thread's CPU clock: the
  // work one poll did, without the preemption a shared machine adds.
  target.poll_cpu_time = true;
  rows.push_back(measure(EccOp::kMixed, "mixed", bits, 3 * o.inflight, o.seconds, &f.rng, &target));
  target.poll_cpu_time = false;
  asynccrypt_QueueRelease(&queue);
  wolfEventQueue_Free(&queue);
  const Kind kinds[] = {Kind::kSign, Kind::kVerify, Kind::kEcdh};
  if (o.slices) {
    for (Kind k : kinds) rows.push_back(slice_row(k, f, 20));
  }
  wolfAsync_DevClose(&dev_id);

  if (o.json) {
    namespace json = asynccrypt::json;
    json::Json out;
    out["curve"] = "P-" + std::to_string(bits);
    out["spec"] = o.spec;
    out["slices"] = slices;
    out["budget_us"] = budget_us;
    out["inflight"] = o.inflight;
    out["seconds"] = json::fixed(o.seconds, 3);
    json::Json& out_rows = out["rows"] = json::Json::array();
    for (const Row& r : rows) {
      json::Json row;
      row["op"] = r.name;
      row["mode"] = r.mode;
      row["ops_per_s"] = json::fixed(r.ops_per_s, 1);
      row["max_poll_us"] = json::fixed(r.max_poll_us, 3);
      row["p99_poll_us"] = json::fixed(r.p99_poll_us, 3);
      row["p50_poll_us"] = json::fixed(r.p50_poll_us, 3);
      row["polls_per_op"] = json::fixed(r.polls_per_op, 1);
      if (r.ratio > 0) row["ratio_to_blocking"] = json::fixed(r.ratio, 3);
      if (r.mode == "nonblock-cpu") {
        row["p99_poll_cpu_us"] = json::fixed(r.p99_poll_cpu_us, 3);
        row["max_poll_cpu_us"] = json::fixed(r.max_poll_cpu_us, 3);
      }
      out_rows.push_back(std::move(row));
    }
    std::printf("%s\n", json::to_text(out).c_str());
    return 0;
  }
  std::printf("P-%d, device '%s' (slices=%d, budget_us=%d), %d in flight per op\n", bits,
              o.spec.c_str(), slices, budget_us, o.inflight);
  std::printf("%-8s %-9s %12s %12s %12s %12s %10s %8s\n", "op", "mode", "ops/s", "max poll us",
              "p99 poll us", "p50 poll us", "polls/op", "ratio");
  for (const Row& r : rows) {
    if (r.mode == "slice" || r.mode == "nonblock-cpu") continue;
    std::printf("%-8s %-9s %12.1f %12.2f %12.2f %12.2f %10.1f", r.name.c_str(), r.mode.c_str(),
                r.ops_per_s, r.max_poll_us, r.p99_poll_us, r.p50_poll_us, r.polls_per_op);
    if (r.ratio > 0) std::printf(" %8.2f", r.ratio);
    std::printf("\n");
  }
  for (const Row& r : rows) {
    if (r.mode != "nonblock-cpu") continue;
    std::printf(
        "\nmixed, polls also on the thread's CPU clock (preemption left out): "
        "p99 %.2f us, max %.2f us (wall: p99 %.2f us, max %.2f us)\n",
        r.p99_poll_cpu_us, r.max_poll_cpu_us, r.p99_poll_us, r.max_poll_us);
  }
  if (o.slices) {
    std::printf("\nsingle slices (no device; one wolfCrypt call each):\n");
    std::printf("%-8s %12s %12s %12s %12s\n", "op", "slices/op", "p50 us", "p99 us", "max us");
    for (const Row& r : rows) {
      if (r.mode != "slice") continue;
      std::printf("%-8s %12.0f %12.3f %12.3f %12.2f\n", r.name.c_str(), r.polls_per_op,
                  r.p50_poll_us, r.p99_poll_us, r.max_poll_us);
    }
  }
  return 0;
}

#else  // !(WC_ECC_NONBLOCK && WOLFSSL_ASYNC_CRYPT_SW)

int main() {
  std::printf(
      "nonblock_ecc_bench: this wolfSSL has no WC_ECC_NONBLOCK "
      "(configure --enable-ecc=nonblock --enable-sp=yes,nonblock)\n");
  return 0;
}

#endif
