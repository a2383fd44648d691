// Tests of the threads device (src/backends/threads/threads_device.cc): options, the shared
// pool, the device on its own, backpressure, cancellation, several submitting threads.
#include <dirent.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include "asynccrypt/device.h"
#include "asynccrypt/queue.h"
#include "backends/threads/threads_device.h"
#include "core/device_spec.h"
#include "core/op.h"
#include "support/batch.h"
#include "support/crypto_jobs.h"
#include "support/device_open.h"
#include "support/test_queue.h"
#include "support/test_random.h"

using asynccrypt::Admission;

namespace {

using asynccrypt::ThreadsDevice;
using testing_support::Bytes;
using testing_support::cbc_job;
using testing_support::init_aes_cbc;
using testing_support::Job;
using testing_support::kThreadsSpec;
using testing_support::load_rsa;
using testing_support::make_ecc_pair;
using testing_support::new_queue;
using testing_support::open_pending_device;
using testing_support::random_bytes;
using testing_support::rsa_sign_job;
using testing_support::run_batch;
using testing_support::stats_of;
using testing_support::sync_cbc_encrypt;
using testing_support::test_seed;  // every randomized test prints its seed
using testing_support::threads_device;

// ---------------------------------------------------------------------------
// Opening and options
// ---------------------------------------------------------------------------

TEST(ThreadsDeviceSpec, OpensWithDefaults) {
  asynccrypt::DeviceHandle dev = open_pending_device("threads");
  ASSERT_TRUE(dev.is_open());
  char kind[16];
  ASSERT_EQ(asynccrypt_DevKind(dev.id(), kind, sizeof kind), 0);
  EXPECT_STREQ(kind, "threads");
  ASSERT_NE(threads_device(dev), nullptr);
  EXPECT_EQ(threads_device(dev)->workers(), ThreadsDevice::online_cpus());
  EXPECT_EQ(threads_device(dev)->depth(), 256);
  EXPECT_EQ(threads_device(dev)->completion_batch(), ThreadsDevice::kDefaultBatch);
}

TEST(ThreadsDeviceSpec, OptionsAreApplied) {
  asynccrypt::DeviceHandle dev = open_pending_device("threads:workers=3,depth=7");
  ASSERT_TRUE(dev.is_open());
  EXPECT_EQ(threads_device(dev)->workers(), 3);
  EXPECT_EQ(threads_device(dev)->depth(), 7);
  asynccrypt::DeviceHandle batched = open_pending_device("threads:batch=1");
  ASSERT_TRUE(batched.is_open());
  EXPECT_EQ(threads_device(batched)->completion_batch(), 1) << "1: wake at every completion";
  asynccrypt::DeviceHandle shorthand = open_pending_device("threads:2");
  ASSERT_TRUE(shorthand.is_open());
  EXPECT_EQ(threads_device(shorthand)->workers(), 2);
}

TEST(ThreadsDeviceSpec, BadOptionsFailWithAMessage) {
  const char* bad[] = {
      "threads:workers=0",
      "threads:workers=-2",
      "threads:workers=abc",
      "threads:workers=",
      "threads:workers=99999",
      "threads:depth=0",
      "threads:depth=1x",
      "threads:batch=0",
      "threads:batch=1025",
      "threads:batch=x",
      "threads:speed=3",
      "threads:4,workers=2",
      "threads:workers=2,workers=3",
      "threads:cpu=-1",
      "threads:cpu=abc",
      "thread",
  };
  for (const char* spec : bad) {
    int id = 12345;
    EXPECT_EQ(asynccrypt_DevOpenSpec(&id, spec, nullptr), BAD_FUNC_ARG) << spec;
    EXPECT_EQ(id, INVALID_DEVID) << spec;
    EXPECT_STRNE(asynccrypt_LastError(), "") << spec;
  }
  int id = 0;
  EXPECT_EQ(asynccrypt_DevOpenSpec(&id, "threads:speed=3", nullptr), BAD_FUNC_ARG);
  EXPECT_NE(std::string(asynccrypt_LastError()).find("speed"), std::string::npos)
      << asynccrypt_LastError();
  EXPECT_EQ(asynccrypt_DevOpenSpec(&id, "threads:depth=0", nullptr), BAD_FUNC_ARG);
  EXPECT_NE(std::string(asynccrypt_LastError()).find("depth"), std::string::npos)
      << asynccrypt_LastError();
  EXPECT_EQ(asynccrypt_DevOpenSpec(&id, "nosuchkind", nullptr), BAD_FUNC_ARG);
  EXPECT_NE(std::string(asynccrypt_LastError()).find("threads"), std::string::npos)
      << "the known kinds are listed: " << asynccrypt_LastError();
}

// The thread ids of this process's worker threads (named "asyncc-w<N>").
std::vector<pid_t> worker_thread_ids() {
  std::vector<pid_t> ids;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return ids;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const std::string path = std::string("/proc/self/task/") + e->d_name + "/comm";
    FILE* f = std::fopen(path.c_str(), "r");
    if (f == nullptr) continue;  // the thread just ended
    char name[32] = {};
    if (std::fgets(name, sizeof name, f) != nullptr && std::strncmp(name, "asyncc-w", 8) == 0) {
      ids.push_back(static_cast<pid_t>(std::atoi(e->d_name)));
    }
    std::fclose(f);
  }
  closedir(dir);
  return ids;
}

