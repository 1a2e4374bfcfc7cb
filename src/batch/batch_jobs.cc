// The entry points: RunBatch (a date range), RunHourlyCorrection (whatever bronze changed),
// the options from configuration, and the batch layers' reconcile ledger.
#include "batch/batch_internal.h"
#include "lake/bronze_schema.h"

namespace tidemark::batch {

using internal::BronzeFiles;
using internal::SilverState;

BatchOptions BatchOptionsFromConfig(const Config& config) {
  BatchOptions o;
  o.session_gap_ms = config.GetInt("batch.session_gap_minutes") * 60'000;
  o.conversion_event = config.GetString("batch.ab_conversion_event");
  o.conversion_window_ms = config.GetInt("batch.ab_conversion_window_hours") * 3'600'000;
  o.control_variant = config.GetString("batch.ab_control_variant");
  o.srm_p_threshold = config.GetDouble("batch.ab_srm_p_threshold");
  o.retention_days = static_cast<int>(config.GetInt("batch.retention_days"));
  o.threads = static_cast<int>(config.GetInt("batch.threads"));
  return o;
}

Status RunBatch(const std::string& data_dir, const std::string& from_date,
                const std::string& through_date, const BatchOptions& options,
                BatchRunStats* stats) {
  ASSIGN_OR_RETURN(const int64_t from, internal::ParseDay(from_date));
  ASSIGN_OR_RETURN(const int64_t through, internal::ParseDay(through_date));
  if (through < from) {
    return Status::InvalidArgument("batch range " + from_date + " … " + through_date +
                                   " ends before it starts");
  }
  BatchRunStats local;
  BatchRunStats& s = stats ? *stats : local;
  ASSIGN_OR_RETURN(BronzeFiles bronze, internal::ListBronze(data_dir, options.deleted_users));
  ASSIGN_OR_RETURN(SilverState state, internal::LoadSilverState(data_dir));
  // Only dates that have bronze data or silver data to remove; a range of years costs
  // nothing for the empty days.
  std::vector<std::string> dates;
  for (int64_t d = from; d <= through; ++d) {
    const std::string date = internal::FormatDay(d);
    if (bronze.fingerprints.count(date) || state.count(date)) dates.push_back(date);
  }
  RETURN_IF_ERROR(internal::RunSilver(data_dir, dates, options, bronze, state, s));
  return internal::RunGold(data_dir, options, s);
}

Status RunHourlyCorrection(const std::string& data_dir, const BatchOptions& options,
                           BatchRunStats* stats) {
  BatchRunStats local;
  BatchRunStats& s = stats ? *stats : local;
  ASSIGN_OR_RETURN(BronzeFiles bronze, internal::ListBronze(data_dir, options.deleted_users));
  ASSIGN_OR_RETURN(SilverState state, internal::LoadSilverState(data_dir));
  std::vector<std::string> dates;
  for (const auto& [date, fingerprint] : bronze.fingerprints) {
    auto it = state.find(date);
    if (it == state.end() || it->second.fingerprint != fingerprint) dates.push_back(date);
  }
  // Dates whose bronze files all went away (rewritten elsewhere or deleted) lose their silver.
  for (const auto& [date, unused] : state)
    if (!bronze.fingerprints.count(date)) dates.push_back(date);
  if (dates.empty()) return Status::Ok();
  std::sort(dates.begin(), dates.end());
  RETURN_IF_ERROR(internal::RunSilver(data_dir, dates, options, bronze, state, s));
  return internal::RunGold(data_dir, options, s);
}

Result<std::vector<BatchReconcileRow>> ReconcileBatch(const std::string& data_dir,
                                                      const std::string& from_date,
                                                      const std::string& through_date) {
  ASSIGN_OR_RETURN(BronzeFiles bronze, internal::ListBronze(data_dir, {}));
  ASSIGN_OR_RETURN(SilverState state, internal::LoadSilverState(data_dir));
  std::map<std::string, BatchReconcileRow> rows;
  for (const auto& [date, count] : bronze.rows) rows[date].accepted = count;
  ASSIGN_OR_RETURN(auto dlq, internal::OpenIfExists(data_dir, std::string(lake::bronze::kLayer),
                                                    std::string(lake::bronze::kDlqEvents)));
  if (dlq) {
    for (const lake::DataFile& f : dlq->current().files) rows[f.event_date].rejected += f.rows;
  }
  ASSIGN_OR_RETURN(auto silver, internal::OpenIfExists(data_dir, internal::kSilver,
                                                       internal::kSilverEvents));
  if (silver) {
    for (const lake::DataFile& f : silver->current().files)
      rows[f.event_date].silver_rows += f.rows;
  }
  // The fingerprints without deletions differ from the stored ones whenever deletions
  // exist, so staleness compares the bronze row count the run read instead.
  std::vector<BatchReconcileRow> out;
  for (auto& [date, row] : rows) {
    if (!from_date.empty() && date < from_date) continue;
    if (!through_date.empty() && date > through_date) continue;
    row.date = date;
    row.received = row.accepted + row.rejected;
    auto it = state.find(date);
    if (it != state.end()) {
      row.duplicates = it->second.duplicates;
      row.deleted = it->second.deleted;
      row.stale = it->second.bronze_rows != row.accepted;
    } else {
      row.stale = row.accepted > 0;
    }
    row.unique = row.accepted - row.duplicates;
    out.push_back(row);
  }
  return out;
}

}  // namespace tidemark::batch
