// Unit tests of src/backends/chaos/chaos_device.cc: the seeded chaos device.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backends/chaos/chaos_device.h"
#include "backends/dpdk/dpdk_device.h"
#include "core/device_spec.h"
#include "core/registry.h"
#include "support/deadline.h"
#include "support/dpdk_handle.h"
#include "support/gcm_op.h"

namespace {

using asynccrypt::ChaosDevice;

using testing_support::GcmOp;
using testing_support::kGcmSz;
using testing_support::kIvSz;
using testing_support::kTagSz;

// An open device and a queue, released at scope exit.
class Bench {
 public:
  explicit Bench(const char* spec) {
    open_ret_ = asynccrypt_DevOpenSpec(&dev_id_, spec, nullptr);
    EXPECT_EQ(open_ret_, 0) << spec << ": " << asynccrypt_LastError();
    EXPECT_EQ(wolfEventQueue_Init(&queue_), 0);
  }
  ~Bench() {
    ops.clear();  // cancels whatever is still in flight
    EXPECT_EQ(queue_.count, 0);
    EXPECT_EQ(asynccrypt_QueueRelease(&queue_), 0);
    wolfEventQueue_Free(&queue_);
    wolfAsync_DevClose(&dev_id_);
  }
  Bench(const Bench&) = delete;
  Bench& operator=(const Bench&) = delete;

  GcmOp& submit() {
    ops.push_back(std::make_unique<GcmOp>(dev_id_, static_cast<byte>(ops.size() + 1)));
    GcmOp& op = *ops.back();
    EXPECT_EQ(op.init_ret, 0);
    EXPECT_EQ(op.start(), WC_PENDING_E);
    EXPECT_EQ(wc_AsyncHandle(op.dev(), &queue_, WC_ASYNC_FLAG_NONE), 0);
    return op;
  }
  // Polls once; returns the indexes (into ops) of the harvested events.
  std::vector<int> poll(WOLF_EVENT_FLAG flags = WOLF_POLL_FLAG_CHECK_HW) {
    std::vector<WOLF_EVENT*> events(ops.size() + 1);
    int count = -1;
    EXPECT_EQ(wolfAsync_EventQueuePoll(&queue_, nullptr, events.data(),
                                       static_cast<int>(events.size()), flags, &count),
              0);
    std::vector<int> out;
    for (int i = 0; i < count; ++i) {
      for (std::size_t k = 0; k < ops.size(); ++k) {
        if (ops[k]->event() == events[static_cast<std::size_t>(i)]) {
          out.push_back(static_cast<int>(k));
        }
      }
    }
    return out;
  }
  int dev_id() const { return dev_id_; }
  WOLF_EVENT_QUEUE& queue() { return queue_; }
  ChaosDevice* chaos() const {
    return dynamic_cast<ChaosDevice*>(asynccrypt::Registry::instance().find(dev_id_).get());
  }

  std::vector<std::unique_ptr<GcmOp>> ops;

 private:
  int open_ret_ = 0;
  int dev_id_ = INVALID_DEVID;
  WOLF_EVENT_QUEUE queue_;
};

// What one run looked like: the order of completions and, per operation,
// the poll that harvested it.
struct Trace {
  std::vector<int> order;
  std::vector<int> poll_of;
  bool operator==(const Trace& o) const { return order == o.order && poll_of == o.poll_of; }
};

Trace run(const char* spec, int n, int max_polls_allowed) {
  Bench bench(spec);
  for (int i = 0; i < n; ++i) bench.submit();
  Trace trace;
  trace.poll_of.assign(static_cast<std::size_t>(n), -1);
  for (int p = 1; p <= max_polls_allowed && static_cast<int>(trace.order.size()) < n; ++p) {
    for (int k : bench.poll()) {
      EXPECT_EQ(trace.poll_of[static_cast<std::size_t>(k)], -1) << "op " << k << " twice";
      trace.poll_of[static_cast<std::size_t>(k)] = p;
      trace.order.push_back(k);
      EXPECT_EQ(bench.ops[static_cast<std::size_t>(k)]->event()->ret, 0);
      EXPECT_TRUE(bench.ops[static_cast<std::size_t>(k)]->correct()) << "op " << k;
    }
  }
  EXPECT_EQ(static_cast<int>(trace.order.size()), n) << spec;
  return trace;
}

asynccrypt::Result<std::shared_ptr<asynccrypt::Device>> create(const std::string& text) {
  auto spec = asynccrypt::parse_device_spec(text);
  EXPECT_TRUE(spec.is_ok()) << text;
  return ChaosDevice::create(spec.take());
}

}  // namespace

