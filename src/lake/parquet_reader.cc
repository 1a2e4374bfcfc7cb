// ParquetReader: reads the footer, validates it against the file size once, then preads
// requested column chunks into a reused buffer and decodes them page by page into Columns.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "common/files.h"
#include "lake/column_stats_internal.h"
#include "lake/encoding_internal.h"
#include "lake/parquet.h"
#include "lake/parquet_metadata_internal.h"

namespace tidemark::lake {

namespace {

Result<ColumnType> MapColumnType(const pq::SchemaElement& e) {
  using LK = pq::LogicalType::Kind;
  const auto& lt = e.logical_type;
  const std::string what = "column " + e.name + ": ";
  switch (*e.type) {
    case pq::Type::kBoolean:
      return ColumnType::kBoolean;
    case pq::Type::kInt32:
      if (lt.kind == LK::kInteger && lt.int_signed) return ColumnType::kInt32;
      if (lt.kind == LK::kNone &&
          (!e.converted_type_raw || e.converted_type == pq::ConvertedType::kInt32)) {
        return ColumnType::kInt32;
      }
      return Status::InvalidArgument(what + "INT32 with an unsupported annotation");
    case pq::Type::kInt64:
      // Micro- and nanosecond timestamps (DuckDB's and Spark's default) are read as
      // milliseconds; see TimestampDivisor.
      if (lt.kind == LK::kTimestamp) return ColumnType::kTimestampMillis;
      if (lt.kind == LK::kInteger && lt.int_signed) return ColumnType::kInt64;
      if (lt.kind == LK::kNone) {
        if (e.converted_type == pq::ConvertedType::kTimestampMillis ||
            e.converted_type == pq::ConvertedType::kTimestampMicros) {
          return ColumnType::kTimestampMillis;
        }
        if (!e.converted_type_raw || e.converted_type == pq::ConvertedType::kInt64)
          return ColumnType::kInt64;
      }
      return Status::InvalidArgument(what + "INT64 with an unsupported annotation");
    case pq::Type::kDouble:
      return ColumnType::kDouble;
    case pq::Type::kByteArray:
      return ColumnType::kString;
    default:
      return Status::InvalidArgument(what + "physical type " +
                                     std::to_string(static_cast<int>(*e.type)) + " unsupported");
  }
}

// What a stored timestamp is divided by (rounding down) to give epoch milliseconds.
int64_t TimestampDivisor(const pq::SchemaElement& e) {
  if (e.logical_type.kind == pq::LogicalType::Kind::kTimestamp) {
    switch (e.logical_type.unit) {
      case pq::LogicalType::TimeUnit::kMillis:
        return 1;
      case pq::LogicalType::TimeUnit::kMicros:
        return 1000;
      case pq::LogicalType::TimeUnit::kNanos:
        return 1'000'000;
    }
  }
  return e.converted_type == pq::ConvertedType::kTimestampMicros ? 1000 : 1;
}

int64_t FloorDiv(int64_t v, int64_t d) {
  const int64_t q = v / d;
  return (v % d != 0 && v < 0) ? q - 1 : q;
}

pq::Type PhysicalType(ColumnType t) {
  switch (t) {
    case ColumnType::kBoolean:
      return pq::Type::kBoolean;
    case ColumnType::kInt32:
      return pq::Type::kInt32;
    case ColumnType::kInt64:
    case ColumnType::kTimestampMillis:
      return pq::Type::kInt64;
    case ColumnType::kDouble:
      return pq::Type::kDouble;
    case ColumnType::kString:
      return pq::Type::kByteArray;
  }
  return pq::Type::kInt64;
}

// Index of the StatValue alternative a column's statistics use.
size_t StatAlternative(ColumnType t) {
  switch (t) {
    case ColumnType::kBoolean:
      return 1;
    case ColumnType::kInt32:
      return 2;
    case ColumnType::kInt64:
    case ColumnType::kTimestampMillis:
      return 3;
    case ColumnType::kDouble:
      return 4;
    case ColumnType::kString:
      return 5;
  }
  return 0;
}

}  // namespace

// Bounds that keep a hostile file from making the reader allocate without limit. Real pages
// are far smaller (tidemark writes ~1 MiB pages; other writers similar).
constexpr size_t kMaxPageValues = size_t{1} << 26;
constexpr size_t kMaxDecodedPageBytes = size_t{1} << 31;

// Fills Column storage in bulk; the one place outside Column that touches its internals.
class ColumnDecoder {
 public:
  template <typename Container>
  static void GrowFor(Container& v, size_t needed) {
    if (v.capacity() < needed) v.reserve(std::max(needed, v.capacity() * 2));
  }

