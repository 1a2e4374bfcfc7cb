// Parquet files for the lake: a columnar in-memory batch (ColumnBatch), a writer that turns
// batches into row groups of dictionary/plain encoded, ZSTD-compressed pages with statistics,
// and a reader that projects columns and skips row groups by their min/max statistics.
// Hand-written from the Apache Parquet format specification: no Arrow/Parquet library exists
// on tidemark's build platforms. Files are flat (no nested groups), data page v1.
#pragma once

#include <cassert>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/huge_pages.h"
#include "common/status.h"

namespace tidemark::lake {

// The value types of lake columns and their Parquet mapping:
//   kBoolean → BOOLEAN, kInt32 → INT32 INTEGER(32,true), kInt64 → INT64 INTEGER(64,true),
//   kDouble → DOUBLE, kString → BYTE_ARRAY STRING (UTF-8),
//   kTimestampMillis → INT64 TIMESTAMP(isAdjustedToUTC=true, MILLIS): epoch milliseconds UTC.
enum class ColumnType : uint8_t { kBoolean, kInt32, kInt64, kDouble, kString, kTimestampMillis };

std::string_view ColumnTypeName(ColumnType type);

struct Field {
  std::string name;
  ColumnType type = ColumnType::kString;
  bool nullable = true;   // OPTIONAL in Parquet; REQUIRED when false
  int32_t field_id = -1;  // Parquet field_id; -1 writes none (the table layer assigns ids)

  bool operator==(const Field&) const = default;
};

struct Schema {
  std::vector<Field> fields;

  int FindField(std::string_view name) const;  // -1 when absent
  bool operator==(const Schema&) const = default;
};

// One column of values, all of one type, with an optional validity vector. A null row still
// holds a placeholder (0, false, empty string) so that row i is always at index i.
// kTimestampMillis uses the int64 storage. Strings live in one byte buffer with row offsets
// (Arrow's layout), so a batch of a million strings is two allocations, not a million.
class Column {
 public:
  explicit Column(ColumnType type);

  ColumnType type() const { return type_; }
  size_t size() const { return size_; }
  size_t null_count() const { return null_count_; }
  bool has_nulls() const { return null_count_ > 0; }
  bool IsNull(size_t row) const { return null_count_ > 0 && validity_[row] == 0; }

  void Reserve(size_t rows, size_t string_bytes = 0);
  // Empties the column but keeps its memory, so a reader can refill it without faulting in
  // fresh pages.
  void Clear();
  void AppendNull();
  void AppendBool(bool v);
  void AppendInt32(int32_t v);
  void AppendInt64(int64_t v);  // also kTimestampMillis
  void AppendDouble(double v);
  void AppendString(std::string_view v);
  // Appends rows [begin, end) of a column of the same type.
  void AppendRange(const Column& other, size_t begin, size_t end);

  bool BoolAt(size_t row) const { return u8_[row] != 0; }
  int32_t Int32At(size_t row) const { return i32_[row]; }
  int64_t Int64At(size_t row) const { return i64_[row]; }
  double DoubleAt(size_t row) const { return f64_[row]; }
  std::string_view StringAt(size_t row) const {
    return std::string_view(bytes_.data() + offsets_[row], offsets_[row + 1] - offsets_[row]);
  }

  // Raw storage, for the encoders and decoders. validity() is empty while no row is null,
  // otherwise one byte per row (1 = present).
  const HugeVector<uint8_t>& validity() const { return validity_; }
  const HugeVector<uint8_t>& bools() const { return u8_; }
  const HugeVector<int32_t>& int32s() const { return i32_; }
  const HugeVector<int64_t>& int64s() const { return i64_; }
  const HugeVector<double>& doubles() const { return f64_; }
  const HugeVector<uint64_t>& string_offsets() const { return offsets_; }  // size()+1 entries
  const HugeBytes& string_bytes() const { return bytes_; }

 private:
  friend class ColumnDecoder;  // fills storage in bulk when reading
  void MarkValid();