int worker_thread_count() { return static_cast<int>(worker_thread_ids().size()); }

// cpu=N binds the thread of a per-thread open to CPU N.
TEST(ThreadsDeviceSpec, CpuOptionPinsTheOpeningThread) {
  pthread_t self = pthread_self();
  cpu_set_t saved;
  ASSERT_EQ(pthread_getaffinity_np(self, sizeof saved, &saved), 0);
  int first = -1;
  for (int c = 0; c < CPU_SETSIZE && first < 0; ++c) {
    if (CPU_ISSET(c, &saved)) first = c;
  }
  ASSERT_GE(first, 0);
  const std::string spec = "threads:workers=1,cpu=" + std::to_string(first);
  {
    asynccrypt::DeviceHandle dev = open_pending_device(spec, self);
    ASSERT_TRUE(dev.is_open());
    cpu_set_t now;
    ASSERT_EQ(pthread_getaffinity_np(self, sizeof now, &now), 0);
    EXPECT_EQ(CPU_COUNT(&now), 1);
    EXPECT_TRUE(CPU_ISSET(first, &now));
  }
  // A pool started by a pinned thread still runs on the process's CPUs.
  {
    asynccrypt::DeviceHandle dev =
        open_pending_device("threads:workers=5,cpu=" + std::to_string(first), self);
    ASSERT_TRUE(dev.is_open());
    const std::vector<pid_t> workers = worker_thread_ids();
    EXPECT_EQ(workers.size(), 5u);
    for (pid_t tid : workers) {
      cpu_set_t set;
      ASSERT_EQ(sched_getaffinity(tid, sizeof set, &set), 0);
      EXPECT_TRUE(CPU_EQUAL(&set, &saved)) << "worker " << tid << " inherited the pin";
    }
  }
  // The sim kind takes the option too (it is handled for every kind).
  {
    asynccrypt::DeviceHandle dev = open_pending_device("sim:cpu=" + std::to_string(first));
    EXPECT_TRUE(dev.is_open());
  }
  ASSERT_EQ(pthread_setaffinity_np(self, sizeof saved, &saved), 0);

  // A CPU this process may not use fails cleanly.
  int missing = -1;
  for (int c = CPU_SETSIZE - 1; c >= 0 && missing < 0; --c) {
    if (!CPU_ISSET(c, &saved)) missing = c;
  }
  if (missing >= 0) {
    int id = 0;
    const std::string bad = "threads:workers=1,cpu=" + std::to_string(missing);
    EXPECT_EQ(asynccrypt_DevOpenSpec(&id, bad.c_str(), &self), BAD_FUNC_ARG);
    EXPECT_EQ(id, INVALID_DEVID);
    EXPECT_NE(std::string(asynccrypt_LastError()).find("CPU"), std::string::npos);
    cpu_set_t now;
    ASSERT_EQ(pthread_getaffinity_np(self, sizeof now, &now), 0);
    EXPECT_TRUE(CPU_EQUAL(&now, &saved));
  }
}

