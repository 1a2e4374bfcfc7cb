// RFC 3339 timestamps <-> UTC epoch milliseconds, without the C library's time zone state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tidemark {

// "2026-04-10T06:00:00.123Z", "2026-04-10T08:00:00+02:00", "2026-04-10 06:00:00Z".
// Fractions beyond milliseconds are truncated. nullopt when the text is not RFC 3339.
std::optional<int64_t> ParseRfc3339Millis(std::string_view text);
// Always "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string FormatRfc3339Millis(int64_t epoch_ms);
// "YYYY-MM-DD" of the UTC day holding epoch_ms.
std::string FormatDate(int64_t epoch_ms);
// Days since 1970-01-01 for a civil date (proleptic Gregorian).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);

}  // namespace tidemark
