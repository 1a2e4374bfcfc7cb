// Parquet's Thrift structures (parquet.thrift: FileMetaData, PageHeader and what they hold),
// as plain C++ structs with compact-protocol serialisation. Only the fields tidemark writes
// or needs to read are kept; other fields of files from other writers are skipped.
// Field ids follow the Apache Parquet format specification.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace tidemark::lake::pq {

enum class Type : int32_t {
  kBoolean = 0,
  kInt32 = 1,
  kInt64 = 2,
  kInt96 = 3,
  kFloat = 4,
  kDouble = 5,
  kByteArray = 6,
  kFixedLenByteArray = 7,
};
enum class Repetition : int32_t { kRequired = 0, kOptional = 1, kRepeated = 2 };
enum class ConvertedType : int32_t {
  kUtf8 = 0,
  kTimestampMillis = 9,
  kTimestampMicros = 10,
  kInt32 = 17,
  kInt64 = 18,
};
enum class Encoding : int32_t {
  kPlain = 0,
  kPlainDictionary = 2,
  kRle = 3,
  kBitPacked = 4,
  kDeltaBinaryPacked = 5,
  kDeltaLengthByteArray = 6,
  kDeltaByteArray = 7,
  kRleDictionary = 8,
  kByteStreamSplit = 9,
};
enum class Codec : int32_t { kUncompressed = 0, kSnappy = 1, kGzip = 2, kZstd = 6 };
enum class PageType : int32_t {
  kDataPage = 0,
  kIndexPage = 1,
  kDictionaryPage = 2,
  kDataPageV2 = 3
};

// The LogicalType union, reduced to the members tidemark maps to its column types.
struct LogicalType {
  enum class Kind { kNone, kString, kTimestamp, kInteger, kOther } kind = Kind::kNone;
  bool timestamp_utc = true;
  enum class TimeUnit { kMillis, kMicros, kNanos } unit = TimeUnit::kMillis;
  int8_t int_bit_width = 64;
  bool int_signed = true;
};

struct SchemaElement {
  std::optional<Type> type;
  std::optional<Repetition> repetition;
  std::string name;
  std::optional<int32_t> num_children;
  std::optional<ConvertedType> converted_type;
  std::optional<int32_t> converted_type_raw;  // as read, for types tidemark does not map
  std::optional<int32_t> field_id;
  LogicalType logical_type;
};

// Statistics. min_value/max_value are PLAIN encodings (without a length prefix for byte
// arrays), compared by the column's type-defined order.
struct Statistics {
  std::optional<std::string> min_value;
  std::optional<std::string> max_value;
  std::optional<int64_t> null_count;
  // The deprecated min/max (fields 1/2) use signed byte order for strings; read only as a
  // fallback for numeric columns of old writers.
  std::optional<std::string> legacy_min;
  std::optional<std::string> legacy_max;
  std::optional<bool> is_min_value_exact;
  std::optional<bool> is_max_value_exact;
};

struct ColumnMetaData {
  Type type = Type::kInt32;
  std::vector<Encoding> encodings;
  std::vector<std::string> path_in_schema;
  Codec codec = Codec::kUncompressed;
  int64_t num_values = 0;
  int64_t total_uncompressed_size = 0;
  int64_t total_compressed_size = 0;
  int64_t data_page_offset = 0;
  std::optional<int64_t> dictionary_page_offset;
  std::optional<Statistics> statistics;
};

struct ColumnChunk {
  int64_t file_offset = 0;
  bool has_meta_data = false;
  ColumnMetaData meta_data;
};

struct RowGroup {
  std::vector<ColumnChunk> columns;
  int64_t total_byte_size = 0;
  int64_t num_rows = 0;
  std::optional<int64_t> file_offset;
  std::optional<int64_t> total_compressed_size;
  std::optional<int16_t> ordinal;
};

struct KeyValue {
  std::string key;
  std::optional<std::string> value;
};

struct FileMetaData {
  int32_t version = 1;
  std::vector<SchemaElement> schema;
  int64_t num_rows = 0;
  std::vector<RowGroup> row_groups;
  std::vector<KeyValue> key_value_metadata;
  std::optional<std::string> created_by;
  // Number of TypeDefinedOrder column orders; when present, min_value/max_value are trusted.
  int32_t type_defined_column_orders = 0;
};

struct DataPageHeader {
  int32_t num_values = 0;
  Encoding encoding = Encoding::kPlain;
  Encoding definition_level_encoding = Encoding::kRle;
  Encoding repetition_level_encoding = Encoding::kRle;
};

struct DataPageHeaderV2 {
  int32_t num_values = 0;
  int32_t num_nulls = 0;
  int32_t num_rows = 0;
  Encoding encoding = Encoding::kPlain;
  int32_t definition_levels_byte_length = 0;
  int32_t repetition_levels_byte_length = 0;
  bool is_compressed = true;
};

struct DictionaryPageHeader {
  int32_t num_values = 0;
  Encoding encoding = Encoding::kPlain;
};

struct PageHeader {
  PageType type = PageType::kDataPage;
  int32_t uncompressed_page_size = 0;
  int32_t compressed_page_size = 0;
  std::optional<DataPageHeader> data_page_header;
  std::optional<DictionaryPageHeader> dictionary_page_header;
  std::optional<DataPageHeaderV2> data_page_header_v2;
};

void SerializeFileMetaData(const FileMetaData& meta, std::string* out);
void SerializePageHeader(const PageHeader& header, std::string* out);

// Parse errors come back as Corruption with the thrift decoder's position; the caller adds
// the file name.
Result<FileMetaData> ParseFileMetaData(const uint8_t* data, size_t size);
// *header_size receives the encoded length of the header.
Result<PageHeader> ParsePageHeader(const uint8_t* data, size_t size, size_t* header_size);

}  // namespace tidemark::lake::pq
