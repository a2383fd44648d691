// The perf tools' report (see stats.h).
#include "perf/stats.h"

#include <algorithm>
#include <cstdio>

#include "common/json.h"

namespace perf {

namespace json = asynccrypt::json;

void LatencySamples::add(double ms) {
  ++seen_;
  if (seen_ == 1 || ms > max_) max_ = ms;
  if (samples_.size() < capacity_) {
    samples_.push_back(ms);
    return;
  }
  // Algorithm R: the n-th value replaces a kept one with probability k/n.
  const std::uint64_t slot = rng_.next() % static_cast<std::uint64_t>(seen_);
  if (slot < capacity_) samples_[static_cast<std::size_t>(slot)] = ms;
}

void LatencySamples::merge(const LatencySamples& o) {
  if (o.seen_ == 0) return;
  if (seen_ == 0 || o.max_ > max_) max_ = o.max_;
  if (samples_.size() + o.samples_.size() <= capacity_ &&
      seen_ == static_cast<long long>(samples_.size()) &&
      o.seen_ == static_cast<long long>(o.samples_.size())) {
    // Both hold every value: the union is exact.
    samples_.insert(samples_.end(), o.samples_.begin(), o.samples_.end());
    seen_ += o.seen_;
    return;
  }
  // Each drawn value comes from this side with the probability that a value
  // of the union came from it, without replacement within a side (one that
  // runs out leaves the rest to the other).
  std::vector<double> a = samples_, b = o.samples_;
  const double pa = static_cast<double>(seen_) / static_cast<double>(seen_ + o.seen_);
  const std::size_t want = std::min(capacity_, a.size() + b.size());
  std::vector<double> out;
  out.reserve(want);
  auto take = [&](std::vector<double>& from) {
    const std::size_t i = static_cast<std::size_t>(rng_.next() % from.size());
    out.push_back(from[i]);
    from[i] = from.back();
    from.pop_back();
  };
  while (out.size() < want) {
    const double u = rng_.uniform();
    if (b.empty() || (!a.empty() && u < pa)) {
      take(a);
    } else {
      take(b);
    }
  }
  samples_ = std::move(out);
  seen_ += o.seen_;
}

void Counters::merge(const Counters& o) {
  handshakes += o.handshakes;
  resumed += o.resumed;
  errors += o.errors;
  aborted += o.aborted;
  freed_pending += o.freed_pending;
  timeouts += o.timeouts;
  accept_backoffs += o.accept_backoffs;
  handshake_s += o.handshake_s;
  resume_s += o.resume_s;
  async_s += o.async_s;
  read_s += o.read_s;
  write_s += o.write_s;
  read_bytes += o.read_bytes;
  write_bytes += o.write_bytes;
  latency_ms.merge(o.latency_ms);
  loop_cpu_s += o.loop_cpu_s;
  device_ops += o.device_ops;
  device_inline += o.device_inline;
  if (o.started) {
    if (!started || o.first < first) first = o.first;
    if (!started || o.last > last) last = o.last;
    started = true;
  }
}

namespace {

// The original's row formats: the label padded to 18 columns, then ": ".
void row_int(const char* label, long long v, const char* unit = "") {
  std::fprintf(stderr, "%-18s: %9lld%s\n", label, v, unit);
}
void row_ms(const char* label, double ms) { std::fprintf(stderr, "%-18s: %9.3f ms\n", label, ms); }
void row_num(const char* label, double v) { std::fprintf(stderr, "%-18s: %9.3f\n", label, v); }
void row_rate(const char* label, double s, long long bytes) {
  const double mbps = s > 0 ? static_cast<double>(bytes) / s / 1024 / 1024 : 0;
  std::fprintf(stderr, "%-18s: %9.3f ms (%9.3f MBps)\n", label, s * 1000, mbps);
}
double ratio(double a, double b) { return b > 0 ? a / b : 0; }

}  // namespace

void print_report(const Counters& c, const ReportInfo& info) {
  const double total_s = c.started ? seconds_between(c.first, c.last) : 0;
  const long conns = c.handshakes;
  const long full = conns - c.resumed;

  std::fprintf(stderr, "wolfSSL %s Benchmark %d bytes\n", info.server ? "Server" : "Client",
               info.reply_bytes);
  row_int("Num Conns", full);
  row_ms("Total", total_s * 1000);
  row_ms("Total Avg", ratio(total_s * 1000, static_cast<double>(conns)));
  row_num("t/s", ratio(static_cast<double>(conns), total_s));
  const char* hs = info.server ? "Accept" : "Connect";
  const std::string hs_avg = std::string(hs) + " Avg";
  row_ms(hs, c.handshake_s * 1000);
  row_ms(hs_avg.c_str(), ratio(c.handshake_s * 1000, static_cast<double>(full)));
  if (info.show_resume || (info.server && c.resumed > 0)) {
    row_int("Resumed Conns", c.resumed);
    row_ms("Resume", c.resume_s * 1000);
    row_ms("Resume Avg", ratio(c.resume_s * 1000, static_cast<double>(c.resumed)));
  }
  row_ms("Async", c.async_s * 1000);
  row_ms("Async Avg", ratio(c.async_s * 1000, static_cast<double>(conns)));
  row_int("Total Read bytes", c.read_bytes, " bytes");
  row_int("Total Write bytes", c.write_bytes, " bytes");
  row_rate("Read", c.read_s, c.read_bytes);
  row_rate("Write", c.write_s, c.write_bytes);

  std::vector<double> sorted = c.latency_ms.samples();
  std::sort(sorted.begin(), sorted.end());
  const double p50 = percentile(sorted, 0.50);
  const double p90 = percentile(sorted, 0.90);
  const double p99 = percentile(sorted, 0.99);
  const double max = c.latency_ms.max();
  const double cpu = ratio(info.process_cpu_s, static_cast<double>(conns));
  const double loop_cpu = ratio(c.loop_cpu_s, static_cast<double>(conns));
  row_int("Errors", c.errors);
  if (c.aborted > 0) row_int("Aborted", c.aborted);
  if (info.server) row_int("Pending at hangup", c.freed_pending);
  row_int("Timeouts", c.timeouts);
  if (c.accept_backoffs > 0) row_int("Accept back-offs", c.accept_backoffs);
  row_ms("Handshake p50", p50);
  row_ms("Handshake p90", p90);
  row_ms("Handshake p99", p99);
  row_ms("Handshake max", max);
  row_ms("CPU/handshake", cpu * 1000);
  row_ms("Loop CPU/handshake", loop_cpu * 1000);
  const double ops = ratio(static_cast<double>(c.device_ops), static_cast<double>(conns));
  const double inline_ops = ratio(static_cast<double>(c.device_inline), static_cast<double>(conns));
  if (c.device_ops + c.device_inline > 0) {
    row_num("Device ops/hs", ops);
    row_num("Inline ops/hs", inline_ops);
  }
  std::fprintf(stderr, "%-18s: %s\n", "Device", info.device.c_str());

  if (info.json) {
    json::Json o;
    o["tool"] = info.server ? "perf-server" : "perf-client";
    o["connections"] = conns;
    o["resumed"] = c.resumed;
    o["errors"] = c.errors;
    o["handshakes_per_sec"] = json::fixed(ratio(static_cast<double>(conns), total_s), 3);
    o["p50_ms"] = json::fixed(p50, 3);
    o["p90_ms"] = json::fixed(p90, 3);
    o["p99_ms"] = json::fixed(p99, 3);
    o["max_ms"] = json::fixed(max, 3);
    o["cpu_s_per_handshake"] = json::fixed(cpu, 6);
    o["loop_cpu_s_per_handshake"] = json::fixed(loop_cpu, 6);
    o["read_bytes"] = c.read_bytes;
    o["write_bytes"] = c.write_bytes;
    o["aborted"] = c.aborted;
    o["pending_at_hangup"] = c.freed_pending;
    o["device_ops_per_handshake"] = json::fixed(ops, 2);
    o["inline_ops_per_handshake"] = json::fixed(inline_ops, 2);
    o["timeouts"] = c.timeouts;
    o["accept_backoffs"] = c.accept_backoffs;
    o["device"] = info.device;
    // On one line: scripts read the last line that starts with '{'.
    std::printf("%s\n", json::to_text(o).c_str());
    std::fflush(stdout);
  }
}

}  // namespace perf
