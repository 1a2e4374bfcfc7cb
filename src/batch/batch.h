// Batch analytics: the silver jobs (deduplicated, deletion-filtered events and sessions per
// event date, rebuilt from bronze), the gold jobs (daily report, retention, cohorts, A/B
// results) and the readers and formatters that serve them to the CLI and the reports API.
// Everything lives in lake tables under <data_dir>/lake/{silver,gold}/…, so DuckDB, Spark or
// Trino read the same answers. docs/batch.md defines every figure.
//
// The jobs are one writer per data directory: run them from one scheduler (RunBatch and
// RunHourlyCorrection must not overlap). They are idempotent: running them again, or running
// the hourly correction after late bronze files arrive, gives exactly the tables one run over
// all the data gives.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace tidemark::batch {

struct BatchOptions {
  // Users (user_id or anonymous_id) with a deletion request: their events are left out of
  // silver and therefore out of gold.
  std::set<std::string> deleted_users;
  // A user's events without a client session_id start a new session after this much
  // inactivity.
  int64_t session_gap_ms = 30 * 60 * 1000;
  // A/B: the event type that counts as a conversion, and how long after a user's first
  // exposure it counts ([first exposure, first exposure + window)).
  std::string conversion_event = "purchase";
  int64_t conversion_window_ms = 7ll * 24 * 3600 * 1000;
  std::string control_variant = "control";
  // Sample-ratio mismatch is flagged below this chi-square p-value.
  double srm_p_threshold = 0.001;
  // Retention reports days 1 … retention_days after the first-seen date.
  int retention_days = 30;
  // Worker threads for reading and writing files (silver dates run in parallel).
  int threads = 2;
};

// Options from the batch.* settings of a Config.
BatchOptions BatchOptionsFromConfig(const Config& config);

// What a run did, for logs, metrics and tests.
struct BatchRunStats {
  std::vector<std::string> silver_dates;  // event dates whose silver was rebuilt
  int64_t bronze_rows = 0;                // rows read from bronze
  int64_t silver_rows = 0;                // rows written to silver.events
  int64_t duplicates = 0;                 // bronze rows dropped as repeated event ids
  int64_t deleted_rows = 0;               // rows dropped for deleted users
  int64_t sessions = 0;
  bool gold_rebuilt = false;
  double silver_seconds = 0;
  double gold_seconds = 0;
};

// Rebuilds silver.events and silver.sessions for every event date in [from_date,
// through_date] ("YYYY-MM-DD", inclusive) from all bronze files of those dates, then
// rebuilds every gold table from all of silver. Dates without bronze data lose their silver
// files. Creates the silver and gold tables on first use.
Status RunBatch(const std::string& data_dir, const std::string& from_date,
                const std::string& through_date, const BatchOptions& options,
                BatchRunStats* stats = nullptr);

// The hourly job: finds event dates whose bronze files changed (late events added files, a
// compaction or deletion rewrote them) or whose deletion set changed since the silver run
// that last built them, rebuilds those dates' silver and, when any changed, all of gold.
// Nothing to do is not an error.
Status RunHourlyCorrection(const std::string& data_dir, const BatchOptions& options,
                           BatchRunStats* stats = nullptr);

// ---- Reports -------------------------------------------------------------------------

struct DailyReportRow {
  std::string date;  // YYYY-MM-DD
  int64_t events = 0;
  int64_t dau = 0;
  int64_t wau = 0;  // distinct users active in the 7 days ending on date
  int64_t mau = 0;  // … in the 30 days ending on date
  int64_t new_users = 0;
  int64_t sessions = 0;
  double mean_session_seconds = 0;  // 0 when there are no sessions
  double revenue = 0;
};

struct DailyEventsRow {
  std::string date;
  std::string event_type;
  std::string platform;  // "unknown" when the event had none
  int64_t events = 0;
};

struct DailyReport {
  std::vector<DailyReportRow> days;
  std::vector<DailyEventsRow> events;  // by date, event type, platform
};

struct RetentionRow {
  std::string cohort_date;  // first-seen date
  int32_t day = 0;          // 1 … retention_days
  int64_t cohort_users = 0;
  int64_t active_users = 0;
  double share = 0;
};

struct CohortRow {
  std::string cohort_week;  // Monday of the first-seen ISO week
  int32_t weeks_since = 0;
  int64_t cohort_users = 0;
  int64_t active_users = 0;
  double share = 0;
};

struct AbResultRow {
  std::string experiment;
  std::string variant;
  int64_t exposed_users = 0;
  int64_t converted_users = 0;
  double conversion_rate = 0;
  double ci_low = 0;  // 95% normal-approximation (Wald) interval
  double ci_high = 0;
  // Versus the control variant; nullopt on the control row, when there is no control, or
  // when the statistic is undefined (zero variance, zero control rate).
  std::optional<double> abs_lift;
  std::optional<double> rel_lift;
  std::optional<double> z;
  std::optional<double> p_value;
  double revenue_per_user = 0;
  std::optional<double> revenue_t;
  std::optional<double> revenue_df;
  std::optional<double> revenue_p_value;
  // Per experiment (repeated on each variant row): chi-square against an equal split.
  double srm_chi2 = 0;
  double srm_p_value = 1;
  bool srm_flag = false;
};

// Optional date filters ("YYYY-MM-DD", inclusive; empty = unbounded) apply to the row's
// date (cohort date / week for retention and cohorts).
Result<DailyReport> ReadDailyReport(const std::string& data_dir, const std::string& from_date = "",
                                    const std::string& through_date = "");
Result<std::vector<RetentionRow>> ReadRetention(const std::string& data_dir,
                                                const std::string& from_date = "",
                                                const std::string& through_date = "");
Result<std::vector<CohortRow>> ReadCohorts(const std::string& data_dir,
                                           const std::string& from_date = "",
                                           const std::string& through_date = "");
// All experiments when experiment is empty.
Result<std::vector<AbResultRow>> ReadAbResults(const std::string& data_dir,
                                               const std::string& experiment = "");

enum class ReportFormat { kTable, kJson, kCsv };
// "table", "json", "csv"; InvalidArgument otherwise.
Result<ReportFormat> ParseReportFormat(std::string_view name);

std::string FormatDailyReport(const DailyReport& report, ReportFormat format);
std::string FormatRetention(const std::vector<RetentionRow>& rows, ReportFormat format);
std::string FormatCohorts(const std::vector<CohortRow>& rows, ReportFormat format);
std::string FormatAbResults(const std::vector<AbResultRow>& rows, ReportFormat format);

// ---- Reconcile -------------------------------------------------------------------------

// The batch layers' ledger for one event date (docs/batch.md): received = accepted +
// rejected; accepted = bronze rows = unique + duplicates; unique = silver rows + deleted.
// duplicates and deleted are those of the last silver run of the date; `stale` says bronze
// changed since (the hourly correction will rebuild it).
struct BatchReconcileRow {
  std::string date;
  int64_t received = 0;
  int64_t rejected = 0;  // dlq_events rows received that day
  int64_t accepted = 0;  // bronze event rows of that event date
  int64_t duplicates = 0;
  int64_t unique = 0;
  int64_t deleted = 0;
  int64_t silver_rows = 0;
  bool stale = false;
};
Result<std::vector<BatchReconcileRow>> ReconcileBatch(const std::string& data_dir,
                                                      const std::string& from_date = "",
                                                      const std::string& through_date = "");

}  // namespace tidemark::batch
