// Compact JSON output for events, DLQ records and HTTP answers. JsonBuffer is the hot-path
// writer (a growable char buffer with one bounds check per token, reused across events);
// the Append* functions append to a std::string for colder paths.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include <simdjson.h>

namespace tidemark::event {

// Not thread-safe; one per thread or per task.
class JsonBuffer {
 public:
  JsonBuffer() { Grow(4096); }
  void Clear() { cur_ = data_.get(); }
  size_t size() const { return static_cast<size_t>(cur_ - data_.get()); }
  std::string_view view() const { return {data_.get(), size()}; }
  // Drops everything written after the first n bytes.
  void Truncate(size_t n) { cur_ = data_.get() + n; }

  void Ensure(size_t n) {
    if (static_cast<size_t>(end_ - cur_) < n) Grow(n);
  }
  void Put(char c) {
    Ensure(1);
    *cur_++ = c;
  }
  void PutRaw(std::string_view s) {
    if (s.empty()) return;  // data() may be null
    Ensure(s.size());
    std::memcpy(cur_, s.data(), s.size());
    cur_ += s.size();
  }
  // A quoted JSON string. trusted_utf8: s is known to be valid UTF-8 (simdjson validated
  // it), so only quotes, backslashes and control characters need care; otherwise invalid
  // UTF-8 bytes become U+FFFD.
  void PutString(std::string_view s, bool trusted_utf8 = false);
  void PutInt(int64_t v);
  void PutUint(uint64_t v);
  void PutDouble(double v);
  // The element as compact JSON (object members in document order).
  void PutElement(simdjson::dom::element element);

 private:
  void Grow(size_t n);
  std::unique_ptr<char[]> data_;
  char* cur_ = nullptr;
  char* end_ = nullptr;
};

// Appends s as a quoted JSON string. Bytes that are not valid UTF-8 are written as
// U+FFFD so that the output is always valid JSON; with trusted_utf8 (s is known to be
// valid UTF-8) every byte above 0x7f is copied as it is, as JsonBuffer::PutString does.
void AppendJsonString(std::string* out, std::string_view s, bool trusted_utf8 = false);
// AppendJsonString's escaping without the quotes: the body of s written at d, which has
// room for 6 * s.size() bytes; returns the new end.
char* EscapeJsonInto(char* d, std::string_view s, bool trusted_utf8);

// Appends s quoted, cut to at most max_bytes of input at a UTF-8 character boundary.
void AppendJsonStringTruncated(std::string* out, std::string_view s, size_t max_bytes);

void AppendJsonInt(std::string* out, int64_t v);

// Appends the element as compact JSON (no insignificant whitespace, object members in
// document order). Nesting is bounded by the parser's max depth.
void AppendJsonElement(std::string* out, simdjson::dom::element element);

// Appends the element's compact JSON, or, when that would exceed max_bytes, the compact
// JSON cut to max_bytes as a JSON string (so DLQ records stay bounded and valid).
void AppendJsonElementBounded(std::string* out, simdjson::dom::element element, size_t max_bytes);

}  // namespace tidemark::event
