#include "schema/avro.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tidemark::schema {
namespace {

using nlohmann::json;

std::shared_ptr<const AvroSchema> MustParse(std::string_view text) {
  auto r = AvroSchema::Parse(text);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : nullptr;
}

std::string ReadSchemaFile(const std::string& name) {
  std::ifstream in(std::string(TIDEMARK_SCHEMAS_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Hex(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

TEST(AvroSchemaTest, ParsesEveryKindOfType) {
  auto s = MustParse(R"({"type":"record","name":"All","namespace":"t","fields":[
    {"name":"n","type":"null"},{"name":"b","type":"boolean"},{"name":"i","type":"int"},
    {"name":"l","type":{"type":"long","logicalType":"timestamp-millis"}},
    {"name":"f","type":"float"},{"name":"d","type":"double"},{"name":"by","type":"bytes"},
    {"name":"s","type":"string"},
    {"name":"e","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"],"default":"RED"}},
    {"name":"a","type":{"type":"array","items":"string"}},
    {"name":"m","type":{"type":"map","values":"long"}},
    {"name":"u","type":["null","string"],"default":null},
    {"name":"fx","type":{"type":"fixed","name":"Hash","size":4},"aliases":["h"]},
    {"name":"again","type":"Color"}]})");
  ASSERT_NE(s, nullptr);
  const AvroNode& r = s->root();
  EXPECT_EQ(r.name, "t.All");
  ASSERT_EQ(r.fields.size(), 14u);
  EXPECT_EQ(r.fields[3].type->logical, LogicalType::kTimestampMillis);
  EXPECT_EQ(r.fields[8].type->name, "t.Color");
  EXPECT_EQ(r.fields[13].type, r.fields[8].type);  // a reference, not a copy
  EXPECT_EQ(r.fields[12].type->fixed_size, 4);
  EXPECT_EQ(r.fields[12].aliases, std::vector<std::string>{"h"});
  EXPECT_TRUE(r.fields[11].has_default);
}

TEST(AvroSchemaTest, CanonicalFormStripsAttributesAndUsesFullNames) {
  auto a = MustParse(R"({"namespace":"x.y","type":"record","name":"R","doc":"d",
    "fields":[{"type":{"type":"int"},"name":"a","default":3,"doc":"z"},
              {"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}},
              {"name":"r","type":"R"}]})");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->canonical_form(),
            R"({"name":"x.y.R","type":"record","fields":[{"name":"a","type":"int"},)"
            R"({"name":"t","type":"long"},{"name":"r","type":"x.y.R"}]})");
  auto b = MustParse(R"({"type":"record","name":"x.y.R","fields":[{"name":"a","type":"int","default":3},
    {"name":"t","type":{"logicalType":"timestamp-millis","type":"long"}},{"name":"r","type":"x.y.R"}]})");
  EXPECT_EQ(a->canonical_form(), b->canonical_form());
  EXPECT_EQ(a->fingerprint(), b->fingerprint());
  EXPECT_EQ(a->normalized_form(), b->normalized_form());
  auto c = MustParse(R"({"type":"record","name":"x.y.R","fields":[{"name":"a","type":"int","default":4},
    {"name":"t","type":{"logicalType":"timestamp-millis","type":"long"}},{"name":"r","type":"x.y.R"}]})");
  EXPECT_EQ(a->canonical_form(), c->canonical_form());
  EXPECT_NE(a->normalized_form(), c->normalized_form()) << "a changed default is a different schema";
}

TEST(AvroSchemaTest, PrimitiveCanonicalFormAndFingerprint) {
  auto s = MustParse(R"({"type":"string"})");
  EXPECT_EQ(s->canonical_form(), R"("string")");
  EXPECT_EQ(s->fingerprint(), AvroFingerprint64(R"("string")"));
  EXPECT_NE(AvroFingerprint64(R"("string")"), AvroFingerprint64(R"("int")"));
}

TEST(AvroSchemaTest, NestedTypesInheritTheEnclosingNamespace) {
  auto s = MustParse(R"({"type":"record","name":"Outer","namespace":"a.b","fields":[
    {"name":"in","type":{"type":"record","name":"Inner","fields":[]}},
    {"name":"again","type":"Inner"},{"name":"full","type":"a.b.Inner"}]})");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->root().fields[0].type->name, "a.b.Inner");
  EXPECT_EQ(s->root().fields[1].type, s->root().fields[0].type);
}

void ExpectInvalid(std::string_view schema, std::string_view message) {
  auto r = AvroSchema::Parse(schema);
  ASSERT_FALSE(r.ok()) << schema;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), message);
}

