#include "common/hashing.h"

#include <gtest/gtest.h>

#include <string>

namespace tidemark {
namespace {

TEST(Crc32cTest, MatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
}

// Bit by bit, from the definition (reflected polynomial 0x82F63B78).
uint32_t ReferenceCrc32c(const std::string& data) {
  uint32_t c = ~0u;
  for (unsigned char byte : data) {
    c ^= byte;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return ~c;
}

TEST(Crc32cTest, LongBuffersMatchTheDefinitionAtEveryBlockBoundary) {
  std::string data(5 * 3 * 4096 + 77, '\0');
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (char& ch : data) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ch = static_cast<char>(x);
  }
  for (size_t n : {size_t{0}, size_t{1}, size_t{8}, size_t{12287}, size_t{12288}, size_t{12289},
                   size_t{12295}, size_t{24576}, size_t{30000}, data.size()}) {
    const std::string part = data.substr(0, n);
    EXPECT_EQ(Crc32c(part), ReferenceCrc32c(part)) << n << " bytes";
  }
  // Resumed from a CRC, across the blocks.
  EXPECT_EQ(Crc32c(data.data() + 5, data.size() - 5, Crc32c(data.data(), 5)), ReferenceCrc32c(data));
}

TEST(Crc32cTest, IncrementalEqualsOneShot) {
  std::string data(1000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  uint32_t part = Crc32c(data.data(), 333);
  EXPECT_EQ(Crc32c(data.data() + 333, data.size() - 333, part), Crc32c(data));
}

// Values from Kafka's own partitioner tests, so keys land on the same partitions as in Kafka.
TEST(Murmur2Test, AgreesWithKafkasJavaClient) {
  EXPECT_EQ(Murmur2("21"), -973932308);
  EXPECT_EQ(Murmur2("foobar"), -790332482);
  EXPECT_EQ(Murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(Murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(Murmur2("abc"), 479470107);
}

TEST(Murmur2Test, PartitionIsNonNegative) {
  for (int i = 0; i < 1000; ++i) {
    int p = KafkaPartition("user-" + std::to_string(i), 8);
    EXPECT_GE(p, 0);
    EXPECT_LT(p, 8);
  }
}

TEST(DigestTest, Sha256AndHmacKnownAnswers) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(DigestTest, ConstantTimeEqualsNeedsEqualLengthAndBytes) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secrets"));
}

}  // namespace
}  // namespace tidemark
