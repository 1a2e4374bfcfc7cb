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

std::vector<int64_t> DeltaRoundTrip(const std::vector<int64_t>& values) {
  std::string encoded;
  EncodeDeltaBinaryPacked(values.data(), values.size(), &encoded);
  std::vector<int64_t> decoded(values.size());
  Status st = DecodeDeltaBinaryPacked(reinterpret_cast<const uint8_t*>(encoded.data()), encoded.size(),
                                      values.size(), decoded.data());
  EXPECT_TRUE(st.ok()) << st.ToString();
  return decoded;
}

TEST(DeltaBinaryPacked, RoundTripsEveryLengthAroundBlocksAndExtremeDeltas) {
  uint64_t x = 88172645463325252ull;
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (size_t n : {size_t{0}, size_t{1}, size_t{2}, size_t{31}, size_t{32}, size_t{33}, size_t{127},
                   size_t{128}, size_t{129}, size_t{130}, size_t{160}, size_t{257}, size_t{1000}}) {
    std::vector<int64_t> increasing(n), random(n), extremes(n);
    int64_t t = 1'775'800'800'000;
    for (size_t i = 0; i < n; ++i) {
      t += static_cast<int64_t>(next() % 2000) - 200;  // mostly rising, sometimes back
      increasing[i] = t;
      random[i] = static_cast<int64_t>(next());
      extremes[i] = i % 3 == 0 ? INT64_MIN : (i % 3 == 1 ? INT64_MAX : 0);
    }
    EXPECT_EQ(DeltaRoundTrip(increasing), increasing) << n;
    EXPECT_EQ(DeltaRoundTrip(random), random) << n;
    EXPECT_EQ(DeltaRoundTrip(extremes), extremes) << n;
    EXPECT_EQ(DeltaRoundTrip(std::vector<int64_t>(n, -7)), std::vector<int64_t>(n, -7)) << n;
  }
}

TEST(DeltaBinaryPacked, ASequenceOfSmallStepsPacksSmallAndTruncatedInputIsCorruption) {
  std::vector<int64_t> offsets(10000);
  for (size_t i = 0; i < offsets.size(); ++i) offsets[i] = 5'000'000 + static_cast<int64_t>(i);
  std::string encoded;
  EncodeDeltaBinaryPacked(offsets.data(), offsets.size(), &encoded);
  EXPECT_LT(encoded.size(), offsets.size() / 10);  // width 0: a header per block
  std::vector<int64_t> decoded(offsets.size());
  for (size_t cut : {size_t{0}, size_t{3}, encoded.size() / 2, encoded.size() - 1}) {
    EXPECT_EQ(DecodeDeltaBinaryPacked(reinterpret_cast<const uint8_t*>(encoded.data()), cut,
                                      offsets.size(), decoded.data())
                  .code(),
              StatusCode::kCorruption)
        << cut;
  }
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

TEST(SameBytes, FindsADifferenceAtAnyPositionOfAnyLength) {
  for (size_t n = 0; n <= 40; ++n) {
    std::string a(n, 'x');
    for (size_t i = 0; i < n; ++i) a[i] = static_cast<char>('a' + (i * 7) % 26);
    EXPECT_TRUE(SameBytes(a.data(), std::string(a).data(), n)) << n;
    for (size_t at = 0; at < n; ++at) {
      std::string b = a;
      b[at] = static_cast<char>(b[at] ^ 0x20);
      EXPECT_FALSE(SameBytes(a.data(), b.data(), n)) << "length " << n << ", byte " << at;
    }
  }
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