TEST(AvroSchemaTest, InvalidSchemasAreRefusedNamingTheField) {
  ExpectInvalid(R"({"type":"record","name":"R","fields":[{"name":"ctx","type":{"type":"record",
    "name":"C","fields":[{"name":"x","type":"Nope"}]}}]})",
                "invalid schema: field 'ctx.x': unknown type 'Nope'");
  ExpectInvalid(R"({"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]})",
                "invalid schema: field 'a': field name appears twice");
  ExpectInvalid(R"({"type":"record","name":"R","fields":[{"name":"u","type":["null",["int"]]}]})",
                "invalid schema: field 'u': a union may not contain a union");
  ExpectInvalid(R"({"type":"record","name":"R","fields":[{"name":"u","type":["string","string"]}]})",
                "invalid schema: field 'u': union holds string twice");
  ExpectInvalid(R"({"type":"record","name":"R","fields":[{"name":"count","type":"long","default":"x"}]})",
                "invalid schema: field 'count': default \"x\" does not match the type: default: expected long, got string");
  ExpectInvalid(R"({"type":"record","name":"R","fields":[{"name":"u","type":["null","string"],"default":"x"}]})",
                "invalid schema: field 'u': default \"x\" does not match the union's first branch: default: expected null, got string");
  ExpectInvalid(R"({"type":"record","name":"R","fields":[{"name":"ip","type":"string","pii":"mask"}]})",
                "invalid schema: field 'ip': unknown pii action 'mask' (expected hash, drop, truncate_ip, redact)");
  ExpectInvalid(R"({"type":"record","name":"R","fields":[{"name":"n","type":"long","pii":"hash"}]})",
                "invalid schema: field 'n': pii 'hash' needs a string field, got long");
  ExpectInvalid(R"({"type":"record","name":"R","fields":[{"name":"p","type":"string","pii":"drop"}]})",
                "invalid schema: field 'p': pii 'drop' needs a nullable type or a default");
  ExpectInvalid(R"({"type":"enum","name":"E","symbols":["A","A"]})",
                "invalid schema: schema: enum E: symbol 'A' appears twice");
  ExpectInvalid("{", "invalid schema: not valid JSON");
}

TEST(AvroSchemaTest, RecursiveSchemaRoundTrips) {
  auto s = MustParse(R"({"type":"record","name":"Node","fields":[{"name":"v","type":"int"},
    {"name":"next","type":["null","Node"],"default":null}]})");
  auto bin = EncodeJsonText(*s, R"({"v":1,"next":{"v":2,"next":{"v":3}}})");
  ASSERT_TRUE(bin.ok()) << bin.status().ToString();
  auto back = DecodeToJson(*s, *bin);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, R"({"v":1,"next":{"v":2,"next":{"v":3,"next":null}}})");
}

TEST(AvroEncodeTest, EncodesTheSpecificationsBinaryLayout) {
  auto s = MustParse(R"({"type":"record","name":"R","fields":[{"name":"a","type":"long"},
    {"name":"s","type":"string"},{"name":"u","type":["null","int"]},{"name":"b","type":"boolean"},
    {"name":"arr","type":{"type":"array","items":"int"}}]})");
  auto bin = EncodeJsonText(*s, R"({"s":"hi","a":-64,"u":3,"b":true,"arr":[1,-1]})");
  ASSERT_TRUE(bin.ok()) << bin.status().ToString();
  // -64 → 7f; "hi" → 04 68 69; union branch 1 → 02, 3 → 06; true → 01; block of 2: 04 02 01 00
  EXPECT_EQ(Hex(*bin), "7f046869020601040201" "00");
}

TEST(AvroEncodeTest, TypeErrorsNameTheFieldPath) {
  auto s = MustParse(ReadSchemaFile("checkout.avsc"));
  auto r = EncodeJsonText(*s, R"({"event_id":"e1","event_type":"checkout","timestamp":1,
    "user_id":"u","properties":{"order_id":"o","revenue":"12.50"}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "properties.revenue: expected double, got string");

  r = EncodeJsonText(*s, R"({"event_id":"e1","event_type":"checkout","timestamp":1,
    "properties":{"order_id":"o","revenue":1,"items":[{"sku":"a","quantity":1,"price":1},{"sku":"b","quantity":1.5,"price":1}]}})");
  EXPECT_EQ(r.status().message(), "properties.items[1].quantity: expected int, got number");

  r = EncodeJsonText(*s, R"({"event_id":"e1","event_type":"checkout","timestamp":1,"properties":{"revenue":1}})");
  EXPECT_EQ(r.status().message(), "properties.order_id: required field is missing (expected string)");

  r = EncodeJsonText(*s, R"({"event_id":"e1","event_type":"checkout","timestamp":"yesterday","properties":{"order_id":"o","revenue":1}})");
  EXPECT_EQ(r.status().message(),
            "timestamp: expected long (timestamp-millis) as epoch milliseconds or RFC 3339 text, got 'yesterday'");

  r = EncodeJsonText(*s, R"({"event_id":"e1","event_type":"checkout","timestamp":1,"platform":"tv","properties":{"order_id":"o","revenue":1}})");
  EXPECT_EQ(r.status().message(),
            "platform: expected one of enum tidemark.events.Platform's symbols (web, ios, android, server), got 'tv'");

  r = EncodeJsonText(*s, "[1]");
  EXPECT_EQ(r.status().message(), "event: expected record tidemark.events.Checkout, got array");
}

