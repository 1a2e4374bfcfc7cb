// Lake benchmark: 1,000,000 loadgen events, as the gateway logs them, go through the bronze
// writer on the calling thread — decode, buffer, Parquet encode, commit — and the figure is
// events per CPU-second of that one thread, after a warm-up (--warmup, 500,000 events: two
// flushes at the default flush size) that grows the writer's buffers to their working size,
// as in a running server; the warm-up's own rate is printed as the cold-start figure. By default the values are Confluent-framed Avro
// written by the registry's ingest encoder with the loadgen schemas of schemas/loadgen
// registered (what `tidemark serve` writes once those are registered); --format json gives
// the canonical JSON of schema.enabled = false. In the same run DuckDB
// (tests/lake/duckdb_copy.mjs) writes the same rows as its own ZSTD Parquet for a size
// comparison, and our reader scans columns of the written files. The writer's CPU is split
// into Poll (log reads, decoding, buffering, and the Parquet encoding and compression of the
// rows it streams to files every 8,192 rows) and Flush (the last rows of each micro-batch,
// closing files, commits); then the written rows are encoded again by the Parquet writer alone,
// compressed and uncompressed, to split encoding from ZSTD.
// Usage: lake_bench [--events N] [--warmup N] [--format avro|json] [--flush-bytes B]
//                   [--zstd-level L] [--keep DIR]
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "cli/loadgen.h"
#include "common/subprocess.h"
#include "event/event.h"
#include "event/event_parser.h"
#include "event/json_writer.h"
#include "lake/bronze_schema.h"
#include "lake/bronze_writer.h"
#include "lake/parquet.h"
#include "lake/table.h"
#include "log/embedded_log.h"
#include "log/memory_log.h"
#include "schema/ingest_encoder.h"
#include "schema/registry.h"
#include "schema/wire_format.h"

