// A token found by its label, with the one login the whole process shares.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "backends/pkcs11/p11_api.h"
#include "backends/pkcs11/p11_module.h"
#include "backends/pkcs11/p11_pin.h"
#include "core/status.h"

namespace asynccrypt::p11 {

// What a Token is opened from.
struct TokenConfig {
  std::string module;  // path of the PKCS#11 library
  std::string label;   // CKA_LABEL of the token (slot ids change, labels do not)
  PinSource pin;       // where the user PIN is read from for each login
};

// Token is one token of a module, logged in once for the whole process.
// PKCS#11 keeps the login state per application and token, not per session,
// and drops it when the application's last session on the token closes: so
// the Token keeps a "keeper" session open that holds the login, and workers
// open their own sessions (Session) that share it. Thread-safe.
//
// When the token goes away (removed, re-initialised, its HSM failed over),
// sessions fail with "lost" codes (session_lost()); the first session to
// notice calls recover(), which finds the token by label again, logs in
// again and moves to a new generation; later callers see the new one.
//
// PKCS#11 lets a module give a new session the number of a closed one
// (SoftHSM2 2.6.1 happens not to: its numbers only grow). With such a
// module, once every session died, a new session of one worker may get the
// number a second worker still holds, and that worker must never use it. So each operation runs
// inside an Epoch (a shared hold on the token) and checks that its session belongs to the current
// generation; recover() takes the hold exclusively, so it moves the
// generation only while no operation is running, and operations that start
// later see the new one and reopen instead.
class Token {
 public:
  // Where sessions should be opened now. `generation` grows each time the
  // token was found and logged in again.
  struct Binding {
    CK_SLOT_ID slot = 0;
    std::uint64_t generation = 0;
  };

  // open loads the module (shared per path), finds the one token labelled
  // config.label, opens the keeper session and logs in with the PIN read
  // from config.pin (wiped right after C_Login). CKR_USER_ALREADY_LOGGED_IN
  // counts as logged in. Fails with BAD_FUNC_ARG for a bad configuration
  // (no label, label over 32 bytes, unreadable PIN, two tokens with the
  // label), WC_HW_E when the token is absent or refuses the login; messages
  // name the token and the PIN's source, never the PIN.
  static Result<std::shared_ptr<Token>> open(TokenConfig config);

  // Logs out (if this Token logged in) and closes the keeper session.
  ~Token();
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;

  CK_FUNCTION_LIST* fn() const { return module_->fn(); }
  const Module& module() const { return *module_; }
  const std::string& label() const { return config_.label; }
  Binding binding() const;

  // recover is called by a session that lost its session under generation
  // `seen`. If another caller has already recovered (the generation moved
  // on), or the keeper session still holds the login (only that one session
  // was lost), it returns the current binding. Otherwise it finds the token
  // again and logs in again. A login the token refused with a PIN error is
  // never retried (each try may count towards locking the PIN): the device
  // must be reopened. Fails with WC_HW_E while the token is absent.
  Result<Binding> recover(std::uint64_t seen);

  // Epoch is held for the length of one operation on a session (see the
  // class comment). current(g): whether a session opened in generation g
  // may still be used. Never call recover() while holding one.
  class Epoch {
   public:
    explicit Epoch(const Token& token) : token_(token), hold_(token.epoch_) {}
    bool current(std::uint64_t generation) const {
      // Written only under the exclusive hold: relaxed is enough here.
      return token_.generation_now_.load(std::memory_order_relaxed) == generation;
    }

   private:
    const Token& token_;
    std::shared_lock<std::shared_mutex> hold_;
  };

  // Use open(); public only for std::make_shared.
  struct Key {
    explicit Key() = default;
  };
  Token(Key, TokenConfig config, std::shared_ptr<Module> module)
      : config_(std::move(config)), module_(std::move(module)) {}

 private:
  // Finds the slot, opens the keeper session and logs in. Caller holds mu_.
  Status connect_locked();
  Result<CK_SLOT_ID> find_slot_locked();
  Status login_locked();
  bool keeper_alive_locked();
  void drop_keeper_locked();

  const TokenConfig config_;
  const std::shared_ptr<Module> module_;

  // Shared by operations (Epoch), exclusive in recover(); taken before mu_.
  mutable std::shared_mutex epoch_;
  // generation_, for Epoch::current without mu_. Written under the
  // exclusive epoch_ (and mu_); read under a shared epoch_.
  std::atomic<std::uint64_t> generation_now_{0};

  mutable std::mutex mu_;
  CK_SLOT_ID slot_ = 0;                           // guarded by mu_
  CK_SESSION_HANDLE keeper_ = CK_INVALID_HANDLE;  // guarded by mu_
  bool logged_in_by_us_ = false;                  // guarded by mu_
  std::uint64_t generation_ = 0;                  // guarded by mu_
  Status pin_refused_;                            // guarded by mu_; sticky
};

}  // namespace asynccrypt::p11
