// The silver and gold jobs on hand-made bronze tables (exact expectations) and on generated
// data (idempotence: reruns and hourly corrections with late files equal one run).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "batch/batch.h"
#include "batch/batch_internal.h"
#include "batch/event_generator_internal.h"
#include "lake/bronze_schema.h"
#include "lake/table.h"

namespace tidemark::batch {
namespace {

using lake::ColumnBatch;

constexpr int64_t kDay0 = 20'553LL * 86'400'000;  // 2026-04-10T00:00Z
constexpr int64_t kMin = 60'000;

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "batch_test_XXXXXX").string();
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Ev {
  std::string id;
  std::string type;
  int64_t time;
  int64_t received;
  std::string user;  // "" = NULL
  std::string session;
  std::string platform = "web";
  int32_t partition = 0;
  int64_t offset = 0;
  std::string properties;
  std::string anonymous;
};

// Writes the events to bronze.user_events as one commit (one "micro-batch").
void WriteUserEvents(const std::string& dir, const std::vector<Ev>& events) {
  auto t = lake::Table::Open(dir + "/lake", "bronze", "user_events");
  if (!t.ok()) {
    t = lake::Table::Create(dir + "/lake", "bronze", "user_events",
                            lake::bronze::EventTableSchema(), "event_time");
  }
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ColumnBatch b((*t)->current().schema);
  auto str = [](lake::Column& c, const std::string& s) {
    if (s.empty())
      c.AppendNull();
    else
      c.AppendString(s);
  };
  for (const Ev& e : events) {
    b.column(0).AppendString(e.id);
    b.column(1).AppendString(e.type);
    b.column(2).AppendInt64(e.time);
    b.column(3).AppendInt64(e.time);
    b.column(4).AppendInt64(e.received);
    str(b.column(5), e.user);
    str(b.column(6), e.anonymous);
    str(b.column(7), e.session);
    str(b.column(8), e.platform);
    b.column(9).AppendString("test");
    b.column(10).AppendInt64(1);
    b.column(11).AppendInt32(e.partition);
    b.column(12).AppendInt64(e.offset);
    str(b.column(13), e.properties);
  }
  auto files = (*t)->WriteFiles(b);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_TRUE((*t)->Commit(*files, {}, {}).ok());
}

// Every row of a table's current snapshot as text, sorted: two tables are equal when these
// are.
std::vector<std::string> Rows(const std::string& dir, const std::string& layer,
                              const std::string& name) {
  auto t = lake::Table::Open(dir + "/lake", layer, name);
  if (!t.ok()) return {"<" + t.status().ToString() + ">"};
  auto b = (*t)->Scan({});
  if (!b.ok()) return {"<" + b.status().ToString() + ">"};
  std::vector<std::string> out;
  for (size_t r = 0; r < b->num_rows(); ++r) {
    std::string line;
    for (size_t c = 0; c < b->num_columns(); ++c) {
      const lake::Column& col = b->column(c);
      line += c ? "|" : "";
      if (col.IsNull(r)) {
        line += "NULL";
        continue;
      }
      char buf[40];
      switch (col.type()) {
        case lake::ColumnType::kString:
          line += col.StringAt(r);
          break;
        case lake::ColumnType::kDouble:
          std::snprintf(buf, sizeof buf, "%.17g", col.DoubleAt(r));
          line += buf;
          break;
        case lake::ColumnType::kInt32:
          line += std::to_string(col.Int32At(r));
          break;
        case lake::ColumnType::kBoolean:
          line += col.BoolAt(r) ? "true" : "false";
          break;
        default:
          line += std::to_string(col.Int64At(r));
      }
    }
    out.push_back(std::move(line));
  }
  std::sort(out.begin(), out.end());
  return out;
}

const std::vector<std::pair<std::string, std::string>> kAllTables = {
    {"silver", "events"},        {"silver", "sessions"},  {"gold", "daily_report"},
    {"gold", "daily_events"},    {"gold", "retention"},   {"gold", "cohorts"},
    {"gold", "ab_results"}};

void ExpectSameTables(const std::string& a, const std::string& b) {
  for (const auto& [layer, name] : kAllTables) {
    const auto ra = Rows(a, layer, name);
    const auto rb = Rows(b, layer, name);
    EXPECT_EQ(ra.size(), rb.size()) << layer << "." << name;
    EXPECT_TRUE(ra == rb) << layer << "." << name << " differs";
  }
}

TEST(Silver, KeepsTheFirstReceivedCopyAndBreaksTiesByLogPosition) {
  TempDir dir;
  WriteUserEvents(dir.path(), {
      {"a", "page_view", kDay0 + 10 * kMin, kDay0 + 10 * kMin + 500, "u1", "", "web", 0, 5},
      // a retry received later: dropped even though its log offset is lower
      {"a", "page_view", kDay0 + 10 * kMin + 7, kDay0 + 11 * kMin, "u1", "", "web", 0, 1},
      // received at the same instant: the lower (partition, offset) wins
      {"b", "click", kDay0 + 12 * kMin, kDay0 + 12 * kMin + 9, "u1", "", "web", 1, 8},
      {"b", "click", kDay0 + 12 * kMin + 3, kDay0 + 12 * kMin + 9, "u1", "", "web", 0, 9},
  });
  BatchRunStats stats;
  ASSERT_TRUE(RunBatch(dir.path(), "2026-04-10", "2026-04-10", {}, &stats).ok());
  EXPECT_EQ(stats.bronze_rows, 4);
  EXPECT_EQ(stats.duplicates, 2);
  EXPECT_EQ(stats.silver_rows, 2);
  auto t = lake::Table::Open(dir.path() + "/lake", "silver", "events");
  ASSERT_TRUE(t.ok());
  auto rows = (*t)->Scan({"event_id", "event_time", "log_offset"});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->num_rows(), 2u);
  EXPECT_EQ(rows->column(0).StringAt(0), "a");
  EXPECT_EQ(rows->column(1).Int64At(0), kDay0 + 10 * kMin);
  EXPECT_EQ(rows->column(2).Int64At(1), 9);  // partition 0 beats partition 1
}

