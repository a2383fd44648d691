// A test-only PKCS#11 module that forwards to a real one and sleeps before each private-key call.
//
// It makes a local token (SoftHSM2) look like a network HSM: every C_Sign,
// C_SignFinal, C_SignRecover, C_Decrypt and C_DecryptFinal waits
// ASYNCCRYPT_P11_DELAY_US microseconds (default 2000), then calls the real
// module named by ASYNCCRYPT_P11_DELAY_MODULE. Each call sleeps in its own
// thread without any lock, so calls from several threads overlap as a
// network HSM's round trips do. Every other function is the real module's
// own. For tests and benchmarks only (docs/hsm.md).
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>

namespace {

constexpr const char* kModuleEnv = "ASYNCCRYPT_P11_DELAY_MODULE";
constexpr const char* kDelayEnv = "ASYNCCRYPT_P11_DELAY_US";
constexpr long kDefaultDelayUs = 2000;
constexpr long kMaxDelayUs = 10'000'000;  // 10 s: anything longer is a typo

// The forwarding state. The table is filled once, under g_mutex, before the
// first C_GetFunctionList returns it. The real module is never dlclose()d:
// nothing tells this module when its last caller is done with the table
// (C_Finalize may be followed by another C_Initialize).
// g_table and g_real are written once, under g_mutex, before the first
// table is handed out, and only read afterwards (the wrappers read g_real
// without the lock: whoever calls them got the table after that write).
std::mutex g_mutex;
CK_FUNCTION_LIST g_table;
CK_FUNCTION_LIST* g_real = nullptr;
std::string g_real_path;  // guarded by g_mutex
// Read by every wrapper; written by each C_GetFunctionList (relaxed: a
// number on its own, nothing else is published through it).
std::atomic<long> g_delay_us{kDefaultDelayUs};

void say(const std::string& text) { (void)std::fprintf(stderr, "p11_delay: %s\n", text.c_str()); }

// parse_delay reads ASYNCCRYPT_P11_DELAY_US: unset is the default; else
// decimal digits only, 0..kMaxDelayUs. False when the value is bad.
bool parse_delay(long* out) {
  const char* text = std::getenv(kDelayEnv);
  if (text == nullptr) {
    *out = kDefaultDelayUs;
    return true;
  }
  if (*text == '\0') return false;
  long value = 0;
  for (const char* p = text; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9') return false;
    value = value * 10 + (*p - '0');
    if (value > kMaxDelayUs) return false;
  }
  *out = value;
  return true;
}

// round_trip sleeps the configured time in the calling thread; a signal
// does not cut it short (the deadline is absolute).
void round_trip() {
  const long us = g_delay_us.load(std::memory_order_relaxed);
  if (us <= 0) return;
  timespec deadline{};
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += us / 1'000'000;
  deadline.tv_nsec += (us % 1'000'000) * 1000;
  if (deadline.tv_nsec >= 1'000'000'000) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1'000'000'000;
  }
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
  }
}

// The wrappers read g_real without the lock: it is set before the table
// that leads here is handed out, and never changes afterwards.
CK_RV delayed_sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG data_len,
                   CK_BYTE_PTR signature, CK_ULONG_PTR signature_len) {
  round_trip();
  return g_real->C_Sign(session, data, data_len, signature, signature_len);
}

CK_RV delayed_sign_final(CK_SESSION_HANDLE session, CK_BYTE_PTR signature,
                         CK_ULONG_PTR signature_len) {
  round_trip();
  return g_real->C_SignFinal(session, signature, signature_len);
}

CK_RV delayed_sign_recover(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG data_len,
                           CK_BYTE_PTR signature, CK_ULONG_PTR signature_len) {
  round_trip();
  return g_real->C_SignRecover(session, data, data_len, signature, signature_len);
}

CK_RV delayed_decrypt(CK_SESSION_HANDLE session, CK_BYTE_PTR encrypted, CK_ULONG encrypted_len,
                      CK_BYTE_PTR data, CK_ULONG_PTR data_len) {
  round_trip();
  return g_real->C_Decrypt(session, encrypted, encrypted_len, data, data_len);
}

CK_RV delayed_decrypt_final(CK_SESSION_HANDLE session, CK_BYTE_PTR last_part,
                            CK_ULONG_PTR last_part_len) {
  round_trip();
  return g_real->C_DecryptFinal(session, last_part, last_part_len);
}

// load_real_locked opens the real module at `path` and builds the table.
CK_RV load_real_locked(const std::string& path) {
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = dlerror();
    say(std::string(kModuleEnv) + "=" + path +
        " cannot be loaded: " + (why ? why : "dlopen failed"));
    return CKR_GENERAL_ERROR;
  }
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(library, "C_GetFunctionList"));
  CK_FUNCTION_LIST* real = nullptr;
  if (get_list == nullptr || get_list(&real) != CKR_OK || real == nullptr) {
    say(std::string(kModuleEnv) + "=" + path + " is not a PKCS#11 module");
    dlclose(library);
    return CKR_GENERAL_ERROR;
  }
  g_table = *real;
  g_table.C_Sign = delayed_sign;
  g_table.C_SignFinal = delayed_sign_final;
  g_table.C_SignRecover = delayed_sign_recover;
  g_table.C_Decrypt = delayed_decrypt;
  g_table.C_DecryptFinal = delayed_decrypt_final;
  g_real = real;
  g_real_path = path;
  return CKR_OK;
}

}  // namespace

// C_GetFunctionList reads both variables on every call (so a process can
// change the delay between loads), loads the real module on the first
// call, and returns the table. A missing or bad variable, a module that
// cannot be loaded, or another module than the one already forwarded to
// prints one line naming the variable and returns CKR_GENERAL_ERROR.
extern "C" __attribute__((visibility("default"))) CK_RV C_GetFunctionList(
    CK_FUNCTION_LIST_PTR_PTR list) {
  if (list == nullptr) return CKR_ARGUMENTS_BAD;
  long delay = 0;
  if (!parse_delay(&delay)) {
    say(std::string(kDelayEnv) + " must be a number of microseconds, 0.." +
        std::to_string(kMaxDelayUs));
    return CKR_GENERAL_ERROR;
  }
  const char* path = std::getenv(kModuleEnv);
  if (path == nullptr || *path == '\0') {
    say(std::string(kModuleEnv) + " is not set: name the real PKCS#11 module");
    return CKR_GENERAL_ERROR;
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_real == nullptr) {
    if (const CK_RV rv = load_real_locked(path); rv != CKR_OK) return rv;
  } else if (g_real_path != path) {
    say(std::string(kModuleEnv) + "=" + path + ", but this process already forwards to " +
        g_real_path);
    return CKR_GENERAL_ERROR;
  }
  g_delay_us.store(delay, std::memory_order_relaxed);
  *list = &g_table;
  return CKR_OK;
}
