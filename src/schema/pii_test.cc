#include "schema/pii.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/hashing.h"
#include "schema/avro.h"

namespace tidemark::schema {
namespace {

TEST(PiiTest, TruncateIpKeepsTheIpv4Slash24) {
  EXPECT_EQ(TruncateIp("203.0.113.77").value(), "203.0.113.0");
}

TEST(PiiTest, TruncateIpKeepsTheIpv6Slash48) {
  EXPECT_EQ(TruncateIp("2001:db8:abcd:12:34::1").value(), "2001:db8:abcd::");
  EXPECT_EQ(TruncateIp("::ffff:198.51.100.9").value(), "::ffff:198.51.100.0");
}

TEST(PiiTest, TruncateIpRefusesWhatIsNotAnAddress) {
  auto r = TruncateIp("not-an-ip");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "'not-an-ip' is not an IP address");
  EXPECT_FALSE(TruncateIp("10.0.0.1:80").ok());
  EXPECT_FALSE(TruncateIp("").ok());
}

TEST(PiiTest, TruncateIpRefusesMalformedIpv4) {
  for (const char* bad : {"1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "1.2.3.4 "}) {
    EXPECT_FALSE(TruncateIp(bad).ok()) << bad;
  }
  EXPECT_EQ(TruncateIp("0.0.0.0").value(), "0.0.0.0");
  EXPECT_EQ(TruncateIp("255.255.255.255").value(), "255.255.255.0");
}

TEST(PiiTest, HashIsHmacSha256ForShortAndLongSecrets) {
  const std::string long_secret(100, 'k');
  for (const std::string& secret : {std::string("s"), std::string(64, 'x'), long_secret}) {
    EXPECT_EQ(HashPiiValue(secret, "ada@example.com"), HmacSha256Hex(secret, "ada@example.com")) << secret;
    EXPECT_EQ(HashPiiValue(secret, ""), HmacSha256Hex(secret, ""));
  }
}

class PiiEncodingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream in(std::string(TIDEMARK_SCHEMAS_DIR) + "/checkout.avsc");
    std::stringstream ss;
    ss << in.rdbuf();
    schema_ = AvroSchema::Parse(ss.str()).value();
    options_.pii_hash_secret = "s3cret";
  }
  nlohmann::json EncodeAndDecode(std::string_view event) {
    auto bin = EncodeJsonText(*schema_, event, options_);
    EXPECT_TRUE(bin.ok()) << bin.status().ToString();
    if (!bin.ok()) return nullptr;
    return nlohmann::json::parse(DecodeToJson(*schema_, *bin).value());
  }
  std::shared_ptr<const AvroSchema> schema_;
  EncodeOptions options_;
};

constexpr const char* kEvent = R"({"event_id":"e","event_type":"checkout","timestamp":1,"user_id":"u",
  "context":{"ip":"192.168.17.201"},
  "properties":{"order_id":"o","revenue":1,"email":"ada@example.com","phone":"+44 20 7946 0000",
                "shipping_address":"1 Main St"}})";

TEST_F(PiiEncodingTest, HashedEmailIsHmacSha256UnderTheSecret) {
  auto out = EncodeAndDecode(kEvent);
  EXPECT_EQ(out["properties"]["email"], HmacSha256Hex("s3cret", "ada@example.com"));
  EXPECT_EQ(out["properties"]["email"].get<std::string>().size(), 64u);
}

TEST_F(PiiEncodingTest, IpIsTruncatedDroppedFieldIsNullRedactedFieldIsMarked) {
  auto out = EncodeAndDecode(kEvent);
  EXPECT_EQ(out["context"]["ip"], "192.168.17.0");
  EXPECT_EQ(out["properties"]["phone"], nullptr);
  EXPECT_EQ(out["properties"]["shipping_address"], std::string(kRedactedValue));
}

TEST_F(PiiEncodingTest, RawValuesNeverReachTheEncodedBytes) {
  auto bin = EncodeJsonText(*schema_, kEvent, options_).value();
  for (const char* raw : {"ada@example.com", "192.168.17.201", "7946", "Main St"}) {
    EXPECT_EQ(bin.find(raw), std::string::npos) << raw;
  }
}

TEST_F(PiiEncodingTest, HashWithoutASecretIsRefused) {
  options_.pii_hash_secret = "";
  auto r = EncodeJsonText(*schema_, kEvent, options_);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "properties.email: pii 'hash' needs a configured secret");
}

