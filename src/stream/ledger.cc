#include "stream/ledger.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>

#include "common/time_format.h"
#include "log/log.h"
#include "stream/checkpoint.h"

namespace tidemark::stream {

Result<std::vector<LedgerRow>> ReadLedger(const std::string& data_dir) {
  std::vector<LedgerRow> rows;
  for (std::string_view topic : {log::kUserEvents, log::kServerEvents, log::kDlqEvents}) {
    std::error_code ec;
    const std::string topic_dir = data_dir + "/state/" + std::string(topic);
    if (!std::filesystem::is_directory(topic_dir, ec)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(topic_dir, ec)) {
      int partition = 0;
      const std::string name = entry.path().filename().string();
      auto parsed = std::from_chars(name.data(), name.data() + name.size(), partition);
      if (parsed.ec != std::errc() || parsed.ptr != name.data() + name.size()) continue;
      ASSIGN_OR_RETURN(std::optional<Checkpoint> cp, ReadCheckpoint(entry.path().string()));
      if (!cp) continue;
      PartitionProcessor p(ProcessorOptions{}, std::string(topic), partition,
                           topic == log::kDlqEvents ? PartitionProcessor::Mode::kDlq
                                                    : PartitionProcessor::Mode::kEvents,
                           nullptr);
      RETURN_IF_ERROR(p.RestoreState(cp->state));
      for (const auto& [day, counts] : p.ledger()) {
        rows.push_back(LedgerRow{std::string(topic), partition, FormatDate(day), counts});
      }
    }
  }
  std::sort(rows.begin(), rows.end(), [](const LedgerRow& a, const LedgerRow& b) {
    return std::tie(a.day, a.topic, a.partition) < std::tie(b.day, b.topic, b.partition);
  });
  return rows;
}

std::string RenderLedger(const std::vector<LedgerRow>& rows) {
  std::map<std::string, std::vector<const LedgerRow*>> by_day;
  for (const auto& r : rows) by_day[r.day].push_back(&r);
  std::string out;
  auto line = [&](std::string_view name, const LedgerCounts& c) {
    out += fmt::format("  {:<18} {:>12} {:>12} {:>10} {:>12} {:>12} {:>10} {:>11}\n", name,
                       c.accepted + c.rejected, c.accepted, c.rejected, c.duplicates, c.on_time, c.late,
                       c.undecodable);
  };
  for (const auto& [day, day_rows] : by_day) {
    out += fmt::format("{}\n  {:<18} {:>12} {:>12} {:>10} {:>12} {:>12} {:>10} {:>11}\n", day, "partition",
                       "received", "accepted", "rejected", "duplicates", "on_time", "late", "undecodable");
    LedgerCounts total;
    for (const LedgerRow* r : day_rows) {
      line(r->topic + "/" + std::to_string(r->partition), r->counts);
      total.accepted += r->counts.accepted;
      total.rejected += r->counts.rejected;
      total.duplicates += r->counts.duplicates;
      total.on_time += r->counts.on_time;
      total.late += r->counts.late;
      total.undecodable += r->counts.undecodable;
    }
    line("total", total);
    const uint64_t unique = total.on_time + total.late;
    const bool accepted_ok = total.accepted == unique + total.duplicates + total.undecodable;
    out += fmt::format("  received {} = accepted {} + rejected {}: ok\n", total.accepted + total.rejected,
                       total.accepted, total.rejected);
    out += fmt::format("  accepted {} = unique {} + duplicates {} + undecodable {}: {}\n", total.accepted, unique,
                       total.duplicates, total.undecodable, accepted_ok ? "ok" : "MISMATCH");
    out += fmt::format("  unique {} = on time {} + late {}: ok\n", unique, total.on_time, total.late);
  }
  if (out.empty()) out = "no ledger entries yet\n";
  return out;
}

}  // namespace tidemark::stream