  // Appends `rows` rows whose validity is `def` (nullptr = all present).
  static void AppendValidity(Column& c, const uint8_t* def, size_t rows, size_t present) {
    const size_t nulls = rows - present;
    if (nulls > 0 || c.null_count_ > 0) {
      if (c.null_count_ == 0) c.validity_.assign(c.size_, 1);
      if (def != nullptr) {
        c.validity_.insert(c.validity_.end(), def, def + rows);
      } else {
        c.validity_.insert(c.validity_.end(), rows, 1);
      }
    }
    c.null_count_ += nulls;
    c.size_ += rows;
  }

  // Spreads `present` values at the tail of v (starting at base) over `rows` slots by def.
  template <typename T>
  static void Spread(HugeVector<T>& v, size_t base, const uint8_t* def, size_t rows,
                     size_t present) {
    if (def == nullptr || present == rows) return;
    size_t j = present;
    for (size_t i = rows; i-- > 0;) {
      if (def[i] != 0) {
        v[base + i] = v[base + --j];
      } else {
        v[base + i] = T{};
      }
    }
  }

  // Rows from `first` on, rounded down to a coarser unit (micro/nanosecond timestamps).
  static void DivideInt64(Column& c, size_t first, int64_t divisor) {
    for (size_t i = first; i < c.i64_.size(); ++i) c.i64_[i] = FloorDiv(c.i64_[i], divisor);
  }

  template <typename T>
  static HugeVector<T>& Storage(Column& c) {
    if constexpr (std::is_same_v<T, int32_t>) return c.i32_;
    if constexpr (std::is_same_v<T, int64_t>) return c.i64_;
    if constexpr (std::is_same_v<T, double>) return c.f64_;
    if constexpr (std::is_same_v<T, uint8_t>) return c.u8_;
  }

  template <typename T>
  static Status PlainFixed(Column& c, const uint8_t* data, size_t size, const uint8_t* def,
                           size_t rows, size_t present) {
    if (size < present * sizeof(T)) {
      return Status::Corruption("PLAIN page holds " + std::to_string(size) + " bytes for " +
                                std::to_string(present) + " values");
    }
    HugeVector<T>& v = Storage<T>(c);
    const size_t base = v.size();
    v.resize(base + rows);
    std::memcpy(v.data() + base, data, present * sizeof(T));
    Spread(v, base, def, rows, present);
    AppendValidity(c, def, rows, present);
    return Status::Ok();
  }

  static Status PlainBooleans(Column& c, const uint8_t* data, size_t size, const uint8_t* def,
                              size_t rows, size_t present) {
    const size_t base = c.u8_.size();
    c.u8_.resize(base + rows);
    RETURN_IF_ERROR(DecodePlainBooleans(data, size, present, c.u8_.data() + base));
    Spread(c.u8_, base, def, rows, present);
    AppendValidity(c, def, rows, present);
    return Status::Ok();
  }

  static Status PlainStrings(Column& c, const uint8_t* data, size_t size, const uint8_t* def,
                             size_t rows, size_t present) {
    if (present > size / 4) {  // every value has a 4-byte length
      return Status::Corruption("PLAIN page of " + std::to_string(size) + " bytes cannot hold " +
                                std::to_string(present) + " strings");
    }
    // PLAIN strings are at most the page's bytes: size the buffers once (growing
    // geometrically, since exact growth page after page would copy the column each time),
    // write through pointers, then trim.
    const size_t base = c.bytes_.size();
    GrowFor(c.bytes_, base + size);
    GrowFor(c.offsets_, c.offsets_.size() + rows);
    c.bytes_.resize(base + size);
    const size_t obase = c.offsets_.size();
    c.offsets_.resize(obase + rows);
    char* dst = c.bytes_.data();
    uint64_t* o = c.offsets_.data() + obase;
    size_t pos = base;
    const uint8_t* p = data;
    const uint8_t* end = data + size;
    for (size_t i = 0; i < rows; ++i) {
      if (def == nullptr || def[i] != 0) {
        if (end - p < 4) {
          c.bytes_.resize(base);
          c.offsets_.resize(obase);
          return Status::Corruption("PLAIN string length runs past the page");
        }
        uint32_t len;
        std::memcpy(&len, p, 4);
        p += 4;
        if (static_cast<size_t>(end - p) < len) {
          c.bytes_.resize(base);
          c.offsets_.resize(obase);
          return Status::Corruption("PLAIN string of " + std::to_string(len) +
                                    " bytes runs past the page");
        }
        std::memcpy(dst + pos, p, len);
        pos += len;
        p += len;
      }
      o[i] = pos;
    }
    c.bytes_.resize(pos);
    AppendValidity(c, def, rows, present);
    return Status::Ok();
  }

