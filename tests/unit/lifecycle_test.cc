// Lifecycle safety: freeing keys, closing devices, freeing TLS connections and contexts, and
// stopping the hardware layer, each while operations are in flight, on every device kind.
#include "core/wolfssl_api.h"

#include <wolfssl/internal.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#define USE_CERT_BUFFERS_2048
#define USE_CERT_BUFFERS_256
#include <wolfssl/certs_test.h>

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "asynccrypt/device.h"
#include "asynccrypt/queue.h"
#include "core/queue_state.h"
#include "core/registry.h"
#include "support/deadline.h"
#include "support/device_list.h"
#include "support/device_open.h"

// wolfSSL 5.5.4 leaks SendServerKeyExchange's temporary message buffer
// (args->input) when a connection is freed while its ServerKeyExchange
// signature is pending: FreeSskeArgs does not free it (docs/known-issues.md,
// 6). That leak only, by name, for LeakSanitizer builds.
extern "C" const char* __lsan_default_suppressions() { return "leak:SendServerKeyExchange\n"; }

namespace {

using testing_support::open_device;

constexpr word32 kGcmSz = 2 * WC_ASYNC_THRESH_AES_GCM;

bool state_exists(WOLF_EVENT_QUEUE* queue) {
  return asynccrypt::QueueTable::instance().find(queue) != nullptr;
}

// Decodes a DER private key into *key with one of wolfCrypt's decoders.
template <typename Key, typename Decode>
void decode_key(Decode decode, const byte* der, std::size_t der_sz, Key* key) {
  word32 idx = 0;
  EXPECT_EQ(decode(der, &idx, key, static_cast<word32>(der_sz)), 0);
}

// One key or cipher object with an operation in flight.
class Job {
 public:
  virtual ~Job() = default;
  // Records an operation; returns what the wolfCrypt call returned.
  virtual int start() = 0;
  virtual WC_ASYNC_DEV* dev() = 0;
};

class AesJob final : public Job {
 public:
  explicit AesJob(int dev_id) {
    EXPECT_EQ(wc_AesInit(&aes_, nullptr, dev_id), 0);
    const byte key[16] = {9, 8, 7};
    EXPECT_EQ(wc_AesGcmSetKey(&aes_, key, sizeof key), 0);
  }
  ~AesJob() override { wc_AesFree(&aes_); }
  int start() override {
    return wc_AesGcmEncrypt(&aes_, out_, in_, kGcmSz, iv_, sizeof iv_, tag_, sizeof tag_, nullptr,
                            0);
  }
  WC_ASYNC_DEV* dev() override { return &aes_.asyncDev; }

 private:
  Aes aes_;
  byte iv_[12] = {1};
  byte in_[kGcmSz] = {2};
  byte out_[kGcmSz] = {};
  byte tag_[16] = {};
};

class RsaJob final : public Job {
 public:
  RsaJob(int dev_id, WC_RNG* rng) : rng_(rng) {
    EXPECT_EQ(wc_InitRsaKey_ex(&key_, nullptr, dev_id), 0);
    decode_key(wc_RsaPrivateKeyDecode, client_key_der_2048, sizeof_client_key_der_2048, &key_);
    EXPECT_EQ(wc_RsaSetRNG(&key_, rng_), 0);
  }
  ~RsaJob() override { wc_FreeRsaKey(&key_); }
  int start() override { return wc_RsaSSL_Sign(in_, sizeof in_, out_, sizeof out_, &key_, rng_); }
  WC_ASYNC_DEV* dev() override { return &key_.asyncDev; }

 private:
  RsaKey key_;
  WC_RNG* rng_;
  byte in_[32] = {3};
  byte out_[256] = {};
};

class EccJob final : public Job {
 public:
  EccJob(int dev_id, WC_RNG* rng) : rng_(rng) {
    EXPECT_EQ(wc_ecc_init_ex(&key_, nullptr, dev_id), 0);
    decode_key(wc_EccPrivateKeyDecode, ecc_key_der_256, sizeof_ecc_key_der_256, &key_);
  }
  ~EccJob() override { wc_ecc_free(&key_); }
  int start() override {
    sig_len_ = sizeof sig_;
    return wc_ecc_sign_hash(hash_, sizeof hash_, sig_, &sig_len_, rng_, &key_);
  }
  WC_ASYNC_DEV* dev() override { return &key_.asyncDev; }

