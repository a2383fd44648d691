# install() rules and the CMake package, so that a project can
#   find_package(asynccrypt REQUIRED)
#   target_link_libraries(app PRIVATE asynccrypt::asynccrypt)
# and get the C contract (wolfssl/wolfcrypt/async.h), the C++ API
# (asynccrypt/*.h), libasynccrypt and the wolfSSL it was built against.
# Everything the package refers to is inside the prefix, by paths relative
# to it: the prefix can be moved (tests/install checks).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ASYNCCRYPT_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/asynccrypt)

# The library is exported as asynccrypt::core; the package config wraps it
# and libwolfssl in one link group as asynccrypt::asynccrypt (they call each
# other, and our build-tree alias has that name too).
set_target_properties(asynccrypt PROPERTIES EXPORT_NAME core)
if(ASYNCCRYPT_SANITIZE)
  # A sanitized libasynccrypt needs the sanitizer runtime in every program.
  string(REPLACE ";" "," _install_san "${ASYNCCRYPT_SANITIZE}")
  target_link_options(asynccrypt INTERFACE $<INSTALL_INTERFACE:-fsanitize=${_install_san}>)
endif()

install(TARGETS asynccrypt EXPORT asynccrypt-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT asynccrypt)
# The wolfSSL it was built against, as wolfSSL's own `make install` lays it
# out: its headers with the configuration's options.h (which fixes every
# shared struct layout) and libwolfssl.a. Our async.h, installed below,
# replaces the tree's copy.
install(DIRECTORY ${ASYNCCRYPT_WOLFSSL_DIR}/wolfssl
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT asynccrypt
        FILES_MATCHING PATTERN "*.h")
install(FILES ${ASYNCCRYPT_WOLFSSL_DIR}/src/.libs/libwolfssl.a
        DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT asynccrypt OPTIONAL)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/asynccrypt
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT asynccrypt
        FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_SOURCE_DIR}/include/wolfssl/wolfcrypt/async.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/wolfssl/wolfcrypt COMPONENT asynccrypt)
install(EXPORT asynccrypt-targets NAMESPACE asynccrypt::
        DESTINATION ${ASYNCCRYPT_INSTALL_CMAKEDIR} COMPONENT asynccrypt)

# The package config finds the installed wolfSSL relative to the prefix (a
# consumer may point asynccrypt_WOLFSSL_DIR at another build tree of the
# same configuration instead).
set(ASYNCCRYPT_INSTALL_WOLFSSL_LIB ${CMAKE_INSTALL_LIBDIR}/libwolfssl.a)
set(ASYNCCRYPT_INSTALL_WOLFSSL_INCLUDE ${CMAKE_INSTALL_INCLUDEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/asynccrypt-config.cmake.in
  ${PROJECT_BINARY_DIR}/asynccrypt-config.cmake
  INSTALL_DESTINATION ${ASYNCCRYPT_INSTALL_CMAKEDIR}
  PATH_VARS ASYNCCRYPT_INSTALL_WOLFSSL_LIB ASYNCCRYPT_INSTALL_WOLFSSL_INCLUDE)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/asynccrypt-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/asynccrypt-config.cmake
              ${PROJECT_BINARY_DIR}/asynccrypt-config-version.cmake
        DESTINATION ${ASYNCCRYPT_INSTALL_CMAKEDIR} COMPONENT asynccrypt)

# The check: install into a temporary prefix, then configure, build and run
# a small consumer project (tests/install/consumer) against it.
if(ASYNCCRYPT_BUILD_TESTS AND NOT ASYNCCRYPT_LIBRARY_ONLY)
  enable_testing()
  add_test(NAME install_find_package
           COMMAND ${PROJECT_SOURCE_DIR}/tests/install/run_install_test.sh
                   ${CMAKE_COMMAND} ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR}/tests/install/consumer
                   $<CONFIG> ${CMAKE_C_COMPILER} ${CMAKE_CXX_COMPILER})
  set_tests_properties(install_find_package PROPERTIES TIMEOUT 120 LABELS install)
endif()
