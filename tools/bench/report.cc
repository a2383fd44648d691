// Formatting of the benchmark's rows: table, original-form lines, JSON.
#include "report.h"

#include <cmath>

namespace asynccrypt::bench {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// JSON has no NaN or infinity.
double finite(double v) { return std::isfinite(v) ? v : 0.0; }

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
  std::fprintf(out, "[");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const RowResult& row = rows[i];
    const RowSpec& spec = *row.spec;
    std::fprintf(out, "%s\n  {", i == 0 ? "" : ",");
    std::fprintf(out, "\"algorithm\": %s, \"op\": %s, \"bits_or_bytes\": %d, ",
                 json_string(spec.algorithm).c_str(), json_string(spec.op).c_str(),
                 spec.bits_or_bytes);
    std::fprintf(out, "\"symmetric\": %s, \"device\": %s, \"depth\": %d, ",
                 spec.symmetric ? "true" : "false", json_string(row.device).c_str(), row.depth);
    if (row.nonblock) {
      std::fprintf(out, "\"nonblock\": true, \"slices\": %d, \"budget_us\": %d, ", row.slices,
                   row.budget_us);
    }
    if (row.workers > 0) std::fprintf(out, "\"workers\": %d, ", row.workers);
    std::fprintf(out, "\"ops_per_sec\": %.3f, ", finite(row.ops_per_sec));
    if (spec.symmetric) std::fprintf(out, "\"mib_per_sec\": %.3f, ", finite(row.mb_per_sec));
    std::fprintf(out, "\"p50_us\": %.3f, \"p99_us\": %.3f, \"cpu_us_per_op\": %.3f, ",
                 finite(row.p50_us), finite(row.p99_us), finite(row.cpu_us_per_op));
    if (row.vs_sync > 0) std::fprintf(out, "\"vs_sync\": %.4f, ", finite(row.vs_sync));
    std::fprintf(out, "\"loop_cpu_us_per_op\": %.3f, ", finite(row.loop_us_per_op));
    if (row.has_layer_cost) {
      std::fprintf(out, "\"layer_us_per_offload\": %.3f, ", finite(row.layer_us_per_offload));
    }
    std::fprintf(out, "\"max_poll_us\": %.3f, \"p99_poll_us\": %.3f, ", finite(row.max_poll_us),
                 finite(row.p99_poll_us));
    if (row.device != "sync")
      std::fprintf(out, "\"polls_per_op\": %.2f, ", finite(row.polls_per_op));
    std::fprintf(out,
                 "\"ops\": %llu, \"seconds\": %.6f, \"offloaded\": %.4f, \"inline_runs\": %llu, "
                 "\"repeats\": %d, \"ok\": %s",
                 static_cast<unsigned long long>(row.run.ops), finite(row.run.seconds),
                 finite(row.offloaded), static_cast<unsigned long long>(row.run.inline_runs),
                 row.repeats, row.run.error.empty() ? "true" : "false");
    if (!row.run.error.empty())
      std::fprintf(out, ", \"error\": %s", json_string(row.run.error).c_str());
    std::fprintf(out, "}");
  }
  std::fprintf(out, "\n]\n");
}

}  // namespace asynccrypt::bench
