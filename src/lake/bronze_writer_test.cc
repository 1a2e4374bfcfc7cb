#include "lake/bronze_writer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <map>
#include <filesystem>
#include <set>
#include <thread>

#include "common/fault_points.h"
#include "lake/bronze_schema.h"
#include "lake/table.h"
#include "log/memory_log.h"
#include "schema/ingest_encoder.h"
#include "schema/registry.h"
#include "schema/wire_format.h"

namespace tidemark::lake {
namespace {

namespace fs = std::filesystem;

constexpr int64_t k2026_04_10 = 1'775'779'200'000;  // 2026-04-10T00:00:00Z
constexpr int64_t kHour = 3'600'000;

class BronzeWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "bronze_writer_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    log_ = log::NewMemoryLog();
    ASSERT_TRUE(log_->CreateTopic(log::kUserEvents, 2).ok());
    ASSERT_TRUE(log_->CreateTopic(log::kServerEvents, 1).ok());
    ASSERT_TRUE(log_->CreateTopic(log::kDlqEvents, 1).ok());
  }
  void TearDown() override {
    DisarmAllFaults();
    fs::remove_all(root_);
  }

  BronzeWriterOptions Options() {
    BronzeWriterOptions o;
    o.lake_root = root_;
    o.clock = &clock_;
    o.metrics = &metrics_;
    o.poll_interval_ms = 5;
    return o;
  }

  std::unique_ptr<BronzeWriter> OpenWriter(BronzeWriterOptions options) {
    auto w = BronzeWriter::Open(log_.get(), std::move(options));
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(w).value() : nullptr;
  }
  std::unique_ptr<BronzeWriter> OpenWriter() { return OpenWriter(Options()); }

  static event::Event MakeEvent(int i, const std::string& context = R"({"ip":"10.0.0.1"})") {
    event::Event e;
    e.event_id = "evt-" + std::to_string(i);
    e.event_type = i % 3 ? "page_view" : "click";
    e.timestamp_ms = k2026_04_10 + i * 60'000;
    e.event_time_ms = e.timestamp_ms + 5;
    e.received_at_ms = e.timestamp_ms + 1000;
    e.user_id = "u-" + std::to_string(i % 7);
    e.session_id = i % 2 ? "s-1" : "";
    e.platform = "web";
    e.source = "web-shop";
    if (i % 4 == 0) e.schema_version = 2;
    e.context_json = context;
    e.properties_json = R"({"n":)" + std::to_string(i) + "}";
    return e;
  }

  void AppendEvents(std::string_view topic, int partition, int first, int count,
                    const std::string& context = R"({"ip":"10.0.0.1"})") {
    std::vector<log::Record> records;
    for (int i = first; i < first + count; ++i) {
      event::Event e = MakeEvent(i, context);
      records.push_back({e.user_key(), event::EventToJson(e), e.received_at_ms, {}});
    }
    ASSERT_TRUE(log::AppendAndWait(*log_, topic, partition, std::move(records)).ok());
  }

  std::unique_ptr<Table> OpenTable(std::string_view name) {
    auto t = Table::Open(root_, "bronze", std::string(name));
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? std::move(t).value() : nullptr;
  }

  // CatchUp with `fault` armed must fail with an IOError that says `message`.
  static void ExpectCatchUpFails(BronzeWriter& w, const char* fault, std::string_view message) {
    ArmFault(fault);
    Status st = w.CatchUp();
    DisarmFault(fault);
    EXPECT_EQ(st.code(), StatusCode::kIOError);
    EXPECT_NE(st.message().find(message), std::string::npos) << st.ToString();
  }

