// Unit tests of non-blocking ECC on the simulator (sim_device.cc slice budget, execute.cc).
//
// They need a wolfSSL configured with --enable-ecc=nonblock --enable-sp=yes,nonblock
// (WC_ECC_NONBLOCK); elsewhere every test is skipped.
#include "core/wolfssl_api.h"

#define USE_CERT_BUFFERS_256
#include <wolfssl/certs_test.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "asynccrypt/device.h"
#include "support/device_open.h"
#include "support/polled_op.h"
#include "support/tls_pipe.h"

namespace {

#if defined(WC_ECC_NONBLOCK) && defined(WOLFSSL_ASYNC_CRYPT_SW) && defined(WC_ASYNC_ENABLE_ECC)
constexpr bool kNonblock = true;
#else
constexpr bool kNonblock = false;
#endif

#define SKIP_WITHOUT_NONBLOCK()                            \
  if (!kNonblock)                                          \
  GTEST_SKIP() << "wolfSSL built without WC_ECC_NONBLOCK " \
                  "(--enable-ecc=nonblock --enable-sp=yes,nonblock)"

#if defined(WC_ECC_NONBLOCK) && defined(WOLFSSL_ASYNC_CRYPT_SW) && defined(WC_ASYNC_ENABLE_ECC)

using asynccrypt::DeviceHandle;
using testing_support::open_device;
using testing_support::Resume;

// Runs one operation that pends once (a sign, a verify, an ECDH or a key
// generation) to its end, through polls of a queue of its own, and
// returns how many polls it took (-1 when the first call did not pend);
// *result gets the operation's result.
template <typename Call>
int run_polled_once(ecc_key* key, Resume resume, Call call, int* result) {
  const testing_support::PolledRun run = testing_support::run_polled(
      &key->asyncDev, resume, call, {.max_pends = 1, .max_polls = 10'000'000});
  if (run.pends == 0) {
    ADD_FAILURE() << "first call did not pend: " << run.result;
    return -1;
  }
  EXPECT_EQ(run.event_result, 0);
  *result = run.result;
  return static_cast<int>(run.polls);
}

class Curve : public ::testing::TestWithParam<int> {
 public:
  void SetUp() override {
    SKIP_WITHOUT_NONBLOCK();
    ASSERT_EQ(wc_InitRng(&rng_), 0);
    rng_ok_ = true;
    // A blocking pair (no device, no non-blocking context).
    ASSERT_EQ(wc_ecc_init_ex(&a_, nullptr, INVALID_DEVID), 0);
    ASSERT_EQ(wc_ecc_init_ex(&b_, nullptr, INVALID_DEVID), 0);
    keys_ok_ = true;
    ASSERT_EQ(wc_ecc_make_key(&rng_, GetParam(), &a_), 0);
    ASSERT_EQ(wc_ecc_make_key(&rng_, GetParam(), &b_), 0);
    der_sz_ = wc_EccKeyToDer(&a_, der_, sizeof der_);
    ASSERT_GT(der_sz_, 0);
    std::memset(digest_, 0x3c, sizeof digest_);
  }
  void TearDown() override {
    if (keys_ok_) {
      wc_ecc_free(&a_);
      wc_ecc_free(&b_);
    }
    if (rng_ok_) wc_FreeRng(&rng_);
  }

  // Loads a_'s key pair into `key`, on device `dev_id`, non-blocking.
  void load_a(ecc_key* key, ecc_nb_ctx_t* nb, int dev_id) {
    ASSERT_EQ(wc_ecc_init_ex(key, nullptr, dev_id), 0);
    word32 idx = 0;
    ASSERT_EQ(wc_EccPrivateKeyDecode(der_, &idx, key, static_cast<word32>(der_sz_)), 0);
    ASSERT_EQ(wc_ecc_set_nonblock(key, nb), 0);
  }

