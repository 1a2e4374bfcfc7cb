#include "stream/partition_task.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <set>

#include "stream/checkpoint.h"
#include "stream/testing_events_internal.h"
#include "stream/testing_log_internal.h"

namespace tidemark::stream {
namespace {

using testing::CapturingSink;
using testing::EventSpec;
using testing::MakeRecord;
using testing::TestingLog;

constexpr int64_t kMin = 60'000;
constexpr int64_t kT0 = 1'775'800'800'000;

class PartitionTaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tidemark_task_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(log_.CreateTopic(log::kUserEvents, 1).ok());
    ASSERT_TRUE(log_.CreateTopic(log::kLateEvents, 1).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // ~3 hours of traffic from 40 users: retries (duplicates), out-of-order events within
  // the lateness and some far beyond it, revenue and durations.
  void FillLog(int n) {
    std::mt19937_64 rng(42);
    int64_t t = kT0;
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      t += static_cast<int64_t>(rng() % 4000);
      EventSpec s;
      s.user = "user-" + std::to_string(rng() % 40);
      s.type = (rng() % 3 == 0) ? "purchase" : "page_view";
      s.platform = (rng() % 2) ? "ios" : "web";
      s.event_time = t;
      s.received_at = t;
      s.props = "{\"revenue\":" + std::to_string(rng() % 10000) + ".25,\"duration_ms\":" +
                std::to_string(rng() % 5000) + "}";
      uint64_t roll = rng() % 100;
      if (roll < 5 && !ids.empty()) {
        // A retry: same id as an earlier event, received again now.
        s.id = ids[rng() % ids.size()];
      } else {
        s.id = "evt-" + std::to_string(i);
        ids.push_back(s.id);
        if (roll < 8) s.event_time = t - 3 * 3600'000;  // far beyond lateness
        else if (roll < 15) s.event_time = t - 20 * kMin;  // within lateness
      }
      log_.Put(log::kUserEvents, 0, log::Record{s.user, MakeRecord(s).value, s.received_at});
    }
  }

  std::unique_ptr<PartitionTask> MakeTask(CapturingSink* sink, size_t read_bytes = 4 << 20) {
    TaskOptions t;
    t.early_result_interval_ms = 5000;
    t.checkpoint_interval_ms = 10'000;
    t.read_max_bytes = read_bytes;
    return std::make_unique<PartitionTask>(&log_, sink, &clock_, nullptr, dir_.string(), std::string(log::kUserEvents),
                                           0, PartitionProcessor::Mode::kEvents, ProcessorOptions{}, t);
  }

  void DrainTo(PartitionTask& task, int64_t end) {
    while (task.next_offset() < end) {
      auto r = task.PollOnce();
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      clock_.Advance(1000);  // early results every 5 polls, checkpoints every 10
    }
  }

  std::set<int64_t> LateSourceOffsets() {
    std::set<int64_t> out;
    auto recs = log_.Read(log::kLateEvents, 0, 0, {});
    for (const auto& r : *recs) {
      out.insert(std::stoll(std::string(log::HeaderValue(r.headers, "source_offset"))));
    }
    return out;
  }