TEST(ChaosDeviceCreate, OptionsAndDefaults) {
  testing::internal::CaptureStderr();
  auto device = create("chaos:seed=42");
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(device.is_ok()) << device.status().message();
  auto* chaos = static_cast<ChaosDevice*>(device.value().get());
  EXPECT_STREQ(chaos->kind(), "chaos");
  EXPECT_TRUE(chaos->runs_on_poll());
  EXPECT_FALSE(chaos->layered());
  EXPECT_EQ(chaos->options().seed, 42u);
  EXPECT_EQ(chaos->options().max_polls, ChaosDevice::kDefaultMaxPolls);
  EXPECT_EQ(chaos->options().fail_per_mille, 0);
  EXPECT_NE(err.find("asynccrypt: chaos seed=42 "), std::string::npos) << err;

  auto fail = create("chaos:seed=1,maxpolls=9,fail=5");
  ASSERT_TRUE(fail.is_ok());
  EXPECT_EQ(static_cast<ChaosDevice*>(fail.value().get())->options().max_polls, 9);
  EXPECT_EQ(static_cast<ChaosDevice*>(fail.value().get())->options().fail_per_mille, 50);
  auto pm = create("chaos:failpm=7");
  ASSERT_TRUE(pm.is_ok());
  EXPECT_EQ(static_cast<ChaosDevice*>(pm.value().get())->options().fail_per_mille, 7);

  auto layered = create("chaos:seed=3,over=threads,workers=2,depth=8,delay=50");
  ASSERT_TRUE(layered.is_ok()) << layered.status().message();
  auto* l = static_cast<ChaosDevice*>(layered.value().get());
  EXPECT_TRUE(l->layered());
  EXPECT_FALSE(l->runs_on_poll());
  EXPECT_EQ(l->options().delay_us, 50);
}

TEST(ChaosDeviceCreate, SeedFromTheClockIsPrinted) {
  testing::internal::CaptureStderr();
  auto device = create("chaos");
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(device.is_ok());
  const auto seed = static_cast<ChaosDevice*>(device.value().get())->options().seed;
  EXPECT_NE(err.find("asynccrypt: chaos seed=" + std::to_string(seed) + " "), std::string::npos)
      << err;
}

TEST(ChaosDeviceCreate, BadOptionsFail) {
  for (const char* text : {"chaos:maxpolls=0",
                           "chaos:maxpolls=1001",
                           "chaos:maxpolls=x",
                           "chaos:fail=101",
                           "chaos:fail=-1",
                           "chaos:failpm=1001",
                           "chaos:fail=1,failpm=1",
                           "chaos:seed=-1",
                           "chaos:seed=abc",
                           "chaos:seed=",
                           "chaos:over=chaos",
                           "chaos:over=",
                           "chaos:workers=2",
                           "chaos:over=nosuch",
                           "chaos:over=sim,delay=5",
                           "chaos:over=sim,bogus=1",
                           "chaos:delay=5",
                           "chaos:depth=3",
                           "chaos:over=threads,delay=1000001",
                           "chaos:over=threads,workers=0",
                           "chaos:over=threads,bogus=1",
                           "chaos:bogus=1"}) {
    auto device = create(text);
    EXPECT_FALSE(device.is_ok()) << text;
    EXPECT_EQ(device.status().code(), BAD_FUNC_ARG) << text;
    EXPECT_FALSE(device.status().message().empty()) << text;
  }
  int id = 0;
  EXPECT_EQ(asynccrypt_DevOpenSpec(&id, "chaos:maxpolls=0", nullptr), BAD_FUNC_ARG);
  EXPECT_EQ(id, INVALID_DEVID);
  EXPECT_NE(std::string(asynccrypt_LastError()).find("maxpolls"), std::string::npos);
}

// Chaos layers over any kind the table knows (issue 13): every option not
// its own goes to that kind, which takes it or rejects it by name.
TEST(ChaosDeviceCreate, LayersOverAnyKindWithItsOptions) {
  auto over_sim = create("chaos:seed=1,over=sim,skip=3,slices=8");
  ASSERT_TRUE(over_sim.is_ok()) << over_sim.status().message();
  auto* chaos = static_cast<ChaosDevice*>(over_sim.value().get());
  EXPECT_TRUE(chaos->layered());
  EXPECT_TRUE(chaos->runs_on_poll());
  EXPECT_STREQ(chaos->inner()->kind(), "sim");

  // An option of the threads device that chaos never knew of reaches it.
  auto over_threads = create("chaos:seed=1,over=threads,workers=1,inline_us=0,delay=0");
  ASSERT_TRUE(over_threads.is_ok()) << over_threads.status().message();
  EXPECT_FALSE(over_threads.value()->runs_on_poll());

  auto bogus = create("chaos:over=sim,bogus=1");
  EXPECT_NE(bogus.status().message().find("'bogus' for device kind 'sim'"), std::string::npos)
      << bogus.status().message();
  auto delay = create("chaos:over=sim,delay=5");
  EXPECT_NE(delay.status().message().find("maxpolls="), std::string::npos)
      << delay.status().message();
  auto unknown = create("chaos:over=nosuch");
  EXPECT_NE(unknown.status().message().find("nosuch"), std::string::npos)
      << unknown.status().message();
  auto alone = create("chaos:workers=2");
  EXPECT_NE(alone.status().message().find("over=KIND"), std::string::npos)
      << alone.status().message();
}

