// The operations fuzzer's entry function, shared by libFuzzer and the corpus replay test.
#pragma once

#include <cstddef>
#include <cstdint>

namespace asynccrypt::fuzz {

// Interprets data as a device and batches of wolfCrypt operations of every
// type the build offloads (RSA, ECDSA, ECDH, DH, AES-CBC, AES-GCM, 3DES,
// X25519), all in flight at once on one queue, harvested by one thread or
// by two sharing the queue, optionally with allocations failing from the
// Nth on. Each result must equal what synchronous wolfCrypt computes for
// the same input (or be an injected device failure, or an error code while
// memory is out, after which the same object must work again); every
// operation is reported exactly once; a poll that leaves work behind must
// leave the queue's fd readable. A violated invariant aborts.
void run_ops(const std::uint8_t* data, std::size_t size);

}  // namespace asynccrypt::fuzz
