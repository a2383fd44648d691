// Harvest cost: one wolfAsync_EventQueuePoll with P operations pending and one completed.
//
// The design claims harvesting is O(completions), not O(pending): a poll
// that finds one completion costs about the same with 10, 1,000 or 100,000
// operations in flight (within 2x). The operations run on a device of this
// benchmark's own (HeldDevice) that accepts every submission and completes
// one only when told, so any number can be pending without real crypto.
// Everything else is the real path: wc_AsyncHandle submits through the core,
// the completion is reported through the core's CompletionSink (as a worker
// thread would), and the poll is the public wolfAsync_EventQueuePoll.
//
// Run: bench/harvest_bench [Google Benchmark flags]; it ends with the ratios
// against P = 10 and says whether the claim holds (exit status 1 if not and
// --strict was given).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/wolfssl_api.h"

#include "core/device.h"
#include "core/registry.h"

namespace {

using asynccrypt::CompletionSink;
using asynccrypt::Op;

// HeldDevice keeps every submitted operation until complete_oldest() is
// called. It is used from the benchmark's one thread only, which is what
// makes it safe without a lock.
class HeldDevice final : public asynccrypt::Device {
 public:
  const char* kind() const override { return "held"; }
  bool runs_on_poll() const override { return false; }

  asynccrypt::Admission submit(Op* op, CompletionSink& sink) override {
    held_.push_back(Held{op, &sink});
    return asynccrypt::Admission::kAccepted;
  }

  // Cancellation is not used: teardown completes and harvests everything.
  bool cancel(Op*) override { return false; }

  // Reports the oldest held operation as finished, as a worker would.
  bool complete_oldest() {
    if (held_.empty()) return false;
    const Held h = held_.front();
    held_.pop_front();
    h.op->result = 0;
    h.sink->on_complete(h.op, /*busy=*/false);
    return true;
  }

  std::size_t held() const { return held_.size(); }

 private:
  struct Held {
    Op* op;
    CompletionSink* sink;
  };
  std::deque<Held> held_;
};

// P records in flight on a HeldDevice through one wolfSSL event queue.
class Fixture {
 public:
  explicit Fixture(std::size_t pending) : records_(pending) {
    device_ = std::make_shared<HeldDevice>();
    auto id = asynccrypt::Registry::instance().adopt(device_);
    ok_ = id.is_ok() && wolfEventQueue_Init(&queue_) == 0;
    if (!ok_) return;
    dev_id_ = id.value();
    for (WC_ASYNC_DEV& dev : records_) {
      // Any marker: the core does not look at it; wolfCrypt is not involved.
      ok_ = ok_ && wolfAsync_DevCtxInit(&dev, WOLFSSL_ASYNC_MARKER_AES, nullptr, dev_id_) == 0;
      ok_ = ok_ && wc_AsyncHandle(&dev, &queue_, WC_ASYNC_FLAG_NONE) == 0;
    }
  }

  ~Fixture() {
    if (dev_id_ != INVALID_DEVID) {
      // Complete and harvest everything, then let go of the device.
      while (device_->complete_oldest()) {
      }
      int count = 0;
      wolfAsync_EventQueuePoll(&queue_, nullptr, nullptr, 0, WOLF_POLL_FLAG_CHECK_HW, &count);
      wolfEventQueue_Free(&queue_);
      asynccrypt::Registry::instance().close(dev_id_);
    }
  }

  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  bool ok() const { return ok_; }
  HeldDevice& device() { return *device_; }
  WOLF_EVENT_QUEUE* queue() { return &queue_; }

