#include "lake/thrift_compact_internal.h"

#include <cstring>

namespace tidemark::lake {

namespace {
// Parquet metadata nests four or five levels deep; anything near this limit is hostile.
constexpr size_t kMaxDepth = 64;
}  // namespace

void CompactWriter::EndStruct() {
  out_->push_back(static_cast<char>(CompactType::kStop));
  last_field_.pop_back();
}

void CompactWriter::Varint(uint64_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<char>(v));
}

void CompactWriter::FieldHeader(int16_t id, CompactType type) {
  int16_t& last = last_field_.back();
  const int delta = id - last;
  if (delta > 0 && delta <= 15) {
    out_->push_back(static_cast<char>((delta << 4) | static_cast<int>(type)));
  } else {
    out_->push_back(static_cast<char>(type));
    Varint(ZigZag32(id));
  }
  last = id;
}

void CompactWriter::FieldI16(int16_t id, int16_t v) {
  FieldHeader(id, CompactType::kI16);
  Varint(ZigZag32(v));
}

void CompactWriter::FieldI32(int16_t id, int32_t v) {
  FieldHeader(id, CompactType::kI32);
  Varint(ZigZag32(v));
}

void CompactWriter::FieldI64(int16_t id, int64_t v) {
  FieldHeader(id, CompactType::kI64);
  Varint(ZigZag64(v));
}

void CompactWriter::FieldI8(int16_t id, int8_t v) {
  FieldHeader(id, CompactType::kByte);
  out_->push_back(static_cast<char>(v));
}

void CompactWriter::FieldBool(int16_t id, bool v) {
  FieldHeader(id, v ? CompactType::kBoolTrue : CompactType::kBoolFalse);
}

void CompactWriter::FieldDouble(int16_t id, double v) {
  FieldHeader(id, CompactType::kDouble);
  char bytes[8];
  std::memcpy(bytes, &v, 8);  // little-endian host assumed (x86-64, aarch64)
  out_->append(bytes, 8);
}

void CompactWriter::FieldBinary(int16_t id, std::string_view v) {
  FieldHeader(id, CompactType::kBinary);
  ListBinary(v);
}

void CompactWriter::ListBinary(std::string_view v) {
  Varint(v.size());
  out_->append(v);
}

void CompactWriter::FieldList(int16_t id, CompactType element_type, uint32_t size) {
  FieldHeader(id, CompactType::kList);
  if (size < 15) {
    out_->push_back(static_cast<char>((size << 4) | static_cast<uint32_t>(element_type)));
  } else {
    out_->push_back(static_cast<char>(0xf0 | static_cast<uint32_t>(element_type)));
    Varint(size);
  }
}

void CompactReader::Fail(std::string message) {
  if (error_.empty()) {
    error_ = std::move(message) + " at byte " + std::to_string(position());
  }
  p_ = end_;
}

uint64_t CompactReader::ReadVarint() {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p_ >= end_) {
      Fail("thrift: truncated varint");
      return 0;
    }
    const uint8_t byte = *p_++;
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return result;
  }
  Fail("thrift: varint longer than 10 bytes");
  return 0;
}

void CompactReader::BeginStruct() {
  if (last_field_.size() >= kMaxDepth) {
    Fail("thrift: nesting deeper than 64");
    return;
  }
  last_field_.push_back(0);
}

void CompactReader::EndStruct() {
  if (!last_field_.empty()) last_field_.pop_back();
}

bool CompactReader::NextField(int16_t* id, CompactType* type) {
  if (!ok() || last_field_.empty()) return false;
  if (p_ >= end_) {
    Fail("thrift: truncated struct");
    return false;
  }
  const uint8_t byte = *p_++;
  const uint8_t type_nibble = byte & 0x0f;
  if (type_nibble == 0) return false;  // stop
  if (type_nibble > static_cast<uint8_t>(CompactType::kStruct)) {
    Fail("thrift: unknown field type " + std::to_string(type_nibble));
    return false;
  }
  *type = static_cast<CompactType>(type_nibble);
  const int delta = byte >> 4;
  if (delta != 0) {
    *id = static_cast<int16_t>(last_field_.back() + delta);
  } else {
    const uint64_t z = ReadVarint();
    *id = static_cast<int16_t>(static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1));
  }
  last_field_.back() = *id;
  return ok();
}

