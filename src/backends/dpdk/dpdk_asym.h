// Public-key operations of the dpdk device: RSA and DH agreement on a cryptodev's asymmetric API.
#pragma once

#ifdef ASYNCCRYPT_HAVE_DPDK

#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/op.h"
#include "core/status.h"

struct rte_crypto_op;

namespace asynccrypt {

// What the device core needs to know of any crypto op it handed to the
// driver, symmetric or asymmetric. Guarded by the queue pair's mutex.
struct DpdkJobState {
  Op* op = nullptr;               // nullptr once cancelled: dropped when dequeued
  bool done = false;              // dequeued; op->result not yet computed
  bool zero_copy = false;         // the driver works on the caller's buffers
  Clock::time_point staged_at{};  // on the device's clock: the timeout counts from here
};

// Outcome of DpdkAsym::stage.
enum class AsymStage { kStaged, kNoRoom, kSoftware };

// Result of DpdkAsym::finish that asks the caller to run the operation in
// software instead (the driver's answer is one whose exact wolfCrypt form
// only wolfCrypt knows, such as a DH shared secret of 1).
inline constexpr int kAsymRunInSoftware = 1;

// DpdkAsym routes wolfCrypt's recorded public-key operations to a cryptodev's
// asymmetric transforms, when the driver advertises them at run time:
//  - ASYNC_SW_RSA_FUNC (wc_RsaFunction, the raw RSA primitive under every
//    padded RSA call: wolfCrypt pads and unpads) on RTE_CRYPTO_ASYM_XFORM_RSA
//    with RTE_CRYPTO_RSA_PADDING_NONE: public operations as ENCRYPT (m^e mod
//    n), private ones as DECRYPT with the CRT key (or d when the driver
//    takes only that);
//  - ASYNC_SW_DH_AGREE (wc_DhAgree) on RTE_CRYPTO_ASYM_XFORM_MODEX.
// Key material goes into a session created for the one operation and freed
// (with the driver's copy) when it completes; the byte copies we make are
// wiped at once. Inputs and outputs travel in the crypto op's private area
// (pool memory with an IOVA the EAL knows), never in the caller's buffers.
// Operations outside what the driver (or our checks) take, and all edge
// cases whose wolfCrypt error codes matter, stay in software.
class DpdkAsym {
 public:
  // Probes dev_id's asymmetric capabilities and creates the op and session
  // pools (n_ops each, names from `tag`). Returns nullptr when the driver
  // has no asymmetric transform we use; an error when pools cannot be made.
  // secret_modex: whether DH agreement (the private exponent) may go to the
  // driver's modular exponentiation (docs/hardware.md says on which).
  static Result<std::unique_ptr<DpdkAsym>> create(std::uint8_t dev_id, std::uint64_t feature_flags,
                                                  bool secret_modex, unsigned n_ops,
                                                  const std::string& tag);
  ~DpdkAsym() = default;
  DpdkAsym(const DpdkAsym&) = delete;
  DpdkAsym& operator=(const DpdkAsym&) = delete;

  // The WC_ASYNC_SW_TYPE bits (1u << type) this driver runs.
  std::uint32_t capabilities() const;

  // Whether the recorded operation may go to the driver: its type is
  // supported and its inputs are in the range where the driver's answer is
  // the one wolfCrypt gives (otherwise wolfCrypt runs it and reports its own
  // error codes).
  bool offloadable(const WC_ASYNC_DEV& dev) const;

  // Builds a crypto op (with its session) for op. kSoftware when the driver
  // refuses the key (session creation fails), kNoRoom when a pool is empty.
  AsymStage stage(Op* op, rte_crypto_op** out);

  // The operation's result once the driver returned cop: writes the output
  // to the caller as wolfCrypt would. Returns 0, a wolfSSL error code for a
  // driver failure (*driver_failed set), or kAsymRunInSoftware.
  static int finish(rte_crypto_op* cop, bool* driver_failed);

  // Frees cop, its session and wipes its buffers.
  static void release(rte_crypto_op* cop);

  static DpdkJobState* state(rte_crypto_op* cop);

  // Frees the pools; only once every op is back from the driver.
  void free_pools();

  bool has_rsa() const { return rsa_ != nullptr; }
  bool has_modex() const { return modex_ != nullptr; }
  // How private RSA keys are handed over: "crt", "exponent" or "none".
  const char* rsa_private_form() const;

 private:
  DpdkAsym() = default;

  std::uint8_t dev_id_ = 0;
  const void* rsa_ = nullptr;    // rte_cryptodev_asymmetric_xform_capability*
  const void* modex_ = nullptr;  // likewise
  bool rsa_crt_ = false;         // RTE_CRYPTODEV_FF_RSA_PRIV_OP_KEY_QT
  bool rsa_exp_ = false;         // RTE_CRYPTODEV_FF_RSA_PRIV_OP_KEY_EXP
  void* op_pool_ = nullptr;      // rte_mempool*
  void* session_pool_ = nullptr;
};

// Maps a driver's op status to the wolfSSL code the operation returns.
int dpdk_asym_status_to_error(std::uint8_t status);

}  // namespace asynccrypt

#endif  // ASYNCCRYPT_HAVE_DPDK