TEST_F(PiiEncodingTest, BadIpIsASchemaViolationNamingTheField) {
  auto r = EncodeJsonText(*schema_, R"({"event_id":"e","event_type":"checkout","timestamp":1,
    "context":{"ip":"localhost"},"properties":{"order_id":"o","revenue":1}})", options_);
  EXPECT_EQ(r.status().message(), "context.ip: truncate_ip: 'localhost' is not an IP address");
}

TEST_F(PiiEncodingTest, GatewayOverridesFillOnlyAbsentFieldsAndAreMaskedToo) {
  const FieldOverride overrides[] = {{"", "event_id", "derived-id"},
                                     {"", "platform", "ios"},
                                     {"context", "ip", "198.51.100.23"}};
  options_.overrides = overrides;
  // No event_id, no platform, no context at all: each comes from an override, the IP masked.
  auto out = EncodeAndDecode(R"({"event_type":"checkout","timestamp":1,"user_id":"u",
    "properties":{"order_id":"o","revenue":1}})");
  EXPECT_EQ(out["event_id"], "derived-id");
  EXPECT_EQ(out["platform"], "ios");
  EXPECT_EQ(out["context"]["ip"], "198.51.100.0");
  EXPECT_EQ(out["context"]["device_type"], "unknown");
  // The event's own values win over the overrides.
  out = EncodeAndDecode(kEvent);
  EXPECT_EQ(out["event_id"], "e");
  EXPECT_EQ(out["context"]["ip"], "192.168.17.0");
}

TEST_F(PiiEncodingTest, OverrideOutsideAnEnumIsASchemaViolation) {
  const FieldOverride overrides[] = {{"", "platform", "tv"}};
  options_.overrides = overrides;
  auto r = EncodeJsonText(*schema_, R"({"event_id":"e","event_type":"checkout","timestamp":1,
    "properties":{"order_id":"o","revenue":1}})", options_);
  EXPECT_EQ(r.status().message(),
            "platform: expected one of enum tidemark.events.Platform's symbols (web, ios, android, server), got 'tv'");
}

TEST_F(PiiEncodingTest, MaskedJsonOfARejectedEventHoldsNoRawValue) {
  simdjson::dom::parser parser;
  // revenue has the wrong type (the event would be rejected), the PII is still masked.
  std::string event = R"({"event_type":"checkout","user_id":"u","context":{"ip":"192.168.17.201","locale":"en"},
    "properties":{"revenue":"lots","email":"ada@example.com","phone":"+44 20 7946 0000",
                  "shipping_address":"1 Main St","extra":{"email":"kept@example.com"}}})";
  std::string out;
  AppendMaskedJson(*schema_, parser.parse(event).value(), options_, &out);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["context"]["ip"], "192.168.17.0");
  EXPECT_EQ(j["context"]["locale"], "en");
  EXPECT_EQ(j["properties"]["email"], HmacSha256Hex("s3cret", "ada@example.com"));
  EXPECT_FALSE(j["properties"].contains("phone"));
  EXPECT_EQ(j["properties"]["shipping_address"], std::string(kRedactedValue));
  EXPECT_EQ(j["properties"]["revenue"], "lots");
  // A field the schema does not describe is not annotated, so it is copied.
  EXPECT_EQ(j["properties"]["extra"]["email"], "kept@example.com");
  for (const char* raw : {"ada@example.com", "192.168.17.201", "7946", "Main St"}) {
    EXPECT_EQ(out.find(raw), std::string::npos) << raw;
  }
}

TEST(JsonTextTest, JsonStringFieldsHoldAnyValueAndDecodeBackToIt) {
  auto schema = AvroSchema::Parse(R"({"type":"record","name":"G","fields":[
    {"name":"properties","type":{"type":"string","logicalType":"json"},"default":"{}"}]})").value();
  EXPECT_EQ(schema->root().fields[0].type->logical, LogicalType::kJson);
  auto bin = EncodeJsonText(*schema, R"({"properties":{"a":[1,2.5,"x"],"b":{"c":null}}})").value();
  EXPECT_EQ(DecodeToJson(*schema, bin).value(), R"({"properties":{"a":[1,2.5,"x"],"b":{"c":null}}})");
  bin = EncodeJsonText(*schema, R"({})").value();
  EXPECT_EQ(DecodeToJson(*schema, bin).value(), R"({"properties":{}})");
}

}  // namespace
}  // namespace tidemark::schema