 private:
  ecc_key key_;
  WC_RNG* rng_;
  byte hash_[32] = {4};
  byte sig_[128] = {};
  word32 sig_len_ = 0;
};

// LifecycleTest runs on every device of the shared list on which every
// operation pends (testing_support::pending_devices(true)): the tests free
// and close things while AES, RSA and ECC operations are in flight.
// threads_decline_test.cc covers the declining of cheap operations.
class LifecycleTest : public testing_support::DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(wc_InitRng(&rng_), 0);
    auto queue = asynccrypt::EventQueue::create();
    ASSERT_TRUE(queue) << queue.error().describe();
    queue_ = std::move(*queue);
  }
  void TearDown() override {
    jobs_.clear();
    if (queue() == nullptr) return;  // SetUp failed: nothing (or only the RNG) to check
    EXPECT_EQ(queue()->count, 0);
    EXPECT_FALSE(state_exists(queue()));
    wc_FreeRng(&rng_);
    // queue_ and dev_ (unless a test closed it) go with the fixture.
  }

  WOLF_EVENT_QUEUE* queue() const { return queue_.get(); }

  // Starts one job of each kind, n times, each queued with wc_AsyncHandle.
  void start_all(int n) {
    for (int i = 0; i < n; ++i) {
      jobs_.push_back(std::make_unique<AesJob>(dev_.id()));
      jobs_.push_back(std::make_unique<RsaJob>(dev_.id(), &rng_));
      jobs_.push_back(std::make_unique<EccJob>(dev_.id(), &rng_));
    }
    for (auto& job : jobs_) {
      ASSERT_EQ(job->start(), WC_PENDING_E);
      ASSERT_EQ(wc_AsyncHandle(job->dev(), queue(), WC_ASYNC_FLAG_CALL_AGAIN), 0);
    }
    EXPECT_EQ(queue()->count, static_cast<int>(jobs_.size()));
  }

  int poll(WOLF_EVENT_FLAG flags = WOLF_POLL_FLAG_CHECK_HW) {
    WOLF_EVENT* events[64];
    auto count = queue_.poll(events, 64, flags);
    EXPECT_TRUE(count) << count.error().describe();
    return count ? *count : -1;
  }

  asynccrypt_DevStats stats() {
    auto s = dev_.stats();
    EXPECT_TRUE(s) << s.error().describe();
    return s ? *s : asynccrypt_DevStats{};
  }

  asynccrypt::EventQueue queue_;
  WC_RNG rng_;
  std::vector<std::unique_ptr<Job>> jobs_;
};

// Every key freed right after submission: cancelled or drained.
TEST_P(LifecycleTest, FreeKeysWhileInFlight) {
  start_all(3);
  jobs_.clear();
  EXPECT_EQ(queue()->count, 0);
  EXPECT_EQ(poll(), 0);
  const asynccrypt_DevStats s = stats();
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.submitted, s.completed + s.cancelled);
}

// Keys freed one by one between polls: some done, some not, some running.
TEST_P(LifecycleTest, FreeKeysBetweenPolls) {
  start_all(4);
  int harvested = 0;
  std::size_t next = 0;
  while (next < jobs_.size()) {
    harvested += poll();
    jobs_[next++].reset();  // frees it, whatever state its operation is in
    if (next % 3 == 0) wc_AsyncSleep(1);
  }
  harvested += poll();
  EXPECT_EQ(queue()->count, 0);
  EXPECT_LE(harvested, 12);
  const asynccrypt_DevStats s = stats();
  EXPECT_EQ(s.in_flight, 0u);
}

// Finished but never harvested: freeing discards the results.
TEST_P(LifecycleTest, FreeKeysWithUnharvestedResults) {
  start_all(2);
  // Let everything finish without harvesting: a poll without events[]
  // harvests too, so drive single events instead. Workers: bounded in
  // time, not rounds.
  const testing_support::Deadline deadline;
  while (!deadline.passed()) {
    bool pending = false;
    for (auto& job : jobs_) {
      EXPECT_EQ(wolfAsync_EventPoll(&job->dev()->event, WOLF_POLL_FLAG_CHECK_HW), 0);
      pending = pending || job->dev()->event.state == WOLF_EVENT_STATE_PENDING;
    }
    if (!pending) break;
    wc_AsyncSleep(0);
  }
  for (auto& job : jobs_) EXPECT_NE(job->dev()->event.state, WOLF_EVENT_STATE_PENDING);
  EXPECT_EQ(queue()->count, 6);
  jobs_.clear();
  EXPECT_EQ(queue()->count, 0);
  EXPECT_EQ(poll(), 0);
}

