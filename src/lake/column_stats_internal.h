// Statistics values between their in-memory form (StatValue) and Parquet's PLAIN-encoded
// min_value/max_value bytes, and the truncation rules for long strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "lake/parquet.h"

namespace tidemark::lake {

// PLAIN bytes of a value (strings without the length prefix); empty for monostate.
std::string EncodeStatValue(const StatValue& value);
// nullopt when the bytes do not fit the type (e.g. 3 bytes for an int32).
std::optional<StatValue> DecodeStatValue(ColumnType type, std::string_view bytes);

// A prefix of at most max_bytes that is still <= value, cut at a UTF-8 character boundary.
std::string TruncateStringMin(std::string_view value, size_t max_bytes);
// A string of at most max_bytes that is >= value: a prefix whose last ASCII byte is
// incremented. nullopt when no such prefix exists (then no max is written).
std::optional<std::string> TruncateStringMax(std::string_view value, size_t max_bytes);

}  // namespace tidemark::lake