// Per-thread opens share one pool (no N x M threads), and the last close
// joins its threads.
TEST(ThreadsDevicePool, OpensShareOnePoolAndCloseJoinsIt) {
  const int before = worker_thread_count();
  ASSERT_GE(before, 0);
  {
    std::vector<asynccrypt::DeviceHandle> devices;
    for (int i = 0; i < 4; ++i) {
      devices.push_back(open_pending_device("threads:workers=3,depth=5", pthread_self()));
      ASSERT_TRUE(devices.back().is_open());
    }
    for (auto& d : devices)
      EXPECT_EQ(&threads_device(d)->pool(), &threads_device(devices[0])->pool());
    EXPECT_EQ(worker_thread_count(), before + 3);
  }
  EXPECT_EQ(worker_thread_count(), before);
}

// ---------------------------------------------------------------------------
// The device on its own, with a sink the test controls (deterministic)
// ---------------------------------------------------------------------------

// Records completions; can hold the (single) worker inside on_complete.
class TestSink final : public asynccrypt::CompletionSink {
 public:
  void on_complete(asynccrypt::Op* op, bool busy) override {
    std::unique_lock lock(mu_);
    phases_at_report.push_back(op->phase.load(std::memory_order_acquire));
    reported.push_back(op);
    busy_at_report.push_back(busy);
    cv_.notify_all();
    cv_.wait(lock, [this] { return !hold_; });
  }
  void hold(bool on) {
    std::lock_guard lock(mu_);
    hold_ = on;
    cv_.notify_all();
  }
  void wait_for(std::size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return reported.size() >= n; });
  }
  std::size_t count() {
    std::lock_guard lock(mu_);
    return reported.size();
  }

  std::vector<asynccrypt::Op*> reported;              // guarded by mu_
  std::vector<asynccrypt::OpPhase> phases_at_report;  // guarded by mu_
  std::vector<bool> busy_at_report;                   // guarded by mu_

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;  // guarded by mu_
};

// An operation with nothing recorded: a worker finishes it at once with
// BAD_FUNC_ARG.
struct RawOp {
  WC_ASYNC_DEV dev{};
  asynccrypt::Op op;
  RawOp() { op.dev = &dev; }
};

std::shared_ptr<ThreadsDevice> make_device(const char* spec) {
  auto parsed = asynccrypt::parse_device_spec(spec);
  EXPECT_TRUE(parsed.is_ok());
  auto device = ThreadsDevice::create(parsed.take());
  EXPECT_TRUE(device.is_ok()) << device.status().message();
  return std::dynamic_pointer_cast<ThreadsDevice>(device.take());
}

TEST(ThreadsDeviceDirect, ReportsEachOpOnceWithResultAndRunningPhase) {
  auto device = make_device("threads:workers=2,depth=64");
  TestSink sink;
  std::vector<RawOp> ops(50);
  for (auto& r : ops) ASSERT_EQ(device->submit(&r.op, sink), Admission::kAccepted);
  sink.wait_for(ops.size());
  device.reset();  // drains and joins
  ASSERT_EQ(sink.reported.size(), ops.size());
  std::map<asynccrypt::Op*, int> seen;
  for (auto* op : sink.reported) ++seen[op];
  for (auto& r : ops) {
    EXPECT_EQ(seen[&r.op], 1);
    EXPECT_EQ(r.op.result, BAD_FUNC_ARG);
  }
  for (auto phase : sink.phases_at_report) EXPECT_EQ(phase, asynccrypt::OpPhase::kRunning);
}

TEST(ThreadsDeviceDirect, FullAtDepth) {
  auto device = make_device("threads:workers=1,depth=2");
  TestSink sink;
  sink.hold(true);
  RawOp a, b, c, d;
  ASSERT_EQ(device->submit(&a.op, sink), Admission::kAccepted);
  sink.wait_for(1);  // the only worker is held inside the sink, a no longer counts
  EXPECT_EQ(device->submit(&b.op, sink), Admission::kAccepted);
  EXPECT_EQ(device->submit(&c.op, sink), Admission::kAccepted);
  EXPECT_EQ(device->submit(&d.op, sink), Admission::kFull) << "depth 2 reached";
  sink.hold(false);
  sink.wait_for(3);
  EXPECT_EQ(device->submit(&d.op, sink), Admission::kAccepted);  // room again
  sink.wait_for(4);
}