// Closing the device does not cancel: every operation still completes, the
// device lives until the last one is harvested.
TEST_P(LifecycleTest, CloseDeviceWhileInFlight) {
  start_all(2);
  const int closed = dev_.id();
  std::weak_ptr<asynccrypt::Device> device = asynccrypt::Registry::instance().find(closed);
  dev_.close();
  EXPECT_EQ(dev_.id(), INVALID_DEVID);
  EXPECT_EQ(asynccrypt::Registry::instance().find(closed), nullptr);
  EXPECT_FALSE(device.expired());  // kept alive by its operations
  int harvested = 0;
  const testing_support::Deadline deadline;  // workers: bounded in time, not rounds
  while (!deadline.passed() && harvested < 6) {
    harvested += poll();
    if (harvested < 6) wc_AsyncSleep(0);
  }
  EXPECT_EQ(harvested, 6);
  for (auto& job : jobs_) EXPECT_EQ(job->dev()->event.ret, 0);
  EXPECT_TRUE(device.expired());
  // Closed again (TearDown) is a no-op.
}

// Close, then free the objects with their operations in flight.
TEST_P(LifecycleTest, CloseDeviceThenFreeKeys) {
  start_all(2);
  std::weak_ptr<asynccrypt::Device> device = asynccrypt::Registry::instance().find(dev_.id());
  dev_.close();
  poll();
  jobs_.clear();
  EXPECT_EQ(queue()->count, 0);
  EXPECT_TRUE(device.expired());
}

// wolfAsync_HardwareStop only counts: nothing in flight is disturbed.
TEST_P(LifecycleTest, HardwareStopWhileInFlight) {
  ASSERT_EQ(wolfAsync_HardwareStart(), 0);
  start_all(2);
  wolfAsync_HardwareStop();
  wolfAsync_HardwareStop();  // an extra one too
  int harvested = 0;
  const testing_support::Deadline deadline;  // workers: bounded in time, not rounds
  while (!deadline.passed() && harvested < 6) {
    harvested += poll();
    if (harvested < 6) wc_AsyncSleep(0);
  }
  EXPECT_EQ(harvested, 6);
  for (auto& job : jobs_) EXPECT_EQ(job->dev()->event.ret, 0);
  // And frees after a stop are as safe as ever.
  jobs_.clear();
  ASSERT_EQ(wolfAsync_HardwareStart(), 0);
  start_all(1);
  wolfAsync_HardwareStop();
  jobs_.clear();
}

// ---------------------------------------------------------------------------
// TLS: in-memory client and server in one thread.
// ---------------------------------------------------------------------------

struct Pipe {
  std::deque<byte> c2s;
  std::deque<byte> s2c;
};

int io_send(std::deque<byte>& to, const char* buf, int sz) {
  to.insert(to.end(), buf, buf + sz);
  return sz;
}
int io_recv(std::deque<byte>& from, char* buf, int sz) {
  if (from.empty()) return WOLFSSL_CBIO_ERR_WANT_READ;
  const int n = std::min<int>(sz, static_cast<int>(from.size()));
  std::copy_n(from.begin(), n, buf);
  from.erase(from.begin(), from.begin() + n);
  return n;
}
int client_send(WOLFSSL*, char* buf, int sz, void* ctx) {
  return io_send(static_cast<Pipe*>(ctx)->c2s, buf, sz);
}
int client_recv(WOLFSSL*, char* buf, int sz, void* ctx) {
  return io_recv(static_cast<Pipe*>(ctx)->s2c, buf, sz);
}
int server_send(WOLFSSL*, char* buf, int sz, void* ctx) {
  return io_send(static_cast<Pipe*>(ctx)->s2c, buf, sz);
}
int server_recv(WOLFSSL*, char* buf, int sz, void* ctx) {
  return io_recv(static_cast<Pipe*>(ctx)->c2s, buf, sz);
}

// How to tear down after the abort.
enum class Teardown {
  kFreeSslThenCtx,    // wolfSSL_free both, then wolfSSL_CTX_free both
  kFreeCtxThenSsl,    // wolfSSL_CTX_free first (reference counted), then wolfSSL_free
  kPollOnceThenFree,  // one poll of the CTX after the abort, then as the first
};

struct Tls {
  WOLFSSL_CTX* cctx = nullptr;
  WOLFSSL_CTX* sctx = nullptr;
  WOLFSSL* client = nullptr;
  WOLFSSL* server = nullptr;
  Pipe pipe;
};