int32_t CompactReader::ReadI32() {
  const uint64_t z = ReadVarint();
  if (z > 0xffffffffull) {
    Fail("thrift: i32 out of range");
    return 0;
  }
  return static_cast<int32_t>(static_cast<uint32_t>(z >> 1) ^ -static_cast<uint32_t>(z & 1));
}

int64_t CompactReader::ReadI64() {
  const uint64_t z = ReadVarint();
  return static_cast<int64_t>((z >> 1) ^ -(z & 1));
}

int8_t CompactReader::ReadI8() {
  if (p_ >= end_) {
    Fail("thrift: truncated byte");
    return 0;
  }
  return static_cast<int8_t>(*p_++);
}

double CompactReader::ReadDouble() {
  if (end_ - p_ < 8) {
    Fail("thrift: truncated double");
    return 0;
  }
  double v;
  std::memcpy(&v, p_, 8);
  p_ += 8;
  return v;
}

std::string CompactReader::ReadBinary() {
  const uint64_t n = ReadVarint();
  if (n > static_cast<uint64_t>(end_ - p_)) {
    Fail("thrift: binary of " + std::to_string(n) + " bytes runs past the end");
    return {};
  }
  std::string v(reinterpret_cast<const char*>(p_), n);
  p_ += n;
  return v;
}

uint32_t CompactReader::ReadListHeader(CompactType* element_type) {
  if (p_ >= end_) {
    Fail("thrift: truncated list header");
    return 0;
  }
  const uint8_t byte = *p_++;
  *element_type = static_cast<CompactType>(byte & 0x0f);
  uint64_t size = byte >> 4;
  if (size == 15) size = ReadVarint();
  // Every element takes at least one byte, so a larger count is a lie that would make the
  // caller reserve unbounded memory.
  if (size > static_cast<uint64_t>(end_ - p_)) {
    Fail("thrift: list of " + std::to_string(size) + " elements exceeds remaining bytes");
    return 0;
  }
  return static_cast<uint32_t>(size);
}

void CompactReader::Skip(CompactType type) { SkipDepth(type, 0); }

void CompactReader::SkipDepth(CompactType type, int depth) {
  if (depth > static_cast<int>(kMaxDepth)) {
    Fail("thrift: nesting deeper than 64");
    return;
  }
  switch (type) {
    case CompactType::kBoolTrue:
    case CompactType::kBoolFalse:
      return;  // value lives in the field header
    case CompactType::kByte:
      ReadI8();
      return;
    case CompactType::kI16:
    case CompactType::kI32:
    case CompactType::kI64:
      ReadVarint();
      return;
    case CompactType::kDouble:
      ReadDouble();
      return;
    case CompactType::kBinary:
      ReadBinary();
      return;
    case CompactType::kList:
    case CompactType::kSet: {
      CompactType element;
      const uint32_t n = ReadListHeader(&element);
      for (uint32_t i = 0; i < n && ok(); ++i) {
        // Booleans inside lists take one byte each.
        if (element == CompactType::kBoolTrue || element == CompactType::kBoolFalse) {
          ReadI8();
        } else {
          SkipDepth(element, depth + 1);
        }
      }
      return;
    }
    case CompactType::kMap: {
      const uint64_t n = ReadVarint();
      if (n == 0) return;
      if (n > static_cast<uint64_t>(end_ - p_)) {
        Fail("thrift: map larger than remaining bytes");
        return;
      }
      const uint8_t types = static_cast<uint8_t>(ReadI8());
      for (uint64_t i = 0; i < n && ok(); ++i) {
        SkipDepth(static_cast<CompactType>(types >> 4), depth + 1);
        SkipDepth(static_cast<CompactType>(types & 0x0f), depth + 1);
      }
      return;
    }
    case CompactType::kStruct: {
      BeginStruct();
      int16_t id;
      CompactType field_type;
      while (NextField(&id, &field_type)) SkipDepth(field_type, depth + 1);
      EndStruct();
      return;
    }
    case CompactType::kStop:
      Fail("thrift: unexpected stop type");
      return;
  }
  Fail("thrift: unknown type");
}

}  // namespace tidemark::lake
