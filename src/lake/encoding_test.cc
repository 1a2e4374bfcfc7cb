#include <gtest/gtest.h>

#include <random>

#include "lake/encoding_internal.h"

namespace tidemark::lake {
namespace {

std::vector<uint32_t> RoundTrip(const std::vector<uint32_t>& values, int bit_width) {
  std::string encoded;
  EncodeRleBitPacked(values.data(), values.size(), bit_width, &encoded);
  std::vector<uint32_t> decoded(values.size());
  Status s = DecodeRleBitPacked(reinterpret_cast<const uint8_t*>(encoded.data()), encoded.size(),
                                bit_width, values.size(), decoded.data());
  EXPECT_TRUE(s.ok()) << s.ToString();
  return decoded;
}

TEST(RleBitPacked, BitPackedGroupMatchesTheSpecExample) {
  // The Parquet spec's example: 0..7 at bit width 3 packs to 10001000 11000110 11111010.
  const std::vector<uint32_t> values = {0, 1, 2, 3, 4, 5, 6, 7};
  std::string encoded;
  EncodeRleBitPacked(values.data(), values.size(), 3, &encoded);
  EXPECT_EQ(encoded, std::string("\x03\x88\xc6\xfa"));
}

TEST(RleBitPacked, LongRepeatBecomesOneRleRun) {
  const std::vector<uint32_t> values(100, 5);
  std::string encoded;
  EncodeRleBitPacked(values.data(), values.size(), 3, &encoded);
  // Header 100 << 1 = 200 as a varint, then the value in one byte.
  EXPECT_EQ(encoded, std::string("\xc8\x01\x05"));
  EXPECT_EQ(RoundTrip(values, 3), values);
}

TEST(RleBitPacked, MixedRunsRoundTripAtEveryWidth) {
  std::mt19937 rng(7);
  for (int width = 1; width <= 32; ++width) {
    const uint64_t limit = width == 32 ? 0xffffffffull : (1ull << width) - 1;
    std::vector<uint32_t> values;
    while (values.size() < 5000) {
      const uint32_t v = static_cast<uint32_t>(rng() % (limit + 1));
      const size_t repeat = rng() % 3 == 0 ? rng() % 40 : 1;  // runs of all lengths, incl. 8-15
      values.insert(values.end(), repeat + 1, v);
    }
    EXPECT_EQ(RoundTrip(values, width), values) << "width " << width;
  }
}

TEST(RleBitPacked, TruncatedInputIsCorruption) {
  const std::vector<uint32_t> values = {1, 2, 3, 4, 5, 6, 7, 0, 1, 2};
  std::string encoded;
  EncodeRleBitPacked(values.data(), values.size(), 3, &encoded);
  std::vector<uint32_t> decoded(values.size());
  Status s = DecodeRleBitPacked(reinterpret_cast<const uint8_t*>(encoded.data()), 3, 3,
                                values.size(), decoded.data());
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("runs past the end"), std::string::npos) << s.message();
}

TEST(PlainBooleans, PackLeastSignificantBitFirst) {
  const std::vector<uint8_t> values = {1, 0, 1, 1, 0, 0, 0, 0, 1};
  std::string encoded;
  EncodePlainBooleans(values.data(), values.size(), &encoded);
  EXPECT_EQ(encoded, std::string("\x0d\x01", 2));
  std::vector<uint8_t> decoded(values.size());
  ASSERT_TRUE(DecodePlainBooleans(reinterpret_cast<const uint8_t*>(encoded.data()), encoded.size(),
                                  values.size(), decoded.data())
                  .ok());
  EXPECT_EQ(decoded, values);
}

TEST(StringDictionary, ReturnsFirstSeenIndicesAndRefusesPastItsBound) {
  StringDictionary dict(/*max_plain_bytes=*/4 * 3 + 3);  // three one-byte strings
  uint32_t i;
  ASSERT_TRUE(dict.Insert("a", &i));
  EXPECT_EQ(i, 0u);
  ASSERT_TRUE(dict.Insert("b", &i));
  EXPECT_EQ(i, 1u);
  ASSERT_TRUE(dict.Insert("a", &i));
  EXPECT_EQ(i, 0u);
  ASSERT_TRUE(dict.Insert("c", &i));
  EXPECT_EQ(i, 2u);
  EXPECT_FALSE(dict.Insert("d", &i));
  ASSERT_TRUE(dict.Insert("b", &i));  // known values still resolve after the refusal
  EXPECT_EQ(i, 1u);
  EXPECT_EQ(dict.size(), 3u);
}

TEST(StringDictionary, ManyDistinctValuesSurviveRehashing) {
  StringDictionary dict(int64_t{1} << 30);
  for (int n = 0; n < 100000; ++n) {
    uint32_t i;
    ASSERT_TRUE(dict.Insert("value-" + std::to_string(n), &i));
    ASSERT_EQ(i, static_cast<uint32_t>(n));
  }
  for (int n = 0; n < 100000; n += 997) {
    uint32_t i;
    ASSERT_TRUE(dict.Insert("value-" + std::to_string(n), &i));
    EXPECT_EQ(i, static_cast<uint32_t>(n));
  }
}

}  // namespace
}  // namespace tidemark::lake
