// A PKCS#11 module loaded with dlopen and initialised once per process.
#include "backends/pkcs11/p11_module.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <mutex>

#include "backends/pkcs11/p11_errors.h"
#include "core/wolfssl_api.h"

namespace asynccrypt::p11 {
namespace {

// Open modules by path. Recursive: the deleter of the last reference takes
// it, and that reference may be dropped while open() holds it.
std::recursive_mutex& registry_mutex() {
  static std::recursive_mutex mu;
  return mu;
}
// guarded by registry_mutex()
std::map<std::string, std::weak_ptr<Module>>& registry() {
  static auto* modules = new std::map<std::string, std::weak_ptr<Module>>();
  return *modules;
}

}  // namespace

SigpipeGuard::SigpipeGuard() {
  sigset_t pipe;
  sigset_t old;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  if (pthread_sigmask(SIG_BLOCK, &pipe, &old) == 0) blocked_here_ = !sigismember(&old, SIGPIPE);
}

SigpipeGuard::~SigpipeGuard() {
  if (!blocked_here_) return;
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  sigset_t pending;
  // A SIGPIPE raised by a write of this thread is pending on this thread:
  // take it before unblocking, or it would be delivered now.
  if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
    const timespec now{0, 0};
    while (sigtimedwait(&pipe, nullptr, &now) < 0 && errno == EINTR) {
    }
  }
  (void)pthread_sigmask(SIG_UNBLOCK, &pipe, nullptr);
}

Result<std::shared_ptr<Module>> Module::open(const std::string& path) {
  if (path.empty()) return Status(BAD_FUNC_ARG, "no PKCS#11 module given (module=PATH)");
  std::lock_guard<std::recursive_mutex> lock(registry_mutex());
  if (auto existing = registry()[path].lock()) return existing;
  auto module = std::make_unique<Module>(Key{}, path);
  if (Status s = module->load(); !s.is_ok()) return s;
  // Finalising under the registry's lock keeps a new open() of the same
  // path from initialising the module while it is being finalised.
  std::shared_ptr<Module> shared(module.release(), [](Module* m) {
    std::lock_guard<std::recursive_mutex> lock(registry_mutex());
    delete m;
  });
  registry()[path] = shared;
  return shared;
}

Status Module::load() {
  // RTLD_NODELETE: modules (SoftHSM2 with OpenSSL among them) keep
  // process-wide state and exit handlers that must not outlive their code.
  library_ = dlopen(path_.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (library_ == nullptr) {
    const char* why = dlerror();
    return Status(BAD_FUNC_ARG, "cannot load PKCS#11 module " + path_ + ": " +
                                    (why != nullptr ? why : "unknown error"));
  }
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(library_, "C_GetFunctionList"));
  if (get_list == nullptr) {
    return Status(BAD_FUNC_ARG, path_ + " is not a PKCS#11 module (no C_GetFunctionList)");
  }
  if (CK_RV rv = get_list(&fn_); rv != CKR_OK || fn_ == nullptr) {
    return ckr_status(rv != CKR_OK ? rv : CKR_GENERAL_ERROR,
                      "C_GetFunctionList of " + path_ + " failed");
  }
  const SigpipeGuard no_sigpipe;
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  CK_RV rv = fn_->C_Initialize(&args);
  if (rv == CKR_CANT_LOCK) {
    // The module cannot lock by itself: it may only be called from one
    // thread at a time (the device then runs a single worker).
    os_locking_ = false;
    rv = fn_->C_Initialize(nullptr);
  }
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) return Status::ok();
  if (rv != CKR_OK) return ckr_status(rv, "C_Initialize of " + path_ + " failed");
  finalize_ = true;
  pid_ = getpid();
  return Status::ok();
}

bool Module::forked() const { return pid_ != 0 && pid_ != getpid(); }

Module::~Module() {
  const SigpipeGuard no_sigpipe;
  // In a forked child the parent's state is not ours to finalise.
  if (finalize_ && !forked()) (void)fn_->C_Finalize(nullptr);
  if (library_ != nullptr) dlclose(library_);
  auto it = registry().find(path_);
  if (it != registry().end() && it->second.expired()) registry().erase(it);
}

}  // namespace asynccrypt::p11