void setup_tls(Tls& t, int dev_id, bool tls12) {
  wolfSSL_Init();
  t.cctx = wolfSSL_CTX_new(tls12 ? wolfTLSv1_2_client_method() : wolfTLS_client_method());
  t.sctx = wolfSSL_CTX_new(tls12 ? wolfTLSv1_2_server_method() : wolfTLS_server_method());
  ASSERT_NE(t.cctx, nullptr);
  ASSERT_NE(t.sctx, nullptr);
  wolfSSL_CTX_set_verify(t.cctx, WOLFSSL_VERIFY_NONE, nullptr);
  ASSERT_EQ(wolfSSL_CTX_use_certificate_buffer(t.sctx, server_cert_der_2048,
                                               sizeof_server_cert_der_2048, WOLFSSL_FILETYPE_ASN1),
            WOLFSSL_SUCCESS);
  ASSERT_EQ(wolfSSL_CTX_use_PrivateKey_buffer(t.sctx, server_key_der_2048,
                                              sizeof_server_key_der_2048, WOLFSSL_FILETYPE_ASN1),
            WOLFSSL_SUCCESS);
  ASSERT_EQ(wolfSSL_CTX_SetDevId(t.cctx, dev_id), WOLFSSL_SUCCESS);
  ASSERT_EQ(wolfSSL_CTX_SetDevId(t.sctx, dev_id), WOLFSSL_SUCCESS);
  wolfSSL_CTX_SetIORecv(t.cctx, client_recv);
  wolfSSL_CTX_SetIOSend(t.cctx, client_send);
  wolfSSL_CTX_SetIORecv(t.sctx, server_recv);
  wolfSSL_CTX_SetIOSend(t.sctx, server_send);
  t.client = wolfSSL_new(t.cctx);
  t.server = wolfSSL_new(t.sctx);
  ASSERT_NE(t.client, nullptr);
  ASSERT_NE(t.server, nullptr);
  wolfSSL_SetIOReadCtx(t.client, &t.pipe);
  wolfSSL_SetIOWriteCtx(t.client, &t.pipe);
  wolfSSL_SetIOReadCtx(t.server, &t.pipe);
  wolfSSL_SetIOWriteCtx(t.server, &t.pipe);
}