  size_t ParquetFilesOnDisk(std::string_view table) {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(root_ + "/bronze/" + std::string(table) + "/data"))
      n += e.path().extension() == ".parquet";
    return n;
  }

  // (log_partition, log_offset) of every row, checking that none repeats.
  std::set<std::pair<int32_t, int64_t>> Positions(std::string_view table) {
    auto t = OpenTable(table);
    auto batch = t->Scan({"log_partition", "log_offset"});
    EXPECT_TRUE(batch.ok()) << batch.status().ToString();
    std::set<std::pair<int32_t, int64_t>> out;
    for (size_t r = 0; r < batch->num_rows(); ++r) {
      auto [it, fresh] = out.emplace(batch->column(0).Int32At(r), batch->column(1).Int64At(r));
      EXPECT_TRUE(fresh) << table << ": partition " << it->first << " offset " << it->second
                         << " is in bronze twice";
    }
    return out;
  }

  static bool WaitFor(const std::function<bool()>& done) {
    for (int i = 0; i < 2000 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return done();
  }

  std::string root_;
  ManualClock clock_{k2026_04_10 + 24 * kHour};
  MetricsRegistry metrics_;
  std::unique_ptr<log::Log> log_;
};

TEST_F(BronzeWriterTest, EveryRecordLandsOnceInTheContractColumns) {
  AppendEvents(log::kUserEvents, 0, 0, 30);
  AppendEvents(log::kUserEvents, 1, 100, 20);
  AppendEvents(log::kServerEvents, 0, 200, 5);
  auto w = OpenWriter();
  ASSERT_TRUE(w->CatchUp().ok());
  EXPECT_EQ(w->stats().rows_committed, 55);

  auto t = OpenTable(bronze::kUserEvents);
  EXPECT_EQ(t->current().source_offsets.at("user-events/0"), 30);
  EXPECT_EQ(t->current().source_offsets.at("user-events/1"), 20);
  EXPECT_EQ(Positions(bronze::kUserEvents).size(), 50u);
  EXPECT_EQ(Positions(bronze::kServerEvents).size(), 5u);

  // Row by row against the events that were appended.
  auto batch = t->Scan({});
  ASSERT_TRUE(batch.ok());
  const ColumnBatch& b = *batch;
  auto col = [&](std::string_view name) { return b.FindColumn(name); };
  for (size_t r = 0; r < b.num_rows(); ++r) {
    const int partition = col("log_partition")->Int32At(r);
    const int64_t offset = col("log_offset")->Int64At(r);
    const event::Event e = MakeEvent(static_cast<int>(partition == 0 ? offset : 100 + offset));
    EXPECT_EQ(col("event_id")->StringAt(r), e.event_id);
    EXPECT_EQ(col("event_type")->StringAt(r), e.event_type);
    EXPECT_EQ(col("event_time")->Int64At(r), e.event_time_ms);
    EXPECT_EQ(col("client_timestamp")->Int64At(r), e.timestamp_ms);
    EXPECT_EQ(col("received_at")->Int64At(r), e.received_at_ms);
    EXPECT_EQ(col("user_id")->StringAt(r), e.user_id);
    EXPECT_TRUE(col("anonymous_id")->IsNull(r));
    EXPECT_EQ(col("session_id")->IsNull(r), e.session_id.empty());
    EXPECT_EQ(col("platform")->StringAt(r), "web");
    EXPECT_EQ(col("source")->StringAt(r), "web-shop");
    EXPECT_EQ(col("schema_version")->IsNull(r), !e.schema_version.has_value());
    EXPECT_EQ(col("properties")->StringAt(r), e.properties_json);
    EXPECT_EQ(col("context_ip")->StringAt(r), "10.0.0.1");
  }
}

TEST_F(BronzeWriterTest, ResumesFromTheSnapshotOffsetsAfterReopen) {
  AppendEvents(log::kUserEvents, 0, 0, 40);
  {
    auto w = OpenWriter();
    ASSERT_TRUE(w->CatchUp().ok());
  }
  AppendEvents(log::kUserEvents, 0, 40, 25);
  AppendEvents(log::kUserEvents, 1, 100, 10);
  auto w = OpenWriter();
  ASSERT_TRUE(w->CatchUp().ok());
  EXPECT_EQ(w->stats().rows_committed, 35) << "the second writer must start at offset 40";
  EXPECT_EQ(Positions(bronze::kUserEvents).size(), 75u);
}

