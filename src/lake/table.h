// Lake tables: Parquet data files plus versioned snapshot metadata, under
// <root>/<layer>/<table>/{data,metadata}/. A snapshot names the table's schema (with field
// ids, so columns can be added), its partition spec (UTC event date and hour of a timestamp
// column), every live data file with row count and column statistics, the source log
// offsets the data covers, and the snapshot history. The format is in docs/formats-lake.md.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "lake/parquet.h"

namespace tidemark::lake {

// Statistics of one column of one data file, keyed by field id in DataFile.
struct FileColumnStats {
  int32_t field_id = 0;
  int64_t null_count = 0;
  StatValue min;  // monostate when unknown
  StatValue max;
};

struct DataFile {
  std::string path;        // relative to the table directory: "data/event_date=…/…parquet"
  std::string event_date;  // partition values: "YYYY-MM-DD" and 0..23
  int32_t event_hour = 0;
  int64_t rows = 0;
  int64_t bytes = 0;
  int32_t schema_id = 0;  // the table schema the file was written with
  std::vector<FileColumnStats> columns;
};

struct SnapshotLogEntry {
  int64_t version = 0;
  int64_t committed_at_ms = 0;
  std::string operation;  // "create", "append", "replace", "add_column"
  int64_t added_files = 0;
  int64_t removed_files = 0;
  int64_t added_rows = 0;
};

// One version of a table: everything a reader needs, in one immutable metadata file.
struct TableSnapshot {
  std::string layer;
  std::string name;
  int64_t version = 0;
  int64_t committed_at_ms = 0;
  int32_t schema_id = 0;
  int32_t last_field_id = 0;
  Schema schema;                // every field has its field id; added fields are nullable
  std::string partition_field;  // a kTimestampMillis field; files split by its date and hour
  std::vector<DataFile> files;
  // Per source partition ("user-events/3"), the next log offset to read: everything before
  // it is in this snapshot. Carried forward by every commit.
  std::map<std::string, int64_t> source_offsets;
  std::vector<SnapshotLogEntry> history;  // oldest first, this version last
};

struct ExpireResult {
  std::vector<int64_t> expired_versions;
  std::vector<std::string> deleted_files;  // relative paths of data files removed
};

// A table in one directory. One writer per table: commits check that the table has not
// moved since this handle last saw it (FailedPrecondition otherwise) but there is no lock
// across processes. Not thread-safe.
class Table {
 public:
  // Creates <root>/<layer>/<name> with version 1 (an empty table). Field ids that are -1 are
  // assigned 1, 2, …; AlreadyExists when the table exists.
  static Result<std::unique_ptr<Table>> Create(const std::string& root, const std::string& layer,
                                               const std::string& name, Schema schema,
                                               const std::string& partition_field,
                                               Clock& clock = SystemClock::Instance());
  static Result<std::unique_ptr<Table>> Open(const std::string& root, const std::string& layer,
                                             const std::string& name,
                                             Clock& clock = SystemClock::Instance());

  const TableSnapshot& current() const { return current_; }
  const std::string& directory() const { return dir_; }
  // An older snapshot still on disk (NotFound once expired).
  Result<TableSnapshot> LoadSnapshot(int64_t version) const;

  // Writes the rows as Parquet files, one per (event date, hour) partition. The files are
  // invisible until committed; a crash before the commit leaves orphans that
  // ExpireSnapshots removes. The batch must have the current schema.
  Result<std::vector<DataFile>> WriteFiles(const ColumnBatch& batch,
                                           const ParquetWriterOptions& options = {});

  // Makes a new snapshot: current files minus `removed` (paths) plus `added`, source offsets
  // updated with `source_offsets`. Written to metadata/v<N>.json (write, fsync, rename) and
  // then switched to by rewriting metadata/current the same way; a crash at any point
  // leaves the previous snapshot current.
  Status Commit(const std::vector<DataFile>& added, const std::vector<std::string>& removed,
                const std::map<std::string, int64_t>& source_offsets);

  // Adds a nullable column at the end of the schema; files written before read it as NULL.
  Status AddColumn(const std::string& name, ColumnType type);

  // Reads the named columns (all when empty) of the current snapshot's files, skipping files
  // and row groups whose statistics rule out `ranges`. Columns a file lacks are NULL.
  Result<ColumnBatch> Scan(const std::vector<std::string>& columns,
                           const std::vector<ColumnRange>& ranges = {}) const;

  // Keeps the newest `keep_last` snapshots (at least 1), deletes older metadata files, then
  // deletes data files that no kept snapshot references and that are older than
  // orphan_grace_ms (so files of a commit still in progress survive).
  Result<ExpireResult> ExpireSnapshots(int64_t keep_last, int64_t orphan_grace_ms = 3'600'000);

 private:
  Table(std::string dir, Clock& clock) : dir_(std::move(dir)), clock_(clock) {}
  Status WriteSnapshot(TableSnapshot snapshot);
  Result<int64_t> ReadCurrentVersion() const;

  friend class TableFileWriter;
  std::string dir_;
  Clock& clock_;
  TableSnapshot current_;
  int64_t file_sequence_ = 0;  // distinguishes files this handle writes
};

// Table::WriteFiles for rows that arrive in pieces: each Append routes its rows to the open
// file of their (event date, hour) partition, opening it on the partition's first row, and
// Finish closes every file and returns them for a commit. A writer that streams its rows
// here a few thousand at a time keeps its column buffers small enough to stay in cache,
// instead of buffering a whole micro-batch and encoding it afterwards. At most
// kMaxOpenFiles are open at once (late events spread over many hours): past that, the file
// that has waited longest for a row is closed, and a later row of its hour opens another.
// The table must outlive the writer and keep its schema while the writer is open.
class TableFileWriter {
 public:
  static constexpr size_t kMaxOpenFiles = 4;

  TableFileWriter(Table* table, ParquetWriterOptions options);
  ~TableFileWriter();
  TableFileWriter(const TableFileWriter&) = delete;
  TableFileWriter& operator=(const TableFileWriter&) = delete;

  // The batch must have the table's current schema.
  Status Append(const ColumnBatch& batch);
  // Closes the open files; returns every file written since the writer was made. After an
  // error the writer is unusable and its files are orphans.
  Result<std::vector<DataFile>> Finish();

 private:
  struct OpenFile;
  Result<OpenFile*> FileFor(int64_t hour);
  Status CloseFile(int64_t hour);

  Table* table_;
  ParquetWriterOptions options_;
  std::map<int64_t, std::unique_ptr<OpenFile>> open_;  // by epoch hour
  std::vector<DataFile> closed_;
  uint64_t appends_ = 0;
  std::unique_ptr<ColumnBatch> part_;  // rows of one hour out of a mixed batch
  Status failed_;
};

// Snapshot metadata <-> JSON (exposed for tests and tools).
std::string SnapshotToJson(const TableSnapshot& snapshot);
Result<TableSnapshot> SnapshotFromJson(std::string_view json);

}  // namespace tidemark::lake
