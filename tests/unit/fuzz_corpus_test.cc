// Replays every input of fuzz/corpus/ through the API fuzzer's entry function (no libFuzzer).
#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "api_fuzz.h"

namespace {

std::vector<std::string> corpus_files() {
  std::vector<std::string> files;
  if (DIR* dir = opendir(ASYNCCRYPT_FUZZ_CORPUS_DIR)) {
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') files.push_back(entry->d_name);
    }
    closedir(dir);
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(FuzzCorpus, IsNotEmpty) { EXPECT_GE(corpus_files().size(), 3u); }

TEST(FuzzCorpus, EveryInputReplays) {
  for (const std::string& name : corpus_files()) {
    SCOPED_TRACE(name);
    std::ifstream file(std::string(ASYNCCRYPT_FUZZ_CORPUS_DIR) + "/" + name, std::ios::binary);
    ASSERT_TRUE(file.good());
    const std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(file)),
                                         std::istreambuf_iterator<char>());
    // An invariant violation aborts the process, which fails the test.
    asynccrypt::fuzz::run_one(data.data(), data.size());
  }
}

TEST(FuzzCorpus, EmptyAndTinyInputs) {
  asynccrypt::fuzz::run_one(nullptr, 0);
  for (int b = 0; b < 256; ++b) {
    const std::uint8_t one = static_cast<std::uint8_t>(b);
    asynccrypt::fuzz::run_one(&one, 1);
  }
}

}  // namespace