TEST(Silver, LeavesOutDeletedUsersByUserOrAnonymousId) {
  TempDir dir;
  WriteUserEvents(dir.path(), {
      {"a", "page_view", kDay0 + kMin, kDay0 + kMin, "u1"},
      {"b", "page_view", kDay0 + kMin, kDay0 + kMin, "u2"},
      {"c", "page_view", kDay0 + kMin, kDay0 + kMin, "", "", "web", 0, 3, "", "anon-9"},
  });
  BatchOptions options;
  options.deleted_users = {"u2", "anon-9"};
  BatchRunStats stats;
  ASSERT_TRUE(RunBatch(dir.path(), "2026-04-10", "2026-04-10", options, &stats).ok());
  EXPECT_EQ(stats.deleted_rows, 2);
  EXPECT_THAT(Rows(dir.path(), "silver", "sessions"), ::testing::SizeIs(1));
  auto report = ReadDailyReport(dir.path());
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->days.size(), 1u);
  EXPECT_EQ(report->days[0].dau, 1);
}

TEST(Silver, SessionsSplitOnThirtyMinuteGapsUnlessTheClientSentASessionId) {
  TempDir dir;
  WriteUserEvents(dir.path(), {
      // web user: 0, 10, 40 (exactly 30 min later: same session), 71 (31 min: new session)
      {"w1", "page_view", kDay0 + 0 * kMin, kDay0, "web-user"},
      {"w2", "page_view", kDay0 + 10 * kMin, kDay0, "web-user"},
      {"w3", "page_view", kDay0 + 40 * kMin, kDay0, "web-user"},
      {"w4", "page_view", kDay0 + 71 * kMin, kDay0, "web-user"},
      // app user: one client session with a 2-hour pause stays one session
      {"m1", "screen_view", kDay0 + 0 * kMin, kDay0, "app-user", "s-1", "ios"},
      {"m2", "screen_view", kDay0 + 120 * kMin, kDay0, "app-user", "s-1", "ios"},
  });
  ASSERT_TRUE(RunBatch(dir.path(), "2026-04-10", "2026-04-10", {}).ok());
  const std::string d = std::to_string(kDay0);
  EXPECT_THAT(Rows(dir.path(), "silver", "sessions"),
              ::testing::ElementsAre(
                  "app-user|s-1|" + d + "|" + std::to_string(kDay0 + 120 * kMin) + "|7200000|2|ios",
                  "web-user|NULL|" + d + "|" + std::to_string(kDay0 + 40 * kMin) + "|2400000|3|web",
                  "web-user|NULL|" + std::to_string(kDay0 + 71 * kMin) + "|" +
                      std::to_string(kDay0 + 71 * kMin) + "|0|1|web"));
}