  // Dictionary-encoded page: indices[0..present) into dict (a column of the same type).
  static Status Gather(Column& c, const Column& dict, const uint32_t* indices, const uint8_t* def,
                       size_t rows, size_t present) {
    const uint32_t dict_size = static_cast<uint32_t>(dict.size());
    for (size_t k = 0; k < present; ++k) {
      if (indices[k] >= dict_size) {
        return Status::Corruption("dictionary index " + std::to_string(indices[k]) +
                                  " beyond a dictionary of " + std::to_string(dict_size));
      }
    }
    switch (c.type_) {
      case ColumnType::kString: {
        const auto& doff = dict.offsets_;
        const char* dbytes = dict.bytes_.data();
        size_t total = 0;
        for (size_t k = 0; k < present; ++k) total += doff[indices[k] + 1] - doff[indices[k]];
        if (total > kMaxDecodedPageBytes) {
          return Status::ResourceExhausted("dictionary page expands to " + std::to_string(total) +
                                           " bytes, above the 2 GiB bound");
        }
        // Short values (most dictionary strings) are copied as one fixed 16-byte block, which
        // compiles to two moves instead of a memcpy call; the output has 16 bytes of slack and
        // the block only reads inside the dictionary's bytes.
        constexpr size_t kBlock = 16;
        size_t pos = c.bytes_.size();
        c.bytes_.resize(pos + total + kBlock);
        char* dst = c.bytes_.data();
        const size_t dict_bytes = dict.bytes_.size();
        const size_t obase = c.offsets_.size();
        c.offsets_.resize(obase + rows);
        uint64_t* o = c.offsets_.data() + obase;
        size_t k = 0;
        for (size_t i = 0; i < rows; ++i) {
          if (def == nullptr || def[i] != 0) {
            const uint32_t d = indices[k++];
            const size_t len = doff[d + 1] - doff[d];
            if (len <= kBlock && doff[d] + kBlock <= dict_bytes) {
              std::memcpy(dst + pos, dbytes + doff[d], kBlock);
            } else {
              std::memcpy(dst + pos, dbytes + doff[d], len);
            }
            pos += len;
          }
          o[i] = pos;
        }
        c.bytes_.resize(pos);
        break;
      }
      case ColumnType::kBoolean:
        GatherFixed(c.u8_, dict.u8_, indices, def, rows, present);
        break;
      case ColumnType::kInt32:
        GatherFixed(c.i32_, dict.i32_, indices, def, rows, present);
        break;
      case ColumnType::kInt64:
      case ColumnType::kTimestampMillis:
        GatherFixed(c.i64_, dict.i64_, indices, def, rows, present);
        break;
      case ColumnType::kDouble:
        GatherFixed(c.f64_, dict.f64_, indices, def, rows, present);
        break;
    }
    AppendValidity(c, def, rows, present);
    return Status::Ok();
  }

  template <typename T>
  static void GatherFixed(HugeVector<T>& v, const HugeVector<T>& dict, const uint32_t* indices,
                          const uint8_t* def, size_t rows, size_t present) {
    const size_t base = v.size();
    v.resize(base + rows);
    T* dst = v.data() + base;
    for (size_t k = 0; k < present; ++k) dst[k] = dict[indices[k]];
    Spread(v, base, def, rows, present);
  }
};

class ParquetReader::Impl {
 public:
  explicit Impl(std::string path) : path_(std::move(path)) {}
  ~Impl() {
    if (fd_ >= 0) ::close(fd_);
    if (dctx_ != nullptr) ZSTD_freeDCtx(dctx_);
  }

