// A token found by its label, with the one login the whole process shares.
#include "backends/pkcs11/p11_token.h"

#include <cstring>
#include <vector>

#include "backends/pkcs11/p11_errors.h"
#include "core/wolfssl_api.h"

namespace asynccrypt::p11 {
namespace {

constexpr std::size_t kLabelSize = 32;  // CK_TOKEN_INFO.label, blank padded

bool label_matches(const CK_UTF8CHAR (&field)[kLabelSize], const std::string& label) {
  if (std::memcmp(field, label.data(), label.size()) != 0) return false;
  for (std::size_t i = label.size(); i < kLabelSize; ++i) {
    if (field[i] != ' ') return false;
  }
  return true;
}

bool pin_error(CK_RV rv) {
  return rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE ||
         rv == CKR_PIN_EXPIRED || rv == CKR_PIN_LOCKED;
}

}  // namespace

Result<std::shared_ptr<Token>> Token::open(TokenConfig config) {
  if (config.label.empty()) return Status(BAD_FUNC_ARG, "no token label given (token=LABEL)");
  if (config.label.size() > kLabelSize) {
    return Status(BAD_FUNC_ARG, "token label '" + config.label + "' is longer than 32 bytes");
  }
  if (config.pin.empty()) {
    return Status(BAD_FUNC_ARG, "no PIN source given (pin-env=VAR or pin-file=PATH)");
  }
  auto module = Module::open(config.module);
  if (!module.is_ok()) return module.status();
  const SigpipeGuard no_sigpipe;
  auto token = std::make_shared<Token>(Key{}, std::move(config), module.take());
  std::lock_guard<std::mutex> lock(token->mu_);
  if (Status s = token->connect_locked(); !s.is_ok()) return s;
  return token;
}

Token::~Token() {
  const SigpipeGuard no_sigpipe;
  std::lock_guard<std::mutex> lock(mu_);
  if (module_->forked()) return;
  if (logged_in_by_us_ && keeper_ != CK_INVALID_HANDLE) (void)fn()->C_Logout(keeper_);
  drop_keeper_locked();
}

Token::Binding Token::binding() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {slot_, generation_};
}

Result<Token::Binding> Token::recover(std::uint64_t seen) {
  // Waits for every operation in progress: none may use a session number
  // while the generation moves (see the class comment).
  std::unique_lock<std::shared_mutex> epoch(epoch_);
  std::lock_guard<std::mutex> lock(mu_);
  if (!pin_refused_.is_ok()) return pin_refused_;
  if (module_->forked()) {
    return Status(WC_HW_E, "token '" + config_.label +
                               "' was opened before fork(): open the device in this process");
  }
  if (generation_ != seen) return Binding{slot_, generation_};
  if (keeper_alive_locked()) return Binding{slot_, generation_};
  // Forgotten, not closed: a keeper that answered C_GetSessionInfo but is
  // no longer logged in may be a number a worker's new session now has.
  // A leaked handle dies with the module.
  keeper_ = CK_INVALID_HANDLE;
  logged_in_by_us_ = false;
  if (Status s = connect_locked(); !s.is_ok()) return s;
  ++generation_;
  generation_now_.store(generation_, std::memory_order_relaxed);
  return Binding{slot_, generation_};
}

Status Token::connect_locked() {
  auto slot = find_slot_locked();
  if (!slot.is_ok()) return slot.status();
  slot_ = slot.value();
  CK_SESSION_HANDLE keeper = CK_INVALID_HANDLE;
  if (CK_RV rv = fn()->C_OpenSession(slot_, CKF_SERIAL_SESSION, nullptr, nullptr, &keeper);
      rv != CKR_OK) {
    return ckr_status(rv, "cannot open a session on token '" + config_.label + "'");
  }
  keeper_ = keeper;
  if (Status s = login_locked(); !s.is_ok()) {
    drop_keeper_locked();
    return s;
  }
  return Status::ok();
}

Result<CK_SLOT_ID> Token::find_slot_locked() {
  CK_ULONG count = 0;
  if (CK_RV rv = fn()->C_GetSlotList(CK_TRUE, nullptr, &count); rv != CKR_OK) {
    return ckr_status(rv, "C_GetSlotList of " + module_->path() + " failed");
  }
  std::vector<CK_SLOT_ID> slots(count);
  if (count > 0) {
    if (CK_RV rv = fn()->C_GetSlotList(CK_TRUE, slots.data(), &count); rv != CKR_OK) {
      return ckr_status(rv, "C_GetSlotList of " + module_->path() + " failed");
    }
    slots.resize(count);
  }
  std::vector<CK_SLOT_ID> matches;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    // A token that vanished between the two calls is simply not a match.
    if (fn()->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if ((info.flags & CKF_TOKEN_INITIALIZED) != 0 && label_matches(info.label, config_.label)) {
      matches.push_back(slot);
    }
  }
  if (matches.empty()) {
    return Status(WC_HW_E, "no token labelled '" + config_.label + "' in " + module_->path() +
                               " (" + std::to_string(slots.size()) + " tokens present)");
  }
  if (matches.size() > 1) {
    return Status(BAD_FUNC_ARG, std::to_string(matches.size()) + " tokens are labelled '" +
                                    config_.label + "' in " + module_->path());
  }
  return matches.front();
}

Status Token::login_locked() {
  auto read = config_.pin.read();
  if (!read.is_ok()) return read.status();
  SecretBytes pin = read.take();
  CK_RV rv = fn()->C_Login(keeper_, CKU_USER, pin.data(), pin.size());
  pin = SecretBytes();  // wipes the PIN now, not at the end of the scope
  if (rv == CKR_USER_ALREADY_LOGGED_IN) return Status::ok();
  if (rv != CKR_OK) {
    Status s = ckr_status(rv, "login to token '" + config_.label + "' with the PIN from " +
                                  config_.pin.describe() + " refused");
    if (pin_error(rv)) pin_refused_ = s;
    return s;
  }
  logged_in_by_us_ = true;
  return Status::ok();
}

bool Token::keeper_alive_locked() {
  if (keeper_ == CK_INVALID_HANDLE) return false;
  CK_SESSION_INFO info{};
  if (fn()->C_GetSessionInfo(keeper_, &info) != CKR_OK) {
    // The handle is dead: its number may already name a worker's new
    // session, so it must never be closed.
    keeper_ = CK_INVALID_HANDLE;
    logged_in_by_us_ = false;
    return false;
  }
  if (info.state != CKS_RO_USER_FUNCTIONS && info.state != CKS_RW_USER_FUNCTIONS) return false;
  // SoftHSM2 keeps a removed token's sessions logged in, but cannot
  // describe the token any more.
  CK_TOKEN_INFO token{};
  return fn()->C_GetTokenInfo(slot_, &token) == CKR_OK;
}

void Token::drop_keeper_locked() {
  // Only where the keeper is known to be ours: just opened (a refused
  // login), or the Token's end (no session of ours is left by then).
  if (keeper_ != CK_INVALID_HANDLE) (void)fn()->C_CloseSession(keeper_);
  keeper_ = CK_INVALID_HANDLE;
  logged_in_by_us_ = false;
}

}  // namespace asynccrypt::p11
