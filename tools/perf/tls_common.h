// The device opening, TLS context setup and error text that perf-server and
// perf-client share (their owners are the C++ API's, include/asynccrypt/).
#pragma once

// options.h fixes wolfSSL's structure layouts: it must come first.
#include <wolfssl/options.h>
// (a separate block, so that include sorting keeps options.h first)
#include <wolfssl/error-ssl.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/async.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <chrono>
#include <string>
#include <vector>

#include "asynccrypt/device.h"
#include "asynccrypt/fd.h"
#include "asynccrypt/wolfssl_handles.h"

namespace perf {

using asynccrypt::CtxPtr;
using asynccrypt::Fd;
using asynccrypt::SessionPtr;
using asynccrypt::SslPtr;

// open_device opens -d `spec` into *device: "" = the library default
// (ASYNCCRYPT_DEVICE, else sim), "none" = no device (synchronous crypto, an
// empty handle), for the calling thread when per_thread is set. *name is
// what the report shows: the spec, or the kind the default opened, or
// "none". Returns false with *error set on failure.
bool open_device(const std::string& spec, bool per_thread, asynccrypt::DeviceHandle* device,
                 std::string* name, std::string* error);

// add_device_stats adds the operations `device` took to *ops, and those
// that ran on the calling thread instead (device full, or declined as
// cheaper than a hand-over) to *inline_ops; nothing without a device.
void add_device_stats(const asynccrypt::DeviceHandle& device, long long* ops,
                      long long* inline_ops);

// TlsFiles are the PEM files a side loads.
struct TlsFiles {
  std::string cert;  // own certificate ("" = none)
  std::string key;   // own private key
  std::string ca;    // trusted CA for the peer's certificate
};

// TlsConfig is what make_ctx needs.
struct TlsConfig {
  bool server = false;
  int version = 4;           // 3 = TLS 1.2, 4 = TLS 1.3 (the original's -v numbers)
  bool any_version = false;  // server -a: downgrade method
  std::string cipher_list;   // "" = wolfSSL's default
  TlsFiles files;
  // The own private key in a token instead of files.key: the device id of a
  // pkcs11 device and the key's id or label (one of them).
  int key_dev_id = INVALID_DEVID;
  std::string key_id, key_label;
  bool client_cert = true;  // server: ask for one; client: send one
  std::vector<int> groups;  // key-exchange groups, preferred first ({} = wolfSSL's default)
};

// parse_groups turns "X25519:P-256" into wolfSSL's group ids; false when a
// name is unknown or not built in. group_names lists the names it takes.
bool parse_groups(const std::string& list, std::vector<int>* ids);
std::string group_names();

// make_ctx builds a context for `cfg` that sends its crypto to devId.
// Returns null with *error set on failure.
CtxPtr make_ctx(const TlsConfig& cfg, int dev_id, std::string* error);

// default_cert_dir is the directory of the tools' default certificates
// (those scripts/gen-certs.sh DIR writes): $ASYNCCRYPT_CERTS when set, else
// the first of certs/ beside the executable, ./certs and ./build/certs that
// holds ca-cert.pem. Returns "" when there is none.
std::string default_cert_dir();

// cert_dir_help says how to give the tools their certificates, for errors.
std::string cert_dir_help();

// error_text describes a wolfSSL or wolfCrypt error code.
std::string error_text(int err);

// version_supported says whether -v `v` names a protocol this build has.
bool version_supported(int v);

using Clock = std::chrono::steady_clock;
inline double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// must_wait says that a wolfSSL call stopped only to wait: for the socket
// (WANT_READ, WANT_WRITE) or for the async device (WC_PENDING_E).
inline bool must_wait(int err) {
  return err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE || err == WC_PENDING_E;
}

// timed runs call() and adds the time it took to *seconds; returns its result.
template <typename Call>
int timed(double* seconds, Call call) {
  const auto t0 = Clock::now();
  const int ret = call();
  *seconds += seconds_between(t0, Clock::now());
  return ret;
}

}  // namespace perf