// Over the simulator, operations complete correctly, late and out of
// order, and the simulator's slice budget is reached through chaos.
TEST(ChaosDeviceLayered, OverSimCompletesEverythingAndShowsItsSliceBudget) {
  const Trace t = run("chaos:seed=21,maxpolls=5,over=sim,skip=3", 32, 200);
  EXPECT_FALSE(std::is_sorted(t.order.begin(), t.order.end())) << "completions kept their order";

  Bench bench("chaos:seed=2,over=sim,slices=8");
  int slices = -1;
  int budget = -1;
  ASSERT_EQ(asynccrypt_DevGetSliceBudget(bench.dev_id(), &slices, &budget), 0)
      << asynccrypt_LastError();
  EXPECT_EQ(slices, 8);
  EXPECT_EQ(budget, 0);
  ASSERT_EQ(asynccrypt_DevSetSliceBudget(bench.dev_id(), 0, 7), 0);
  ASSERT_EQ(asynccrypt_DevGetSliceBudget(bench.dev_id(), &slices, &budget), 0);
  EXPECT_EQ(budget, 7);
  Bench plain("chaos:seed=2");
  EXPECT_EQ(asynccrypt_DevGetSliceBudget(plain.dev_id(), &slices, &budget), BAD_FUNC_ARG);
}

TEST(ChaosDeviceCreate, KindThroughTheCApi) {
  Bench bench("chaos:seed=5");
  char kind[16] = {};
  ASSERT_EQ(asynccrypt_DevKind(bench.dev_id(), kind, sizeof kind), 0);
  EXPECT_STREQ(kind, "chaos");
}

TEST(ChaosDeviceRandom, IsSplitMix64) {
  // The first outputs of SplitMix64 for seed 0 (reference values of the
  // published algorithm), so runs replay on every platform.
  asynccrypt::ChaosRandom r(0);
  EXPECT_EQ(r.next(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(r.next(), 0x6e789e6aa1b965f4ULL);
}

TEST(ChaosDevicePoll, EveryOperationPendsAtLeastOnePoll) {
  for (int seed = 0; seed < 20; ++seed) {
    const std::string spec = "chaos:maxpolls=1,seed=" + std::to_string(seed);
    Bench bench(spec.c_str());
    for (int i = 0; i < 8; ++i) bench.submit();
    EXPECT_TRUE(bench.poll().empty()) << spec;   // first visit: always pending
    EXPECT_EQ(bench.poll().size(), 8u) << spec;  // maxpolls=1: the second runs all
  }
}

TEST(ChaosDevicePoll, NothingCompletesWithoutCheckHw) {
  Bench bench("chaos:seed=11,maxpolls=3");
  for (int i = 0; i < 6; ++i) bench.submit();
  for (int p = 0; p < 50; ++p) EXPECT_TRUE(bench.poll(WOLF_POLL_FLAG_CHECK_HW & 0).empty());
  for (auto& op : bench.ops) EXPECT_EQ(op->event()->state, WOLF_EVENT_STATE_PENDING);
  // Neither a single-event poll without the flag.
  for (auto& op : bench.ops) {
    EXPECT_EQ(wolfAsync_EventPoll(op->event(), static_cast<WOLF_EVENT_FLAG>(0)), 0);
    EXPECT_EQ(op->event()->state, WOLF_EVENT_STATE_PENDING);
  }
  std::size_t done = 0;
  for (int p = 0; p < 10 && done < 6; ++p) done += bench.poll().size();
  EXPECT_EQ(done, 6u);
}

TEST(ChaosDevicePoll, SameSeedSameRun) {
  const Trace a = run("chaos:seed=1234,maxpolls=8", 24, 100);
  const Trace b = run("chaos:seed=1234,maxpolls=8", 24, 100);
  EXPECT_TRUE(a == b);
  // Another seed gives another run (for these seeds; checked once).
  const Trace c = run("chaos:seed=1235,maxpolls=8", 24, 100);
  EXPECT_FALSE(a == c);
}

TEST(ChaosDevicePoll, CompletionsComeOutOfOrderWithinMaxPolls) {
  const Trace t = run("chaos:seed=99,maxpolls=6", 32, 100);
  std::vector<int> sorted = t.order;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NE(t.order, sorted) << "completion order equals submission order";
  for (int p : t.poll_of) {
    EXPECT_GE(p, 2);      // pends on its first poll
    EXPECT_LE(p, 6 + 1);  // and runs at the latest after maxpolls pending polls
  }
}

TEST(ChaosDevicePoll, SingleEventWaitPendsThenCompletes) {
  int id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&id, "chaos:seed=8,maxpolls=5", nullptr), 0);
  GcmOp op(id, 3);
  ASSERT_EQ(op.start(), WC_PENDING_E);
  ASSERT_EQ(wolfAsync_EventInit(op.event(), WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT, op.dev(),
                                WC_ASYNC_FLAG_NONE),
            0);
  EXPECT_EQ(wolfAsync_EventPoll(op.event(), WOLF_POLL_FLAG_CHECK_HW), 0);
  EXPECT_EQ(op.event()->state, WOLF_EVENT_STATE_PENDING);
  int polls = 1;
  while (op.event()->state == WOLF_EVENT_STATE_PENDING && polls < 100) {
    EXPECT_EQ(wolfAsync_EventPoll(op.event(), WOLF_POLL_FLAG_CHECK_HW), 0);
    ++polls;
  }
  EXPECT_LE(polls, 6);
  EXPECT_EQ(op.event()->ret, 0);
  EXPECT_TRUE(op.correct());
  // And through wc_AsyncWait, on the same object.
  ASSERT_EQ(op.start(), WC_PENDING_E);
  EXPECT_EQ(wc_AsyncWait(WC_PENDING_E, op.dev(), WC_ASYNC_FLAG_NONE), 0);
  EXPECT_TRUE(op.correct());
  wolfAsync_DevClose(&id);
}

