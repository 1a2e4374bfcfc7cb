#include "schema/wire_format.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "schema/testing_log_internal.h"

namespace tidemark::schema {
namespace {

std::string Load(const std::string& name) {
  std::ifstream in(std::string(TIDEMARK_SCHEMAS_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(WireFormatTest, HeaderIsMagicZeroAndBigEndianId) {
  std::string out;
  AppendWireHeader(0x01020304, &out);
  EXPECT_EQ(out, std::string("\x00\x01\x02\x03\x04", 5));
  const std::string value = out + "body";
  auto parsed = ParseWireValue(value);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->schema_id, 0x01020304);
  EXPECT_EQ(parsed->avro, "body");
}

TEST(WireFormatTest, ShortOrUnframedValuesAreCorruption) {
  EXPECT_EQ(ParseWireValue(std::string_view("\x00\x01", 2)).status().message(),
            "wire format: value of 2 bytes is shorter than the 5-byte header");
  EXPECT_EQ(ParseWireValue("{\"a\":1}").status().message(), "wire format: magic byte is 123, expected 0");
}

TEST(ConsumerDecoderTest, OldDataIsReadWithTheLatestSchemaAndItsDefaults) {
  testing::InMemoryLog log;
  auto registry = Registry::Open(log).value();
  auto v1 = registry->Register("page_view-value", Load("page_view/v1.avsc")).value();
  simdjson::dom::parser parser;
  std::string framed;
  ASSERT_TRUE(EncodeFramed(v1.id, *v1.schema,
                           parser.parse(std::string_view(R"({"event_id":"e1","user_id":"u","event_type":"page_view","timestamp":7})")),
                           {}, &framed)
                  .ok());
  ASSERT_TRUE(registry->Register("page_view-value", Load("page_view/v2.avsc")).ok());
  ASSERT_TRUE(registry->Register("page_view-value", Load("page_view/v3.avsc")).ok());

  ConsumerDecoder consumer(*registry);
  std::string out;
  ASSERT_TRUE(consumer.DecodeToJson(framed, &out).ok());
  EXPECT_EQ(nlohmann::json::parse(out), nlohmann::json::parse(R"({"event_id":"e1","user_id":"u",
    "event_type":"page_view","timestamp":7,
    "context":{"device_type":"unknown","app_version":null,"geo_lat":null,"geo_lng":null}})"));
}

TEST(ConsumerDecoderTest, IdsRegisteredElsewhereAreFoundByCatchingUp) {
  testing::InMemoryLog log;
  auto producer_side = Registry::Open(log).value();
  auto consumer_side = Registry::Open(log).value();
  auto v1 = producer_side->Register("page_view-value", Load("page_view/v1.avsc")).value();
  auto body = EncodeJsonText(*v1.schema, R"({"event_id":"e","event_type":"page_view","timestamp":1})").value();
  std::string framed;
  AppendWireHeader(v1.id, &framed);
  framed += body;
  ConsumerDecoder consumer(*consumer_side);
  std::string out;
  Status s = consumer.DecodeToJson(framed, &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out, R"({"event_id":"e","user_id":null,"event_type":"page_view","timestamp":1})");

  std::string unknown;
  AppendWireHeader(99, &unknown);
  EXPECT_EQ(consumer.DecodeToJson(unknown, &out).message(), "wire format: schema id 99 is not registered");
}

}  // namespace
}  // namespace tidemark::schema