  Status Open() {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      if (errno == ENOENT) return Status::NotFound(path_ + ": no such file");
      return ErrnoStatus("open(" + path_ + ")", errno);
    }
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoStatus("fstat(" + path_ + ")", errno);
    size_ = static_cast<size_t>(st.st_size);
    if (size_ < 12) {
      return Corrupt("file of " + std::to_string(size_) +
                     " bytes is too small for Parquet (magic + footer need 12)");
    }
    uint8_t head[4], tail[8];
    RETURN_IF_ERROR(ReadAt(0, 4, head));
    RETURN_IF_ERROR(ReadAt(size_ - 8, 8, tail));
    if (std::memcmp(head, "PAR1", 4) != 0) return Corrupt("no PAR1 magic at the start");
    if (std::memcmp(tail + 4, "PARE", 4) == 0) {
      return Status::InvalidArgument(path_ + ": encrypted Parquet footers are not supported");
    }
    if (std::memcmp(tail + 4, "PAR1", 4) != 0) {
      return Corrupt("no PAR1 magic at the end (truncated or unfinished file?)");
    }
    uint32_t footer_len;
    std::memcpy(&footer_len, tail, 4);
    if (footer_len > size_ - 12) {
      return Corrupt("footer length " + std::to_string(footer_len) + " exceeds the file (" +
                     std::to_string(size_) + " bytes)");
    }
    footer_begin_ = size_ - 8 - footer_len;
    std::vector<uint8_t> footer(footer_len);
    RETURN_IF_ERROR(ReadAt(footer_begin_, footer_len, footer.data()));
    auto meta = pq::ParseFileMetaData(footer.data(), footer.size());
    if (!meta.ok()) return Corrupt(meta.status().message());
    meta_ = std::move(meta).value();
    RETURN_IF_ERROR(BuildSchema());
    RETURN_IF_ERROR(BuildRowGroups());
    for (const auto& kv : meta_.key_value_metadata) kv_.emplace_back(kv.key, kv.value.value_or(""));
    dctx_ = ZSTD_createDCtx();
    if (dctx_ == nullptr) return Status::ResourceExhausted("ZSTD_createDCtx failed");
    return Status::Ok();
  }

  const Schema& schema() const { return schema_; }
  int64_t num_rows() const { return meta_.num_rows; }
  const std::vector<RowGroupInfo>& row_groups() const { return row_groups_; }
  const std::vector<std::pair<std::string, std::string>>& kv() const { return kv_; }

  Result<std::vector<int>> SelectRowGroups(const std::vector<ColumnRange>& ranges) const {
    std::vector<int> columns;
    for (const ColumnRange& r : ranges) {
      const int c = schema_.FindField(r.column);
      if (c < 0) return Status::NotFound(path_ + ": no column " + r.column);
      const size_t want = StatAlternative(schema_.fields[c].type);
      if ((r.lower.index() != 0 && r.lower.index() != want) ||
          (r.upper.index() != 0 && r.upper.index() != want)) {
        return Status::InvalidArgument("range on column " + r.column + " (" +
                                       std::string(ColumnTypeName(schema_.fields[c].type)) +
                                       ") has bounds of another type");
      }
      columns.push_back(c);
    }
    std::vector<int> selected;
    for (size_t g = 0; g < row_groups_.size(); ++g) {
      const RowGroupInfo& rg = row_groups_[g];
      bool keep = true;
      for (size_t i = 0; i < ranges.size() && keep; ++i) {
        const ColumnStats& s = rg.columns[columns[i]];
        if (s.null_count && *s.null_count >= rg.num_rows) {
          keep = false;  // only NULLs: no value can fall in the range
          continue;
        }
        if (ranges[i].lower.index() != 0 && s.max.index() != 0 &&
            CompareStatValues(s.max, ranges[i].lower) < 0) {
          keep = false;
        }
        if (ranges[i].upper.index() != 0 && s.min.index() != 0 &&
            CompareStatValues(s.min, ranges[i].upper) > 0) {
          keep = false;
        }
      }
      if (keep) selected.push_back(static_cast<int>(g));
    }
    return selected;
  }

  Status ReadRowGroupInto(int index, const std::vector<int>& columns, ColumnBatch* out) {
    if (index < 0 || static_cast<size_t>(index) >= row_groups_.size()) {
      return Status::OutOfRange(path_ + ": row group " + std::to_string(index) + " of " +
                                std::to_string(row_groups_.size()));
    }
    Schema projected;
    for (int c : columns) {
      if (c < 0 || static_cast<size_t>(c) >= schema_.fields.size()) {
        return Status::OutOfRange(path_ + ": column " + std::to_string(c) + " of " +
                                  std::to_string(schema_.fields.size()));
      }
      projected.fields.push_back(schema_.fields[c]);
    }
    if (out->schema() == projected) {
      out->Clear();
    } else {
      *out = ColumnBatch(std::move(projected));
    }
    for (size_t i = 0; i < columns.size(); ++i) {
      Status s = ReadColumnChunk(index, columns[i], out->column(i));
      if (!s.ok()) {
        out->Clear();
        return Status(s.code(), path_ + ": row group " + std::to_string(index) + ", column " +
                                    schema_.fields[columns[i]].name + ": " + s.message());
      }
    }
    return Status::Ok();
  }

 private:
  Status Corrupt(const std::string& what) const { return Status::Corruption(path_ + ": " + what); }

