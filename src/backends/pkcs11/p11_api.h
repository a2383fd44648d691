// The PKCS#11 (Cryptoki) declarations, taken from p11-kit's pkcs11.h.
#pragma once

// p11-kit's header is complete on its own (types, CK_FUNCTION_LIST, every
// constant we use); nothing is linked against it: modules are dlopen()ed.
#include <p11-kit/pkcs11.h>