TEST(ChaosDeviceFail, InjectedFailuresReturnHwErrorAndTheObjectStaysUsable) {
  Bench bench("chaos:seed=21,maxpolls=2,fail=100");
  for (int i = 0; i < 4; ++i) bench.submit();
  std::size_t done = 0;
  for (int p = 0; p < 10 && done < 4; ++p) {
    for (int k : bench.poll()) {
      ++done;
      EXPECT_EQ(bench.ops[static_cast<std::size_t>(k)]->event()->ret, WC_HW_E);
    }
  }
  EXPECT_EQ(done, 4u);
  EXPECT_EQ(bench.chaos()->injected_failures(), 4u);
  for (auto& op : bench.ops) {
    EXPECT_EQ(op->dev()->sw.type, ASYNC_SW_NONE);  // ready for the next operation
    // The failed operation did not run: out is still zero.
    EXPECT_EQ(std::count(op->out, op->out + kGcmSz, 0), static_cast<long>(kGcmSz));
  }
  // The same objects take new operations (which fail again on this device).
  for (auto& op : bench.ops) {
    EXPECT_EQ(op->start(), WC_PENDING_E);
    EXPECT_EQ(wc_AsyncWait(WC_PENDING_E, op->dev(), WC_ASYNC_FLAG_NONE), WC_HW_E);
  }
}

TEST(ChaosDeviceFail, SomeFailSomeSucceedAndRetriesWork) {
  Bench bench("chaos:seed=5,maxpolls=3,fail=50");
  for (int i = 0; i < 16; ++i) bench.submit();
  int failed = 0;
  int passed = 0;
  for (int round = 0; round < 400 && passed < 16; ++round) {
    for (int k : bench.poll()) {
      GcmOp& op = *bench.ops[static_cast<std::size_t>(k)];
      if (op.event()->ret == WC_HW_E) {
        ++failed;
        // Retry on the same object and queue.
        ASSERT_EQ(op.start(), WC_PENDING_E);
        ASSERT_EQ(wc_AsyncHandle(op.dev(), &bench.queue(), WC_ASYNC_FLAG_NONE), 0);
      } else {
        EXPECT_EQ(op.event()->ret, 0);
        EXPECT_TRUE(op.correct());
        ++passed;
      }
    }
  }
  EXPECT_EQ(passed, 16);
  EXPECT_GT(failed, 0);
  EXPECT_EQ(bench.chaos()->injected_failures(), static_cast<std::uint64_t>(failed));
}

// Signs with the wc_AsyncWait retry loop; returns the final result.
int sign_loop(ecc_key& key, WC_RNG& rng, const byte* hash, byte* sig, word32* sig_len) {
  int ret = 0;
  const word32 room = *sig_len;
  int guard = 0;
  do {
    ret = wc_AsyncWait(ret, &key.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN);
    *sig_len = room;
    if (ret >= 0) ret = wc_ecc_sign_hash(hash, 32, sig, sig_len, &rng, &key);
  } while (ret == WC_PENDING_E && ++guard < 100);
  return ret;
}

int verify_loop(ecc_key& key, const byte* hash, const byte* sig, word32 sig_len, int* verified) {
  int ret = 0;
  int guard = 0;
  do {
    ret = wc_AsyncWait(ret, &key.asyncDev, WC_ASYNC_FLAG_CALL_AGAIN);
    if (ret >= 0) ret = wc_ecc_verify_hash(sig, sig_len, hash, 32, verified, &key);
  } while (ret == WC_PENDING_E && ++guard < 100);
  return ret;
}