  Status ReadAt(uint64_t offset, size_t n, uint8_t* dst) const {
    size_t done = 0;
    while (done < n) {
      const ssize_t r = ::pread(fd_, dst + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("pread(" + path_ + ")", errno);
      }
      if (r == 0) {
        return Corrupt("file ends at byte " + std::to_string(offset + done) + ", " +
                       std::to_string(n - done) + " bytes short (changed while open?)");
      }
      done += static_cast<size_t>(r);
    }
    return Status::Ok();
  }

  Status BuildSchema() {
    if (meta_.schema.empty()) return Corrupt("footer has an empty schema");
    const pq::SchemaElement& root = meta_.schema[0];
    const size_t n = static_cast<size_t>(std::max(0, root.num_children.value_or(0)));
    if (meta_.schema.size() != n + 1) {
      return Status::InvalidArgument(path_ + ": nested schemas are not supported (root has " +
                                     std::to_string(n) + " children, schema has " +
                                     std::to_string(meta_.schema.size()) + " elements)");
    }
    for (size_t i = 1; i <= n; ++i) {
      const pq::SchemaElement& e = meta_.schema[i];
      if (!e.type || e.num_children.value_or(0) > 0) {
        return Status::InvalidArgument(path_ + ": nested column " + e.name + " is not supported");
      }
      if (e.repetition == pq::Repetition::kRepeated) {
        return Status::InvalidArgument(path_ + ": repeated column " + e.name + " is not supported");
      }
      auto type = MapColumnType(e);
      if (!type.ok()) return Status(type.status().code(), path_ + ": " + type.status().message());
      Field f;
      f.name = e.name;
      f.type = *type;
      f.nullable = e.repetition != pq::Repetition::kRequired;
      f.field_id = e.field_id.value_or(-1);
      schema_.fields.push_back(std::move(f));
      timestamp_divisor_.push_back(TimestampDivisor(e));
    }
    return Status::Ok();
  }

  Status BuildRowGroups() {
    int64_t total_rows = 0;
    for (size_t g = 0; g < meta_.row_groups.size(); ++g) {
      const pq::RowGroup& rg = meta_.row_groups[g];
      const std::string where = "row group " + std::to_string(g) + ": ";
      if (rg.columns.size() != schema_.fields.size()) {
        return Corrupt(where + std::to_string(rg.columns.size()) + " column chunks for " +
                       std::to_string(schema_.fields.size()) + " columns");
      }
      if (rg.num_rows < 0) return Corrupt(where + "negative row count");
      total_rows += rg.num_rows;
      RowGroupInfo info;
      info.num_rows = rg.num_rows;
      for (size_t c = 0; c < rg.columns.size(); ++c) {
        const pq::ColumnChunk& cc = rg.columns[c];
        const Field& f = schema_.fields[c];
        const std::string cwhere = where + "column " + f.name + ": ";
        if (!cc.has_meta_data) return Corrupt(cwhere + "no column metadata");
        const pq::ColumnMetaData& m = cc.meta_data;
        if (m.type != PhysicalType(f.type))
          return Corrupt(cwhere + "physical type differs from schema");
        if (m.codec != pq::Codec::kUncompressed && m.codec != pq::Codec::kZstd) {
          return Status::InvalidArgument(path_ + ": " + cwhere + "compression codec " +
                                         std::to_string(static_cast<int>(m.codec)) +
                                         " is not supported (only none and ZSTD)");
        }
        const int64_t start = ChunkStart(m);
        if (start < 4 || m.total_compressed_size < 0 ||
            m.total_compressed_size > static_cast<int64_t>(footer_begin_) - start) {
          return Corrupt(cwhere + "chunk at byte " + std::to_string(start) + " of " +
                         std::to_string(m.total_compressed_size) +
                         " bytes lies outside the data region");
        }
        if (m.num_values != rg.num_rows) {
          return Corrupt(cwhere + std::to_string(m.num_values) + " values for " +
                         std::to_string(rg.num_rows) + " rows");
        }
        info.compressed_bytes += m.total_compressed_size;
        ColumnStats stats;
        if (m.statistics) {
          const pq::Statistics& s = *m.statistics;
          stats.null_count = s.null_count;
          std::optional<std::string> lo = s.min_value, hi = s.max_value;
          if ((!lo || !hi) && f.type != ColumnType::kString && f.type != ColumnType::kBoolean) {
            lo = s.legacy_min;  // numeric order is the same in the deprecated fields
            hi = s.legacy_max;
          }
          if (lo && hi) {
            auto dlo = DecodeStatValue(f.type, *lo);
            auto dhi = DecodeStatValue(f.type, *hi);
            if (dlo && dhi) {
              stats.min = std::move(*dlo);
              stats.max = std::move(*dhi);
              if (timestamp_divisor_[c] != 1) {  // flooring keeps both bounds valid
                stats.min = FloorDiv(std::get<int64_t>(stats.min), timestamp_divisor_[c]);
                stats.max = FloorDiv(std::get<int64_t>(stats.max), timestamp_divisor_[c]);
              }
              stats.min_exact = s.is_min_value_exact.value_or(true);
              stats.max_exact = s.is_max_value_exact.value_or(true);
            }
          }
        }
        info.columns.push_back(std::move(stats));
        info.dictionary_encoded.push_back(m.dictionary_page_offset.has_value() &&
                                          *m.dictionary_page_offset > 0);
      }
      row_groups_.push_back(std::move(info));
    }
    if (total_rows != meta_.num_rows) {
      return Corrupt("footer says " + std::to_string(meta_.num_rows) + " rows, row groups hold " +
                     std::to_string(total_rows));
    }
    return Status::Ok();
  }

