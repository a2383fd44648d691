// The source of tests/CMakeLists.txt's unit_test_pch, a program without
// tests (GoogleTest's main finds none) that exists so that the precompiled
// header every test program reuses is built once. Empty on purpose.
