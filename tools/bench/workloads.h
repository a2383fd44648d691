// The operations `asynccrypt bench` measures: one workload per algorithm, op and size.
#pragma once

// wolfSSL's options first: they fix the layout of every structure we share.
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/async.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/settings.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace asynccrypt::bench {

// Workload runs one operation (say RSA-2048 sign) on `count` independent
// objects, each with its own key or cipher, so that `count` operations can be
// in flight at once. Objects stay at fixed addresses from setup() to the
// destructor (wolfCrypt and asynccrypt keep pointers into them). The
// destructor must only run once no operation is in flight.
class Workload {
 public:
  virtual ~Workload() = default;

  // setup prepares `count` objects bound to dev_id (INVALID_DEVID: plain
  // synchronous wolfCrypt), all using `rng`, which must outlive the workload.
  // Returns 0 or a wolfCrypt error code.
  virtual int setup(int count, int dev_id, WC_RNG* rng) = 0;

  // start begins a new operation on object i. Returns the wolfCrypt result:
  // >= 0 finished, WC_PENDING_E handed to the device, other < 0 an error.
  virtual int start(int i) = 0;

  // again continues object i after its pending operation completed; only
  // called when call_again() is true (RSA, ECC: the API is called again to
  // collect the result). Same returns as start().
  virtual int again(int i) { return start(i); }

  // True when a completed operation must be collected with again().
  virtual bool call_again() const = 0;

  // The asynchronous record of object i (for wc_AsyncHandle).
  virtual WC_ASYNC_DEV* async_dev(int i) = 0;

  // verify checks object i's last result against values computed with
  // synchronous wolfCrypt at setup. Returns "" when right, else what is wrong.
  virtual std::string verify(int i) = 0;

  // enable_nonblock, called before setup(), asks for wolfCrypt's
  // non-blocking mode (WC_ECC_NONBLOCK, WC_RSA_NONBLOCK, WC_DH_NONBLOCK):
  // setup() then gives each object bound to a device its own context, so that a sim device runs
  // each operation in slices, a bounded amount per poll. Returns false when the workload or the
  // build has no such mode (then nothing changes).
  virtual bool enable_nonblock() { return false; }
};

// True when this wolfSSL build can run ECC in slices on a sim device
// (--enable-ecc=nonblock --enable-sp=yes,nonblock with --enable-asynccrypt).
#if defined(HAVE_ECC) && defined(WC_ECC_NONBLOCK) && defined(WOLFSSL_ASYNC_CRYPT_SW) && \
    defined(WC_ASYNC_ENABLE_ECC)
#define ASYNCCRYPT_BENCH_NONBLOCK_ECC 1
inline constexpr bool kNonblockEcc = true;
#else
inline constexpr bool kNonblockEcc = false;
#endif
// Likewise for RSA (5.9: --enable-rsa=nonblock) and DH agreement (5.9:
// --enable-dh=nonblock).
#if !defined(NO_RSA) && defined(WC_RSA_NONBLOCK) && defined(WOLFSSL_ASYNC_CRYPT_SW) && \
    defined(WC_ASYNC_ENABLE_RSA)
#define ASYNCCRYPT_BENCH_NONBLOCK_RSA 1
inline constexpr bool kNonblockRsa = true;
#else
inline constexpr bool kNonblockRsa = false;
#endif
#if !defined(NO_DH) && defined(WC_DH_NONBLOCK) && defined(WOLFSSL_ASYNC_CRYPT_SW) && \
    defined(WC_ASYNC_ENABLE_DH)
#define ASYNCCRYPT_BENCH_NONBLOCK_DH 1
inline constexpr bool kNonblockDh = true;
#else
inline constexpr bool kNonblockDh = false;
#endif
// Whether any row has a non-blocking mode.
inline constexpr bool kNonblockAny = kNonblockEcc || kNonblockRsa || kNonblockDh;

// The ECC operations measured: ECDSA sign and verify of a 32-byte digest,
// ECDH shared secret with a fixed peer, key generation; kMixed gives object i
// sign, verify and ECDH in turn (i % 3), so that with 3 or more objects all
// three are in flight at once.
enum class EccOp { kSign, kVerify, kAgree, kKeygen, kMixed };

// make_ecc_workload returns an ECC workload on P-256 (bits 256) or P-384
// (bits 384), or nullptr when this build has no ECC or not that curve.
std::unique_ptr<Workload> make_ecc_workload(EccOp op, int bits);

// RowSpec describes one benchmark row: an operation and its size.
struct RowSpec {
  std::string family;     // the --algs name: "rsa2048", "aes-gcm", ...
  std::string algorithm;  // "RSA", "ECDSA", "AES-128-GCM", ...
  std::string op;         // "sign", "verify", "agree", "enc", "dec"
  int bits_or_bytes = 0;  // key bits (asymmetric) or buffer bytes (symmetric)
  bool symmetric = false;
  std::function<std::unique_ptr<Workload>()> make;
  bool nonblock = false;  // has a non-blocking mode (Workload::enable_nonblock)
};

// all_rows lists every row this wolfSSL build can run, in output order.
// Families the build cannot run are described in *skipped (one line each).
// cipher_sizes are the buffer sizes of the symmetric rows (multiples of 16;
// empty: 1 KiB and 16 KiB).
std::vector<RowSpec> all_rows(std::vector<std::string>* skipped,
                              const std::vector<int>& cipher_sizes = {});

// The --algs names, in order, including those the build lacks.
std::vector<std::string> all_families();

}  // namespace asynccrypt::bench
