// Turns PKCS#11 return values into wolfSSL error codes with a readable message.
#pragma once

#include <string>

#include "backends/pkcs11/p11_api.h"
#include "core/status.h"

namespace asynccrypt::p11 {

// ckr_name returns the CKR_ constant's name for rv ("CKR_PIN_INCORRECT"), or
// "CKR_0x..." for a value it does not know. The result is static storage
// for known values; the unknown form is built in a thread-local buffer.
const char* ckr_name(CK_RV rv);

// session_lost says whether rv means that the session (or the login, or the
// token behind it) is gone, so the session must be reopened before the next
// operation: CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED,
// CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_USER_NOT_LOGGED_IN,
// CKR_DEVICE_ERROR and CKR_TOKEN_NOT_RECOGNIZED.
bool session_lost(CK_RV rv);

// ckr_status maps rv (not CKR_OK) to the wolfSSL code a caller can act on,
// with "WHAT: CKR_NAME" as the message:
//   MISSING_KEY   the object is not there (CKR_OBJECT_HANDLE_INVALID,
//                 CKR_KEY_HANDLE_INVALID)
//   BUFFER_E      the output buffer is too small (CKR_BUFFER_TOO_SMALL)
//   BAD_FUNC_ARG  the input does not fit the key or mechanism
//                 (CKR_DATA_LEN_RANGE, CKR_DATA_INVALID, CKR_ARGUMENTS_BAD,
//                 CKR_MECHANISM_PARAM_INVALID)
//   MEMORY_E      CKR_HOST_MEMORY
//   WC_HW_E       everything else: the token failed or refused (wrong PIN,
//                 mechanism not allowed, session lost, device error)
// `what` must never contain a secret: it is shown to users.
Status ckr_status(CK_RV rv, const std::string& what);

}  // namespace asynccrypt::p11
