#include "cli/batch_command.h"

#include <cstdio>
#include <iostream>

#include "batch/batch.h"
#include "common/config.h"

namespace tidemark::cli {
namespace {

int Fail(const char* what, const Status& st) {
  std::fprintf(stderr, "tidemark %s: %s\n", what, st.ToString().c_str());
  return 1;
}

}  // namespace

int BatchRun(const std::string& data_dir, const std::string& date, const std::string& through) {
  batch::BatchRunStats stats;
  Status st = batch::RunBatch(data_dir, date, through.empty() ? date : through,
                              batch::BatchOptionsFromConfig(Config()), &stats);
  if (!st.ok()) return Fail("batch run", st);
  std::printf("silver: %zu date(s), %lld bronze rows -> %lld silver rows (%lld duplicates, %lld deleted), %lld sessions, %.2f s\n",
              stats.silver_dates.size(), static_cast<long long>(stats.bronze_rows),
              static_cast<long long>(stats.silver_rows), static_cast<long long>(stats.duplicates),
              static_cast<long long>(stats.deleted_rows), static_cast<long long>(stats.sessions),
              stats.silver_seconds);
  std::printf("gold: %s, %.2f s\n", stats.gold_rebuilt ? "rebuilt" : "unchanged", stats.gold_seconds);
  return 0;
}

int Report(const std::string& data_dir, const std::string& kind, const std::string& format_name,
           const std::string& from, const std::string& through, const std::string& experiment) {
  auto format = batch::ParseReportFormat(format_name);
  if (!format.ok()) return Fail("report", format.status());
  std::string out;
  if (kind == "daily") {
    auto r = batch::ReadDailyReport(data_dir, from, through);
    if (!r.ok()) return Fail("report", r.status());
    out = batch::FormatDailyReport(*r, *format);
  } else if (kind == "retention") {
    auto r = batch::ReadRetention(data_dir, from, through);
    if (!r.ok()) return Fail("report", r.status());
    out = batch::FormatRetention(*r, *format);
  } else if (kind == "cohorts") {
    auto r = batch::ReadCohorts(data_dir, from, through);
    if (!r.ok()) return Fail("report", r.status());
    out = batch::FormatCohorts(*r, *format);
  } else if (kind == "ab") {
    auto r = batch::ReadAbResults(data_dir, experiment);
    if (!r.ok()) return Fail("report", r.status());
    out = batch::FormatAbResults(*r, *format);
  } else {
    return Fail("report", Status::InvalidArgument("unknown report '" + kind + "' (daily|retention|cohorts|ab)"));
  }
  std::cout << out;
  return 0;
}

int ReconcileBatchLayers(const std::string& data_dir, const std::string& date) {
  auto rows = batch::ReconcileBatch(data_dir, date, date);
  if (!rows.ok()) {
    if (rows.status().code() == StatusCode::kNotFound) return 0;  // no batch run yet
    return Fail("reconcile", rows.status());
  }
  bool balanced = true;
  std::printf("batch layers (by event date)\n  %-10s %10s %10s %10s %10s %10s %10s %10s\n", "date", "received",
              "rejected", "accepted", "duplicates", "unique", "deleted", "silver");
  for (const auto& r : *rows) {
    std::printf("  %-10s %10lld %10lld %10lld %10lld %10lld %10lld %10lld%s\n", r.date.c_str(),
                static_cast<long long>(r.received), static_cast<long long>(r.rejected),
                static_cast<long long>(r.accepted), static_cast<long long>(r.duplicates),
                static_cast<long long>(r.unique), static_cast<long long>(r.deleted),
                static_cast<long long>(r.silver_rows), r.stale ? "  (stale: bronze changed since)" : "");
    const bool ok = r.received == r.accepted + r.rejected && r.accepted == r.silver_rows + r.duplicates + r.deleted;
    if (!ok && !r.stale) balanced = false;
    std::printf("    received = accepted + rejected: %s; accepted = silver + duplicates + deleted: %s\n",
                r.received == r.accepted + r.rejected ? "ok" : "MISMATCH",
                r.accepted == r.silver_rows + r.duplicates + r.deleted ? "ok" : "MISMATCH");
  }
  return balanced ? 0 : 1;
}

}  // namespace tidemark::cli
