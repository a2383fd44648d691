// Owners for wolfSSL and system resources, and the TLS context setup that
// perf-server and perf-client share.
#pragma once

// options.h fixes wolfSSL's structure layouts: it must come first.
#include <wolfssl/options.h>
// (a separate block, so that include sorting keeps options.h first)
#include <wolfssl/error-ssl.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/async.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "asynccrypt/fd.h"

namespace perf {

using Fd = asynccrypt::Fd;

struct CtxFree {
  void operator()(WOLFSSL_CTX* ctx) const { wolfSSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(WOLFSSL* ssl) const { wolfSSL_free(ssl); }
};
struct SessionFree {
  void operator()(WOLFSSL_SESSION* session) const { wolfSSL_SESSION_free(session); }
};
using CtxPtr = std::unique_ptr<WOLFSSL_CTX, CtxFree>;
using SslPtr = std::unique_ptr<WOLFSSL, SslFree>;
using SessionPtr = std::unique_ptr<WOLFSSL_SESSION, SessionFree>;

// WolfSslLibrary brackets wolfSSL_Init and wolfSSL_Cleanup.
class WolfSslLibrary {
 public:
  WolfSslLibrary() : status_(wolfSSL_Init()) {}
  WolfSslLibrary(const WolfSslLibrary&) = delete;
  WolfSslLibrary& operator=(const WolfSslLibrary&) = delete;
  ~WolfSslLibrary() {
    if (status_ == WOLFSSL_SUCCESS) wolfSSL_Cleanup();
  }
  bool ok() const { return status_ == WOLFSSL_SUCCESS; }

 private:
  int status_;
};

// Device is an opened asynccrypt device, or none (synchronous crypto).
class Device {
 public:
  Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  ~Device() { close(); }
  // close closes the device (the name stays for the report).
  void close() {
    if (id_ != INVALID_DEVID) wolfAsync_DevClose(&id_);
    id_ = INVALID_DEVID;
  }
  // open opens `spec` ("" = the library default, ASYNCCRYPT_DEVICE or sim;
  // "none" = no device) for the calling thread when per_thread is set.
  // Returns false with *error set on failure.
  bool open(const std::string& spec, bool per_thread, std::string* error);
  // id is the devId to give wolfSSL (INVALID_DEVID for none).
  int id() const { return id_; }
  bool async() const { return id_ != INVALID_DEVID; }
  // name is the spec, or the kind the default opened, or "none".
  const std::string& name() const { return name_; }
  // add_stats adds the operations the device took to *ops, and those that
  // ran on the calling thread instead (device full, or declined as cheaper
  // than a hand-over) to *inline_ops; nothing without a device.
  void add_stats(long long* ops, long long* inline_ops) const {
    asynccrypt_DevStats stats{};
    if (id_ == INVALID_DEVID || asynccrypt_DevGetStats(id_, &stats) != 0) return;
    *ops += static_cast<long long>(stats.submitted);
    *inline_ops += static_cast<long long>(stats.inline_runs + stats.declined);
  }

 private:
  int id_ = INVALID_DEVID;
  pthread_t thread_{};  // wolfAsync_DevOpenThread keeps a pointer to it.
  std::string name_ = "none";
};

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
  bool client_cert = true;  // server: ask for one; client: send one
};

// make_ctx builds a context for `cfg` that sends its crypto to devId.
// Returns null with *error set on failure.
CtxPtr make_ctx(const TlsConfig& cfg, int dev_id, std::string* error);

// default_cert_dir is where scripts/gen-certs.sh wrote the tools' default
// certificates ($ASYNCCRYPT_CERTS, else build/certs of the source tree).
std::string default_cert_dir();

// error_text describes a wolfSSL or wolfCrypt error code.
std::string error_text(int err);

// version_supported says whether -v `v` names a protocol this build has.
bool version_supported(int v);

using Clock = std::chrono::steady_clock;
inline double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace perf
