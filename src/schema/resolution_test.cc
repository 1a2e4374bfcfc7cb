#include <algorithm>
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

// A record whose fields are all of the common shapes is rendered by a path of its own
// (Plan::all_fast); a field of another type sends the record down the general path. Both
// must write the same bytes.
TEST(ResolutionTest, AllFastRecordsRenderTheSameBytesAsTheGeneralPath) {
  const std::string fields = R"(
    {"name":"s","type":"string"},
    {"name":"o","type":["null","string"]},
    {"name":"n","type":["string","null"]},
    {"name":"i","type":"int"},
    {"name":"l","type":["null","long"]},
    {"name":"d","type":"double"},
    {"name":"e","type":{"type":"enum","name":"E","symbols":["a","b"]}},
    {"name":"gone","type":"string"})";
  auto writer = [&](bool with_array) {
    return S(R"({"type":"record","name":"R","fields":[)" + fields +
             (with_array ? R"(,{"name":"tags","type":{"type":"array","items":"string"}})" : "") + "]}");
  };
  auto reader = [&](bool with_array) {
    std::string kept = fields.substr(0, fields.find(R"(,
    {"name":"gone")"));
    return S(R"({"type":"record","name":"R","fields":[)" + kept +
             (with_array ? R"(,{"name":"tags","type":{"type":"array","items":"string"}})" : "") +
             R"(,{"name":"def","type":"int","default":7}]})");
  };
  for (const std::string datum : {
           std::string(R"("s":"quote\" back\\ tab\t ctl\u0001 é ✓","o":null,"n":"x","i":-5,"l":null,)"
                       R"("d":0.1,"e":"b","gone":"skipped")"),
           std::string(R"("s":"","o":"set","n":null,"i":2147483647,"l":-9007199254740993,)"
                       R"("d":3.0,"e":"a","gone":"")"),
           std::string(R"("s":"a","o":"b","n":"c","i":0,"l":1,"d":-1e300,"e":"a","gone":"g")")}) {
    SCOPED_TRACE(datum);
    const std::string fast = ReadAs(writer(false), reader(false), "{" + datum + "}");
    std::string general = ReadAs(writer(true), reader(true), "{" + datum + R"(,"tags":["t"]})");
    const std::string tags = R"(,"tags":["t"])";
    ASSERT_NE(general.find(tags), std::string::npos) << general;
    general.erase(general.find(tags), tags.size());
    EXPECT_EQ(fast, general);
    EXPECT_TRUE(fast.ends_with(R"("def":7})")) << fast;
  }
}

TEST(ResolutionTest, AStringWithAnInvalidByteAnywhereIsCorruptionAtEveryLength) {
  auto schema = S(R"({"type":"record","name":"R","fields":[{"name":"s","type":"string"}]})");
  auto decoder = ResolvingDecoder::Create(schema, schema);
  ASSERT_TRUE(decoder.ok());
  for (size_t n = 1; n <= 20; ++n) {
    std::string datum(1, static_cast<char>(2 * n));  // the length, zigzag
    datum.append(n, 'a');
    std::string out;
    EXPECT_TRUE((*decoder)->DecodeToJson(datum, &out).ok()) << n;
    for (size_t at = 1; at <= n; ++at) {
      std::string bad = datum;
      bad[at] = static_cast<char>(0xff);
      out.clear();
      EXPECT_EQ((*decoder)->DecodeToJson(bad, &out).code(), StatusCode::kCorruption) << n << " bytes, bad at " << at;
    }
  }
}

// Records what DecodeFlat reports, as "field.member=kind:value" lines.
class RecordingVisitor final : public FlatVisitor {
 public:
  explicit RecordingVisitor(int expand) : expand_(expand) {}
  bool Expand(int field) override { return field == expand_; }
  void Value(int field, int member, std::string_view name, const FlatValue& v) override {
    std::string line = std::to_string(field) + "." + std::to_string(member) + " " + std::string(name) + "=";
    switch (v.kind) {
      case FlatValue::Kind::kNull: line += "null"; break;
      case FlatValue::Kind::kBoolean: line += v.boolean ? "bool:true" : "bool:false"; break;
      case FlatValue::Kind::kLong: line += "long:" + std::to_string(v.integer); break;
      case FlatValue::Kind::kDouble: line += "double:" + std::to_string(v.number); break;
      case FlatValue::Kind::kString: line += "string:" + std::string(v.text); break;
      case FlatValue::Kind::kJson: line += "json:" + std::string(v.text); break;
    }
    lines.push_back(std::move(line));
  }
  std::vector<std::string> lines;

 private:
  int expand_;
};

