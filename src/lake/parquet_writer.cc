// ParquetWriter: buffers rows into row groups and encodes each column chunk as an optional
// dictionary page plus data pages (v1), every page compressed on its own, then the footer.
#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "common/files.h"
#include "lake/column_stats_internal.h"
#include "lake/encoding_internal.h"
#include "lake/parquet.h"
#include "lake/parquet_metadata_internal.h"

namespace tidemark::lake {

namespace {

constexpr char kMagic[4] = {'P', 'A', 'R', '1'};
constexpr const char* kCreatedBy = "tidemark version 0.1.0 (lake parquet writer)";

pq::SchemaElement LeafElement(const Field& f) {
  pq::SchemaElement e;
  e.name = f.name;
  e.repetition = f.nullable ? pq::Repetition::kOptional : pq::Repetition::kRequired;
  if (f.field_id >= 0) e.field_id = f.field_id;
  switch (f.type) {
    case ColumnType::kBoolean: e.type = pq::Type::kBoolean; break;
    case ColumnType::kInt32:
      e.type = pq::Type::kInt32;
      e.converted_type = pq::ConvertedType::kInt32;
      e.logical_type.kind = pq::LogicalType::Kind::kInteger;
      e.logical_type.int_bit_width = 32;
      break;
    case ColumnType::kInt64:
      e.type = pq::Type::kInt64;
      e.converted_type = pq::ConvertedType::kInt64;
      e.logical_type.kind = pq::LogicalType::Kind::kInteger;
      e.logical_type.int_bit_width = 64;
      break;
    case ColumnType::kDouble: e.type = pq::Type::kDouble; break;
    case ColumnType::kString:
      e.type = pq::Type::kByteArray;
      e.converted_type = pq::ConvertedType::kUtf8;
      e.logical_type.kind = pq::LogicalType::Kind::kString;
      break;
    case ColumnType::kTimestampMillis:
      e.type = pq::Type::kInt64;
      e.converted_type = pq::ConvertedType::kTimestampMillis;
      e.logical_type.kind = pq::LogicalType::Kind::kTimestamp;
      e.logical_type.timestamp_utc = true;
      e.logical_type.unit = pq::LogicalType::TimeUnit::kMillis;
      break;
  }
  return e;
}

// Plain-encoded size of one value, the unit of row group and page bounds.
size_t FixedWidth(ColumnType type) {
  switch (type) {
    case ColumnType::kBoolean: return 1;
    case ColumnType::kInt32: return 4;
    case ColumnType::kInt64:
    case ColumnType::kTimestampMillis:
    case ColumnType::kDouble: return 8;
    case ColumnType::kString: return 4;  // plus the bytes
  }
  return 8;
}

template <typename T>
void AppendRaw(T v, std::string* out) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out->append(b, sizeof(T));
}

// Min/max over the present values of rows [begin, end); NaN is skipped (it has no order) and
// zero bounds follow the spec's sign rule (min -0.0, max +0.0).
template <typename T>
void NumericStats(const std::vector<T>& values, const uint8_t* valid, size_t begin, size_t end,
                  ColumnStats* stats) {
  bool any = false;
  T lo{}, hi{};
  if (valid == nullptr && !std::is_floating_point_v<T> && end > begin) {
    const auto [mn, mx] = std::minmax_element(values.begin() + begin, values.begin() + end);
    lo = *mn;
    hi = *mx;
    any = true;
  } else {
    for (size_t i = begin; i < end; ++i) {
      if (valid != nullptr && valid[i] == 0) continue;
      const T v = values[i];
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(v)) continue;
      }
      if (!any) {
        lo = hi = v;
        any = true;
      } else {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
  }
  if (!any) return;
  if constexpr (std::is_floating_point_v<T>) {
    if (lo == 0) lo = -0.0;
    if (hi == 0) hi = +0.0;
  }
  stats->min = lo;
  stats->max = hi;
}

}  // namespace

