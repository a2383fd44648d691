// Device opening, TLS context setup and error text for the perf tools.
#include "perf/tls_common.h"

#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

namespace perf {

bool open_device(const std::string& spec, bool per_thread, asynccrypt::DeviceHandle* device,
                 std::string* name, std::string* error) {
  *name = "none";
  if (spec == "none") return true;
  auto opened = per_thread ? asynccrypt::DeviceHandle::open_for_thread(spec, pthread_self())
                           : asynccrypt::DeviceHandle::open(spec);
  if (!opened) {
    *error = "async device open failed (" + (spec.empty() ? std::string("default") : spec) +
             "): " + asynccrypt_LastError() + " " + error_text(opened.error().code());
    return false;
  }
  *device = std::move(*opened);
  if (spec.empty()) {
    auto kind = device->kind();
    *name = kind ? *kind : "default";
  } else {
    *name = spec;
  }
  return true;
}

void add_device_stats(const asynccrypt::DeviceHandle& device, long long* ops,
                      long long* inline_ops) {
  if (!device) return;
  auto stats = device.stats();
  if (!stats) return;
  *ops += static_cast<long long>(stats->submitted);
  *inline_ops += static_cast<long long>(stats->inline_runs + stats->declined);
}

bool version_supported(int v) { return v == 3 || v == 4; }

namespace {

struct NamedGroup {
  const char* name;
  int id;
};

// The key-exchange groups this build of wolfSSL offers, by their usual names.
constexpr NamedGroup kGroups[] = {
#ifdef HAVE_ECC
    {"P-256", WOLFSSL_ECC_SECP256R1},
    {"P-384", WOLFSSL_ECC_SECP384R1},
    {"P-521", WOLFSSL_ECC_SECP521R1},
#endif
#ifdef HAVE_CURVE25519
    {"X25519", WOLFSSL_ECC_X25519},
#endif
#if LIBWOLFSSL_VERSION_HEX >= 0x05009000 && defined(WOLFSSL_HAVE_MLKEM)
    {"P256MLKEM768", WOLFSSL_SECP256R1MLKEM768},
#ifdef HAVE_CURVE25519
    {"X25519MLKEM768", WOLFSSL_X25519MLKEM768},
#endif
#endif
#ifndef NO_DH
    {"ffdhe2048", WOLFSSL_FFDHE_2048},
#endif
};

WOLFSSL_METHOD* method_for(const TlsConfig& cfg) {
  if (cfg.server) {
    if (cfg.any_version) return wolfSSLv23_server_method();
    return cfg.version == 4 ? wolfTLSv1_3_server_method() : wolfTLSv1_2_server_method();
  }
  return cfg.version == 4 ? wolfTLSv1_3_client_method() : wolfTLSv1_2_client_method();
}

// The own key by id or label on the pkcs11 device cfg.key_dev_id.
bool use_token_key(WOLFSSL_CTX* ctx, const TlsConfig& cfg, std::string* error) {
#ifdef WOLF_PRIVATE_KEY_ID
  const int ok = cfg.key_label.empty()
                     ? wolfSSL_CTX_use_PrivateKey_Id(
                           ctx, reinterpret_cast<const unsigned char*>(cfg.key_id.data()),
                           static_cast<long>(cfg.key_id.size()), cfg.key_dev_id)
                     : wolfSSL_CTX_use_PrivateKey_Label(ctx, cfg.key_label.c_str(), cfg.key_dev_id);
  if (ok == WOLFSSL_SUCCESS) return true;
  *error = "wolfSSL did not take the token key (--key-id/--key-label)";
#else
  (void)ctx;
  (void)cfg;
  *error = "this wolfSSL cannot use keys by id or label: configure it with --enable-cryptocb";
#endif
  return false;
}

}  // namespace

CtxPtr make_ctx(const TlsConfig& cfg, int dev_id, std::string* error) {
  if (!version_supported(cfg.version)) {
    *error = "TLS version -v " + std::to_string(cfg.version) +
             " is not available (3 = TLS 1.2, 4 = TLS 1.3)";
    return nullptr;
  }
  CtxPtr ctx(wolfSSL_CTX_new(method_for(cfg)));
  if (!ctx) {
    *error = "wolfSSL_CTX_new failed";
    return nullptr;
  }
  if (!cfg.cipher_list.empty() &&
      wolfSSL_CTX_set_cipher_list(ctx.get(), cfg.cipher_list.c_str()) != WOLFSSL_SUCCESS) {
    *error = "cipher list not accepted: " + cfg.cipher_list;
    return nullptr;
  }
  const bool load_own = cfg.server || cfg.client_cert;
  if (load_own) {
    if (wolfSSL_CTX_use_certificate_chain_file(ctx.get(), cfg.files.cert.c_str()) !=
        WOLFSSL_SUCCESS) {
      *error =
          "cannot load certificate " + cfg.files.cert + " (pass -c, or " + cert_dir_help() + ")";
      return nullptr;
    }
    if (cfg.key_dev_id != INVALID_DEVID) {
      if (!use_token_key(ctx.get(), cfg, error)) return nullptr;
    } else if (wolfSSL_CTX_use_PrivateKey_file(ctx.get(), cfg.files.key.c_str(),
                                               WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
      *error = "cannot load private key " + cfg.files.key + " (pass -k)";
      return nullptr;
    }
  }
  const bool verify = !cfg.server || cfg.client_cert;
  if (verify) {
    if (wolfSSL_CTX_load_verify_locations(ctx.get(), cfg.files.ca.c_str(), nullptr) !=
        WOLFSSL_SUCCESS) {
      *error = "cannot load CA certificate " + cfg.files.ca + " (pass -A)";
      return nullptr;
    }
    // The server asks for a client certificate but, like the original,
    // does not insist, so that curl and s_client without one get through.
    wolfSSL_CTX_set_verify(ctx.get(), WOLFSSL_VERIFY_PEER, nullptr);
  } else {
    wolfSSL_CTX_set_verify(ctx.get(), WOLFSSL_VERIFY_NONE, nullptr);
  }
  if (!cfg.groups.empty()) {
    std::vector<int> groups = cfg.groups;  // wolfSSL takes a non-const array
    if (wolfSSL_CTX_set_groups(ctx.get(), groups.data(), static_cast<int>(groups.size())) !=
        WOLFSSL_SUCCESS) {
      *error = "key-exchange groups not accepted (--groups)";
      return nullptr;
    }
  }
  if (dev_id != INVALID_DEVID && wolfSSL_CTX_SetDevId(ctx.get(), dev_id) != WOLFSSL_SUCCESS) {
    *error = "wolfSSL_CTX_SetDevId failed";
    return nullptr;
  }
  return ctx;
}

bool parse_groups(const std::string& list, std::vector<int>* ids) {
  ids->clear();
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t end = std::min(list.find(':', start), list.size());
    const std::string name = list.substr(start, end - start);
    bool found = false;
    for (const NamedGroup& g : kGroups) {
      if (name == g.name) {
        ids->push_back(g.id);
        found = true;
      }
    }
    if (!found) return false;
    start = end + 1;
  }
  return !ids->empty();
}

std::string group_names() {
  std::string names;
  for (const NamedGroup& g : kGroups) names += (names.empty() ? "" : ", ") + std::string(g.name);
  return names;
}

namespace {

// The directory of the running executable ("" when /proc cannot say).
std::string executable_dir() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  const std::string path(buf, static_cast<std::size_t>(n));
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

bool holds_certs(const std::string& dir) {
  struct stat st;
  return stat((dir + "/ca-cert.pem").c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

std::string default_cert_dir() {
  // An explicit choice is taken as it is: a wrong one fails loudly when the
  // files are loaded, never silently falls back to another directory.
  if (const char* env = std::getenv("ASYNCCRYPT_CERTS"); env != nullptr && *env != '\0') {
    return env;
  }
  std::vector<std::string> candidates;
  if (std::string exe = executable_dir(); !exe.empty()) candidates.push_back(exe + "/certs");
  candidates.emplace_back("certs");
  // Where the README's `scripts/gen-certs.sh build/certs` writes them, for a
  // tool started from the top of a checkout.
  candidates.emplace_back("build/certs");
  for (const std::string& dir : candidates) {
    if (holds_certs(dir)) return dir;
  }
  return "";
}

std::string cert_dir_help() {
  return "set ASYNCCRYPT_CERTS to a directory made by scripts/gen-certs.sh DIR, put a certs/ "
         "directory beside the executable or in the current directory, or pass -c, -k and -A";
}

std::string error_text(int err) {
  char buf[WOLFSSL_MAX_ERROR_SZ] = {};
  // wolfSSL casts the value back to int, so negative codes pass through.
  wolfSSL_ERR_error_string(static_cast<unsigned long>(err), buf);
  return std::string(buf) + " (" + std::to_string(err) + ")";
}

}  // namespace perf
