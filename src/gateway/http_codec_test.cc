#include "gateway/http_codec_internal.h"

#include <gtest/gtest.h>

#include "gateway/test_util_internal.h"

namespace tidemark::gateway::internal {
namespace {

using testing::Gzip;
using testing::Zstd;

const std::string kBody = R"([{"event_type":"a","timestamp":1,"user_id":"u"}])";

DecodeOutcome Decode(std::string_view encoding, std::string raw, std::string* out, size_t max = 1 << 20) {
  return DecodeBody(encoding, std::move(raw), max, out);
}

TEST(DecodeBody, IdentityAndMissingEncodingPassThrough) {
  std::string out;
  EXPECT_EQ(Decode("", kBody, &out).http_status, 200);
  EXPECT_EQ(out, kBody);
  EXPECT_EQ(Decode("Identity", kBody, &out).http_status, 200);
  EXPECT_EQ(out, kBody);
}

TEST(DecodeBody, GzipAndZstdRoundTrip) {
  std::string out;
  EXPECT_EQ(Decode("gzip", Gzip(kBody), &out).http_status, 200);
  EXPECT_EQ(out, kBody);
  EXPECT_EQ(Decode("ZSTD", Zstd(kBody), &out).http_status, 200);
  EXPECT_EQ(out, kBody);
}

TEST(DecodeBody, ConcatenatedGzipMembersAreOneBody) {
  std::string out;
  EXPECT_EQ(Decode("gzip", Gzip("ab") + Gzip("cd"), &out).http_status, 200);
  EXPECT_EQ(out, "abcd");
}

TEST(DecodeBody, TruncatedGzipIs400) {
  std::string gz = Gzip(std::string(10000, 'x') + kBody);
  std::string out;
  DecodeOutcome d = Decode("gzip", gz.substr(0, gz.size() / 2), &out);
  EXPECT_EQ(d.http_status, 400);
  EXPECT_EQ(d.message, "gzip body is truncated (the stream ends early)");
  EXPECT_EQ(Decode("gzip", "", &out).http_status, 400);
}

TEST(DecodeBody, MalformedGzipIs400) {
  std::string out;
  DecodeOutcome d = Decode("gzip", "this is not gzip at all", &out);
  EXPECT_EQ(d.http_status, 400);
  EXPECT_EQ(d.message, "gzip body is malformed: incorrect header check");
  std::string gz = Gzip(kBody);
  gz[gz.size() / 2] ^= 0x55;
  EXPECT_EQ(Decode("gzip", gz, &out).http_status, 400);
  EXPECT_EQ(Decode("gzip", Gzip(kBody) + "junk", &out).message,
            "gzip body has 4 bytes of trailing garbage");
}

TEST(DecodeBody, TruncatedAndMalformedZstdAre400) {
  std::string z = Zstd(std::string(10000, 'x') + kBody);
  std::string out;
  DecodeOutcome truncated = Decode("zstd", z.substr(0, z.size() - 3), &out);
  EXPECT_EQ(truncated.http_status, 400);
  EXPECT_EQ(truncated.message, "zstd body is truncated (the frame ends early)");
  DecodeOutcome malformed = Decode("zstd", "definitely not zstd", &out);
  EXPECT_EQ(malformed.http_status, 400);
  EXPECT_EQ(malformed.message, "zstd body is malformed: Unknown frame descriptor");
  EXPECT_EQ(Decode("zstd", "", &out).http_status, 400);
}

TEST(DecodeBody, ZipBombsStopAtTheLimit) {
  std::string zeros(32 << 20, '\0');
  std::string out;
  DecodeOutcome gz = Decode("gzip", Gzip(zeros, 9), &out, 1 << 20);
  EXPECT_EQ(gz.http_status, 413);
  EXPECT_EQ(gz.message, "decoded body exceeds 1048576 bytes");
  EXPECT_LE(out.capacity(), (2u << 20) + 65536);
  DecodeOutcome zs = Decode("zstd", Zstd(zeros, 19), &out, 1 << 20);
  EXPECT_EQ(zs.http_status, 413);
  // Exactly at the limit is fine.
  EXPECT_EQ(Decode("gzip", Gzip(std::string(1 << 20, 'a')), &out, 1 << 20).http_status, 200);
  EXPECT_EQ(out.size(), 1u << 20);
}

TEST(DecodeBody, OtherEncodingsAre415) {
  std::string out;
  DecodeOutcome d = Decode("br", kBody, &out);
  EXPECT_EQ(d.http_status, 415);
  EXPECT_EQ(d.message, "Content-Encoding 'br' is not supported (identity, gzip, zstd)");
  EXPECT_EQ(Decode("gzip, zstd", kBody, &out).http_status, 415);
}

}  // namespace
}  // namespace tidemark::gateway::internal