  ColumnType type_;
  size_t size_ = 0;
  size_t null_count_ = 0;
  // Huge-page backed: a bronze buffer of 64 MiB is refilled for every flush (common/huge_pages.h).
  HugeVector<uint8_t> validity_;
  HugeVector<uint8_t> u8_;
  HugeVector<int32_t> i32_;
  HugeVector<int64_t> i64_;
  HugeVector<double> f64_;
  HugeVector<uint64_t> offsets_;
  HugeBytes bytes_;
};

// The per-value appends, inline: a bronze flush buffers some twenty values per event.
inline void Column::MarkValid() {
  if (null_count_ > 0) validity_.push_back(1);
  ++size_;
}

inline void Column::AppendBool(bool v) {
  assert(type_ == ColumnType::kBoolean && "AppendBool on a non-boolean column");
  u8_.push_back(v ? 1 : 0);
  MarkValid();
}

inline void Column::AppendInt32(int32_t v) {
  assert(type_ == ColumnType::kInt32 && "AppendInt32 on a non-int32 column");
  i32_.push_back(v);
  MarkValid();
}

inline void Column::AppendInt64(int64_t v) {
  assert((type_ == ColumnType::kInt64 || type_ == ColumnType::kTimestampMillis) &&
         "AppendInt64 on a column that is neither int64 nor timestamp");
  i64_.push_back(v);
  MarkValid();
}

inline void Column::AppendDouble(double v) {
  assert(type_ == ColumnType::kDouble && "AppendDouble on a non-double column");
  f64_.push_back(v);
  MarkValid();
}

inline void Column::AppendString(std::string_view v) {
  assert(type_ == ColumnType::kString && "AppendString on a non-string column");
  bytes_.append(v);
  offsets_.push_back(bytes_.size());
  MarkValid();
}

// Rows of a schema, column by column. Owns its columns; not thread-safe.
class ColumnBatch {
 public:
  explicit ColumnBatch(Schema schema);

  const Schema& schema() const { return schema_; }
  size_t num_rows() const { return columns_.empty() ? 0 : columns_[0].size(); }
  size_t num_columns() const { return columns_.size(); }
  Column& column(size_t i) { return columns_[i]; }
  const Column& column(size_t i) const { return columns_[i]; }
  // Column by name, or nullptr.
  const Column* FindColumn(std::string_view name) const;

  // Every column has the same length and non-nullable fields hold no nulls.
  Status Validate() const;
  // Empties every column, keeping the memory.
  void Clear();

 private:
  Schema schema_;
  std::vector<Column> columns_;
};

// A statistics value in the column's type (kTimestampMillis as int64_t); monostate = absent.
using StatValue = std::variant<std::monostate, bool, int32_t, int64_t, double, std::string>;

struct ColumnStats {
  std::optional<int64_t> null_count;
  StatValue min;
  StatValue max;
  // Long strings are truncated: a truncated min is a prefix (still a lower bound), a
  // truncated max is a prefix with its last character incremented (still an upper bound).
  bool min_exact = true;
  bool max_exact = true;
};

enum class Compression { kUncompressed, kZstd };

// Page, dictionary and compression buffers (and the ZSTD context) that successive
// ParquetWriters reuse. A process that writes file after file (the bronze writer: one per
// table per flush) keeps this memory warm instead of faulting in fresh pages for every file
// (in lake_bench that halved the bronze writer's flush CPU). The buffers keep their
// high-water mark: about one row group of compressed pages plus one page per column. One
// writer uses them at a time; a writer opened while another holds them allocates its own.
// Thread-safe to share.
class ParquetWriterBuffers;
std::shared_ptr<ParquetWriterBuffers> NewParquetWriterBuffers();

struct ParquetWriterOptions {
  Compression compression = Compression::kZstd;
  // Level −2, one of ZSTD's fast levels, with its literals still Huffman-coded: on event
  // data it writes pages 7% smaller than level 1 (itself ~1.5x faster than 3), and faster.
  int zstd_level = -2;
  // A row group is closed when either bound is reached (bytes counted as plain-encoded size).
  // 128 Ki rows (DuckDB uses 122,880) keeps the writer's buffers small and reused.
  int64_t row_group_max_rows = 128 * 1024;
  int64_t row_group_max_bytes = 64ll << 20;
  // Data pages are cut at about this many plain-encoded bytes.
  int64_t page_max_bytes = 1 << 20;
  // String columns start with a dictionary per column chunk. It is dropped when the chunk's
  // first page shows PLAIN would be smaller (high cardinality), or when its PLAIN size would
  // pass this bound; then the rest of the chunk is PLAIN.
  int64_t dictionary_max_bytes = 1 << 20;
  // INT64 and TIMESTAMP pages are DELTA_BINARY_PACKED (a few bits per value where values
  // change little from row to row, and a quarter of ZSTD's work); false writes them PLAIN,
  // for readers that predate the encoding.
  bool delta_int64 = true;
  // String statistics longer than this are truncated (see ColumnStats).
  size_t statistics_max_string_bytes = 64;
  std::vector<std::pair<std::string, std::string>> key_value_metadata;
  // Null: every writer allocates its own buffers (see ParquetWriterBuffers).
  std::shared_ptr<ParquetWriterBuffers> buffers;
};

// What a closed file holds: the table layer records it in snapshot metadata.
struct ParquetFileSummary {
  int64_t num_rows = 0;
  int64_t file_bytes = 0;
  int64_t num_row_groups = 0;
  std::vector<ColumnStats> columns;  // merged over row groups, in schema order
};

// Writes one Parquet file. Append encodes rows into each column's pages at once (the caller's
// batch is not kept); compressed pages wait in memory until their row group is full and is
// written. Close writes the last row group and the footer, then fsyncs the file and its
// directory. A file whose Close did not succeed must not be used (it has no footer).
// Memory: about one row group of compressed pages, plus one open page per column.
// Not thread-safe; one writer per file.
class ParquetWriter {
 public:
  static Result<std::unique_ptr<ParquetWriter>> Open(const std::string& path, Schema schema,
                                                     ParquetWriterOptions options = {});
  ~ParquetWriter();
  ParquetWriter(const ParquetWriter&) = delete;
  ParquetWriter& operator=(const ParquetWriter&) = delete;