  static int64_t ChunkStart(const pq::ColumnMetaData& m) {
    // Some writers set dictionary_page_offset to 0 when there is no dictionary.
    if (m.dictionary_page_offset && *m.dictionary_page_offset > 0 &&
        *m.dictionary_page_offset < m.data_page_offset) {
      return *m.dictionary_page_offset;
    }
    return m.data_page_offset;
  }

  // Returns the page body, decompressed when the codec says so.
  Result<std::pair<const uint8_t*, size_t>> PageBody(pq::Codec codec, const uint8_t* body,
                                                     size_t compressed, size_t uncompressed) {
    if (codec == pq::Codec::kUncompressed) {
      if (compressed != uncompressed) {
        return Status::Corruption("uncompressed page sizes differ (" + std::to_string(compressed) +
                                  " vs " + std::to_string(uncompressed) + ")");
      }
      return std::pair{body, compressed};
    }
    if (buffer_.size() < uncompressed) buffer_.resize(uncompressed);
    const size_t n = ZSTD_decompressDCtx(dctx_, buffer_.data(), uncompressed, body, compressed);
    if (ZSTD_isError(n)) {
      return Status::Corruption(std::string("ZSTD page does not decompress: ") +
                                ZSTD_getErrorName(n));
    }
    if (n != uncompressed) {
      return Status::Corruption("ZSTD page decompressed to " + std::to_string(n) +
                                " bytes, header says " + std::to_string(uncompressed));
    }
    return std::pair{static_cast<const uint8_t*>(buffer_.data()), n};
  }

  // Decodes one data page's levels + values (already decompressed) into column.
  Status DecodeValues(Column& column, const Field& field, pq::Encoding encoding,
                      const uint8_t* data, size_t size, const uint8_t* def, size_t rows,
                      size_t present, const Column* dict) {
    if (encoding == pq::Encoding::kPlain) {
      switch (field.type) {
        case ColumnType::kBoolean:
          return ColumnDecoder::PlainBooleans(column, data, size, def, rows, present);
        case ColumnType::kInt32:
          return ColumnDecoder::PlainFixed<int32_t>(column, data, size, def, rows, present);
        case ColumnType::kInt64:
        case ColumnType::kTimestampMillis:
          return ColumnDecoder::PlainFixed<int64_t>(column, data, size, def, rows, present);
        case ColumnType::kDouble:
          return ColumnDecoder::PlainFixed<double>(column, data, size, def, rows, present);
        case ColumnType::kString:
          return ColumnDecoder::PlainStrings(column, data, size, def, rows, present);
      }
    }
    if (encoding == pq::Encoding::kDeltaBinaryPacked &&
        (field.type == ColumnType::kInt64 || field.type == ColumnType::kTimestampMillis)) {
      deltas_.resize(present);
      RETURN_IF_ERROR(DecodeDeltaBinaryPacked(data, size, present, deltas_.data()));
      return ColumnDecoder::PlainFixed<int64_t>(column, reinterpret_cast<const uint8_t*>(deltas_.data()),
                                                present * sizeof(int64_t), def, rows, present);
    }
    if (encoding == pq::Encoding::kRleDictionary || encoding == pq::Encoding::kPlainDictionary) {
      if (dict == nullptr)
        return Status::Corruption("dictionary-encoded page without a dictionary page");
      if (present > 0 && size < 1) return Status::Corruption("dictionary page lacks its bit width");
      indices_.resize(present);
      if (present > 0) {
        RETURN_IF_ERROR(DecodeRleBitPacked(data + 1, size - 1, data[0], present, indices_.data()));
      }
      return ColumnDecoder::Gather(column, *dict, indices_.data(), def, rows, present);
    }
    return Status::InvalidArgument("encoding " + std::to_string(static_cast<int>(encoding)) +
                                   " is not supported");
  }