TEST_F(BronzeWriterTest, FailedCommitIsInvisibleAndTheRetryIsExactlyOnce) {
  AppendEvents(log::kUserEvents, 0, 0, 40);
  {
    auto w = OpenWriter();
    ExpectCatchUpFails(*w, "lake.commit_fails", "injected commit failure");
    EXPECT_EQ(Positions(bronze::kUserEvents).size(), 0u) << "uncommitted files must not be read";
    // The files it wrote are on disk, not yet in any snapshot.
    EXPECT_GT(ParquetFilesOnDisk(bronze::kUserEvents), 0u);
    ASSERT_TRUE(w->Flush().ok()) << "the written files are kept for a retry";
  }
  AppendEvents(log::kUserEvents, 0, 40, 10);
  auto w = OpenWriter();  // a restart after the retry
  ASSERT_TRUE(w->CatchUp().ok());
  EXPECT_EQ(Positions(bronze::kUserEvents).size(), 50u);
  // The retry committed the files of the failed attempt rather than writing them again:
  // every file on disk is in the snapshot, and expiry finds no orphans.
  auto t = OpenTable(bronze::kUserEvents);
  EXPECT_EQ(ParquetFilesOnDisk(bronze::kUserEvents), t->current().files.size());
  auto expired = t->ExpireSnapshots(100, 0);
  ASSERT_TRUE(expired.ok());
  EXPECT_TRUE(expired->deleted_files.empty());
  EXPECT_EQ(Positions(bronze::kUserEvents).size(), 50u);
}

TEST_F(BronzeWriterTest, FailedFileWriteReadsTheMicroBatchAgainFromTheLog) {
  // More rows than one stream into the files, so that some have left the buffer when the
  // write fails.
  AppendEvents(log::kUserEvents, 0, 0, 20000);
  {
    auto w = OpenWriter();
    ExpectCatchUpFails(*w, "lake.stream_fails", "injected file write failure");
    EXPECT_EQ(Positions(bronze::kUserEvents).size(), 0u);
    ASSERT_TRUE(w->CatchUp().ok()) << "the micro-batch is read again from the log";
    EXPECT_EQ(w->stats().rows_committed, 20000);
  }
  EXPECT_EQ(Positions(bronze::kUserEvents).size(), 20000u);
  auto t = OpenTable(bronze::kUserEvents);
  int64_t rows = 0;
  for (const DataFile& f : t->current().files) rows += f.rows;
  EXPECT_EQ(rows, 20000) << "no row is committed twice";
}

TEST_F(BronzeWriterTest, ContextFieldFirstSeenMidBatchJoinsTheTableWhileRowsStream) {
  // One micro-batch longer than a stream, with a context field first seen after the first
  // rows have gone to a file: those rows read it as NULL, the later ones have it.
  AppendEvents(log::kUserEvents, 0, 0, 12000);
  AppendEvents(log::kUserEvents, 0, 12000, 9000, R"({"ip":"10.0.0.2","geo_lat":52.5})");
  auto w = OpenWriter();
  ASSERT_TRUE(w->CatchUp().ok());
  EXPECT_EQ(w->stats().commits, 1) << "one micro-batch";
  auto t = OpenTable(bronze::kUserEvents);
  auto b = t->Scan({"log_offset", "context_geo_lat"});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(b->num_rows(), 21000u);
  std::set<int64_t> offsets;
  for (size_t r = 0; r < b->num_rows(); ++r) {
    const int64_t offset = b->column(0).Int64At(r);
    offsets.insert(offset);
    ASSERT_EQ(b->column(1).IsNull(r), offset < 12000) << "offset " << offset;
    if (offset >= 12000) ASSERT_EQ(b->column(1).DoubleAt(r), 52.5);
  }
  EXPECT_EQ(offsets.size(), 21000u);
  std::set<int32_t> schema_ids;
  for (const DataFile& f : t->current().files) schema_ids.insert(f.schema_id);
  EXPECT_GE(schema_ids.size(), 2u) << "files written before and after the column was added";
}