 private:
  std::vector<WC_ASYNC_DEV> records_;  // fixed addresses: the core points at them
  std::shared_ptr<HeldDevice> device_;
  WOLF_EVENT_QUEUE queue_{};
  int dev_id_ = INVALID_DEVID;
  bool ok_ = false;
};

// Harvests exactly one event and puts its record back in flight (so P stays
// constant). Returns false on any surprise.
bool harvest_one(Fixture& f, bool timed, benchmark::State& state) {
  WOLF_EVENT* events[8];
  int count = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const int ret =
      wolfAsync_EventQueuePoll(f.queue(), nullptr, events, 8, WOLF_POLL_FLAG_CHECK_HW, &count);
  const auto t1 = std::chrono::steady_clock::now();
  if (timed) state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
  if (ret != 0 || count != 1) return false;
  auto* dev = static_cast<WC_ASYNC_DEV*>(events[0]->context);
  if (wolfAsync_EventPop(events[0], WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT) != 0) return false;
  return wc_AsyncHandle(dev, f.queue(), WC_ASYNC_FLAG_NONE) == 0;
}

// The poll alone (manual timing): P pending, one completed.
void BM_PollOneCompleted(benchmark::State& state) {
  Fixture f(static_cast<std::size_t>(state.range(0)));
  if (!f.ok()) {
    state.SkipWithError("fixture setup failed");
    return;
  }
  for (auto _ : state) {
    f.device().complete_oldest();
    if (!harvest_one(f, true, state)) {
      state.SkipWithError("the poll did not return exactly the one completed event");
      break;
    }
  }
  state.counters["pending"] = static_cast<double>(f.device().held());
}

// The whole cycle (automatic timing): report a completion, poll, resubmit.
void BM_CompletePollResubmit(benchmark::State& state) {
  Fixture f(static_cast<std::size_t>(state.range(0)));
  if (!f.ok()) {
    state.SkipWithError("fixture setup failed");
    return;
  }
  for (auto _ : state) {
    f.device().complete_oldest();
    if (!harvest_one(f, false, state)) {
      state.SkipWithError("the poll did not return exactly the one completed event");
      break;
    }
  }
}

BENCHMARK(BM_PollOneCompleted)->Arg(10)->Arg(1000)->Arg(100000)->UseManualTime();
BENCHMARK(BM_CompletePollResubmit)->Arg(10)->Arg(1000)->Arg(100000);

// Passes runs through to the console and remembers each one's time per
// iteration; the ratios use the median over repetitions.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) failed_ = true;
      if (run.error_occurred) continue;
      const std::string& fn = run.run_name.function_name;
      const std::string& args = run.run_name.args;
      if (run.run_type == Run::RT_Iteration) {
        times_[fn][args].push_back(run.GetAdjustedRealTime());
      } else if (run.aggregate_name == "median") {
        // With --benchmark_report_aggregates_only the runs themselves are
        // not reported: use their median.
        times_[fn][args] = {run.GetAdjustedRealTime()};
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  // Prints P=1000 and P=100000 against P=10 per benchmark; true when all
  // ratios are within the claim.
  bool print_ratios() {
    bool holds = !failed_;
    std::printf("\nharvest cost against 10 pending (claim: <= 2.00x)\n");
    for (auto& [name, by_args] : times_) {
      const double base = median(by_args["10"]);
      if (base <= 0) continue;
      for (const char* p : {"1000", "100000"}) {
        if (by_args.count(p) == 0) continue;
        const double ratio = median(by_args[p]) / base;
        holds = holds && ratio <= 2.0;
        std::printf("  %-26s %6s pending: %5.2fx  %s\n", name.c_str(), p, ratio,
                    ratio <= 2.0 ? "ok" : "OVER");
      }
    }
    std::printf("claim %s\n", holds ? "holds" : "does NOT hold");
    return holds;
  }

 private:
  static double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }

  // function name -> "10" / "1000" / "100000" -> times per iteration
  std::map<std::string, std::map<std::string, std::vector<double>>> times_;
  bool failed_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  bool strict = false;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--strict") == 0) {
      strict = true;
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 2;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const bool holds = reporter.print_ratios();
  benchmark::Shutdown();
  return strict && !holds ? 1 : 0;
}