  Status ReadColumnChunk(int group, int column_index, Column& column) {
    const Field& field = schema_.fields[column_index];
    const pq::ColumnMetaData& m = meta_.row_groups[group].columns[column_index].meta_data;
    const size_t rows_expected = static_cast<size_t>(m.num_values);
    const int64_t start = ChunkStart(m);
    const size_t chunk_size = static_cast<size_t>(m.total_compressed_size);
    if (chunk_.size() < chunk_size) chunk_.resize(chunk_size);
    RETURN_IF_ERROR(ReadAt(static_cast<uint64_t>(start), chunk_size, chunk_.data()));
    const uint8_t* p = chunk_.data();
    const uint8_t* end = p + chunk_size;
    column.Reserve(std::min<size_t>(rows_expected, size_t{1} << 24));  // untrusted count
    bool have_dictionary = false;
    const size_t first_row = column.size();
    size_t rows_read = 0;
    while (rows_read < rows_expected) {
      if (p >= end) {
        return Status::Corruption("chunk ends after " + std::to_string(rows_read) + " of " +
                                  std::to_string(rows_expected) + " values");
      }
      size_t header_size = 0;
      const int64_t page_offset = start + (p - chunk_.data());
      auto header = pq::ParsePageHeader(p, static_cast<size_t>(end - p), &header_size);
      if (!header.ok()) {
        return Status::Corruption("page at byte " + std::to_string(page_offset) + ": " +
                                  header.status().message());
      }
      const pq::PageHeader& h = *header;
      p += header_size;
      if (h.compressed_page_size < 0 || h.uncompressed_page_size < 0 ||
          h.compressed_page_size > end - p) {
        return Status::Corruption("page at byte " + std::to_string(page_offset) +
                                  " has sizes outside its chunk");
      }
      const uint8_t* body = p;
      const size_t compressed = static_cast<size_t>(h.compressed_page_size);
      p += compressed;
      if (h.type == pq::PageType::kDictionaryPage) {
        if (!h.dictionary_page_header)
          return Status::Corruption("dictionary page without its header");
        ASSIGN_OR_RETURN(auto page, PageBody(m.codec, body, compressed,
                                             static_cast<size_t>(h.uncompressed_page_size)));
        const size_t n = static_cast<size_t>(std::max(0, h.dictionary_page_header->num_values));
        if (n > page.second) {  // every PLAIN value takes at least one byte (booleans aside)
          if (field.type != ColumnType::kBoolean || n > page.second * 8) {
            return Status::Corruption("dictionary page of " + std::to_string(page.second) +
                                      " bytes claims " + std::to_string(n) + " values");
          }
        }
        if (dictionary_.type() == field.type) {
          dictionary_.Clear();
        } else {
          dictionary_ = Column(field.type);
        }
        RETURN_IF_ERROR(DecodeValues(dictionary_, field, pq::Encoding::kPlain, page.first,
                                     page.second, nullptr, n, n, nullptr));
        have_dictionary = true;
        continue;
      }
      const uint8_t* levels_data = nullptr;
      size_t levels_size = 0;
      const uint8_t* values_data = nullptr;
      size_t values_size = 0;
      size_t rows = 0;
      pq::Encoding encoding;
      if (h.type == pq::PageType::kDataPage) {
        if (!h.data_page_header) return Status::Corruption("data page without its header");
        ASSIGN_OR_RETURN(auto page, PageBody(m.codec, body, compressed,
                                             static_cast<size_t>(h.uncompressed_page_size)));
        rows = static_cast<size_t>(std::max(0, h.data_page_header->num_values));
        encoding = h.data_page_header->encoding;
        values_data = page.first;
        values_size = page.second;
        if (field.nullable) {
          if (values_size < 4) return Status::Corruption("data page too short for its levels");
          uint32_t len;
          std::memcpy(&len, values_data, 4);
          if (len > values_size - 4)
            return Status::Corruption("definition levels run past the page");
          levels_data = values_data + 4;
          levels_size = len;
          values_data += 4 + len;
          values_size -= 4 + len;
        }
      } else if (h.type == pq::PageType::kDataPageV2) {
        if (!h.data_page_header_v2) return Status::Corruption("data page v2 without its header");
        const pq::DataPageHeaderV2& v2 = *h.data_page_header_v2;
        rows = static_cast<size_t>(std::max(0, v2.num_values));
        encoding = v2.encoding;
        const int64_t levels = static_cast<int64_t>(v2.definition_levels_byte_length) +
                               v2.repetition_levels_byte_length;
        if (v2.definition_levels_byte_length < 0 || v2.repetition_levels_byte_length < 0 ||
            levels > static_cast<int64_t>(compressed) || levels > h.uncompressed_page_size) {
          return Status::Corruption("data page v2 levels exceed the page");
        }
        levels_data = body + v2.repetition_levels_byte_length;
        levels_size = static_cast<size_t>(v2.definition_levels_byte_length);
        if (!field.nullable) levels_data = nullptr;
        const uint8_t* vbody = body + levels;
        const size_t vcompressed = compressed - static_cast<size_t>(levels);
        const size_t vuncompressed = static_cast<size_t>(h.uncompressed_page_size - levels);
        ASSIGN_OR_RETURN(auto page, PageBody(v2.is_compressed ? m.codec : pq::Codec::kUncompressed,
                                             vbody, vcompressed, vuncompressed));
        values_data = page.first;
        values_size = page.second;
      } else {
        continue;  // index pages and unknown page types carry no values
      }
      if (rows > kMaxPageValues) {
        return Status::Corruption("page at byte " + std::to_string(page_offset) + " claims " +
                                  std::to_string(rows) + " values");
      }
      if (rows > rows_expected - rows_read) {
        return Status::Corruption("pages hold more values than the chunk's " +
                                  std::to_string(rows_expected));
      }
      size_t present = rows;
      const uint8_t* def = nullptr;
      if (levels_data != nullptr) {
        levels_.resize(rows);
        RETURN_IF_ERROR(DecodeRleBitPacked(levels_data, levels_size, 1, rows, levels_.data()));
        present = 0;
        for (size_t i = 0; i < rows; ++i) present += levels_[i];
        if (present < rows) def = levels_.data();
      }
      RETURN_IF_ERROR(DecodeValues(column, field, encoding, values_data, values_size, def, rows,
                                   present, have_dictionary ? &dictionary_ : nullptr));
      rows_read += rows;
    }
    if (timestamp_divisor_[column_index] != 1) {
      ColumnDecoder::DivideInt64(column, first_row, timestamp_divisor_[column_index]);
    }
    return Status::Ok();
  }