// A failed ECC signature leaves asynccrypt's record clean. wolfCrypt itself
// keeps the key's sign state machine at its ENCODE step when the caller
// stops after the error (docs/known-issues.md, 5), so the next signature on
// that key would encode stale r and s and "succeed"; asynccrypt resets the
// key's state when an operation fails (wolfcrypt/failed_op.h), so the very
// next signature is valid.
TEST(ChaosDeviceFail, EccSignAfterAFailedSignatureIsValid) {
  int fail_id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&fail_id, "chaos:seed=77,fail=100", nullptr), 0);
  int ok_id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&ok_id, "chaos:seed=78", nullptr), 0);
  WC_RNG rng;
  ASSERT_EQ(wc_InitRng(&rng), 0);
  ecc_key key;
  // Made synchronously, then bound (by hand) to one device after another.
  ASSERT_EQ(wc_ecc_init_ex(&key, nullptr, INVALID_DEVID), 0);
  ASSERT_EQ(wc_ecc_make_key(&rng, 32, &key), 0);
  key.asyncDev.marker = WOLFSSL_ASYNC_MARKER_ECC;
  int ret = 0;
  const byte hash[32] = {1, 2, 3};
  byte sig[128];
  word32 sig_len = sizeof sig;
  int verified = 0;

  // The same key, bound to a device that fails every operation.
  key.asyncDev.devId = fail_id;
  EXPECT_EQ(sign_loop(key, rng, hash, sig, &sig_len), WC_HW_E);
  EXPECT_EQ(key.asyncDev.sw.type, ASYNC_SW_NONE);
  EXPECT_EQ(key.asyncDev.inflight, nullptr);

  key.asyncDev.devId = ok_id;
  sig_len = sizeof sig;
  ret = sign_loop(key, rng, hash, sig, &sig_len);
  ASSERT_EQ(ret, 0);
  // Without the reset: r = s = 0, which does not verify (MP_ZERO_E).
  verified = 0;
  EXPECT_EQ(verify_loop(key, hash, sig, sig_len, &verified), 0);
  EXPECT_EQ(verified, 1);

  // Verification keeps state too: a failed one, then a good one.
  key.asyncDev.devId = fail_id;
  EXPECT_EQ(verify_loop(key, hash, sig, sig_len, &verified), WC_HW_E);
  key.asyncDev.devId = ok_id;
  verified = 0;
  EXPECT_EQ(verify_loop(key, hash, sig, sig_len, &verified), 0);
  EXPECT_EQ(verified, 1);
  wc_ecc_free(&key);
  wc_FreeRng(&rng);
  wolfAsync_DevClose(&ok_id);
  wolfAsync_DevClose(&fail_id);
}

TEST(ChaosDeviceLayered, OverThreadsCompletesEverythingCorrectly) {
  Bench bench("chaos:seed=4,over=threads,workers=2,delay=300");
  for (int i = 0; i < 24; ++i) bench.submit();
  std::vector<int> order;
  const testing_support::Deadline deadline;  // workers: bounded in time, not polls
  while (!deadline.passed() && order.size() < 24) {
    for (int k : bench.poll()) {
      order.push_back(k);
      EXPECT_EQ(bench.ops[static_cast<std::size_t>(k)]->event()->ret, 0);
      EXPECT_TRUE(bench.ops[static_cast<std::size_t>(k)]->correct());
    }
    if (order.size() < 24) wc_AsyncSleep(0);
  }
  ASSERT_EQ(order.size(), 24u);
  std::sort(order.begin(), order.end());
  EXPECT_EQ(std::unique(order.begin(), order.end()), order.end());  // each exactly once
}

TEST(ChaosDeviceLayered, InjectedFailuresAndCancellation) {
  Bench bench("chaos:seed=6,over=threads,workers=1,delay=2000,failpm=500");
  for (int i = 0; i < 12; ++i) bench.submit();
  // Free half of the objects while their operations are in flight: each is
  // withdrawn, drained or discarded, never reported.
  for (std::size_t i = 0; i < 12; i += 2) bench.ops[i].reset();
  std::size_t done = 0;
  const testing_support::Deadline deadline;  // workers: bounded in time, not polls
  while (!deadline.passed() && done < 6) {
    std::vector<WOLF_EVENT*> events(16);
    int count = 0;
    ASSERT_EQ(wolfAsync_EventQueuePoll(&bench.queue(), nullptr, events.data(), 16,
                                       WOLF_POLL_FLAG_CHECK_HW, &count),
              0);
    for (int i = 0; i < count; ++i) {
      const int ret = events[static_cast<std::size_t>(i)]->ret;
      EXPECT_TRUE(ret == 0 || ret == WC_HW_E) << ret;
    }
    done += static_cast<std::size_t>(count);
    if (done < 6) wc_AsyncSleep(0);
  }
  EXPECT_EQ(done, 6u);
  EXPECT_EQ(bench.queue().count, 0);
}