TEST(ThreadsDeviceDirect, CancelWithdrawsOnlyUnstartedOps) {
  auto device = make_device("threads:workers=1,depth=8");
  TestSink sink;
  sink.hold(true);
  RawOp a, b, c;
  ASSERT_EQ(device->submit(&a.op, sink), Admission::kAccepted);
  sink.wait_for(1);
  ASSERT_EQ(device->submit(&b.op, sink), Admission::kAccepted);
  ASSERT_EQ(device->submit(&c.op, sink), Admission::kAccepted);
  EXPECT_FALSE(device->cancel(&a.op)) << "a worker has it";
  EXPECT_TRUE(device->cancel(&b.op));
  EXPECT_FALSE(device->cancel(&b.op)) << "already withdrawn";
  EXPECT_EQ(b.op.phase.load(), asynccrypt::OpPhase::kQueued);
  sink.hold(false);
  sink.wait_for(2);
  device.reset();
  ASSERT_EQ(sink.reported.size(), 2u);
  EXPECT_EQ(sink.reported[0], &a.op);
  EXPECT_EQ(sink.reported[1], &c.op);
}

// A report is `busy` only while every worker has a queued job to go on
// with; the last ones are not, so the core never holds a wake-up back when
// the pool is about to run dry.
TEST(ThreadsDeviceDirect, ReportsAreBusyOnlyWhileJobsWait) {
  auto device = make_device("threads:workers=1,depth=8");
  TestSink sink;
  sink.hold(true);
  RawOp a, b, c;
  ASSERT_EQ(device->submit(&a.op, sink), Admission::kAccepted);
  sink.wait_for(1);  // the worker is held inside a's report
  ASSERT_EQ(device->submit(&b.op, sink), Admission::kAccepted);
  ASSERT_EQ(device->submit(&c.op, sink), Admission::kAccepted);
  sink.hold(false);
  sink.wait_for(3);
  device.reset();
  ASSERT_EQ(sink.busy_at_report.size(), 3u);
  EXPECT_TRUE(sink.busy_at_report[1]) << "c was still queued after b";
  EXPECT_FALSE(sink.busy_at_report[2]) << "nothing was queued after c";
}

TEST(ThreadsDeviceDirect, DestructionDrainsQueuedOps) {
  auto device = make_device("threads:workers=1,depth=100");
  TestSink sink;
  sink.hold(true);
  std::vector<RawOp> ops(20);
  for (auto& r : ops) ASSERT_EQ(device->submit(&r.op, sink), Admission::kAccepted);
  sink.wait_for(1);
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    sink.hold(false);
  });
  device.reset();  // blocks until every accepted op has been reported
  EXPECT_EQ(sink.count(), ops.size());
  releaser.join();
}

// ---------------------------------------------------------------------------
// Backpressure, cancellation, several submitting threads
// ---------------------------------------------------------------------------

