// A generous real-time bound for test loops that wait on other threads.
#pragma once

#include <chrono>

namespace testing_support {

// Deadline bounds a loop that polls until worker threads have finished
// something. Such a loop must not count its polls: how many polls the
// workers take depends on how fast the machine is and how busy its CPUs
// are. It stops a hang instead, after a time no healthy run comes near
// (seconds, against the milliseconds the work takes), so a slow or loaded
// machine never fails a test that a fast one passes.
class Deadline {
 public:
  static constexpr std::chrono::seconds kGenerous{60};

  explicit Deadline(std::chrono::steady_clock::duration limit = kGenerous)
      : end_(std::chrono::steady_clock::now() + limit) {}

  bool passed() const { return std::chrono::steady_clock::now() >= end_; }

 private:
  std::chrono::steady_clock::time_point end_;
};

}  // namespace testing_support
