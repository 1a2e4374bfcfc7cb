#include "schema/compatibility.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace tidemark::schema {
namespace {

constexpr const char* kA = R"({"name":"a","type":"int"})";
constexpr const char* kB = R"({"name":"b","type":"string","default":"x"})";
constexpr const char* kE = R"({"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}})";
constexpr const char* kU = R"({"name":"u","type":["null","string"],"default":null})";
constexpr const char* kN = R"({"name":"n","type":"long"})";

std::string Record(std::initializer_list<std::string> fields) {
  return fmt::format(R"({{"type":"record","name":"R","fields":[{}]}})", fmt::join(fields, ","));
}

std::shared_ptr<const AvroSchema> S(const std::string& text) {
  auto r = AvroSchema::Parse(text);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << " in " << text;
  return r.value();
}

const std::string kBase = Record({kA, kB, kE, kU, kN});

struct Change {
  const char* name;
  std::string changed;  // the new schema
  bool backward;        // can the new schema read data of the old one?
  bool forward;         // can the old schema read data of the new one?
};

std::vector<Change> Changes() {
  return {
      {"AddFieldWithDefault", Record({kA, kB, kE, kU, kN, R"({"name":"c","type":"int","default":0})"}), true, true},
      {"AddFieldWithoutDefault", Record({kA, kB, kE, kU, kN, R"({"name":"c","type":"int"})"}), false, true},
      {"RemoveFieldWithoutDefault", Record({kA, kB, kE, kU}), true, false},
      {"RemoveFieldWithDefault", Record({kA, kE, kU, kN}), true, true},
      {"RenameWithoutAlias", Record({R"({"name":"a2","type":"int"})", kB, kE, kU, kN}), false, false},
      {"RenameWithAlias", Record({R"({"name":"a2","type":"int","aliases":["a"]})", kB, kE, kU, kN}), true, false},
      {"WidenIntToLong", Record({R"({"name":"a","type":"long"})", kB, kE, kU, kN}), true, false},
      {"NarrowLongToInt", Record({kA, kB, kE, kU, R"({"name":"n","type":"int"})"}), false, true},
      {"ChangeStringToInt", Record({kA, R"({"name":"b","type":"int","default":1})", kE, kU, kN}), false, false},
      {"EnumAddSymbol", Record({kA, kB, R"({"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C"]}})", kU, kN}), true, false},
      {"EnumRemoveSymbol", Record({kA, kB, R"({"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}})", kU, kN}), false, true},
      {"EnumAddSymbolWithDefault", Record({kA, kB, R"({"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C"],"default":"A"}})", kU, kN}), true, false},
      {"UnionAddBranch", Record({kA, kB, kE, R"({"name":"u","type":["null","string","int"],"default":null})", kN}), true, false},
      {"UnionRemoveBranch", Record({kA, kB, kE, R"({"name":"u","type":["null"],"default":null})", kN}), false, true},
      {"UnionToPlainType", Record({kA, kB, kE, R"({"name":"u","type":"string","default":""})", kN}), false, true},
  };
}

struct MatrixCase {
  Change change;
  CompatibilityMode mode;
};

class CompatibilityMatrixTest : public ::testing::TestWithParam<MatrixCase> {};

TEST_P(CompatibilityMatrixTest, FollowsTheAvroResolutionRules) {
  const MatrixCase& c = GetParam();
  auto old_schema = S(kBase);
  auto new_schema = S(c.change.changed);
  bool expected = true;
  switch (c.mode) {
    case CompatibilityMode::kNone: break;
    case CompatibilityMode::kBackward:
    case CompatibilityMode::kBackwardTransitive: expected = c.change.backward; break;
    case CompatibilityMode::kForward:
    case CompatibilityMode::kForwardTransitive: expected = c.change.forward; break;
    case CompatibilityMode::kFull:
    case CompatibilityMode::kFullTransitive: expected = c.change.backward && c.change.forward; break;
  }
  CompatibilityResult r = CheckCompatibility(*new_schema, {{1, old_schema.get()}}, c.mode);
  EXPECT_EQ(r.compatible, expected) << fmt::format("{}", fmt::join(r.messages, "\n"));
  EXPECT_EQ(r.messages.empty(), r.compatible);
}

