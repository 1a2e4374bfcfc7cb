#include "event/json_writer.h"

#include <algorithm>
#include <charconv>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tidemark::event {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// 1 for bytes JSON strings cannot carry verbatim; 2 for bytes that start or continue a
// multi-byte UTF-8 sequence (checked only for untrusted input).
struct EscapeTable {
  unsigned char v[256];
  constexpr EscapeTable() : v() {
    for (int c = 0; c < 256; ++c) v[c] = c < 0x20 || c == '"' || c == '\\' ? 1 : (c >= 0x80 ? 2 : 0);
  }
};
constexpr EscapeTable kEscape;

// True when any byte of the 8-byte word is < 0x20, '"' or '\\' (exact, no false negatives).
inline bool WordNeedsEscape(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  uint64_t less_20 = (w - kOnes * 0x20) & ~w;
  uint64_t q = w ^ (kOnes * '"');
  uint64_t quote = (q - kOnes) & ~q;
  uint64_t b = w ^ (kOnes * '\\');
  uint64_t backslash = (b - kOnes) & ~b;
  return ((less_20 | quote | backslash) & kHigh) != 0;
}

inline bool WordHasHighBit(uint64_t w) { return (w & 0x8080808080808080ULL) != 0; }

// Length of the valid UTF-8 sequence starting at p (1..4), or 0 when it is invalid.
size_t Utf8SequenceLength(const unsigned char* p, const unsigned char* end) {
  unsigned char c = p[0];
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (static_cast<size_t>(end - p) < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

// Writes the escaped body of s at d (which has room for 6 * s.size() bytes) and returns
// the new end.
char* EscapeInto(char* d, std::string_view s, bool trusted_utf8) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
#if defined(__SSE2__)
    // Fast path: sixteen plain bytes at a time. Stores whole blocks (d has room for 6x).
    while (end - p >= 16) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
      __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
      __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
      int mask = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control));
      if (!trusted_utf8) mask |= _mm_movemask_epi8(v);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d), v);
      if (mask == 0) {
        p += 16;
        d += 16;
        continue;
      }
      int plain = __builtin_ctz(static_cast<unsigned>(mask));
      p += plain;
      d += plain;
      break;
    }
    if (p == end) break;
#endif
    // Eight plain bytes at a time.
    while (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if (WordNeedsEscape(w) || (!trusted_utf8 && WordHasHighBit(w))) break;
      std::memcpy(d, p, 8);
      d += 8;
      p += 8;
    }
    if (p == end) break;
    unsigned char c = *p;
    unsigned char kind = kEscape.v[c];
    if (kind == 0 || (kind == 2 && trusted_utf8)) {
      *d++ = static_cast<char>(c);
      ++p;
      continue;
    }
    if (kind == 2) {
      size_t n = Utf8SequenceLength(p, end);
      if (n == 0) {
        std::memcpy(d, "\xEF\xBF\xBD", 3);  // U+FFFD
        d += 3;
        ++p;
      } else {
        std::memcpy(d, p, n);
        d += n;
        p += n;
      }
      continue;
    }
    *d++ = '\\';
    switch (c) {
      case '"': *d++ = '"'; break;
      case '\\': *d++ = '\\'; break;
      case '\n': *d++ = 'n'; break;
      case '\r': *d++ = 'r'; break;
      case '\t': *d++ = 't'; break;
      case '\b': *d++ = 'b'; break;
      case '\f': *d++ = 'f'; break;
      default:
        *d++ = 'u';
        *d++ = '0';
        *d++ = '0';
        *d++ = kHex[c >> 4];
        *d++ = kHex[c & 15];
    }
    ++p;
  }
  return d;
}

}  // namespace

void JsonBuffer::Grow(size_t n) {
  size_t used = data_ ? size() : 0;
  size_t cap = data_ ? static_cast<size_t>(end_ - data_.get()) : 0;
  size_t want = std::max(cap * 2, used + n + 1024);
  std::unique_ptr<char[]> bigger(new char[want]);
  if (used) std::memcpy(bigger.get(), data_.get(), used);
  data_ = std::move(bigger);
  cur_ = data_.get() + used;
  end_ = data_.get() + want;
}

