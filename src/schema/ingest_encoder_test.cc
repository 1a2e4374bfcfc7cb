#include "schema/ingest_encoder.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/hashing.h"
#include "event/event_parser.h"
#include "schema/testing_log_internal.h"
#include "schema/wire_format.h"

namespace tidemark::schema {
namespace {

std::string ReadSchema(const std::string& name) {
  std::ifstream in(std::string(TIDEMARK_SCHEMAS_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class IngestEncoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = Registry::Open(log_).value();
    ASSERT_TRUE(registry_->Register("checkout-value", ReadSchema("checkout.avsc")).ok());
    options_.pii_hash_secret = "s3cret";
    options_.strict_by_source["strict-app"] = true;
  }
  void MakeEncoder() { encoder_ = NewIngestEncoder(*registry_, options_).value(); }

  // Checks and encodes one event as the gateway would; the error, or "" and *record.
  std::string Encode(const std::string& json, log::Record* record, std::string_view source = "web-sdk",
                     std::string_view client_ip = "203.0.113.77") {
    simdjson::dom::element raw = parser_.parse(json).value();
    event::IngestContext ctx;
    ctx.received_at_ms = 1775800800000;
    ctx.source = source;
    ctx.default_platform = "web";
    ctx.client_ip = client_ip;
    event::JsonBuffer scratch;
    event::NormalizeOutcome checked = event::NormalizeEvent(raw, ctx, event::EventLimits{}, &scratch);
    if (!checked.ok()) return "envelope: " + checked.error->message;
    record->key = std::string(checked.partition_key);
    auto err = encoder_->Encode(gateway::EncodeInput{raw, &checked, source, client_ip, false}, record);
    if (err) return std::string(event::ReasonCode(err->reason)) + ": " + err->message;
    return "";
  }
  nlohmann::json Decode(const log::Record& record) {
    ConsumerDecoder decoder(*registry_);
    std::string json;
    Status st = decoder.DecodeToJson(record.value, &json);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return st.ok() ? nlohmann::json::parse(json) : nlohmann::json();
  }

  testing::InMemoryLog log_;
  std::unique_ptr<Registry> registry_;
  IngestEncoderOptions options_;
  std::unique_ptr<gateway::EventEncoder> encoder_;
  simdjson::dom::parser parser_;
};

constexpr const char* kCheckout = R"({"event_type":"checkout","timestamp":1775800700000,"user_id":"ada@example.com",
  "properties":{"order_id":"o-1","revenue":12.5,"email":"ada@example.com"}})";

TEST_F(IngestEncoderTest, RegisteredTypeIsConfluentFramedAvroWithTheGatewaysAdditionsMasked) {
  MakeEncoder();
  log::Record record;
  ASSERT_EQ(Encode(kCheckout, &record), "");
  ASSERT_EQ(record.value[0], kWireMagicByte);
  EXPECT_EQ(ParseWireValue(record.value)->schema_id, registry_->GetVersion("checkout-value", 1)->id);
  auto j = Decode(record);
  EXPECT_EQ(j["event_id"].get<std::string>().size(), 32u);  // derived
  EXPECT_EQ(j["platform"], "web");                          // from the key
  EXPECT_EQ(j["context"]["ip"], "203.0.113.0");             // client IP, truncated
  EXPECT_EQ(j["properties"]["email"], HmacSha256Hex("s3cret", "ada@example.com"));
  EXPECT_EQ(log::HeaderValue(record.headers, "source"), "web-sdk");
  EXPECT_EQ(record.value.find("203.0.113.77"), std::string::npos);
}

TEST_F(IngestEncoderTest, TypeViolationIsASchemaViolationNamingTheField) {
  MakeEncoder();
  log::Record record;
  EXPECT_EQ(Encode(R"({"event_type":"checkout","timestamp":1775800700000,"user_id":"u",
    "properties":{"order_id":"o-1","revenue":"twelve"}})", &record),
            "schema_violation: properties.revenue: expected double, got string");
}

TEST_F(IngestEncoderTest, UnknownSchemaVersionIsASchemaViolation) {
  MakeEncoder();
  log::Record record;
  EXPECT_EQ(Encode(R"({"event_type":"checkout","schema_version":7,"timestamp":1775800700000,"user_id":"u",
    "properties":{"order_id":"o-1","revenue":1}})", &record),
            "schema_violation: schema_version: subject checkout-value has no version 7");
}

