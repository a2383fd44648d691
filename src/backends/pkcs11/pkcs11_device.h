// The pkcs11 device: private-key operations of keys in a PKCS#11 token, on worker threads.
#pragma once

#include <pthread.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/pkcs11/p11_session.h"
#include "backends/pkcs11/p11_token.h"
#include "core/device.h"
#include "core/device_spec.h"

namespace asynccrypt {

// Pkcs11Job is one private-key operation taken from a crypto callback.
struct Pkcs11Job {
  enum class Kind { kRsaPrivate, kEcdsaSign };
  Kind kind = Kind::kRsaPrivate;
  p11::KeyRef key;
  p11::RawUse use = p11::RawUse::kSign;  // RSA: C_Sign or C_Decrypt
  // A copy of the input: TLS gives RSA the same buffer as in and out.
  std::vector<unsigned char> in;
  // RSA: wolfSSL's output, written by the worker before the event
  // completes (wolfSSL does not call the callback again for RSA).
  unsigned char* out = nullptr;
  word32* out_len = nullptr;
  std::size_t out_cap = 0;
};

// Pkcs11Device answers wolfSSL's crypto callbacks for its device id (an id
// of Device::kCallbackIdBase's range, so that it never meets the small ids
// applications give their own callbacks) for keys referenced by id or label
// (wc_InitRsaKey_Id, wc_ecc_init_label, wolfSSL_CTX_use_PrivateKey_Id...):
//  - RSA private operations (sign = private encrypt, TLS 1.2 key exchange =
//    private decrypt) as raw CKM_RSA_X_509 on the token: wolfCrypt pads
//    (PKCS#1 v1.5 or PSS) before it calls;
//  - ECDSA signing with CKM_ECDSA;
//  - RSA public operations and the key's size from the public key read
//    once from the token, in software;
// and everything else falls through (CRYPTOCB_UNAVAILABLE) to wolfCrypt.
//
// A private operation pends only when its caller armed the key's event
// (TLS does it with wolfSSL_AsyncInit just before it signs; wolfCrypt
// callers init the key's event as WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT): the
// callback keeps the job and answers WC_PENDING_E, the caller pushes the
// event, and submit() gives the job to a worker, whose own Session runs it
// while the event loop goes on. Otherwise it runs at once on a session kept
// for such calls. How the caller resumes differs: for RSA, wolfCrypt does
// not call again, so the worker writes the result into wolfSSL's buffer
// before the event completes; for ECDSA it calls again with the same hash,
// and the signature the worker left is handed over then.
//
// At `depth` operations in flight a new one runs on the submitter's thread
// (counted as inline). Thread-safe.
class Pkcs11Device final : public Device {
 public:
  static constexpr int kDefaultWorkers = 4;
  static constexpr int kMaxWorkers = 256;
  static constexpr int kDefaultDepth = 256;
  static constexpr int kMaxDepth = 1 << 16;
  static constexpr int kMaxDelayUs = 10'000'000;

  struct Config {
    p11::TokenConfig token;
    int workers = kDefaultWorkers;
    int depth = kDefaultDepth;
    int delay_us = 0;  // added before each worker operation: a slow HSM's round trip
  };

  // Options: module=PATH, token=LABEL, pin-env=VAR or pin-file=PATH,
  // workers=N (default 4: they wait on the HSM, so size them to its session
  // limit, not to CPUs), depth=D (default 256), delay_us=T (default 0).
  // Fails with BAD_FUNC_ARG (a message naming the option) on a bad spec or
  // a wolfSSL built without crypto callbacks, else as p11::Token::open.
  static Result<std::shared_ptr<Device>> create(DeviceSpec spec);

  Pkcs11Device(std::shared_ptr<p11::Token> token, const Config& config);
  // Runs the queued operations to the end, then joins the workers.
  ~Pkcs11Device() override;
  Pkcs11Device(const Pkcs11Device&) = delete;
  Pkcs11Device& operator=(const Pkcs11Device&) = delete;

  const char* kind() const override { return "pkcs11"; }
  bool runs_on_poll() const override { return false; }
  Admission submit(Op* op, CompletionSink& sink) override;
  bool cancel(Op* op) override;
  void forget(const WC_ASYNC_DEV* dev, word32 marker) override;
  int id_base() const override { return kCallbackIdBase; }
  Status attach(int dev_id) override;
  void detach(int dev_id) override;
  // No wolfCrypt work of its own: software records of its keys (public
  // operations the callback left to wolfCrypt) run in the caller.
  std::uint32_t capabilities() const override { return 0; }

  // The crypto callback's body (wc_CryptoInfo*, as void* so that this
  // header does not need cryptocb.h).
  int on_crypto(void* info);

  int workers() const { return static_cast<int>(threads_.size()); }
  // Tests: workers take no new operation between hold() and release(), so
  // a test decides when the "HSM" answers without measuring time.
  void hold();
  void release();
  // The message of the last failed operation (never a PIN).
  std::string last_error() const;

 private:
  struct Queued {
    Op* op;
    Pkcs11Job* job;
    CompletionSink* sink;
  };
  // An ECDSA signature made for a key, waiting for wolfCrypt's second call.
  struct Finished {
    std::vector<unsigned char> hash;
    std::vector<unsigned char> der;
  };

  static void* thread_main(void* self);
  void worker_loop();
  // Runs job on session; ECDSA signatures go to finished_[dev].
  int run_job(p11::Session& session, Pkcs11Job& job, const WC_ASYNC_DEV* dev);
  int fail(const Status& status);
  // Pends (keeps the job for dev's push) or runs it now on sync_session_.
  int pend_or_run(WC_ASYNC_DEV* dev, std::unique_ptr<Pkcs11Job> job);
  Result<p11::RsaPublic> rsa_public(const p11::KeyRef& key);
  // Hands over (and forgets) the ECDSA signature finished for dev if it was
  // made for `hash`: true with *ret 0, or BUFFER_E when out is too small.
  bool take_signature(const WC_ASYNC_DEV* dev, const unsigned char* hash, word32 hash_len,
                      unsigned char* out, word32* out_len, int* ret);

  const std::shared_ptr<p11::Token> token_;
  const int depth_;
  const int delay_us_;
  bool crypt_initialised_ = false;  // attach called wolfCrypt_Init
  void release_wolfcrypt();         // its wolfCrypt_Cleanup, from the destructor

  mutable std::mutex mu_;
  std::condition_variable work_cv_;                    // queue_ non-empty, release(), or stop_
  std::condition_variable idle_cv_;                    // in_flight_ dropped
  std::deque<Queued> queue_;                           // guarded by mu_
  std::map<const WC_ASYNC_DEV*, Pkcs11Job*> pending_;  // guarded by mu_; owned
  std::map<const WC_ASYNC_DEV*, Finished> finished_;   // guarded by mu_
  std::map<std::string, p11::RsaPublic> public_keys_;  // guarded by mu_
  int in_flight_ = 0;                                  // guarded by mu_
  bool held_ = false;                                  // guarded by mu_
  bool stop_ = false;                                  // guarded by mu_
  std::string last_error_;                             // guarded by mu_

  std::mutex sync_mu_;              // one thread at a time on sync_session_
  p11::Session sync_session_;       // guarded by sync_mu_
  std::vector<pthread_t> threads_;  // written before any worker runs
};

}  // namespace asynccrypt
