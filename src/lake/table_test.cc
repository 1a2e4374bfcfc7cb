#include "lake/table.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "common/fault_points.h"
#include "common/files.h"

namespace tidemark::lake {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kHour = 3'600'000;
constexpr int64_t k2026_04_10 = 1'775'779'200'000;  // 2026-04-10T00:00:00Z

class TableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "lake_table_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    DisarmAllFaults();
    fs::remove_all(root_);
  }

  static Schema EventSchema() {
    return Schema{{{"event_id", ColumnType::kString, false},
                   {"event_time", ColumnType::kTimestampMillis, false},
                   {"event_type", ColumnType::kString, true}}};
  }

  std::unique_ptr<Table> CreateTable() {
    auto table = Table::Create(root_, "bronze", "events", EventSchema(), "event_time", clock_);
    EXPECT_TRUE(table.ok()) << table.status().ToString();
    return table.ok() ? std::move(table).value() : nullptr;
  }

  std::unique_ptr<Table> Reopen() {
    auto table = Table::Open(root_, "bronze", "events", clock_);
    EXPECT_TRUE(table.ok()) << table.status().ToString();
    return table.ok() ? std::move(table).value() : nullptr;
  }

  // `rows` events starting at `first_ms`, one every `step_ms`.
  static ColumnBatch Events(const Schema& schema, int64_t first_ms, int64_t step_ms, int rows,
                            const std::string& prefix) {
    ColumnBatch b(schema);
    for (int i = 0; i < rows; ++i) {
      b.column(0).AppendString(prefix + std::to_string(i));
      b.column(1).AppendInt64(first_ms + i * step_ms);
      b.column(2).AppendString(i % 2 ? "click" : "page_view");
      for (size_t c = 3; c < b.num_columns(); ++c) b.column(c).AppendNull();
    }
    return b;
  }

  std::string root_;
  ManualClock clock_{k2026_04_10};
};

TEST_F(TableTest, CreateAssignsFieldIdsAndStartsAtVersionOne) {
  auto table = CreateTable();
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->current().version, 1);
  EXPECT_EQ(table->current().schema.fields[0].field_id, 1);
  EXPECT_EQ(table->current().schema.fields[2].field_id, 3);
  EXPECT_TRUE(fs::exists(root_ + "/bronze/events/metadata/v00000001.json"));
  auto again = Table::Create(root_, "bronze", "events", EventSchema(), "event_time", clock_);
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
}

TEST_F(TableTest, FilesArePartitionedByEventDateAndHour) {
  auto table = CreateTable();
  ASSERT_NE(table, nullptr);
  // 2026-04-10 22:30 to 2026-04-11 01:30, one event per 15 minutes: four hours, two dates.
  const ColumnBatch batch =
      Events(table->current().schema, k2026_04_10 + 22 * kHour + kHour / 2, kHour / 4, 12, "e");
  auto files = table->WriteFiles(batch);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_EQ(files->size(), 4u);
  EXPECT_EQ((*files)[0].event_date, "2026-04-10");
  EXPECT_EQ((*files)[0].event_hour, 22);
  EXPECT_EQ((*files)[0].rows, 2);
  EXPECT_EQ((*files)[2].event_date, "2026-04-11");
  EXPECT_EQ((*files)[2].event_hour, 0);
  EXPECT_EQ((*files)[2].path.rfind("data/event_date=2026-04-11/event_hour=00/", 0), 0u)
      << (*files)[2].path;
  EXPECT_TRUE(fs::exists(table->directory() + "/" + (*files)[2].path));
}

TEST_F(TableTest, CommitIsVisibleAfterReopenWithOffsetsAndHistory) {
  auto table = CreateTable();
  ASSERT_NE(table, nullptr);
  auto files = table->WriteFiles(Events(table->current().schema, k2026_04_10, 1000, 100, "a"));
  ASSERT_TRUE(files.ok());
  ASSERT_TRUE(table->Commit(*files, {}, {{"user-events/0", 100}, {"user-events/1", 7}}).ok());
  table.reset();

  auto reopened = Reopen();  // a restart: everything comes back from disk
  ASSERT_NE(reopened, nullptr);
  const TableSnapshot& s = reopened->current();
  EXPECT_EQ(s.version, 2);
  ASSERT_EQ(s.files.size(), 1u);
  EXPECT_EQ(s.files[0].rows, 100);
  EXPECT_EQ(std::get<std::string>(s.files[0].columns[0].min), "a0");
  EXPECT_EQ(std::get<int64_t>(s.files[0].columns[1].max), k2026_04_10 + 99'000);
  EXPECT_EQ(s.source_offsets.at("user-events/0"), 100);
  EXPECT_EQ(s.source_offsets.at("user-events/1"), 7);
  ASSERT_EQ(s.history.size(), 2u);
  EXPECT_EQ(s.history[1].operation, "append");
  EXPECT_EQ(s.history[1].added_rows, 100);
  auto scan = reopened->Scan({"event_id"});
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->num_rows(), 100u);
}

