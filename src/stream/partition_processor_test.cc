#include "stream/partition_processor.h"

#include <gtest/gtest.h>

#include "stream/testing_events_internal.h"

namespace tidemark::stream {
namespace {

using testing::CapturingSink;
using testing::EventSpec;
using testing::MakeRecord;
using Outcome = PartitionProcessor::Outcome;

constexpr int64_t kMin = 60'000;
constexpr int64_t kT0 = 1'775'800'800'000;  // 2026-04-10T06:00:00Z, a minute boundary

ProcessorOptions SmallOptions() {
  ProcessorOptions o;
  o.allowed_lateness_ms = 10 * kMin;
  o.session_gap_ms = 30 * kMin;
  return o;
}

PartitionProcessor MakeProcessor(ProcessorOptions o = SmallOptions()) {
  return PartitionProcessor(o, "user-events", 0, PartitionProcessor::Mode::kEvents,
                            NewJsonEventDecoder(o.numeric_properties));
}

int64_t offset_counter = 0;
Outcome Feed(PartitionProcessor& p, EventSpec s) {
  if (s.id.empty()) s.id = "e" + std::to_string(++offset_counter);
  return p.Process(MakeRecord(s, offset_counter));
}

TEST(PartitionProcessor, WindowPublishesEarlyResultsThenFinalOnce) {
  auto p = MakeProcessor();
  CapturingSink sink;
  ASSERT_EQ(Feed(p, {.user = "a", .event_time = kT0 + 1000}), Outcome::kOnTime);
  ASSERT_EQ(Feed(p, {.user = "b", .event_time = kT0 + 2000}), Outcome::kOnTime);
  p.Emit(&sink);  // early result while the window is open
  EXPECT_EQ(sink.Total(RowKind::kWindow, kT0).events, 2u);
  EXPECT_EQ(p.open_window_cells(), 1u);

  ASSERT_EQ(Feed(p, {.user = "a", .event_time = kT0 + 3000}), Outcome::kOnTime);
  p.Emit(&sink);  // updated early result (an upsert: replaces, does not add)
  WindowAggregate early = sink.Total(RowKind::kWindow, kT0);
  EXPECT_EQ(early.events, 3u);
  EXPECT_NEAR(early.users.Estimate(), 2, 0.01);

  // Event time moves past window end + lateness: the window is final.
  ASSERT_EQ(Feed(p, {.user = "c", .event_time = kT0 + 11 * kMin}), Outcome::kOnTime);
  int before = sink.upserts;
  p.Emit(&sink);
  EXPECT_EQ(sink.Total(RowKind::kWindow, kT0).events, 3u);
  EXPECT_EQ(p.open_window_cells(), 1u);  // only the new window remains open
  EXPECT_GT(sink.upserts, before);
  before = sink.upserts;
  p.Emit(&sink);  // nothing changed: nothing rewritten
  EXPECT_EQ(sink.upserts, before);
}

TEST(PartitionProcessor, LateEventBeyondLatenessGoesToSideOutputOnly) {
  auto p = MakeProcessor();
  CapturingSink sink;
  ASSERT_EQ(Feed(p, {.user = "a", .event_time = kT0 + 60 * kMin}), Outcome::kOnTime);
  // 30 minutes behind with 10 minutes of allowed lateness: its window is long final.
  ASSERT_EQ(Feed(p, {.id = "late-1", .user = "b", .event_time = kT0 + 30 * kMin + 5, .received_at = kT0 + 60 * kMin}),
            Outcome::kLate);
  p.Emit(&sink);
  std::vector<log::Record> late = p.TakeLateRecords();
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].key, "b");
  EXPECT_EQ(log::HeaderValue(late[0].headers, "lateness_ms"), std::to_string(30 * kMin - 5));
  EXPECT_NE(late[0].value.find("\"event_id\":\"late-1\""), std::string::npos);  // the value as it was
  // Nowhere else: no window row, no session, no user; only the late count of its window.
  EXPECT_EQ(sink.Total(RowKind::kWindow, kT0 + 30 * kMin).events, 0u);
  EXPECT_EQ(sink.Total(RowKind::kLate, kT0 + 30 * kMin).late, 1u);
  EXPECT_EQ(p.open_sessions(), 1u);
  const LedgerCounts& day = p.ledger().begin()->second;
  EXPECT_EQ(day.accepted, 2u);
  EXPECT_EQ(day.late, 1u);
  EXPECT_EQ(day.on_time, 1u);
  EXPECT_EQ(p.RecentLateStats().late, 1u);
}

