// Compact JSON output for events, DLQ records and HTTP answers: appends to a caller-owned
// std::string so that hot paths reuse one buffer and never build intermediate strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <simdjson.h>

namespace tidemark::event {

// Appends s as a quoted JSON string. Bytes that are not valid UTF-8 are written as
// U+FFFD so that the output is always valid JSON.
void AppendJsonString(std::string* out, std::string_view s);

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
