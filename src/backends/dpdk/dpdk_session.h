// The driver sessions that each queue pair caches, one per AES key and operation parameters.
#pragma once

#ifdef ASYNCCRYPT_HAVE_DPDK

#include <string>

#include "core/wolfssl_api.h"

namespace asynccrypt {

class DpdkQueuePair;
class DpdkRuntime;

// A cached driver session. DpdkQueuePair::sessions maps a cache key (4
// bytes of parameters: operation type, tag size, AAD size; then the AES
// key) to it. Guarded by its queue pair's mutex.
struct SessionEntry {
  void* session = nullptr;  // nullptr: the driver does not take these parameters
  int refs = 0;             // crypto ops holding it
  // Its key's object was freed while ops still held it: it stays in the
  // map under orphan_key() (the key wiped), and the release of its last op
  // frees it.
  bool orphaned = false;
};

// The cache key of an orphaned session: its address, no key material. Nine
// bytes, within std::string's inline buffer, so the free and cancel paths
// that build it never allocate; the first byte is no operation type, so it
// matches no live key.
std::string orphan_key(const SessionEntry* entry);

// The session for the AES operation recorded in dev (its key and
// parameters) on qp, created on first use; nullptr when the driver refuses
// them, the cache is full of busy ones or memory ran out. Call with qp.mu
// held.
SessionEntry* session_locked(DpdkRuntime& rt, DpdkQueuePair& qp, const WC_ASYNC_DEV& dev);

// Overwrites a secret that a std::string holds (a cache key), before it is
// released.
void wipe(const std::string& s);

}  // namespace asynccrypt

#endif  // ASYNCCRYPT_HAVE_DPDK
