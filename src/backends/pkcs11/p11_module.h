// A PKCS#11 module loaded with dlopen and initialised once per process.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "backends/pkcs11/p11_api.h"
#include "core/status.h"

namespace asynccrypt::p11 {

// SigpipeGuard keeps SIGPIPE from ending the process while the calling
// thread is inside a module. Client libraries of network HSMs (p11-kit's
// client among them) write to a socket without MSG_NOSIGNAL: when the HSM
// side has gone, the write raises SIGPIPE, whose default action kills the
// process. While a guard lives, SIGPIPE is blocked in this thread (so the
// write fails with EPIPE and the module returns an error); when it ends, a
// SIGPIPE raised meanwhile is consumed and the old mask restored. A thread
// that already blocks SIGPIPE is left as it is.
class SigpipeGuard {
 public:
  SigpipeGuard();
  ~SigpipeGuard();
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  bool blocked_here_ = false;
};

// Module is one loaded PKCS#11 library. C_Initialize and C_Finalize are
// process-wide in PKCS#11, so every user of the same path shares one Module:
// the first open() loads and initialises it, the last holder's release
// finalises it. The function list is thread-safe when os_locking() is true.
class Module {
 public:
  // open returns the module at `path`, shared with every other holder of the
  // same path. It asks the module to use the operating system's locks
  // (CKF_OS_LOCKING_OK); a module that cannot (CKR_CANT_LOCK) is initialised
  // without them and os_locking() is false: then only one thread may call it
  // at a time. A module that someone else in the process already initialised
  // (CKR_CRYPTOKI_ALREADY_INITIALIZED) is used as it is and never finalised
  // by us. Fails with BAD_FUNC_ARG when the file cannot be loaded or is not a
  // PKCS#11 module, WC_HW_E when C_Initialize fails.
  static Result<std::shared_ptr<Module>> open(const std::string& path);

  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CK_FUNCTION_LIST* fn() const { return fn_; }
  const std::string& path() const { return path_; }
  bool os_locking() const { return os_locking_; }

  // forked says whether this process is a child of the one that initialised
  // the module: sessions and logins do not survive fork (PKCS#11 v2.40
  // section 6.6.1), so such a process must open its own device.
  bool forked() const;

  // Use open(); public only for the shared registry.
  struct Key {
    explicit Key() = default;
  };
  Module(Key, std::string path) : path_(std::move(path)) {}

 private:
  Status load();

  std::string path_;
  void* library_ = nullptr;         // from dlopen; constant after load()
  CK_FUNCTION_LIST* fn_ = nullptr;  // likewise
  bool os_locking_ = true;          // likewise
  bool finalize_ = false;           // we initialised it, so we finalise it
  pid_t pid_ = 0;                   // the process that initialised it
};

}  // namespace asynccrypt::p11
