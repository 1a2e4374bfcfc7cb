// Avro binary primitives (zig-zag varints, IEEE floats little-endian) and a JSON text
// writer shared by the encoder, the decoders and the canonical-form printer. Private to
// src/schema.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace tidemark::schema::internal {

inline void AppendVarLong(int64_t value, std::string* out) {
  uint64_t n = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  char buf[10];
  size_t len = 0;
  while (n >= 0x80) {
    buf[len++] = static_cast<char>((n & 0x7f) | 0x80);
    n >>= 7;
  }
  buf[len++] = static_cast<char>(n);
  out->append(buf, len);
}

inline void AppendFloat(float value, std::string* out) {
  char buf[4];
  std::memcpy(buf, &value, 4);  // x86-64 and aarch64 are little-endian, as Avro is
  out->append(buf, 4);
}

inline void AppendDouble(double value, std::string* out) {
  char buf[8];
  std::memcpy(buf, &value, 8);
  out->append(buf, 8);
}

inline void AppendAvroString(std::string_view s, std::string* out) {
  AppendVarLong(static_cast<int64_t>(s.size()), out);
  out->append(s);
}

// Reads Avro binary with bounds checks; every failure leaves ok() false and the caller turns
// it into a Corruption status naming the byte offset.
class BinaryReader {
 public:
  explicit BinaryReader(std::string_view data)
      : begin_(reinterpret_cast<const uint8_t*>(data.data())),
        p_(begin_),
        end_(begin_ + data.size()) {}

  [[gnu::always_inline]] bool ReadLong(int64_t* value) {
    if (p_ != end_ && *p_ < 0x80) {  // one byte: most lengths, branches and small numbers
      const uint64_t n = *p_++;
      *value = static_cast<int64_t>(n >> 1) ^ -static_cast<int64_t>(n & 1);
      return true;
    }
    return ReadLongSlow(value);
  }
  [[gnu::always_inline]] bool ReadInt(int32_t* value) {
    int64_t v;
    if (!ReadLong(&v) || v < INT32_MIN || v > INT32_MAX) return false;
    *value = static_cast<int32_t>(v);
    return true;
  }
  bool ReadFloat(float* value) {
    if (remaining() < 4) return false;
    std::memcpy(value, p_, 4);
    p_ += 4;
    return true;
  }
  [[gnu::always_inline]] bool ReadDouble(double* value) {
    if (remaining() < 8) return false;
    std::memcpy(value, p_, 8);
    p_ += 8;
    return true;
  }
  [[gnu::always_inline]] bool ReadBytes(std::string_view* value) {
    int64_t len;
    if (!ReadLong(&len) || len < 0 || static_cast<uint64_t>(len) > remaining()) return false;
    return ReadFixed(static_cast<size_t>(len), value);
  }
  [[gnu::always_inline]] bool ReadFixed(size_t size, std::string_view* value) {
    if (size > remaining()) return false;
    *value = std::string_view(reinterpret_cast<const char*>(p_), size);
    p_ += size;
    return true;
  }
  bool Skip(size_t size) {
    if (size > remaining()) return false;
    p_ += size;
    return true;
  }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  size_t position() const { return static_cast<size_t>(p_ - begin_); }

 private:
  // ReadLong past its one-byte case, out of line.
  [[gnu::noinline]] bool ReadLongSlow(int64_t* value) {
    uint64_t n = 0;
    int shift = 0;
    while (true) {
      if (p_ == end_ || shift > 63) return false;
      uint8_t b = *p_++;
      n |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
      shift += 7;
    }
    *value = static_cast<int64_t>(n >> 1) ^ -static_cast<int64_t>(n & 1);
    return true;
  }

  const uint8_t* begin_;
  const uint8_t* p_;
  const uint8_t* end_;
};

// JSON text output helpers.
// utf8 quoted and escaped; its bytes above 0x7f are copied as they are (event's escaper, in
// its trusted-UTF-8 mode).
void AppendJsonString(std::string_view utf8, std::string* out);
// Bytes as a JSON string of code points U+0000..U+00FF, as Avro's JSON encoding does.
void AppendJsonLatin1(std::string_view bytes, std::string* out);
// Shortest round-trip text; NaN and infinities (which JSON cannot carry) become null.
void AppendJsonDouble(double value, std::string* out);
void AppendJsonFloat(float value, std::string* out);
inline void AppendJsonInt(int64_t value, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  out->append(buf, r.ptr);
}

}  // namespace tidemark::schema::internal