TEST_F(BronzeWriterTest, CrashBeforeCommitLosesNothingAndDuplicatesNothing) {
  AppendEvents(log::kUserEvents, 0, 0, 40);
  {
    auto w = OpenWriter();
    ASSERT_TRUE(w->CatchUp().ok());
    AppendEvents(log::kUserEvents, 0, 40, 30);
    ASSERT_TRUE(w->Poll().ok());
    // Destroyed with 30 rows buffered and never committed: a crash, as far as bronze knows.
  }
  auto w = OpenWriter();
  ASSERT_TRUE(w->CatchUp().ok());
  EXPECT_EQ(w->stats().rows_committed, 30);
  EXPECT_EQ(Positions(bronze::kUserEvents).size(), 70u);
}

TEST_F(BronzeWriterTest, ContextFieldsBecomeTypedColumnsWhenFirstSeen) {
  AppendEvents(log::kUserEvents, 0, 0, 10);
  auto w = OpenWriter();
  ASSERT_TRUE(w->CatchUp().ok());
  AppendEvents(log::kUserEvents, 0, 10, 5, R"({"ip":"10.0.0.2","geo_lat":52.5,"is_test":true,"n":3})");
  ASSERT_TRUE(w->CatchUp().ok());

  auto t = OpenTable(bronze::kUserEvents);
  const Schema& s = t->current().schema;
  ASSERT_GE(s.FindField("context_geo_lat"), 0);
  EXPECT_EQ(s.fields[s.FindField("context_geo_lat")].type, ColumnType::kDouble);
  EXPECT_EQ(s.fields[s.FindField("context_is_test")].type, ColumnType::kBoolean);
  EXPECT_EQ(s.fields[s.FindField("context_n")].type, ColumnType::kDouble);
  EXPECT_EQ(s.fields[s.FindField("context_ip")].type, ColumnType::kString);
  auto b = t->Scan({"log_offset", "context_geo_lat", "context_is_test", "context_ip"});
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->num_rows(), 15u);
  for (size_t r = 0; r < b->num_rows(); ++r) {
    const bool later = b->column(0).Int64At(r) >= 10;
    EXPECT_EQ(b->column(1).IsNull(r), !later) << "row " << r;
    EXPECT_EQ(b->column(2).IsNull(r), !later) << "row " << r;
    if (later) {
      EXPECT_EQ(b->column(1).DoubleAt(r), 52.5);
      EXPECT_TRUE(b->column(2).BoolAt(r));
    }
    EXPECT_FALSE(b->column(3).IsNull(r));
  }
}

TEST_F(BronzeWriterTest, ContextValueOfAnotherTypeIsKeptAsJsonText) {
  AppendEvents(log::kUserEvents, 0, 0, 1, R"({"geo_lat":1.5,"ip":"10.0.0.1"})");
  AppendEvents(log::kUserEvents, 0, 1, 1, R"({"geo_lat":"north","ip":7})");
  AppendEvents(log::kUserEvents, 0, 2, 1, R"({"geo_lat":{"a":[1,true]},"ip":null})");
  auto w = OpenWriter();
  ASSERT_TRUE(w->CatchUp().ok());
  auto t = OpenTable(bronze::kUserEvents);
  auto b = t->Scan({"log_offset", "context_geo_lat", "context_geo_lat__text", "context_ip"});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(b->num_rows(), 3u);
  for (size_t r = 0; r < 3; ++r) {
    switch (b->column(0).Int64At(r)) {
      case 0:
        EXPECT_EQ(b->column(1).DoubleAt(r), 1.5);
        EXPECT_TRUE(b->column(2).IsNull(r));
        EXPECT_EQ(b->column(3).StringAt(r), "10.0.0.1");
        break;
      case 1:
        EXPECT_TRUE(b->column(1).IsNull(r));
        EXPECT_EQ(b->column(2).StringAt(r), R"("north")");
        EXPECT_EQ(b->column(3).StringAt(r), "7") << "a number in a string column is its JSON text";
        break;
      case 2:
        EXPECT_TRUE(b->column(1).IsNull(r));
        EXPECT_EQ(b->column(2).StringAt(r), R"({"a":[1,true]})");
        EXPECT_TRUE(b->column(3).IsNull(r)) << "JSON null is NULL";
        break;
    }
  }
}

