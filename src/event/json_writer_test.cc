#include "event/json_writer.h"

#include <gtest/gtest.h>

namespace tidemark::event {
namespace {

std::string Compact(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  EXPECT_EQ(parser.parse(json.data(), json.size()).get(e), simdjson::SUCCESS);
  std::string out;
  AppendJsonElement(&out, e);
  return out;
}

TEST(JsonWriter, EscapesControlCharactersAndQuotes) {
  std::string out;
  AppendJsonString(&out, std::string_view("a\"b\\c\n\x01", 7));
  EXPECT_EQ(out, R"("a\"b\\c\n\u0001")");
}

TEST(JsonWriter, ReplacesInvalidUtf8SoOutputStaysValid) {
  std::string out;
  AppendJsonString(&out, "ok\xff\xc3\xa9");
  EXPECT_EQ(out, "\"ok\xEF\xBF\xBD\xC3\xA9\"");
}

TEST(JsonWriter, TruncatesAtCharacterBoundary) {
  std::string out;
  AppendJsonStringTruncated(&out, "ab\xc3\xa9z", 3);  // would split the é
  EXPECT_EQ(out, "\"ab\"");
}

TEST(JsonWriter, CompactsDocumentsAndKeepsNumberKinds) {
  EXPECT_EQ(Compact(R"( { "a" : [1, 2.5, 1.0, -3, 18446744073709551615, true, null],
                         "b" : { "c" : "d" } } )"),
            R"({"a":[1,2.5,1.0,-3,18446744073709551615,true,null],"b":{"c":"d"}})");
}

TEST(JsonWriter, BoundedElementBecomesTruncatedString) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  ASSERT_EQ(parser.parse(std::string_view(R"({"k":"0123456789"})")).get(e), simdjson::SUCCESS);
  std::string out;
  AppendJsonElementBounded(&out, e, 8);
  EXPECT_EQ(out, R"("{\"k\":\"01")");
  out.clear();
  AppendJsonElementBounded(&out, e, 100);
  EXPECT_EQ(out, R"({"k":"0123456789"})");
}

}  // namespace
}  // namespace tidemark::event