TEST_F(TableTest, CrashBeforeTheSwitchLeavesThePreviousSnapshot) {
  auto table = CreateTable();
  ASSERT_NE(table, nullptr);
  auto first = table->WriteFiles(Events(table->current().schema, k2026_04_10, 1000, 10, "a"));
  ASSERT_TRUE(table->Commit(*first, {}, {{"user-events/0", 10}}).ok());
  auto second = table->WriteFiles(Events(table->current().schema, k2026_04_10, 1000, 10, "b"));
  for (const char* fault : {"lake.commit.before_metadata", "lake.commit.before_switch"}) {
    ArmFault(fault);
    Status s = table->Commit(*second, {}, {{"user-events/0", 20}});
    EXPECT_EQ(s.code(), StatusCode::kIOError) << fault;
    DisarmAllFaults();
    auto after_crash = Reopen();
    ASSERT_NE(after_crash, nullptr);
    EXPECT_EQ(after_crash->current().version, 2) << fault;
    EXPECT_EQ(after_crash->current().files.size(), 1u) << fault;
    EXPECT_EQ(after_crash->current().source_offsets.at("user-events/0"), 10) << fault;
  }
  // The table recovers: a fresh handle commits version 3 over the abandoned v3 file.
  auto recovered = Reopen();
  ASSERT_TRUE(recovered->Commit(*second, {}, {{"user-events/0", 20}}).ok());
  EXPECT_EQ(Reopen()->current().version, 3);
  EXPECT_EQ(Reopen()->current().files.size(), 2u);
}

TEST_F(TableTest, StaleHandleCannotCommit) {
  auto writer = CreateTable();
  auto stale = Reopen();
  auto files = writer->WriteFiles(Events(writer->current().schema, k2026_04_10, 1000, 5, "a"));
  ASSERT_TRUE(writer->Commit(*files, {}, {}).ok());
  Status s = stale->Commit(*files, {}, {});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("moved to version 2 since this handle's version 1"), std::string::npos)
      << s.message();
}

