// ParquetWriter: encodes appended rows column by column into data pages (v1) as they arrive,
// each page compressed on its own; at a row group's end every column chunk is written as an
// optional dictionary page followed by its data pages; the footer comes last.
#include <fcntl.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY  // for ZSTD_c_literalCompressionMode, a parameter only
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "common/files.h"
#include "lake/column_stats_internal.h"
#include "lake/encoding_internal.h"
#include "lake/parquet.h"
#include "lake/parquet_metadata_internal.h"

namespace tidemark::lake {

// The memory of one column chunk writer (see ColumnChunkWriter for what each holds).
struct ColumnBuffers {
  std::string pages;
  std::string dictionary_page;
  StringDictionary dictionary{0};
  HugeBytes page_values;
  std::vector<uint32_t> page_indices;
  std::vector<uint8_t> page_validity;
  std::string page;
};

class ParquetWriterBuffers {
 public:
  ~ParquetWriterBuffers() {
    if (cctx != nullptr) ZSTD_freeCCtx(cctx);
  }

  std::atomic<bool> in_use{false};
  std::vector<std::unique_ptr<ColumnBuffers>> columns;  // grown to the widest schema seen
  ZSTD_CCtx* cctx = nullptr;
  std::string compressed, header;
};

std::shared_ptr<ParquetWriterBuffers> NewParquetWriterBuffers() {
  return std::make_shared<ParquetWriterBuffers>();
}

namespace {

constexpr char kMagic[4] = {'P', 'A', 'R', '1'};
// Values of a chunk's first page after which a dictionary that is not under half the
// PLAIN size so far is given up (ColumnChunkWriter::AppendStrings).
constexpr size_t kDictionaryProbeValues = 4096;
constexpr const char* kCreatedBy = "tidemark version 0.1.0 (lake parquet writer)";

pq::SchemaElement LeafElement(const Field& f) {
  pq::SchemaElement e;
  e.name = f.name;
  e.repetition = f.nullable ? pq::Repetition::kOptional : pq::Repetition::kRequired;
  if (f.field_id >= 0) e.field_id = f.field_id;
  switch (f.type) {
    case ColumnType::kBoolean:
      e.type = pq::Type::kBoolean;
      break;
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
    case ColumnType::kDouble:
      e.type = pq::Type::kDouble;
      break;
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
    case ColumnType::kBoolean:
      return 1;
    case ColumnType::kInt32:
      return 4;
    case ColumnType::kInt64:
    case ColumnType::kTimestampMillis:
    case ColumnType::kDouble:
      return 8;
    case ColumnType::kString:
      return 4;  // plus the bytes
  }
  return 8;
}

template <typename T>
void AppendRaw(T v, std::string* out) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out->append(b, sizeof(T));
}

template <typename T>
void AppendRaw(T v, HugeBytes* out) {
  std::memcpy(out->Extend(sizeof(T)), &v, sizeof(T));
}

// A PLAIN BYTE_ARRAY value: its length (4 bytes, little-endian) and its bytes.
void AppendPlainString(std::string_view v, HugeBytes* out) {
  char* d = out->Extend(4 + v.size());
  const auto length = static_cast<uint32_t>(v.size());
  std::memcpy(d, &length, 4);
  HugeBytes::CopyBytes(d + 4, v.data(), v.size());
}

// Compresses page bodies and frames them with their Thrift page header. Shared by the column
// writers of one file; uses the ZSTD context and scratch buffers of the file's buffers.
class PageEmitter {
 public:
  PageEmitter(const std::string& path, Compression compression, int level)
      : path_(path), compression_(compression), level_(level) {}

