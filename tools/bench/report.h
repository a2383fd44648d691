// The benchmark's output: a human table, the original benchmark's lines, and JSON.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "driver.h"
#include "workloads.h"

namespace asynccrypt::bench {

// One reported row: a workload on one device at one depth (medians over the
// repeats of that combination).
struct RowResult {
  const RowSpec* spec = nullptr;
  std::string device;     // "sync", "sim", "threads"
  bool nonblock = false;  // non-blocking ECC: each poll runs a bounded slice (sim)
  int slices = 0;         // nonblock rows: the device's slice budget per poll
  int budget_us = 0;      // (asynccrypt_DevGetSliceBudget)
  int depth = 1;          // operations in flight from the one submitting thread
  int workers = 0;        // threads device only
  int repeats = 0;        // runs the medians are taken over
  double ops_per_sec = 0;
  double mb_per_sec = 0;  // symmetric rows: MiB (2^20 bytes) per second
  double p50_us = 0;
  double p99_us = 0;
  double offloaded = 0;       // fraction of operations that went to the device
  double cpu_us_per_op = 0;   // process CPU time (all threads) per operation
  double loop_us_per_op = 0;  // of that, on the submitting thread (the event loop)
  // The layer's cost per operation handed to the device: CPU time on all
  // threads per offloaded operation beyond what the same operation costs
  // synchronously (this row's cpu_us_per_op less the sync row's, over the
  // offloaded share). It includes the submitting loop's own bookkeeping of
  // pending operations, as an application's loop would pay it. Negative
  // values are noise; unset (has_layer_cost false) without a sync row or
  // with less than a tenth offloaded.
  double layer_us_per_offload = 0;
  bool has_layer_cost = false;
  double vs_sync = 0;       // ops_per_sec over the sync row's, 0 when unknown
  double p99_poll_us = 0;   // how long one poll held the thread (sync rows: one
  double max_poll_us = 0;   // operation): median p99, longest over the repeats
  double polls_per_op = 0;  // device rows
  RunResult run;            // the run with the median rate (counts, time)
};

// The size column: "2048" for key bits, "1 KiB" / "16 KiB" for buffers.
std::string size_label(const RowSpec& spec);

// The device column: the device, "/nb" added on non-blocking ECC rows.
std::string device_label(const RowResult& row);

void print_table_header(std::FILE* out);
void print_table_row(std::FILE* out, const RowResult& row);

// The rows in the original wolfCrypt benchmark's per-run form, grouped by
// device and depth (a "# ..." line before each group):
//   "<ALG> <bits> <op> SW|HW <count> ops took <t> sec, avg <ms> ms, <rate> ops/sec"
//   "<desc> SW|HW <n> mB took <t> seconds, <rate> mB/s"
// SW is plain synchronous wolfCrypt, HW a device; mB are 2^20 bytes.
void print_original_lines(std::FILE* out, const std::vector<RowResult>& rows);

// A JSON array, one object per row (nlohmann/json, indented by 2).
void print_json(std::FILE* out, const std::vector<RowResult>& rows);

}  // namespace asynccrypt::bench
