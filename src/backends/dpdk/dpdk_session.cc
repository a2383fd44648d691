// The driver sessions that each queue pair caches, one per AES key and operation parameters.
#include "backends/dpdk/dpdk_session.h"

#ifdef ASYNCCRYPT_HAVE_DPDK

#include <rte_crypto.h>
#include <rte_cryptodev.h>
#include <wolfssl/wolfcrypt/aes.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <utility>

#include "backends/dpdk/dpdk_runtime.h"
#include "backends/dpdk/dpdk_staging.h"

namespace asynccrypt {

std::string orphan_key(const SessionEntry* entry) {
  const auto address = reinterpret_cast<std::uintptr_t>(entry);
  char bytes[1 + sizeof address];
  bytes[0] = '\xff';
  std::memcpy(bytes + 1, &address, sizeof address);
  return std::string(bytes, sizeof bytes);
}

void wipe(const std::string& s) {
  auto* p = const_cast<volatile char*>(s.data());
  for (std::size_t i = 0; i < s.size(); ++i) p[i] = 0;
}

namespace {

// session_locked's lookup, eviction and creation, inside its try block.
SessionEntry* session_cached_locked(DpdkRuntime& rt, DpdkQueuePair& qp, const WC_ASYNC_DEV& dev,
                                    bool gcm, std::uint16_t key_len) {
  const auto& a = dev.sw.aes;
  const Aes& aes = *a.aes;
  const int type = dev.sw.type;
  std::string key;
  key.reserve(8 + key_len);
  key.push_back(static_cast<char>(type));
  key.push_back(static_cast<char>(gcm ? a.authTagSz : 0));
  key.push_back(static_cast<char>(gcm ? a.authInSz & 0xff : 0));
  key.push_back(static_cast<char>(gcm ? a.authInSz >> 8 : 0));
  key.append(reinterpret_cast<const char*>(aes.devKey), key_len);
  if (auto it = qp.sessions.find(key); it != qp.sessions.end()) {
    wipe(key);
    return it->second.session != nullptr ? &it->second : nullptr;
  }
  if (qp.sessions.size() >= kSessionsPerQp) {
    for (auto it = qp.sessions.begin(); it != qp.sessions.end();) {
      if (it->second.refs != 0) {
        ++it;
        continue;
      }
      if (it->second.session != nullptr) {
        (void)rte_cryptodev_sym_session_free(rt.dev_id, it->second.session);
      }
      wipe(it->first);
      it = qp.sessions.erase(it);
    }
    if (qp.sessions.size() >= kSessionsPerQp) {
      wipe(key);
      return nullptr;
    }
  }

  rte_crypto_sym_xform xform{};
  void* session = nullptr;
  const auto* key_bytes = reinterpret_cast<const std::uint8_t*>(aes.devKey);
  if (gcm) {
    if (rte_cryptodev_sym_capability_check_aead(
            rt.gcm, key_len, static_cast<std::uint16_t>(a.authTagSz),
            static_cast<std::uint16_t>(a.authInSz), kGcmIvSize) == 0) {
      xform.type = RTE_CRYPTO_SYM_XFORM_AEAD;
      xform.aead.op = is_decrypt(type) ? RTE_CRYPTO_AEAD_OP_DECRYPT : RTE_CRYPTO_AEAD_OP_ENCRYPT;
      xform.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
      xform.aead.key.data = key_bytes;
      xform.aead.key.length = key_len;
      xform.aead.iv.offset = kIvOffset;
      xform.aead.iv.length = kGcmIvSize;
      xform.aead.digest_length = static_cast<std::uint16_t>(a.authTagSz);
      xform.aead.aad_length = static_cast<std::uint16_t>(a.authInSz);
      session = rte_cryptodev_sym_session_create(rt.dev_id, &xform, rt.session_pool);
    }
  } else if (rte_cryptodev_sym_capability_check_cipher(rt.cbc, key_len, AES_BLOCK_SIZE) == 0) {
    xform.type = RTE_CRYPTO_SYM_XFORM_CIPHER;
    xform.cipher.op =
        is_decrypt(type) ? RTE_CRYPTO_CIPHER_OP_DECRYPT : RTE_CRYPTO_CIPHER_OP_ENCRYPT;
    xform.cipher.algo = RTE_CRYPTO_CIPHER_AES_CBC;
    xform.cipher.key.data = key_bytes;
    xform.cipher.key.length = key_len;
    xform.cipher.iv.offset = kIvOffset;
    xform.cipher.iv.length = AES_BLOCK_SIZE;
    session = rte_cryptodev_sym_session_create(rt.dev_id, &xform, rt.session_pool);
  }
  // A refusal is remembered too (session == nullptr), so it is asked once.
  // The buckets are reserved for kSessionsPerQp entries (DpdkRuntime::start),
  // so only the node is allocated here: when that fails, key was not moved.
  try {
    auto [it, inserted] = qp.sessions.emplace(std::move(key), SessionEntry{session, 0});
    (void)inserted;
    return session != nullptr ? &it->second : nullptr;
  } catch (const std::bad_alloc&) {
    if (session != nullptr) (void)rte_cryptodev_sym_session_free(rt.dev_id, session);
    wipe(key);
    return nullptr;  // runs in software this time
  }
}

}  // namespace

SessionEntry* session_locked(DpdkRuntime& rt, DpdkQueuePair& qp, const WC_ASYNC_DEV& dev) {
  const auto& aes = *dev.sw.aes.aes;
  const bool gcm = is_gcm(dev.sw.type);
  const auto key_len = static_cast<std::uint16_t>(aes.keylen);
  if (key_len != 16 && key_len != 24 && key_len != 32) return nullptr;
  // The key and the map's node need memory: this file is compiled with
  // -fexceptions so that running out of it sends the operation to
  // software (nullptr) instead of aborting; the map is left as it was.
  try {
    return session_cached_locked(rt, qp, dev, gcm, key_len);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

}  // namespace asynccrypt

#endif  // ASYNCCRYPT_HAVE_DPDK
