#include "stream/stream_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "stream/testing_events_internal.h"
#include "stream/testing_log_internal.h"

namespace tidemark::stream {
namespace {

constexpr int64_t kT0 = 1'775'800'800'000;

class StreamServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() / ("tidemark_svc_" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(config_.Set("topics.user_events.partitions", "2").ok());
    ASSERT_TRUE(config_.Set("topics.server_events.partitions", "1").ok());
    ASSERT_TRUE(log_.CreateTopic(log::kUserEvents, 2).ok());
    ASSERT_TRUE(log_.CreateTopic(log::kDlqEvents, 1).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static void WaitReady(const StreamService& s) {
    for (int i = 0; i < 500 && !s.ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(s.ready());
  }
  std::string Query(StreamService& s, const std::string& metric) {
    gateway::HttpRequest req;
    req.method = "GET";
    req.query = {{"metric", metric}, {"from", std::to_string(kT0)}, {"to", std::to_string(kT0 + 3600'000)},
                 {"step", "1h"}};
    gateway::HttpResponse resp = s.HandleQuery(req);
    EXPECT_EQ(resp.status, 200) << resp.body;
    return resp.body;
  }

  std::string dir_;
  Config config_;
  testing::TestingLog log_;
  ManualClock clock_{kT0 + 600'000};
  MetricsRegistry metrics_;
};

TEST_F(StreamServiceTest, ProcessesAllPartitionsAndKeepsResultsAcrossRestart) {
  for (int i = 0; i < 100; ++i) {
    testing::EventSpec s{.id = "e" + std::to_string(i), .user = "u" + std::to_string(i % 10),
                         .event_time = kT0 + i * 1000};
    log_.Put(log::kUserEvents, i % 2, log::Record{s.user, testing::MakeRecord(s).value, kT0 + i * 1000});
  }
  // Retries of ten of them, and two rejected events in the DLQ.
  for (int i = 0; i < 10; ++i) {
    testing::EventSpec s{.id = "e" + std::to_string(i), .user = "u" + std::to_string(i % 10),
                         .event_time = kT0 + i * 1000, .received_at = kT0 + 200'000};
    log_.Put(log::kUserEvents, i % 2, log::Record{s.user, testing::MakeRecord(s).value, kT0 + 200'000});
  }
  log_.Put(log::kDlqEvents, 0, log::Record{"", "{\"reason\":\"invalid_json\"}", kT0 + 5000});
  log_.Put(log::kDlqEvents, 0, log::Record{"", "{\"reason\":\"missing_field\"}", kT0 + 6000});
  {
    StreamService service(&log_, dir_, config_, &metrics_, &clock_);
    ASSERT_TRUE(service.Start().ok());
    WaitReady(service);
    ASSERT_TRUE(service.Stop().ok());
    EXPECT_NE(Query(service, "events").find("[1775800800000,100]"), std::string::npos);
    EXPECT_NE(Query(service, "users").find("[1775800800000,10]"), std::string::npos);
    EXPECT_NE(Query(service, "dlq").find("[1775800800000,2]"), std::string::npos);
    std::vector<LedgerRow> ledger = service.Ledger();
    LedgerCounts total;
    for (const auto& r : ledger) {
      total.accepted += r.counts.accepted;
      total.rejected += r.counts.rejected;
      total.duplicates += r.counts.duplicates;
      total.on_time += r.counts.on_time;
    }
    EXPECT_EQ(total.accepted, 110u);
    EXPECT_EQ(total.duplicates, 10u);
    EXPECT_EQ(total.on_time, 100u);
    EXPECT_EQ(total.rejected, 2u);
    std::string text = RenderLedger(ledger);
    EXPECT_NE(text.find("accepted 110 = unique 100 + duplicates 10 + undecodable 0: ok"), std::string::npos) << text;
    EXPECT_FALSE(service.GetLateAlert().firing);
    EXPECT_NE(metrics_.RenderPrometheus().find("tidemark_stream_dedup_bytes_per_key"), std::string::npos);
  }
  // The checkpoints hold the same ledger for `tidemark reconcile`.
  auto offline = ReadLedger(dir_);
  ASSERT_TRUE(offline.ok()) << offline.status().ToString();
  EXPECT_EQ(RenderLedger(*offline).find("MISMATCH"), std::string::npos);
  EXPECT_FALSE(offline->empty());

  // Restart: results come back from data/realtime, checkpoints resume at the log end, and
  // nothing is counted twice.
  StreamService again(&log_, dir_, config_, &metrics_, &clock_);
  ASSERT_TRUE(again.Start().ok());
  WaitReady(again);
  EXPECT_NE(Query(again, "events").find("[1775800800000,100]"), std::string::npos);
  ASSERT_TRUE(again.Stop().ok());
}

TEST_F(StreamServiceTest, RejectsUnknownDimension) {
  ASSERT_TRUE(config_.Set("stream.dimensions", "event_type,country").ok());
  StreamService service(&log_, dir_, config_, &metrics_, &clock_);
  Status st = service.Start();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("unknown dimension 'country'"), std::string::npos);
}

}  // namespace
}  // namespace tidemark::stream
