#include "cli/loadgen.h"

#include <gtest/gtest.h>

#include <simdjson.h>

#include <map>
#include <set>

#include "common/files.h"
#include "schema/avro.h"
#include "schema/registry.h"

namespace tidemark::cli {
namespace {

TEST(LoadgenTest, SameSeedGivesTheSameEvents) {
  LoadgenOptions o;
  o.events = 500;
  o.start_ms = 1775800800000;
  o.dup_rate = 0.1;
  auto a = GenerateEvents(o);
  auto b = GenerateEvents(o);
  ASSERT_EQ(a.size(), 500u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].json, b[i].json);
}

TEST(LoadgenTest, EventsAverageAboutFourHundredSixtyBytes) {
  LoadgenOptions o;
  o.events = 20000;
  o.start_ms = 1775800800000;
  size_t bytes = 0;
  for (const auto& e : GenerateEvents(o)) bytes += e.json.size();
  double avg = static_cast<double>(bytes) / 20000;
  EXPECT_GT(avg, 400);
  EXPECT_LT(avg, 520);
}

TEST(LoadgenTest, DuplicatesRepeatAnEarlierPayloadExactly) {
  LoadgenOptions o;
  o.events = 5000;
  o.start_ms = 1775800800000;
  o.dup_rate = 0.2;
  auto events = GenerateEvents(o);
  std::map<std::string, std::string> first;
  int dups = 0;
  for (const auto& e : events) {
    if (e.duplicate) {
      ++dups;
      ASSERT_TRUE(first.count(e.event_id)) << "duplicate of an event never sent";
      EXPECT_EQ(first[e.event_id], e.json);
    } else {
      EXPECT_TRUE(first.emplace(e.event_id, e.json).second) << "original event id repeated";
    }
  }
  EXPECT_GT(dups, 500);
  EXPECT_LT(dups, 1500);
}

TEST(LoadgenTest, InvalidEventsAreMarkedAndBroken) {
  LoadgenOptions o;
  o.events = 2000;
  o.start_ms = 1775800800000;
  o.invalid_rate = 0.1;
  int invalid = 0;
  for (const auto& e : GenerateEvents(o)) {
    if (!e.invalid) continue;
    ++invalid;
    bool broken = e.json.find("\"user_id\"") == std::string::npos ||
                  e.json.find("\"yesterday\"") != std::string::npos ||
                  e.json.find("Bad Type") != std::string::npos;
    EXPECT_TRUE(broken) << e.json;
  }
  EXPECT_GT(invalid, 100);
}

TEST(LoadgenTest, CompressBodyRefusesUnknownCodecs) {
  auto r = CompressBody("x", "brotli");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "unknown compression 'brotli' (none|gzip|zstd)");
  EXPECT_TRUE(CompressBody("hello", "gzip").ok());
  EXPECT_TRUE(CompressBody("hello", "zstd").ok());
}

// schemas/loadgen/<type>.avsc describe loadgen's events exactly: each is a valid event
// schema, and every valid event encodes with its type's schema with no key left over and
// no value of another type.
TEST(LoadgenTest, EveryEventEncodesWithItsTypesSchemaInSchemasLoadgen) {
  std::map<std::string, std::shared_ptr<const schema::AvroSchema>> schemas;
  for (const char* type : {"page_view", "screen_view", "click", "add_to_cart", "purchase", "signup", "app_open",
                           "experiment_exposure", "api_request"}) {
    const std::string path = std::string(TIDEMARK_SCHEMAS_DIR) + "/loadgen/" + type + ".avsc";
    auto text = ReadFileToString(path);
    ASSERT_TRUE(text.ok()) << text.status().ToString();
    auto parsed = schema::AvroSchema::Parse(*text);
    ASSERT_TRUE(parsed.ok()) << path << ": " << parsed.status().ToString();
    Status envelope = schema::ValidateEventSchema(**parsed);
    ASSERT_TRUE(envelope.ok()) << path << ": " << envelope.ToString();
    schemas[type] = *parsed;
  }
  LoadgenOptions o;
  o.events = 5000;
  o.users = 500;
  o.start_ms = 1775800800000;
  schema::EncodeOptions options;
  options.reject_unknown_fields = true;
  simdjson::dom::parser parser;
  std::map<std::string, int> encoded;
  for (const auto& e : GenerateEvents(o)) {
    if (e.invalid) continue;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(e.json).get(doc), simdjson::SUCCESS) << e.json;
    std::string type(doc["event_type"].get_string().value());
    ASSERT_TRUE(schemas.count(type)) << "loadgen sends " << type << ", which has no schema in schemas/loadgen";
    std::string out;
    Status st = schema::EncodeJson(*schemas[type], doc, options, &out);
    ASSERT_TRUE(st.ok()) << type << ": " << st.ToString() << "\n" << e.json;
    ++encoded[type];
  }
  EXPECT_EQ(encoded.size(), schemas.size()) << "every schema is exercised";
}

}  // namespace
}  // namespace tidemark::cli
