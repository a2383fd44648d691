// One worker's PKCS#11 session: opened once, object handles cached, private-key operations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/pkcs11/p11_api.h"
#include "backends/pkcs11/p11_token.h"
#include "core/status.h"

namespace asynccrypt::p11 {

// KeyRef names a key object on the token by CKA_ID or CKA_LABEL (as
// wolfSSL_CTX_use_PrivateKey_Id / _Label give it) and its class.
struct KeyRef {
  enum class By { kId, kLabel };
  By by = By::kId;
  std::string bytes;  // the id's bytes, or the label's text
  CK_OBJECT_CLASS object_class = CKO_PRIVATE_KEY;

  static KeyRef id(std::string bytes, CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY) {
    return {By::kId, std::move(bytes), cls};
  }
  static KeyRef label(std::string text, CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY) {
    return {By::kLabel, std::move(text), cls};
  }
  // For messages: "private key with id 0a1b" or "public key labelled 'x'".
  std::string describe() const;
  // The cache key: kind, class and bytes.
  std::string cache_key() const;
};

// The hashes that RSA-PSS may name (CK_RSA_PKCS_PSS_PARAMS).
enum class Hash { kSha1, kSha224, kSha256, kSha384, kSha512 };

// What a raw RSA private-key operation (CKM_RSA_X_509) is for: the key's
// CKA_SIGN or its CKA_DECRYPT permission decides which call may be made.
enum class RawUse { kSign, kDecrypt };

// An RSA public key read from the token (big-endian).
struct RsaPublic {
  std::vector<unsigned char> modulus;
  std::vector<unsigned char> exponent;
};

// Session is one PKCS#11 session on a Token, for one thread at a time (a
// worker owns it; PKCS#11 leaves concurrent use of one session undefined).
// It opens lazily on the first operation (or open()), then stays open. Key
// objects are looked up once per session and their handles cached.
//
// Every operation returns 0 or a wolfSSL code with a message (ckr_status):
// MISSING_KEY when the key is not on the token, BAD_FUNC_ARG when the input
// does not fit the key, BUFFER_E when the output buffer is too small,
// WC_HW_E when the token failed. When the session is lost under an
// operation (token removed, re-initialised or restarted, sessions closed,
// login gone: session_lost()) the session is reopened through
// Token::recover and the operation tried once more: it fails (WC_HW_E, with
// both reasons) only when the token cannot be reached or logged in again.
class Session {
 public:
  explicit Session(std::shared_ptr<Token> token) : token_(std::move(token)) {}
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // open opens the session now if it is not open (operations do it too).
  Status open();

  // sign_rsa_pkcs1 signs `in` (a DigestInfo, or TLS 1.0's MD5 || SHA-1)
  // with CKM_RSA_PKCS: PKCS#1 v1.5 type 1 padding and the private-key
  // operation. *out_len: out's size on entry, the signature's on return.
  Status sign_rsa_pkcs1(const KeyRef& key, const unsigned char* in, std::size_t in_len,
                        unsigned char* out, std::size_t* out_len);

  // sign_rsa_pss signs the digest `hash` (computed with `hash_alg`) with
  // CKM_RSA_PKCS_PSS, MGF1 over the same hash and a salt of salt_len bytes.
  Status sign_rsa_pss(const KeyRef& key, Hash hash_alg, std::size_t salt_len,
                      const unsigned char* hash, std::size_t hash_len, unsigned char* out,
                      std::size_t* out_len);

  // rsa_private_raw computes in^d mod n with CKM_RSA_X_509 (in: at most the
  // modulus's length; wolfSSL always gives all of it), through C_Sign or
  // C_Decrypt as `use` says. The result has the modulus's length. Tokens in
  // FIPS mode may refuse raw RSA (WC_HW_E, CKR_MECHANISM_INVALID).
  Status rsa_private_raw(const KeyRef& key, RawUse use, const unsigned char* in, std::size_t in_len,
                         unsigned char* out, std::size_t* out_len);

  // sign_ecdsa signs the digest `hash` with CKM_ECDSA and writes the
  // signature DER-encoded (SEQUENCE of r and s, as wolfCrypt's
  // wc_ecc_sign_hash does).
  Status sign_ecdsa(const KeyRef& key, const unsigned char* hash, std::size_t hash_len,
                    unsigned char* out, std::size_t* out_len);

  // rsa_public reads the modulus and public exponent of an RSA key (from
  // the private key object: PKCS#11 keeps both there).
  Result<RsaPublic> rsa_public(const KeyRef& key);

  // ec_params reads CKA_EC_PARAMS of an EC key: the DER of the curve's OID.
  Result<std::vector<unsigned char>> ec_params(const KeyRef& key);

  // For tests: the session's handle (CK_INVALID_HANDLE when not open), the
  // number of cached key handles, and how often the session was opened.
  CK_SESSION_HANDLE handle() const { return handle_; }
  std::size_t cached_keys() const { return keys_.size(); }
  int opens() const { return opens_; }
  const Token& token() const { return *token_; }

 private:
  // Runs call(object) for key's object on an open session (run_once), and
  // once more when the session was lost under it. `call` must be safe to
  // repeat: it writes its outputs only when it succeeds.
  template <typename Call>
  Status run(const KeyRef& key, const char* what, Call call);
  // One try, with one more after a fresh lookup when a cached handle has
  // gone stale. A lost session is forgotten (lose()) for the next open().
  template <typename Call>
  Status run_once(const KeyRef& key, const char* what, Call call);
  Result<CK_OBJECT_HANDLE> find(const KeyRef& key);
  // The RSA key's modulus length in bytes, read once and cached. Inputs are
  // checked against it before they reach the token: SoftHSM2 2.6.1 ends the
  // process (exit(5)) on a raw RSA input longer than the modulus.
  Result<std::size_t> modulus_len(const KeyRef& key);
  Status check_rsa_sizes(const KeyRef& key, std::size_t in_len, std::size_t max_in_overhead,
                         std::size_t out_len, const char* what);
  Status read_attribute(const KeyRef& key, CK_ATTRIBUTE_TYPE type, std::vector<unsigned char>* out);
  // CKR_OK when the session is logged in and its token still there, else
  // the code that describes what is gone.
  CK_RV check_alive();
  // Forgets the session after `rv`; closes it when its handle is still ours.
  void lose(CK_RV rv);
  // Forgets the session without closing it; the next open() recovers.
  void forget();
  CK_FUNCTION_LIST* fn() const { return token_->fn(); }

  std::shared_ptr<Token> token_;
  CK_SESSION_HANDLE handle_ = CK_INVALID_HANDLE;
  std::uint64_t generation_ = 0;  // the token's generation handle_ was opened in
  bool lost_ = false;             // handle_ is gone; recover before reopening
  int opens_ = 0;
  int losses_ = 0;  // lose() calls: whether an operation lost its session
  struct CachedKey {
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    std::size_t modulus_len = 0;  // RSA keys, once read; 0 until then
  };
  std::map<std::string, CachedKey> keys_;  // KeyRef::cache_key() -> the key's handle
};

}  // namespace asynccrypt::p11
