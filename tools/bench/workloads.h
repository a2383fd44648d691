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
};

// RowSpec describes one benchmark row: an operation and its size.
struct RowSpec {
  std::string family;     // the --algs name: "rsa2048", "aes-gcm", ...
  std::string algorithm;  // "RSA", "ECDSA", "AES-128-GCM", ...
  std::string op;         // "sign", "verify", "agree", "enc", "dec"
  int bits_or_bytes = 0;  // key bits (asymmetric) or buffer bytes (symmetric)
  bool symmetric = false;
  std::function<std::unique_ptr<Workload>()> make;
};

// all_rows lists every row this wolfSSL build can run, in output order.
// Families the build cannot run are described in *skipped (one line each).
std::vector<RowSpec> all_rows(std::vector<std::string>* skipped);

// The --algs names, in order, including those the build lacks.
std::vector<std::string> all_families();

}  // namespace asynccrypt::bench