  // The batch's schema must equal the writer's.
  Status Append(const ColumnBatch& batch);
  Result<ParquetFileSummary> Close();

 private:
  class Impl;
  explicit ParquetWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct RowGroupInfo {
  int64_t num_rows = 0;
  int64_t compressed_bytes = 0;
  std::vector<ColumnStats> columns;      // in schema order
  std::vector<bool> dictionary_encoded;  // per column: the chunk has a dictionary page
};

// Keeps a row group when the [min, max] of `column` may hold a value within
// [lower, upper] (monostate bound = unbounded). Bounds use the column's StatValue type.
struct ColumnRange {
  std::string column;
  StatValue lower;
  StatValue upper;
};

// Reads one Parquet file with pread (no mmap, so a file truncated underneath gives an error,
// not SIGBUS). Opening validates the footer; every offset is checked against the file size,
// so a damaged file gives Corruption naming it, never a crash. Reads flat schemas of the
// types above, PLAIN and dictionary encodings, data page v1 and v2, uncompressed or ZSTD;
// micro/nanosecond timestamps of other writers are read as milliseconds (rounded down).
// Not thread-safe (it reuses I/O and decompression buffers).
class ParquetReader {
 public:
  static Result<std::unique_ptr<ParquetReader>> Open(const std::string& path);
  ~ParquetReader();
  ParquetReader(const ParquetReader&) = delete;
  ParquetReader& operator=(const ParquetReader&) = delete;

  const Schema& schema() const;
  int64_t num_rows() const;
  int num_row_groups() const;
  const RowGroupInfo& row_group(int index) const;
  const std::vector<std::pair<std::string, std::string>>& key_value_metadata() const;

  // Row groups whose statistics may satisfy every range (all row groups when none given).
  // A row group without statistics for a column is kept.
  Result<std::vector<int>> SelectRowGroups(const std::vector<ColumnRange>& ranges) const;

  // Reads the given columns (schema indices, in the order given) of one row group.
  Result<ColumnBatch> ReadRowGroup(int index, const std::vector<int>& columns);
  Result<ColumnBatch> ReadRowGroup(int index);  // all columns
  // Like ReadRowGroup, into *out, reusing its memory when it already holds the projected
  // schema: the way to scan many row groups without allocating for each.
  Status ReadRowGroupInto(int index, const std::vector<int>& columns, ColumnBatch* out);

 private:
  class Impl;
  explicit ParquetReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Orders two statistics values of the same alternative (strings bytewise unsigned).
// Returns <0, 0, >0; values of different alternatives compare by alternative index.
int CompareStatValues(const StatValue& a, const StatValue& b);

}  // namespace tidemark::lake