TEST(ThreadsDevice, BackpressureRunsInlineAndCompletesAll) {
  // One worker, two slots, and RSA signatures (milliseconds each) submitted
  // back to back: the third submission always finds both slots taken, so the
  // device must refuse it and the submitter runs it itself.
  asynccrypt::DeviceHandle dev = open_pending_device("threads:workers=1,depth=2");
  ASSERT_TRUE(dev.is_open());
  std::mt19937 gen(test_seed());
  WC_RNG rng;
  ASSERT_EQ(wc_InitRng(&rng), 0);
  asynccrypt::EventQueue queue = new_queue();
  constexpr int kOps = 16;
  RsaKey sync_key;
  load_rsa(&sync_key, INVALID_DEVID);
  std::vector<RsaKey> keys(kOps);
  std::vector<Bytes> msgs(kOps), sigs(kOps);
  std::vector<Job> jobs(kOps);
  int done = 0;
  for (int i = 0; i < kOps; ++i) {
    load_rsa(&keys[i], dev.id());
    wc_RsaSetRNG(&keys[i], &rng);
    msgs[i] = random_bytes(gen, 32);
    jobs[i] = rsa_sign_job(&keys[i], &sync_key, &rng, msgs[i], &sigs[i], [&done] { ++done; });
  }
  run_batch(queue, jobs);
  EXPECT_EQ(done, kOps);
  const auto s = stats_of(dev);
  std::printf("submitted %llu, inline %llu\n", static_cast<unsigned long long>(s.submitted),
              static_cast<unsigned long long>(s.inline_runs));
  EXPECT_EQ(s.submitted, static_cast<unsigned long long>(kOps));
  EXPECT_GT(s.inline_runs, 0u);
  EXPECT_LT(s.inline_runs, static_cast<unsigned long long>(kOps)) << "the workers ran some";
  EXPECT_EQ(s.completed, s.submitted);
  EXPECT_EQ(s.in_flight, 0u);
  for (auto& k : keys) wc_FreeRsaKey(&k);
  wc_FreeRsaKey(&sync_key);
  wc_FreeRng(&rng);
}

// Freeing objects with operations in flight withdraws the unstarted ones and
// drains the running ones; nothing is reported twice or lost.
TEST(ThreadsDevice, FreeingObjectsCancelsOrDrains) {
  asynccrypt::DeviceHandle dev = open_pending_device("threads:workers=1,depth=1000");
  ASSERT_TRUE(dev.is_open());
  asynccrypt::EventQueue queue = new_queue();
  WC_RNG rng;
  ASSERT_EQ(wc_InitRng(&rng), 0);
  // Slow operations first, so that the single worker is busy when we cancel.
  constexpr int kSlow = 8;
  constexpr int kFast = 40;
  std::vector<RsaKey> keys(kSlow);
  std::vector<Bytes> in(kSlow, Bytes(256, 1)), out(kSlow, Bytes(256));
  std::vector<word32> out_len(kSlow, 256);
  for (int i = 0; i < kSlow; ++i) {
    load_rsa(&keys[i], dev.id());
    in[i][0] = 0;
    ASSERT_EQ(wc_RsaFunction(in[i].data(), 256, out[i].data(), &out_len[i], RSA_PRIVATE_DECRYPT,
                             &keys[i], &rng),
              WC_PENDING_E);
    ASSERT_EQ(wc_AsyncHandle(&keys[i].asyncDev, queue.get(), WC_ASYNC_FLAG_NONE), 0);
  }
  std::vector<Aes> aes(kFast);
  Bytes key(16, 7), iv(16, 9), plain(2048, 3);
  std::vector<Bytes> ct(kFast, Bytes(2048));
  for (int i = 0; i < kFast; ++i) {
    ASSERT_EQ(wc_AesInit(&aes[i], nullptr, dev.id()), 0);
    ASSERT_EQ(wc_AesSetKey(&aes[i], key.data(), 16, iv.data(), AES_ENCRYPTION), 0);
    ASSERT_EQ(wc_AesCbcEncrypt(&aes[i], ct[i].data(), plain.data(), 2048), WC_PENDING_E);
    ASSERT_EQ(wc_AsyncHandle(&aes[i].asyncDev, queue.get(), WC_ASYNC_FLAG_NONE), 0);
  }
  // Wait until the worker has taken the first operation.
  auto* first = static_cast<asynccrypt::Op*>(keys[0].asyncDev.inflight);
  ASSERT_NE(first, nullptr);
  while (first->phase.load(std::memory_order_acquire) == asynccrypt::OpPhase::kQueued) {
    std::this_thread::yield();
  }
  for (auto& a : aes) wc_AesFree(&a);      // most were never started: withdrawn
  for (auto& k : keys) wc_FreeRsaKey(&k);  // the running one is drained
  // Nothing is left for the queue to report.
  int count = -1;
  WOLF_EVENT* events[8];
  EXPECT_EQ(
      wolfAsync_EventQueuePoll(queue.get(), nullptr, events, 8, WOLF_POLL_FLAG_CHECK_HW, &count),
      0);
  EXPECT_EQ(count, 0);
  const auto s = stats_of(dev);
  std::printf("submitted %llu, completed %llu, cancelled %llu\n",
              static_cast<unsigned long long>(s.submitted),
              static_cast<unsigned long long>(s.completed),
              static_cast<unsigned long long>(s.cancelled));
  EXPECT_EQ(s.submitted, static_cast<unsigned long long>(kSlow + kFast));
  EXPECT_EQ(s.completed + s.cancelled, s.submitted);
  EXPECT_GT(s.cancelled, 0u);
  EXPECT_GE(s.completed, 1u) << "the first one had started: it was drained, not withdrawn";
  EXPECT_EQ(s.in_flight, 0u);
  wc_FreeRng(&rng);
}

