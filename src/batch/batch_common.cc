// Schemas, table helpers, the silver state file and the bronze listing shared by the jobs.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>

#include "batch/batch_internal.h"
#include "common/files.h"
#include "common/hashing.h"
#include "common/time_format.h"
#include "lake/bronze_schema.h"

namespace tidemark::batch::internal {

using lake::ColumnType;
using lake::Schema;

Schema SilverEventsSchema() {
  using T = ColumnType;
  return Schema{{
      {"event_id", T::kString, false},
      {"event_type", T::kString, false},
      {"event_time", T::kTimestampMillis, false},
      {"received_at", T::kTimestampMillis, false},
      // user_id when present, else anonymous_id: the identity every gold figure counts.
      {"user_key", T::kString, true},
      {"user_id", T::kString, true},
      {"anonymous_id", T::kString, true},
      {"session_id", T::kString, true},
      {"platform", T::kString, true},
      {"source", T::kString, true},
      {"schema_version", T::kInt64, true},
      {"log_partition", T::kInt32, false},
      {"log_offset", T::kInt64, false},
      {"properties", T::kString, true},
      // Parsed once here from properties so that gold never parses JSON.
      {"revenue", T::kDouble, true},
      {"experiment", T::kString, true},
      {"variant", T::kString, true},
  }};
}

Schema SilverSessionsSchema() {
  using T = ColumnType;
  return Schema{{
      {"user_key", T::kString, false},
      {"session_id", T::kString, true},  // the client's, when the session came from it
      {"session_start", T::kTimestampMillis, false},
      {"session_end", T::kTimestampMillis, false},
      {"duration_ms", T::kInt64, false},
      {"event_count", T::kInt64, false},
      {"platform", T::kString, true},
  }};
}

Schema DailyReportSchema() {
  using T = ColumnType;
  return Schema{{
      {"date", T::kTimestampMillis, false},
      {"events", T::kInt64, false},
      {"dau", T::kInt64, false},
      {"wau", T::kInt64, false},
      {"mau", T::kInt64, false},
      {"new_users", T::kInt64, false},
      {"sessions", T::kInt64, false},
      {"mean_session_seconds", T::kDouble, false},
      {"revenue", T::kDouble, false},
  }};
}

Schema DailyEventsSchema() {
  using T = ColumnType;
  return Schema{{
      {"date", T::kTimestampMillis, false},
      {"event_type", T::kString, false},
      {"platform", T::kString, false},
      {"events", T::kInt64, false},
  }};
}

Schema RetentionSchema() {
  using T = ColumnType;
  return Schema{{
      {"cohort_date", T::kTimestampMillis, false},
      {"day", T::kInt32, false},
      {"cohort_users", T::kInt64, false},
      {"active_users", T::kInt64, false},
      {"share", T::kDouble, false},
  }};
}

Schema CohortsSchema() {
  using T = ColumnType;
  return Schema{{
      {"cohort_week", T::kTimestampMillis, false},
      {"weeks_since", T::kInt32, false},
      {"cohort_users", T::kInt64, false},
      {"active_users", T::kInt64, false},
      {"share", T::kDouble, false},
  }};
}

Schema AbResultsSchema() {
  using T = ColumnType;
  return Schema{{
      {"experiment", T::kString, false},
      {"variant", T::kString, false},
      // The experiment's earliest exposure: the partition column (tables need a timestamp).
      {"first_exposure", T::kTimestampMillis, false},
      {"exposed_users", T::kInt64, false},
      {"converted_users", T::kInt64, false},
      {"conversion_rate", T::kDouble, false},
      {"ci_low", T::kDouble, false},
      {"ci_high", T::kDouble, false},
      {"abs_lift", T::kDouble, true},
      {"rel_lift", T::kDouble, true},
      {"z", T::kDouble, true},
      {"p_value", T::kDouble, true},
      {"revenue_per_user", T::kDouble, false},
      {"revenue_t", T::kDouble, true},
      {"revenue_df", T::kDouble, true},
      {"revenue_p_value", T::kDouble, true},
      {"srm_chi2", T::kDouble, false},
      {"srm_p_value", T::kDouble, false},
      {"srm_flag", T::kBoolean, false},
  }};
}

Result<std::unique_ptr<lake::Table>> OpenOrCreate(const std::string& data_dir,
                                                  const std::string& layer,
                                                  const std::string& name, Schema schema,
                                                  const std::string& partition_field) {
  auto table = lake::Table::Open(LakeRoot(data_dir), layer, name);
  if (table.ok()) {
    // Field ids are the table's; compare names and types only.
    const Schema& have = (*table)->current().schema;
    bool same = have.fields.size() == schema.fields.size();
    for (size_t i = 0; same && i < schema.fields.size(); ++i) {
      same = have.fields[i].name == schema.fields[i].name &&
             have.fields[i].type == schema.fields[i].type;
    }
    if (!same) {
      return Status::FailedPrecondition((*table)->directory() +
                                        ": schema differs from this version's " + layer + "." +
                                        name + " schema");
    }
    return table;
  }
  if (table.status().code() != StatusCode::kNotFound) return table.status();
  return lake::Table::Create(LakeRoot(data_dir), layer, name, std::move(schema), partition_field);
}

Result<std::unique_ptr<lake::Table>> OpenIfExists(const std::string& data_dir,
                                                  const std::string& layer,
                                                  const std::string& name) {
  auto table = lake::Table::Open(LakeRoot(data_dir), layer, name);
  if (!table.ok() && table.status().code() == StatusCode::kNotFound)
    return std::unique_ptr<lake::Table>();
  return table;
}

Status ParallelFor(size_t n, int threads, const std::function<Status(size_t)>& fn) {
  const size_t workers = std::min<size_t>(n, static_cast<size_t>(std::max(1, threads)));
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) RETURN_IF_ERROR(fn(i));
    return Status::Ok();
  }
  std::mutex mu;
  size_t next = 0;
  Status first_error;
  auto work = [&] {
    for (;;) {
      size_t i;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (next >= n || !first_error.ok()) return;
        i = next++;
      }
      Status s = fn(i);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) first_error = std::move(s);
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return first_error;
}