void JsonBuffer::PutString(std::string_view s, bool trusted_utf8) {
  Ensure(s.size() * 6 + 2);
  *cur_++ = '"';
  cur_ = EscapeInto(cur_, s, trusted_utf8);
  *cur_++ = '"';
}

void JsonBuffer::PutInt(int64_t v) {
  Ensure(24);
  cur_ = std::to_chars(cur_, cur_ + 24, v).ptr;
}

void JsonBuffer::PutUint(uint64_t v) {
  Ensure(24);
  cur_ = std::to_chars(cur_, cur_ + 24, v).ptr;
}

void JsonBuffer::PutDouble(double v) {
  Ensure(40);
  char* start = cur_;
  cur_ = std::to_chars(cur_, cur_ + 38, v).ptr;
  // Keep a double recognisable as one ("1.0", not "1") so typed consumers see no change.
  size_t n = static_cast<size_t>(cur_ - start);
  if (std::memchr(start, '.', n) == nullptr && std::memchr(start, 'e', n) == nullptr) {
    *cur_++ = '.';
    *cur_++ = '0';
  }
}

void JsonBuffer::PutElement(simdjson::dom::element element) {
  using simdjson::dom::element_type;
  switch (element.type()) {
    case element_type::OBJECT: {
      Put('{');
      bool first = true;
      for (auto field : simdjson::dom::object(element)) {
        if (!first) Put(',');
        first = false;
        PutString(field.key, true);
        Put(':');
        PutElement(field.value);
      }
      Put('}');
      break;
    }
    case element_type::ARRAY: {
      Put('[');
      bool first = true;
      for (auto value : simdjson::dom::array(element)) {
        if (!first) Put(',');
        first = false;
        PutElement(value);
      }
      Put(']');
      break;
    }
    case element_type::STRING: {
      std::string_view s;
      if (element.get(s) != simdjson::SUCCESS) s = {};
      PutString(s, true);
      break;
    }
    case element_type::INT64: {
      int64_t v = 0;
      if (element.get(v) != simdjson::SUCCESS) v = 0;
      PutInt(v);
      break;
    }
    case element_type::UINT64: {
      uint64_t v = 0;
      if (element.get(v) != simdjson::SUCCESS) v = 0;
      PutUint(v);
      break;
    }
    case element_type::DOUBLE: {
      double v = 0;
      if (element.get(v) != simdjson::SUCCESS) v = 0;
      PutDouble(v);
      break;
    }
    case element_type::BOOL: {
      bool v = false;
      if (element.get(v) != simdjson::SUCCESS) v = false;
      PutRaw(v ? "true" : "false");
      break;
    }
    case element_type::NULL_VALUE:
      PutRaw("null");
      break;
  }
}

char* EscapeJsonInto(char* d, std::string_view s, bool trusted_utf8) { return EscapeInto(d, s, trusted_utf8); }

void AppendJsonString(std::string* out, std::string_view s, bool trusted_utf8) {
  size_t start = out->size();
  out->resize(start + s.size() * 6 + 2);
  char* d = out->data() + start;
  *d++ = '"';
  d = EscapeInto(d, s, trusted_utf8);
  *d++ = '"';
  out->resize(static_cast<size_t>(d - out->data()));
}

void AppendJsonStringTruncated(std::string* out, std::string_view s, size_t max_bytes) {
  if (s.size() > max_bytes) {
    size_t cut = max_bytes;
    // Step back over continuation bytes so a multi-byte character is not split.
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut);
  }
  AppendJsonString(out, s);
}

void AppendJsonInt(std::string* out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

void AppendJsonElement(std::string* out, simdjson::dom::element element) {
  thread_local JsonBuffer buffer;
  buffer.Clear();
  buffer.PutElement(element);
  out->append(buffer.view());
}

void AppendJsonElementBounded(std::string* out, simdjson::dom::element element, size_t max_bytes) {
  thread_local JsonBuffer buffer;
  buffer.Clear();
  buffer.PutElement(element);
  if (buffer.size() <= max_bytes) {
    out->append(buffer.view());
  } else {
    AppendJsonStringTruncated(out, buffer.view(), max_bytes);
  }
}

}  // namespace tidemark::event