class ParquetWriter::Impl {
 public:
  Impl(std::string path, Schema schema, ParquetWriterOptions options)
      : path_(std::move(path)),
        schema_(std::move(schema)),
        options_(std::move(options)),
        pending_(schema_) {}

  ~Impl() {
    if (fd_ >= 0) ::close(fd_);
    if (cctx_ != nullptr) ZSTD_freeCCtx(cctx_);
  }

  Status Open() {
    if (schema_.fields.empty()) return Status::InvalidArgument(path_ + ": schema has no fields");
    for (size_t i = 0; i < schema_.fields.size(); ++i) {
      if (schema_.fields[i].name.empty()) {
        return Status::InvalidArgument(path_ + ": field " + std::to_string(i) + " has no name");
      }
      for (size_t j = 0; j < i; ++j) {
        if (schema_.fields[j].name == schema_.fields[i].name) {
          return Status::InvalidArgument(path_ + ": duplicate field " + schema_.fields[i].name);
        }
      }
    }
    if (options_.row_group_max_rows < 1 || options_.row_group_max_rows > INT32_MAX ||
        options_.row_group_max_bytes < 1 || options_.page_max_bytes < 1) {
      return Status::InvalidArgument(path_ + ": row group and page bounds must be positive "
                                     "(and row groups at most 2^31-1 rows)");
    }
    if (options_.compression == Compression::kZstd) {
      cctx_ = ZSTD_createCCtx();
      if (cctx_ == nullptr) return Status::ResourceExhausted("ZSTD_createCCtx failed");
    }
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) return ErrnoStatus("open(" + path_ + ")", errno);
    meta_.schema.reserve(schema_.fields.size() + 1);
    pq::SchemaElement root;
    root.name = "schema";
    root.num_children = static_cast<int32_t>(schema_.fields.size());
    meta_.schema.push_back(root);
    for (const Field& f : schema_.fields) meta_.schema.push_back(LeafElement(f));
    merged_.resize(schema_.fields.size());
    return WriteBytes(std::string_view(kMagic, 4));
  }

  Status Append(const ColumnBatch& batch) {
    RETURN_IF_ERROR(CheckUsable());
    if (!(batch.schema() == schema_)) {
      return Status::InvalidArgument(path_ + ": batch schema differs from the writer's");
    }
    RETURN_IF_ERROR(batch.Validate());
    const size_t rows = batch.num_rows();
    size_t row = 0;
    while (row < rows) {
      const int64_t cap_rows = options_.row_group_max_rows - static_cast<int64_t>(pending_.num_rows());
      const int64_t cap_bytes = options_.row_group_max_bytes - pending_bytes_;
      int64_t bytes = 0;
      const size_t end = RowsFitting(batch, row, cap_rows, cap_bytes, &bytes);
      const bool fills_group = end < rows || static_cast<int64_t>(end - row) >= cap_rows ||
                               bytes >= cap_bytes;
      if (pending_.num_rows() == 0 && fills_group) {
        // A whole row group straight from the caller's batch: no copy.
        RETURN_IF_ERROR(Guard(WriteRowGroup(batch, row, end)));
      } else {
        for (size_t c = 0; c < batch.num_columns(); ++c) {
          pending_.column(c).AppendRange(batch.column(c), row, end);
        }
        pending_bytes_ += bytes;
        if (fills_group) RETURN_IF_ERROR(Guard(FlushPending()));
      }
      row = end;
    }
    return Status::Ok();
  }

  Result<ParquetFileSummary> Close() {
    RETURN_IF_ERROR(CheckUsable());
    RETURN_IF_ERROR(Guard(FlushPending()));
    meta_.created_by = kCreatedBy;
    meta_.type_defined_column_orders = static_cast<int32_t>(schema_.fields.size());
    for (const auto& [k, v] : options_.key_value_metadata) meta_.key_value_metadata.push_back({k, v});
    std::string footer;
    pq::SerializeFileMetaData(meta_, &footer);
    const uint32_t footer_len = static_cast<uint32_t>(footer.size());
    AppendRaw(footer_len, &footer);
    footer.append(kMagic, 4);
    RETURN_IF_ERROR(Guard(WriteBytes(footer)));
    if (::fsync(fd_) != 0) return Guard(ErrnoStatus("fsync(" + path_ + ")", errno));
    if (::close(fd_) != 0) {
      fd_ = -1;
      return Guard(ErrnoStatus("close(" + path_ + ")", errno));
    }
    fd_ = -1;
    const std::string dir = std::filesystem::path(path_).parent_path().string();
    RETURN_IF_ERROR(Guard(FsyncDirectory(dir.empty() ? "." : dir)));
    closed_ = true;
    ParquetFileSummary summary;
    summary.num_rows = meta_.num_rows;
    summary.file_bytes = pos_;
    summary.num_row_groups = static_cast<int64_t>(meta_.row_groups.size());
    summary.columns = merged_;
    for (size_t c = 0; c < merged_.size(); ++c) {
      if (!merged_complete_.empty() && !merged_complete_[c]) {
        summary.columns[c].min = std::monostate{};
        summary.columns[c].max = std::monostate{};
      }
      if (!summary.columns[c].null_count) summary.columns[c].null_count = 0;
    }
    return summary;
  }

 private:
  Status CheckUsable() const {
    if (closed_) return Status::FailedPrecondition(path_ + ": writer already closed");
    if (failed_) return Status::FailedPrecondition(path_ + ": writer failed earlier; file unusable");
    return Status::Ok();
  }
  Status Guard(Status s) {
    if (!s.ok()) failed_ = true;
    return s;
  }

  Status WriteBytes(std::string_view bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write(" + path_ + ")", errno);
      }
      done += static_cast<size_t>(n);
    }
    pos_ += static_cast<int64_t>(bytes.size());
    return Status::Ok();
  }

  // End of the longest run of rows from `begin` that fits the remaining row group capacity
  // (at least one row); *bytes receives its plain-encoded size.
  size_t RowsFitting(const ColumnBatch& batch, size_t begin, int64_t cap_rows, int64_t cap_bytes,
                     int64_t* bytes) const {
    size_t fixed = 0;
    std::vector<const Column*> strings;
    for (size_t c = 0; c < batch.num_columns(); ++c) {
      fixed += FixedWidth(batch.column(c).type());
      if (batch.column(c).type() == ColumnType::kString) strings.push_back(&batch.column(c));
    }
    const size_t limit = std::min<size_t>(batch.num_rows(), begin + static_cast<size_t>(cap_rows));
    auto cost = [&](size_t end) {
      int64_t b = static_cast<int64_t>((end - begin) * fixed);
      for (const Column* s : strings) {
        b += static_cast<int64_t>(s->string_offsets()[end] - s->string_offsets()[begin]);
      }
      return b;
    };
    // cost() grows with end, so binary-search the largest end within the byte capacity.
    size_t lo = begin + 1, hi = limit;
    if (cost(hi) <= cap_bytes) {
      lo = hi;
    } else {
      while (lo < hi) {
        const size_t mid = lo + (hi - lo + 1) / 2;
        if (cost(mid) <= cap_bytes) {
          lo = mid;
        } else {
          hi = mid - 1;
        }
      }
    }
    *bytes = cost(lo);
    return lo;
  }

  Status FlushPending() {
    if (pending_.num_rows() == 0) return Status::Ok();
    RETURN_IF_ERROR(WriteRowGroup(pending_, 0, pending_.num_rows()));
    pending_ = ColumnBatch(schema_);
    pending_bytes_ = 0;
    return Status::Ok();
  }

  Status WriteRowGroup(const ColumnBatch& batch, size_t begin, size_t end) {
    if (meta_.row_groups.size() >= static_cast<size_t>(INT16_MAX)) {
      return Status::ResourceExhausted(path_ + ": more than 32767 row groups in one file");
    }
    pq::RowGroup rg;
    rg.num_rows = static_cast<int64_t>(end - begin);
    rg.file_offset = pos_;
    rg.ordinal = static_cast<int16_t>(meta_.row_groups.size());
    int64_t compressed_total = 0;
    if (merged_complete_.empty()) merged_complete_.assign(schema_.fields.size(), true);
    for (size_t c = 0; c < batch.num_columns(); ++c) {
      chunk_.clear();
      pq::ColumnChunk cc;
      ColumnStats stats;
      RETURN_IF_ERROR(EncodeColumnChunk(schema_.fields[c], batch.column(c), begin, end,
                                        &cc.meta_data, &stats));
      cc.has_meta_data = true;
      pq::ColumnMetaData& m = cc.meta_data;
      m.data_page_offset += pos_;
      if (m.dictionary_page_offset) *m.dictionary_page_offset += pos_;
      cc.file_offset = m.dictionary_page_offset ? *m.dictionary_page_offset : m.data_page_offset;
      RETURN_IF_ERROR(WriteBytes(chunk_));
      rg.total_byte_size += m.total_uncompressed_size;
      compressed_total += m.total_compressed_size;
      MergeStats(c, stats, rg.num_rows);
      rg.columns.push_back(std::move(cc));
    }
    rg.total_compressed_size = compressed_total;
    meta_.num_rows += rg.num_rows;
    meta_.row_groups.push_back(std::move(rg));
    return Status::Ok();
  }

  void MergeStats(size_t c, const ColumnStats& s, int64_t rows) {
    ColumnStats& m = merged_[c];
    m.null_count = m.null_count.value_or(0) + s.null_count.value_or(0);
    const bool has_values = s.null_count.value_or(0) < rows;
    if (has_values && (s.min.index() == 0 || s.max.index() == 0)) merged_complete_[c] = false;
    if (s.min.index() != 0 && (m.min.index() == 0 || CompareStatValues(s.min, m.min) < 0)) {
      m.min = s.min;
      m.min_exact = s.min_exact;
    }
    if (s.max.index() != 0 && (m.max.index() == 0 || CompareStatValues(s.max, m.max) > 0)) {
      m.max = s.max;
      m.max_exact = s.max_exact;
    }
  }

  // Compresses page_ and appends header + body to chunk_.
  Status EmitPage(pq::PageHeader header, pq::ColumnMetaData* meta) {
    std::string_view body = page_;
    if (options_.compression == Compression::kZstd) {
      compressed_.resize(ZSTD_compressBound(page_.size()));
      const size_t n = ZSTD_compressCCtx(cctx_, compressed_.data(), compressed_.size(),
                                         page_.data(), page_.size(), options_.zstd_level);
      if (ZSTD_isError(n)) {
        return Status::Internal(path_ + ": ZSTD compression failed: " + ZSTD_getErrorName(n));
      }
      body = std::string_view(compressed_.data(), n);
    }
    if (page_.size() > static_cast<size_t>(INT32_MAX)) {
      return Status::ResourceExhausted(path_ + ": page larger than 2 GiB");
    }
    header.uncompressed_page_size = static_cast<int32_t>(page_.size());
    header.compressed_page_size = static_cast<int32_t>(body.size());
    header_.clear();
    pq::SerializePageHeader(header, &header_);
    chunk_.append(header_);
    chunk_.append(body);
    meta->total_uncompressed_size += static_cast<int64_t>(header_.size() + page_.size());
    meta->total_compressed_size += static_cast<int64_t>(header_.size() + body.size());
    return Status::Ok();
  }

  // Definition levels (1 = present) of rows [begin, end), length-prefixed as data page v1
  // requires.
  void AppendDefinitionLevels(const uint8_t* valid, size_t begin, size_t end) {
    const size_t len_pos = page_.size();
    page_.append(4, '\0');
    if (valid == nullptr) {
      // One RLE run of 1s: header (count << 1), then the value in one byte.
      uint64_t h = static_cast<uint64_t>(end - begin) << 1;
      while (h >= 0x80) {
        page_.push_back(static_cast<char>((h & 0x7f) | 0x80));
        h >>= 7;
      }
      page_.push_back(static_cast<char>(h));
      page_.push_back('\1');
    } else {
      EncodeRleBitPacked(valid + begin, end - begin, 1, &page_);
    }
    const uint32_t len = static_cast<uint32_t>(page_.size() - len_pos - 4);
    std::memcpy(page_.data() + len_pos, &len, 4);
  }

  template <typename T>
  void AppendPlainFixed(const std::vector<T>& values, const uint8_t* valid, size_t begin,
                        size_t end) {
    if (valid == nullptr) {
      page_.append(reinterpret_cast<const char*>(values.data() + begin), (end - begin) * sizeof(T));
      return;
    }
    const size_t start = page_.size();
    page_.resize(start + (end - begin) * sizeof(T));
    char* dst = page_.data() + start;
    for (size_t i = begin; i < end; ++i) {
      if (valid[i] == 0) continue;
      std::memcpy(dst, &values[i], sizeof(T));
      dst += sizeof(T);
    }
    page_.resize(static_cast<size_t>(dst - page_.data()));
  }

  void AppendPlainStrings(const Column& col, const uint8_t* valid, size_t begin, size_t end) {
    const auto& off = col.string_offsets();
    const char* bytes = col.string_bytes().data();
    const size_t start = page_.size();
    page_.resize(start + (off[end] - off[begin]) + 4 * (end - begin));
    char* dst = page_.data() + start;
    for (size_t i = begin; i < end; ++i) {
      if (valid != nullptr && valid[i] == 0) continue;
      const uint32_t len = static_cast<uint32_t>(off[i + 1] - off[i]);
      std::memcpy(dst, &len, 4);
      std::memcpy(dst + 4, bytes + off[i], len);
      dst += 4 + len;
    }
    page_.resize(static_cast<size_t>(dst - page_.data()));
  }

  // Encodes rows [begin, end) of one column into chunk_ (offsets relative to its start).
  Status EncodeColumnChunk(const Field& field, const Column& col, size_t begin, size_t end,
                           pq::ColumnMetaData* meta, ColumnStats* stats) {
    const uint8_t* valid = col.has_nulls() ? col.validity().data() : nullptr;
    size_t nulls = 0;
    if (valid != nullptr) {
      for (size_t i = begin; i < end; ++i) nulls += valid[i] == 0;
      if (nulls == 0) valid = nullptr;
    }
    stats->null_count = static_cast<int64_t>(nulls);

    meta->type = *LeafElement(field).type;
    meta->path_in_schema = {field.name};
    meta->codec = options_.compression == Compression::kZstd ? pq::Codec::kZstd
                                                             : pq::Codec::kUncompressed;
    meta->num_values = static_cast<int64_t>(end - begin);

    // Strings try a dictionary first; numbers are always PLAIN.
    bool use_dictionary = false;
    StringDictionary dictionary(options_.dictionary_max_bytes);
    if (col.type() == ColumnType::kString && options_.dictionary_max_bytes > 0) {
      use_dictionary = true;
      indices_.resize(end - begin - nulls);
      size_t k = 0;
      for (size_t i = begin; i < end; ++i) {
        if (valid != nullptr && valid[i] == 0) continue;
        if (!dictionary.Insert(col.StringAt(i), &indices_[k++])) {
          use_dictionary = false;
          break;
        }
      }
    }

    // Statistics.
    switch (col.type()) {
      case ColumnType::kBoolean: {
        bool any = false, lo = true, hi = false;
        for (size_t i = begin; i < end; ++i) {
          if (valid != nullptr && valid[i] == 0) continue;
          any = true;
          lo = lo && col.BoolAt(i);
          hi = hi || col.BoolAt(i);
        }
        if (any) {
          stats->min = lo;
          stats->max = hi;
        }
        break;
      }
      case ColumnType::kInt32: NumericStats(col.int32s(), valid, begin, end, stats); break;
      case ColumnType::kInt64:
      case ColumnType::kTimestampMillis:
        NumericStats(col.int64s(), valid, begin, end, stats);
        break;
      case ColumnType::kDouble: NumericStats(col.doubles(), valid, begin, end, stats); break;
      case ColumnType::kString: {
        std::string_view lo, hi;
        bool any = false;
        auto visit = [&](std::string_view v) {
          if (!any) {
            lo = hi = v;
            any = true;
          } else if (v < lo) {
            lo = v;
          } else if (hi < v) {
            hi = v;
          }
        };
        // std::string_view compares with char_traits<char>::compare, which is memcmp-based
        // and therefore unsigned bytewise, the order Parquet defines for UTF-8 strings.
        if (use_dictionary) {
          for (size_t d = 0; d < dictionary.size(); ++d) visit(dictionary.at(d));
        } else {
          for (size_t i = begin; i < end; ++i) {
            if (valid == nullptr || valid[i] != 0) visit(col.StringAt(i));
          }
        }
        if (any) {
          const size_t limit = options_.statistics_max_string_bytes;
          stats->min = TruncateStringMin(lo, limit);
          stats->min_exact = lo.size() <= limit;
          if (auto max = TruncateStringMax(hi, limit)) {
            stats->max = std::move(*max);
            stats->max_exact = hi.size() <= limit;
          }
        }
        break;
      }
    }
    pq::Statistics& ps = meta->statistics.emplace();
    ps.null_count = stats->null_count;
    if (stats->min.index() != 0) {
      ps.min_value = EncodeStatValue(stats->min);
      if (!stats->min_exact) ps.is_min_value_exact = false;
    }
    if (stats->max.index() != 0) {
      ps.max_value = EncodeStatValue(stats->max);
      if (!stats->max_exact) ps.is_max_value_exact = false;
    }

    // Dictionary page.
    int bit_width = 0;
    if (use_dictionary) {
      page_.clear();
      page_.reserve(static_cast<size_t>(dictionary.plain_bytes()));
      for (size_t d = 0; d < dictionary.size(); ++d) {
        const std::string_view v = dictionary.at(d);
        AppendRaw(static_cast<uint32_t>(v.size()), &page_);
        page_.append(v);
      }
      pq::PageHeader h;
      h.type = pq::PageType::kDictionaryPage;
      h.dictionary_page_header = pq::DictionaryPageHeader{
          static_cast<int32_t>(dictionary.size()), pq::Encoding::kPlain};
      meta->dictionary_page_offset = static_cast<int64_t>(chunk_.size());
      RETURN_IF_ERROR(EmitPage(h, meta));
      // Width 0 is legal for a one-entry dictionary, but some readers reject it.
      bit_width = std::max(1, BitWidth(static_cast<uint32_t>(dictionary.size() - 1)));
      meta->encodings = {pq::Encoding::kPlain, pq::Encoding::kRle, pq::Encoding::kRleDictionary};
    } else {
      meta->encodings = {pq::Encoding::kPlain, pq::Encoding::kRle};
    }
    meta->data_page_offset = static_cast<int64_t>(chunk_.size());

    // Data pages, each about page_max_bytes of plain-encoded values.
    const size_t page_bytes = static_cast<size_t>(options_.page_max_bytes);
    size_t value_cursor = 0;  // index into indices_ of the page's first present value
    size_t row = begin;
    while (row < end || (row == begin && begin == end)) {
      size_t page_end;
      if (use_dictionary) {
        page_end = std::min(end, row + std::max<size_t>(1, page_bytes * 8 / static_cast<size_t>(bit_width)));
      } else if (col.type() == ColumnType::kString) {
        const auto& off = col.string_offsets();
        size_t lo = row + 1, hi = end;
        auto cost = [&](size_t e) { return (off[e] - off[row]) + 4 * (e - row); };
        while (lo < hi) {
          const size_t mid = lo + (hi - lo) / 2;
          if (cost(mid) >= page_bytes) {
            hi = mid;
          } else {
            lo = mid + 1;
          }
        }
        page_end = std::min(end, std::max(row + 1, lo));
      } else {
        page_end = std::min(end, row + std::max<size_t>(1, page_bytes / FixedWidth(col.type())));
      }
      page_.clear();
      if (field.nullable) AppendDefinitionLevels(valid, row, page_end);
      switch (col.type()) {
        case ColumnType::kBoolean: {
          scratch_u8_.clear();
          for (size_t i = row; i < page_end; ++i) {
            if (valid == nullptr || valid[i] != 0) scratch_u8_.push_back(col.bools()[i]);
          }
          EncodePlainBooleans(scratch_u8_.data(), scratch_u8_.size(), &page_);
          break;
        }
        case ColumnType::kInt32: AppendPlainFixed(col.int32s(), valid, row, page_end); break;
        case ColumnType::kInt64:
        case ColumnType::kTimestampMillis:
          AppendPlainFixed(col.int64s(), valid, row, page_end);
          break;
        case ColumnType::kDouble: AppendPlainFixed(col.doubles(), valid, row, page_end); break;
        case ColumnType::kString:
          if (use_dictionary) {
            size_t present = page_end - row;
            if (valid != nullptr) {
              present = 0;
              for (size_t i = row; i < page_end; ++i) present += valid[i] != 0;
            }
            page_.push_back(static_cast<char>(bit_width));
            EncodeRleBitPacked(indices_.data() + value_cursor, present, bit_width, &page_);
            value_cursor += present;
          } else {
            AppendPlainStrings(col, valid, row, page_end);
          }
          break;
      }
      pq::PageHeader h;
      h.type = pq::PageType::kDataPage;
      h.data_page_header = pq::DataPageHeader{
          static_cast<int32_t>(page_end - row),
          use_dictionary ? pq::Encoding::kRleDictionary : pq::Encoding::kPlain,
          pq::Encoding::kRle, pq::Encoding::kRle};
      RETURN_IF_ERROR(EmitPage(h, meta));
      if (page_end == row) break;  // the empty row group's single empty page
      row = page_end;
    }
    return Status::Ok();
  }

  const std::string path_;
  const Schema schema_;
  const ParquetWriterOptions options_;
  int fd_ = -1;
  int64_t pos_ = 0;
  bool closed_ = false;
  bool failed_ = false;
  ZSTD_CCtx* cctx_ = nullptr;

  ColumnBatch pending_;
  int64_t pending_bytes_ = 0;
  pq::FileMetaData meta_;
  std::vector<ColumnStats> merged_;
  std::vector<bool> merged_complete_;  // false once a row group had values but no min/max

  // Scratch buffers reused across chunks and pages.
  std::string chunk_, page_, compressed_, header_;
  std::vector<uint32_t> indices_;
  std::vector<uint8_t> scratch_u8_;
};

Result<std::unique_ptr<ParquetWriter>> ParquetWriter::Open(const std::string& path, Schema schema,
                                                           ParquetWriterOptions options) {
  auto impl = std::make_unique<Impl>(path, std::move(schema), std::move(options));
  RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<ParquetWriter>(new ParquetWriter(std::move(impl)));
}

ParquetWriter::ParquetWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ParquetWriter::~ParquetWriter() = default;
Status ParquetWriter::Append(const ColumnBatch& batch) { return impl_->Append(batch); }
Result<ParquetFileSummary> ParquetWriter::Close() { return impl_->Close(); }

}  // namespace tidemark::lake