  // buffers must outlive the emitter.
  Status Init(ParquetWriterBuffers* buffers) {
    buffers_ = buffers;
    if (compression_ != Compression::kZstd) return Status::Ok();
    if (buffers_->cctx == nullptr) {
      buffers_->cctx = ZSTD_createCCtx();
      if (buffers_->cctx == nullptr) return Status::ResourceExhausted("ZSTD_createCCtx failed");
    }
    ZSTD_CCtx* cctx = buffers_->cctx;
    size_t r = ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level_);
    // A hash table of 2^11 entries is enough for pages of an event table: at level 1
    // (whose own is 2^13 for pages this size) it ran 8–10% faster and wrote 2% smaller
    // pages, and at level −2 4% faster and 1% smaller (bench/README.md).
    if (!ZSTD_isError(r) && (level_ == 1 || level_ < 0)) {
      r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_hashLog, 11);
    }
    // ZSTD's fast (negative) levels stop Huffman-coding literals, but ids and JSON text
    // compress mostly by their literals: kept on, level −2 writes bronze pages 7% smaller
    // than level 1 does, and faster.
    if (!ZSTD_isError(r) && level_ < 0) {
      r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_literalCompressionMode, ZSTD_ps_enable);
    }
    if (ZSTD_isError(r)) return Status::Internal(path_ + ": ZSTD parameters: " + ZSTD_getErrorName(r));
    return Status::Ok();
  }

  pq::Codec codec() const {
    return compression_ == Compression::kZstd ? pq::Codec::kZstd : pq::Codec::kUncompressed;
  }

  // Appends header + (compressed) body to out and adds both sizes to meta's totals.
  Status Emit(pq::PageHeader header, std::string_view body, std::string* out,
              pq::ColumnMetaData* meta) {
    if (body.size() > static_cast<size_t>(INT32_MAX)) {
      return Status::ResourceExhausted(path_ + ": page larger than 2 GiB");
    }
    std::string_view stored = body;
    std::string& compressed = buffers_->compressed;
    std::string& header_bytes = buffers_->header;
    if (compression_ == Compression::kZstd) {
      const size_t bound = ZSTD_compressBound(body.size());
      if (compressed.size() < bound) compressed.resize(bound);
      const size_t n = ZSTD_compress2(buffers_->cctx, compressed.data(), compressed.size(),
                                      body.data(), body.size());
      if (ZSTD_isError(n)) {
        return Status::Internal(path_ + ": ZSTD compression failed: " + ZSTD_getErrorName(n));
      }
      stored = std::string_view(compressed.data(), n);
    }
    header.uncompressed_page_size = static_cast<int32_t>(body.size());
    header.compressed_page_size = static_cast<int32_t>(stored.size());
    header_bytes.clear();
    pq::SerializePageHeader(header, &header_bytes);
    out->append(header_bytes);
    out->append(stored);
    meta->total_uncompressed_size += static_cast<int64_t>(header_bytes.size() + body.size());
    meta->total_compressed_size += static_cast<int64_t>(header_bytes.size() + stored.size());
    return Status::Ok();
  }

 private:
  const std::string& path_;
  const Compression compression_;
  const int level_;
  ParquetWriterBuffers* buffers_ = nullptr;
};

// Encodes one column of the open row group as values arrive: values go into the current
// page, a full page is encoded and compressed at once, and only compressed pages wait for
// the row group to end. Strings start dictionary-encoded; the dictionary is dropped when the
// first page shows it does not pay off (after kDictionaryProbeValues values, and when the page
// is full), or when it passes dictionary_max_bytes (pages
// already written keep it, the rest of the chunk is PLAIN, as the spec allows). Buffers are
// reused from chunk to chunk (and from file to file when the options share
// ParquetWriterBuffers). Owned by the file writer; not thread-safe.
class ColumnChunkWriter {
 public:
  // buffers and emitter must outlive the writer.
  ColumnChunkWriter(const Field& field, const ParquetWriterOptions& options, PageEmitter* emitter,
                    ColumnBuffers* buffers)
      : field_(field),
        options_(options),
        emitter_(emitter),
        pages_(buffers->pages),
        dictionary_page_(buffers->dictionary_page),
        dictionary_(buffers->dictionary),
        page_values_(buffers->page_values),
        page_indices_(buffers->page_indices),
        page_validity_(buffers->page_validity),
        page_(buffers->page) {
    dictionary_.set_max_plain_bytes(options.dictionary_max_bytes);
    Reset();
  }