// The Avro fast path (a flat decode straight into the row) against the long way round (the
// value resolved to JSON, then read as canonical JSON): every column of every row agrees,
// across a typed schema read by a newer version (defaults, an enum, a nested record and
// numbers in the context) and the generic schema's "json" strings.
TEST_F(BronzeWriterTest, AvroValuesLandAsTheirResolvedJsonWould) {
  auto schema_log = log::NewMemoryLog();
  auto registry = schema::Registry::Open(*schema_log).value();
  const std::string v1 = R"({"type":"record","name":"PageView","fields":[
    {"name":"event_type","type":"string"},
    {"name":"timestamp","type":{"type":"long","logicalType":"timestamp-millis"}},
    {"name":"user_id","type":["null","string"],"default":null},
    {"name":"anonymous_id","type":["null","string"],"default":null},
    {"name":"platform","type":{"type":"enum","name":"Platform","symbols":["web","ios"]},"default":"web"},
    {"name":"context","default":{},"type":{"type":"record","name":"Context","fields":[
      {"name":"ip","type":["null","string"],"default":null},
      {"name":"screen","type":["null",{"type":"record","name":"Screen","fields":[
        {"name":"w","type":"int"},{"name":"h","type":"int"}]}],"default":null},
      {"name":"dpr","type":["null","float"],"default":null},
      {"name":"retina","type":["null","boolean"],"default":null},
      {"name":"visits","type":["null","int"],"default":null}]}},
    {"name":"properties","default":{},"type":{"type":"record","name":"Props","fields":[
      {"name":"url","type":["null","string"],"default":null},
      {"name":"tags","type":{"type":"array","items":"string"},"default":[]}]}}]})";
  std::string v2 = v1;
  v2.replace(v2.find(R"({"name":"visits")"), 0,
             R"({"name":"app_version","type":"string","default":"unknown"},)");
  v2.replace(v2.find(R"({"name":"url")"), 0, R"({"name":"ref","type":["null","string"],"default":null},)");
  ASSERT_TRUE(registry->Register("page_view-value", v1).ok());
  const int v1_id = registry->Lookup("page_view-value", v1)->id;
  ASSERT_TRUE(registry->Register("page_view-value", v2).ok());
  ASSERT_TRUE(registry->Register(schema::kGenericSubject, schema::GenericEventSchema()).ok());
  const int generic_id = registry->Lookup(schema::kGenericSubject, schema::GenericEventSchema())->id;

  const std::vector<std::pair<int, std::string>> events = {
      {v1_id, R"({"event_type":"page_view","timestamp":1775800800000,"user_id":"u-1","platform":"ios",
          "context":{"ip":"10.0.0.1","screen":{"w":390,"h":844},"dpr":3.0,"retina":true,"visits":7},
          "properties":{"url":"/a","tags":["x","y"]}})"},
      {v1_id, R"({"event_type":"page_view","timestamp":1775800801000,"anonymous_id":"a-2",
          "context":{"dpr":1.25},"properties":{}})"},
      {generic_id, R"({"event_type":"level_up","timestamp":1775800802000,"user_id":"u-3","event_id":"e-3",
          "schema_version":4,"platform":"server",
          "context":{"ip":"10.1.1.1","visits":2,"retina":false,"screen":[1,2]},"properties":{"level":3}})"},
      {generic_id, R"({"event_type":"level_up","timestamp":1775800803000,"user_id":"u-4","session_id":"s-4"})"},
  };
  schema::ConsumerDecoder reference(*registry);
  std::vector<log::Record> avro_records, json_records;
  for (size_t i = 0; i < events.size(); ++i) {
    auto writer_schema = registry->SchemaById(events[i].first).value();
    auto body = schema::EncodeJsonText(*writer_schema, events[i].second);
    ASSERT_TRUE(body.ok()) << body.status().ToString();
    log::Record avro{"k", {}, 1775800900000 + static_cast<int64_t>(i), {}};
    schema::AppendWireHeader(events[i].first, &avro.value);
    avro.value += *body;
    avro.headers = {{"source", "web-shop"}};
    if (i == 1) avro.headers.push_back({"event_time", "1775800800500"});
    // The long way: resolved JSON, read as canonical JSON, with the headers applied.
    std::string resolved;
    ASSERT_TRUE(reference.DecodeToJson(avro.value, &resolved).ok());
    auto e = event::EventFromJson(resolved);
    ASSERT_TRUE(e.ok()) << e.status().ToString() << " " << resolved;
    e->received_at_ms = avro.timestamp_ms;
    e->source = "web-shop";
    if (i == 1) e->event_time_ms = 1775800800500;
    json_records.push_back({"k", event::EventToJson(*e), avro.timestamp_ms, {}});
    avro_records.push_back(std::move(avro));
  }
  ASSERT_TRUE(log::AppendAndWait(*log_, log::kUserEvents, 0, std::move(avro_records)).ok());
  ASSERT_TRUE(log::AppendAndWait(*log_, log::kUserEvents, 1, std::move(json_records)).ok());

  auto o = Options();
  o.decoder = NewLogEventDecoder(registry.get());
  auto w = OpenWriter(std::move(o));
  ASSERT_TRUE(w->CatchUp().ok());
  EXPECT_EQ(w->stats().undecodable_records, 0);
  auto t = OpenTable(bronze::kUserEvents);
  std::vector<std::string> names;
  for (const Field& f : t->current().schema.fields) names.push_back(f.name);
  auto b = t->Scan(names);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(b->num_rows(), 2 * events.size());
  auto cell = [&](size_t c, size_t r) -> std::string {
    const Column& col = b->column(c);
    if (col.IsNull(r)) return "NULL";
    switch (col.type()) {
      case ColumnType::kBoolean: return col.BoolAt(r) ? "true" : "false";
      case ColumnType::kInt32: return std::to_string(col.Int32At(r));
      case ColumnType::kInt64:
      case ColumnType::kTimestampMillis: return std::to_string(col.Int64At(r));
      case ColumnType::kDouble: return std::to_string(col.DoubleAt(r));
      case ColumnType::kString: return std::string(col.StringAt(r));
    }
    return "?";
  };
  const int partition_column = t->current().schema.FindField("log_partition");
  const int offset_column = t->current().schema.FindField("log_offset");
  std::map<std::pair<int, int64_t>, size_t> row_of;
  for (size_t r = 0; r < b->num_rows(); ++r) {
    row_of[{b->column(partition_column).Int32At(r), b->column(offset_column).Int64At(r)}] = r;
  }
  for (int64_t offset = 0; offset < static_cast<int64_t>(events.size()); ++offset) {
    const size_t fast = row_of.at({0, offset}), slow = row_of.at({1, offset});
    for (size_t c = 0; c < names.size(); ++c) {
      if (static_cast<int>(c) == partition_column) continue;
      EXPECT_EQ(cell(c, fast), cell(c, slow)) << "offset " << offset << " column " << names[c];
    }
  }
  // The v1 events took v2's defaults, and the nested record is its JSON text.
  EXPECT_EQ(cell(static_cast<size_t>(t->current().schema.FindField("context_app_version")), row_of.at({0, 0})),
            "unknown");
  EXPECT_EQ(cell(static_cast<size_t>(t->current().schema.FindField("context_screen")), row_of.at({0, 0})),
            R"({"w":390,"h":844})");
  EXPECT_EQ(cell(static_cast<size_t>(t->current().schema.FindField("properties")), row_of.at({0, 0})),
            R"({"url":"/a","tags":["x","y"],"ref":null})");
}