  std::vector<byte> blocking_sign() {
    std::vector<byte> sig(ECC_MAX_SIG_SIZE);
    word32 sz = static_cast<word32>(sig.size());
    EXPECT_EQ(wc_ecc_sign_hash(digest_, sizeof digest_, sig.data(), &sz, &rng_, &a_), 0);
    sig.resize(sz);
    return sig;
  }

  int blocking_verify(const std::vector<byte>& sig) {
    int stat = -1;
    EXPECT_EQ(wc_ecc_verify_hash(sig.data(), static_cast<word32>(sig.size()), digest_,
                                 sizeof digest_, &stat, &a_),
              0);
    return stat;
  }

  WC_RNG rng_;
  bool rng_ok_ = false;
  bool keys_ok_ = false;
  ecc_key a_;
  ecc_key b_;
  byte der_[512];
  int der_sz_ = 0;
  byte digest_[32];
};

// Enough slices per poll to keep the tests quick, few enough that every
// operation takes many polls.
constexpr const char* kSpec = "sim:slices=64";

TEST_P(Curve, SignMatchesBlockingVerifyAndTakesManyPolls) {
  DeviceHandle dev = open_device(kSpec);
  ecc_key key;
  ecc_nb_ctx_t nb;
  load_a(&key, &nb, dev.id());
  // Twice on one key and context: the second sign must start afresh.
  for (int round = 0; round < 2; ++round) {
    std::vector<byte> sig(ECC_MAX_SIG_SIZE);
    word32 sz = static_cast<word32>(sig.size());
    int result = -1;
    const int polls = run_polled_once(
        &key, Resume::kCallAgain,
        [&] {
          sz = static_cast<word32>(sig.size());
          return wc_ecc_sign_hash(digest_, sizeof digest_, sig.data(), &sz, &rng_, &key);
        },
        &result);
    ASSERT_EQ(result, 0) << "round " << round;
    sig.resize(sz);
    EXPECT_GT(polls, 20) << "round " << round;
    EXPECT_EQ(blocking_verify(sig), 1) << "round " << round;
  }
  wc_ecc_free(&key);
}

TEST_P(Curve, VerifyMatchesBlocking) {
  DeviceHandle dev = open_device(kSpec);
  ecc_key key;
  ecc_nb_ctx_t nb;
  load_a(&key, &nb, dev.id());
  std::vector<byte> good = blocking_sign();
  std::vector<byte> bad = good;
  bad[bad.size() - 3] ^= 0x01;  // inside s: still decodes, no longer verifies
  for (const auto* sig : {&good, &bad, &good}) {
    int stat = -1;
    int result = -1;
    const int polls = run_polled_once(
        &key, Resume::kCallAgain,
        [&] {
          return wc_ecc_verify_hash(sig->data(), static_cast<word32>(sig->size()), digest_,
                                    sizeof digest_, &stat, &key);
        },
        &result);
    ASSERT_EQ(result, 0);
    EXPECT_GT(polls, 20);
    EXPECT_EQ(stat, blocking_verify(*sig));
  }
  wc_ecc_free(&key);
}

TEST_P(Curve, SharedSecretMatchesBlocking) {
  DeviceHandle dev = open_device(kSpec);
  byte expect[MAX_ECC_BYTES];
  word32 expect_sz = sizeof expect;
  ASSERT_EQ(wc_ecc_shared_secret(&a_, &b_, expect, &expect_sz), 0);
  ecc_key key;
  ecc_nb_ctx_t nb;
  load_a(&key, &nb, dev.id());
  for (int round = 0; round < 2; ++round) {
    byte out[MAX_ECC_BYTES];
    word32 out_sz = sizeof out;
    int result = -1;
    const int polls = run_polled_once(
        &key, Resume::kCallAgain,
        [&] {
          // The call that collects reads the length the operation wrote.
          return wc_ecc_shared_secret(&key, &b_, out, &out_sz);
        },
        &result);
    ASSERT_EQ(result, 0);
    EXPECT_GT(polls, 20);
    ASSERT_EQ(out_sz, expect_sz);
    EXPECT_EQ(std::memcmp(out, expect, out_sz), 0) << "round " << round;
  }
  wc_ecc_free(&key);
}

// Generates a key pair in `key` (on a device, non-blocking) and checks it
// with ECDH against b_, also non-blocking. `own_ctx` is the key's own
// non-blocking context, or nullptr for a key that borrows one per
// operation from the simulator (and must not keep it).
void make_key_and_check(Curve& t, ecc_key* key, ecc_nb_ctx_t* own_ctx) {
  ASSERT_EQ(wc_ecc_set_nonblock(key, own_ctx), 0);
  int result = -1;
  // Key generation has no call-again step: the completion is the result.
  const int polls = run_polled_once(
      key, Resume::kEventResult, [&] { return wc_ecc_make_key(&t.rng_, t.GetParam(), key); },
      &result);
  ASSERT_EQ(result, 0);
  EXPECT_GT(polls, 20) << "key generation ran in slices";
  EXPECT_EQ(key->nb_ctx, own_ctx) << "a borrowed context is given back";
  // The new pair agrees with blocking ECDH from the other side:
  // b * (k * G) computed blocking == k * (b * G) computed non-blocking.
  byte blocking[MAX_ECC_BYTES];
  word32 blocking_sz = sizeof blocking;
  ASSERT_EQ(wc_ecc_shared_secret(&t.b_, key, blocking, &blocking_sz), 0);
  byte out[MAX_ECC_BYTES];
  word32 out_sz = sizeof out;
  const int ecdh_polls = run_polled_once(
      key, Resume::kCallAgain, [&] { return wc_ecc_shared_secret(key, &t.b_, out, &out_sz); },
      &result);
  ASSERT_EQ(result, 0);
  EXPECT_GT(ecdh_polls, 20) << "ECDH ran in slices";
  EXPECT_EQ(key->nb_ctx, own_ctx);
  ASSERT_EQ(out_sz, blocking_sz);
  EXPECT_EQ(std::memcmp(out, blocking, out_sz), 0);
}

TEST_P(Curve, MakeKeyGivesAConsistentPair) {
  DeviceHandle dev = open_device(kSpec);
  ecc_key key;
  ecc_nb_ctx_t nb;
  ASSERT_EQ(wc_ecc_init_ex(&key, nullptr, dev.id()), 0);
  make_key_and_check(*this, &key, &nb);
  wc_ecc_free(&key);
}

// wolfSSL gives TLS 1.3's key-share keys no non-blocking context; the
// simulator lends one for each operation, so they run in slices too, and
// takes it back afterwards.
TEST_P(Curve, KeysWithoutAContextBorrowOneForEachOperation) {
  DeviceHandle dev = open_device(kSpec);
  ecc_key key;
  ASSERT_EQ(wc_ecc_init_ex(&key, nullptr, dev.id()), 0);
  make_key_and_check(*this, &key, nullptr);
  wc_ecc_free(&key);
}

// Freeing a key half way through an operation gives the loan back (ASan
// and valgrind would report the context otherwise) and leaves nothing
// behind in the queue.
TEST_P(Curve, FreeingAKeyMidOperationReturnsItsLoan) {
  DeviceHandle dev = open_device("sim:slices=1");
  ecc_key key;
  ASSERT_EQ(wc_ecc_init_ex(&key, nullptr, dev.id()), 0);
  ASSERT_EQ(wc_ecc_make_key(&rng_, GetParam(), &key), WC_PENDING_E);
  WOLF_EVENT_QUEUE queue;
  ASSERT_EQ(wolfEventQueue_Init(&queue), 0);
  ASSERT_EQ(wc_AsyncHandle(&key.asyncDev, &queue, WC_ASYNC_FLAG_CALL_AGAIN), 0);
  for (int i = 0; i < 10; ++i) {
    WOLF_EVENT* events[1];
    int count = 0;
    ASSERT_EQ(wolfAsync_EventQueuePoll(&queue, nullptr, events, 1, WOLF_POLL_FLAG_CHECK_HW, &count),
              0);
    ASSERT_EQ(count, 0) << "one slice per poll cannot finish a key in 10 polls";
  }
  EXPECT_NE(key.nb_ctx, nullptr) << "the key holds a loan while its operation runs";
  wc_ecc_free(&key);
  EXPECT_EQ(queue.count, 0) << "freeing the key unlinked its event";
  wolfEventQueue_Free(&queue);
}

// Polls one P-256 sign takes on a device opened from `spec`.
int sign_polls(Curve& t, const char* spec) {
  DeviceHandle dev = open_device(spec);
  ecc_key key;
  ecc_nb_ctx_t nb;
  t.load_a(&key, &nb, dev.id());
  std::vector<byte> sig(ECC_MAX_SIG_SIZE);
  word32 sz = 0;
  int result = -1;
  const int polls = run_polled_once(
      &key, Resume::kCallAgain,
      [&] {
        sz = static_cast<word32>(sig.size());
        return wc_ecc_sign_hash(t.digest_, sizeof t.digest_, sig.data(), &sz, &t.rng_, &key);
      },
      &result);
  EXPECT_EQ(result, 0);
  sig.resize(sz);
  EXPECT_EQ(t.blocking_verify(sig), 1);
  wc_ecc_free(&key);
  return polls;
}

TEST_P(Curve, SliceCountBoundsEachPoll) {
  const int one = sign_polls(*this, "sim:slices=1");
  const int many = sign_polls(*this, "sim:slices=256");
  // wolfSSL's P-256 sign is ~12,000 slices; P-384 more.
  EXPECT_GT(one, 5000);
  EXPECT_GT(many, 10);
  EXPECT_LT(many * 100, one) << "slices=1: " << one << " polls, slices=256: " << many;
  // Unbounded slices with a generous time budget: done in a few polls.
  EXPECT_LE(sign_polls(*this, "sim:slices=0,budget_us=1000000"), 3);
}

// Polls that two P-256 signs in flight together, each on its own key, take
// to finish on a device opened from `spec`.
int two_sign_polls(Curve& t, const char* spec) {
  DeviceHandle dev = open_device(spec);
  ecc_key keys[2];
  ecc_nb_ctx_t nb[2];
  std::vector<byte> sig[2];
  word32 sz[2] = {};
  WOLF_EVENT_QUEUE queue;
  EXPECT_EQ(wolfEventQueue_Init(&queue), 0);
  for (int i = 0; i < 2; ++i) {
    t.load_a(&keys[i], &nb[i], dev.id());
    sig[i].resize(ECC_MAX_SIG_SIZE);
    sz[i] = static_cast<word32>(sig[i].size());
    EXPECT_EQ(
        wc_ecc_sign_hash(t.digest_, sizeof t.digest_, sig[i].data(), &sz[i], &t.rng_, &keys[i]),
        WC_PENDING_E);
    EXPECT_EQ(wc_AsyncHandle(&keys[i].asyncDev, &queue, WC_ASYNC_FLAG_CALL_AGAIN), 0);
  }
  int polls = 0;
  for (int done = 0; done < 2 && polls < 10'000'000; ++polls) {
    WOLF_EVENT* events[2];
    int count = 0;
    EXPECT_EQ(wolfAsync_EventQueuePoll(&queue, nullptr, events, 2, WOLF_POLL_FLAG_CHECK_HW, &count),
              0);
    done += count;
  }
  wolfEventQueue_Free(&queue);
  for (auto& key : keys) wc_ecc_free(&key);
  return polls;
}

// The budget is per poll, not per operation: two operations in flight
// share it, so they take about twice the polls of one, and a poll lasts
// about one budget however many are in flight.
TEST_P(Curve, OperationsInFlightShareOnePollBudget) {
  const int one = sign_polls(*this, "sim:slices=16");
  const int two = two_sign_polls(*this, "sim:slices=16");
  EXPECT_GT(two, one * 17 / 10) << "one sign: " << one << " polls, two: " << two;
  EXPECT_LT(two, one * 23 / 10) << "one sign: " << one << " polls, two: " << two;
}

TEST_P(Curve, TimeBudgetBoundsEachPoll) {
  // The default (5 us) and a long budget; the long one needs far fewer polls.
  const int short_budget = sign_polls(*this, "sim");
  const int long_budget = sign_polls(*this, "sim:budget_us=100000");
  EXPECT_GT(short_budget, 5);
  EXPECT_LT(long_budget, short_budget);
  EXPECT_LE(long_budget, 3);
}

INSTANTIATE_TEST_SUITE_P(P256AndP384, Curve, ::testing::Values(32, 48),
                         [](const auto& info) { return "P" + std::to_string(info.param * 8); });

TEST(SliceBudget, SetAndGetOnAnOpenDevice) {
  DeviceHandle dev = open_device("sim");
  int slices = -1;
  int budget = -1;
  ASSERT_EQ(asynccrypt_DevGetSliceBudget(dev.id(), &slices, &budget), 0);
  EXPECT_EQ(slices, 0);
  EXPECT_EQ(budget, 5);
  ASSERT_EQ(asynccrypt_DevSetSliceBudget(dev.id(), 3, 0), 0);
  ASSERT_EQ(asynccrypt_DevGetSliceBudget(dev.id(), &slices, &budget), 0);
  EXPECT_EQ(slices, 3);
  EXPECT_EQ(budget, 0);
  ASSERT_EQ(asynccrypt_DevSetSliceBudget(dev.id(), 0, 250), 0);
  ASSERT_EQ(asynccrypt_DevGetSliceBudget(dev.id(), &slices, &budget), 0);
  EXPECT_EQ(slices, 0);
  EXPECT_EQ(budget, 250);
}

TEST(SliceBudget, SpecOptions) {
  const struct {
    const char* spec;
    int slices;
    int budget;
  } cases[] = {
      {"sim:slices=8", 8, 0},
      {"sim:budget_us=40", 0, 40},
      {"sim:slices=8,budget_us=40", 8, 40},
      {"sim:skip=0,slices=1", 1, 0},
  };
  for (const auto& c : cases) {
    DeviceHandle dev = open_device(c.spec);
    int slices = -1;
    int budget = -1;
    ASSERT_EQ(asynccrypt_DevGetSliceBudget(dev.id(), &slices, &budget), 0) << c.spec;
    EXPECT_EQ(slices, c.slices) << c.spec;
    EXPECT_EQ(budget, c.budget) << c.spec;
  }
}

TEST(SliceBudget, BadSpecOptionsAreRejected) {
  for (const char* spec : {"sim:slices=-1", "sim:budget_us=-5", "sim:slices=0,budget_us=0",
                           "sim:slices=0", "sim:budget_us=0", "sim:slices=abc", "sim:budget_us=",
                           "sim:slices=1048577", "sim:budget_us=1000001", "sim:slices=1.5"}) {
    int id = 7;
    EXPECT_EQ(asynccrypt_DevOpenSpec(&id, spec, nullptr), BAD_FUNC_ARG) << spec;
    EXPECT_EQ(id, INVALID_DEVID) << spec;
    EXPECT_NE(std::string(asynccrypt_LastError()), "") << spec;
  }
}

TEST(SliceBudget, BadCallsAreRejected) {
  DeviceHandle dev = open_device("sim:slices=4");
  EXPECT_EQ(asynccrypt_DevSetSliceBudget(dev.id(), -1, 5), BAD_FUNC_ARG);
  EXPECT_EQ(asynccrypt_DevSetSliceBudget(dev.id(), 1, -1), BAD_FUNC_ARG);
  EXPECT_EQ(asynccrypt_DevSetSliceBudget(dev.id(), 0, 0), BAD_FUNC_ARG);
  EXPECT_EQ(asynccrypt_DevSetSliceBudget(dev.id(), (1 << 20) + 1, 0), BAD_FUNC_ARG);
  EXPECT_EQ(asynccrypt_DevSetSliceBudget(dev.id(), 0, 1000001), BAD_FUNC_ARG);
  // A rejected call changes nothing.
  int slices = -1;
  int budget = -1;
  ASSERT_EQ(asynccrypt_DevGetSliceBudget(dev.id(), &slices, &budget), 0);
  EXPECT_EQ(slices, 4);
  EXPECT_EQ(budget, 0);
  EXPECT_EQ(asynccrypt_DevGetSliceBudget(dev.id(), nullptr, &budget), BAD_FUNC_ARG);
  EXPECT_EQ(asynccrypt_DevGetSliceBudget(dev.id(), &slices, nullptr), BAD_FUNC_ARG);
  EXPECT_EQ(asynccrypt_DevSetSliceBudget(12345, 1, 0), NO_VALID_DEVID);
  EXPECT_EQ(asynccrypt_DevSetSliceBudget(INVALID_DEVID, 1, 0), NO_VALID_DEVID);
  EXPECT_EQ(asynccrypt_DevGetSliceBudget(12345, &slices, &budget), NO_VALID_DEVID);
  // Kinds without slices say so.
  DeviceHandle threads = open_device("threads:workers=1");
  EXPECT_EQ(asynccrypt_DevSetSliceBudget(threads.id(), 1, 0), BAD_FUNC_ARG);
  EXPECT_EQ(std::string(asynccrypt_LastError()), "device kind 'threads' has no slice budget");
  EXPECT_EQ(asynccrypt_DevGetSliceBudget(threads.id(), &slices, &budget), BAD_FUNC_ARG);
}

// In-memory TLS: client and server in one thread, both on `dev_id`.
using testing_support::handshake_step;
using testing_support::Pipe;
using testing_support::pipe_read;
using testing_support::pipe_write;

struct TlsResult {
  int client = 0;
  int server = 0;
  int pending = 0;
};

TlsResult handshake(bool tls13, const byte* cert, int cert_sz, const byte* key, int key_sz,
                    int dev_id) {
  TlsResult r;
  WOLFSSL_CTX* sctx =
      wolfSSL_CTX_new(tls13 ? wolfTLSv1_3_server_method() : wolfTLSv1_2_server_method());
  WOLFSSL_CTX* cctx =
      wolfSSL_CTX_new(tls13 ? wolfTLSv1_3_client_method() : wolfTLSv1_2_client_method());
  EXPECT_EQ(wolfSSL_CTX_use_certificate_buffer(sctx, cert, cert_sz, WOLFSSL_FILETYPE_ASN1),
            WOLFSSL_SUCCESS);
  EXPECT_EQ(wolfSSL_CTX_use_PrivateKey_buffer(sctx, key, key_sz, WOLFSSL_FILETYPE_ASN1),
            WOLFSSL_SUCCESS);
  wolfSSL_CTX_set_verify(cctx, WOLFSSL_VERIFY_NONE, nullptr);
  if (!tls13) {
    EXPECT_EQ(wolfSSL_CTX_set_cipher_list(cctx, "ECDHE-ECDSA-AES128-GCM-SHA256"), WOLFSSL_SUCCESS);
  }
  EXPECT_EQ(wolfSSL_CTX_SetDevId(sctx, dev_id), WOLFSSL_SUCCESS);
  EXPECT_EQ(wolfSSL_CTX_SetDevId(cctx, dev_id), WOLFSSL_SUCCESS);
  for (WOLFSSL_CTX* c : {sctx, cctx}) {
    wolfSSL_SetIORecv(c, pipe_read);
    wolfSSL_SetIOSend(c, pipe_write);
  }
  Pipe to_server;
  Pipe to_client;
  WOLFSSL* server = wolfSSL_new(sctx);
  WOLFSSL* client = wolfSSL_new(cctx);
  wolfSSL_SetIOReadCtx(server, &to_server);
  wolfSSL_SetIOWriteCtx(server, &to_client);
  wolfSSL_SetIOReadCtx(client, &to_client);
  wolfSSL_SetIOWriteCtx(client, &to_server);
  for (int i = 0; i < 10'000'000 && (r.client == 0 || r.server == 0); ++i) {
    if (r.client == 0) r.client = handshake_step(client, true, &r.pending);
    if (r.server == 0) r.server = handshake_step(server, false, &r.pending);
    if (r.client < 0 || r.server < 0) break;
  }
  wolfSSL_free(client);
  wolfSSL_free(server);
  wolfSSL_CTX_free(cctx);
  wolfSSL_CTX_free(sctx);
  return r;
}

class Tls : public ::testing::TestWithParam<std::tuple<bool, int>> {};

TEST_P(Tls, EcdheEcdsaHandshakeCompletesInSlices) {
  const auto [tls13, bits] = GetParam();
  DeviceHandle dev = open_device("sim");
  asynccrypt_DevStats before{};
  ASSERT_EQ(asynccrypt_DevGetStats(dev.id(), &before), 0);
  const TlsResult r = bits == 256
                          ? handshake(tls13, serv_ecc_der_256, sizeof_serv_ecc_der_256,
                                      ecc_key_der_256, sizeof_ecc_key_der_256, dev.id())
                          : handshake(tls13, ca_ecc_cert_der_384, sizeof_ca_ecc_cert_der_384,
                                      ca_ecc_key_der_384, sizeof_ca_ecc_key_der_384, dev.id());
  EXPECT_EQ(r.client, 1);
  EXPECT_EQ(r.server, 1);
  asynccrypt_DevStats after{};
  ASSERT_EQ(asynccrypt_DevGetStats(dev.id(), &after), 0);
  // Key generation and ECDH on each side, the server's signature and the
  // client's verification at least.
  EXPECT_GE(after.completed - before.completed, 6u);
  // Each of them took many polls (one WC_PENDING_E per poll of a connection).
  EXPECT_GT(r.pending, 100);
}

INSTANTIATE_TEST_SUITE_P(Versions, Tls,
                         ::testing::Combine(::testing::Bool(), ::testing::Values(256, 384)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "TLS13" : "TLS12") + "_P" +
                                  std::to_string(std::get<1>(info.param));
                         });