  Status Append(const Column& col, size_t begin, size_t end) {
    const uint8_t* valid = col.has_nulls() ? col.validity().data() : nullptr;
    size_t row = begin;
    const size_t page_max = static_cast<size_t>(options_.page_max_bytes);
    while (row < end) {
      size_t n;
      if (col.type() == ColumnType::kString) {
        n = AppendStrings(col, valid, row, end, page_max);
      } else {
        const size_t width = FixedWidth(col.type());
        const size_t room =
            page_plain_bytes_ >= page_max ? 1 : (page_max - page_plain_bytes_ + width - 1) / width;
        n = std::min(end - row, room);
        AppendFixed(col, valid, row, row + n);
        page_plain_bytes_ += n * width;
      }
      if (field_.nullable) {
        if (valid != nullptr) {
          page_validity_.insert(page_validity_.end(), valid + row, valid + row + n);
        } else {
          page_validity_.insert(page_validity_.end(), n, 1);
        }
      }
      page_rows_ += n;
      chunk_rows_ += n;
      row += n;
      if (page_plain_bytes_ >= page_max) RETURN_IF_ERROR(FlushPage());
    }
    return Status::Ok();
  }

  // Closes the chunk: *dictionary_page and *data_pages are its bytes in file order, offsets
  // in meta relative to the chunk start. Valid until Reset.
  Status Finish(pq::ColumnMetaData* meta, ColumnStats* stats, std::string_view* dictionary_page,
                std::string_view* data_pages) {
    RETURN_IF_ERROR(FlushPage());
    meta_.type = *LeafElement(field_).type;
    meta_.path_in_schema = {field_.name};
    meta_.codec = emitter_->codec();
    meta_.num_values = static_cast<int64_t>(chunk_rows_);
    dictionary_page_.clear();
    if (dictionary_pages_ > 0) {
      page_.clear();
      for (size_t d = 0; d < dictionary_.size(); ++d) {
        const std::string_view v = dictionary_.at(d);
        AppendRaw(static_cast<uint32_t>(v.size()), &page_);
        page_.append(v);
      }
      pq::PageHeader h;
      h.type = pq::PageType::kDictionaryPage;
      h.dictionary_page_header =
          pq::DictionaryPageHeader{static_cast<int32_t>(dictionary_.size()), pq::Encoding::kPlain};
      RETURN_IF_ERROR(emitter_->Emit(h, page_, &dictionary_page_, &meta_));
      meta_.dictionary_page_offset = 0;
      meta_.encodings = {pq::Encoding::kPlain, pq::Encoding::kRle, pq::Encoding::kRleDictionary};
    } else if (DeltaEncoded()) {
      meta_.encodings = {pq::Encoding::kDeltaBinaryPacked, pq::Encoding::kRle};
    } else {
      meta_.encodings = {pq::Encoding::kPlain, pq::Encoding::kRle};
    }
    meta_.data_page_offset = static_cast<int64_t>(dictionary_page_.size());

    stats->null_count = static_cast<int64_t>(null_count_);
    if (has_minmax_) {
      switch (field_.type) {
        case ColumnType::kBoolean:
          stats->min = int_min_ != 0;
          stats->max = int_max_ != 0;
          break;
        case ColumnType::kInt32:
          stats->min = static_cast<int32_t>(int_min_);
          stats->max = static_cast<int32_t>(int_max_);
          break;
        case ColumnType::kInt64:
        case ColumnType::kTimestampMillis:
          stats->min = int_min_;
          stats->max = int_max_;
          break;
        case ColumnType::kDouble:
          // The spec's rule for zero bounds: a min of zero is written -0.0, a max +0.0.
          stats->min = double_min_ == 0 ? -0.0 : double_min_;
          stats->max = double_max_ == 0 ? +0.0 : double_max_;
          break;
        case ColumnType::kString: {
          const size_t limit = options_.statistics_max_string_bytes;
          stats->min = TruncateStringMin(string_min_, limit);
          stats->min_exact = string_min_.size() <= limit;
          if (auto max = TruncateStringMax(string_max_, limit)) {
            stats->max = std::move(*max);
            stats->max_exact = string_max_.size() <= limit;
          }
          break;
        }
      }
    }
    pq::Statistics& ps = meta_.statistics.emplace();
    ps.null_count = stats->null_count;
    if (stats->min.index() != 0) {
      ps.min_value = EncodeStatValue(stats->min);
      if (!stats->min_exact) ps.is_min_value_exact = false;
    }
    if (stats->max.index() != 0) {
      ps.max_value = EncodeStatValue(stats->max);
      if (!stats->max_exact) ps.is_max_value_exact = false;
    }
    *meta = std::move(meta_);
    *dictionary_page = dictionary_page_;
    *data_pages = pages_;
    return Status::Ok();
  }