TEST_F(BronzeWriterTest, ContextColumnsStopAtTheConfiguredBound) {
  AppendEvents(log::kUserEvents, 0, 0, 1, R"({"a":"1","b":"2","c":"3"})");
  auto o = Options();
  o.max_context_columns = 2;
  auto w = OpenWriter(std::move(o));
  ASSERT_TRUE(w->CatchUp().ok());
  auto t = OpenTable(bronze::kUserEvents);
  EXPECT_GE(t->current().schema.FindField("context_b"), 0);
  EXPECT_EQ(t->current().schema.FindField("context_c"), -1);
  EXPECT_NE(metrics_.RenderPrometheus().find(
                "tidemark_lake_context_fields_dropped_total{table=\"user_events\"} 1"),
            std::string::npos);
}

TEST_F(BronzeWriterTest, DlqRecordsKeepReasonMessageIndexAndRaw) {
  std::vector<log::Record> records;
  records.push_back({"web-shop",
                     R"({"reason":"missing_field","message":"user_id: required","index":3,"source":"web-shop","received_at":1775800800000,"raw":{"event_type":"x"}})",
                     1775800800000, {}});
  records.push_back({"web-shop",
                     R"({"reason":"invalid_json","message":"body is not valid JSON","index":-1,"source":"web-shop","received_at":1775800800001,"raw":"{not json"})",
                     1775800800001, {}});
  records.push_back({"web-shop", "garbage", 1775800800002, {}});
  ASSERT_TRUE(log::AppendAndWait(*log_, log::kDlqEvents, 0, std::move(records)).ok());
  auto w = OpenWriter();
  ASSERT_TRUE(w->CatchUp().ok());
  auto t = OpenTable(bronze::kDlqEvents);
  auto b = t->Scan({"log_offset", "reason", "message", "batch_index", "source", "received_at", "raw"});
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->num_rows(), 3u);
  for (size_t r = 0; r < 3; ++r) {
    switch (b->column(0).Int64At(r)) {
      case 0:
        EXPECT_EQ(b->column(1).StringAt(r), "missing_field");
        EXPECT_EQ(b->column(2).StringAt(r), "user_id: required");
        EXPECT_EQ(b->column(3).Int64At(r), 3);
        EXPECT_EQ(b->column(4).StringAt(r), "web-shop");
        EXPECT_EQ(b->column(5).Int64At(r), 1775800800000);
        EXPECT_EQ(b->column(6).StringAt(r), R"({"event_type":"x"})");
        break;
      case 1:
        EXPECT_TRUE(b->column(3).IsNull(r)) << "index -1 (whole body) is NULL";
        EXPECT_EQ(b->column(6).StringAt(r), "{not json");
        break;
      case 2:
        EXPECT_TRUE(b->column(1).IsNull(r));
        EXPECT_EQ(b->column(5).Int64At(r), 1775800800002) << "falls back to the record time";
        EXPECT_EQ(b->column(6).StringAt(r), "garbage");
        break;
    }
  }
}

