#include "common/time_format.h"

#include <gtest/gtest.h>

namespace tidemark {
namespace {

TEST(TimeFormatTest, ParsesUtcOffsetsAndFractions) {
  EXPECT_EQ(ParseRfc3339Millis("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseRfc3339Millis("2026-04-10T06:00:00.123Z"), 1775800800123);
  EXPECT_EQ(ParseRfc3339Millis("2026-04-10T08:00:00+02:00"), 1775800800000);
  EXPECT_EQ(ParseRfc3339Millis("2026-04-10T06:00:00.123456Z"), 1775800800123);
}

TEST(TimeFormatTest, RefusesWhatIsNotRfc3339) {
  EXPECT_FALSE(ParseRfc3339Millis("2026-04-10"));
  EXPECT_FALSE(ParseRfc3339Millis("2026-13-10T06:00:00Z"));
  EXPECT_FALSE(ParseRfc3339Millis("2026-04-10T06:00:00"));
  EXPECT_FALSE(ParseRfc3339Millis("2026-04-10T06:00:00Zjunk"));
}

TEST(TimeFormatTest, FormatsRoundTrip) {
  EXPECT_EQ(FormatRfc3339Millis(1775800800123), "2026-04-10T06:00:00.123Z");
  EXPECT_EQ(FormatRfc3339Millis(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatDate(1775800800123), "2026-04-10");
}

}  // namespace
}  // namespace tidemark
