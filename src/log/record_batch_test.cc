#include "log/record_batch_internal.h"

#include <unistd.h>

#include <filesystem>

#include "log/embedded_log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tidemark::log::internal {
namespace {

std::vector<Record> SampleRecords(int n) {
  std::vector<Record> records;
  for (int i = 0; i < n; ++i) {
    // Timestamps go back and forth so that deltas are negative too.
    records.push_back({"user-" + std::to_string(i % 7), std::string(100 + i, static_cast<char>('a' + i % 26)),
                       1'700'000'000'000 + (i % 2 == 0 ? i : -i)});
  }
  records.push_back({"", "", 5});  // empty key and value, far-away timestamp
  return records;
}

std::vector<StoredRecord> DecodeAll(const BatchHeader& h, const char* p, int64_t from = 0) {
  ReadBudget budget{SIZE_MAX, SIZE_MAX};
  ReadBatch out;
  Status st = DecodeBatchRecords(h, p, from, &budget, &out, "test");
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out.Release();
}

TEST(RecordBatchTest, EncodeThenDecodeGivesTheRecordsBack) {
  for (Codec codec : {Codec::kNone, Codec::kZstd}) {
    BatchEncoder encoder;
    ByteBuffer buf;
    const std::vector<Record> records = SampleRecords(50);
    BatchHeader h = encoder.Encode(1000, records, codec, &buf);
    ASSERT_EQ(buf.size(), h.total_size());
    EXPECT_EQ(h.codec(), codec);
    EXPECT_EQ(h.record_count, 51);
    EXPECT_EQ(h.next_offset(), 1051);
    EXPECT_EQ(h.max_timestamp_ms, 1'700'000'000'048);

    BatchHeader parsed;
    std::string why;
    ASSERT_TRUE(ParseBatchHeader(buf.data(), &parsed, &why)) << why;
    EXPECT_EQ(parsed.crc, h.crc);
    EXPECT_TRUE(BatchCrcMatches(parsed, buf.data()));
    std::vector<StoredRecord> out = DecodeAll(parsed, buf.data());
    ASSERT_EQ(out.size(), records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      EXPECT_EQ(out[i].offset, 1000 + static_cast<int64_t>(i));
      EXPECT_EQ(out[i].key, records[i].key);
      EXPECT_EQ(out[i].value, records[i].value);
      EXPECT_EQ(out[i].timestamp_ms, records[i].timestamp_ms);
    }
  }
}

TEST(RecordBatchTest, ZstdShrinksRepetitiveRecords) {
  BatchEncoder encoder;
  ByteBuffer plain, packed;
  const std::vector<Record> records = SampleRecords(200);
  encoder.Encode(0, records, Codec::kNone, &plain);
  encoder.Encode(0, records, Codec::kZstd, &packed);
  EXPECT_LT(packed.size() * 4, plain.size());
}

TEST(RecordBatchTest, IncompressibleRecordsStayUncompressed) {
  BatchEncoder encoder;
  ByteBuffer buf;
  std::string noise;
  uint32_t x = 12345;
  for (int i = 0; i < 64; ++i) noise.push_back(static_cast<char>((x = x * 1103515245 + 12345) >> 24));
  BatchHeader h = encoder.Encode(0, {{"k", noise, 1}}, Codec::kZstd, &buf);
  EXPECT_EQ(h.codec(), Codec::kNone);
}

TEST(RecordBatchTest, BitFlipAnywhereAfterTheCrcFieldIsDetected) {
  BatchEncoder encoder;
  ByteBuffer buf;
  BatchHeader h = encoder.Encode(7, SampleRecords(3), Codec::kNone, &buf);
  for (size_t i = kCrcStart; i < buf.size(); i += 13) {
    buf.data()[i] ^= 0x10;
    EXPECT_FALSE(BatchCrcMatches(h, buf.data())) << "flip at byte " << i;
    buf.data()[i] ^= 0x10;
  }
  EXPECT_TRUE(BatchCrcMatches(h, buf.data()));
}

TEST(RecordBatchTest, ZeroFilledHeaderIsRejectedWithAReason) {
  char zeros[kBatchHeaderSize] = {};
  BatchHeader h;
  std::string why;
  EXPECT_FALSE(ParseBatchHeader(zeros, &h, &why));
  EXPECT_EQ(why, "batch length 0 out of range");
}

TEST(RecordBatchTest, DecodeSkipsRecordsBeforeFromAndHonoursTheBudget) {
  BatchEncoder encoder;
  ByteBuffer buf;
  BatchHeader h = encoder.Encode(100, SampleRecords(9), Codec::kNone, &buf);  // offsets 100..109
  std::vector<StoredRecord> out = DecodeAll(h, buf.data(), 105);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out.front().offset, 105);

  ReadBudget budget{1, SIZE_MAX};  // one byte: still one record
  ReadBatch one;
  ASSERT_TRUE(DecodeBatchRecords(h, buf.data(), 100, &budget, &one, "test").ok());
  EXPECT_EQ(one.size(), 1u);
}

}  // namespace
}  // namespace tidemark::log::internal

namespace tidemark::log::internal {
namespace {

TEST(RecordHeadersTest, HeadersRoundTripThroughTheEmbeddedLog) {
  const std::string dir = ::testing::TempDir() + "/headers-log-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  EmbeddedLogOptions o;
  o.dir = dir;
  auto lg = OpenEmbeddedLog(o);
  ASSERT_TRUE(lg.ok());
  ASSERT_TRUE((*lg)->CreateTopic("t", 1).ok());
  Record with{"k", "v1", 5, {{"received_at", "1775800800000"}, {"source", "web-shop"}}};
  Record without{"k", "v2", 6, {}};
  ASSERT_TRUE(AppendAndWait(**lg, "t", 0, {with, without}).ok());
  auto read = (*lg)->Read("t", 0, 0);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].headers, with.headers);
  EXPECT_EQ(HeaderValue((*read)[0].headers, "source"), "web-shop");
  EXPECT_TRUE((*read)[1].headers.empty());
  EXPECT_EQ((*read)[1].value, "v2");
  lg->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tidemark::log::internal
