// ColumnBatch, Column and statistics ordering: the in-memory side of lake Parquet files.
#include <algorithm>
#include <cassert>
#include <cstring>
#include <type_traits>

#include "lake/parquet.h"

namespace tidemark::lake {

std::string_view ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kBoolean:
      return "boolean";
    case ColumnType::kInt32:
      return "int32";
    case ColumnType::kInt64:
      return "int64";
    case ColumnType::kDouble:
      return "double";
    case ColumnType::kString:
      return "string";
    case ColumnType::kTimestampMillis:
      return "timestamp_ms";
  }
  return "unknown";
}

int Schema::FindField(std::string_view name) const {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

Column::Column(ColumnType type) : type_(type) {
  if (type_ == ColumnType::kString) offsets_.push_back(0);
}

void Column::Reserve(size_t rows, size_t string_bytes) {
  switch (type_) {
    case ColumnType::kBoolean:
      u8_.reserve(rows);
      break;
    case ColumnType::kInt32:
      i32_.reserve(rows);
      break;
    case ColumnType::kInt64:
    case ColumnType::kTimestampMillis:
      i64_.reserve(rows);
      break;
    case ColumnType::kDouble:
      f64_.reserve(rows);
      break;
    case ColumnType::kString:
      offsets_.reserve(rows + 1);
      bytes_.reserve(string_bytes);
      break;
  }
}

void Column::Clear() {
  size_ = 0;
  null_count_ = 0;
  validity_.clear();
  u8_.clear();
  i32_.clear();
  i64_.clear();
  f64_.clear();
  bytes_.clear();
  offsets_.clear();
  if (type_ == ColumnType::kString) offsets_.push_back(0);
}

void Column::AppendNull() {
  if (null_count_ == 0) validity_.assign(size_, 1);
  validity_.push_back(0);
  ++null_count_;
  ++size_;
  switch (type_) {
    case ColumnType::kBoolean:
      u8_.push_back(0);
      break;
    case ColumnType::kInt32:
      i32_.push_back(0);
      break;
    case ColumnType::kInt64:
    case ColumnType::kTimestampMillis:
      i64_.push_back(0);
      break;
    case ColumnType::kDouble:
      f64_.push_back(0);
      break;
    case ColumnType::kString:
      offsets_.push_back(bytes_.size());
      break;
  }
}

void Column::AppendRange(const Column& other, size_t begin, size_t end) {
  assert(other.type_ == type_ && "AppendRange between columns of different types");
  assert(begin <= end && end <= other.size_ && "AppendRange outside the source column");
  const size_t n = end - begin;
  if (n == 0) return;
  // Validity first: it depends on both sides having nulls or not.
  size_t added_nulls = 0;
  if (other.null_count_ > 0) {
    for (size_t i = begin; i < end; ++i) added_nulls += other.validity_[i] == 0;
  }
  if (added_nulls > 0 || null_count_ > 0) {
    if (null_count_ == 0) validity_.assign(size_, 1);
    if (other.null_count_ > 0) {
      validity_.insert(validity_.end(), other.validity_.begin() + begin,
                       other.validity_.begin() + end);
    } else {
      validity_.insert(validity_.end(), n, 1);
    }
  }
  null_count_ += added_nulls;
  size_ += n;
  switch (type_) {
    case ColumnType::kBoolean:
      u8_.insert(u8_.end(), other.u8_.begin() + begin, other.u8_.begin() + end);
      break;
    case ColumnType::kInt32:
      i32_.insert(i32_.end(), other.i32_.begin() + begin, other.i32_.begin() + end);
      break;
    case ColumnType::kInt64:
    case ColumnType::kTimestampMillis:
      i64_.insert(i64_.end(), other.i64_.begin() + begin, other.i64_.begin() + end);
      break;
    case ColumnType::kDouble:
      f64_.insert(f64_.end(), other.f64_.begin() + begin, other.f64_.begin() + end);
      break;
    case ColumnType::kString: {
      const uint64_t src_begin = other.offsets_[begin];
      const uint64_t shift = bytes_.size() - src_begin;  // wraps as intended for unsigned math
      bytes_.append(std::string_view(other.bytes_.data() + src_begin, other.offsets_[end] - src_begin));
      if (offsets_.capacity() < offsets_.size() + n) {
        offsets_.reserve(std::max(offsets_.size() + n, offsets_.capacity() * 2));  // amortised
      }
      for (size_t i = begin + 1; i <= end; ++i) offsets_.push_back(other.offsets_[i] + shift);
      break;
    }
  }
}

ColumnBatch::ColumnBatch(Schema schema) : schema_(std::move(schema)) {
  columns_.reserve(schema_.fields.size());
  for (const Field& f : schema_.fields) columns_.emplace_back(f.type);
}

const Column* ColumnBatch::FindColumn(std::string_view name) const {
  const int i = schema_.FindField(name);
  return i < 0 ? nullptr : &columns_[static_cast<size_t>(i)];
}

void ColumnBatch::Clear() {
  for (Column& c : columns_) c.Clear();
}

Status ColumnBatch::Validate() const {
  const size_t rows = num_rows();
  for (size_t i = 0; i < columns_.size(); ++i) {
    const Field& f = schema_.fields[i];
    if (columns_[i].size() != rows) {
      return Status::InvalidArgument("column " + f.name + " has " +
                                     std::to_string(columns_[i].size()) + " rows, column " +
                                     schema_.fields[0].name + " has " + std::to_string(rows));
    }
    if (!f.nullable && columns_[i].has_nulls()) {
      return Status::InvalidArgument("column " + f.name + " is not nullable but holds " +
                                     std::to_string(columns_[i].null_count()) + " nulls");
    }
  }
  return Status::Ok();
}

int CompareStatValues(const StatValue& a, const StatValue& b) {
  if (a.index() != b.index()) return a.index() < b.index() ? -1 : 1;
  return std::visit(
      [&](const auto& x) -> int {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return 0;
        } else if constexpr (std::is_same_v<T, std::string>) {
          const std::string& y = std::get<std::string>(b);
          const int c = std::memcmp(x.data(), y.data(), std::min(x.size(), y.size()));
          if (c != 0) return c < 0 ? -1 : 1;
          return x.size() == y.size() ? 0 : (x.size() < y.size() ? -1 : 1);
        } else {
          const T& y = std::get<T>(b);
          return x < y ? -1 : (y < x ? 1 : 0);
        }
      },
      a);
}

}  // namespace tidemark::lake