  // Starts the next chunk (after the caller has written Finish's bytes).
  void Reset() {
    meta_ = pq::ColumnMetaData();
    pages_.clear();
    dictionary_.Clear();
    dictionary_pages_ = 0;
    use_dictionary_ = field_.type == ColumnType::kString && options_.dictionary_max_bytes > 0;
    chunk_rows_ = 0;
    null_count_ = 0;
    has_minmax_ = false;
    ResetPage();
  }

 private:
  void ResetPage() {
    page_values_.clear();
    page_indices_.clear();
    page_validity_.clear();
    page_rows_ = 0;
    page_plain_bytes_ = 0;
  }

  void UpdateMinMax(int64_t v) {
    if (!has_minmax_) {
      int_min_ = int_max_ = v;
      has_minmax_ = true;
    } else {
      int_min_ = std::min(int_min_, v);
      int_max_ = std::max(int_max_, v);
    }
  }

  // The first 8 bytes of s, zero-padded, as a big-endian number: when two such prefixes
  // differ, they order the strings as memcmp does (equal prefixes decide nothing).
  static uint64_t OrderPrefix(std::string_view s) {
    static_assert(std::endian::native == std::endian::little);
    uint64_t word = 0;
    if (s.size() >= 8) {
      std::memcpy(&word, s.data(), 8);
    } else {
      for (size_t i = 0; i < s.size(); ++i) word |= uint64_t{static_cast<uint8_t>(s[i])} << (8 * i);
    }
    return __builtin_bswap64(word);
  }

  void UpdateMinMax(std::string_view v) {
    // string_view ordering is char_traits<char>::compare, i.e. memcmp: unsigned bytewise,
    // the order Parquet defines for UTF-8. Most values are decided by their prefix alone.
    const uint64_t prefix = OrderPrefix(v);
    if (!has_minmax_) {
      string_min_.assign(v);
      string_max_.assign(v);
      min_prefix_ = max_prefix_ = prefix;
      has_minmax_ = true;
    } else if (prefix < min_prefix_ || (prefix == min_prefix_ && v < std::string_view(string_min_))) {
      string_min_.assign(v);
      min_prefix_ = prefix;
    } else if (prefix > max_prefix_ || (prefix == max_prefix_ && std::string_view(string_max_) < v)) {
      string_max_.assign(v);
      max_prefix_ = prefix;
    }
  }

  template <typename T>
  void AppendFixedValues(const HugeVector<T>& values, const uint8_t* valid, size_t begin,
                         size_t end) {
    if (valid == nullptr) {
      page_values_.append(std::string_view(reinterpret_cast<const char*>(values.data() + begin),
                                           (end - begin) * sizeof(T)));
      if constexpr (std::is_floating_point_v<T>) {
        for (size_t i = begin; i < end; ++i) UpdateDouble(values[i]);
      } else if (end > begin) {
        const auto [mn, mx] = std::minmax_element(values.begin() + begin, values.begin() + end);
        UpdateMinMax(static_cast<int64_t>(*mn));
        UpdateMinMax(static_cast<int64_t>(*mx));
      }
      return;
    }
    for (size_t i = begin; i < end; ++i) {
      if (valid[i] == 0) {
        ++null_count_;
        continue;
      }
      AppendRaw(values[i], &page_values_);
      if constexpr (std::is_floating_point_v<T>) {
        UpdateDouble(values[i]);
      } else {
        UpdateMinMax(static_cast<int64_t>(values[i]));
      }
    }
  }

