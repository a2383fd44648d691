// The server's key through wolfSSL's own synchronous PKCS#11 code: the baseline of the pkcs11
// device.
#pragma once

#include <atomic>
#include <memory>
#include <string>

namespace perf {

// Pkcs11Spec is what a pkcs11 device spec says about the token:
// pkcs11:module=PATH,token=LABEL,pin-file=PATH|pin-env=VAR[,...]. The
// device's own options (workers=, depth=, delay_us=) are accepted and not
// used here.
struct Pkcs11Spec {
  std::string module;
  std::string token;
  std::string pin_file;
  std::string pin_env;
};

// parse_pkcs11_spec reads `spec` into *out; false with *error naming what
// is wrong (not a pkcs11 spec, an unknown or repeated key, a missing
// module or token, neither or both PIN sources).
bool parse_pkcs11_spec(const std::string& spec, Pkcs11Spec* out, std::string* error);

// SyncPkcs11Key is wolfSSL's PKCS#11 code (wc_Pkcs11_Initialize,
// wc_Pkcs11Token_Init, wc_Pkcs11Token_Open) registered as the crypto
// callback of dev_id(): a key loaded with wolfSSL_CTX_use_PrivateKey_Id
// and that id is signed on the token in the calling thread, which waits
// for it. One session, logged in once, serves every call: use it from one
// thread at a time. Each private-key operation the token makes is counted.
class SyncPkcs11Key {
 public:
  // The callback's device id: outside the ranges libasynccrypt hands out
  // (0, 1, 2... and the pkcs11 device's 0x41430000 + n).
  static constexpr int kDevId = 0x53590001;

  // open loads the module, opens the token and logs in. Null with *error
  // set when this wolfSSL lacks --enable-pkcs11 or any step fails.
  static std::unique_ptr<SyncPkcs11Key> open(const std::string& spec, std::string* error);

  ~SyncPkcs11Key();
  SyncPkcs11Key(const SyncPkcs11Key&) = delete;
  SyncPkcs11Key& operator=(const SyncPkcs11Key&) = delete;

  int dev_id() const { return kDevId; }
  // operations is how many private-key operations the token made.
  long long operations() const { return operations_.load(std::memory_order_relaxed); }

  struct State;  // wolfSSL's device and token (pkcs11_sync.cc)

 private:
  SyncPkcs11Key() = default;
  std::unique_ptr<State> state_;
  // Counted by the callback, read at exit (relaxed: a tally, nothing is
  // published through it).
  std::atomic<long long> operations_{0};
};

}  // namespace perf