namespace {

namespace fs = std::filesystem;
using namespace tidemark;

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// User and system CPU of the calling thread.
std::pair<double, double> ThreadUserSys() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return {u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6, u.ru_stime.tv_sec + u.ru_stime.tv_usec * 1e-6};
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int Fail(const std::string& what, const Status& st) {
  std::fprintf(stderr, "lake_bench: %s: %s\n", what.c_str(), st.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t events = 1'000'000;
  int64_t warmup = 500'000;
  int64_t flush_bytes = 64ll << 20;
  int zstd_level = lake::ParquetWriterOptions().zstd_level;
  std::string keep;
  std::string format = "avro";
  std::string log_kind = "disk";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--events") events = std::atoll(argv[i + 1]);
    if (a == "--flush-bytes") flush_bytes = std::atoll(argv[i + 1]);
    if (a == "--zstd-level") zstd_level = std::atoi(argv[i + 1]);
    if (a == "--keep") keep = argv[i + 1];
    if (a == "--format") format = argv[i + 1];
    if (a == "--warmup") warmup = std::atoll(argv[i + 1]);
    if (a == "--log") log_kind = argv[i + 1];
  }
  if (log_kind != "disk" && log_kind != "memory") {
    std::fprintf(stderr, "lake_bench: --log must be disk or memory\n");
    return 2;
  }
  if (format != "avro" && format != "json") {
    std::fprintf(stderr, "lake_bench: --format must be avro or json\n");
    return 2;
  }
  const fs::path work = keep.empty() ? fs::temp_directory_path() / fmt::format("lake_bench_{}", getpid())
                                     : fs::path(keep);
  fs::remove_all(work);
  fs::create_directories(work);

  // The events, as the gateway logs them.
  cli::LoadgenOptions lo;
  lo.events = warmup + events;
  lo.seed = 7;
  lo.start_ms = 1'775'800'800'000;  // 2026-04-10T06:00Z, ten minutes of events
  const auto generated = cli::GenerateEvents(lo);
  // The log the server runs on (segment files, read back through the page cache), or the
  // in-memory one of the tests (--log memory: each record in its own heap blocks).
  std::unique_ptr<log::Log> log;
  if (log_kind == "disk") {
    log::EmbeddedLogOptions log_options;
    log_options.dir = (work / "log").string();
    auto opened = log::OpenEmbeddedLog(log_options);
    if (!opened.ok()) return Fail("open the log", opened.status());
    log = std::move(opened).value();
  } else {
    log = log::NewMemoryLog();
  }
  const int user_partitions = 8, server_partitions = 4;
  if (!log->CreateTopic(log::kUserEvents, user_partitions).ok() ||
      !log->CreateTopic(log::kServerEvents, server_partitions).ok() ||
      !log->CreateTopic(log::kDlqEvents, 1).ok()) {
    return Fail("create topics", Status::Internal("memory log"));
  }
  // The registry lives in its own log, as `serve` keeps it in _schemas.
  auto schema_log = log::NewMemoryLog();
  std::unique_ptr<schema::Registry> registry;
  std::unique_ptr<gateway::EventEncoder> encoder;
  if (format == "avro") {
    auto opened = schema::Registry::Open(*schema_log);
    if (!opened.ok()) return Fail("registry", opened.status());
    registry = std::move(opened).value();
    for (const auto& entry : fs::directory_iterator(fs::path(TIDEMARK_SOURCE_DIR) / "schemas" / "loadgen")) {
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      auto registered = registry->Register(entry.path().stem().string() + "-value", text.str());
      if (!registered.ok()) return Fail("register " + entry.path().string(), registered.status());
    }
    schema::IngestEncoderOptions encoder_options;
    encoder_options.pii_hash_secret = "lake-bench";
    auto made = schema::NewIngestEncoder(*registry, encoder_options);
    if (!made.ok()) return Fail("encoder", made.status());
    encoder = std::move(made).value();
  }
  simdjson::dom::parser parser;
  event::JsonBuffer scratch;
  // Appends generated[begin, end) as the gateway would: encoded, keyed, 1,000 per batch.
  int64_t value_bytes = 0;
  auto append_events = [&](size_t begin, size_t end) -> Status {
    std::map<std::pair<bool, int>, std::vector<log::Record>> pending;
    value_bytes = 0;
    auto flush = [&](std::pair<bool, int> k, std::vector<log::Record>* batch) -> Status {
      auto r = log::AppendAndWait(*log, k.first ? log::kServerEvents : log::kUserEvents, k.second, std::move(*batch));
      batch->clear();
      return r.status();
    };
    for (size_t i = begin; i < end; ++i) {
      const auto& g = generated[i];
      ASSIGN_OR_RETURN(event::Event e, event::EventFromJson(g.json));
      e.received_at_ms = e.timestamp_ms + 800;
      e.source = e.platform == "server" ? "api" : "web-shop";
      const bool server = e.platform == "server";
      const int partition = static_cast<int>(std::hash<std::string>{}(e.user_key()) %
                                             (server ? server_partitions : user_partitions));
      log::Record record{e.user_key(), {}, e.received_at_ms, {}};
      if (encoder) {
        simdjson::dom::element raw = parser.parse(g.json).value();
        event::IngestContext ctx;
        ctx.received_at_ms = e.received_at_ms;
        ctx.source = e.source;
        ctx.default_platform = e.platform;
        ctx.client_ip = "198.51.100.23";
        const event::NormalizeOutcome checked =
            event::NormalizeEvent(raw, ctx, event::EventLimits{}, static_cast<event::JsonBuffer*>(nullptr));
        std::optional<event::EventError> error =
            checked.ok() ? encoder->Encode({raw, &checked, e.source, ctx.client_ip, false}, &record) : checked.error;
        if (error) return Status::InvalidArgument("encode: " + error->message);
      } else {
        record.value = event::EventToJson(e);
      }
      value_bytes += static_cast<int64_t>(record.value.size());
      auto& batch = pending[{server, partition}];
      batch.push_back(std::move(record));
      if (batch.size() == 1000) RETURN_IF_ERROR(flush({server, partition}, &batch));
    }
    for (auto& [k, batch] : pending) {
      if (!batch.empty()) RETURN_IF_ERROR(flush(k, &batch));
    }
    return Status::Ok();
  };

  // Warm-up: the writer takes the first events untimed, so that its buffers have grown to
  // their working size, as in a server that has been running (the first fill of fresh
  // memory costs a page fault per page, and on a VM a fault exits to the hypervisor).
  lake::BronzeWriterOptions options;
  options.lake_root = (work / "lake").string();
  options.flush_bytes = flush_bytes;
  options.parquet.zstd_level = zstd_level;
  options.decoder = lake::NewLogEventDecoder(registry.get());
  if (Status st = append_events(0, static_cast<size_t>(warmup)); !st.ok()) return Fail("append", st);
  auto writer = lake::BronzeWriter::Open(log.get(), std::move(options));
  if (!writer.ok()) return Fail("open", writer.status());
  double warmup_cpu = ThreadCpuSeconds();
  if (Status st = (*writer)->CatchUp(); !st.ok()) return Fail("warm-up", st);
  warmup_cpu = ThreadCpuSeconds() - warmup_cpu;
  const int64_t warmup_rows = (*writer)->stats().rows_committed;
  std::map<std::pair<std::string_view, int>, int64_t> timed_from;
  for (auto [topic, partitions] : {std::pair{log::kUserEvents, user_partitions},
                                   std::pair{log::kServerEvents, server_partitions}}) {
    for (int p = 0; p < partitions; ++p) timed_from[{topic, p}] = log->EndOffset(topic, p).value();
  }
  if (Status st = append_events(static_cast<size_t>(warmup), generated.size()); !st.ok()) {
    return Fail("append", st);
  }

  // Where the time goes, outside the writer: reading the log and decoding the values.
  double read_cpu = 0, decode_cpu = 0;
  {
    auto decoder = lake::NewLogEventDecoder(registry.get());
    lake::EventRow e;
    log::RecordViews records;  // read as the writer reads: views, no keys
    log::ReadOptions ro;
    ro.keys = false;
    for (auto [topic, partitions] : {std::pair{log::kUserEvents, user_partitions},
                                     std::pair{log::kServerEvents, server_partitions}}) {
      for (int p = 0; p < partitions; ++p) {
        for (int64_t next = timed_from[{topic, p}];;) {
          double c0 = ThreadCpuSeconds();
          const Status read = log->ReadViews(topic, p, next, ro, &records);
          read_cpu += ThreadCpuSeconds() - c0;
          if (!read.ok() || records.empty()) break;
          c0 = ThreadCpuSeconds();
          for (const auto& r : records) {
            if (Status st = decoder->Decode(r, &e); !st.ok()) return Fail("decode", st);
          }
          decode_cpu += ThreadCpuSeconds() - c0;
          next = records.back().offset + 1;
        }
      }
    }
  }

  if (std::getenv("LAKE_BENCH_PAUSE")) {  // lets a profiler attach to the writer's part only
    std::fprintf(stderr, "generated; pid %d pausing 3 s\n", getpid());
    std::this_thread::sleep_for(std::chrono::seconds(3));
  }

  // The bronze writer, on this thread.
  const double wall0 = WallSeconds(), cpu0 = ThreadCpuSeconds();
  const auto [user0, sys0] = ThreadUserSys();
  // CatchUp's loop, by hand so that its two halves are timed apart: Poll returns once the
  // buffers hold flush_bytes or the log has no more, and each Poll is followed by a Flush.
  double poll_cpu = 0, flush_cpu = 0, flush_sys = 0;
  for (;;) {
    double c0 = ThreadCpuSeconds();
    auto read = (*writer)->Poll();
    poll_cpu += ThreadCpuSeconds() - c0;
    if (!read.ok()) return Fail("poll", read.status());
    c0 = ThreadCpuSeconds();
    const double s0 = ThreadUserSys().second;
    if (Status st = (*writer)->Flush(); !st.ok()) return Fail("flush", st);
    flush_cpu += ThreadCpuSeconds() - c0;
    flush_sys += ThreadUserSys().second - s0;
    if (*read == 0) break;
  }
  const double cpu = ThreadCpuSeconds() - cpu0, wall = WallSeconds() - wall0;
  const auto [user1, sys1] = ThreadUserSys();
  const auto stats = (*writer)->stats();
  writer->reset();

  // Sizes and the files, per table.
  int64_t our_bytes = 0, rows = 0, files = 0;
  std::vector<std::string> paths;
  std::string spec = "{\"tables\":[";
  for (auto name : {lake::bronze::kUserEvents, lake::bronze::kServerEvents}) {
    auto table = lake::Table::Open((work / "lake").string(), "bronze", std::string(name));
    if (!table.ok()) return Fail("open table", table.status());
    spec += std::string(name == lake::bronze::kUserEvents ? "" : ",") + "{\"name\":\"" +
            std::string(name) + "\",\"out\":\"" + (work / (std::string(name) + ".duckdb.parquet")).string() +
            "\",\"files\":[";
    bool first = true;
    for (const auto& f : (*table)->current().files) {
      our_bytes += f.bytes;
      rows += f.rows;
      ++files;
      paths.push_back((*table)->directory() + "/" + f.path);
      spec += (first ? "\"" : ",\"") + paths.back() + "\"";
      first = false;
    }
    spec += "]}";
  }
  spec += "]}";

  const int64_t timed_rows = stats.rows_committed - warmup_rows;
  fmt::print("lake_bench: {} events ({:.1f} MB of {} values) → bronze after a warm-up of {}: {} rows in all, "
             "{} files, {} commits\n",
             events, value_bytes / 1e6, format == "avro" ? "Avro" : "canonical JSON", warmup, rows, files,
             stats.commits);
  if (warmup_rows > 0) {
    fmt::print("  warm-up (fresh buffers, cold start): {:.3f} s CPU for {} events: {:.0f} events/s per core\n",
               warmup_cpu, warmup_rows, static_cast<double>(warmup_rows) / warmup_cpu);
  }
  fmt::print("  write: {:.3f} s CPU on one thread ({:.3f} s wall) for {} events: {:.0f} events/s per core "
             "(target ≥ 1,000,000)\n",
             cpu, wall, timed_rows, static_cast<double>(timed_rows) / cpu);
  fmt::print("    user {:.3f} s ({:.0f} events/s), system {:.3f} s (page faults, file writes, fsync)\n",
             user1 - user0, static_cast<double>(timed_rows) / (user1 - user0), sys1 - sys0);
  fmt::print("    Poll {:.3f} s: log reads {:.3f} s and decoding {:.3f} s (measured apart), "
             "buffering and streaming rows to Parquet {:.3f} s\n",
             poll_cpu, read_cpu, decode_cpu, poll_cpu - read_cpu - decode_cpu);
  fmt::print("    Flush {:.3f} s (system {:.3f} s): the last rows, closing files (ZSTD level {}), "
             "fsync, commits\n",
             flush_cpu, flush_sys, zstd_level);

  // DuckDB's ZSTD Parquet of the same rows.
  const std::string spec_path = (work / "duckdb_copy.json").string();
  FILE* f = std::fopen(spec_path.c_str(), "w");
  std::fputs(spec.c_str(), f);
  std::fclose(f);
  const auto duck = RunCommand({"/usr/bin/env", "node", std::string(TIDEMARK_SOURCE_DIR) + "/tests/lake/duckdb_copy.mjs", spec_path});
  if (duck.exit_code == 0) {
    long long duck_bytes = 0, duck_rows = 0;
    double duck_seconds = 0;
    std::sscanf(duck.out.c_str(), "%lld %lf %lld", &duck_bytes, &duck_seconds, &duck_rows);
    fmt::print("  size: tidemark {:.2f} MB, DuckDB ZSTD {:.2f} MB: ratio {:.3f} (target ≤ 1.1)\n",
               our_bytes / 1e6, duck_bytes / 1e6, static_cast<double>(our_bytes) / static_cast<double>(duck_bytes));
    if (duck_seconds > 0) {
      fmt::print("  DuckDB's Parquet writer (one thread, rows already in memory): {:.3f} s for {} rows: "
                 "{:.0f} rows/s; tidemark's whole bronze path / DuckDB's writer alone: {:.2f}\n",
                 duck_seconds, duck_rows, duck_rows / duck_seconds,
                 (static_cast<double>(timed_rows) / cpu) / (duck_rows / duck_seconds));
    }
  } else {
    fmt::print("  size: tidemark {:.2f} MB; DuckDB comparison unavailable: {}{}\n", our_bytes / 1e6,
               duck.out, duck.err);
  }

  // The Parquet writer alone on the same rows (read back per file), with and without ZSTD.
  {
    std::vector<lake::ColumnBatch> batches;
    for (const std::string& path : paths) {
      auto reader = lake::ParquetReader::Open(path);
      if (!reader.ok()) return Fail("open " + path, reader.status());
      lake::ColumnBatch all((*reader)->schema());
      for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
        auto part = (*reader)->ReadRowGroup(g);
        if (!part.ok()) return Fail("read " + path, part.status());
        for (size_t c = 0; c < all.num_columns(); ++c) {
          all.column(c).AppendRange(part->column(c), 0, part->num_rows());
        }
      }
      batches.push_back(std::move(all));
    }
    const fs::path alone = work / "writer_alone";
    fs::create_directories(alone);
    for (const bool compress : {true, false, true}) {
      lake::ParquetWriterOptions po;
      po.compression = compress ? lake::Compression::kZstd : lake::Compression::kUncompressed;
      po.zstd_level = zstd_level;
      po.buffers = lake::NewParquetWriterBuffers();  // reused from file to file, as in bronze
      int64_t bytes = 0;
      const double c0 = ThreadCpuSeconds(), s0 = ThreadUserSys().second;
      for (size_t i = 0; i < batches.size(); ++i) {
        auto w = lake::ParquetWriter::Open((alone / fmt::format("{}.parquet", i)).string(),
                                           batches[i].schema(), po);
        if (!w.ok()) return Fail("writer alone", w.status());
        if (Status st = (*w)->Append(batches[i]); !st.ok()) return Fail("writer alone", st);
        auto summary = (*w)->Close();
        if (!summary.ok()) return Fail("writer alone", summary.status());
        bytes += summary->file_bytes;
      }
      const double secs = ThreadCpuSeconds() - c0;
      const double sys = ThreadUserSys().second - s0;
      fmt::print("  Parquet writer alone, {}: {:.3f} s CPU (system {:.3f} s), {:.0f} rows/s, {:.2f} MB\n",
                 compress ? fmt::format("ZSTD level {}", zstd_level) : std::string("uncompressed"),
                 secs, sys, static_cast<double>(rows) / secs, bytes / 1e6);
    }
  }

  // Column scans with our reader.
  for (const char* column : {"event_time", "log_offset", "event_type", "user_id"}) {
    int64_t values = 0;
    const double c0 = ThreadCpuSeconds();
    for (const std::string& path : paths) {
      auto reader = lake::ParquetReader::Open(path);
      if (!reader.ok()) return Fail("open " + path, reader.status());
      const int index = (*reader)->schema().FindField(column);
      lake::ColumnBatch out(lake::Schema{{(*reader)->schema().fields[index]}});
      for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
        if (Status st = (*reader)->ReadRowGroupInto(g, {index}, &out); !st.ok()) return Fail("scan", st);
        values += static_cast<int64_t>(out.num_rows());
      }
    }
    const double secs = ThreadCpuSeconds() - c0;
    fmt::print("  scan {:<11} {} values in {:.3f} s CPU: {:.1f} M values/s (target ≥ 50)\n", column, values,
               secs, values / secs / 1e6);
  }
  writer->reset();
  log.reset();  // closes the log's files before they go
  if (keep.empty()) fs::remove_all(work);
  return 0;
}
