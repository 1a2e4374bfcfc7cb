#include "gateway/batch_handler_internal.h"

#include <gtest/gtest.h>

#include "common/hashing.h"

namespace tidemark::gateway::internal {
namespace {

constexpr int64_t kNow = 1775800800000;

class PlanBatchTest : public ::testing::Test {
 protected:
  BatchPlan Plan(std::string_view body, AdmitFn admit = nullptr) {
    BatchInput in;
    in.body = body;
    in.source = "site";
    in.default_platform = "web";
    in.client_ip = "127.0.0.1";
    in.received_at_ms = kNow;
    BatchPlan plan;
    PlanBatch(in, limits_, parts_, admit, &plan);
    return plan;
  }
  BatchLimits limits_;
  TopicPartitions parts_{8, 4, 1};
};

TEST_F(PlanBatchTest, GroupsAcceptedEventsByTopicAndPartition) {
  BatchPlan plan = Plan(R"([
    {"event_type":"a","timestamp":1775800800000,"user_id":"alice"},
    {"event_type":"b","timestamp":1775800800000,"user_id":"alice"},
    {"event_type":"c","timestamp":1775800800000,"anonymous_id":"anon-1"},
    {"event_type":"d","timestamp":1775800800000,"user_id":"x","platform":"server"}])");
  ASSERT_EQ(plan.status, 200);
  EXPECT_EQ(plan.accepted, 4u);
  EXPECT_EQ(plan.errors_json, "[]");
  size_t records = 0;
  for (const TopicAppend& a : plan.appends) {
    for (const log::Record& r : a.records) {
      ++records;
      EXPECT_EQ(r.timestamp_ms, kNow);
      if (a.topic == log::kServerEvents) {
        EXPECT_EQ(r.key, "site");
        EXPECT_EQ(a.partition, KafkaPartition("site", 4));
      } else {
        EXPECT_EQ(a.topic, log::kUserEvents);
        EXPECT_EQ(a.partition, KafkaPartition(r.key, 8)) << r.key;
      }
    }
  }
  EXPECT_EQ(records, 4u);
}

TEST_F(PlanBatchTest, RejectedEventsGoToDlqWithTheirRawJson) {
  BatchPlan plan = Plan(R"({"batch":[{"event_type":"a","timestamp":1775800800000,"user_id":"u"},
                                     {"event_type":"a", "user_id":"u"}]})");
  ASSERT_EQ(plan.status, 200);
  EXPECT_EQ(plan.accepted, 1u);
  EXPECT_EQ(plan.rejected, 1u);
  EXPECT_EQ(plan.errors_json, R"([{"index":1,"code":"missing_field","message":"timestamp: required"}])");
  const TopicAppend* dlq = nullptr;
  for (const auto& a : plan.appends) {
    if (a.topic == log::kDlqEvents) dlq = &a;
  }
  ASSERT_NE(dlq, nullptr);
  ASSERT_EQ(dlq->records.size(), 1u);
  EXPECT_EQ(dlq->records[0].value,
            R"({"reason":"missing_field","message":"timestamp: required","index":1,"source":"site",)"
            R"("received_at":1775800800000,"raw":{"event_type":"a","user_id":"u"}})");
}

TEST_F(PlanBatchTest, UnparseableBodyIs400WithTruncatedRawBodyInDlq) {
  limits_.dlq_raw_body_bytes = 10;
  BatchPlan plan = Plan(R"([{"event_type": "a", broken)");
  EXPECT_EQ(plan.status, 400);
  EXPECT_EQ(plan.error_code, "invalid_json");
  EXPECT_EQ(plan.error_message.rfind("body is not valid JSON: ", 0), 0u) << plan.error_message;
  ASSERT_EQ(plan.appends.size(), 1u);
  EXPECT_EQ(plan.appends[0].topic, log::kDlqEvents);
  const std::string& v = plan.appends[0].records[0].value;
  EXPECT_NE(v.find(R"("reason":"invalid_json")"), std::string::npos) << v;
  EXPECT_NE(v.find(R"("raw":"[{\"event_t")"), std::string::npos) << v;
}

TEST_F(PlanBatchTest, WrongShapesAndBadSentAtAre400) {
  EXPECT_EQ(Plan(R"({"events":[]})").error_message,
            "body must be a JSON array of events or an object with a \"batch\" array");
  EXPECT_EQ(Plan(R"("hello")").status, 400);
  EXPECT_EQ(Plan(R"({"batch":[],"sent_at":"soon"})").error_message,
            "sent_at: must be RFC 3339 text or integer epoch milliseconds");
  EXPECT_EQ(Plan(R"({"batch":[],"sent_at":"2026-04-10T06:00:00Z"})").status, 200);
}

TEST_F(PlanBatchTest, TooManyEventsIs413AndAdmitSees429) {
  limits_.max_batch_events = 2;
  BatchPlan big = Plan("[{},{},{}]");
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.error_message, "batch has 3 events; the limit is 2");
  EXPECT_TRUE(big.appends.empty());
  size_t seen = 0;
  BatchPlan limited = Plan("[{},{}]", [&](size_t n) {
    seen = n;
    return int64_t{7};
  });
  EXPECT_EQ(seen, 2u);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.retry_after_s, 7);
}

TEST_F(PlanBatchTest, DeeplyNestedBodyIsRefusedNotCrashed) {
  std::string deep = R"([{"event_type":"a","timestamp":1,"user_id":"u","properties":)";
  for (int i = 0; i < 100000; ++i) deep += "[";
  BatchPlan plan = Plan(deep);
  EXPECT_EQ(plan.status, 400);
}

}  // namespace
}  // namespace tidemark::gateway::internal