TEST(PartitionProcessor, EventWithinLatenessUpdatesItsWindow) {
  auto p = MakeProcessor();
  CapturingSink sink;
  ASSERT_EQ(Feed(p, {.user = "a", .event_time = kT0 + 60 * kMin}), Outcome::kOnTime);
  ASSERT_EQ(Feed(p, {.user = "b", .event_time = kT0 + 52 * kMin}), Outcome::kOnTime);  // 8 min behind
  p.Emit(&sink);
  EXPECT_EQ(sink.Total(RowKind::kWindow, kT0 + 52 * kMin).events, 1u);
  EXPECT_TRUE(p.TakeLateRecords().empty());
}

TEST(PartitionProcessor, DuplicatesAreDroppedAndCounted) {
  auto p = MakeProcessor();
  CapturingSink sink;
  ASSERT_EQ(Feed(p, {.id = "same", .event_time = kT0}), Outcome::kOnTime);
  ASSERT_EQ(Feed(p, {.id = "same", .event_time = kT0, .received_at = kT0 + 5000}), Outcome::kDuplicate);
  p.Emit(&sink);
  EXPECT_EQ(sink.Total(RowKind::kWindow, kT0).events, 1u);
  EXPECT_EQ(p.ledger().begin()->second.duplicates, 1u);
  EXPECT_EQ(p.ledger().begin()->second.accepted, 2u);
}

TEST(PartitionProcessor, SessionsSplitOnInactivityGap) {
  auto p = MakeProcessor();
  CapturingSink sink;
  for (int m : {0, 10, 25}) ASSERT_EQ(Feed(p, {.user = "a", .event_time = kT0 + m * kMin}), Outcome::kOnTime);
  ASSERT_EQ(Feed(p, {.user = "a", .event_time = kT0 + 56 * kMin}), Outcome::kOnTime);  // 31 min gap
  ASSERT_EQ(Feed(p, {.user = "b", .event_time = kT0 + 56 * kMin}), Outcome::kOnTime);
  p.Emit(&sink);
  EXPECT_EQ(sink.Total(RowKind::kWindow, kT0).sessions, 1u);
  EXPECT_EQ(sink.Total(RowKind::kWindow, kT0 + 10 * kMin).sessions, 0u);
  EXPECT_EQ(sink.Total(RowKind::kWindow, kT0 + 56 * kMin).sessions, 2u);
  WindowAggregate closed = sink.Total(RowKind::kSession, kT0);
  EXPECT_EQ(closed.sessions, 1u);
  ASSERT_NE(closed.FindProp(kSessionDurationProp), nullptr);
  EXPECT_DOUBLE_EQ(closed.FindProp(kSessionDurationProp)->sum(), 25.0 * kMin);
  EXPECT_DOUBLE_EQ(closed.FindProp(kSessionEventsProp)->sum(), 3);
  EXPECT_EQ(p.open_sessions(), 2u);
  // The watermark passing last event + gap closes the open sessions too.
  ASSERT_EQ(Feed(p, {.user = "c", .event_time = kT0 + 100 * kMin}), Outcome::kOnTime);
  p.Emit(&sink);
  EXPECT_EQ(sink.Total(RowKind::kSession, kT0 + 56 * kMin).sessions, 2u);
  EXPECT_EQ(p.open_sessions(), 1u);
}