// Chaos over the dpdk device (crypto_aesni_mb). One vdev for the whole
// process: DPDK's EAL starts once. Skipped, saying why, when DPDK is not
// built or cannot start here.
namespace {

constexpr const char* kOverDpdk = "over=dpdk,vdev=crypto_aesni_mb";

std::string over_dpdk(const std::string& chaos_options, const std::string& dpdk_options = "") {
  return "chaos:" + chaos_options + "," + kOverDpdk + (dpdk_options.empty() ? "" : ",") +
         dpdk_options;
}

// Why a chaos-over-dpdk device cannot open here ("" when it can).
std::string dpdk_unavailable() {
  int id = INVALID_DEVID;
  const std::string spec = over_dpdk("seed=1");
  const int ret = asynccrypt_DevOpenSpec(&id, spec.c_str(), nullptr);
  if (ret == 0) {
    wolfAsync_DevClose(&id);
    return "";
  }
  EXPECT_EQ(ret, ASYNC_INIT_E) << asynccrypt_LastError();
  return asynccrypt_LastError();
}

#define SKIP_WITHOUT_DPDK()                                       \
  if (const std::string why = dpdk_unavailable(); !why.empty()) { \
    DPDK_UNAVAILABLE("DPDK cannot start here: " << why);          \
  }

#ifdef ASYNCCRYPT_HAVE_DPDK
asynccrypt::DpdkDevice* dpdk_of(ChaosDevice* chaos) {
  return dynamic_cast<asynccrypt::DpdkDevice*>(chaos->inner().get());
}
#endif

}  // namespace

TEST(ChaosDeviceOverDpdk, OptionsGoToTheDpdkDevice) {
  SKIP_WITHOUT_DPDK();
  testing::internal::CaptureStderr();
  auto device = create(over_dpdk("seed=12,maxpolls=3,failpm=4", "burst=8,depth=64,qps=1"));
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(device.is_ok()) << device.status().message();
  auto* chaos = static_cast<ChaosDevice*>(device.value().get());
  EXPECT_TRUE(chaos->layered());
  EXPECT_TRUE(chaos->runs_on_poll());  // poll-driven, like the dpdk device
  ASSERT_NE(chaos->inner(), nullptr);
  EXPECT_STREQ(chaos->inner()->kind(), "dpdk");
  EXPECT_EQ(chaos->options().max_polls, 3);
  EXPECT_EQ(chaos->options().fail_per_mille, 4);
  EXPECT_EQ(chaos->capabilities(), chaos->inner()->capabilities());
  EXPECT_NE(chaos->capabilities() & (1u << ASYNC_SW_AES_GCM_ENCRYPT), 0u);
  EXPECT_EQ(chaos->capabilities() & (1u << ASYNC_SW_RSA_FUNC), 0u);
  EXPECT_NE(err.find("asynccrypt: chaos seed=12 maxpolls=3 failpm=4 over=dpdk"), std::string::npos)
      << err;
#ifdef ASYNCCRYPT_HAVE_DPDK
  ASSERT_NE(dpdk_of(chaos), nullptr);
  EXPECT_EQ(dpdk_of(chaos)->depth(), 64);
#endif
}

TEST(ChaosDeviceOverDpdk, BadOptionsFail) {
  SKIP_WITHOUT_DPDK();
  // delay= is for worker pools; workers= and bogus= reach the dpdk device,
  // which rejects them; so does a spec without vdev=/dev=.
  for (const std::string& text :
       {over_dpdk("seed=1,delay=5"), over_dpdk("seed=1", "workers=2"),
        over_dpdk("seed=1", "bogus=1"), over_dpdk("seed=1", "burst=0"),
        std::string("chaos:seed=1,over=dpdk"), std::string("chaos:over=dpdk,copy=never")}) {
    auto device = create(text);
    EXPECT_FALSE(device.is_ok()) << text;
    EXPECT_EQ(device.status().code(), BAD_FUNC_ARG) << text;
    EXPECT_FALSE(device.status().message().empty()) << text;
  }
  auto device = create(over_dpdk("seed=1", "bogus=1"));
  EXPECT_NE(device.status().message().find("'bogus' for device kind 'dpdk'"), std::string::npos)
      << device.status().message();
}

TEST(ChaosDeviceOverDpdk, EverythingCompletesOnceCorrectlyLateAndOutOfOrder) {
  SKIP_WITHOUT_DPDK();
  constexpr int kOps = 48;
  constexpr int kMaxPolls = 6;
  const std::string spec = over_dpdk("seed=31,maxpolls=6", "burst=4");
  const Trace t = run(spec.c_str(), kOps, 200);
  std::vector<int> sorted = t.order;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NE(t.order, sorted) << "completion order equals submission order";
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end());  // each exactly once
  for (int p : t.poll_of) {
    EXPECT_GE(p, 2);  // pends on its first poll
    // Bounded: pending polls before the device (<= maxpolls), the device's
    // own (it stages, then sends and collects bursts on later polls), and
    // the polls its result is held back (< maxpolls).
    EXPECT_LE(p, 1 + kMaxPolls + (kOps / 4 + 2) + (kMaxPolls - 1));
  }
}