namespace {

// Appends `rows` NULLs (or placeholders for a non-nullable column a file lacks, which the
// caller reports as corruption before relying on them).
void AppendNulls(lake::Column& column, size_t rows) {
  for (size_t r = 0; r < rows; ++r) column.AppendNull();
}

Status ReadOneFile(const std::string& path, const Schema& want, lake::ColumnBatch* out) {
  ASSIGN_OR_RETURN(auto reader, lake::ParquetReader::Open(path));
  const Schema& have = reader->schema();
  std::vector<int> read_columns;
  std::vector<int> source_of(want.fields.size(), -1);  // index into the projected batch
  for (size_t c = 0; c < want.fields.size(); ++c) {
    const int i = have.FindField(want.fields[c].name);
    if (i < 0) {
      if (!want.fields[c].nullable) {
        return Status::Corruption(path + ": lacks required column " + want.fields[c].name);
      }
      continue;
    }
    if (have.fields[i].type != want.fields[c].type) {
      return Status::Corruption(path + ": column " + want.fields[c].name + " is " +
                                std::string(lake::ColumnTypeName(have.fields[i].type)) +
                                ", expected " +
                                std::string(lake::ColumnTypeName(want.fields[c].type)));
    }
    source_of[c] = static_cast<int>(read_columns.size());
    read_columns.push_back(i);
  }
  std::unique_ptr<lake::ColumnBatch> scratch;
  for (int g = 0; g < reader->num_row_groups(); ++g) {
    const size_t rows = static_cast<size_t>(reader->row_group(g).num_rows);
    if (!read_columns.empty()) {
      if (!scratch) {
        ASSIGN_OR_RETURN(lake::ColumnBatch first, reader->ReadRowGroup(g, read_columns));
        scratch = std::make_unique<lake::ColumnBatch>(std::move(first));
      } else {
        RETURN_IF_ERROR(reader->ReadRowGroupInto(g, read_columns, scratch.get()));
      }
    }
    for (size_t c = 0; c < want.fields.size(); ++c) {
      if (source_of[c] < 0) {
        AppendNulls(out->column(c), rows);
      } else {
        const lake::Column& src = scratch->column(static_cast<size_t>(source_of[c]));
        out->column(c).AppendRange(src, 0, src.size());
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<lake::ColumnBatch> ReadFiles(const lake::Table& table,
                                    const std::vector<const lake::DataFile*>& files,
                                    const Schema& want, int threads) {
  std::vector<std::unique_ptr<lake::ColumnBatch>> parts(files.size());
  RETURN_IF_ERROR(ParallelFor(files.size(), threads, [&](size_t i) {
    parts[i] = std::make_unique<lake::ColumnBatch>(want);
    for (size_t c = 0; c < want.fields.size(); ++c)
      parts[i]->column(c).Reserve(static_cast<size_t>(files[i]->rows));
    return ReadOneFile(table.directory() + "/" + files[i]->path, want, parts[i].get());
  }));
  if (parts.size() == 1) return std::move(*parts[0]);
  lake::ColumnBatch out(want);
  size_t rows = 0;
  for (const auto& p : parts) rows += p->num_rows();
  for (size_t c = 0; c < want.fields.size(); ++c) {
    size_t bytes = 0;
    for (const auto& p : parts) bytes += p->column(c).string_bytes().size();
    out.column(c).Reserve(rows, bytes);
    for (const auto& p : parts) out.column(c).AppendRange(p->column(c), 0, p->num_rows());
  }
  return out;
}

Result<int64_t> ParseDay(const std::string& date) {
  unsigned y = 0, m = 0, d = 0;
  char tail = 0;
  if (date.size() != 10 || std::sscanf(date.c_str(), "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3 ||
      m < 1 || m > 12 || d < 1 || d > 31) {
    return Status::InvalidArgument("date \"" + date + "\" is not YYYY-MM-DD");
  }
  const int64_t day = DaysFromCivil(y, m, d);
  if (FormatDay(day) != date) return Status::InvalidArgument("date \"" + date + "\" does not exist");
  return day;
}

std::string FormatDay(int64_t day) { return FormatDate(day * kMillisPerDay); }

namespace {
std::string StatePath(const std::string& data_dir) {
  return data_dir + "/state/batch/silver_dates.tsv";
}
}  // namespace

Result<SilverState> LoadSilverState(const std::string& data_dir) {
  SilverState state;
  auto text = ReadFileToString(StatePath(data_dir));
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return state;
    return text.status();
  }
  std::istringstream in(*text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    char date[16] = {};
    unsigned long long fp = 0;
    long long rows = 0, dups = 0, deleted = 0, silver = 0;
    if (std::sscanf(line.c_str(), "%10s %llx %lld %lld %lld %lld", date, &fp, &rows, &dups,
                    &deleted, &silver) != 6) {
      return Status::Corruption(StatePath(data_dir) + ": line " + std::to_string(line_no) +
                                " is not \"date fingerprint bronze duplicates deleted silver\"");
    }
    state[date] = {fp, rows, dups, deleted, silver};
  }
  return state;
}

Status SaveSilverState(const std::string& data_dir, const SilverState& state) {
  std::string out = "# date\tfingerprint\tbronze_rows\tduplicates\tdeleted\tsilver_rows\n";
  for (const auto& [date, s] : state) {
    char line[160];
    std::snprintf(line, sizeof line, "%s\t%016llx\t%lld\t%lld\t%lld\t%lld\n", date.c_str(),
                  static_cast<unsigned long long>(s.fingerprint),
                  static_cast<long long>(s.bronze_rows), static_cast<long long>(s.duplicates),
                  static_cast<long long>(s.deleted), static_cast<long long>(s.silver_rows));
    out += line;
  }
  RETURN_IF_ERROR(CreateDirectories(data_dir + "/state/batch"));
  return WriteFileAtomic(StatePath(data_dir), out);
}

Result<BronzeFiles> ListBronze(const std::string& data_dir,
                               const std::set<std::string>& deleted_users) {
  BronzeFiles out;
  ASSIGN_OR_RETURN(out.user_events,
                   OpenIfExists(data_dir, std::string(lake::bronze::kLayer),
                                std::string(lake::bronze::kUserEvents)));
  ASSIGN_OR_RETURN(out.server_events,
                   OpenIfExists(data_dir, std::string(lake::bronze::kLayer),
                                std::string(lake::bronze::kServerEvents)));
  // The deletion set is part of every date's fingerprint: a new deletion request makes
  // every date stale, and the correction removes the user everywhere.
  uint64_t deletions = 0x9e3779b97f4a7c15ull;
  for (const std::string& u : deleted_users) deletions = Hash64(u, deletions);
  std::map<std::string, std::vector<std::string>> names;
  for (const lake::Table* t : {out.user_events.get(), out.server_events.get()}) {
    if (t == nullptr) continue;
    for (const lake::DataFile& f : t->current().files) {
      names[f.event_date].push_back(t->current().name + "/" + f.path + ":" +
                                    std::to_string(f.rows));
      out.rows[f.event_date] += f.rows;
    }
  }
  for (auto& [date, list] : names) {
    std::sort(list.begin(), list.end());
    uint64_t h = deletions;
    for (const std::string& n : list) h = Hash64(n, h);
    out.fingerprints[date] = h;
  }
  return out;
}

}  // namespace tidemark::batch::internal