TEST(PartitionProcessor, NumericPropertiesFeedSumsAndQuantiles) {
  auto p = MakeProcessor();
  CapturingSink sink;
  for (int i = 1; i <= 100; ++i) {
    ASSERT_EQ(Feed(p, {.type = "purchase", .event_time = kT0 + i,
                       .props = "{\"revenue\":" + std::to_string(i) + ".5,\"duration_ms\":\"n/a\"}"}),
              Outcome::kOnTime);
  }
  p.Emit(&sink);
  WindowAggregate agg = sink.Total(RowKind::kWindow, kT0);
  const QuantileSketch* revenue = agg.FindProp("revenue");
  ASSERT_NE(revenue, nullptr);
  EXPECT_DOUBLE_EQ(revenue->sum(), 5050 + 50);
  EXPECT_NEAR(revenue->Quantile(0.5), 50.5, 50.5 * 0.01);
  EXPECT_EQ(agg.FindProp("duration_ms")->count(), 0u);  // not a number: left out
}

TEST(PartitionProcessor, UndecodableRecordIsCountedNotFatal) {
  auto p = MakeProcessor();
  log::StoredRecord bad{0, kT0, "k", "{not json"};
  EXPECT_EQ(p.Process(bad), Outcome::kUndecodable);
  EXPECT_EQ(p.ledger().begin()->second.undecodable, 1u);
  EXPECT_EQ(Feed(p, {.event_time = kT0}), Outcome::kOnTime);
}

TEST(PartitionProcessor, FullDedupStateBackpressuresWithoutConsuming) {
  ProcessorOptions o = SmallOptions();
  o.dedup_max_keys = 2;
  auto p = MakeProcessor(o);
  EXPECT_EQ(Feed(p, {.event_time = kT0}), Outcome::kOnTime);
  EXPECT_EQ(Feed(p, {.event_time = kT0}), Outcome::kOnTime);
  EXPECT_EQ(Feed(p, {.event_time = kT0}), Outcome::kBackpressure);
  EXPECT_EQ(p.ledger().begin()->second.accepted, 2u);
  // An hour and more later (received_at), the old ids have expired and it proceeds.
  EXPECT_EQ(Feed(p, {.event_time = kT0 + 62 * kMin}), Outcome::kOnTime);
}

TEST(PartitionProcessor, DimensionsIncludeEnrichedValues) {
  ProcessorOptions o = SmallOptions();
  o.dimensions = {"event_type", "platform", "browser", "os", "device_class"};
  auto p = MakeProcessor(o);
  CapturingSink sink;
  ASSERT_EQ(Feed(p, {.type = "click", .event_time = kT0, .platform = ""}), Outcome::kOnTime);
  p.Emit(&sink);
  ASSERT_EQ(sink.rows.size(), 1u);
  EXPECT_EQ(std::get<3>(sink.rows.begin()->first),
            "event_type=click\x1fplatform=web\x1f" "browser=chrome\x1fos=windows\x1f" "device_class=desktop");
}

TEST(PartitionProcessor, StateRoundTripsThroughCheckpointBytes) {
  auto p = MakeProcessor();
  for (int i = 0; i < 50; ++i) {
    ASSERT_NE(Feed(p, {.id = "s" + std::to_string(i), .user = "u" + std::to_string(i % 7), .event_time = kT0 + i * 20'000,
                       .props = "{\"revenue\":1.25}"}),
              Outcome::kBackpressure);
  }
  std::string state;
  p.AppendState(&state);
  auto q = MakeProcessor();
  ASSERT_TRUE(q.RestoreState(state).ok());
  CapturingSink a, b;
  ASSERT_EQ(Feed(p, {.id = "next", .user = "u1", .event_time = kT0 + 16 * kMin}), Outcome::kOnTime);
  ASSERT_EQ(Feed(q, {.id = "next", .user = "u1", .event_time = kT0 + 16 * kMin}), Outcome::kOnTime);
  ASSERT_EQ(Feed(q, {.id = "s1", .event_time = kT0 + 16 * kMin}), Outcome::kDuplicate);  // dedup ids survived
  p.Emit(&a);
  q.Emit(&b);
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(q.RestoreState(std::string_view(state).substr(0, state.size() / 2)).code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace tidemark::stream
