#include "event/event_parser.h"

#include <gtest/gtest.h>

#include "common/time_format.h"

namespace tidemark::event {
namespace {

constexpr int64_t kReceivedAt = 1775800800000;  // 2026-04-10T06:00:00Z

struct Normalized {
  NormalizeOutcome outcome;
  std::string json;
  std::string key;
};

class NormalizeEventTest : public ::testing::Test {
 protected:
  NormalizeEventTest() {
    ctx_.received_at_ms = kReceivedAt;
    ctx_.source = "site";
    ctx_.default_platform = "web";
    ctx_.client_ip = "192.0.2.7";
  }

  Normalized Run(std::string_view json) {
    simdjson::dom::element e;
    EXPECT_EQ(parser_.parse(json.data(), json.size()).get(e), simdjson::SUCCESS) << json;
    Normalized n;
    n.outcome = NormalizeEvent(e, ctx_, limits_, &n.json);
    n.key = std::string(n.outcome.partition_key);
    return n;
  }

  void ExpectError(std::string_view json, Reason reason, std::string_view message) {
    Normalized n = Run(json);
    ASSERT_FALSE(n.outcome.ok()) << json;
    EXPECT_EQ(ReasonCode(n.outcome.error->reason), ReasonCode(reason)) << json;
    EXPECT_EQ(n.outcome.error->message, message) << json;
    EXPECT_EQ(n.json, "");
  }

  simdjson::dom::parser parser_;
  IngestContext ctx_;
  EventLimits limits_;
};

// With no output the event is only checked: the outcome is the one the writing call gives.
TEST_F(NormalizeEventTest, CheckOnlyGivesTheSameOutcomeWithoutWriting) {
  const char* events[] = {
      R"({"event_type":"page_view","timestamp":1775800799000,"user_id":"u1","session_id":42})",
      R"({"event_type":"job_done","timestamp":1775800799000,"anonymous_id":"a1","platform":"server",
          "context":{"service":"billing","service":"payments"}})",
      R"({"event_type":"job_done","timestamp":1775800799000,"user_id":"u2","platform":"server"})",
      R"({"event_type":"Bad Type","timestamp":1775800799000,"user_id":"u1"})",
  };
  for (const char* json : events) {
    simdjson::dom::element e = parser_.parse(std::string_view(json)).value();
    std::string written;
    NormalizeOutcome a = NormalizeEvent(e, ctx_, limits_, &written);
    NormalizeOutcome b = NormalizeEvent(e, ctx_, limits_, static_cast<JsonBuffer*>(nullptr));
    ASSERT_EQ(a.ok(), b.ok()) << json;
    if (!a.ok()) {
      EXPECT_EQ(a.error->message, b.error->message);
      continue;
    }
    EXPECT_EQ(a.partition_key, b.partition_key) << json;
    EXPECT_EQ(a.partition_key_field, b.partition_key_field) << json;
    EXPECT_EQ(a.server_event, b.server_event);
    EXPECT_EQ(a.event_type, b.event_type);
    EXPECT_EQ(a.platform, b.platform);
    EXPECT_EQ(a.event_id(), b.event_id());
    EXPECT_EQ(a.session_id_text(), b.session_id_text());
    EXPECT_EQ(a.event_time_ms, b.event_time_ms);
  }
}

TEST_F(NormalizeEventTest, ValidEventGetsGatewayFields) {
  Normalized n = Run(R"({"event_type":"page_view","timestamp":"2026-04-10T05:59:59Z",
      "user_id":"u1","event_id":"e1","properties":{"path":"/x"},"extra":1})");
  ASSERT_TRUE(n.outcome.ok()) << n.outcome.error->message;
  EXPECT_FALSE(n.outcome.server_event);
  EXPECT_EQ(n.key, "u1");
  EXPECT_EQ(n.json,
            R"({"event_id":"e1","event_type":"page_view","timestamp":1775800799000,)"
            R"("event_time":1775800799000,"received_at":1775800800000,"user_id":"u1",)"
            R"("platform":"web","source":"site","context":{"ip":"192.0.2.7"},)"
            R"("properties":{"path":"/x"}})");
  auto back = EventFromJson(n.json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(EventToJson(*back), n.json);
}

TEST_F(NormalizeEventTest, ClientIpDoesNotOverrideContextIp) {
  Normalized n = Run(R"({"event_type":"a","timestamp":1775800800000,"anonymous_id":"x",
      "context":{"ip":"203.0.113.1","locale":"fr"}})");
  ASSERT_TRUE(n.outcome.ok());
  EXPECT_NE(n.json.find(R"("context":{"ip":"203.0.113.1","locale":"fr"})"), std::string::npos)
      << n.json;
  EXPECT_EQ(n.key, "x");
}

TEST_F(NormalizeEventTest, SentAtCorrectsClientClockSkew) {
  // The client's clock is 1 h behind: it sent at 05:00 (its time), we received at 06:00.
  ctx_.sent_at_ms = kReceivedAt - 3600000;
  Normalized n = Run(R"({"event_type":"a","timestamp":1775797190000,"user_id":"u"})");
  ASSERT_TRUE(n.outcome.ok());
  auto e = EventFromJson(n.json);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->timestamp_ms, 1775797190000);
  EXPECT_EQ(e->event_time_ms, 1775797190000 + 3600000);
  EXPECT_EQ(e->sent_at_ms, kReceivedAt - 3600000);
}