// Runs the handshake; stops at the abort_at-th WC_PENDING_E (counting both
// sides) and returns true, or returns false when the handshake finished
// first.
bool handshake_until(Tls& t, int abort_at, WOLFSSL** aborted) {
  int pendings = 0;
  bool client_done = false;
  bool server_done = false;
  const testing_support::Deadline deadline;  // workers: bounded in time, not steps
  while (!deadline.passed() && !(client_done && server_done)) {
    for (int side = 0; side < 2; ++side) {
      WOLFSSL* ssl = side == 0 ? t.client : t.server;
      bool& done = side == 0 ? client_done : server_done;
      if (done) continue;
      const int ret = side == 0 ? wolfSSL_connect(ssl) : wolfSSL_accept(ssl);
      if (ret == WOLFSSL_SUCCESS) {
        done = true;
        continue;
      }
      const int err = wolfSSL_get_error(ssl, ret);
      if (err == WC_PENDING_E) {
        if (++pendings == abort_at) {
          *aborted = ssl;
          return true;
        }
        EXPECT_GE(wolfSSL_AsyncPoll(ssl, WOLF_POLL_FLAG_CHECK_HW), 0);
        continue;
      }
      EXPECT_TRUE(err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
          << "handshake error " << err;
      if (!(err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)) return false;
    }
  }
  EXPECT_TRUE(client_done && server_done);
  return false;
}

bool worker_device(const char* spec) { return std::strstr(spec, "threads") != nullptr; }

void teardown_tls(Tls& t, Teardown how) {
  WOLF_EVENT_QUEUE* cq = &t.cctx->event_queue;
  WOLF_EVENT_QUEUE* sq = &t.sctx->event_queue;
  if (how == Teardown::kPollOnceThenFree) {
    WOLF_EVENT* events[8];
    int count = 0;
    EXPECT_EQ(wolfSSL_CTX_AsyncPoll(t.sctx, events, 8, WOLF_POLL_FLAG_CHECK_HW, &count), 0);
    EXPECT_EQ(wolfSSL_CTX_AsyncPoll(t.cctx, events, 8, WOLF_POLL_FLAG_CHECK_HW, &count), 0);
  }
  if (how == Teardown::kFreeCtxThenSsl) {
    wolfSSL_CTX_free(t.cctx);  // still referenced by its connection
    wolfSSL_CTX_free(t.sctx);
    wolfSSL_free(t.server);
    wolfSSL_free(t.client);
  } else {
    wolfSSL_free(t.server);
    wolfSSL_free(t.client);
    // Nothing of the connections is left in their CTXs' queues, nor in ours.
    EXPECT_EQ(cq->count, 0);
    EXPECT_EQ(sq->count, 0);
    EXPECT_FALSE(state_exists(cq));
    EXPECT_FALSE(state_exists(sq));
    wolfSSL_CTX_free(t.cctx);
    wolfSSL_CTX_free(t.sctx);
  }
  // Either way, no state outlives the CTXs (addresses compared only).
  EXPECT_FALSE(state_exists(cq));
  EXPECT_FALSE(state_exists(sq));
}

class TlsLifecycleTest
    : public ::testing::TestWithParam<std::tuple<testing_support::DeviceCase, bool>> {};

// Aborts a handshake at every pending point in turn (both sides counted),
// freeing the connection with the crypto operation still in flight.
TEST_P(TlsLifecycleTest, FreeMidHandshakeAtEveryPendingPoint) {
  const char* spec = std::get<0>(GetParam()).spec;
  const bool tls12 = std::get<1>(GetParam());
  asynccrypt::DeviceHandle dev;
  std::string skip;
  testing_support::open_case(std::get<0>(GetParam()), &dev, &skip);
  if (!skip.empty()) DPDK_UNAVAILABLE(skip);
  ASSERT_TRUE(dev.is_open());
  int aborts = 0;
  const Teardown hows[] = {Teardown::kFreeSslThenCtx, Teardown::kFreeCtxThenSsl,
                           Teardown::kPollOnceThenFree};
  for (int abort_at = 1; abort_at < 200; ++abort_at) {
    Tls t;
    setup_tls(t, dev.id(), tls12);
    WOLFSSL* aborted = nullptr;
    const bool hit = handshake_until(t, abort_at, &aborted);
    (void)aborted;
    if (hit && worker_device(spec)) {
      // Both sides may have an operation in flight. wolfSSL_free frees
      // buffers a worker writes (ssl->arrays) before the key whose free
      // would drain it, so drain first (found by TSan; see async.h).
      EXPECT_EQ(asynccrypt_SslDrain(t.client), 0);
      EXPECT_EQ(asynccrypt_SslDrain(t.server), 0);
    }
    teardown_tls(t, hows[abort_at % 3]);
    if (!hit) break;
    ++aborts;
  }
  EXPECT_GE(aborts, 3) << "too few pending points: is the device asynchronous?";
  auto s = dev.stats();
  ASSERT_TRUE(s) << s.error().describe();
  EXPECT_EQ(s->in_flight, 0u);
}

// wolfSSL_CTX_free with an fd asked for and never released: the state
// stays (one fd) until asynccrypt_QueueRelease, and holds no operation.
TEST(TlsCtxLifecycle, CtxFreedWithItsFdStillHeld) {
  asynccrypt::DeviceHandle dev = open_device("chaos:seed=9");
  ASSERT_TRUE(dev.is_open());
  Tls t;
  setup_tls(t, dev.id(), false);
  WOLF_EVENT_QUEUE* sq = &t.sctx->event_queue;
  ASSERT_GE(asynccrypt_QueueFd(sq), 0);
  WOLFSSL* aborted = nullptr;
  ASSERT_TRUE(handshake_until(t, 3, &aborted));
  wolfSSL_free(t.server);
  wolfSSL_free(t.client);
  wolfSSL_CTX_free(t.cctx);
  wolfSSL_CTX_free(t.sctx);
  ASSERT_TRUE(state_exists(sq));  // pinned by its fd
  {
    auto qs = asynccrypt::QueueTable::instance().find(sq);
    std::lock_guard lock(qs->mu);
    EXPECT_EQ(qs->live_ops, 0u);
    EXPECT_TRUE(qs->done.empty());
    EXPECT_TRUE(qs->polled.empty());
  }
  EXPECT_EQ(asynccrypt_QueueRelease(sq), 0);  // by address: the CTX is gone
  EXPECT_FALSE(state_exists(sq));
}

INSTANTIATE_TEST_SUITE_P(Devices, LifecycleTest,
                         ::testing::ValuesIn(testing_support::pending_devices(true)),
                         testing_support::device_name);

// The handshake counts its pending points, so it too runs where every
// operation pends: a device that declines (threads_declining, dpdk on a
// driver without public-key operations) leaves too few in TLS 1.2.
INSTANTIATE_TEST_SUITE_P(
    Devices, TlsLifecycleTest,
    ::testing::Combine(::testing::ValuesIn(testing_support::pending_devices(true)),
                       ::testing::Bool()),
    [](const auto& info) {
      return std::string(std::get<0>(info.param).name) +
             (std::get<1>(info.param) ? "_tls12" : "_tls13");
    });

}  // namespace
