#include "realtime/realtime_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/hashing.h"

namespace tidemark::realtime {
namespace {

constexpr int64_t kT0 = 1'775'800'800'000;
constexpr int64_t kDay = 86'400'000;

class RealtimeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("tidemark_rt_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static WindowAggregate Agg(uint64_t events) {
    WindowAggregate a;
    a.events = events;
    a.users.AddHash(Hash64("u" + std::to_string(events)));
    a.Prop("revenue").Add(static_cast<double>(events));
    return a;
  }
  uint64_t Events(const RealtimeStore& s, int64_t from, int64_t to) {
    uint64_t n = 0;
    s.Scan(RowKind::kWindow, from, to, [&](int64_t, std::string_view, const WindowAggregate& a) { n += a.events; });
    return n;
  }
  std::string dir_;
  ManualClock clock_{kT0};
};

TEST_F(RealtimeStoreTest, UpsertReplacesInsteadOfAdding) {
  RealtimeStore store(dir_, 30 * kDay, &clock_);
  store.Upsert("user-events/0", RowKind::kWindow, kT0, "event_type=a", Agg(5));
  store.Upsert("user-events/0", RowKind::kWindow, kT0, "event_type=a", Agg(7));  // replay / update
  store.Upsert("user-events/1", RowKind::kWindow, kT0, "event_type=a", Agg(1));  // another shard adds
  EXPECT_EQ(Events(store, kT0, kT0 + 60'000), 8u);
  EXPECT_EQ(store.CellCount(), 2u);
}

TEST_F(RealtimeStoreTest, FlushedRowsSurviveRestart) {
  {
    RealtimeStore store(dir_, 30 * kDay, &clock_);
    store.Upsert("user-events/0", RowKind::kWindow, kT0, "event_type=a", Agg(5));
    store.Upsert("user-events/0", RowKind::kWindow, kT0 - kDay, "event_type=a", Agg(2));
    store.Upsert("user-events/0", RowKind::kLate, kT0, "event_type=a", Agg(3));
    ASSERT_TRUE(store.Flush("user-events/0").ok());
    store.Upsert("user-events/0", RowKind::kWindow, kT0 + 60'000, "event_type=a", Agg(9));  // never flushed
  }
  RealtimeStore store(dir_, 30 * kDay, &clock_);
  ASSERT_TRUE(store.Load().ok());
  EXPECT_EQ(Events(store, kT0 - kDay, kT0 + kDay), 7u);
  EXPECT_EQ(store.CellCount(), 3u);
  uint64_t late = 0;
  store.Scan(RowKind::kLate, 0, INT64_MAX, [&](int64_t, std::string_view, const WindowAggregate& a) { late += a.events; });
  EXPECT_EQ(late, 3u);
}

TEST_F(RealtimeStoreTest, RetentionDropsOldCellsAndFiles) {
  RealtimeStore store(dir_, 30 * kDay, &clock_);
  store.Upsert("user-events/0", RowKind::kWindow, kT0 - 40 * kDay, "event_type=a", Agg(1));
  store.Upsert("user-events/0", RowKind::kWindow, kT0, "event_type=a", Agg(2));
  ASSERT_TRUE(store.Flush("user-events/0").ok());
  ASSERT_TRUE(store.EnforceRetention().ok());
  EXPECT_EQ(store.CellCount(), 1u);
  int files = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir_ + "/user-events/0")) files += f.path().extension() == ".rows";
  EXPECT_EQ(files, 1);
}

TEST_F(RealtimeStoreTest, DamagedFileIsReported) {
  {
    RealtimeStore store(dir_, 30 * kDay, &clock_);
    store.Upsert("user-events/0", RowKind::kWindow, kT0, "event_type=a", Agg(5));
    ASSERT_TRUE(store.Flush("user-events/0").ok());
  }
  std::string path = dir_ + "/user-events/0/2026-04-10.rows";
  ASSERT_TRUE(std::filesystem::exists(path));
  FILE* f = fopen(path.c_str(), "r+b");
  fseek(f, 10, SEEK_SET);
  fputc(0x7f, f);
  fclose(f);
  RealtimeStore store(dir_, 30 * kDay, &clock_);
  Status st = store.Load();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("2026-04-10.rows: CRC mismatch"), std::string::npos);
}

}  // namespace
}  // namespace tidemark::realtime
