// Tests of the PKCS#11 to wolfSSL error mapping (src/backends/pkcs11/p11_errors.cc).
#include <gtest/gtest.h>

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include "backends/pkcs11/p11_errors.h"

namespace {

using asynccrypt::p11::ckr_name;
using asynccrypt::p11::ckr_status;
using asynccrypt::p11::session_lost;

TEST(Pkcs11ErrorsTest, EachReturnValueGetsItsCode) {
  struct Case {
    CK_RV rv;
    int code;
  };
  for (const Case& c :
       {Case{CKR_OBJECT_HANDLE_INVALID, MISSING_KEY}, Case{CKR_KEY_HANDLE_INVALID, MISSING_KEY},
        Case{CKR_BUFFER_TOO_SMALL, BUFFER_E}, Case{CKR_DATA_LEN_RANGE, BAD_FUNC_ARG},
        Case{CKR_ARGUMENTS_BAD, BAD_FUNC_ARG}, Case{CKR_HOST_MEMORY, MEMORY_E},
        Case{CKR_PIN_INCORRECT, WC_HW_E}, Case{CKR_DEVICE_REMOVED, WC_HW_E},
        Case{CKR_MECHANISM_INVALID, WC_HW_E}, Case{0x8000abcdUL, WC_HW_E}}) {
    EXPECT_EQ(ckr_status(c.rv, "signing").code(), c.code) << ckr_name(c.rv);
  }
  EXPECT_EQ(ckr_status(CKR_PIN_INCORRECT, "login").message(), "login: CKR_PIN_INCORRECT");
  EXPECT_STREQ(ckr_name(0x8000abcdUL), "CKR_0x8000abcd");
}

TEST(Pkcs11ErrorsTest, LostSessionCodes) {
  for (CK_RV rv : {CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_DEVICE_REMOVED,
                   CKR_TOKEN_NOT_PRESENT, CKR_USER_NOT_LOGGED_IN, CKR_DEVICE_ERROR}) {
    EXPECT_TRUE(session_lost(rv)) << ckr_name(rv);
  }
  for (CK_RV rv : {CKR_OK, CKR_PIN_INCORRECT, CKR_OBJECT_HANDLE_INVALID, CKR_DATA_LEN_RANGE}) {
    EXPECT_FALSE(session_lost(rv)) << ckr_name(rv);
  }
}

}  // namespace
