// What the layer does to a key whose asynchronous operation failed.
#pragma once

#include "core/wolfssl_api.h"

namespace asynccrypt::wolfcrypt {

// Makes dev's object start its next operation afresh after the operation
// recorded in it ended with an error (result < 0): the device failed it
// (chaos, a driver error), memory ran out, or wolfCrypt's own computation
// failed. wolfCrypt's RSA and ECC state machines advance when an operation
// pends and return to their first state only on the call that collects a
// result; after an error nobody collects, and the key's next call would
// "succeed" with a stale result (docs/known-issues.md, item 5). So this:
//  - clears the record (sw.type), so the next call records again;
//  - sets an RsaKey's or ecc_key's state back to none, and frees what the
//    pending call kept (an RSA decryption's copy of its input, wiped; an
//    ECC signature's or verification's r and s), as wolfCrypt does when it
//    ends an operation itself.
// dev must belong to the caller of this function for its duration: the
// operation's worker before it reports, or the owner once it harvests.
void reset_after_failure(WC_ASYNC_DEV* dev);

}  // namespace asynccrypt::wolfcrypt