  std::filesystem::path dir_;
  TestingLog log_;
  ManualClock clock_{kT0};
};

TEST_F(PartitionTaskTest, CheckpointRestoreReplayMatchesUninterruptedRun) {
  FillLog(6000);
  const int64_t end = *log_.EndOffset(log::kUserEvents, 0);

  // Reference: one uninterrupted run.
  CapturingSink reference;
  {
    auto task = MakeTask(&reference, 16 * 1024);
    ASSERT_TRUE(task->Restore().ok());
    DrainTo(*task, end);
    ASSERT_TRUE(task->Checkpoint().ok());
  }
  const std::set<int64_t> reference_late = LateSourceOffsets();
  ASSERT_GT(reference_late.size(), 100u);
  std::filesystem::remove_all(dir_);

  // Crashing run: checkpoints along the way, then dies after processing (and publishing)
  // more records than its last checkpoint covers.
  CapturingSink sink;
  int64_t checkpointed_offset = 0;
  {
    auto task = MakeTask(&sink, 16 * 1024);
    ASSERT_TRUE(task->Restore().ok());
    DrainTo(*task, end / 2);
    ASSERT_TRUE(task->Checkpoint().ok());
    checkpointed_offset = task->next_offset();
    DrainTo(*task, end * 3 / 4);
    task->EmitResults();  // rows ahead of the checkpoint reach the store
    // No final checkpoint: the in-memory state is simply lost.
  }
  auto cp = ReadCheckpoint(CheckpointDir(dir_.string(), log::kUserEvents, 0));
  ASSERT_TRUE(cp.ok() && cp->has_value());
  // Periodic checkpoints may have followed the explicit one, but the crash lost records.
  EXPECT_GE((*cp)->next_offset, checkpointed_offset);
  EXPECT_LT((*cp)->next_offset, end * 3 / 4);
  checkpointed_offset = (*cp)->next_offset;
  {
    auto task = MakeTask(&sink, 16 * 1024);
    ASSERT_TRUE(task->Restore().ok());
    EXPECT_EQ(task->next_offset(), checkpointed_offset);
    DrainTo(*task, end);
    ASSERT_TRUE(task->Checkpoint().ok());
  }

  for (const auto& [key, agg] : sink.rows) {
    EXPECT_TRUE(reference.rows.count(key)) << "extra row kind " << int(std::get<1>(key)) << " at "
                                           << std::get<2>(key) << " " << std::get<3>(key) << " events "
                                           << agg.events << " sessions " << agg.sessions;
  }
  ASSERT_EQ(sink.rows.size(), reference.rows.size());
  for (const auto& [key, agg] : reference.rows) {
    auto it = sink.rows.find(key);
    ASSERT_NE(it, sink.rows.end()) << "missing row at " << std::get<2>(key);
    EXPECT_TRUE(it->second == agg) << "row differs at " << std::get<2>(key) << " " << std::get<3>(key)
                                   << ": events " << it->second.events << " vs " << agg.events;
  }
  // late-events is at-least-once: the replay may repeat some, but none is missing.
  EXPECT_EQ(LateSourceOffsets(), reference_late);
}

TEST_F(PartitionTaskTest, CheckpointWaitsForLateRecordsToBeDurable) {
  CapturingSink sink;
  auto task = MakeTask(&sink);
  ASSERT_TRUE(task->Restore().ok());
  log_.Put(log::kUserEvents, 0, log::Record{"a", MakeRecord({.id = "1", .event_time = kT0 + 5 * 3600'000}).value, kT0});
  log_.Put(log::kUserEvents, 0, log::Record{"b", MakeRecord({.id = "2", .event_time = kT0}).value, kT0});
  log_.set_fail_appends(true);
  ASSERT_TRUE(task->PollOnce().ok());
  Status st = task->Checkpoint();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  auto cp = ReadCheckpoint(CheckpointDir(dir_.string(), log::kUserEvents, 0));
  ASSERT_TRUE(cp.ok());
  EXPECT_FALSE(cp->has_value());  // nothing checkpointed past an unacknowledged late record
  log_.set_fail_appends(false);
  ASSERT_TRUE(task->Checkpoint().ok());
  EXPECT_EQ(*log_.EndOffset(log::kLateEvents, 0), 1);
}

TEST_F(PartitionTaskTest, DamagedCheckpointIsReportedNotIgnored) {
  const std::string dir = CheckpointDir(dir_.string(), log::kUserEvents, 0);
  ASSERT_TRUE(WriteCheckpoint(dir, Checkpoint{5, kT0, "state"}).ok());
  {
    std::string path = dir + "/checkpoint";
    FILE* f = fopen(path.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    fseek(f, 6, SEEK_SET);
    fputc('X', f);
    fclose(f);
  }
  CapturingSink sink;
  auto task = MakeTask(&sink);
  Status st = task->Restore();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("CRC mismatch"), std::string::npos);
}

}  // namespace
}  // namespace tidemark::stream
