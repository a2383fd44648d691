// Replays every input of each fuzzer's corpus (fuzz/corpus/<fuzzer>/) through its entry
// function (no libFuzzer).
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "api_fuzz.h"
#include "ops_fuzz.h"
#include "spec_fuzz.h"
#include "support/sanitizers.h"

namespace {

using Entry = void (*)(const std::uint8_t*, std::size_t);

struct Fuzzer {
  const char* name;  // its corpus folder
  Entry entry;
};

const Fuzzer kFuzzers[] = {
    {"api", asynccrypt::fuzz::run_one},
    {"ops", asynccrypt::fuzz::run_ops},
    {"spec", asynccrypt::fuzz::run_spec},
};

std::string corpus_dir(const Fuzzer& fuzzer) {
  return std::string(ASYNCCRYPT_FUZZ_CORPUS_DIR) + "/" + fuzzer.name;
}

std::vector<std::string> corpus_files(const Fuzzer& fuzzer) {
  std::vector<std::string> files;
  if (DIR* dir = opendir(corpus_dir(fuzzer).c_str())) {
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') files.push_back(entry->d_name);
    }
    closedir(dir);
  }
  std::sort(files.begin(), files.end());
  return files;
}

class FuzzCorpus : public ::testing::TestWithParam<Fuzzer> {};

TEST_P(FuzzCorpus, IsNotEmpty) { EXPECT_GE(corpus_files(GetParam()).size(), 3u); }

// Runs every input of fuzzer's corpus through its entry function. An
// invariant violation aborts the process, which fails the test.
void replay_corpus(const Fuzzer& fuzzer) {
  for (const std::string& name : corpus_files(fuzzer)) {
    SCOPED_TRACE(name);
    std::ifstream file(corpus_dir(fuzzer) + "/" + name, std::ios::binary);
    ASSERT_TRUE(file.good());
    const std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(file)),
                                         std::istreambuf_iterator<char>());
    fuzzer.entry(data.data(), data.size());
  }
}

TEST_P(FuzzCorpus, EveryInputReplays) { replay_corpus(GetParam()); }

TEST_P(FuzzCorpus, EmptyAndTinyInputs) {
  GetParam().entry(nullptr, 0);
  for (int b = 0; b < 256; ++b) {
    const std::uint8_t one = static_cast<std::uint8_t>(b);
    GetParam().entry(&one, 1);
  }
}

// libFuzzer's -timeout arms an interval timer: its SIGALRM interrupts the
// harness's waits (and the library's). ops_fuzz took an interrupted wait on
// the queue's fd for a lost wake-up, about once in ten minutes of fuzzing;
// here a 1 ms timer interrupts nearly every wait of each corpus.
class TimerSignals {
 public:
  TimerSignals() {
    struct sigaction action {};
    action.sa_handler = [](int) {};
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: system calls fail with EINTR
    sigaction(SIGALRM, &action, &old_action_);
    const itimerval every_ms{{0, 1000}, {0, 1000}};
    setitimer(ITIMER_REAL, &every_ms, nullptr);
  }
  ~TimerSignals() {
    const itimerval off{};
    setitimer(ITIMER_REAL, &off, nullptr);
    sigaction(SIGALRM, &old_action_, nullptr);
  }
  TimerSignals(const TimerSignals&) = delete;
  TimerSignals& operator=(const TimerSignals&) = delete;

 private:
  struct sigaction old_action_ {};
};

// Not under ThreadSanitizer: its runtime (clang 14) deadlocks when a signal
// lands while it frees a thread's stack inside glibc (seen here: the
// handler waits in __tsan::SlotLock for the lock the interrupted free()
// holds), which no code of ours can avoid.
#ifndef TESTING_UNDER_TSAN
TEST_P(FuzzCorpus, EveryInputReplaysUnderTimerSignals) {
  const TimerSignals signals;
  replay_corpus(GetParam());
}
#endif

INSTANTIATE_TEST_SUITE_P(Fuzzers, FuzzCorpus, ::testing::ValuesIn(kFuzzers),
                         [](const ::testing::TestParamInfo<Fuzzer>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