  const std::string path_;
  int fd_ = -1;
  size_t size_ = 0;
  size_t footer_begin_ = 0;
  pq::FileMetaData meta_;
  Schema schema_;
  std::vector<RowGroupInfo> row_groups_;
  std::vector<int64_t> timestamp_divisor_;  // per column; 1 unless micro/nano timestamps
  std::vector<std::pair<std::string, std::string>> kv_;
  ZSTD_DCtx* dctx_ = nullptr;
  std::vector<uint8_t> chunk_;   // the column chunk being decoded, as stored
  std::vector<uint8_t> buffer_;  // its current page, decompressed
  Column dictionary_{ColumnType::kString};
  std::vector<uint8_t> levels_;
  std::vector<uint32_t> indices_;
  std::vector<int64_t> deltas_;  // a DELTA_BINARY_PACKED page, decoded
};

Result<std::unique_ptr<ParquetReader>> ParquetReader::Open(const std::string& path) {
  auto impl = std::make_unique<Impl>(path);
  RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<ParquetReader>(new ParquetReader(std::move(impl)));
}

ParquetReader::ParquetReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ParquetReader::~ParquetReader() = default;
const Schema& ParquetReader::schema() const { return impl_->schema(); }
int64_t ParquetReader::num_rows() const { return impl_->num_rows(); }
int ParquetReader::num_row_groups() const { return static_cast<int>(impl_->row_groups().size()); }
const RowGroupInfo& ParquetReader::row_group(int index) const {
  return impl_->row_groups()[static_cast<size_t>(index)];
}
const std::vector<std::pair<std::string, std::string>>& ParquetReader::key_value_metadata() const {
  return impl_->kv();
}
Result<std::vector<int>> ParquetReader::SelectRowGroups(
    const std::vector<ColumnRange>& ranges) const {
  return impl_->SelectRowGroups(ranges);
}
Status ParquetReader::ReadRowGroupInto(int index, const std::vector<int>& columns,
                                       ColumnBatch* out) {
  return impl_->ReadRowGroupInto(index, columns, out);
}
Result<ColumnBatch> ParquetReader::ReadRowGroup(int index, const std::vector<int>& columns) {
  ColumnBatch batch{Schema{}};
  RETURN_IF_ERROR(impl_->ReadRowGroupInto(index, columns, &batch));
  return batch;
}
Result<ColumnBatch> ParquetReader::ReadRowGroup(int index) {
  std::vector<int> all(impl_->schema().fields.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  return ReadRowGroup(index, all);
}

}  // namespace tidemark::lake