TEST(ChaosDeviceOverDpdk, OperationsRunOnTheCryptodev) {
  SKIP_WITHOUT_DPDK();
  const std::string spec = over_dpdk("seed=32,maxpolls=4", "burst=8");
  Bench bench(spec.c_str());
  for (int i = 0; i < 20; ++i) bench.submit();
  std::size_t done = 0;
  std::uint64_t most_held = 0;  // finished by the cryptodev, not yet reported
  for (int p = 0; p < 100 && done < 20; ++p) {
    done += bench.poll().size();
#ifdef ASYNCCRYPT_HAVE_DPDK
    const std::uint64_t finished = dpdk_of(bench.chaos())->dpdk_counters().offloaded.load();
    most_held = std::max<std::uint64_t>(most_held, finished - done);
#endif
  }
  ASSERT_EQ(done, 20u);
#ifdef ASYNCCRYPT_HAVE_DPDK
  EXPECT_GT(most_held, 0u) << "no result was held back after the cryptodev finished it";
#endif
  for (auto& op : bench.ops) {
    EXPECT_EQ(op->event()->ret, 0);
    EXPECT_TRUE(op->correct());
  }
#ifdef ASYNCCRYPT_HAVE_DPDK
  asynccrypt::DpdkDevice* dpdk = dpdk_of(bench.chaos());
  ASSERT_NE(dpdk, nullptr);
  EXPECT_EQ(dpdk->dpdk_counters().offloaded.load(), 20u);
  EXPECT_EQ(dpdk->dpdk_counters().software.load(), 0u);
  EXPECT_GT(dpdk->dpdk_counters().bursts.load(), 1u);  // the delays split them
#endif
}

// Freeing an object drops the driver sessions the dpdk device made with its
// key, with chaos between them too. Before chaos passed forget() on, the
// sessions (and the keys in them) stayed cached after the objects were gone.
TEST(ChaosDeviceOverDpdk, FreeingObjectsDropsTheirSessions) {
  SKIP_WITHOUT_DPDK();
#ifdef ASYNCCRYPT_HAVE_DPDK
  const std::string spec = over_dpdk("seed=33,maxpolls=2");
  Bench bench(spec.c_str());
  asynccrypt::DpdkDevice* dpdk = dpdk_of(bench.chaos());
  ASSERT_NE(dpdk, nullptr);
  const std::size_t before = dpdk->cached_sessions();
  for (int i = 0; i < 4; ++i) bench.submit();
  std::size_t done = 0;
  for (int p = 0; p < 100 && done < 4; ++p) done += bench.poll().size();
  ASSERT_EQ(done, 4u);
  EXPECT_EQ(dpdk->cached_sessions(), before + 4);  // one key each
  bench.ops.clear();                               // frees the four Aes objects
  EXPECT_EQ(dpdk->cached_sessions(), before) << "freed keys' sessions are still cached";
#endif
}

TEST(ChaosDeviceOverDpdk, SameSeedSameRun) {
  SKIP_WITHOUT_DPDK();
  const std::string spec = over_dpdk("seed=1234,maxpolls=8", "burst=4");
  const Trace a = run(spec.c_str(), 24, 200);
  const Trace b = run(spec.c_str(), 24, 200);
  EXPECT_TRUE(a == b);
  const std::string other = over_dpdk("seed=1235,maxpolls=8", "burst=4");
  EXPECT_FALSE(a == run(other.c_str(), 24, 200));
}

TEST(ChaosDeviceOverDpdk, BackpressureOfAShallowQueuePair) {
  SKIP_WITHOUT_DPDK();
  // depth=2: the dpdk device holds two operations at once; the others wait
  // in chaos's hands or the core's queue, and all still complete.
  const std::string spec = over_dpdk("seed=33,maxpolls=2", "depth=2,burst=2");
  const Trace t = run(spec.c_str(), 16, 400);
  EXPECT_EQ(t.order.size(), 16u);
}

TEST(ChaosDeviceOverDpdk, SingleEventWaitCompletes) {
  SKIP_WITHOUT_DPDK();
  int id = INVALID_DEVID;
  const std::string spec = over_dpdk("seed=34,maxpolls=5");
  ASSERT_EQ(asynccrypt_DevOpenSpec(&id, spec.c_str(), nullptr), 0) << asynccrypt_LastError();
  GcmOp op(id, 9);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(op.start(), WC_PENDING_E);
    EXPECT_EQ(wc_AsyncWait(WC_PENDING_E, op.dev(), WC_ASYNC_FLAG_NONE), 0);
    EXPECT_TRUE(op.correct());
  }
  wolfAsync_DevClose(&id);
}

