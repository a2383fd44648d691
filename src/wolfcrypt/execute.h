// Runs an operation that wolfCrypt recorded in WC_ASYNC_DEV.sw, in software.
#pragma once

#include "core/wolfssl_api.h"

namespace asynccrypt::wolfcrypt {

// Executes the recorded operation by calling the same public wolfCrypt API
// again: wc_AsyncSwInit now answers 0, so wolfCrypt computes. Returns the
// API's result; WC_PENDING_E when non-blocking math asked for another slice
// (the record is kept so the next call continues). On any other result the
// record is reset to ASYNC_SW_NONE, so the object is ready for its next
// operation (even after an error, unlike the original). Nothing recorded
// gives BAD_FUNC_ARG.
int execute(WC_ASYNC_DEV* dev);

// Like execute() but repeats non-blocking slices until a final result.
int execute_to_completion(WC_ASYNC_DEV* dev);

// True when the calling thread is inside execute(dev): wolfCrypt's
// wc_AsyncSwInit calls on dev then come from the executor, not from a
// caller calling the API again while the operation is in flight.
bool executing(const WC_ASYNC_DEV* dev);

// Non-blocking ECC (WC_ECC_NONBLOCK) runs an operation in slices only when
// its key has a non-blocking context: without one, wolfCrypt uses a context
// of its own and runs the operation whole. wolfSSL 5.5.4 gives contexts only
// to the keys of AllocKey, not to TLS 1.3's key-share keys, whose key
// generation and ECDH would then take one poll of ~0.5 ms each. A slicing
// device lends such a key a context for one operation: lend_nonblock_ctx
// returns a loan (nullptr when there is nothing to lend: not an ECC
// operation, a key with a context of its own, no memory, or a build without
// WC_ECC_NONBLOCK), which must be given back with return_nonblock_ctx once
// the operation has ended or been withdrawn, while the key still exists.
// Whether wolfCrypt computes an operation of `type`, recorded in dev (may
// be NULL), correctly when wc_AsyncSwInit declines it on an object that has
// a device. Not so:
//  - for ECDH before wolfSSL 5.6.3: wc_ecc_shared_secret, on a key with a
//    device, advances its state machine to "result" after a synchronous
//    secret and returns before resetting it, expecting a call-again that a
//    declined operation never gets; the key's next ECDH would then return
//    at once without computing (docs/known-issues.md, item 10);
//  - for ECC in non-blocking ECC builds, and for any operation on a key with
//    a non-blocking context (RSA, DH, X25519 on 5.9): the synchronous path
//    returns after one slice with MP_WOULDBLOCK.
bool can_decline(const WC_ASYNC_DEV* dev, int type);

// True when dev's recorded operation runs in slices: non-blocking ECC, with
// a context of its key's own or a lent one, or an RSA, DH or X25519 key with
// a non-blocking context of its own (wolfSSL 5.9).
bool runs_in_slices(const WC_ASYNC_DEV* dev);
struct NonblockLoan;
NonblockLoan* lend_nonblock_ctx(WC_ASYNC_DEV* dev);
void return_nonblock_ctx(NonblockLoan* loan);

// The class under which a device learns what an operation of `type` on
// dev's object costs (threads: OpCosts): the WC_ASYNC_SW_TYPE itself, except
// that an RSA operation on a public key (a peer's certificate: tens of
// microseconds) is told apart from one on a private key (a signature:
// milliseconds in software) as kPublicRsaClass. Classes are below
// kCostClasses.
constexpr int kPublicRsaClass = 17;
constexpr int kCostClasses = 18;
int cost_class(const WC_ASYNC_DEV* dev, int type);

// The operation's name, for messages ("RSA", "ECC sign", ...).
const char* op_name(int sw_type);

}  // namespace asynccrypt::wolfcrypt