  void UpdateDouble(double v) {
    if (std::isnan(v)) return;  // NaN has no place in an order; it never bounds statistics
    if (!has_minmax_) {
      double_min_ = double_max_ = v;
      has_minmax_ = true;
    } else {
      double_min_ = std::min(double_min_, v);
      double_max_ = std::max(double_max_, v);
    }
  }

  void AppendFixed(const Column& col, const uint8_t* valid, size_t begin, size_t end) {
    switch (col.type()) {
      case ColumnType::kBoolean:
        for (size_t i = begin; i < end; ++i) {
          if (valid != nullptr && valid[i] == 0) {
            ++null_count_;
            continue;
          }
          page_values_.push_back(static_cast<char>(col.bools()[i]));  // packed at flush
          UpdateMinMax(col.bools()[i]);
        }
        break;
      case ColumnType::kInt32:
        AppendFixedValues(col.int32s(), valid, begin, end);
        break;
      case ColumnType::kInt64:
      case ColumnType::kTimestampMillis:
        AppendFixedValues(col.int64s(), valid, begin, end);
        break;
      case ColumnType::kDouble:
        AppendFixedValues(col.doubles(), valid, begin, end);
        break;
      case ColumnType::kString:
        break;
    }
  }

  // Appends strings from `row` until the page is full or `end`; returns how many rows.
  size_t AppendStrings(const Column& col, const uint8_t* valid, size_t row, size_t end,
                       size_t page_max) {
    const auto& offsets = col.string_offsets();
    const char* bytes = col.string_bytes().data();
    size_t i = row;
    for (; i < end && page_plain_bytes_ < page_max; ++i) {
      if (valid != nullptr && valid[i] == 0) {
        ++null_count_;
        continue;
      }
      const std::string_view v(bytes + offsets[i], offsets[i + 1] - offsets[i]);
      page_plain_bytes_ += 4 + v.size();
      if (use_dictionary_) {
        uint32_t index;
        bool added;
        if (dictionary_.Insert(v, &index, &added)) {
          page_indices_.push_back(index);
          if (added) UpdateMinMax(v);
          // A high-cardinality column shows itself early: give up the dictionary after a
          // probe instead of hashing a whole first page into it and converting it back.
          // The probe asks for half the PLAIN size: ZSTD finds the repeats of a column that
          // a dictionary only halves in PLAIN pages too (bronze properties: files 1.7%
          // smaller without their dictionary).
          if (dictionary_pages_ == 0 && page_indices_.size() == kDictionaryProbeValues &&
              2 * static_cast<size_t>(dictionary_.plain_bytes()) >= page_plain_bytes_) {
            AbandonDictionary();
          }
          continue;
        }
        AbandonDictionary();
      }
      AppendPlainString(v, &page_values_);
      UpdateMinMax(v);
    }
    return i - row;
  }

  // Whether the dictionary plus `present` indices is smaller than the open page in PLAIN.
  bool DictionaryBeatsPlain(size_t present) const {
    const int bit_width = std::max(
        1, BitWidth(static_cast<uint32_t>(dictionary_.size() == 0 ? 0 : dictionary_.size() - 1)));
    const size_t encoded =
        static_cast<size_t>(dictionary_.plain_bytes()) + present * bit_width / 8;
    return encoded < page_plain_bytes_;
  }

  // Turns the open page's dictionary indices into PLAIN values.
  void ConvertPageToPlain() {
    page_values_.clear();
    for (const uint32_t index : page_indices_) {
      const std::string_view v = dictionary_.at(index);
      AppendPlainString(v, &page_values_);
    }
    page_indices_.clear();
  }

  // The dictionary is full. Before any dictionary page exists, the open page simply becomes
  // PLAIN; otherwise the open page is written with the dictionary and PLAIN pages follow.
  // Either way min/max already cover every dictionary entry.
  void AbandonDictionary() {
    use_dictionary_ = false;
    if (dictionary_pages_ == 0) {
      ConvertPageToPlain();
      dictionary_.Clear();
    } else {
      pending_dictionary_flush_ = true;
    }
  }

