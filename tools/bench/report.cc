// Formatting of the benchmark's rows: table, original-form lines, JSON.
#include "report.h"

#include <utility>

#include "common/json.h"

namespace asynccrypt::bench {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// The first row of an original-form group (device label, depth).
const RowResult* first_of(const std::vector<RowResult>& rows,
                          const std::pair<std::string, int>& group) {
  for (const RowResult& row : rows) {
    if (device_label(row) == group.first && row.depth == group.second) return &row;
  }
  return nullptr;
}

}  // namespace

std::string size_label(const RowSpec& spec) {
  if (!spec.symmetric) return std::to_string(spec.bits_or_bytes);
  if (spec.bits_or_bytes % 1024 == 0) return std::to_string(spec.bits_or_bytes / 1024) + " KiB";
  return std::to_string(spec.bits_or_bytes) + " B";
}

std::string device_label(const RowResult& row) {
  return row.nonblock ? row.device + "/nb" : row.device;
}

void print_table_header(std::FILE* out) {
  std::fprintf(out, "%-12s %-6s %6s %-8s %5s %11s %9s %10s %10s %7s %9s %9s %7s %9s %10s %10s\n",
               "algorithm", "op", "size", "device", "depth", "ops/s", "MiB/s", "p50 us", "p99 us",
               "vs sync", "cpu us/op", "loop us", "offload", "layer us", "poll p99", "poll max");
}

void print_table_row(std::FILE* out, const RowResult& row) {
  const RowSpec& spec = *row.spec;
  char mb[32] = "-";
  if (spec.symmetric) std::snprintf(mb, sizeof mb, "%.1f", row.mb_per_sec);
  char ratio[32] = "-";
  if (row.vs_sync > 0) std::snprintf(ratio, sizeof ratio, "%.2f", row.vs_sync);
  char layer[32] = "-";
  if (row.has_layer_cost) std::snprintf(layer, sizeof layer, "%.2f", row.layer_us_per_offload);
  std::fprintf(out,
               "%-12s %-6s %6s %-8s %5d %11.1f %9s %10.1f %10.1f %7s %9.2f %9.2f %6.0f%% %9s "
               "%10.1f %10.1f",
               spec.algorithm.c_str(), spec.op.c_str(), size_label(spec).c_str(),
               device_label(row).c_str(), row.depth, row.ops_per_sec, mb, row.p50_us, row.p99_us,
               ratio, row.cpu_us_per_op, row.loop_us_per_op, row.offloaded * 100.0, layer,
               row.p99_poll_us, row.max_poll_us);
  if (row.run.inline_runs > 0) {
    std::fprintf(out, "  (%llu ran inline: device full)",
                 static_cast<unsigned long long>(row.run.inline_runs));
  }
  if (!row.run.error.empty()) std::fprintf(out, "  ERROR: %s", row.run.error.c_str());
  std::fprintf(out, "\n");
}

void print_original_lines(std::FILE* out, const std::vector<RowResult>& rows) {
  // Groups in order of first appearance: sync, then each device and depth.
  std::vector<std::pair<std::string, int>> groups;
  for (const RowResult& row : rows) {
    const std::pair<std::string, int> key{device_label(row), row.depth};
    bool seen = false;
    for (const auto& g : groups) seen = seen || g == key;
    if (!seen) groups.push_back(key);
  }
  for (const auto& group : groups) {
    const bool sw = group.first == "sync";
    if (sw) {
      std::fprintf(out, "# SW: plain synchronous wolfCrypt, one thread\n");
    } else if (const RowResult* nb = first_of(rows, group); nb != nullptr && nb->nonblock) {
      std::fprintf(out,
                   "# HW: device %s, non-blocking (slices=%d, budget_us=%d per poll), %d in "
                   "flight from one thread\n",
                   nb->device.c_str(), nb->slices, nb->budget_us, group.second);
    } else {
      std::fprintf(out, "# HW: device %s, %d in flight from one thread\n", group.first.c_str(),
                   group.second);
    }
    for (const RowResult& row : rows) {
      if (device_label(row) != group.first || row.depth != group.second) continue;
      const RowSpec& spec = *row.spec;
      const double t = row.run.seconds;
      const auto count = static_cast<double>(row.run.ops);
      if (spec.symmetric) {
        const std::string desc =
            spec.algorithm + "-" + spec.op + "-" +
            (spec.bits_or_bytes % 1024 == 0 ? std::to_string(spec.bits_or_bytes / 1024) + "K"
                                            : std::to_string(spec.bits_or_bytes));
        const double mb = count * spec.bits_or_bytes / kMiB;
        std::fprintf(out, "%-24s%s %5.0f mB took %5.3f seconds, %8.3f mB/s\n", desc.c_str(),
                     sw ? "SW" : "HW", mb, t, t > 0 ? mb / t : 0.0);
      } else {
        std::fprintf(out, "%-6s %5d %-9s %s %6llu ops took %5.3f sec, avg %5.3f ms, %.3f ops/sec\n",
                     spec.algorithm.c_str(), spec.bits_or_bytes, spec.op.c_str(), sw ? "SW" : "HW",
                     static_cast<unsigned long long>(row.run.ops), t,
                     count > 0 ? t * 1000.0 / count : 0.0, t > 0 ? count / t : 0.0);
      }
    }
  }
}

void print_json(std::FILE* out, const std::vector<RowResult>& rows) {
  json::Json array = json::Json::array();
  for (const RowResult& row : rows) {
    const RowSpec& spec = *row.spec;
    json::Json o;
    o["algorithm"] = spec.algorithm;
    o["op"] = spec.op;
    o["bits_or_bytes"] = spec.bits_or_bytes;
    o["symmetric"] = spec.symmetric;
    o["device"] = row.device;
    o["depth"] = row.depth;
    if (row.nonblock) {
      o["nonblock"] = true;
      o["slices"] = row.slices;
      o["budget_us"] = row.budget_us;
    }
    if (row.workers > 0) o["workers"] = row.workers;
    o["ops_per_sec"] = json::fixed(row.ops_per_sec, 3);
    if (spec.symmetric) o["mib_per_sec"] = json::fixed(row.mb_per_sec, 3);
    o["p50_us"] = json::fixed(row.p50_us, 3);
    o["p99_us"] = json::fixed(row.p99_us, 3);
    o["cpu_us_per_op"] = json::fixed(row.cpu_us_per_op, 3);
    if (row.vs_sync > 0) o["vs_sync"] = json::fixed(row.vs_sync, 4);
    o["loop_cpu_us_per_op"] = json::fixed(row.loop_us_per_op, 3);
    if (row.has_layer_cost) o["layer_us_per_offload"] = json::fixed(row.layer_us_per_offload, 3);
    o["max_poll_us"] = json::fixed(row.max_poll_us, 3);
    o["p99_poll_us"] = json::fixed(row.p99_poll_us, 3);
    if (row.device != "sync") o["polls_per_op"] = json::fixed(row.polls_per_op, 2);
    o["ops"] = row.run.ops;
    o["seconds"] = json::fixed(row.run.seconds, 6);
    o["offloaded"] = json::fixed(row.offloaded, 4);
    o["inline_runs"] = row.run.inline_runs;
    o["repeats"] = row.repeats;
    o["ok"] = row.run.error.empty();
    if (!row.run.error.empty()) o["error"] = row.run.error;
    array.push_back(std::move(o));
  }
  std::fprintf(out, "%s\n", json::to_text(array, 2).c_str());
}

}  // namespace asynccrypt::bench
