// The one list of devices that the contract suites run on (TEST_P over
// DeviceCase), and the fixture pieces every such suite shares: opening the
// case's device (or skipping where DPDK cannot start) and naming tests by
// device.
#pragma once

// wolfssl_api.h first: it brings wolfSSL's options.h.
#include "core/wolfssl_api.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "asynccrypt/device.h"
#include "support/dpdk_handle.h"

namespace testing_support {

// Pends says which operations a device takes (WC_PENDING_E) rather than
// declines (wolfCrypt computes them at once and the call returns its result).
enum class Pends {
  kEveryOp,    // every operation above its threshold
  kSymmetric,  // AES and the like; declines what its driver cannot do (dpdk on crypto_aesni_mb)
  kMaybe,      // may decline any operation it measured as cheap (threads, inline_us=)
};

// DeviceCase is one device of the contract suites: a spec and what the
// suites may assume of it.
struct DeviceCase {
  const char* name;  // the suffix of each test name: a device fails by name
  const char* spec;
  // Which operations pend (return WC_PENDING_E and complete through a
  // queue) rather than being computed at once by wolfCrypt.
  Pends pends = Pends::kEveryOp;
  // True for the dpdk kinds: a run where DPDK is missing or cannot start
  // skips them (DPDK_UNAVAILABLE), as the dpdk device's own tests do.
  bool needs_dpdk = false;
};

// gtest prints a parameter by its device name, not its bytes.
inline void PrintTo(const DeviceCase& c, std::ostream* os) {
  *os << c.name << " (" << c.spec << ")";
}

// The dpdk device as its own tests open it (crypto_aesni_mb, a CPU driver
// that needs no hardware), overridable as there.
inline const char* dpdk_spec() {
  const char* env = std::getenv("ASYNCCRYPT_DPDK_TEST_SPEC");
  return env != nullptr ? env : "dpdk:vdev=crypto_aesni_mb,qps=2,depth=16,burst=4";
}

// all_devices is every device kind in the configurations that behave
// differently: the simulator completing at the first poll and after skips,
// the worker pool sending everything to workers and declining cheap
// operations, chaos over each base (its own poll-driven simulator, the
// worker pool, the simulator, dpdk), and dpdk. A new kind adds its line here.
inline const std::vector<DeviceCase>& all_devices() {
  static const std::vector<DeviceCase> cases = [] {
    std::vector<DeviceCase> v = {
        {"sim", "sim:skip=0"},
        {"sim_skip3", "sim:skip=3"},
        {"threads", "threads:workers=2,inline_us=0"},
        {"threads_declining", "threads:workers=2,inline_us=1000000", Pends::kMaybe},
        {"chaos", "chaos:seed=1,maxpolls=4"},
        {"chaos_slow", "chaos:seed=2,maxpolls=9"},
        {"chaos_over_threads", "chaos:seed=3,over=threads,workers=2,delay=300"},
        {"chaos_over_sim", "chaos:seed=4,maxpolls=3,over=sim,skip=3"},
    };
    static const std::string dpdk = dpdk_spec();
    static const std::string chaos_dpdk =
        "chaos:seed=5,maxpolls=3,over=" + dpdk.substr(0, dpdk.find(':')) + "," +
        (dpdk.find(':') == std::string::npos ? std::string() : dpdk.substr(dpdk.find(':') + 1));
    v.push_back({"dpdk", dpdk.c_str(), Pends::kSymmetric, true});
    // Chaos pends every operation itself before the dpdk device sees it.
    v.push_back({"chaos_over_dpdk", chaos_dpdk.c_str(), Pends::kEveryOp, true});
    return v;
  }();
  return cases;
}

// pending_devices is all_devices() less those that may decline an AES
// operation: the devices on which AES-GCM above its threshold returns
// WC_PENDING_E. With every_op, also less those that decline what their
// driver cannot do.
inline std::vector<DeviceCase> pending_devices(bool every_op = false) {
  std::vector<DeviceCase> v;
  for (const DeviceCase& c : all_devices()) {
    if (c.pends == Pends::kEveryOp || (!every_op && c.pends == Pends::kSymmetric)) v.push_back(c);
  }
  return v;
}

// devices_named is the cases of all_devices() with these names, in the
// list's order: for a suite whose assertions hold only on some kinds (the
// suite says why).
inline std::vector<DeviceCase> devices_named(std::initializer_list<std::string_view> names) {
  std::vector<DeviceCase> v;
  for (const DeviceCase& c : all_devices()) {
    for (std::string_view n : names) {
      if (n == c.name) v.push_back(c);
    }
  }
  return v;
}

// device_name names a test instance by its device (for
// INSTANTIATE_TEST_SUITE_P's name generator).
inline std::string device_name(const ::testing::TestParamInfo<DeviceCase>& info) {
  return info.param.name;
}

// open_case opens c's device into *dev. It adds a failure when the device
// does not open, except for a dpdk kind where DPDK is missing or cannot
// start: then *skip says why and the caller skips (DPDK_UNAVAILABLE).
inline void open_case(const DeviceCase& c, asynccrypt::DeviceHandle* dev, std::string* skip) {
  if (c.needs_dpdk && !asynccrypt::dpdk_built()) {
    *skip = "asynccrypt was built without DPDK";
    return;
  }
  auto opened = asynccrypt::DeviceHandle::open(c.spec);
  if (opened) {
    *dev = std::move(*opened);
    return;
  }
  if (c.needs_dpdk && opened.error().code() == ASYNC_INIT_E) {
    *skip = "DPDK cannot start here: " + opened.error().describe();
    return;
  }
  ADD_FAILURE() << "cannot open " << c.spec << ": " << opened.error().describe();
}

// DeviceTest is the base of a suite over DeviceCase: SetUp opens the
// device (dev_), or skips the test where DPDK cannot start.
class DeviceTest : public ::testing::TestWithParam<DeviceCase> {
 protected:
  void SetUp() override {
    std::string skip;
    open_case(GetParam(), &dev_, &skip);
    if (!skip.empty()) DPDK_UNAVAILABLE(skip);
    ASSERT_TRUE(dev_.is_open()) << GetParam().spec;
  }

  int dev_id() const { return dev_.id(); }
  const char* spec() const { return GetParam().spec; }

  asynccrypt::DeviceHandle dev_;
};

}  // namespace testing_support
