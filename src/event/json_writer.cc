#include "event/json_writer.h"

#include <charconv>
#include <cstring>

namespace tidemark::event {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// True for bytes that JSON strings cannot carry verbatim, or that start a multi-byte
// sequence and therefore need UTF-8 validation.
inline bool NeedsCare(unsigned char c) { return c < 0x20 || c == '"' || c == '\\' || c >= 0x80; }

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

void AppendStringBody(std::string* out, std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const auto* run = p;
    while (p < end && !NeedsCare(*p)) ++p;
    if (p > run) out->append(reinterpret_cast<const char*>(run), static_cast<size_t>(p - run));
    if (p == end) break;
    unsigned char c = *p;
    if (c >= 0x80) {
      size_t n = Utf8SequenceLength(p, end);
      if (n == 0) {
        out->append("\xEF\xBF\xBD");  // U+FFFD
        ++p;
      } else {
        out->append(reinterpret_cast<const char*>(p), n);
        p += n;
      }
      continue;
    }
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default: {
        char buf[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out->append(buf, 6);
      }
    }
    ++p;
  }
}

void AppendDouble(std::string* out, double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
  // Keep a double recognisable as one ("1.0", not "1") so typed consumers see no change.
  if (std::memchr(buf, '.', r.ptr - buf) == nullptr && std::memchr(buf, 'e', r.ptr - buf) == nullptr) {
    out->append(".0");
  }
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  AppendStringBody(out, s);
  out->push_back('"');
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
  using simdjson::dom::element_type;
  switch (element.type()) {
    case element_type::OBJECT: {
      out->push_back('{');
      bool first = true;
      for (auto field : simdjson::dom::object(element)) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(out, field.key);
        out->push_back(':');
        AppendJsonElement(out, field.value);
      }
      out->push_back('}');
      break;
    }
    case element_type::ARRAY: {
      out->push_back('[');
      bool first = true;
      for (auto value : simdjson::dom::array(element)) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonElement(out, value);
      }
      out->push_back(']');
      break;
    }
    case element_type::STRING: {
      std::string_view s;
      if (element.get(s) != simdjson::SUCCESS) s = {};
      AppendJsonString(out, s);
      break;
    }
    case element_type::INT64: {
      int64_t v = 0;
      if (element.get(v) != simdjson::SUCCESS) v = {};
      AppendJsonInt(out, v);
      break;
    }
    case element_type::UINT64: {
      uint64_t v = 0;
      if (element.get(v) != simdjson::SUCCESS) v = {};
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v);
      out->append(buf, r.ptr);
      break;
    }
    case element_type::DOUBLE: {
      double v = 0;
      if (element.get(v) != simdjson::SUCCESS) v = {};
      AppendDouble(out, v);
      break;
    }
    case element_type::BOOL: {
      bool v = false;
      if (element.get(v) != simdjson::SUCCESS) v = {};
      out->append(v ? "true" : "false");
      break;
    }
    case element_type::NULL_VALUE:
      out->append("null");
      break;
  }
}

void AppendJsonElementBounded(std::string* out, simdjson::dom::element element, size_t max_bytes) {
  size_t start = out->size();
  AppendJsonElement(out, element);
  if (out->size() - start <= max_bytes) return;
  std::string compact = out->substr(start);
  out->resize(start);
  AppendJsonStringTruncated(out, compact, max_bytes);
}

}  // namespace tidemark::event