std::vector<MatrixCase> AllCases() {
  std::vector<MatrixCase> out;
  for (const Change& ch : Changes()) {
    for (auto mode : {CompatibilityMode::kNone, CompatibilityMode::kBackward,
                      CompatibilityMode::kBackwardTransitive, CompatibilityMode::kForward,
                      CompatibilityMode::kForwardTransitive, CompatibilityMode::kFull,
                      CompatibilityMode::kFullTransitive}) {
      out.push_back({ch, mode});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllModes, CompatibilityMatrixTest, ::testing::ValuesIn(AllCases()),
                         [](const ::testing::TestParamInfo<MatrixCase>& info) {
                           return fmt::format("{}_{}", info.param.change.name,
                                              CompatibilityModeName(info.param.mode));
                         });

TEST(CompatibilityTest, MessagesNameTheFieldAndTheVersion) {
  auto old_schema = S(kBase);
  auto r = CheckCompatibility(*S(Record({kA, kB, kE, kU, kN, R"({"name":"geo_lat","type":"double"})"})),
                              {{2, old_schema.get()}}, CompatibilityMode::kBackward);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0], "reader field 'geo_lat' has no default and is missing from writer version 2");

  r = CheckCompatibility(*S(Record({kA, kB, kE, kU})), {{3, old_schema.get()}}, CompatibilityMode::kForward);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0], "reader version 3 field 'n' has no default and is missing from the new writer schema");

  r = CheckCompatibility(*S(Record({kA, R"({"name":"b","type":"int","default":1})", kE, kU, kN})),
                         {{1, old_schema.get()}}, CompatibilityMode::kBackward);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0], "field 'b': reader type int cannot read string from writer version 1");

  r = CheckCompatibility(*S(Record({kA, kB, R"({"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}})", kU, kN})),
                         {{1, old_schema.get()}}, CompatibilityMode::kBackward);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0], "field 'e': symbol 'B' of writer version 1 is missing from reader enum E, which has no default");
}

TEST(CompatibilityTest, TransitiveModesCheckEveryEarlierVersion) {
  // v1 lacks c; v2 adds c with a default; v3 drops the default. v3 can read v2 but not v1.
  auto v1 = S(Record({kA}));
  auto v2 = S(Record({kA, R"({"name":"c","type":"int","default":0})"}));
  auto v3 = S(Record({kA, R"({"name":"c","type":"int"})"}));
  std::vector<ExistingVersion> existing = {{1, v1.get()}, {2, v2.get()}};
  EXPECT_TRUE(CheckCompatibility(*v3, existing, CompatibilityMode::kBackward).compatible);
  auto r = CheckCompatibility(*v3, existing, CompatibilityMode::kBackwardTransitive);
  EXPECT_FALSE(r.compatible);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0], "reader field 'c' has no default and is missing from writer version 1");
}

TEST(CompatibilityTest, PageViewExamplesEvolveAndV4Breaks) {
  auto load = [](const std::string& name) {
    std::ifstream in(std::string(TIDEMARK_SCHEMAS_DIR) + "/page_view/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return AvroSchema::Parse(ss.str()).value();
  };
  auto v1 = load("v1.avsc"), v2 = load("v2.avsc"), v3 = load("v3.avsc"), v4 = load("v4_breaking.avsc");
  EXPECT_TRUE(CheckCompatibility(*v2, {{1, v1.get()}}, CompatibilityMode::kFullTransitive).compatible);
  EXPECT_TRUE(CheckCompatibility(*v3, {{1, v1.get()}, {2, v2.get()}}, CompatibilityMode::kFullTransitive).compatible);
  auto r = CheckCompatibility(*v4, {{1, v1.get()}, {2, v2.get()}, {3, v3.get()}},
                              CompatibilityMode::kBackwardTransitive);
  EXPECT_FALSE(r.compatible);
  EXPECT_EQ(r.messages, (std::vector<std::string>{
                            "field 'context.geo_lat': reader type double cannot read null from writer version 3",
                            "reader field 'context.geo_lat' has no default and is missing from writer version 2"}));
}

TEST(CompatibilityTest, ModeNamesRoundTrip) {
  for (auto m : {CompatibilityMode::kNone, CompatibilityMode::kBackward, CompatibilityMode::kBackwardTransitive,
                 CompatibilityMode::kForward, CompatibilityMode::kForwardTransitive, CompatibilityMode::kFull,
                 CompatibilityMode::kFullTransitive}) {
    EXPECT_EQ(ParseCompatibilityMode(CompatibilityModeName(m)), m);
  }
  EXPECT_EQ(ParseCompatibilityMode("SIDEWAYS"), std::nullopt);
}

}  // namespace
}  // namespace tidemark::schema
