// Counters of the perf tools, merged across event loops, and the report:
// the original's statistics block, latency percentiles, CPU per handshake
// and a JSON object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/measure.h"
#include "perf/tls_common.h"

namespace perf {

// LatencySamples holds handshake latencies in bounded memory, so a server
// that runs until SIGTERM (-n 0) does not grow for ever: every value while
// at most `capacity` were added (percentiles exact), beyond that a uniform
// random sample of them (reservoir sampling, seeded the same every run so
// a run repeats). count() and max() stay exact.
class LatencySamples {
 public:
  static constexpr std::size_t kCapacity = std::size_t{1} << 16;  // 512 KiB of doubles

  explicit LatencySamples(std::size_t capacity = kCapacity) : capacity_(capacity) {}

  void add(double ms);
  // merge adds another loop's samples; beyond capacity each side is drawn
  // from in proportion to the values it saw, so the merged sample stays
  // uniform over both loops' handshakes.
  void merge(const LatencySamples& other);

  long long count() const { return seen_; }
  double max() const { return max_; }
  std::size_t capacity() const { return capacity_; }
  // samples are the kept values, in no particular order.
  const std::vector<double>& samples() const { return samples_; }

 private:
  std::size_t capacity_;
  std::vector<double> samples_;
  long long seen_ = 0;
  double max_ = 0;
  asynccrypt::measure::SplitMix64 rng_{0x5EED};
};

// Counters of one event loop (no locking: each loop owns its own).
struct Counters {
  long handshakes = 0;       // completed handshakes, resumed ones included
  long resumed = 0;          // of which resumed
  long errors = 0;           // connections that failed
  long aborted = 0;          // client test aid: connections aborted on purpose
  long freed_pending = 0;    // server: peer hung up while crypto was in flight
  long timeouts = 0;         // connections closed by --handshake-timeout or --idle-timeout
  long accept_backoffs = 0;  // server: accept paused, out of descriptors or memory
  double handshake_s = 0;    // time inside accept/connect, full handshakes
  double resume_s = 0;       // time inside accept/connect, resumed handshakes
  double async_s = 0;        // time inside wolfSSL_CTX_AsyncPoll
  double read_s = 0;
  double write_s = 0;
  long long read_bytes = 0;
  long long write_bytes = 0;
  LatencySamples latency_ms;    // per handshake: TCP accept/connect to done
  double loop_cpu_s = 0;        // CPU time of the event-loop thread
  long long device_ops = 0;     // operations the async device accepted
  long long device_inline = 0;  // ran on the loop thread instead (full, declined)
  bool started = false;         // first/last are set
  Clock::time_point first{};    // first connection began
  Clock::time_point last{};     // last connection ended

  void note_activity(Clock::time_point now) {
    if (!started) {
      started = true;
      first = now;
    }
    last = now;
  }
  // note_handshake counts the completed handshake of ssl: spent_s inside
  // accept/connect, from TCP start to done.
  void note_handshake(WOLFSSL* ssl, double spent_s, Clock::time_point start,
                      Clock::time_point done) {
    ++handshakes;
    if (wolfSSL_session_reused(ssl)) {
      ++resumed;
      resume_s += spent_s;
    } else {
      handshake_s += spent_s;
    }
    latency_ms.add(seconds_between(start, done) * 1000);
  }
  // merge adds another loop's counters.
  void merge(const Counters& other);
};

// ReportInfo says how to present Counters.
struct ReportInfo {
  bool server = true;
  int reply_bytes = 0;
  bool show_resume = false;  // client: with -r; server: when anything resumed
  std::string device;
  double process_cpu_s = 0;  // whole process, over the run
  bool json = false;
};

// print_report writes the statistics block and the extra rows to stderr,
// and with info.json one JSON object on a line of its own to stdout.
void print_report(const Counters& c, const ReportInfo& info);

// CPU time and percentiles as every tool measures them (common/measure.h).
using asynccrypt::measure::percentile;
using asynccrypt::measure::process_cpu_seconds;
using asynccrypt::measure::thread_cpu_seconds;

}  // namespace perf