TEST_F(BronzeWriterTest, UndecodableEventIsCountedSkippedAndItsOffsetCommitted) {
  AppendEvents(log::kUserEvents, 0, 0, 2);
  ASSERT_TRUE(log::AppendAndWait(*log_, log::kUserEvents, 0, {{"k", "{\"event_type\":1}", 0, {}}}).ok());
  AppendEvents(log::kUserEvents, 0, 3, 2);
  auto w = OpenWriter();
  ASSERT_TRUE(w->CatchUp().ok());
  EXPECT_EQ(w->stats().undecodable_records, 1);
  EXPECT_EQ(Positions(bronze::kUserEvents).size(), 4u);
  EXPECT_EQ(OpenTable(bronze::kUserEvents)->current().source_offsets.at("user-events/0"), 5);
  EXPECT_NE(metrics_.RenderPrometheus().find(
                "tidemark_lake_undecodable_records_total{topic=\"user-events\"} 1"),
            std::string::npos);
}

TEST_F(BronzeWriterTest, HeadersOverrideReceivedAtAndSource) {
  event::Event e = MakeEvent(1);
  log::Record rec{"u", event::EventToJson(e), 0, {{"received_at", "1775800899999"}, {"source", "ios-app"}}};
  ASSERT_TRUE(log::AppendAndWait(*log_, log::kUserEvents, 0, {rec}).ok());
  auto w = OpenWriter();
  ASSERT_TRUE(w->CatchUp().ok());
  auto b = OpenTable(bronze::kUserEvents)->Scan({"received_at", "source"});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->column(0).Int64At(0), 1775800899999);
  EXPECT_EQ(b->column(1).StringAt(0), "ios-app");
}