TEST(Gold, DailyReportCountsUsersSessionsAndRevenue) {
  TempDir dir;
  std::vector<Ev> events;
  // u1 active on days 0, 1 and 8; u2 on day 1 only. Revenue on day 1: 10.5 + 4 (a text
  // revenue is not a number and does not count).
  events.push_back({"1", "page_view", kDay0 + kMin, kDay0, "u1"});
  events.push_back({"2", "purchase", kDay0 + 86'400'000 + kMin, kDay0, "u1", "", "ios", 0, 0,
                    "{\"revenue\":10.5}"});
  events.push_back({"3", "purchase", kDay0 + 86'400'000 + 2 * kMin, kDay0, "u2", "", "web", 0, 0,
                    "{\"currency\":\"EUR\",\"revenue\":4}"});
  events.push_back({"4", "purchase", kDay0 + 86'400'000 + 3 * kMin, kDay0, "u2", "", "web", 0, 0,
                    "{\"revenue\":\"7\"}"});
  events.push_back({"5", "page_view", kDay0 + 8 * 86'400'000, kDay0, "u1"});
  WriteUserEvents(dir.path(), events);
  ASSERT_TRUE(RunBatch(dir.path(), "2026-04-10", "2026-04-30", {}).ok());
  auto report = ReadDailyReport(dir.path());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->days.size(), 3u);
  const DailyReportRow& d1 = report->days[1];
  EXPECT_EQ(d1.date, "2026-04-11");
  EXPECT_EQ(d1.events, 3);
  EXPECT_EQ(d1.dau, 2);
  EXPECT_EQ(d1.wau, 2);
  EXPECT_EQ(d1.new_users, 1);
  EXPECT_EQ(d1.sessions, 2);
  EXPECT_DOUBLE_EQ(d1.mean_session_seconds, 30);  // u2: 1 minute, u1: 0
  EXPECT_DOUBLE_EQ(d1.revenue, 14.5);
  const DailyReportRow& d8 = report->days[2];
  EXPECT_EQ(d8.date, "2026-04-18");
  EXPECT_EQ(d8.dau, 1);
  EXPECT_EQ(d8.wau, 1);  // u2's day 1 is 7 days back: outside the window
  EXPECT_EQ(d8.mau, 2);
  auto retention = ReadRetention(dir.path());
  ASSERT_TRUE(retention.ok());
  // Cohort 04-10 (u1) has days 1 … 8 (the data ends on day 8); u1 is back on days 1 and 8.
  std::vector<int64_t> active;
  for (const auto& r : *retention)
    if (r.cohort_date == "2026-04-10") active.push_back(r.active_users);
  EXPECT_THAT(active, ::testing::ElementsAre(1, 0, 0, 0, 0, 0, 0, 1));
}

