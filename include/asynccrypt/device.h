// asynccrypt::DeviceHandle, an opened asynccrypt device that closes itself.
#pragma once

// options.h fixes wolfSSL's structure layouts: it must come first.
#include <wolfssl/options.h>

#include <wolfssl/wolfcrypt/async.h>

#include <pthread.h>

#include <string>
#include <utility>

#include "asynccrypt/error.h"

namespace asynccrypt {
inline namespace api {

// DeviceHandle owns one device id from wolfAsync_DevOpen, wolfAsync_DevOpenThread
// or asynccrypt_DevOpenSpec and closes it (wolfAsync_DevClose) when
// destroyed. It is move-only: exactly one owner closes an id.
//
// Safety: a device is thread-safe; the handle itself is not (one owner).
// Close a device after freeing the wolfCrypt objects and WOLFSSL_CTXs bound
// to its id: operations in flight keep it alive, but objects created later
// with a closed id run on a default simulator (see wolfAsync_DevClose).
class DeviceHandle {
 public:
  // A default DeviceHandle holds no device: id() is INVALID_DEVID (synchronous).
  DeviceHandle() = default;
  DeviceHandle(DeviceHandle&& other) noexcept : id_(std::exchange(other.id_, INVALID_DEVID)) {}
  DeviceHandle& operator=(DeviceHandle&& other) noexcept {
    if (this != &other) {
      close();
      id_ = std::exchange(other.id_, INVALID_DEVID);
    }
    return *this;
  }
  DeviceHandle(const DeviceHandle&) = delete;
  DeviceHandle& operator=(const DeviceHandle&) = delete;
  ~DeviceHandle() { close(); }

  // open opens the device that `spec` names ("sim", "threads:workers=4",
  // "chaos:seed=7", ...: the syntax of ASYNCCRYPT_DEVICE); an empty spec
  // opens the default device, as open_default does. On failure the Error
  // carries asynccrypt_DevOpenSpec's code (BAD_FUNC_ARG for an unknown kind
  // or a bad option, ASYNC_INIT_E when the device cannot start) and
  // asynccrypt_LastError's explanation.
  static Expected<DeviceHandle> open(const std::string& spec) {
    if (spec.empty()) return open_default();
    int id = INVALID_DEVID;
    if (const int ret = asynccrypt_DevOpenSpec(&id, spec.c_str(), nullptr); ret != 0) {
      return Error::from_last_error(ret, "cannot open device \"" + spec + "\"");
    }
    return DeviceHandle(id);
  }

  // open_default opens the device named by the environment variable
  // ASYNCCRYPT_DEVICE (the simulator when unset). Fails with ASYNC_INIT_E,
  // whatever the reason (as wolfAsync_DevOpen does), and the explanation.
  static Expected<DeviceHandle> open_default() {
    int id = INVALID_DEVID;
    if (const int ret = wolfAsync_DevOpen(&id); ret != 0) {
      return Error::from_last_error(ret, "cannot open the default device (ASYNCCRYPT_DEVICE)");
    }
    return DeviceHandle(id);
  }

  // open_for_thread is open for one thread (wolfAsync_DevOpenThread): the
  // device instance is `thread`'s own, and a cpu=N option pins `thread`.
  // asynccrypt reads `thread` only during the call.
  static Expected<DeviceHandle> open_for_thread(const std::string& spec, pthread_t thread) {
    int id = INVALID_DEVID;
    const int ret = spec.empty() ? wolfAsync_DevOpenThread(&id, &thread)
                                 : asynccrypt_DevOpenSpec(&id, spec.c_str(), &thread);
    if (ret != 0) {
      return Error::from_last_error(ret, "cannot open device \"" +
                                             (spec.empty() ? std::string("default") : spec) +
                                             "\" for a thread");
    }
    return DeviceHandle(id);
  }

  // adopt takes ownership of an id that the C API opened; the returned
  // DeviceHandle closes it. Adopting INVALID_DEVID gives an empty DeviceHandle.
  static DeviceHandle adopt(int dev_id) { return DeviceHandle(dev_id); }

  // close closes the device now; later calls (and the destructor) do
  // nothing. Operations in flight still complete (see wolfAsync_DevClose).
  void close() {
    if (id_ != INVALID_DEVID) wolfAsync_DevClose(&id_);
    id_ = INVALID_DEVID;
  }

  // release gives up ownership without closing and returns the id; the
  // caller must close it with wolfAsync_DevClose.
  [[nodiscard]] int release() { return std::exchange(id_, INVALID_DEVID); }

  // id is the devId to give wolfCrypt (wc_InitRsaKey_ex, ...) and wolfSSL
  // (wolfSSL_CTX_SetDevId): INVALID_DEVID when empty or closed.
  int id() const { return id_; }
  bool is_open() const { return id_ != INVALID_DEVID; }
  explicit operator bool() const { return is_open(); }

  // kind is the device's kind ("sim", "threads", "chaos", "dpdk"); fails
  // with NO_VALID_DEVID when the device is not open.
  Expected<std::string> kind() const {
    char buf[32] = {};
    if (const int ret = asynccrypt_DevKind(id_, buf, sizeof buf); ret != 0) {
      return Error::from_code(ret, "asynccrypt_DevKind(" + std::to_string(id_) + ")");
    }
    return std::string(buf);
  }

  // stats is a copy of the device's counters; fails with NO_VALID_DEVID
  // when the device is not open.
  Expected<asynccrypt_DevStats> stats() const {
    asynccrypt_DevStats s{};
    if (const int ret = asynccrypt_DevGetStats(id_, &s); ret != 0) {
      return Error::from_code(ret, "asynccrypt_DevGetStats(" + std::to_string(id_) + ")");
    }
    return s;
  }

  // capabilities is the mask of operation types the device runs on its own
  // engine (ASYNCCRYPT_CAP(ASYNC_SW_...) bits); fails with NO_VALID_DEVID
  // when the device is not open.
  Expected<word32> capabilities() const {
    word32 mask = 0;
    if (const int ret = asynccrypt_DevCapabilities(id_, &mask); ret != 0) {
      return Error::from_code(ret, "asynccrypt_DevCapabilities(" + std::to_string(id_) + ")");
    }
    return mask;
  }

 private:
  explicit DeviceHandle(int id) : id_(id) {}

  int id_ = INVALID_DEVID;
};

}  // namespace api
}  // namespace asynccrypt
