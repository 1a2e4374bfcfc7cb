#include <cstring>

#include "lake/column_stats_internal.h"

namespace tidemark::lake {

namespace {
template <typename T>
std::string RawBytes(T v) {
  std::string out(sizeof(T), '\0');
  std::memcpy(out.data(), &v, sizeof(T));  // Parquet is little-endian, as are our hosts
  return out;
}
template <typename T>
T FromRaw(std::string_view bytes) {
  T v;
  std::memcpy(&v, bytes.data(), sizeof(T));
  return v;
}
bool IsContinuationByte(unsigned char c) { return (c & 0xc0) == 0x80; }
}  // namespace

std::string EncodeStatValue(const StatValue& value) {
  switch (value.index()) {
    case 1:
      return std::string(1, std::get<bool>(value) ? '\1' : '\0');
    case 2:
      return RawBytes(std::get<int32_t>(value));
    case 3:
      return RawBytes(std::get<int64_t>(value));
    case 4:
      return RawBytes(std::get<double>(value));
    case 5:
      return std::get<std::string>(value);
    default:
      return {};
  }
}

std::optional<StatValue> DecodeStatValue(ColumnType type, std::string_view bytes) {
  switch (type) {
    case ColumnType::kBoolean:
      if (bytes.size() != 1) return std::nullopt;
      return StatValue(bytes[0] != 0);
    case ColumnType::kInt32:
      if (bytes.size() != 4) return std::nullopt;
      return StatValue(FromRaw<int32_t>(bytes));
    case ColumnType::kInt64:
    case ColumnType::kTimestampMillis:
      if (bytes.size() != 8) return std::nullopt;
      return StatValue(FromRaw<int64_t>(bytes));
    case ColumnType::kDouble:
      if (bytes.size() != 8) return std::nullopt;
      return StatValue(FromRaw<double>(bytes));
    case ColumnType::kString:
      return StatValue(std::string(bytes));
  }
  return std::nullopt;
}

std::string TruncateStringMin(std::string_view value, size_t max_bytes) {
  if (value.size() <= max_bytes) return std::string(value);
  size_t cut = max_bytes;
  while (cut > 0 && IsContinuationByte(static_cast<unsigned char>(value[cut]))) --cut;
  return std::string(value.substr(0, cut));
}

std::optional<std::string> TruncateStringMax(std::string_view value, size_t max_bytes) {
  if (value.size() <= max_bytes) return std::string(value);
  // Incrementing an ASCII byte below 0x7f keeps the text valid UTF-8 and makes the prefix
  // greater than every string that starts with the original prefix.
  for (size_t i = std::min(max_bytes, value.size()); i > 0; --i) {
    const unsigned char c = static_cast<unsigned char>(value[i - 1]);
    if (c < 0x7f) {
      std::string out(value.substr(0, i));
      out.back() = static_cast<char>(c + 1);
      return out;
    }
  }
  return std::nullopt;
}

}  // namespace tidemark::lake
