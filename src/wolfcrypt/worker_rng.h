// Runs a recorded operation on a worker thread with the worker's own RNG.
#pragma once

#include "core/wolfssl_api.h"

namespace asynccrypt::wolfcrypt {

// WorkerRng is one worker thread's random generator, seeded on first use.
// It belongs to one thread: never share it.
class WorkerRng {
 public:
  WorkerRng() = default;
  ~WorkerRng();
  WorkerRng(const WorkerRng&) = delete;
  WorkerRng& operator=(const WorkerRng&) = delete;

  // The generator, seeded on the first call; nullptr (and `error` set to
  // wc_InitRng's code) when seeding failed. A failed seed is retried on the
  // next call.
  WC_RNG* get(int* error);

 private:
  WC_RNG* rng_ = nullptr;  // heap-allocated by wolfSSL's allocator
};

// Executes dev's recorded operation to completion (as
// execute_to_completion) with every caller RNG it would use replaced by the
// worker's generator `rng`, which is seeded only when an operation needs it:
// the RNG argument in the record (sw.rsaFunc.rng, sw.rsaMake.rng,
// sw.eccMake.rng, sw.eccSign.rng, sw.dhGen.rng) and the RNG a key keeps for
// blinding and timing resistance (RsaKey.rng, ecc_key.rng), which is put
// back before returning. A NULL caller RNG stays NULL, so an operation that
// needs an RNG fails exactly as it would synchronously. When `rng` cannot be
// seeded the operation fails with the seeding error and its record is
// cleared, so the object is ready for its next operation.
//
// Why: wolfSSL's callers (its benchmark, applications with one RNG per
// thread) hand the same WC_RNG to several operations in flight, and WC_RNG
// is not thread-safe, so workers must never use it concurrently. The
// substitution is sound because these operations only need fresh,
// unpredictable bits: a nonce k for ECDSA, a private scalar or exponent for
// key generation, blinding factors for RSA and ECC; none of them is part of
// an interface contract that ties the output to the caller's generator.
// Caveat: a caller that relies on its RNG's exact stream (a deterministic
// test RNG, a custom seed callback, an RNG counted or audited per use) gets
// outputs drawn from the worker's generator instead, and its own RNG's
// state does not advance. Padding randomness (PKCS#1 v1.5, OAEP, PSS salt)
// is drawn by wolfCrypt before it records an RSA operation, on the caller's
// thread, with the caller's RNG, as before.
int execute_with_rng(WC_ASYNC_DEV* dev, WorkerRng& rng);

}  // namespace asynccrypt::wolfcrypt