TEST(ResolutionTest, FlatDecodeReportsScalarsExpandsOneRecordAndAddsDefaults) {
  auto v1 = Load("page_view/v1.avsc");
  auto v3 = Load("page_view/v3.avsc");
  auto bin = EncodeJsonText(*v1, R"({"event_id":"e1","user_id":"u1","event_type":"page_view","timestamp":17})");
  ASSERT_TRUE(bin.ok()) << bin.status().ToString();
  auto decoder = ResolvingDecoder::Create(v1, v3);
  ASSERT_TRUE(decoder.ok());
  const int context = v3->root().FieldIndex("context");
  std::string scratch;
  // The writer lacks context: the reader's default comes whole, as JSON.
  RecordingVisitor flat(context);
  ASSERT_TRUE((*decoder)->DecodeFlat(*bin, flat, &scratch).ok());
  EXPECT_EQ(flat.lines.size(), v3->root().fields.size());
  EXPECT_NE(std::find(flat.lines.begin(), flat.lines.end(), "0.-1 event_id=string:e1"), flat.lines.end());
  EXPECT_NE(std::find(flat.lines.begin(), flat.lines.end(),
                      std::to_string(v3->root().FieldIndex("timestamp")) + ".-1 timestamp=long:17"),
            flat.lines.end());

  // v3 data read as v3: the context record member by member, typed.
  auto bin3 = EncodeJsonText(*v3, R"({"event_id":"e2","event_type":"page_view","timestamp":5,
    "context":{"device_type":"tablet","geo_lat":52.5}})");
  ASSERT_TRUE(bin3.ok());
  auto same = ResolvingDecoder::Create(v3, v3);
  RecordingVisitor expanded(context);
  ASSERT_TRUE((*same)->DecodeFlat(*bin3, expanded, &scratch).ok());
  const std::string c = std::to_string(context) + ".";
  EXPECT_NE(std::find(expanded.lines.begin(), expanded.lines.end(), c + "0 device_type=string:tablet"),
            expanded.lines.end())
      << ::testing::PrintToString(expanded.lines);
  EXPECT_NE(std::find(expanded.lines.begin(), expanded.lines.end(), c + "2 geo_lat=double:52.500000"),
            expanded.lines.end())
      << ::testing::PrintToString(expanded.lines);
  EXPECT_NE(std::find(expanded.lines.begin(), expanded.lines.end(), c + "3 geo_lng=null"), expanded.lines.end());
  // Not expanded: the record is one JSON value.
  RecordingVisitor whole(-1);
  ASSERT_TRUE((*same)->DecodeFlat(*bin3, whole, &scratch).ok());
  EXPECT_NE(std::find(whole.lines.begin(), whole.lines.end(),
                      c + "-1 context=json:{\"device_type\":\"tablet\",\"app_version\":null,\"geo_lat\":52.5,"
                          "\"geo_lng\":null}"),
            whole.lines.end())
      << ::testing::PrintToString(whole.lines);
  // A cut datum is corruption, not a short row.
  RecordingVisitor cut(context);
  Status st = (*same)->DecodeFlat(std::string_view(*bin3).substr(0, bin3->size() - 3), cut, &scratch);
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
}

// Keeps the context's JSON in a string of its own (FlatVisitor::JsonTarget).
class TargetVisitor final : public FlatVisitor {
 public:
  explicit TargetVisitor(int target) : target_(target) {}
  bool Expand(int) override { return false; }
  std::string* JsonTarget(int field) override { return field == target_ ? &text_ : nullptr; }
  void Value(int field, int, std::string_view, const FlatValue& v) override {
    if (field == target_) seen = v.text;
  }
  std::string_view seen;

 private:
  int target_;
  std::string text_ = "left over from an earlier datum";
};

TEST(ResolutionTest, FlatDecodeWritesAFieldsJsonWhereTheVisitorAsksAndItOutlivesTheCall) {
  auto v3 = Load("page_view/v3.avsc");
  auto bin = EncodeJsonText(*v3, R"({"event_id":"e2","event_type":"page_view","timestamp":5,
    "context":{"device_type":"tablet","geo_lat":52.5}})");
  ASSERT_TRUE(bin.ok());
  auto decoder = ResolvingDecoder::Create(v3, v3);
  ASSERT_TRUE(decoder.ok());
  TargetVisitor visitor(v3->root().FieldIndex("context"));
  std::string scratch;
  ASSERT_TRUE((*decoder)->DecodeFlat(*bin, visitor, &scratch).ok());
  EXPECT_EQ(visitor.seen, R"({"device_type":"tablet","app_version":null,"geo_lat":52.5,"geo_lng":null})");
  EXPECT_EQ(scratch.find("tablet"), std::string::npos);
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
