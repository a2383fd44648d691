// Non-blocking ECC on the simulator: throughput and poll latency next to blocking wolfCrypt.
//
//   nonblock_ecc_bench [--spec=sim] [--seconds=1] [--inflight=1] [--curve=256|384]
//                      [--json] [--no-slices]
//
// Rows, for P-256 (or --curve) sign, verify and ECDH:
//  - "blocking": wolfCrypt on a key without a device; one poll of an event
//    loop would last the whole operation, so max/p99 "poll" are the
//    operation's duration;
//  - "nonblock": the same operation on a key with an ecc_nb_ctx_t, through a
//    device opened from --spec, `inflight` at a time on one event queue that
//    is polled with wolfAsync_EventQueuePoll; each poll is timed;
//  - "mixed": sign, verify and ECDH `inflight` each at once on one queue (the
//    latency target: the longest poll while all three are in flight).
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
#include <vector>

#if defined(WC_ECC_NONBLOCK) && defined(WOLFSSL_ASYNC_CRYPT_SW)

namespace {

using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

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
  std::string name;  // "sign", "verify", "ecdh", "mixed"
  std::string mode;  // "blocking", "nonblock", "slice"
  double ops_per_s = 0;
  double max_poll_us = 0;
  double p99_poll_us = 0;
  double p50_poll_us = 0;
  double polls_per_op = 0;
  double ratio = 0;  // nonblock ops/s over blocking ops/s
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

void fill_latency(Row& row, std::vector<double>& polls) {
  if (polls.empty()) return;
  row.max_poll_us = *std::max_element(polls.begin(), polls.end());
  row.p99_poll_us = percentile(polls, 0.99);
  row.p50_poll_us = percentile(polls, 0.50);
}

void die(const char* what, int ret) {
  std::fprintf(stderr, "nonblock_ecc_bench: %s failed: %d\n", what, ret);
  std::exit(1);
}

// Shared inputs: a signing key pair, a peer key for ECDH, a digest and a
// signature over it.
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

// One operation, started and finished again and again.
struct Slot {
  Kind kind;
  ecc_key key;
  ecc_nb_ctx_t nb;
  byte sig[ECC_MAX_SIG_SIZE];
  word32 sig_sz = 0;
  int stat = 0;
  byte out[80];
  word32 out_sz = 0;

  Slot(Kind k, Fixture& f, int dev_id) : kind(k) {
    int ret = wc_ecc_init_ex(&key, nullptr, dev_id);
    word32 idx = 0;
    if (ret == 0) ret = wc_EccPrivateKeyDecode(f.der, &idx, &key, f.der_sz);
    if (ret != 0) die("key decode", ret);
    wc_ecc_set_nonblock(&key, &nb);
  }
  ~Slot() { wc_ecc_free(&key); }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

  // The first call records the operation (WC_PENDING_E); the call after its
  // completion collects the result (wolfCrypt's call-again convention).
  int call(Fixture& f) {
    switch (kind) {
      case Kind::kSign:
        sig_sz = sizeof sig;
        return wc_ecc_sign_hash(f.digest, sizeof f.digest, sig, &sig_sz, &f.rng, &key);
      case Kind::kVerify:
        return wc_ecc_verify_hash(f.sig, f.sig_sz, f.digest, sizeof f.digest, &stat, &key);
      case Kind::kEcdh:
        out_sz = sizeof out;
        return wc_ecc_shared_secret(&key, &f.peer, out, &out_sz);
    }
    return BAD_FUNC_ARG;
  }
};

double blocking_run(Kind kind, Fixture& f, double seconds, std::vector<double>& lat) {
  int stat = 0;
  byte sig[ECC_MAX_SIG_SIZE];
  byte out[80];
  long ops = 0;
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const auto s = Clock::now();
    int ret = 0;
    word32 sz = sizeof sig;
    word32 out_sz = sizeof out;
    switch (kind) {
      case Kind::kSign:
        ret = wc_ecc_sign_hash(f.digest, sizeof f.digest, sig, &sz, &f.rng, &f.priv);
        break;
      case Kind::kVerify:
        ret = wc_ecc_verify_hash(f.sig, f.sig_sz, f.digest, sizeof f.digest, &stat, &f.priv);
        if (ret == 0 && stat != 1) ret = SIG_VERIFY_E;
        break;
      case Kind::kEcdh:
        ret = wc_ecc_shared_secret(&f.priv, &f.peer, out, &out_sz);
        break;
    }
    if (ret != 0) die("blocking op", ret);
    lat.push_back(us_since(s));
    ++ops;
  }
  return static_cast<double>(ops) / (us_since(t0) / 1e6);
}

