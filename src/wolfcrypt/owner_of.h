// The wolfCrypt object a WC_ASYNC_DEV is embedded in.
#pragma once

#include <cstddef>

#include "core/wolfssl_api.h"

namespace asynccrypt::wolfcrypt {

// The Key whose asyncDev is *dev. Only for a record whose marker says it
// belongs to a Key (WOLFSSL_ASYNC_MARKER_RSA for RsaKey, ...).
template <typename Key>
Key* owner_of(WC_ASYNC_DEV* dev) {
  return reinterpret_cast<Key*>(reinterpret_cast<char*>(dev) - offsetof(Key, asyncDev));
}

template <typename Key>
const Key* owner_of(const WC_ASYNC_DEV* dev) {
  return reinterpret_cast<const Key*>(reinterpret_cast<const char*>(dev) - offsetof(Key, asyncDev));
}

}  // namespace asynccrypt::wolfcrypt
