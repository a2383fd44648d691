// Which sanitizer a test program is built with, for the few tests that a
// sanitizer's runtime cannot run.
#pragma once

// TESTING_UNDER_TSAN: defined under ThreadSanitizer. GCC says
// __SANITIZE_THREAD__, clang __has_feature (which GCC 12 lacks: it must not
// appear in the same #if).
#if defined(__SANITIZE_THREAD__)
#define TESTING_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TESTING_UNDER_TSAN 1
#endif
#endif

// TESTING_UNDER_ASAN: defined under AddressSanitizer (same two spellings).
#if defined(__SANITIZE_ADDRESS__)
#define TESTING_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TESTING_UNDER_ASAN 1
#endif
#endif