TEST(ChaosDeviceOverDpdk, InjectedFailuresNeverReachTheDevice) {
  SKIP_WITHOUT_DPDK();
  const std::string spec = over_dpdk("seed=35,maxpolls=3,fail=100");
  Bench bench(spec.c_str());
  for (int i = 0; i < 8; ++i) bench.submit();
  std::size_t done = 0;
  for (int p = 0; p < 20 && done < 8; ++p) {
    for (int k : bench.poll()) {
      ++done;
      EXPECT_EQ(bench.ops[static_cast<std::size_t>(k)]->event()->ret, WC_HW_E);
    }
  }
  EXPECT_EQ(done, 8u);
  EXPECT_EQ(bench.chaos()->injected_failures(), 8u);
  for (auto& op : bench.ops) EXPECT_EQ(op->dev()->sw.type, ASYNC_SW_NONE);
#ifdef ASYNCCRYPT_HAVE_DPDK
  EXPECT_EQ(dpdk_of(bench.chaos())->dpdk_counters().offloaded.load(), 0u);
#endif
}

TEST(ChaosDeviceOverDpdk, FreeingObjectsInEveryStage) {
  SKIP_WITHOUT_DPDK();
  // Objects freed before chaos let them reach the device, while the device
  // holds them (staged or in the driver), and while chaos holds their
  // result back: the others complete, the queue ends empty.
  for (int round = 0; round < 6; ++round) {
    const std::string spec = over_dpdk("seed=" + std::to_string(40 + round) + ",maxpolls=4",
                                       "burst=" + std::to_string(1 + round));
    Bench bench(spec.c_str());
    for (int i = 0; i < 24; ++i) bench.submit();
    for (int p = 0; p < round; ++p) (void)bench.poll();  // harvested ones stay in ops
    std::size_t left = 0;
    for (std::size_t i = 0; i < bench.ops.size(); ++i) {
      if (i % 3 == 0) {
        bench.ops[i].reset();
      } else if (bench.ops[i]->event()->state == WOLF_EVENT_STATE_PENDING) {
        ++left;
      }
    }
    std::size_t done = 0;
    for (int p = 0; p < 100 && done < left; ++p) {
      std::vector<WOLF_EVENT*> events(32);
      int count = 0;
      ASSERT_EQ(wolfAsync_EventQueuePoll(&bench.queue(), nullptr, events.data(), 32,
                                         WOLF_POLL_FLAG_CHECK_HW, &count),
                0);
      for (int i = 0; i < count; ++i) EXPECT_EQ(events[static_cast<std::size_t>(i)]->ret, 0);
      done += static_cast<std::size_t>(count);
    }
    EXPECT_EQ(done, left) << spec;
    EXPECT_EQ(bench.queue().count, 0) << spec;
  }
}

TEST(ChaosDeviceOverDpdk, TwoThreadsShareOneDevice) {
  SKIP_WITHOUT_DPDK();
  // One device, two submitting threads with a queue each: chaos's table of
  // operations and the dpdk queue pair are shared (TSan checks the locking).
  const std::string spec = over_dpdk("seed=50,maxpolls=3", "burst=4");
  int id = INVALID_DEVID;
  ASSERT_EQ(asynccrypt_DevOpenSpec(&id, spec.c_str(), nullptr), 0) << asynccrypt_LastError();
  std::vector<int> correct(2, 0);
  auto worker = [id](int* ok) {
    WOLF_EVENT_QUEUE queue;
    if (wolfEventQueue_Init(&queue) != 0) return;
    std::vector<std::unique_ptr<GcmOp>> ops;
    for (int round = 0; round < 5; ++round) {
      ops.clear();
      for (int i = 0; i < 12; ++i) {
        ops.push_back(std::make_unique<GcmOp>(id, static_cast<byte>(round * 12 + i + 1)));
        if (ops.back()->start() != WC_PENDING_E ||
            wc_AsyncHandle(ops.back()->dev(), &queue, WC_ASYNC_FLAG_NONE) != 0) {
          return;
        }
      }
      int done = 0;
      // Bounded in time, not in polls: the two threads share the device
      // and its queue pair, so how many polls one needs depends on when the
      // other runs (1,000 polls ran out under TSan and stress-ng).
      const testing_support::Deadline deadline;
      while (done < 12 && !deadline.passed()) {
        WOLF_EVENT* events[16];
        int count = 0;
        if (wolfAsync_EventQueuePoll(&queue, nullptr, events, 16, WOLF_POLL_FLAG_CHECK_HW,
                                     &count) != 0) {
          return;
        }
        done += count;
      }
      for (auto& op : ops) *ok += op->event()->ret == 0 && op->correct() ? 1 : 0;
    }
    ops.clear();
    asynccrypt_QueueRelease(&queue);
    wolfEventQueue_Free(&queue);
  };
  std::thread a(worker, &correct[0]);
  std::thread b(worker, &correct[1]);
  a.join();
  b.join();
  EXPECT_EQ(correct[0], 60);
  EXPECT_EQ(correct[1], 60);
  wolfAsync_DevClose(&id);
}