TEST(AvroEncodeTest, IntOutOfRangeIsRefused) {
  auto s = MustParse(R"({"type":"record","name":"R","fields":[{"name":"i","type":"int"}]})");
  auto r = EncodeJsonText(*s, R"({"i":3000000000})");
  EXPECT_EQ(r.status().message(), "i: expected int, got 3000000000 (out of the int range)");
}

TEST(AvroEncodeTest, UnknownFieldsAreIgnoredUnlessRejected) {
  auto s = MustParse(R"({"type":"record","name":"R","fields":[{"name":"i","type":"int"}]})");
  EXPECT_TRUE(EncodeJsonText(*s, R"({"i":1,"received_at":5})").ok());
  EncodeOptions strict;
  strict.reject_unknown_fields = true;
  auto r = EncodeJsonText(*s, R"({"i":1,"received_at":5})", strict);
  EXPECT_EQ(r.status().message(), "received_at: field is not in record R");
}

TEST(AvroEncodeTest, TimestampsAcceptRfc3339Text) {
  auto s = MustParse(R"({"type":"record","name":"R","fields":[
    {"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}]})");
  auto a = EncodeJsonText(*s, R"({"t":"2026-04-10T06:00:00.123Z"})");
  auto b = EncodeJsonText(*s, R"({"t":1775800800123})");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, *b);
}

TEST(AvroEncodeTest, UnionBranchFollowsTheJsonValue) {
  auto s = MustParse(R"({"type":"record","name":"R","fields":[{"name":"u","type":["null","long","double","string"]}]})");
  auto dec = [&](std::string_view j) {
    auto bin = EncodeJsonText(*s, j);
    EXPECT_TRUE(bin.ok()) << bin.status().ToString();
    return DecodeToJson(*s, *bin).value();
  };
  EXPECT_EQ(dec(R"({"u":5})"), R"({"u":5})");
  EXPECT_EQ(Hex(EncodeJsonText(*s, R"({"u":5})").value()), "020a");
  EXPECT_EQ(dec(R"({"u":2.5})"), R"({"u":2.5})");
  EXPECT_EQ(Hex(EncodeJsonText(*s, R"({"u":"x"})").value()), "060278");
  EXPECT_EQ(dec(R"({})"), R"({"u":null})");
  EXPECT_EQ(Hex(EncodeJsonText(*s, R"({"u":{"double":1}})").value()), "04000000000000f03f");
  auto bad = EncodeJsonText(*s, R"({"u":true})");
  EXPECT_EQ(bad.status().message(), "u: expected one of [null, long, double, string], got boolean");
}

TEST(AvroCodecTest, CheckoutEventRoundTrips) {
  auto s = MustParse(ReadSchemaFile("checkout.avsc"));
  const char* event = R"({"event_id":"e-1","event_type":"checkout","timestamp":1775800800000,
    "user_id":"u-42","session_id":"s-1","platform":"ios","schema_version":3,
    "context":{"user_agent":"UA/1.0 \"quoted\"","locale":"de-DE","device_type":"phone","app_version":"2.1"},
    "properties":{"order_id":"o-9","revenue":12.5,"currency":"EUR","items":[{"sku":"ä-1","quantity":2,"price":6.25}],"coupon":"X\nY"}})";
  auto bin = EncodeJsonText(*s, event);
  ASSERT_TRUE(bin.ok()) << bin.status().ToString();
  auto back = DecodeToJson(*s, *bin);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  json expected = json::parse(event);
  expected["anonymous_id"] = nullptr;
  expected["context"]["ip"] = nullptr;
  expected["properties"]["email"] = nullptr;
  expected["properties"]["phone"] = nullptr;
  expected["properties"]["shipping_address"] = nullptr;
  EXPECT_EQ(json::parse(*back), expected);
}

