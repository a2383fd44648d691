// Tests of the PIN sources (src/backends/pkcs11/p11_pin.cc): environment, file, limits, wiping.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

// wolfSSL's options first: they fix the layout of every structure below.
#include "core/wolfssl_api.h"

#include "backends/pkcs11/p11_pin.h"

namespace {

using asynccrypt::p11::PinSource;
using asynccrypt::p11::SecretBytes;

std::string as_string(const SecretBytes& pin) {
  return std::string(reinterpret_cast<const char*>(pin.data()), pin.size());
}

class Pkcs11PinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/asynccrypt-pin-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    std::remove(file().c_str());
    rmdir(dir_.c_str());
    unsetenv("ASYNCCRYPT_PIN_TEST");
  }
  std::string file() const { return dir_ + "/pin"; }
  void write(const std::string& text) { std::ofstream(file(), std::ios::binary) << text; }

  std::string dir_;
};

TEST_F(Pkcs11PinTest, FromEnvironment) {
  setenv("ASYNCCRYPT_PIN_TEST", "4321", 1);
  auto pin = PinSource::from_env("ASYNCCRYPT_PIN_TEST").read();
  ASSERT_TRUE(pin.is_ok()) << pin.status().message();
  EXPECT_EQ(as_string(pin.value()), "4321");
}

TEST_F(Pkcs11PinTest, FromFileWithoutItsNewline) {
  for (const char* text : {"4321", "4321\n", "4321\r\n"}) {
    write(text);
    auto pin = PinSource::from_file(file()).read();
    ASSERT_TRUE(pin.is_ok()) << pin.status().message();
    EXPECT_EQ(as_string(pin.value()), "4321");
  }
  // Only one line end is taken off; spaces are part of the PIN.
  write(" 43 21\n\n");
  EXPECT_EQ(as_string(PinSource::from_file(file()).read().value()), " 43 21\n");
}

TEST_F(Pkcs11PinTest, BadSourcesNameTheSourceNeverThePin) {
  auto unset = PinSource::from_env("ASYNCCRYPT_PIN_TEST").read();
  EXPECT_EQ(unset.status().code(), BAD_FUNC_ARG);
  EXPECT_NE(unset.status().message().find("ASYNCCRYPT_PIN_TEST is not set"), std::string::npos);

  setenv("ASYNCCRYPT_PIN_TEST", "", 1);
  EXPECT_EQ(PinSource::from_env("ASYNCCRYPT_PIN_TEST").read().status().code(), BAD_FUNC_ARG);

  const std::string long_pin(PinSource::kMaxPin + 1, '7');
  setenv("ASYNCCRYPT_PIN_TEST", long_pin.c_str(), 1);
  auto too_long = PinSource::from_env("ASYNCCRYPT_PIN_TEST").read();
  EXPECT_EQ(too_long.status().code(), BAD_FUNC_ARG);
  EXPECT_EQ(too_long.status().message().find("7777"), std::string::npos);

  write(long_pin + "\n");
  auto long_file = PinSource::from_file(file()).read();
  EXPECT_EQ(long_file.status().code(), BAD_FUNC_ARG);
  EXPECT_EQ(long_file.status().message().find("7777"), std::string::npos);
  write(std::string(PinSource::kMaxPin, '7') + "\r\n");
  EXPECT_TRUE(PinSource::from_file(file()).read().is_ok());

  write("\n");
  EXPECT_EQ(PinSource::from_file(file()).read().status().code(), BAD_FUNC_ARG);
  auto missing = PinSource::from_file(dir_ + "/absent").read();
  EXPECT_EQ(missing.status().code(), BAD_FUNC_ARG);
  EXPECT_NE(missing.status().message().find(dir_ + "/absent"), std::string::npos);
  EXPECT_EQ(PinSource().read().status().code(), BAD_FUNC_ARG);
}

TEST_F(Pkcs11PinTest, SecretBytesMoveLeavesNothingBehind) {
  SecretBytes a(8);
  std::memcpy(a.data(), "secret!!", 8);
  a.resize(8);
  SecretBytes b = std::move(a);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(as_string(b), "secret!!");
  b = SecretBytes();
  EXPECT_EQ(b.size(), 0u);
}

}  // namespace