TEST_F(BronzeWriterTest, ThreadCommitsOnceTheIntervalPasses) {
  auto o = Options();
  o.flush_interval_ms = 60'000;
  auto w = OpenWriter(std::move(o));
  ASSERT_TRUE(w->Start().ok());
  AppendEvents(log::kUserEvents, 0, 0, 10);
  ASSERT_TRUE(WaitFor([&] { return w->stats().records_read == 10; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(w->stats().commits, 0) << "nothing is due before the interval";
  EXPECT_NE(metrics_.RenderPrometheus().find("tidemark_lake_lag_records{topic=\"user-events\"} 10"),
            std::string::npos)
      << metrics_.RenderPrometheus();
  clock_.Advance(60'000);
  ASSERT_TRUE(WaitFor([&] { return w->stats().rows_committed == 10; }));
  EXPECT_NE(metrics_.RenderPrometheus().find("tidemark_lake_lag_records{topic=\"user-events\"} 0"),
            std::string::npos);
  ASSERT_TRUE(w->Stop().ok());
}

TEST_F(BronzeWriterTest, ThreadCommitsWhenTheBuffersReachFlushBytes) {
  auto o = Options();
  o.flush_bytes = 20'000;  // ~80 events
  auto w = OpenWriter(std::move(o));
  ASSERT_TRUE(w->Start().ok());
  AppendEvents(log::kUserEvents, 0, 0, 200);
  ASSERT_TRUE(WaitFor([&] { return w->stats().records_read == 200; }));
  // Full buffers are committed at once; the rest (under flush_bytes) waits for the interval.
  ASSERT_TRUE(WaitFor([&] { return w->stats().rows_committed >= 120; }))
      << w->stats().commits << " commits, rows " << w->stats().rows_committed;
  EXPECT_GE(w->stats().commits, 2);
  EXPECT_LT(w->stats().rows_committed, 200);
  ASSERT_TRUE(w->Stop().ok());
  EXPECT_EQ(Positions(bronze::kUserEvents).size(), 200u);
}

TEST_F(BronzeWriterTest, FailedStreamMakesItsTableDueWithoutWaitingForTheInterval) {
  AppendEvents(log::kUserEvents, 0, 0, 10000);  // more than one stream's worth of rows
  ArmFault("lake.stream_fails");
  auto w = OpenWriter();  // five-minute interval, on a clock that does not move
  ASSERT_TRUE(w->Start().ok());
  Counter& errors = metrics_.GetCounter("tidemark_lake_commit_errors_total", "",
                                        {{"table", std::string(bronze::kUserEvents)}});
  EXPECT_TRUE(WaitFor([&] { return errors.Value() > 0; }))
      << "the failed stream must be flushed (and the micro-batch dropped) at once";
  DisarmFault("lake.stream_fails");
  ASSERT_TRUE(w->Stop().ok());
  EXPECT_EQ(Positions(bronze::kUserEvents).size(), 10000u);
}

TEST_F(BronzeWriterTest, StopCommitsEverythingTheLogHolds) {
  auto w = OpenWriter();  // five-minute interval: only Stop() commits
  ASSERT_TRUE(w->Start().ok());
  AppendEvents(log::kUserEvents, 0, 0, 25);
  AppendEvents(log::kServerEvents, 0, 100, 5);
  ASSERT_TRUE(w->Stop().ok());
  EXPECT_EQ(Positions(bronze::kUserEvents).size(), 25u);
  EXPECT_EQ(Positions(bronze::kServerEvents).size(), 5u);
  EXPECT_TRUE(w->Stop().ok()) << "Stop is idempotent";
}

TEST_F(BronzeWriterTest, RefusesATableThatBreaksTheContract) {
  ASSERT_TRUE(Table::Create(root_, "bronze", "user_events",
                            Schema{{{"event_id", ColumnType::kInt64, false},
                                    {"event_time", ColumnType::kTimestampMillis, false}}},
                            "event_time")
                  .ok());
  auto w = BronzeWriter::Open(log_.get(), Options());
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(w.status().message().find("column 0 should be event_id string NOT NULL"),
            std::string::npos)
      << w.status().ToString();
}

}  // namespace
}  // namespace tidemark::lake