  Status FlushPage() {
    if (page_rows_ == 0) return Status::Ok();
    const size_t present = page_rows_ - CountNulls();
    bool dictionary_page = use_dictionary_ || pending_dictionary_flush_;
    if (dictionary_page && pending_dictionary_flush_) {
      // Values after the overflow are PLAIN in page_values_ while the earlier ones are
      // indices: put all of this page's values in PLAIN form, in row order.
      HugeBytes tail;
      tail.swap(page_values_);
      ConvertPageToPlain();
      page_values_.append(tail.view());
      dictionary_page = false;
      pending_dictionary_flush_ = false;
    }
    int bit_width = 0;
    if (dictionary_page) {
      bit_width = std::max(
          1, BitWidth(static_cast<uint32_t>(dictionary_.size() == 0 ? 0 : dictionary_.size() - 1)));
      // On the chunk's first page, keep the dictionary only if it beats PLAIN.
      if (dictionary_pages_ == 0 && !DictionaryBeatsPlain(present)) {
        use_dictionary_ = false;
        ConvertPageToPlain();
        dictionary_.Clear();
        dictionary_page = false;
      }
    }
    page_.clear();
    if (field_.nullable) AppendDefinitionLevels(present);
    if (dictionary_page) {
      page_.push_back(static_cast<char>(bit_width));
      EncodeRleBitPacked(page_indices_.data(), page_indices_.size(), bit_width, &page_);
      ++dictionary_pages_;
    } else if (field_.type == ColumnType::kBoolean) {
      EncodePlainBooleans(reinterpret_cast<const uint8_t*>(page_values_.data()),
                          page_values_.size(), &page_);
    } else if (DeltaEncoded()) {
      EncodeDeltaBinaryPacked(reinterpret_cast<const int64_t*>(page_values_.data()),
                              page_values_.size() / sizeof(int64_t), &page_);
    } else {
      page_.append(page_values_.data(), page_values_.size());
    }
    pq::PageHeader h;
    h.type = pq::PageType::kDataPage;
    h.data_page_header = pq::DataPageHeader{
        static_cast<int32_t>(page_rows_),
        dictionary_page ? pq::Encoding::kRleDictionary
                        : (DeltaEncoded() ? pq::Encoding::kDeltaBinaryPacked : pq::Encoding::kPlain),
        pq::Encoding::kRle, pq::Encoding::kRle};
    RETURN_IF_ERROR(emitter_->Emit(h, page_, &pages_, &meta_));
    ResetPage();
    return Status::Ok();
  }

  // ParquetWriterOptions::delta_int64.
  bool DeltaEncoded() const {
    return options_.delta_int64 &&
           (field_.type == ColumnType::kInt64 || field_.type == ColumnType::kTimestampMillis);
  }

  size_t CountNulls() const {
    if (!field_.nullable) return 0;
    size_t nulls = 0;
    for (const uint8_t v : page_validity_) nulls += v == 0;
    return nulls;
  }

  // Definition levels (1 = present), length-prefixed as data page v1 requires.
  void AppendDefinitionLevels(size_t present) {
    const size_t len_pos = page_.size();
    page_.append(4, '\0');
    if (present == page_rows_) {
      // One RLE run of 1s: header (count << 1), then the value in one byte.
      uint64_t h = static_cast<uint64_t>(page_rows_) << 1;
      while (h >= 0x80) {
        page_.push_back(static_cast<char>((h & 0x7f) | 0x80));
        h >>= 7;
      }
      page_.push_back(static_cast<char>(h));
      page_.push_back('\1');
    } else {
      EncodeRleBitPacked(page_validity_.data(), page_validity_.size(), 1, &page_);
    }
    const uint32_t len = static_cast<uint32_t>(page_.size() - len_pos - 4);
    std::memcpy(page_.data() + len_pos, &len, 4);
  }

  const Field field_;
  const ParquetWriterOptions& options_;
  PageEmitter* emitter_;

  pq::ColumnMetaData meta_;
  // The buffers below live in ColumnBuffers, which may outlast this writer.
  std::string& pages_;            // encoded data pages of the open chunk
  std::string& dictionary_page_;  // built by Finish
  StringDictionary& dictionary_;
  bool use_dictionary_ = false;
  bool pending_dictionary_flush_ = false;
  size_t dictionary_pages_ = 0;  // data pages written with the dictionary
  size_t chunk_rows_ = 0;
  size_t null_count_ = 0;

