// Thrift compact protocol, the encoding of Parquet's footer and page headers. Only what
// Parquet uses: structs, i8/i16/i32/i64 (zigzag varints), double, binary, bool and lists.
// Written by hand from the Thrift compact protocol specification (no Thrift runtime here).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tidemark::lake {

// Type nibbles of the compact protocol.
enum class CompactType : uint8_t {
  kStop = 0,
  kBoolTrue = 1,
  kBoolFalse = 2,
  kByte = 3,
  kI16 = 4,
  kI32 = 5,
  kI64 = 6,
  kDouble = 7,
  kBinary = 8,
  kList = 9,
  kSet = 10,
  kMap = 11,
  kStruct = 12,
};

// Appends compact-encoded values to a string. Field ids are delta-encoded against the
// previous field of the same struct, so every struct must be bracketed by BeginStruct /
// EndStruct (the top-level message included). Not thread-safe.
class CompactWriter {
 public:
  explicit CompactWriter(std::string* out) : out_(out) {}

  void BeginStruct() { last_field_.push_back(0); }
  void EndStruct();  // writes the stop byte

  void FieldI16(int16_t id, int16_t v);
  void FieldI32(int16_t id, int32_t v);
  void FieldI64(int16_t id, int64_t v);
  void FieldI8(int16_t id, int8_t v);
  void FieldBool(int16_t id, bool v);
  void FieldDouble(int16_t id, double v);
  void FieldBinary(int16_t id, std::string_view v);
  // The caller writes the nested struct with BeginStruct ... EndStruct right after.
  void FieldStruct(int16_t id) { FieldHeader(id, CompactType::kStruct); }
  // The caller writes `size` elements right after (ListI32, ListBinary, or structs).
  void FieldList(int16_t id, CompactType element_type, uint32_t size);

  void ListI32(int32_t v) { Varint(ZigZag32(v)); }
  void ListBinary(std::string_view v);

 private:
  void FieldHeader(int16_t id, CompactType type);
  void Varint(uint64_t v);
  static uint64_t ZigZag32(int32_t v) {
    return static_cast<uint32_t>((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
  }
  static uint64_t ZigZag64(int64_t v) {
    return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  }

  std::string* out_;
  std::vector<int16_t> last_field_;
};

// Decodes compact-encoded values from a byte range. Reads never run past the end: on any
// malformed input the reader records the first error, returns zero values from then on,
// and ok() turns false; callers check ok() once after decoding a whole structure.
// Nesting depth is bounded so hostile input cannot exhaust the stack. Not thread-safe.
class CompactReader {
 public:
  CompactReader(const uint8_t* data, size_t size) : p_(data), end_(data + size), begin_(data) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  size_t position() const { return static_cast<size_t>(p_ - begin_); }

  void BeginStruct();
  void EndStruct();
  // Reads the next field header of the current struct; false at its stop byte (or on error).
  bool NextField(int16_t* id, CompactType* type);

  int32_t ReadI32();
  int64_t ReadI64();
  int8_t ReadI8();
  double ReadDouble();
  std::string ReadBinary();
  // Field booleans live in the type nibble; pass the type from NextField.
  static bool BoolFromFieldType(CompactType type) { return type == CompactType::kBoolTrue; }
  // Returns the element count; the caller then reads that many elements.
  uint32_t ReadListHeader(CompactType* element_type);
  // Skips one value of the given type (unknown fields of newer writers).
  void Skip(CompactType type);

  void Fail(std::string message);

 private:
  uint64_t ReadVarint();
  void SkipDepth(CompactType type, int depth);

  const uint8_t* p_;
  const uint8_t* end_;
  const uint8_t* begin_;
  std::vector<int16_t> last_field_;
  std::string error_;
};

}  // namespace tidemark::lake