TEST_F(TableTest, SourceOffsetsNeverMoveBack) {
  auto table = CreateTable();
  ASSERT_TRUE(table->Commit({}, {}, {{"user-events/0", 50}}).ok());
  Status s = table->Commit({}, {}, {{"user-events/0", 40}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST_F(TableTest, AddedColumnReadsAsNullInOlderFiles) {
  auto table = CreateTable();
  auto old_files = table->WriteFiles(Events(table->current().schema, k2026_04_10, 1000, 3, "old"));
  ASSERT_TRUE(table->Commit(*old_files, {}, {}).ok());
  ASSERT_TRUE(table->AddColumn("country", ColumnType::kString).ok());
  EXPECT_EQ(table->current().schema.fields.back().field_id, 4);
  EXPECT_EQ(table->current().schema_id, 1);
  ColumnBatch fresh(table->current().schema);
  for (int i = 0; i < 2; ++i) {
    fresh.column(0).AppendString("new" + std::to_string(i));
    fresh.column(1).AppendInt64(k2026_04_10 + kHour + i);
    fresh.column(2).AppendString("click");
    fresh.column(3).AppendString(i ? "SE" : "DE");
  }
  auto new_files = table->WriteFiles(fresh);
  ASSERT_TRUE(new_files.ok()) << new_files.status().ToString();
  ASSERT_TRUE(table->Commit(*new_files, {}, {}).ok());

  auto scan = Reopen()->Scan({"event_id", "country"});
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  ASSERT_EQ(scan->num_rows(), 5u);
  for (size_t r = 0; r < 3; ++r) EXPECT_TRUE(scan->column(1).IsNull(r)) << r;
  EXPECT_EQ(scan->column(1).StringAt(3), "DE");
  EXPECT_EQ(scan->column(1).StringAt(4), "SE");
  auto only_country = Reopen()->Scan({"country"});  // old files contribute NULL rows only
  ASSERT_TRUE(only_country.ok());
  EXPECT_EQ(only_country->num_rows(), 5u);
  EXPECT_EQ(only_country->column(0).null_count(), 3u);
  // A range on the new column skips the old files, whose country is entirely NULL.
  auto only_new = Reopen()->Scan({"event_id"}, {{"country", std::string("A"), std::string("Z")}});
  ASSERT_TRUE(only_new.ok());
  EXPECT_EQ(only_new->num_rows(), 2u);
}

TEST_F(TableTest, ScanSkipsFilesByStatistics) {
  auto table = CreateTable();
  auto files = table->WriteFiles(
      Events(table->current().schema, k2026_04_10, kHour / 10, 50, "e"));  // 5 hours
  ASSERT_EQ(files->size(), 5u);
  ASSERT_TRUE(table->Commit(*files, {}, {}).ok());
  auto scan = table->Scan({"event_time"},
                          {{"event_time", k2026_04_10 + 2 * kHour, k2026_04_10 + 3 * kHour - 1}});
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->num_rows(), 10u);  // exactly the 02:00 file
}

TEST_F(TableTest, ExpireRemovesOnlyFilesNoKeptSnapshotReferences) {
  auto table = CreateTable();
  auto v2_files = table->WriteFiles(Events(table->current().schema, k2026_04_10, 1000, 10, "a"));
  ASSERT_TRUE(table->Commit(*v2_files, {}, {}).ok());
  // v3 rewrites the v2 file (as compaction or a GDPR deletion would).
  auto v3_files = table->WriteFiles(Events(table->current().schema, k2026_04_10, 1000, 9, "a"));
  ASSERT_TRUE(table->Commit(*v3_files, {(*v2_files)[0].path}, {}).ok());
  // An orphan from a commit that never happened.
  auto orphan = table->WriteFiles(Events(table->current().schema, k2026_04_10, 1000, 1, "o"));

  auto kept_two = table->ExpireSnapshots(2, 0);
  ASSERT_TRUE(kept_two.ok()) << kept_two.status().ToString();
  EXPECT_EQ(kept_two->expired_versions, (std::vector<int64_t>{1}));
  EXPECT_EQ(kept_two->deleted_files, (std::vector<std::string>{(*orphan)[0].path}));
  EXPECT_TRUE(fs::exists(table->directory() + "/" + (*v2_files)[0].path));  // v2 still needs it

  auto kept_one = table->ExpireSnapshots(1, 0);
  ASSERT_TRUE(kept_one.ok());
  EXPECT_EQ(kept_one->expired_versions, (std::vector<int64_t>{2}));
  EXPECT_EQ(kept_one->deleted_files, (std::vector<std::string>{(*v2_files)[0].path}));
  EXPECT_TRUE(fs::exists(table->directory() + "/" + (*v3_files)[0].path));
  EXPECT_EQ(table->LoadSnapshot(2).status().code(), StatusCode::kNotFound);
  auto scan = Reopen()->Scan({});
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->num_rows(), 9u);
}

TEST_F(TableTest, ExpireKeepsYoungOrphansOfCommitsInProgress) {
  auto table = CreateTable();
  auto pending = table->WriteFiles(Events(table->current().schema, k2026_04_10, 1000, 3, "p"));
  auto result = table->ExpireSnapshots(1, 3'600'000);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->deleted_files.empty());
  EXPECT_TRUE(fs::exists(table->directory() + "/" + (*pending)[0].path));
}

TEST_F(TableTest, DamagedMetadataIsCorruptionNamingTheFile) {
  auto table = CreateTable();
  const std::string path = table->directory() + "/metadata/v00000001.json";
  ASSERT_TRUE(
      WriteFileAtomic(path, "{\"format\": \"tidemark-lake-table\", \"format_version\": 1}").ok());
  auto reopened = Table::Open(root_, "bronze", "events", clock_);
  EXPECT_EQ(reopened.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(reopened.status().message().rfind(path + ": snapshot metadata lacks", 0), 0u)
      << reopened.status().message();
}

TEST_F(TableTest, SnapshotJsonRoundTrips) {
  auto table = CreateTable();
  auto files = table->WriteFiles(Events(table->current().schema, k2026_04_10, 1000, 4, "x\"y"));
  ASSERT_TRUE(table->Commit(*files, {}, {{"p/0", 4}}).ok());
  const std::string json = SnapshotToJson(table->current());
  auto parsed = SnapshotFromJson(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(SnapshotToJson(*parsed), json);
}

}  // namespace
}  // namespace tidemark::lake
