// One worker's PKCS#11 session: opened once, object handles cached, private-key operations.
#include "backends/pkcs11/p11_session.h"

#include <optional>

#include "backends/pkcs11/ecdsa_der.h"
#include "backends/pkcs11/p11_errors.h"
#include "core/wolfssl_api.h"

namespace asynccrypt::p11 {
namespace {

std::string hex(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// A lost handle that must not be closed: the token dropped it, and its
// number may already name another session of this process.
bool handle_gone(CK_RV rv) {
  return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED || rv == CKR_DEVICE_REMOVED ||
         rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED;
}

struct PssHash {
  CK_MECHANISM_TYPE hash;
  CK_RSA_PKCS_MGF_TYPE mgf;
};

PssHash pss_hash(Hash hash) {
  switch (hash) {
    case Hash::kSha1:
      return {CKM_SHA_1, CKG_MGF1_SHA1};
    case Hash::kSha224:
      return {CKM_SHA224, CKG_MGF1_SHA224};
    case Hash::kSha256:
      return {CKM_SHA256, CKG_MGF1_SHA256};
    case Hash::kSha384:
      return {CKM_SHA384, CKG_MGF1_SHA384};
    case Hash::kSha512:
      break;
  }
  return {CKM_SHA512, CKG_MGF1_SHA512};
}

}  // namespace

std::string KeyRef::describe() const {
  const char* cls = object_class == CKO_PRIVATE_KEY  ? "private key"
                    : object_class == CKO_PUBLIC_KEY ? "public key"
                                                     : "object";
  if (by == By::kId) return std::string(cls) + " with id " + hex(bytes);
  return std::string(cls) + " labelled '" + bytes + "'";
}

std::string KeyRef::cache_key() const {
  return std::string(by == By::kId ? "i" : "l") + std::to_string(object_class) + ":" + bytes;
}

Session::~Session() {
  if (handle_ == CK_INVALID_HANDLE || token_->module().forked()) return;
  const SigpipeGuard no_sigpipe;
  // A session of an older generation is dead and its number may be another
  // session's now: only a current one is closed.
  const Token::Epoch epoch(*token_);
  if (epoch.current(generation_)) (void)fn()->C_CloseSession(handle_);
}

Status Session::open() {
  if (handle_ != CK_INVALID_HANDLE) return Status::ok();
  const SigpipeGuard no_sigpipe;
  if (token_->module().forked()) {
    return Status(WC_HW_E, "token '" + token_->label() +
                               "' was opened before fork(): open the device in this process");
  }
  Token::Binding binding = token_->binding();
  if (lost_) {
    auto recovered = token_->recover(generation_);
    if (!recovered.is_ok()) return recovered.status();
    binding = recovered.value();
  }
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  CK_RV rv = fn()->C_OpenSession(binding.slot, CKF_SERIAL_SESSION, nullptr, nullptr, &handle);
  if (rv != CKR_OK) {
    // Whatever the reason, the next try goes through recover() first.
    lost_ = true;
    generation_ = binding.generation;
    return ckr_status(rv, "cannot open a session on token '" + token_->label() + "'");
  }
  handle_ = handle;
  generation_ = binding.generation;
  lost_ = false;
  keys_.clear();
  ++opens_;
  return Status::ok();
}

void Session::lose(CK_RV rv) {
  if (!handle_gone(rv)) (void)fn()->C_CloseSession(handle_);
  forget();
  ++losses_;
}

void Session::forget() {
  handle_ = CK_INVALID_HANDLE;
  lost_ = true;
  keys_.clear();
}

Result<CK_OBJECT_HANDLE> Session::find(const KeyRef& key) {
  const std::string cache_key = key.cache_key();
  if (auto it = keys_.find(cache_key); it != keys_.end()) return it->second.handle;
  CK_OBJECT_CLASS object_class = key.object_class;
  CK_ATTRIBUTE wanted[2] = {
      {CKA_CLASS, &object_class, sizeof object_class},
      {key.by == KeyRef::By::kId ? CKA_ID : CKA_LABEL, const_cast<char*>(key.bytes.data()),
       key.bytes.size()},
  };
  CK_RV rv = fn()->C_FindObjectsInit(handle_, wanted, 2);
  CK_OBJECT_HANDLE found[2] = {CK_INVALID_HANDLE, CK_INVALID_HANDLE};
  CK_ULONG count = 0;
  if (rv == CKR_OK) {
    rv = fn()->C_FindObjects(handle_, found, 2, &count);
    (void)fn()->C_FindObjectsFinal(handle_);
  }
  const std::string where = key.describe() + " on token '" + token_->label() + "'";
  if (rv != CKR_OK) {
    if (session_lost(rv)) {
      lose(rv);
      return ckr_status(rv, "looking up " + where + ": session lost");
    }
    return ckr_status(rv, "looking up " + where);
  }
  if (count == 0) {
    // Private objects are invisible without the login: an empty answer
    // after the login or the token went away is a lost session, not a
    // missing key.
    if (CK_RV gone = check_alive(); gone != CKR_OK) {
      lose(gone);
      return ckr_status(gone, "looking up " + where + ": the token or its login is gone");
    }
    return Status(MISSING_KEY, "no " + where);
  }
  if (count > 1) return Status(BAD_FUNC_ARG, "more than one " + where);
  keys_[cache_key].handle = found[0];
  return found[0];
}

CK_RV Session::check_alive() {
  CK_SESSION_INFO info{};
  if (CK_RV rv = fn()->C_GetSessionInfo(handle_, &info); rv != CKR_OK) return rv;
  if (info.state != CKS_RO_USER_FUNCTIONS && info.state != CKS_RW_USER_FUNCTIONS) {
    return CKR_USER_NOT_LOGGED_IN;
  }
  // SoftHSM2 keeps a removed token's sessions logged in, but cannot
  // describe the token any more.
  CK_TOKEN_INFO token{};
  if (fn()->C_GetTokenInfo(info.slotID, &token) != CKR_OK) return CKR_TOKEN_NOT_PRESENT;
  return CKR_OK;
}

Result<std::size_t> Session::modulus_len(const KeyRef& key) {
  if (auto it = keys_.find(key.cache_key()); it != keys_.end() && it->second.modulus_len != 0) {
    return it->second.modulus_len;
  }
  std::vector<unsigned char> modulus;
  if (Status s = read_attribute(key, CKA_MODULUS, &modulus); !s.is_ok()) return s;
  // Leading zero bytes do not count (some tokens keep them).
  std::size_t len = modulus.size();
  for (unsigned char byte : modulus) {
    if (byte != 0) break;
    --len;
  }
  if (len == 0) return Status(WC_HW_E, key.describe() + " has an empty modulus");
  keys_[key.cache_key()].modulus_len = len;
  return len;
}

Status Session::check_rsa_sizes(const KeyRef& key, std::size_t in_len, std::size_t overhead,
                                std::size_t out_len, const char* what) {
  auto k = modulus_len(key);
  if (!k.is_ok()) return k.status();
  if (in_len + overhead > k.value()) {
    return Status(BAD_FUNC_ARG, std::string(what) + ": input of " + std::to_string(in_len) +
                                    " bytes does not fit the " + std::to_string(k.value()) +
                                    "-byte modulus of " + key.describe());
  }
  if (out_len < k.value()) {
    return Status(BUFFER_E, std::string(what) + ": output buffer of " + std::to_string(out_len) +
                                " bytes is smaller than the " + std::to_string(k.value()) +
                                "-byte modulus");
  }
  return Status::ok();
}

template <typename Call>
Status Session::run(const KeyRef& key, const char* what, Call call) {
  const int losses_before = losses_;
  Status first = run_once(key, what, call);
  if (first.is_ok() || losses_ == losses_before) return first;
  // The session was lost under this operation (sessions closed, the login
  // gone, a token that failed over or restarted). Private-key operations and
  // reads may be repeated, so it runs once more on a session reopened through
  // Token::recover: a token that is reachable again costs the caller no
  // failed operation, and one that is not fails with both reasons.
  Status again = run_once(key, what, call);
  if (again.is_ok()) return again;
  return Status(again.code(), first.message() + "; reopened and tried again: " + again.message());
}

template <typename Call>
Status Session::run_once(const KeyRef& key, const char* what, Call call) {
  if (key.bytes.empty()) return Status(BAD_FUNC_ARG, std::string(what) + ": empty key id or label");
  const SigpipeGuard no_sigpipe;
  if (Status s = open(); !s.is_ok()) return s;
  std::optional<Token::Epoch> epoch(std::in_place, *token_);
  if (!epoch->current(generation_)) {
    // The token was recovered since this session opened: its number may be
    // another session's now. Forget it (never close it) and reopen.
    epoch.reset();
    forget();
    if (Status s = open(); !s.is_ok()) return s;
    epoch.emplace(*token_);
    if (!epoch->current(generation_)) {
      return Status(WC_HW_E, std::string(what) + " on token '" + token_->label() +
                                 "': the token was recovered twice meanwhile; try again");
    }
  }
  for (int attempt = 0;; ++attempt) {
    const bool cached = keys_.count(key.cache_key()) != 0;
    auto object = find(key);
    if (!object.is_ok()) return object.status();
    const CK_RV rv = call(object.value());
    if (rv == CKR_OK) return Status::ok();
    const std::string where =
        std::string(what) + " with " + key.describe() + " on token '" + token_->label() + "'";
    if ((rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID) && cached &&
        attempt == 0) {
      // The object was replaced since it was cached: look it up once more.
      keys_.erase(key.cache_key());
      continue;
    }
    if (session_lost(rv)) {
      lose(rv);
      return ckr_status(rv, where + ": session lost");
    }
    // A failed C_Sign may leave its operation active (CKR_BUFFER_TOO_SMALL
    // does by design); a fresh session is the portable way to end it.
    if (rv == CKR_BUFFER_TOO_SMALL || rv == CKR_OPERATION_ACTIVE) lose(rv);
    return ckr_status(rv, where);
  }
}

Status Session::sign_rsa_pkcs1(const KeyRef& key, const unsigned char* in, std::size_t in_len,
                               unsigned char* out, std::size_t* out_len) {
  if (in == nullptr || out == nullptr || out_len == nullptr) {
    return Status(BAD_FUNC_ARG, "RSA PKCS#1 v1.5 sign: null argument");
  }
  // Type 1 padding takes at least 11 bytes.
  if (Status s = check_rsa_sizes(key, in_len, 11, *out_len, "RSA PKCS#1 v1.5 sign"); !s.is_ok()) {
    return s;
  }
  return run(key, "RSA PKCS#1 v1.5 sign", [&](CK_OBJECT_HANDLE object) {
    CK_MECHANISM mechanism{CKM_RSA_PKCS, nullptr, 0};
    if (CK_RV rv = fn()->C_SignInit(handle_, &mechanism, object); rv != CKR_OK) return rv;
    CK_ULONG len = *out_len;
    CK_RV rv = fn()->C_Sign(handle_, const_cast<unsigned char*>(in), in_len, out, &len);
    if (rv == CKR_OK) *out_len = len;
    return rv;
  });
}

Status Session::sign_rsa_pss(const KeyRef& key, Hash hash_alg, std::size_t salt_len,
                             const unsigned char* hash, std::size_t hash_len, unsigned char* out,
                             std::size_t* out_len) {
  if (hash == nullptr || out == nullptr || out_len == nullptr) {
    return Status(BAD_FUNC_ARG, "RSA-PSS sign: null argument");
  }
  // EMSA-PSS needs the hash, the salt and two bytes.
  if (Status s = check_rsa_sizes(key, hash_len, salt_len + 2, *out_len, "RSA-PSS sign");
      !s.is_ok()) {
    return s;
  }
  return run(key, "RSA-PSS sign", [&](CK_OBJECT_HANDLE object) {
    const PssHash h = pss_hash(hash_alg);
    CK_RSA_PKCS_PSS_PARAMS params{h.hash, h.mgf, salt_len};
    CK_MECHANISM mechanism{CKM_RSA_PKCS_PSS, &params, sizeof params};
    if (CK_RV rv = fn()->C_SignInit(handle_, &mechanism, object); rv != CKR_OK) return rv;
    CK_ULONG len = *out_len;
    CK_RV rv = fn()->C_Sign(handle_, const_cast<unsigned char*>(hash), hash_len, out, &len);
    if (rv == CKR_OK) *out_len = len;
    return rv;
  });
}

Status Session::rsa_private_raw(const KeyRef& key, RawUse use, const unsigned char* in,
                                std::size_t in_len, unsigned char* out, std::size_t* out_len) {
  if (in == nullptr || out == nullptr || out_len == nullptr) {
    return Status(BAD_FUNC_ARG, "raw RSA private operation: null argument");
  }
  if (Status s = check_rsa_sizes(key, in_len, 0, *out_len, "raw RSA private operation");
      !s.is_ok()) {
    return s;
  }
  return run(key, "raw RSA private operation", [&](CK_OBJECT_HANDLE object) {
    CK_MECHANISM mechanism{CKM_RSA_X_509, nullptr, 0};
    CK_ULONG len = *out_len;
    CK_BYTE_PTR data = const_cast<unsigned char*>(in);
    CK_RV rv;
    if (use == RawUse::kSign) {
      rv = fn()->C_SignInit(handle_, &mechanism, object);
      if (rv == CKR_OK) rv = fn()->C_Sign(handle_, data, in_len, out, &len);
    } else {
      rv = fn()->C_DecryptInit(handle_, &mechanism, object);
      if (rv == CKR_OK) rv = fn()->C_Decrypt(handle_, data, in_len, out, &len);
    }
    if (rv == CKR_OK) *out_len = len;
    return rv;
  });
}

Status Session::sign_ecdsa(const KeyRef& key, const unsigned char* hash, std::size_t hash_len,
                           unsigned char* out, std::size_t* out_len) {
  if (hash == nullptr || out == nullptr || out_len == nullptr) {
    return Status(BAD_FUNC_ARG, "ECDSA sign: null argument");
  }
  if (hash_len == 0 || hash_len > 64) {
    return Status(BAD_FUNC_ARG, "ECDSA sign: a hash of " + std::to_string(hash_len) +
                                    " bytes (1 to 64 expected)");
  }
  unsigned char raw[2 * 66];  // r || s of the largest curve (P-521)
  CK_ULONG raw_len = sizeof raw;
  Status s = run(key, "ECDSA sign", [&](CK_OBJECT_HANDLE object) {
    CK_MECHANISM mechanism{CKM_ECDSA, nullptr, 0};
    if (CK_RV rv = fn()->C_SignInit(handle_, &mechanism, object); rv != CKR_OK) return rv;
    raw_len = sizeof raw;
    return fn()->C_Sign(handle_, const_cast<unsigned char*>(hash), hash_len, raw, &raw_len);
  });
  if (!s.is_ok()) return s;
  return raw_to_der(raw, raw_len, out, out_len);
}

Status Session::read_attribute(const KeyRef& key, CK_ATTRIBUTE_TYPE type,
                               std::vector<unsigned char>* out) {
  return run(key, "reading an attribute", [&](CK_OBJECT_HANDLE object) {
    CK_ATTRIBUTE attribute{type, nullptr, 0};
    CK_RV rv = fn()->C_GetAttributeValue(handle_, object, &attribute, 1);
    if (rv != CKR_OK) return rv;
    if (attribute.ulValueLen == CK_UNAVAILABLE_INFORMATION)
      return CK_RV(CKR_ATTRIBUTE_TYPE_INVALID);
    out->resize(attribute.ulValueLen);
    attribute.pValue = out->data();
    rv = fn()->C_GetAttributeValue(handle_, object, &attribute, 1);
    if (rv == CKR_OK) out->resize(attribute.ulValueLen);
    return rv;
  });
}

Result<RsaPublic> Session::rsa_public(const KeyRef& key) {
  RsaPublic pub;
  if (Status s = read_attribute(key, CKA_MODULUS, &pub.modulus); !s.is_ok()) return s;
  if (Status s = read_attribute(key, CKA_PUBLIC_EXPONENT, &pub.exponent); !s.is_ok()) return s;
  return pub;
}

Result<std::vector<unsigned char>> Session::ec_params(const KeyRef& key) {
  std::vector<unsigned char> params;
  if (Status s = read_attribute(key, CKA_EC_PARAMS, &params); !s.is_ok()) return s;
  return params;
}

}  // namespace asynccrypt::p11
