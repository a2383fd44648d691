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

// The operation's name, for messages ("RSA", "ECC sign", ...).
const char* op_name(int sw_type);

}  // namespace asynccrypt::wolfcrypt