// Known issue 7 (docs/known-issues.md): wolfSSL before 5.9 gives every TLS
// ECC key a non-blocking context, with or without a device. Without one,
// the key takes the synchronous path and FP_WOULDBLOCK reaches TLS. 5.9
// gives contexts only to connections with a device.
#if LIBWOLFSSL_VERSION_HEX < 0x05009000
TEST(KnownIssue7, HandshakeWithoutDeviceFailsWithWouldBlock) {
  const TlsResult r = handshake(false, serv_ecc_der_256, sizeof_serv_ecc_der_256, ecc_key_der_256,
                                sizeof_ecc_key_der_256, INVALID_DEVID);
  EXPECT_TRUE(r.client == FP_WOULDBLOCK || r.server == FP_WOULDBLOCK)
      << "client " << r.client << " server " << r.server;
}
#else
TEST(KnownIssue7, FixedHandshakeWithoutDeviceSucceeds) {
  const TlsResult r = handshake(false, serv_ecc_der_256, sizeof_serv_ecc_der_256, ecc_key_der_256,
                                sizeof_ecc_key_der_256, INVALID_DEVID);
  EXPECT_EQ(r.client, 1);  // wolfSSL_connect / wolfSSL_accept succeeded
  EXPECT_EQ(r.server, 1);
}
#endif

#else

TEST(NonblockEcc, NeedsWcEccNonblock) { SKIP_WITHOUT_NONBLOCK(); }

#endif  // WC_ECC_NONBLOCK

}  // namespace