// Runs the slots through the device until `seconds` passed; returns
// completed operations per second and fills the poll durations.
double nonblock_run(std::vector<std::unique_ptr<Slot>>& slots, Fixture& f, double seconds,
                    std::vector<double>& polls, long* total_polls) {
  WOLF_EVENT_QUEUE queue;
  if (wolfEventQueue_Init(&queue) != 0) die("wolfEventQueue_Init", -1);
  auto start = [&](Slot& s) {
    const int ret = s.call(f);
    if (ret != WC_PENDING_E) die("start (expected WC_PENDING_E)", ret);
    const int h = wc_AsyncHandle(&s.key.asyncDev, &queue, WC_ASYNC_FLAG_CALL_AGAIN);
    if (h != 0) die("wc_AsyncHandle", h);
  };
  for (auto& s : slots) start(*s);
  long ops = 0;
  long n_polls = 0;
  std::vector<WOLF_EVENT*> events(slots.size());
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration<double>(seconds);
  bool stopping = false;
  long outstanding = static_cast<long>(slots.size());
  while (outstanding > 0) {
    int count = 0;
    const auto s = Clock::now();
    const int ret =
        wolfAsync_EventQueuePoll(&queue, nullptr, events.data(), static_cast<int>(events.size()),
                                 WOLF_POLL_FLAG_CHECK_HW, &count);
    polls.push_back(us_since(s));
    ++n_polls;
    if (ret != 0) die("wolfAsync_EventQueuePoll", ret);
    if (!stopping && Clock::now() >= end) stopping = true;
    for (int i = 0; i < count; ++i) {
      WC_ASYNC_DEV* dev = static_cast<WC_ASYNC_DEV*>(events[i]->context);
      Slot* slot = nullptr;
      for (auto& c : slots) {
        if (&c->key.asyncDev == dev) slot = c.get();
      }
      if (slot == nullptr) die("unknown event", -1);
      if (events[i]->ret != 0) die("operation", events[i]->ret);
      const int r = slot->call(f);  // collects the result
      if (r != 0) {
        std::fprintf(stderr, "%s: state %d ev state %d\n", kind_name(slot->kind), slot->key.state,
                     events[i]->state);
        die("collect", r);
      }
      if (slot->kind == Kind::kVerify && slot->stat != 1) die("verify result", slot->stat);
      ++ops;
      if (stopping) {
        --outstanding;
      } else {
        start(*slot);
      }
    }
  }
  const double elapsed = us_since(t0) / 1e6;
  wolfEventQueue_Free(&queue);
  *total_polls = n_polls;
  return static_cast<double>(ops) / elapsed;
}

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
  std::vector<double> t;
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
      t.push_back(us_since(t_start));
    } while (ret == FP_WOULDBLOCK);
  }
  mp_clear(&r);
  mp_clear(&s);
  mp_clear(&vr);
  mp_clear(&vs);
  wc_ecc_free(&key);
  Row row{kind_name(kind), "slice"};
  row.polls_per_op = static_cast<double>(t.size()) / ops;
  fill_latency(row, t);
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
  std::vector<Row> rows;
  const Kind kinds[] = {Kind::kSign, Kind::kVerify, Kind::kEcdh};
  for (Kind k : kinds) {
    std::vector<double> lat;
    Row b{kind_name(k), "blocking"};
    b.ops_per_s = blocking_run(k, f, o.seconds, lat);
    b.polls_per_op = 1;
    fill_latency(b, lat);
    rows.push_back(b);

    std::vector<std::unique_ptr<Slot>> slots;
    for (int i = 0; i < o.inflight; ++i) slots.push_back(std::make_unique<Slot>(k, f, dev_id));
    std::vector<double> polls;
    long n_polls = 0;
    Row n{kind_name(k), "nonblock"};
    n.ops_per_s = nonblock_run(slots, f, o.seconds, polls, &n_polls);
    n.polls_per_op = static_cast<double>(n_polls) / (n.ops_per_s * o.seconds);
    n.ratio = n.ops_per_s / b.ops_per_s;
    fill_latency(n, polls);
    rows.push_back(n);
  }
  {
    std::vector<std::unique_ptr<Slot>> slots;
    for (int i = 0; i < o.inflight; ++i) {
      for (Kind k : kinds) slots.push_back(std::make_unique<Slot>(k, f, dev_id));
    }
    std::vector<double> polls;
    long n_polls = 0;
    Row m{"mixed", "nonblock"};
    m.ops_per_s = nonblock_run(slots, f, o.seconds, polls, &n_polls);
    m.polls_per_op = static_cast<double>(n_polls) / (m.ops_per_s * o.seconds);
    fill_latency(m, polls);
    rows.push_back(m);
  }
  if (o.slices) {
    for (Kind k : kinds) rows.push_back(slice_row(k, f, 20));
  }
  wolfAsync_DevClose(&dev_id);

  const int bits = o.curve_bytes * 8;
  if (o.json) {
    std::printf(
        "{\"curve\":\"P-%d\",\"spec\":\"%s\",\"slices\":%d,\"budget_us\":%d,"
        "\"inflight\":%d,\"seconds\":%.3f,\"rows\":[",
        bits, o.spec.c_str(), slices, budget_us, o.inflight, o.seconds);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      std::printf(
          "%s{\"op\":\"%s\",\"mode\":\"%s\",\"ops_per_s\":%.1f,\"max_poll_us\":%.3f,"
          "\"p99_poll_us\":%.3f,\"p50_poll_us\":%.3f,\"polls_per_op\":%.1f",
          i ? "," : "", r.name.c_str(), r.mode.c_str(), r.ops_per_s, r.max_poll_us, r.p99_poll_us,
          r.p50_poll_us, r.polls_per_op);
      if (r.ratio > 0) std::printf(",\"ratio_to_blocking\":%.3f", r.ratio);
      std::printf("}");
    }
    std::printf("]}\n");
    return 0;
  }
  std::printf("P-%d, device '%s' (slices=%d, budget_us=%d), %d in flight per op\n", bits,
              o.spec.c_str(), slices, budget_us, o.inflight);
  std::printf("%-8s %-9s %12s %12s %12s %12s %10s %8s\n", "op", "mode", "ops/s", "max poll us",
              "p99 poll us", "p50 poll us", "polls/op", "ratio");
  for (const Row& r : rows) {
    if (r.mode == "slice") continue;
    std::printf("%-8s %-9s %12.1f %12.2f %12.2f %12.2f %10.1f", r.name.c_str(), r.mode.c_str(),
                r.ops_per_s, r.max_poll_us, r.p99_poll_us, r.p50_poll_us, r.polls_per_op);
    if (r.ratio > 0) std::printf(" %8.2f", r.ratio);
    std::printf("\n");
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