TEST_F(IngestEncoderTest, UnknownTypeIsGenericWhenPermissiveAndRejectedWhenStrict) {
  MakeEncoder();
  log::Record record;
  const std::string event = R"({"event_type":"level_up","timestamp":1775800700000,"user_id":"u",
    "context":{"locale":"en"},"properties":{"level":3,"tags":["a"]}})";
  ASSERT_EQ(Encode(event, &record), "");
  EXPECT_EQ(ParseWireValue(record.value)->schema_id, registry_->GetVersion(std::string(kGenericSubject), 1)->id);
  auto j = Decode(record);
  EXPECT_EQ(j["properties"]["tags"][0], "a");
  EXPECT_EQ(j["context"]["locale"], "en");
  EXPECT_EQ(Encode(event, &record, "strict-app"),
            "unknown_event_type: event_type: 'level_up' has no registered schema (subject level_up-value) "
            "and source 'strict-app' accepts only registered types");
  options_.strict_unknown_types = true;
  options_.strict_by_source = {{"web-sdk", false}};
  MakeEncoder();
  EXPECT_EQ(Encode(event, &record, "web-sdk"), "");
  EXPECT_NE(Encode(event, &record, "other"), "");
}

TEST_F(IngestEncoderTest, KeyFromAHashedUserIdIsHashedToo) {
  ASSERT_TRUE(registry_->SetSubjectCompatibility("checkout-value", CompatibilityMode::kNone).ok());
  std::string schema = ReadSchema("checkout.avsc");
  const std::string from = R"({"name": "user_id", "type": ["null", "string"], "default": null})";
  ASSERT_NE(schema.find(from), std::string::npos);
  schema.replace(schema.find(from), from.size(),
                 R"({"name": "user_id", "type": ["null", "string"], "default": null, "pii": "hash"})");
  ASSERT_TRUE(registry_->Register("checkout-value", schema).ok());
  MakeEncoder();
  log::Record record;
  ASSERT_EQ(Encode(kCheckout, &record), "");
  EXPECT_EQ(record.key, HmacSha256Hex("s3cret", "ada@example.com"));
  EXPECT_EQ(record.value.find("ada@example.com"), std::string::npos);
}

TEST_F(IngestEncoderTest, NewSchemaVersionIsSeenWithoutRestart) {
  MakeEncoder();
  log::Record record;
  const std::string event = R"({"event_type":"page_view","timestamp":1775800700000,"user_id":"u"})";
  ASSERT_EQ(Encode(event, &record), "");
  EXPECT_EQ(ParseWireValue(record.value)->schema_id, registry_->GetVersion(std::string(kGenericSubject), 1)->id);
  ASSERT_TRUE(registry_->Register("page_view-value", ReadSchema("page_view/v1.avsc")).ok());
  ASSERT_EQ(Encode(event, &record), "");
  EXPECT_EQ(ParseWireValue(record.value)->schema_id, registry_->GetVersion("page_view-value", 1)->id);
}

TEST_F(IngestEncoderTest, RejectedEventIsMaskedForTheDlq) {
  MakeEncoder();
  simdjson::dom::element raw = parser_.parse(std::string(R"({"event_type":"checkout","properties":{"email":"ada@example.com"}})")).value();
  std::string out;
  encoder_->AppendMaskedEvent(raw, &out);
  EXPECT_EQ(out, R"({"event_type":"checkout","properties":{"email":")" + HmacSha256Hex("s3cret", "ada@example.com") + "\"}}");
}

TEST(IngestEncoderOptionsTest, SecretIsCreatedOnceWithMode0600) {
  char tmpl[] = "/tmp/tidemark-secret-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  Config config;
  auto a = IngestEncoderOptions::FromConfig(config, dir).value();
  auto b = IngestEncoderOptions::FromConfig(config, dir).value();
  EXPECT_EQ(a.pii_hash_secret.size(), 64u);
  EXPECT_EQ(a.pii_hash_secret, b.pii_hash_secret);
  struct stat st;
  ASSERT_EQ(::stat((dir + "/pii-secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::filesystem::remove_all(dir);
}

TEST(IngestEncoderOptionsTest, BadModesAreRefusedByName) {
  Config config;
  ASSERT_TRUE(config.Set("schema.pii_hash_secret", "k").ok());
  ASSERT_TRUE(config.Set("schema.unknown_event_types_by_source", "ios:strict,web:lenient").ok());
  EXPECT_EQ(IngestEncoderOptions::FromConfig(config, "/nonexistent").status().message(),
            "schema.unknown_event_types_by_source: 'lenient' is neither strict nor permissive");
}

}  // namespace
}  // namespace tidemark::schema
