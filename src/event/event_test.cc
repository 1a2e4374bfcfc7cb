#include "event/event.h"

#include <gtest/gtest.h>

namespace tidemark::event {
namespace {

Event SampleEvent() {
  Event e;
  e.event_id = "e-1";
  e.event_type = "page_view";
  e.timestamp_ms = 1775800800000;
  e.event_time_ms = 1775800800500;
  e.received_at_ms = 1775800801000;
  e.sent_at_ms = 1775800800500;
  e.user_id = "u1";
  e.session_id = "s1";
  e.platform = "web";
  e.schema_version = 2;
  e.source = "site";
  e.context_json = R"({"ip":"10.0.0.1","locale":"en-GB"})";
  e.properties_json = R"({"path":"/a","n":3})";
  return e;
}

TEST(EventJson, WritesFieldsInCanonicalOrder) {
  EXPECT_EQ(EventToJson(SampleEvent()),
            R"({"event_id":"e-1","event_type":"page_view","timestamp":1775800800000,)"
            R"("event_time":1775800800500,"received_at":1775800801000,"sent_at":1775800800500,)"
            R"("user_id":"u1","session_id":"s1","platform":"web","schema_version":2,)"
            R"("source":"site","context":{"ip":"10.0.0.1","locale":"en-GB"},)"
            R"("properties":{"path":"/a","n":3}})");
}

TEST(EventJson, RoundTripsThroughEventFromJson) {
  Event e = SampleEvent();
  auto back = EventFromJson(EventToJson(e));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(EventToJson(*back), EventToJson(e));
  EXPECT_EQ(back->user_key(), "u1");
}

TEST(EventJson, FromJsonAcceptsRfc3339TimesAndDefaultsEventTime) {
  auto e = EventFromJson(
      R"({"event_type":"a","timestamp":"2026-04-10T06:00:00.123Z","anonymous_id":"anon"})");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->timestamp_ms, 1775800800123);
  EXPECT_EQ(e->event_time_ms, 1775800800123);
  EXPECT_EQ(e->user_key(), "anon");
  EXPECT_EQ(e->event_id.size(), 32u);
}

TEST(EventJson, FromJsonNamesTheBadField) {
  auto e = EventFromJson(R"({"event_type":"a","timestamp":"yesterday","user_id":"u"})");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(e.status().message(), "event JSON: timestamp: must be epoch milliseconds or RFC 3339");
  auto missing = EventFromJson(R"({"event_type":"a","timestamp":1})");
  EXPECT_EQ(missing.status().message(), "event JSON: user_id or anonymous_id: required");
  auto broken = EventFromJson(R"({"event_type":)");
  EXPECT_EQ(broken.status().code(), StatusCode::kInvalidArgument);
}

TEST(EventId, DerivedIdIsStableAndDependsOnEveryInput) {
  std::string id = DeriveEventId("u", "", "click", 1000, "s");
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id, DeriveEventId("u", "", "click", 1000, "s"));
  EXPECT_NE(id, DeriveEventId("u2", "", "click", 1000, "s"));
  EXPECT_NE(id, DeriveEventId("", "u", "click", 1000, "s"));
  EXPECT_NE(id, DeriveEventId("u", "", "clicks", 1000, "s"));
  EXPECT_NE(id, DeriveEventId("u", "", "click", 1001, "s"));
  EXPECT_NE(id, DeriveEventId("u", "", "click", 1000, ""));
  EXPECT_NE(DeriveEventId("ab", "", "c", 1, ""), DeriveEventId("a", "", "bc", 1, ""));
}

TEST(EventValidation, EventTypeAndPlatformRules) {
  EXPECT_TRUE(IsValidEventType("page_view.v2-x"));
  EXPECT_FALSE(IsValidEventType(""));
  EXPECT_FALSE(IsValidEventType("PageView"));
  EXPECT_FALSE(IsValidEventType(std::string(65, 'a')));
  EXPECT_TRUE(IsValidEventType(std::string(64, 'a')));
  EXPECT_TRUE(IsValidPlatform("android"));
  EXPECT_FALSE(IsValidPlatform("desktop"));
  EXPECT_EQ(ReasonCode(Reason::kTimestampOutOfRange), "timestamp_out_of_range");
}

}  // namespace
}  // namespace tidemark::event