// Several threads, each with its own queue (and half with a per-thread open
// of their own), keep many operations in flight and harvest their own.
TEST(ThreadsDevice, ManySubmittingThreadsEachWithItsOwnQueue) {
  asynccrypt::DeviceHandle shared_dev = open_pending_device(kThreadsSpec);
  ASSERT_TRUE(shared_dev.is_open());
  const std::uint32_t seed = test_seed();
  WC_RNG shared_rng;  // one RNG for every ECDSA signature of every thread
  ASSERT_EQ(wc_InitRng(&shared_rng), 0);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 24;
  std::atomic<int> verified{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      pthread_t self = pthread_self();
      asynccrypt::DeviceHandle own;
      int dev_id = shared_dev.id();
      if (t % 2 == 1) {
        own = open_pending_device("threads:workers=4,depth=16", self);
        ASSERT_TRUE(own.is_open());
        dev_id = own.id();
      }
      std::mt19937 gen(seed + static_cast<std::uint32_t>(t));
      asynccrypt::EventQueue queue = new_queue();
      std::vector<ecc_key> keys(kPerThread), verify(kPerThread);
      std::vector<Aes> aes(kPerThread);
      std::vector<Bytes> hashes(kPerThread), sigs(kPerThread, Bytes(ECC_MAX_SIG_SIZE));
      std::vector<word32> sig_len(kPerThread);
      std::vector<Bytes> plain(kPerThread), ct(kPerThread);
      const Bytes key = random_bytes(gen, 32), iv = random_bytes(gen, 16);
      std::vector<Job> jobs;
      for (int i = 0; i < kPerThread; ++i) {
        make_ecc_pair(dev_id, &shared_rng, &keys[i], &verify[i]);
        hashes[i] = random_bytes(gen, 32);
        sig_len[i] = ECC_MAX_SIG_SIZE;
        auto sign = [&, i] {
          return wc_ecc_sign_hash(hashes[i].data(), 32, sigs[i].data(), &sig_len[i], &shared_rng,
                                  &keys[i]);
        };
        jobs.push_back(Job{&keys[i].asyncDev, sign, sign, [&, i](int ret) {
                             ASSERT_EQ(ret, 0);
                             int ok = 0;
                             ASSERT_EQ(wc_ecc_verify_hash(sigs[i].data(), sig_len[i],
                                                          hashes[i].data(), 32, &ok, &verify[i]),
                                       0);
                             EXPECT_EQ(ok, 1);
                             verified.fetch_add(1);
                           }});
        plain[i] = random_bytes(gen, 1024 + 16 * (gen() % 32));
        ASSERT_NO_FATAL_FAILURE(init_aes_cbc(&aes[i], dev_id, key, iv, AES_ENCRYPTION));
        jobs.push_back(cbc_job(&aes[i], AES_ENCRYPTION, plain[i], &ct[i], [&, i](int ret) {
          ASSERT_EQ(ret, 0);
          EXPECT_EQ(ct[i], sync_cbc_encrypt(key, iv, plain[i]));
          verified.fetch_add(1);
        }));
      }
      run_batch(queue, jobs);
      for (int i = 0; i < kPerThread; ++i) {
        wc_ecc_free(&keys[i]);
        wc_ecc_free(&verify[i]);
        wc_AesFree(&aes[i]);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(verified.load(), kThreads * kPerThread * 2);
  wc_FreeRng(&shared_rng);
}

}  // namespace
