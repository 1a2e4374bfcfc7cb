#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "schema/avro.h"

namespace tidemark::schema {
namespace {

using nlohmann::json;

std::shared_ptr<const AvroSchema> Load(const std::string& name) {
  std::ifstream in(std::string(TIDEMARK_SCHEMAS_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return AvroSchema::Parse(ss.str()).value();
}

std::shared_ptr<const AvroSchema> S(std::string_view text) {
  auto r = AvroSchema::Parse(text);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.value();
}

std::string ReadAs(const std::shared_ptr<const AvroSchema>& writer,
                   const std::shared_ptr<const AvroSchema>& reader, std::string_view event) {
  auto bin = EncodeJsonText(*writer, event);
  EXPECT_TRUE(bin.ok()) << bin.status().ToString();
  auto decoder = ResolvingDecoder::Create(writer, reader);
  EXPECT_TRUE(decoder.ok()) << decoder.status().ToString();
  std::string out;
  Status s = (*decoder)->DecodeToJson(*bin, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST(ResolutionTest, V1DataReadWithV3ReaderTakesDefaults) {
  auto v1 = Load("page_view/v1.avsc");
  auto v3 = Load("page_view/v3.avsc");
  std::string out = ReadAs(v1, v3, R"({"event_id":"e1","user_id":"u1","event_type":"page_view","timestamp":1775800800000})");
  EXPECT_EQ(json::parse(out), json::parse(R"({"event_id":"e1","user_id":"u1","event_type":"page_view",
    "timestamp":1775800800000,"context":{"device_type":"unknown","app_version":null,"geo_lat":null,"geo_lng":null}})"));
}

TEST(ResolutionTest, V3DataReadWithV1ReaderSkipsRemovedFields) {
  auto v1 = Load("page_view/v1.avsc");
  auto v3 = Load("page_view/v3.avsc");
  std::string out = ReadAs(v3, v1, R"({"event_id":"e1","event_type":"page_view","timestamp":5,
    "context":{"device_type":"tablet","geo_lat":52.5,"geo_lng":13.4}})");
  EXPECT_EQ(out, R"({"event_id":"e1","user_id":null,"event_type":"page_view","timestamp":5})");
}

TEST(ResolutionTest, NumbersArePromoted) {
  auto w = S(R"({"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"long"},
    {"name":"c","type":"float"},{"name":"d","type":"string"},{"name":"e","type":"bytes"}]})");
  auto r = S(R"({"type":"record","name":"R","fields":[{"name":"a","type":"double"},{"name":"b","type":"float"},
    {"name":"c","type":"double"},{"name":"d","type":"bytes"},{"name":"e","type":"string"}]})");
  EXPECT_EQ(ReadAs(w, r, R"({"a":7,"b":1099511627776,"c":0.5,"d":"hi","e":"yo"})"),
            R"({"a":7,"b":1099511627776,"c":0.5,"d":"hi","e":"yo"})");
}

TEST(ResolutionTest, FieldAliasesAndTypeAliasesMatchRenamedWriterNames) {
  auto w = S(R"({"type":"record","name":"Old","fields":[{"name":"lat","type":"double"}]})");
  auto r = S(R"({"type":"record","name":"New","aliases":["Old"],"fields":[{"name":"geo_lat","type":"double","aliases":["lat"]}]})");
  EXPECT_EQ(ReadAs(w, r, R"({"lat":1.5})"), R"({"geo_lat":1.5})");
}

TEST(ResolutionTest, UnknownEnumSymbolTakesTheReadersEnumDefault) {
  auto w = S(R"({"type":"enum","name":"P","symbols":["web","ios","tv"]})");
  auto r = S(R"({"type":"enum","name":"P","symbols":["unknown","web","ios"],"default":"unknown"})");
  EXPECT_EQ(ReadAs(w, r, R"("tv")"), R"("unknown")");
  EXPECT_EQ(ReadAs(w, r, R"("ios")"), R"("ios")");
}

TEST(ResolutionTest, UnionsResolveOnEitherSide) {
  auto plain = S(R"({"type":"record","name":"R","fields":[{"name":"v","type":"int"}]})");
  auto unioned = S(R"({"type":"record","name":"R","fields":[{"name":"v","type":["null","string","long"]}]})");
  EXPECT_EQ(ReadAs(plain, unioned, R"({"v":3})"), R"({"v":3})");
  auto narrow = S(R"({"type":"record","name":"R","fields":[{"name":"v","type":"long"}]})");
  EXPECT_EQ(ReadAs(unioned, narrow, R"({"v":9})"), R"({"v":9})");
  // The string branch cannot be read as long: only data that uses it fails.
  auto bin = EncodeJsonText(*unioned, R"({"v":"x"})").value();
  auto decoder = ResolvingDecoder::Create(unioned, narrow).value();
  std::string out;
  Status s = decoder->DecodeToJson(bin, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "field 'v': reader type long cannot read string from the writer schema");
}

TEST(ResolutionTest, CreateFailsWhenTheReaderCanNeverRead) {
  auto v1 = Load("page_view/v1.avsc");
  auto r = S(R"({"type":"record","name":"PageView","fields":[{"name":"event_id","type":"long"},{"name":"x","type":"int"}]})");
  auto d = ResolvingDecoder::Create(v1, r);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(),
            "reader schema cannot read writer schema: field 'event_id': reader type long cannot read "
            "string from the writer schema; reader field 'x' has no default and is missing from the writer schema");
}

TEST(ResolutionTest, RecursiveSchemasResolve) {
  auto w = S(R"({"type":"record","name":"N","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","N"]}]})");
  auto r = S(R"({"type":"record","name":"N","fields":[{"name":"v","type":"long"},{"name":"next","type":["null","N"]},
    {"name":"tag","type":"string","default":"t"}]})");
  EXPECT_EQ(ReadAs(w, r, R"({"v":1,"next":{"v":2,"next":null}})"),
            R"({"v":1,"next":{"v":2,"next":null,"tag":"t"},"tag":"t"})");
}

}  // namespace
}  // namespace tidemark::schema