TEST(Reports, FormatsAsTableJsonAndCsv) {
  std::vector<RetentionRow> rows = {{"2026-04-10", 1, 4, 1, 0.25}};
  EXPECT_EQ(FormatRetention(rows, ReportFormat::kCsv),
            "cohort_date,day,cohort_users,active_users,share\n2026-04-10,1,4,1,0.25\n");
  EXPECT_EQ(FormatRetention(rows, ReportFormat::kJson),
            "[\n {\"cohort_date\":\"2026-04-10\",\"day\":1,\"cohort_users\":4,"
            "\"active_users\":1,\"share\":0.25}\n]\n");
  EXPECT_EQ(FormatRetention(rows, ReportFormat::kTable),
            "cohort_date  day  cohort_users  active_users  share\n"
            "-----------  ---  ------------  ------------  -----\n"
            "2026-04-10     1             4             1   0.25\n");
  AbResultRow control;
  control.experiment = "exp, \"quoted\"";
  control.variant = "control";
  const std::string csv = FormatAbResults({control}, ReportFormat::kCsv);
  EXPECT_THAT(csv, ::testing::HasSubstr("\"exp, \"\"quoted\"\"\",control,0,0,0,0,0,,,,,0,,,,0,1,false"));
  EXPECT_THAT(FormatAbResults({control}, ReportFormat::kJson),
              ::testing::HasSubstr("\"abs_lift\":null"));
  auto format = ParseReportFormat("yaml");
  EXPECT_EQ(format.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(format.status().message(), "report format \"yaml\" is not one of table, json, csv");
}

TEST(Reports, MissingGoldTableIsNotFound) {
  TempDir dir;
  auto report = ReadRetention(dir.path());
  EXPECT_EQ(report.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(report.status().message(), ::testing::HasSubstr("run the batch job first"));
}

TEST(Batch, RejectsAReversedDateRange) {
  TempDir dir;
  const Status s = RunBatch(dir.path(), "2026-04-12", "2026-04-10", {});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RunBatch(dir.path(), "2026-02-30", "2026-04-10", {}).code(),
            StatusCode::kInvalidArgument);
}

testing::GeneratorOptions SmallData() {
  testing::GeneratorOptions g;
  // Small enough to keep the test quick: every lake file is fsync'd.
  g.events = 15'000;
  g.days = 12;
  g.late_share = 0.05;
  g.chunk_rows = 20'000;
  g.seed = 7;
  return g;
}

TEST(Batch, RunningTwiceGivesIdenticalTables) {
  TempDir once, twice;
  for (const auto* d : {&once, &twice}) ASSERT_TRUE(testing::WriteBronze(d->path(), SmallData()).ok());
  ASSERT_TRUE(RunBatch(once.path(), "2026-04-01", "2026-05-31", {}).ok());
  ASSERT_TRUE(RunBatch(twice.path(), "2026-04-01", "2026-05-31", {}).ok());
  BatchRunStats stats;
  ASSERT_TRUE(RunBatch(twice.path(), "2026-04-01", "2026-05-31", {}, &stats).ok());
  EXPECT_GT(stats.duplicates, 0);
  ExpectSameTables(once.path(), twice.path());
  // Nothing changed: the correction has nothing to do.
  BatchRunStats none;
  ASSERT_TRUE(RunHourlyCorrection(twice.path(), {}, &none).ok());
  EXPECT_TRUE(none.silver_dates.empty());
  EXPECT_FALSE(none.gold_rebuilt);
}

TEST(Batch, HourlyCorrectionWithLateFilesEqualsOneRunOverAllData) {
  TempDir all, hourly;
  ASSERT_TRUE(testing::WriteBronze(all.path(), SmallData()).ok());
  ASSERT_TRUE(RunBatch(all.path(), "2026-04-01", "2026-05-31", {}).ok());

  // The hourly directory sees the data in three waves: on-time events, then late arrivals
  // received up to a day after their event, then the rest — with runs in between.
  const int64_t cut1 = kDay0 + 4 * 86'400'000LL, cut2 = kDay0 + 8 * 86'400'000LL;
  auto received = [](const ColumnBatch& c, size_t r) { return c.column(4).Int64At(r); };
  auto wave = [&](int64_t from, int64_t to) {
    return [=](const ColumnBatch& c, size_t r) {
      return received(c, r) >= from && received(c, r) < to;
    };
  };
  ASSERT_TRUE(testing::WriteBronze(hourly.path(), SmallData(), wave(INT64_MIN, cut1)).ok());
  ASSERT_TRUE(RunBatch(hourly.path(), "2026-04-01", "2026-05-31", {}).ok());
  ASSERT_TRUE(testing::WriteBronze(hourly.path(), SmallData(), wave(cut1, cut2)).ok());
  BatchRunStats second;
  ASSERT_TRUE(RunHourlyCorrection(hourly.path(), {}, &second).ok());
  EXPECT_FALSE(second.silver_dates.empty());
  EXPECT_TRUE(second.gold_rebuilt);
  ASSERT_TRUE(testing::WriteBronze(hourly.path(), SmallData(), wave(cut2, INT64_MAX)).ok());
  ASSERT_TRUE(RunHourlyCorrection(hourly.path(), {}).ok());
  ExpectSameTables(all.path(), hourly.path());

  // A deletion request makes every date stale; the correction equals a full run with it.
  BatchOptions deleting;
  deleting.deleted_users = {"u7-3", "u7-10"};
  ASSERT_TRUE(RunHourlyCorrection(hourly.path(), deleting).ok());
  ASSERT_TRUE(RunBatch(all.path(), "2026-04-01", "2026-05-31", deleting).ok());
  ExpectSameTables(all.path(), hourly.path());
  for (const std::string& row : Rows(hourly.path(), "silver", "events"))
    EXPECT_THAT(row, ::testing::Not(::testing::HasSubstr("|u7-3|")));
}

TEST(Batch, ReconcileLedgerAddsUp) {
  TempDir dir;
  ASSERT_TRUE(testing::WriteBronze(dir.path(), SmallData()).ok());
  BatchOptions options;
  options.deleted_users = {"u7-1"};
  BatchRunStats stats;
  ASSERT_TRUE(RunBatch(dir.path(), "2026-04-01", "2026-05-31", options, &stats).ok());
  auto ledger = ReconcileBatch(dir.path());
  ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
  int64_t accepted = 0, silver = 0, duplicates = 0, deleted = 0;
  for (const BatchReconcileRow& r : *ledger) {
    EXPECT_EQ(r.accepted, r.unique + r.duplicates) << r.date;
    EXPECT_EQ(r.unique, r.silver_rows + r.deleted) << r.date;
    EXPECT_FALSE(r.stale) << r.date;
    accepted += r.accepted;
    silver += r.silver_rows;
    duplicates += r.duplicates;
    deleted += r.deleted;
  }
  EXPECT_EQ(accepted, stats.bronze_rows);
  EXPECT_EQ(silver, stats.silver_rows);
  EXPECT_EQ(duplicates, stats.duplicates);
  EXPECT_EQ(deleted, stats.deleted_rows);
  EXPECT_GT(deleted, 0);
}

}  // namespace
}  // namespace tidemark::batch
