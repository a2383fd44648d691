// Registers the pkcs11 device kind and reads its spec.
#include "backends/pkcs11/pkcs11_device.h"
#include "core/device_kinds.h"
#include "core/wolfssl_api.h"

namespace asynccrypt {
namespace {

Status bad(std::string message) { return Status(BAD_FUNC_ARG, "pkcs11: " + std::move(message)); }

// Why this wolfSSL build cannot serve the device, or "" when it can. Keys
// by id reach the token only through crypto callbacks; from 5.7.2 on,
// wolfSSL with crypto callbacks but without --enable-asynccrypt-sw drops
// the software records and resumes a pending RSA callback with a stale
// buffer.
std::string missing_wolfssl_option() {
#ifndef WOLF_CRYPTO_CB
  return "this wolfSSL was built without crypto callbacks: configure wolfSSL with "
         "--enable-cryptocb (and --enable-asynccrypt-sw from 5.7.2 on)";
#elif LIBWOLFSSL_VERSION_HEX >= 0x05007002 && !defined(WOLFSSL_ASYNC_CRYPT_SW)
  return "this wolfSSL was built without software records: configure wolfSSL with "
         "--enable-asynccrypt-sw";
#else
  return "";
#endif
}

}  // namespace

Result<std::shared_ptr<Device>> Pkcs11Device::create(DeviceSpec spec) {
  if (const std::string why = missing_wolfssl_option(); !why.empty()) return bad(why);
  Config config;
  auto module = spec.take_string("module");
  if (!module.is_ok()) return module.status();
  auto label = spec.take_string("token");
  if (!label.is_ok()) return label.status();
  auto pin_env = spec.take_string("pin-env");
  if (!pin_env.is_ok()) return pin_env.status();
  auto pin_file = spec.take_string("pin-file");
  if (!pin_file.is_ok()) return pin_file.status();
  auto workers = spec.take_int("workers", kDefaultWorkers, 1, kMaxWorkers);
  if (!workers.is_ok()) return workers.status();
  auto depth = spec.take_int("depth", kDefaultDepth, 1, kMaxDepth);
  if (!depth.is_ok()) return depth.status();
  auto delay = spec.take_int("delay_us", 0, 0, kMaxDelayUs);
  if (!delay.is_ok()) return delay.status();
  if (Status s = spec.check_all_taken(); !s.is_ok()) return s;

  if (module.value().empty()) return bad("module=PATH (the PKCS#11 library) is required");
  if (label.value().empty()) return bad("token=LABEL is required");
  if (pin_env.value().empty() == pin_file.value().empty()) {
    return bad("give the PIN's source as exactly one of pin-env=VAR and pin-file=PATH");
  }
  config.token.module = module.take();
  config.token.label = label.take();
  config.token.pin = pin_env.value().empty() ? p11::PinSource::from_file(pin_file.take())
                                             : p11::PinSource::from_env(pin_env.take());
  config.workers = static_cast<int>(workers.value());
  config.depth = static_cast<int>(depth.value());
  config.delay_us = static_cast<int>(delay.value());

  auto token = p11::Token::open(config.token);
  if (!token.is_ok()) return token.status();
  auto device = std::make_shared<Pkcs11Device>(token.take(), config);
  if (device->workers() != config.workers) {
    return Status(ASYNC_INIT_E,
                  "pkcs11: cannot start " + std::to_string(config.workers) + " worker threads");
  }
  return std::shared_ptr<Device>(std::move(device));
}

void register_pkcs11_kind(DeviceKinds& kinds) { kinds.add("pkcs11", &Pkcs11Device::create); }

}  // namespace asynccrypt
