// The bronze writer: copies user-events, server-events and dlq-events from the Log into the
// bronze tables (bronze_schema.h) in micro-batches, raw (duplicates and late events kept).
// Each commit carries the source offsets it covers, and the writer resumes from the current
// snapshot's offsets, so after any crash every log record is in bronze exactly once. The
// protocol is in docs/formats-lake.md ("The bronze layer").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"
#include "event/event.h"
#include "lake/parquet.h"
#include "log/log.h"
#include "schema/avro.h"

namespace tidemark::schema {
class Registry;
}  // namespace tidemark::schema

namespace tidemark::lake {

// One user-events or server-events record as a bronze row. Views point into the record,
// the decoder's buffers or its schemas, and live until the decoder's next Decode.
struct EventRow {
  std::string_view event_id, event_type, user_id, anonymous_id, session_id, platform, source;
  int64_t timestamp_ms = 0;
  int64_t event_time_ms = 0;
  int64_t received_at_ms = 0;
  std::optional<int64_t> schema_version;
  std::string_view properties_json;  // a compact JSON object
  // The context, either member by member (typed values) or, when context_json is not
  // empty, as the text of a JSON object that the writer parses.
  struct ContextValue {
    std::string_view key;
    schema::FlatValue value;
    size_t position;  // the field's place in the context (the writer caches by it)
  };
  std::vector<ContextValue> context;
  std::string_view context_json;

  void Clear() {
    event_id = event_type = user_id = anonymous_id = session_id = platform = source = {};
    timestamp_ms = event_time_ms = received_at_ms = 0;
    schema_version.reset();
    properties_json = context_json = {};
    context.clear();  // keeps its capacity
  }
};

// The record → row step for user-events and server-events, the one place that knows how a
// log value is encoded (Confluent-framed Avro with the gateway's metadata in record
// headers, or canonical event JSON). Not thread-safe; the writer thread owns it.
class EventDecoder {
 public:
  virtual ~EventDecoder() = default;
  // Fills *out (which the caller reuses across records) from one record. InvalidArgument
  // when the value is not an event; the writer then counts and skips the record.
  virtual Status Decode(const log::RecordView& record, EventRow* out) = 0;
};

// Canonical JSON values (event::EventFromJson). The `received_at` (epoch ms) and `source`
// headers, when a record has them, take precedence over the value's fields.
std::unique_ptr<EventDecoder> NewCanonicalJsonDecoder();

// Both formats the gateway writes: Confluent-framed Avro values are resolved to the latest
// schema of their subject through `registry` (which must outlive the decoder), so fields
// added later read as their defaults; received_at is the record timestamp and the
// gateway's headers (source, event_time, event_id, platform) complete the event. Other
// values are canonical JSON, as NewCanonicalJsonDecoder reads them. Avro values are read
// straight from the binary into the row (schema::ResolvingDecoder::DecodeFlat, one plan
// per writer schema, refreshed when the registry changes), without a JSON step.
std::unique_ptr<EventDecoder> NewLogEventDecoder(schema::Registry* registry);

struct BronzeWriterOptions {
  std::string lake_root;  // data/lake; tables go to <lake_root>/bronze/<table>
  // A table's micro-batch (rows read but not committed; all but the last few thousand
  // already streamed to its open files) is committed once its oldest row has waited this
  // long…
  int64_t flush_interval_ms = 300'000;
  // …or once the micro-batches of all tables together hold this many bytes (record bytes
  // plus a per-row overhead). Reading pauses while a flush is due.
  int64_t flush_bytes = 64ll << 20;
  // Rows a table buffers before streaming them into its micro-batch's open Parquet files:
  // about 1.5 MB of bronze columns, small enough to stay in a core's cache between the
  // decode and the encode (bench/README.md, the lake writer).
  int64_t stream_rows = 8192;
  // How long the thread sleeps when the log has nothing new.
  int64_t poll_interval_ms = 100;
  // Context fields beyond this many distinct columns per table are not stored (counted in
  // tidemark_lake_context_fields_dropped_total), so hostile input cannot grow the schema
  // without bound.
  int max_context_columns = 256;
  ParquetWriterOptions parquet;
  std::unique_ptr<EventDecoder> decoder;  // null: NewCanonicalJsonDecoder()
  MetricsRegistry* metrics = nullptr;     // optional; must outlive the writer
  Clock* clock = nullptr;                 // optional; SystemClock when null
};

// Reads the lake.* settings.
BronzeWriterOptions BronzeWriterOptionsFromConfig(const Config& config, std::string lake_root);

// What the writer has done since it was opened.
struct BronzeWriterStats {
  int64_t records_read = 0;
  int64_t rows_committed = 0;
  int64_t files_committed = 0;
  int64_t commits = 0;
  int64_t undecodable_records = 0;
};

// Owns the three bronze tables (one writer per table: never run two BronzeWriters on one
// lake). The log must outlive the writer. Either Start() a thread that polls and flushes on
// its own until Stop(), or drive it by hand with Poll/Flush/CatchUp (tests, benchmarks) —
// not both. Public methods are called from one owning thread; the metrics it registers may
// be scraped from any thread.
class BronzeWriter {
 public:
  // Opens or creates the bronze tables and positions each log partition at the source offset
  // of its table's current snapshot (the start of the log for partitions never committed).
  // FailedPrecondition when a table does not follow bronze_schema.h. A committed offset past
  // the end of the log (recovery truncated records bronze already holds) is logged as an
  // error and reading resumes at the log's end (docs/formats-lake.md).
  static Result<std::unique_ptr<BronzeWriter>> Open(log::Log* log, BronzeWriterOptions options);
  ~BronzeWriter();  // Stop()s a started thread
  BronzeWriter(const BronzeWriter&) = delete;
  BronzeWriter& operator=(const BronzeWriter&) = delete;

  // Starts the thread ("tm-lake-bronze"): it reads, buffers and commits by the flush rules;
  // a failed flush is logged, counted and retried with backoff (reading pauses meanwhile).
  Status Start();
  // The SIGTERM drain: the thread reads up to the end offsets the log has now, commits
  // everything buffered and exits. Returns the last flush's status. Idempotent.
  Status Stop();

  // Reads what the log has, until the buffers reach flush_bytes; returns the records read.
  Result<int64_t> Poll();
  // Commits every table's buffered rows (one snapshot per table that has any).
  Status Flush();
  // Poll + Flush until every partition is at the end offset it had when called.
  Status CatchUp();

  BronzeWriterStats stats() const;

 private:
  class Impl;
  explicit BronzeWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidemark::lake
