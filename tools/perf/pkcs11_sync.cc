// wolfSSL's own PKCS#11 code as the server key's device (perf-server --key-pkcs11-sync).
#include "perf/pkcs11_sync.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>

#include <wolfssl/wolfcrypt/cryptocb.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/rsa.h>
#ifdef HAVE_PKCS11
#include <wolfssl/wolfcrypt/wc_pkcs11.h>
#endif

#include <strings.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

namespace perf {

bool parse_pkcs11_spec(const std::string& spec, Pkcs11Spec* out, std::string* error) {
  const std::string prefix = "pkcs11:";
  if (spec.compare(0, prefix.size(), prefix) != 0) {
    *error = "not a pkcs11 device spec (pkcs11:module=PATH,token=LABEL,pin-file=PATH)";
    return false;
  }
  *out = Pkcs11Spec{};
  std::istringstream items(spec.substr(prefix.size()));
  std::string item;
  bool seen_module = false, seen_token = false, seen_pin_file = false, seen_pin_env = false;
  while (std::getline(items, item, ',')) {
    const std::size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
    std::string* field = nullptr;
    bool* seen = nullptr;
    if (key == "module") {
      field = &out->module;
      seen = &seen_module;
    } else if (key == "token") {
      field = &out->token;
      seen = &seen_token;
    } else if (key == "pin-file") {
      field = &out->pin_file;
      seen = &seen_pin_file;
    } else if (key == "pin-env") {
      field = &out->pin_env;
      seen = &seen_pin_env;
    } else if (key == "workers" || key == "depth" || key == "delay_us") {
      continue;  // the device's own options
    } else {
      *error = "unknown option '" + key + "' in the pkcs11 spec";
      return false;
    }
    if (*seen) {
      *error = "'" + key + "' given twice in the pkcs11 spec";
      return false;
    }
    *seen = true;
    *field = value;
  }
  if (out->module.empty() || out->token.empty()) {
    *error = "the pkcs11 spec needs module= and token=";
    return false;
  }
  if (out->pin_file.empty() == out->pin_env.empty()) {
    *error = "the pkcs11 spec needs one of pin-file= and pin-env=";
    return false;
  }
  return true;
}

#ifdef HAVE_PKCS11

struct SyncPkcs11Key::State {
  Pkcs11Dev dev{};
  Pkcs11Token token{};
  // wolfSSL keeps a pointer to the PIN (token.userPin), not a copy:
  // wc_Pkcs11Token_Final wipes it.
  std::string pin;
  bool dev_open = false, token_open = false, registered = false;
  std::atomic<long long>* operations = nullptr;
};

namespace {

// read_pin returns the PIN from the spec's file (one trailing newline is
// not part of it) or variable; false with *error when it is not there.
bool read_pin(const Pkcs11Spec& spec, std::string* pin, std::string* error) {
  if (!spec.pin_env.empty()) {
    const char* value = std::getenv(spec.pin_env.c_str());
    if (value == nullptr || *value == '\0') {
      *error = "PIN variable " + spec.pin_env + " is not set";
      return false;
    }
    *pin = value;
    return true;
  }
  std::ifstream in(spec.pin_file, std::ios::binary);
  pin->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (!pin->empty() && pin->back() == '\n') pin->pop_back();
  if (!pin->empty() && pin->back() == '\r') pin->pop_back();
  if (pin->empty()) {
    *error = "PIN file " + spec.pin_file + " is unreadable or empty";
    return false;
  }
  return true;
}

// private_key_call says whether `info` asks for the private key: what the
// pkcs11 device counts as its operations (wolfSSL's PKCS#11 code also
// answers the key's public operations, TLS's check of its own signature).
bool private_key_call(const wc_CryptoInfo* info) {
  if (info->algo_type != WC_ALGO_TYPE_PK) return false;
  switch (info->pk.type) {
    case WC_PK_TYPE_RSA:
      return info->pk.rsa.type == RSA_PRIVATE_ENCRYPT || info->pk.rsa.type == RSA_PRIVATE_DECRYPT;
    case WC_PK_TYPE_ECDSA_SIGN:
      return true;
    default:
      return false;
  }
}

// counting_callback forwards to wolfSSL's PKCS#11 callback and counts the
// private-key operations the token made.
int counting_callback(int dev_id, wc_CryptoInfo* info, void* ctx) {
  auto* state = static_cast<SyncPkcs11Key::State*>(ctx);
  const int ret = wc_Pkcs11_CryptoDevCb(dev_id, info, &state->token);
  if (ret == 0 && private_key_call(info)) {
    state->operations->fetch_add(1, std::memory_order_relaxed);
  }
  return ret;
}

// find_slot returns the id of the slot whose token is labelled `label`
// (CKA_LABEL is 32 bytes padded with spaces), or -1. wolfSSL 5.5.4 and
// 5.7.2 look a token's name up by position in the slot list, not by slot id
// (wc_pkcs11.c, Pkcs11Slot_FindByTokenName, fixed by 5.9): with SoftHSM2,
// whose slot ids are not positions, wc_Pkcs11Token_InitName finds no slot
// there. So the slot is found here and given to wc_Pkcs11Token_Init.
long find_slot(CK_FUNCTION_LIST* fn, const std::string& label) {
  CK_ULONG count = 0;
  if (fn->C_GetSlotList(CK_TRUE, nullptr, &count) != CKR_OK) return -1;
  std::vector<CK_SLOT_ID> slots(count);
  if (count == 0 || fn->C_GetSlotList(CK_TRUE, slots.data(), &count) != CKR_OK) return -1;
  std::string padded = label;
  padded.resize(32, ' ');
  for (CK_ULONG i = 0; i < count; ++i) {
    CK_TOKEN_INFO info{};
    if (fn->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
        padded.compare(0, 32, reinterpret_cast<const char*>(info.label), 32) == 0) {
      return static_cast<long>(slots[i]);
    }
  }
  return -1;
}

}  // namespace

std::unique_ptr<SyncPkcs11Key> SyncPkcs11Key::open(const std::string& text, std::string* error) {
  Pkcs11Spec spec;
  if (!parse_pkcs11_spec(text, &spec, error)) return nullptr;
  std::unique_ptr<SyncPkcs11Key> key(new SyncPkcs11Key());
  key->state_ = std::make_unique<State>();
  State& s = *key->state_;
  if (!read_pin(spec, &s.pin, error)) return nullptr;
  s.operations = &key->operations_;
  int ret = wc_Pkcs11_Initialize(&s.dev, spec.module.c_str(), nullptr);
  if (ret != 0) {
    *error = "wc_Pkcs11_Initialize(" + spec.module + ") failed: " + std::to_string(ret);
    return nullptr;
  }
  s.dev_open = true;
  const long slot = find_slot(s.dev.func, spec.token);
  if (slot < 0 || slot > INT_MAX) {
    *error = slot < 0 ? "no token labelled '" + spec.token + "' in " + spec.module
                      : "the slot id of token '" + spec.token + "' does not fit wolfSSL's int";
    return nullptr;
  }
  ret = wc_Pkcs11Token_Init(&s.token, &s.dev, static_cast<int>(slot), spec.token.c_str(),
                            reinterpret_cast<const unsigned char*>(s.pin.data()),
                            static_cast<int>(s.pin.size()));
  if (ret != 0) {
    *error = "wc_Pkcs11Token_Init('" + spec.token + "') failed: " + std::to_string(ret);
    return nullptr;
  }
  s.token_open = true;
  // One session for every call, logged in once (otherwise wolfSSL opens,
  // logs in, logs out and closes a session around each operation).
  ret = wc_Pkcs11Token_Open(&s.token, 0);
  if (ret != 0) {
    *error =
        "wc_Pkcs11Token_Open('" + spec.token + "') failed (wrong PIN?): " + std::to_string(ret);
    return nullptr;
  }
  ret = wc_CryptoCb_RegisterDevice(kDevId, counting_callback, &s);
  if (ret != 0) {
    *error = "wc_CryptoCb_RegisterDevice failed: " + std::to_string(ret);
    return nullptr;
  }
  s.registered = true;
  return key;
}

SyncPkcs11Key::~SyncPkcs11Key() {
  if (!state_) return;
  if (state_->registered) wc_CryptoCb_UnRegisterDevice(kDevId);
  // wc_Pkcs11Token_Final closes the token's session and wipes the PIN copy.
  if (state_->token_open) wc_Pkcs11Token_Final(&state_->token);
  if (state_->dev_open) wc_Pkcs11_Finalize(&state_->dev);
  explicit_bzero(state_->pin.data(), state_->pin.size());
}

#else  // !HAVE_PKCS11

struct SyncPkcs11Key::State {};

std::unique_ptr<SyncPkcs11Key> SyncPkcs11Key::open(const std::string& text, std::string* error) {
  Pkcs11Spec spec;
  if (!parse_pkcs11_spec(text, &spec, error)) return nullptr;
  *error = "this wolfSSL has no PKCS#11 code of its own: configure it with --enable-pkcs11";
  return nullptr;
}

SyncPkcs11Key::~SyncPkcs11Key() = default;

#endif  // HAVE_PKCS11

}  // namespace perf