  // The open page.
  HugeBytes& page_values_;  // PLAIN values (booleans one byte each until flushed)
  std::vector<uint32_t>& page_indices_;
  std::vector<uint8_t>& page_validity_;
  size_t page_rows_ = 0;
  size_t page_plain_bytes_ = 0;
  std::string& page_;  // scratch: the page body being emitted

  bool has_minmax_ = false;
  int64_t int_min_ = 0, int_max_ = 0;
  double double_min_ = 0, double_max_ = 0;
  std::string string_min_, string_max_;
  uint64_t min_prefix_ = 0, max_prefix_ = 0;  // OrderPrefix of string_min_, string_max_
};

}  // namespace

class ParquetWriter::Impl {
 public:
  Impl(std::string path, Schema schema, ParquetWriterOptions options)
      : path_(std::move(path)),
        schema_(std::move(schema)),
        options_(std::move(options)),
        emitter_(path_, options_.compression, options_.zstd_level) {}

  ~Impl() {
    if (fd_ >= 0) ::close(fd_);
    columns_.clear();
    if (shared_buffers_) buffers_->in_use.store(false, std::memory_order_release);
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
      return Status::InvalidArgument(path_ +
                                     ": row group and page bounds must be positive "
                                     "(and row groups at most 2^31-1 rows)");
    }
    if (options_.buffers && !options_.buffers->in_use.exchange(true, std::memory_order_acquire)) {
      buffers_ = options_.buffers;
      shared_buffers_ = true;
    } else {
      buffers_ = NewParquetWriterBuffers();
    }
    while (buffers_->columns.size() < schema_.fields.size()) {
      buffers_->columns.push_back(std::make_unique<ColumnBuffers>());
    }
    RETURN_IF_ERROR(emitter_.Init(buffers_.get()));
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) return ErrnoStatus("open(" + path_ + ")", errno);
    meta_.schema.reserve(schema_.fields.size() + 1);
    pq::SchemaElement root;
    root.name = "schema";
    root.num_children = static_cast<int32_t>(schema_.fields.size());
    meta_.schema.push_back(root);
    for (const Field& f : schema_.fields) {
      meta_.schema.push_back(LeafElement(f));
      columns_.push_back(std::make_unique<ColumnChunkWriter>(
          f, options_, &emitter_, buffers_->columns[columns_.size()].get()));
    }
    merged_.resize(schema_.fields.size());
    merged_complete_.assign(schema_.fields.size(), true);
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
      int64_t bytes = 0;
      const size_t end = RowsFitting(batch, row, options_.row_group_max_rows - group_rows_,
                                     options_.row_group_max_bytes - group_bytes_, &bytes);
      for (size_t c = 0; c < batch.num_columns(); ++c) {
        RETURN_IF_ERROR(Guard(columns_[c]->Append(batch.column(c), row, end)));
      }
      group_rows_ += static_cast<int64_t>(end - row);
      group_bytes_ += bytes;
      if (group_rows_ >= options_.row_group_max_rows ||
          group_bytes_ >= options_.row_group_max_bytes) {
        RETURN_IF_ERROR(Guard(FinishRowGroup()));
      }
      row = end;
    }
    return Status::Ok();
  }

  Result<ParquetFileSummary> Close() {
    RETURN_IF_ERROR(CheckUsable());
    RETURN_IF_ERROR(Guard(FinishRowGroup()));
    meta_.created_by = kCreatedBy;
    meta_.type_defined_column_orders = static_cast<int32_t>(schema_.fields.size());
    for (const auto& [k, v] : options_.key_value_metadata)
      meta_.key_value_metadata.push_back({k, v});
    std::string footer;
    pq::SerializeFileMetaData(meta_, &footer);
    const uint32_t footer_len = static_cast<uint32_t>(footer.size());
    AppendRaw(footer_len, &footer);
    footer.append(kMagic, 4);
    RETURN_IF_ERROR(Guard(WriteBytes(footer)));
    if (::fsync(fd_) != 0) return Guard(ErrnoStatus("fsync(" + path_ + ")", errno));
    const int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return Guard(ErrnoStatus("close(" + path_ + ")", errno));
    const std::string dir = std::filesystem::path(path_).parent_path().string();
    RETURN_IF_ERROR(Guard(FsyncDirectory(dir.empty() ? "." : dir)));
    closed_ = true;
    ParquetFileSummary summary;
    summary.num_rows = meta_.num_rows;
    summary.file_bytes = pos_;
    summary.num_row_groups = static_cast<int64_t>(meta_.row_groups.size());
    summary.columns = merged_;
    for (size_t c = 0; c < merged_.size(); ++c) {
      if (!merged_complete_[c]) {
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
    if (failed_)
      return Status::FailedPrecondition(path_ + ": writer failed earlier; file unusable");
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

  // End of the longest run of rows from `begin` that fits the open row group's remaining
  // capacity (at least one row); *bytes receives its plain-encoded size.
  size_t RowsFitting(const ColumnBatch& batch, size_t begin, int64_t cap_rows, int64_t cap_bytes,
                     int64_t* bytes) const {
    size_t fixed = 0;
    std::vector<const Column*> strings;
    for (size_t c = 0; c < batch.num_columns(); ++c) {
      fixed += FixedWidth(batch.column(c).type());
      if (batch.column(c).type() == ColumnType::kString) strings.push_back(&batch.column(c));
    }
    const size_t limit = std::min<size_t>(
        batch.num_rows(), begin + static_cast<size_t>(std::max<int64_t>(cap_rows, 1)));
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

  Status FinishRowGroup() {
    if (group_rows_ == 0) return Status::Ok();
    if (meta_.row_groups.size() >= static_cast<size_t>(INT16_MAX)) {
      return Status::ResourceExhausted(path_ + ": more than 32767 row groups in one file");
    }
    pq::RowGroup rg;
    rg.num_rows = group_rows_;
    rg.file_offset = pos_;
    rg.ordinal = static_cast<int16_t>(meta_.row_groups.size());
    int64_t compressed_total = 0;
    for (size_t c = 0; c < columns_.size(); ++c) {
      pq::ColumnChunk cc;
      ColumnStats stats;
      std::string_view dictionary_page, data_pages;
      RETURN_IF_ERROR(columns_[c]->Finish(&cc.meta_data, &stats, &dictionary_page, &data_pages));
      cc.has_meta_data = true;
      pq::ColumnMetaData& m = cc.meta_data;
      m.data_page_offset += pos_;
      if (m.dictionary_page_offset) *m.dictionary_page_offset += pos_;
      cc.file_offset = pos_;
      RETURN_IF_ERROR(WriteBytes(dictionary_page));
      RETURN_IF_ERROR(WriteBytes(data_pages));
      columns_[c]->Reset();
      rg.total_byte_size += m.total_uncompressed_size;
      compressed_total += m.total_compressed_size;
      MergeStats(c, stats, rg.num_rows);
      rg.columns.push_back(std::move(cc));
    }
    rg.total_compressed_size = compressed_total;
    meta_.num_rows += rg.num_rows;
    meta_.row_groups.push_back(std::move(rg));
    group_rows_ = 0;
    group_bytes_ = 0;
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

  const std::string path_;
  const Schema schema_;
  const ParquetWriterOptions options_;
  std::shared_ptr<ParquetWriterBuffers> buffers_;
  bool shared_buffers_ = false;  // buffers_ is options_.buffers, held until destruction
  PageEmitter emitter_;
  std::vector<std::unique_ptr<ColumnChunkWriter>> columns_;
  int fd_ = -1;
  int64_t pos_ = 0;
  bool closed_ = false;
  bool failed_ = false;

  int64_t group_rows_ = 0;   // rows in the open row group
  int64_t group_bytes_ = 0;  // their plain-encoded size
  pq::FileMetaData meta_;
  std::vector<ColumnStats> merged_;
  std::vector<bool> merged_complete_;  // false once a row group had values but no min/max
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