TEST(AvroCodecTest, BytesFixedMapsAndFloatsRoundTrip) {
  auto s = MustParse(R"({"type":"record","name":"R","fields":[{"name":"b","type":"bytes"},
    {"name":"f","type":{"type":"fixed","name":"F","size":2}},{"name":"m","type":{"type":"map","values":"float"}},
    {"name":"d","type":"double"}]})");
  auto bin = EncodeJsonText(*s, R"({"b":"\u0000\u00ffA","f":"ab","m":{"x":1.5,"y":-2},"d":0.1})");
  ASSERT_TRUE(bin.ok()) << bin.status().ToString();
  EXPECT_EQ(Hex(bin->substr(0, 4)), "0600ff41");
  EXPECT_EQ(DecodeToJson(*s, *bin).value(), R"({"b":"\u0000ÿA","f":"ab","m":{"x":1.5,"y":-2},"d":0.1})");
  auto bad = EncodeJsonText(*s, R"({"b":"","f":"abc","m":{},"d":1})");
  EXPECT_EQ(bad.status().message(), "f: expected fixed F (2 bytes), got 3 bytes");
}

// Strings are escaped eight bytes at a time where nothing needs escaping: every character
// that must be escaped, at every position of a word, comes back as it went in.
TEST(AvroCodecTest, StringsNeedingEscapesRoundTripAtEveryPosition) {
  auto s = MustParse(R"({"type":"record","name":"T","fields":[{"name":"s","type":"string"}]})");
  const std::string specials[] = {"\"", "\\", "\n", "\t", std::string(1, '\0'), "\x1f", "\x7f", "\xc3\xa9"};
  for (const std::string& special : specials) {
    for (size_t at = 0; at <= 17; ++at) {
      std::string text(at, 'a');
      text += special;
      text += std::string(at % 5, 'z');
      json event = {{"s", text}};
      auto bin = EncodeJsonText(*s, event.dump());
      ASSERT_TRUE(bin.ok()) << bin.status().ToString();
      auto decoded = DecodeToJson(*s, *bin);
      ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
      EXPECT_EQ(json::parse(*decoded)["s"].get<std::string>(), text) << "at " << at << ": " << *decoded;
    }
  }
}

TEST(AvroDecodeTest, TruncatedAndHostileInputIsCorruption) {
  auto s = MustParse(R"({"type":"record","name":"R","fields":[{"name":"s","type":"string"},
    {"name":"a","type":{"type":"array","items":"null"}}]})");
  auto r = DecodeToJson(*s, std::string("\x08" "ab", 3));
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(r.status().message(), "avro datum: truncated or invalid at byte 1 (s)");
  // An array of 2^40 nulls: refused instead of looping.
  std::string huge = std::string("\x00", 1) + "\x80\x80\x80\x80\x80\x40";
  EXPECT_EQ(DecodeToJson(*s, huge).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeToJson(*s, std::string("\x02\xff\x00", 3)).status().message(),
            "avro datum: s: string is not valid UTF-8");
  EXPECT_EQ(DecodeToJson(*s, std::string("\x00\x00\x00", 3)).status().message(),
            "avro datum: 1 trailing bytes after the datum");
}

TEST(AvroDecodeTest, RandomBytesNeverCrashTheDecoders) {
  auto s = MustParse(ReadSchemaFile("checkout.avsc"));
  auto v3 = MustParse(ReadSchemaFile("page_view/v3.avsc"));
  auto v1 = MustParse(ReadSchemaFile("page_view/v1.avsc"));
  auto resolving = ResolvingDecoder::Create(v1, v3).value();
  std::string valid = EncodeJsonText(*s, R"({"event_id":"e","event_type":"checkout","timestamp":1,
    "properties":{"order_id":"o","revenue":1,"items":[{"sku":"a","quantity":1,"price":2}]}})").value();
  uint64_t seed = 42;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(seed >> 33);
  };
  for (int round = 0; round < 20000; ++round) {
    std::string data = valid;
    if (round % 2 == 0) {
      for (int flips = 1 + next() % 4; flips > 0; --flips) data[next() % data.size()] = static_cast<char>(next());
      if (next() % 3 == 0) data.resize(next() % data.size());
    } else {
      data.resize(next() % 64);
      for (char& c : data) c = static_cast<char>(next());
    }
    auto r = DecodeToJson(*s, data);  // any outcome but a crash or a hang
    if (r.ok()) {
      EXPECT_FALSE(json::parse(*r, nullptr, false).is_discarded()) << "decoder wrote invalid JSON";
    }
    std::string out;
    (void)resolving->DecodeToJson(data, &out);
  }
}

}  // namespace
}  // namespace tidemark::schema
