// Shared by the silver and gold jobs and the report readers: table names and schemas, the
// per-date state of silver runs, and small helpers over lake tables.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "batch/batch.h"
#include "lake/table.h"

namespace tidemark::batch::internal {

inline constexpr int64_t kMillisPerDay = 86'400'000;

inline constexpr const char* kSilver = "silver";
inline constexpr const char* kGold = "gold";
inline constexpr const char* kSilverEvents = "events";
inline constexpr const char* kSilverSessions = "sessions";
inline constexpr const char* kGoldDailyReport = "daily_report";
inline constexpr const char* kGoldDailyEvents = "daily_events";
inline constexpr const char* kGoldRetention = "retention";
inline constexpr const char* kGoldCohorts = "cohorts";
inline constexpr const char* kGoldAbResults = "ab_results";

lake::Schema SilverEventsSchema();
lake::Schema SilverSessionsSchema();
lake::Schema DailyReportSchema();
lake::Schema DailyEventsSchema();
lake::Schema RetentionSchema();
lake::Schema CohortsSchema();
lake::Schema AbResultsSchema();

inline std::string LakeRoot(const std::string& data_dir) { return data_dir + "/lake"; }

// Opens the table, creating it (empty) when it does not exist yet.
Result<std::unique_ptr<lake::Table>> OpenOrCreate(const std::string& data_dir,
                                                  const std::string& layer,
                                                  const std::string& name, lake::Schema schema,
                                                  const std::string& partition_field);
// Opens the table; nullptr when it does not exist.
Result<std::unique_ptr<lake::Table>> OpenIfExists(const std::string& data_dir,
                                                  const std::string& layer,
                                                  const std::string& name);

// Reads the named columns of the given data files of `table` (paths relative to the table
// directory) into one batch of `want` (names and types; the field ids of `want` are kept).
// Columns a file lacks are NULL. Files are read by up to `threads` threads; rows come in
// file order.
Result<lake::ColumnBatch> ReadFiles(const lake::Table& table,
                                    const std::vector<const lake::DataFile*>& files,
                                    const lake::Schema& want, int threads);

// Runs fn(0) … fn(n − 1) on up to `threads` threads; returns the first error.
Status ParallelFor(size_t n, int threads, const std::function<Status(size_t)>& fn);

// "YYYY-MM-DD" ↔ days since the epoch.
Result<int64_t> ParseDay(const std::string& date);
std::string FormatDay(int64_t day);
inline int64_t DayOf(int64_t epoch_ms) {
  return (epoch_ms >= 0 ? epoch_ms : epoch_ms - (kMillisPerDay - 1)) / kMillisPerDay;
}

// What the silver run that last built an event date consumed and produced. Kept in
// <data_dir>/state/batch/silver_dates.tsv, rewritten atomically after each run.
struct SilverDateState {
  uint64_t fingerprint = 0;  // of the bronze files read and of the deletion set
  int64_t bronze_rows = 0;
  int64_t duplicates = 0;
  int64_t deleted = 0;
  int64_t silver_rows = 0;
};
using SilverState = std::map<std::string, SilverDateState>;
Result<SilverState> LoadSilverState(const std::string& data_dir);
Status SaveSilverState(const std::string& data_dir, const SilverState& state);

// The bronze event files of every event date, over user_events and server_events.
struct BronzeFiles {
  std::unique_ptr<lake::Table> user_events;    // nullptr when the table does not exist
  std::unique_ptr<lake::Table> server_events;  // nullptr when the table does not exist
  std::map<std::string, uint64_t> fingerprints;  // per date, of the live files of that date
  std::map<std::string, int64_t> rows;           // per date
};
Result<BronzeFiles> ListBronze(const std::string& data_dir,
                               const std::set<std::string>& deleted_users);

// Rebuilds silver.events and silver.sessions for the given dates.
Status RunSilver(const std::string& data_dir, const std::vector<std::string>& dates,
                 const BatchOptions& options, BronzeFiles& bronze, SilverState& state,
                 BatchRunStats& stats);
// Rebuilds every gold table from all of silver.
Status RunGold(const std::string& data_dir, const BatchOptions& options, BatchRunStats& stats);

}  // namespace tidemark::batch::internal