TEST_F(NormalizeEventTest, DerivedEventIdIsStableAcrossRetries) {
  const char* json = R"({"event_type":"a","timestamp":1775800000000,"user_id":"u","session_id":7})";
  Normalized first = Run(json);
  ctx_.received_at_ms += 5000;  // the retry arrives later, with another sent_at
  ctx_.sent_at_ms = ctx_.received_at_ms - 10;
  Normalized retry = Run(json);
  auto a = EventFromJson(first.json), b = EventFromJson(retry.json);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->event_id, b->event_id);
  EXPECT_EQ(a->event_id, DeriveEventId("u", "", "a", 1775800000000, "7"));
  EXPECT_EQ(a->session_id, "7");
}

TEST_F(NormalizeEventTest, ServerEventsAreKeyedByServiceElseSource) {
  Normalized with_service = Run(R"({"event_type":"job.done","timestamp":1775800800000,
      "user_id":"u","platform":"server","context":{"service":"billing"}})");
  ASSERT_TRUE(with_service.outcome.ok());
  EXPECT_TRUE(with_service.outcome.server_event);
  EXPECT_EQ(with_service.key, "billing");
  ctx_.default_platform = "server";
  Normalized by_key = Run(R"({"event_type":"job.done","timestamp":1775800800000,"user_id":"u"})");
  ASSERT_TRUE(by_key.outcome.ok());
  EXPECT_TRUE(by_key.outcome.server_event);
  EXPECT_EQ(by_key.key, "site");
}

TEST_F(NormalizeEventTest, MissingFieldsAreNamed) {
  ExpectError(R"({"timestamp":1,"user_id":"u"})", Reason::kMissingField, "event_type: required");
  ExpectError(R"({"event_type":"a","user_id":"u"})", Reason::kMissingField, "timestamp: required");
  ExpectError(R"({"event_type":"a","timestamp":1775800800000,"user_id":null})",
              Reason::kMissingField, "user_id or anonymous_id: required");
}

TEST_F(NormalizeEventTest, InvalidFieldsAreNamed) {
  ExpectError(R"({"event_type":"Page View","timestamp":1,"user_id":"u"})", Reason::kInvalidField,
              "event_type: must match [a-z0-9_.-]{1,64}");
  ExpectError(R"({"event_type":7,"timestamp":1,"user_id":"u"})", Reason::kInvalidField,
              "event_type: must be a string");
  ExpectError(R"({"event_type":"a","timestamp":1775800800000,"user_id":")" +
                  std::string(257, 'x') + R"("})",
              Reason::kInvalidField, "user_id: exceeds 256 bytes");
  ExpectError(R"({"event_type":"a","timestamp":1775800800000,"user_id":"u","event_id":")" +
                  std::string(129, 'x') + R"("})",
              Reason::kInvalidField, "event_id: exceeds 128 bytes");
  ExpectError(R"({"event_type":"a","timestamp":"10 April","user_id":"u"})", Reason::kInvalidField,
              "timestamp: not RFC 3339 (\"2026-04-10T06:00:00.123Z\")");
  ExpectError(R"({"event_type":"a","timestamp":1.5,"user_id":"u"})", Reason::kInvalidField,
              "timestamp: must be RFC 3339 text or integer epoch milliseconds");
  ExpectError(R"({"event_type":"a","timestamp":1775800800000,"user_id":"u","platform":"tv"})",
              Reason::kInvalidField, "platform: must be one of web, ios, android, server");
  ExpectError(R"({"event_type":"a","timestamp":1775800800000,"user_id":"u","properties":[1]})",
              Reason::kInvalidField, "properties: must be an object");
  ExpectError(R"({"event_type":"a","timestamp":1775800800000,"user_id":"u","schema_version":"2"})",
              Reason::kInvalidField, "schema_version: must be a non-negative 32-bit integer");
  ExpectError(R"([1,2])", Reason::kInvalidJson, "event: must be a JSON object");
}

TEST_F(NormalizeEventTest, LimitsAtTheEdgeAreAccepted) {
  std::string json = R"({"event_type":")" + std::string(64, 'a') +
                     R"(","timestamp":1775800800000,"user_id":")" + std::string(256, 'u') +
                     R"(","event_id":")" + std::string(128, 'e') + R"("})";
  EXPECT_TRUE(Run(json).outcome.ok());
}

TEST_F(NormalizeEventTest, TimestampsOutsideTheWindowAreRejected) {
  limits_.max_future_ms = 60000;
  limits_.max_past_ms = 3600000;
  ExpectError(R"({"event_type":"a","timestamp":1775800860001,"user_id":"u"})",
              Reason::kTimestampOutOfRange,
              "timestamp: 2026-04-10T06:01:00.001Z is more than 60000 ms in the future");
  ExpectError(R"({"event_type":"a","timestamp":"2026-04-10T04:59:59.999Z","user_id":"u"})",
              Reason::kTimestampOutOfRange,
              "timestamp: 2026-04-10T04:59:59.999Z is more than 3600000 ms in the past");
  EXPECT_TRUE(Run(R"({"event_type":"a","timestamp":1775800860000,"user_id":"u"})").outcome.ok());
}

TEST_F(NormalizeEventTest, OversizedEventIsRejected) {
  limits_.max_event_bytes = 300;
  ExpectError(R"({"event_type":"a","timestamp":1775800800000,"user_id":"u","properties":{"p":")" +
                  std::string(400, 'x') + R"("}})",
              Reason::kEventTooLarge, "event: 643 bytes of compact JSON exceed the limit of 300");
}

TEST_F(NormalizeEventTest, ErrorLeavesOutputUntouched) {
  Normalized n;
  std::string out = "prefix";
  simdjson::dom::element e;
  ASSERT_EQ(parser_.parse(std::string_view(R"({"event_type":"a"})")).get(e), simdjson::SUCCESS);
  EXPECT_FALSE(NormalizeEvent(e, ctx_, limits_, &out).ok());
  EXPECT_EQ(out, "prefix");
}

}  // namespace
}  // namespace tidemark::event
