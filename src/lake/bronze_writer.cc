// Bronze writer: log records → column buffers → streamed into Parquet files every
// stream_rows rows → one table snapshot per table per micro-batch, carrying the source
// offsets the rows came from.
#include "lake/bronze_writer.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "common/fault_points.h"
#include "event/event.h"
#include "event/json_writer.h"
#include "gateway/event_encoder.h"
#include "lake/bronze_schema.h"
#include "lake/encoding_internal.h"
#include "lake/table.h"
#include "schema/registry.h"
#include "schema/wire_format.h"

namespace tidemark::lake {
namespace {

// Rough in-memory cost of one buffered row beyond its record bytes (offsets, validity,
// fixed-width values), for the flush_bytes bound.
constexpr int64_t kRowOverheadBytes = 96;
// Suffix of the string column that keeps context values whose JSON type differs from the
// type of the field's column (see docs/formats-lake.md, "Context columns").
constexpr std::string_view kTextSuffix = "__text";

// Column positions of the contract (bronze_schema.cc); checked against the table on open.
enum EventColumn : size_t {
  kEventId, kEventType, kEventTime, kClientTimestamp, kReceivedAt, kUserId, kAnonymousId,
  kSessionId, kPlatform, kSource, kSchemaVersion, kEventLogPartition, kEventLogOffset,
  kProperties, kEventContractColumns
};
enum DlqColumn : size_t {
  kReason, kMessage, kBatchIndex, kDlqSource, kDlqReceivedAt, kRaw, kDlqLogPartition,
  kDlqLogOffset, kDlqContractColumns
};

// The row's views over an owned event (the JSON paths).
void RowFromEvent(const event::Event& e, EventRow* out) {
  out->Clear();
  out->event_id = e.event_id;
  out->event_type = e.event_type;
  out->user_id = e.user_id;
  out->anonymous_id = e.anonymous_id;
  out->session_id = e.session_id;
  out->platform = e.platform;
  out->source = e.source;
  out->timestamp_ms = e.timestamp_ms;
  out->event_time_ms = e.event_time_ms;
  out->received_at_ms = e.received_at_ms;
  out->schema_version = e.schema_version;
  out->properties_json = e.properties_json;
  out->context_json = e.context_json.empty() ? std::string_view("{}") : std::string_view(e.context_json);
}

Result<int64_t> HeaderMillis(std::string_view name, std::string_view v) {
  int64_t ms = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), ms);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size()) {
    return Status::InvalidArgument("header " + std::string(name) + ": not epoch milliseconds: '" +
                                   std::string(v) + "'");
  }
  return ms;
}

class CanonicalJsonDecoder final : public EventDecoder {
 public:
  Status Decode(const log::RecordView& record, EventRow* out) override {
    ASSIGN_OR_RETURN(event_, event::EventFromJson(record.value));
    if (std::string_view v = log::HeaderValue(record.headers, "received_at"); !v.empty()) {
      ASSIGN_OR_RETURN(event_.received_at_ms, HeaderMillis("received_at", v));
    }
    if (std::string_view s = log::HeaderValue(record.headers, "source"); !s.empty()) {
      event_.source.assign(s);
    }
    RowFromEvent(event_, out);
    return Status::Ok();
  }

 private:
  event::Event event_;
};

// The gateway's headers beside an Avro value; received_at is the record timestamp.
Status ApplyGatewayHeaders(const log::RecordView& record, EventRow* out) {
  out->received_at_ms = record.timestamp_ms;
  for (const auto& [name, value] : record.headers) {
    if (name == gateway::kHeaderSource) {
      out->source = value;
    } else if (name == gateway::kHeaderEventTime) {
      ASSIGN_OR_RETURN(out->event_time_ms, HeaderMillis(name, value));
    } else if (name == gateway::kHeaderEventId) {
      out->event_id = value;
    } else if (name == gateway::kHeaderPlatform && out->platform.empty()) {
      out->platform = value;
    }
  }
  return Status::Ok();
}

// Avro values straight into the row: one flat decode per record, following the resolution
// plan of its writer schema. A value the fast path does not map one to one (a timestamp
// written as a string, say) goes the long way — resolved JSON, then EventFromJson — so both
// paths accept and reject the same events.
class LogEventDecoder final : public EventDecoder, private schema::FlatVisitor {
 public:
  explicit LogEventDecoder(schema::Registry* registry)
      : registry_(registry),
        avro_(registry ? std::make_unique<schema::ConsumerDecoder>(*registry) : nullptr) {}

  Status Decode(const log::RecordView& record, EventRow* out) override {
    if (record.value.empty() || record.value[0] != schema::kWireMagicByte) return json_.Decode(record, out);
    if (avro_ == nullptr) return Status::InvalidArgument("Avro value but no schema registry");
    ASSIGN_OR_RETURN(const schema::WireValue wire, schema::ParseWireValue(record.value));
    ASSIGN_OR_RETURN(reading_, ReadingFor(wire.schema_id));
    out->Clear();
    row_ = out;
    fallback_ = has_timestamp_ = has_event_time_ = false;
    owned_used_ = 0;
    RETURN_IF_ERROR(reading_->decoder->DecodeFlat(wire.avro, *this, &scratch_));
    if (fallback_) return DecodeViaJson(*reading_, wire.avro, record, out);
    if (out->event_type.empty()) return Status::InvalidArgument("event field 'event_type': required");
    if (!has_timestamp_) return Status::InvalidArgument("event field 'timestamp': required");
    if (out->user_id.empty() && out->anonymous_id.empty()) {
      return Status::InvalidArgument("event field 'user_id or anonymous_id': required");
    }
    if (!has_event_time_) out->event_time_ms = out->timestamp_ms;
    if (out->properties_json.empty()) out->properties_json = "{}";
    RETURN_IF_ERROR(ApplyGatewayHeaders(record, out));
    if (out->event_id.empty()) {
      derived_id_ = event::DeriveEventId(out->user_id, out->anonymous_id, out->event_type,
                                         out->timestamp_ms, out->session_id);
      out->event_id = derived_id_;
    }
    return Status::Ok();
  }

 private:
  // What each field of the reader's root record is to bronze.
  enum class Role : uint8_t {
    kIgnored, kEventId, kEventType, kTimestamp, kEventTime, kUserId, kAnonymousId, kSessionId,
    kPlatform, kSource, kSchemaVersion, kContext, kProperties,
  };
  struct Reading {
    std::shared_ptr<const schema::ResolvingDecoder> decoder;
    std::vector<Role> roles;
  };

  Result<const Reading*> ReadingFor(int32_t writer_id) {
    if (registry_->generation() != generation_) {
      readings_.clear();  // a new version may be the subject's latest now
      generation_ = registry_->generation();
    }
    if (auto it = readings_.find(writer_id); it != readings_.end()) return &it->second;
    ASSIGN_OR_RETURN(auto decoder, avro_->DecoderFor(writer_id));
    static const std::pair<std::string_view, Role> kRoles[] = {
        {"event_id", Role::kEventId},       {"event_type", Role::kEventType},
        {"timestamp", Role::kTimestamp},    {"event_time", Role::kEventTime},
        {"user_id", Role::kUserId},         {"anonymous_id", Role::kAnonymousId},
        {"session_id", Role::kSessionId},   {"platform", Role::kPlatform},
        {"source", Role::kSource},          {"schema_version", Role::kSchemaVersion},
        {"context", Role::kContext},        {"properties", Role::kProperties}};
    Reading reading;
    for (const schema::AvroField& f : decoder->reader().root().fields) {
      Role role = Role::kIgnored;
      for (const auto& [name, r] : kRoles) {
        if (f.name == name) role = r;
      }
      reading.roles.push_back(role);
    }
    reading.decoder = std::move(decoder);
    return &readings_.emplace(writer_id, std::move(reading)).first->second;
  }

  Status DecodeViaJson(const Reading& reading, std::string_view avro, const log::RecordView& record,
                       EventRow* out) {
    scratch_.clear();
    RETURN_IF_ERROR(reading.decoder->DecodeToJson(avro, &scratch_));
    ASSIGN_OR_RETURN(event_, event::EventFromJson(scratch_));
    RowFromEvent(event_, out);
    return ApplyGatewayHeaders(record, out);
  }

  // A copy of a kJson text, which lives in the scratch buffer only until the next one.
  schema::FlatValue Own(const schema::FlatValue& v) {
    if (v.kind != schema::FlatValue::Kind::kJson) return v;
    if (owned_used_ == owned_.size()) owned_.emplace_back();
    std::string& slot = owned_[owned_used_++];
    slot.assign(v.text);
    schema::FlatValue copy = v;
    copy.text = slot;
    return copy;
  }

  bool Expand(int field) override { return reading_->roles[static_cast<size_t>(field)] == Role::kContext; }

  void Value(int field, int member, std::string_view name, const schema::FlatValue& v) override {
    using Kind = schema::FlatValue::Kind;
    if (member >= 0) {
      // A NULL member is as absent; the others keep their place in the record.
      if (v.kind != Kind::kNull) row_->context.push_back({name, Own(v), static_cast<size_t>(member)});
      return;
    }
    if (v.kind == Kind::kNull) return;  // as absent
    auto text = [&](std::string_view* to) {
      if (v.kind == Kind::kString) {
        *to = v.text;
      } else {
        fallback_ = true;
      }
    };
    auto millis = [&](int64_t* to, bool* seen) {
      if (v.kind == Kind::kLong) {
        *to = v.integer;
        *seen = true;
      } else {
        fallback_ = true;
      }
    };
    auto object = [&](std::string_view* to) {
      if (v.kind == Kind::kJson && v.text.starts_with('{')) {
        // Written to its own buffer (JsonTarget) unless it is a default of the plan.
        const bool owned = v.text.data() == properties_text_.data() || v.text.data() == context_text_.data();
        *to = owned ? v.text : Own(v).text;
      } else {
        fallback_ = true;
      }
    };
    switch (reading_->roles[static_cast<size_t>(field)]) {
      case Role::kIgnored: return;
      case Role::kEventId: return text(&row_->event_id);
      case Role::kEventType: return text(&row_->event_type);
      case Role::kUserId: return text(&row_->user_id);
      case Role::kAnonymousId: return text(&row_->anonymous_id);
      case Role::kSessionId: return text(&row_->session_id);
      case Role::kPlatform: return text(&row_->platform);
      case Role::kSource: return text(&row_->source);
      case Role::kTimestamp: return millis(&row_->timestamp_ms, &has_timestamp_);
      case Role::kEventTime: return millis(&row_->event_time_ms, &has_event_time_);
      case Role::kSchemaVersion:
        if (v.kind == Kind::kLong) {
          row_->schema_version = v.integer;
        } else {
          fallback_ = true;
        }
        return;
      case Role::kContext: return object(&row_->context_json);  // a "json" string or a default
      case Role::kProperties: return object(&row_->properties_json);
    }
  }

  std::string* JsonTarget(int field) override {
    switch (reading_->roles[static_cast<size_t>(field)]) {
      case Role::kProperties: return &properties_text_;
      case Role::kContext: return &context_text_;
      default: return nullptr;
    }
  }

  schema::Registry* registry_;
  std::unique_ptr<schema::ConsumerDecoder> avro_;
  CanonicalJsonDecoder json_;
  uint64_t generation_ = 0;
  std::map<int32_t, Reading> readings_;
  // Per record.
  const Reading* reading_ = nullptr;
  EventRow* row_ = nullptr;
  bool fallback_ = false, has_timestamp_ = false, has_event_time_ = false;
  std::string scratch_;
  std::string properties_text_, context_text_;  // JsonTarget
  std::deque<std::string> owned_;  // stable addresses
  size_t owned_used_ = 0;
  std::string derived_id_;
  event::Event event_;
};

// Where one context field's values go: its typed column and, once a value of another JSON
// type has been seen, its __text column (indices into TableState::columns; -1 = none yet).
struct ContextSlot {
  int typed = -1;
  int text = -1;
};

struct TableState {
  bool dlq = false;
  std::string topic;
  std::string name;
  std::unique_ptr<Table> table;
  int partitions = 0;
  std::vector<int64_t> next;       // per partition: the next offset to read
  std::vector<int64_t> committed;  // per partition: the offset the current snapshot holds
  // The buffer: the table's schema plus context columns not yet added to the table. It holds
  // the micro-batch's last `buffered` rows; every stream_rows rows it is streamed into
  // `files` (the micro-batch's open Parquet files), whose closed files wait in `written`.
  Schema schema;
  std::vector<Column> columns;
  size_t buffered = 0;
  std::unique_ptr<TableFileWriter> files;
  std::vector<DataFile> written;
  Status stream_error;  // a failed stream: the micro-batch is read again from the log
  size_t rows = 0;  // rows of the micro-batch
  int64_t bytes = 0;
  int64_t first_row_at_ms = 0;
  std::map<std::string, ContextSlot, std::less<>> context;
  // The slot of the k-th context key of the previous event: events of one source list
  // their context keys in the same order, so this usually spares the map lookup.
  std::vector<std::pair<std::string, ContextSlot*>> context_order;
  int context_columns = 0;

  Counter* rows_committed = nullptr;
  Counter* files_committed = nullptr;
  Counter* bytes_committed = nullptr;
  Counter* commits = nullptr;
  Counter* commit_errors = nullptr;
  Counter* undecodable = nullptr;
  Counter* context_dropped = nullptr;

  bool OffsetsMoved() const { return next != committed; }
  std::string SourceKey(int p) const { return topic + "/" + std::to_string(p); }
};

// Committed offsets shared with the lag gauge, which runs on whatever thread scrapes.
struct LagState {
  std::mutex mu;
  log::Log* log = nullptr;  // null once the writer is gone
  std::map<std::string, std::vector<int64_t>, std::less<>> committed;
};

Status CheckContract(const Table& table, const Schema& contract) {
  const Schema& have = table.current().schema;
  for (size_t i = 0; i < contract.fields.size(); ++i) {
    const Field& want = contract.fields[i];
    if (i >= have.fields.size() || have.fields[i].name != want.name ||
        have.fields[i].type != want.type || have.fields[i].nullable != want.nullable) {
      return Status::FailedPrecondition(
          table.directory() + ": column " + std::to_string(i) + " should be " + want.name + " " +
          std::string(ColumnTypeName(want.type)) + (want.nullable ? "" : " NOT NULL") +
          " (src/lake/bronze_schema.h); this is not a bronze table this version can write");
    }
  }
  return Status::Ok();
}

void AppendOptionalString(Column& c, std::string_view v) {
  if (v.empty()) {
    c.AppendNull();
  } else {
    c.AppendString(v);
  }
}

}  // namespace

std::unique_ptr<EventDecoder> NewLogEventDecoder(schema::Registry* registry) {
  return std::make_unique<LogEventDecoder>(registry);
}

std::unique_ptr<EventDecoder> NewCanonicalJsonDecoder() {
  return std::make_unique<CanonicalJsonDecoder>();
}

BronzeWriterOptions BronzeWriterOptionsFromConfig(const Config& config, std::string lake_root) {
  BronzeWriterOptions o;
  o.lake_root = std::move(lake_root);
  o.flush_interval_ms = config.GetInt("lake.flush_interval_ms");
  o.flush_bytes = config.GetInt("lake.flush_bytes");
  o.stream_rows = config.GetInt("lake.stream_rows");
  o.poll_interval_ms = config.GetInt("lake.poll_interval_ms");
  o.max_context_columns = static_cast<int>(config.GetInt("lake.max_context_columns"));
  o.parquet.zstd_level = static_cast<int>(config.GetInt("lake.zstd_level"));
  return o;
}

class BronzeWriter::Impl {
 public:
  Impl(log::Log* log, BronzeWriterOptions options)
      : log_(log),
        options_(std::move(options)),
        clock_(options_.clock ? options_.clock : &SystemClock::Instance()),
        lag_(std::make_shared<LagState>()) {
    if (!options_.decoder) options_.decoder = NewCanonicalJsonDecoder();
    // Every flush writes a file per table: reusing one set of writer buffers spares faulting
    // in fresh memory for each.
    if (!options_.parquet.buffers) options_.parquet.buffers = NewParquetWriterBuffers();
    if (!options_.metrics) {
      own_metrics_ = std::make_unique<MetricsRegistry>();
      options_.metrics = own_metrics_.get();
    }
  }

  ~Impl() {
    (void)Stop();
    std::lock_guard<std::mutex> lock(lag_->mu);
    lag_->log = nullptr;
  }

  Status OpenTables() {
    struct Spec {
      std::string_view table, topic;
      bool dlq;
    };
    const Spec specs[] = {{bronze::kUserEvents, log::kUserEvents, false},
                          {bronze::kServerEvents, log::kServerEvents, false},
                          {bronze::kDlqEvents, log::kDlqEvents, true}};
    for (const Spec& spec : specs) {
      auto t = std::make_unique<TableState>();
      t->dlq = spec.dlq;
      t->name = spec.table;
      t->topic = spec.topic;
      ASSIGN_OR_RETURN(t->partitions, log_->PartitionCount(spec.topic));
      const Schema contract = spec.dlq ? bronze::DlqTableSchema() : bronze::EventTableSchema();
      auto opened = Table::Open(options_.lake_root, std::string(bronze::kLayer), t->name, *clock_);
      if (opened.ok()) {
        t->table = std::move(opened).value();
      } else if (opened.status().code() == StatusCode::kNotFound) {
        ASSIGN_OR_RETURN(
            t->table,
            Table::Create(options_.lake_root, std::string(bronze::kLayer), t->name, contract,
                          std::string(spec.dlq ? bronze::kDlqPartitionColumn : bronze::kPartitionColumn),
                          *clock_));
      } else {
        return opened.status();
      }
      RETURN_IF_ERROR(CheckContract(*t->table, contract));
      RETURN_IF_ERROR(PositionPartitions(*t));
      ResetBuffer(*t);
      RegisterMetrics(*t);
      tables_.push_back(std::move(t));
    }
    return Status::Ok();
  }

  // --- reading -------------------------------------------------------------------------

  Result<int64_t> Poll() {
    int64_t read = 0;
    // Rounds of one bounded read per partition, so that one busy partition cannot starve the
    // others before the buffers fill.
    bool progress = true;
    while (progress && buffered_bytes_ < options_.flush_bytes) {
      progress = false;
      for (auto& t : tables_) {
        for (int p = 0; p < t->partitions && buffered_bytes_ < options_.flush_bytes; ++p) {
          log::ReadOptions ro;
          ro.keys = false;  // bronze keeps no record keys
          ro.max_bytes = static_cast<size_t>(
              std::clamp<int64_t>(options_.flush_bytes - buffered_bytes_, 1, 1 << 20));
          if (Status st = log_->ReadViews(t->topic, p, t->next[p], ro, &records_); !st.ok()) {
            if (st.code() == StatusCode::kOutOfRange) {
              RETURN_IF_ERROR(SkipPastRetention(*t, p));
              progress = true;
              continue;
            }
            return st;
          }
          if (records_.empty()) continue;
          for (const log::RecordView& record : records_) Append(*t, p, record);
          t->next[p] = records_.back().offset + 1;
          read += static_cast<int64_t>(records_.size());
          progress = true;
        }
      }
    }
    records_read_ += read;
    return read;
  }

  // --- flushing ------------------------------------------------------------------------

  Status Flush() {
    Status first;
    for (auto& t : tables_) {
      Status st = FlushTable(*t);
      if (!st.ok() && first.ok()) first = st;
    }
    return first;
  }

  // Flushes tables whose oldest row has waited flush_interval_ms, or all of them when the
  // buffers hold flush_bytes.
  Status FlushDue() {
    const bool full = buffered_bytes_ >= options_.flush_bytes;
    const int64_t now = clock_->NowMillis();
    Status first;
    for (auto& t : tables_) {
      const bool has_work = t->rows > 0 || t->OffsetsMoved();
      if (!has_work) continue;
      // A table whose rows failed to stream is due at once: its micro-batch is to be read again.
      if (full || !t->stream_error.ok() || now - t->first_row_at_ms >= options_.flush_interval_ms) {
        Status st = FlushTable(*t);
        if (!st.ok() && first.ok()) first = st;
      }
    }
    return first;
  }

  Status CatchUp() {
    std::vector<std::vector<int64_t>> targets;
    for (auto& t : tables_) {
      std::vector<int64_t> ends(t->partitions);
      for (int p = 0; p < t->partitions; ++p) {
        ASSIGN_OR_RETURN(ends[p], log_->EndOffset(t->topic, p));
      }
      targets.push_back(std::move(ends));
    }
    auto reached = [&] {
      for (size_t i = 0; i < tables_.size(); ++i) {
        for (int p = 0; p < tables_[i]->partitions; ++p) {
          if (tables_[i]->next[p] < targets[i][p]) return false;
        }
      }
      return true;
    };
    while (!reached()) {
      ASSIGN_OR_RETURN(const int64_t read, Poll());
      if (buffered_bytes_ >= options_.flush_bytes) RETURN_IF_ERROR(Flush());
      if (read == 0 && buffered_bytes_ < options_.flush_bytes) {
        return Status::Internal("bronze writer: the log served nothing below its end offset");
      }
    }
    return Flush();
  }

  // --- thread ----------------------------------------------------------------------------

  Status Start() {
    std::lock_guard<std::mutex> lock(mu_);
    if (thread_.joinable()) return Status::FailedPrecondition("bronze writer already started");
    stop_ = false;
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  Status Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!thread_.joinable()) return final_status_;
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    return final_status_;
  }

  BronzeWriterStats stats() const {
    BronzeWriterStats s;
    s.records_read = records_read_.load();
    s.rows_committed = rows_committed_.load();
    s.files_committed = files_committed_.load();
    s.commits = commits_.load();
    s.undecodable_records = undecodable_.load();
    return s;
  }

 private:
  void Run() {
    pthread_setname_np(pthread_self(), "tm-lake-bronze");
    int failures = 0;
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) break;
      }
      int64_t read = 0;
      Status st = FlushDue();
      if (st.ok()) {
        auto polled = Poll();
        if (polled.ok()) {
          read = *polled;
        } else {
          st = polled.status();
        }
      }
      int64_t wait_ms = read > 0 ? 0 : options_.poll_interval_ms;
      if (!st.ok()) {
        ++failures;
        wait_ms = std::min<int64_t>(100ll << std::min(failures, 6), 5000);
        spdlog::error("lake bronze writer: {} (retrying in {} ms)", st.ToString(), wait_ms);
      } else {
        failures = 0;
      }
      if (wait_ms > 0) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return stop_; });
      }
    }
    // The drain: everything the log holds now goes into one last commit per table.
    Status st;
    for (int attempt = 0; attempt < 3; ++attempt) {
      st = CatchUp();
      if (st.ok()) break;
      spdlog::error("lake bronze writer: final commit failed: {}", st.ToString());
    }
    final_status_ = st;
    if (st.ok()) spdlog::info("lake bronze writer: drained and committed");
  }

  // --- per-record work -------------------------------------------------------------------

  void Append(TableState& t, int partition, const log::RecordView& rec) {
    if (t.dlq) {
      AppendDlq(t, partition, rec);
    } else if (!AppendEvent(t, partition, rec)) {
      return;
    }
    if (t.rows == 0) t.first_row_at_ms = clock_->NowMillis();
    ++t.rows;
    ++t.buffered;
    // Context columns this row did not mention are NULL.
    for (size_t c = kEventContractColumns; !t.dlq && c < t.columns.size(); ++c) {
      if (t.columns[c].size() < t.buffered) t.columns[c].AppendNull();
    }
    const int64_t cost = static_cast<int64_t>(rec.value.size()) + kRowOverheadBytes;
    t.bytes += cost;
    buffered_bytes_ += cost;
    if (t.buffered >= static_cast<size_t>(options_.stream_rows) && t.stream_error.ok()) {
      t.stream_error = Stream(t);
    }
  }

  // Moves the buffered rows into the micro-batch's open files. Context columns first seen
  // since the last stream join the table first; the files open until then keep the schema
  // they were written with (older files read the new columns as NULL).
  Status Stream(TableState& t) {
    if (t.buffered == 0) return Status::Ok();
    if (FaultArmed("lake.stream_fails")) {
      return Status::IOError(t.table->directory() + ": injected file write failure");
    }
    const size_t known = t.table->current().schema.fields.size();
    if (known < t.schema.fields.size()) {
      RETURN_IF_ERROR(CloseFiles(t));
      for (size_t i = known; i < t.schema.fields.size(); ++i) {
        RETURN_IF_ERROR(t.table->AddColumn(t.schema.fields[i].name, t.schema.fields[i].type));
      }
    }
    if (t.files == nullptr) t.files = std::make_unique<TableFileWriter>(t.table.get(), options_.parquet);
    ColumnBatch batch(t.table->current().schema);
    for (size_t c = 0; c < t.columns.size(); ++c) std::swap(batch.column(c), t.columns[c]);
    Status st = t.files->Append(batch);
    for (size_t c = 0; c < t.columns.size(); ++c) std::swap(batch.column(c), t.columns[c]);
    for (Column& c : t.columns) c.Clear();
    t.buffered = 0;
    return st;
  }

  // Closes the micro-batch's open files; they wait in t.written for the commit.
  Status CloseFiles(TableState& t) {
    if (t.files == nullptr) return Status::Ok();
    auto closed = t.files->Finish();
    t.files.reset();
    RETURN_IF_ERROR(closed.status());
    for (DataFile& f : *closed) t.written.push_back(std::move(f));
    return Status::Ok();
  }

  bool AppendEvent(TableState& t, int partition, const log::RecordView& rec) {
    Status st = options_.decoder->Decode(rec, &row_);
    simdjson::dom::object context;
    if (st.ok() && !row_.context_json.empty()) {
      simdjson::dom::element root;
      if (auto err = context_parser_.parse(row_.context_json).get(root);
          err || root.get(context) != simdjson::SUCCESS) {
        st = Status::InvalidArgument("context is not a JSON object");
      }
    }
    if (!st.ok()) {
      t.undecodable->Inc();
      const int64_t n = ++undecodable_;
      if (n <= 10 || n % 10000 == 0) {
        spdlog::warn("lake bronze writer: {}/{} offset {}: {} (skipped; {} so far)", t.topic,
                     partition, rec.offset, st.ToString(), n);
      }
      return false;
    }
    const EventRow& e = row_;
    auto& c = t.columns;
    c[kEventId].AppendString(e.event_id);
    c[kEventType].AppendString(e.event_type);
    c[kEventTime].AppendInt64(e.event_time_ms);
    c[kClientTimestamp].AppendInt64(e.timestamp_ms);
    c[kReceivedAt].AppendInt64(e.received_at_ms);
    AppendOptionalString(c[kUserId], e.user_id);
    AppendOptionalString(c[kAnonymousId], e.anonymous_id);
    AppendOptionalString(c[kSessionId], e.session_id);
    AppendOptionalString(c[kPlatform], e.platform);
    AppendOptionalString(c[kSource], e.source);
    if (e.schema_version) {
      c[kSchemaVersion].AppendInt64(*e.schema_version);
    } else {
      c[kSchemaVersion].AppendNull();
    }
    c[kEventLogPartition].AppendInt32(partition);
    c[kEventLogOffset].AppendInt64(rec.offset);
    AppendOptionalString(c[kProperties], e.properties_json);
    size_t k = 0;
    if (e.context_json.empty()) {
      for (const EventRow::ContextValue& v : e.context) AppendContext(t, v.position, v.key, v.value);
    } else {
      for (auto field : context) AppendContext(t, k++, field.key, FlatOf(field.value));
    }
    return true;
  }

  // A context value of JSON text as a flat value (objects and arrays as their JSON text).
  schema::FlatValue FlatOf(simdjson::dom::element value) {
    using simdjson::dom::element_type;
    using Kind = schema::FlatValue::Kind;
    schema::FlatValue v;
    switch (value.type()) {
      case element_type::NULL_VALUE:
        return v;
      case element_type::STRING:
        v.kind = Kind::kString;
        v.text = value.get_string().value_unsafe();
        return v;
      case element_type::INT64:
        v.kind = Kind::kLong;
        v.integer = value.get_int64().value_unsafe();
        return v;
      case element_type::UINT64:
      case element_type::DOUBLE:
        v.kind = Kind::kDouble;
        if (value.get_double().get(v.number) != simdjson::SUCCESS) v.number = 0;
        return v;
      case element_type::BOOL:
        v.kind = Kind::kBoolean;
        v.boolean = value.get_bool().value_unsafe();
        return v;
      default:
        v.kind = Kind::kJson;
        context_text_.clear();
        event::AppendJsonElement(&context_text_, value);
        v.text = context_text_;
        return v;
    }
  }

  ContextSlot* FindSlot(TableState& t, size_t position, std::string_view key) {
    if (position < t.context_order.size() && SameString(t.context_order[position].first, key)) {
      return t.context_order[position].second;
    }
    return FindSlotByName(t, position, key);
  }

  [[gnu::noinline]] ContextSlot* FindSlotByName(TableState& t, size_t position, std::string_view key) {
    auto it = t.context.find(key);
    if (it == t.context.end()) it = t.context.emplace(std::string(key), ContextSlot{}).first;
    if (position >= t.context_order.size()) t.context_order.resize(position + 1);
    t.context_order[position] = {std::string(key), &it->second};
    return &it->second;
  }

  // A new nullable column, NULL for the rows already buffered; -1 past max_context_columns.
  int AddBufferColumn(TableState& t, std::string name, ColumnType type) {
    if (t.context_columns >= options_.max_context_columns) return -1;
    ++t.context_columns;
    Column col(type);
    for (size_t r = 0; r < t.buffered; ++r) col.AppendNull();
    t.columns.push_back(std::move(col));
    t.schema.fields.push_back({std::move(name), type, true, -1});
    return static_cast<int>(t.columns.size() - 1);
  }

  // Called for most context fields of every event: the common case, a string for a string
  // column already there, stays small; everything else goes out of line.
  void AppendContext(TableState& t, size_t position, std::string_view key, const schema::FlatValue& value) {
    if (value.kind == schema::FlatValue::Kind::kString && !key.empty()) {
      const ContextSlot* slot = FindSlot(t, position, key);
      if (slot->typed >= 0) {
        Column& col = t.columns[static_cast<size_t>(slot->typed)];
        if (col.type() == ColumnType::kString) {
          if (col.size() <= t.buffered) col.AppendString(value.text);  // else the key repeats: first one wins
          return;
        }
      }
    }
    AppendContextValue(t, position, key, value);
  }

  [[gnu::noinline]] void AppendContextValue(TableState& t, size_t position, std::string_view key,
                                            const schema::FlatValue& value) {
    using Kind = schema::FlatValue::Kind;
    if (value.kind == Kind::kNull || key.empty()) return;
    ColumnType type = ColumnType::kString;
    if (value.kind == Kind::kLong || value.kind == Kind::kDouble) {
      type = ColumnType::kDouble;
    } else if (value.kind == Kind::kBoolean) {
      type = ColumnType::kBoolean;
    }
    ContextSlot* slot = FindSlot(t, position, key);
    if (slot->typed < 0) {
      slot->typed = AddBufferColumn(t, std::string(bronze::kContextPrefix) + std::string(key), type);
      if (slot->typed < 0) {
        t.context_dropped->Inc();
        return;
      }
    }
    Column* col = &t.columns[static_cast<size_t>(slot->typed)];
    if (col->size() > t.buffered) return;  // the key repeats within one object: first one wins
    if (col->type() == type && type != ColumnType::kString) {
      if (type == ColumnType::kDouble) {
        col->AppendDouble(value.kind == Kind::kLong ? static_cast<double>(value.integer) : value.number);
      } else {
        col->AppendBool(value.boolean);
      }
      return;
    }
    if (col->type() == ColumnType::kString && value.kind == Kind::kString) {
      col->AppendString(value.text);
      return;
    }
    // Any other value is kept as its JSON text: in the column itself when that is a string
    // column, otherwise in the field's __text column.
    if (col->type() != ColumnType::kString) {
      if (slot->text < 0) {
        slot->text = AddBufferColumn(
            t, std::string(bronze::kContextPrefix) + std::string(key) + std::string(kTextSuffix),
            ColumnType::kString);
        if (slot->text < 0) {
          t.context_dropped->Inc();
          return;
        }
      }
      col = &t.columns[static_cast<size_t>(slot->text)];
      if (col->size() > t.buffered) return;
    }
    switch (value.kind) {
      case Kind::kJson:
        col->AppendString(value.text);
        return;
      case Kind::kString:
        json_text_.clear();
        event::AppendJsonString(&json_text_, value.text);
        break;
      case Kind::kLong:
        json_text_.clear();
        event::AppendJsonInt(&json_text_, value.integer);
        break;
      case Kind::kDouble:
        number_text_.Clear();
        number_text_.PutDouble(value.number);
        json_text_.assign(number_text_.view());
        break;
      default:
        json_text_ = value.boolean ? "true" : "false";
        break;
    }
    col->AppendString(json_text_);
  }

  void AppendDlq(TableState& t, int partition, const log::RecordView& rec) {
    auto& c = t.columns;
    simdjson::dom::element root;
    simdjson::dom::object obj;
    const bool parsed = context_parser_.parse(rec.value).get(root) == simdjson::SUCCESS &&
                        root.get(obj) == simdjson::SUCCESS;
    auto string_field = [&](std::string_view name, Column& col) {
      std::string_view s;
      if (parsed && obj[name].get(s) == simdjson::SUCCESS) {
        col.AppendString(s);
      } else {
        col.AppendNull();
      }
    };
    string_field("reason", c[kReason]);
    string_field("message", c[kMessage]);
    int64_t index = -1;
    if (parsed && obj["index"].get(index) == simdjson::SUCCESS && index >= 0) {
      c[kBatchIndex].AppendInt64(index);
    } else {
      c[kBatchIndex].AppendNull();  // -1: the whole body was rejected
    }
    string_field("source", c[kDlqSource]);
    int64_t received_at = rec.timestamp_ms;
    if (parsed && obj["received_at"].get(received_at) != simdjson::SUCCESS) {
      received_at = rec.timestamp_ms;
    }
    c[kDlqReceivedAt].AppendInt64(received_at);
    simdjson::dom::element raw;
    std::string_view raw_text;
    if (!parsed) {
      c[kRaw].AppendString(rec.value);  // not the gateway's shape: keep the value whole
    } else if (obj["raw"].get(raw) != simdjson::SUCCESS || raw.is_null()) {
      c[kRaw].AppendNull();
    } else if (raw.get_string().get(raw_text) == simdjson::SUCCESS) {
      c[kRaw].AppendString(raw_text);  // body text, or an event cut to size
    } else {
      json_text_.clear();
      event::AppendJsonElement(&json_text_, raw);
      c[kRaw].AppendString(json_text_);
    }
    c[kDlqLogPartition].AppendInt32(partition);
    c[kDlqLogOffset].AppendInt64(rec.offset);
  }

  // --- commit ----------------------------------------------------------------------------

  Status FlushTable(TableState& t) {
    if (t.rows == 0 && !t.OffsetsMoved()) return Status::Ok();
    std::map<std::string, int64_t> offsets;
    for (int p = 0; p < t.partitions; ++p) {
      if (t.next[p] != t.committed[p]) offsets[t.SourceKey(p)] = t.next[p];
    }
    if (t.rows > 0) {
      Status st = t.stream_error.ok() ? Stream(t) : t.stream_error;
      if (st.ok()) st = CloseFiles(t);
      if (!st.ok()) return StreamFailed(t, st);
    }
    if (FaultArmed("lake.kill_after_write_files")) ::raise(SIGKILL);
    Status st = FaultArmed("lake.commit_fails")
                    ? Status::IOError(t.table->directory() + ": injected commit failure")
                    : t.table->Commit(t.written, {}, offsets);
    if (!st.ok()) return CommitFailed(t, st, offsets);
    if (FaultArmed("lake.kill_after_commit")) ::raise(SIGKILL);
    Committed(t, t.written);
    return Status::Ok();
  }

  // Writing the micro-batch's files failed (a full disk, say), after some of its rows had
  // left the buffer for them: the micro-batch is dropped and read again from the log, from
  // the offsets the table holds. Its files so far are orphans for expiry.
  Status StreamFailed(TableState& t, const Status& error) {
    t.commit_errors->Inc();
    t.next = t.committed;
    buffered_bytes_ -= t.bytes;
    ResetBuffer(t);
    return error;
  }

  // A failed commit may still have landed (say, the rename of metadata/current happened
  // but the directory fsync failed). The table is reopened from disk; when its snapshot
  // already holds our offsets the batch is in and is dropped, otherwise the buffer stays
  // for a retry (new files; the failed attempt's files are orphans for expiry).
  Status CommitFailed(TableState& t, const Status& error,
                      const std::map<std::string, int64_t>& offsets) {
    t.commit_errors->Inc();
    auto reopened = Table::Open(options_.lake_root, std::string(bronze::kLayer), t.name, *clock_);
    if (!reopened.ok()) {
      return Status(error.code(), error.message() + " (and reopening the table failed: " +
                                      reopened.status().ToString() + ")");
    }
    t.table = std::move(reopened).value();
    bool landed = !offsets.empty();
    for (const auto& [key, offset] : offsets) {
      auto it = t.table->current().source_offsets.find(key);
      if (it == t.table->current().source_offsets.end() || it->second < offset) landed = false;
    }
    if (landed) {
      spdlog::warn("lake bronze writer: {}: commit reported {} but the snapshot holds it",
                   t.name, error.ToString());
      Committed(t, {});
      return Status::Ok();
    }
    return error;
  }

  void Committed(TableState& t, const std::vector<DataFile>& files) {
    int64_t bytes = 0;
    for (const DataFile& f : files) bytes += f.bytes;
    t.rows_committed->Inc(t.rows);
    t.files_committed->Inc(files.size());
    t.bytes_committed->Inc(static_cast<uint64_t>(bytes));
    t.commits->Inc();
    rows_committed_ += static_cast<int64_t>(t.rows);
    files_committed_ += static_cast<int64_t>(files.size());
    ++commits_;
    t.committed = t.next;
    {
      std::lock_guard<std::mutex> lock(lag_->mu);
      lag_->committed[t.topic] = t.committed;
    }
    buffered_bytes_ -= t.bytes;
    ResetBuffer(t);
  }

  // Empties the buffer (keeping its memory) and aligns its schema with the table's.
  void ResetBuffer(TableState& t) {
    const Schema& schema = t.table->current().schema;
    if (t.columns.size() != schema.fields.size()) {
      t.columns.clear();
      for (const Field& f : schema.fields) t.columns.emplace_back(f.type);
    } else {
      for (Column& c : t.columns) c.Clear();
    }
    t.schema = schema;
    t.rows = 0;
    t.buffered = 0;
    t.bytes = 0;
    t.files.reset();
    t.written.clear();
    t.stream_error = Status::Ok();
    if (t.dlq) return;
    // The context slots follow the table's columns.
    t.context.clear();
    t.context_order.clear();
    t.context_columns = 0;
    for (size_t i = kEventContractColumns; i < schema.fields.size(); ++i) {
      std::string_view name = schema.fields[i].name;
      if (!name.starts_with(bronze::kContextPrefix)) continue;
      name.remove_prefix(bronze::kContextPrefix.size());
      ++t.context_columns;
      if (name.ends_with(kTextSuffix)) {
        name.remove_suffix(kTextSuffix.size());
        t.context[std::string(name)].text = static_cast<int>(i);
      } else {
        t.context[std::string(name)].typed = static_cast<int>(i);
      }
    }
  }

  Status PositionPartitions(TableState& t) {
    t.next.assign(t.partitions, 0);
    const auto& offsets = t.table->current().source_offsets;
    for (int p = 0; p < t.partitions; ++p) {
      ASSIGN_OR_RETURN(const int64_t start, log_->StartOffset(t.topic, p));
      ASSIGN_OR_RETURN(const int64_t end, log_->EndOffset(t.topic, p));
      auto it = offsets.find(t.SourceKey(p));
      const int64_t committed = it == offsets.end() ? 0 : it->second;
      t.next[p] = committed;
      if (committed > end) {
        // The log lost its tail (recovery truncated damaged records) after bronze had them.
        // Refusing to start would stop ingestion too; bronze keeps the rows it has and reads
        // the new records from the log's end, so their offsets repeat in bronze.
        spdlog::error("lake bronze writer: {}: snapshot {} holds {} up to offset {} but the log "
                      "ends at {}; the log lost records bronze has; resuming at {}, so offsets "
                      "{}..{} will appear twice in bronze (old and new records)",
                      t.table->directory(), t.table->current().version, t.SourceKey(p),
                      committed, end, end, end, committed - 1);
        t.next[p] = end;
      }
      if (committed < start) {
        spdlog::warn("lake bronze writer: {} offsets {}..{} left the log by retention before "
                     "bronze had them",
                     t.SourceKey(p), committed, start - 1);
        t.next[p] = start;
      }
    }
    // Offsets are compared with the snapshot's, so a skip past retention is committed too.
    t.committed.assign(t.partitions, 0);
    for (int p = 0; p < t.partitions; ++p) {
      auto it = offsets.find(t.SourceKey(p));
      t.committed[p] = it == offsets.end() ? 0 : it->second;
    }
    std::lock_guard<std::mutex> lock(lag_->mu);
    lag_->committed[t.topic] = t.committed;
    return Status::Ok();
  }

  Status SkipPastRetention(TableState& t, int p) {
    ASSIGN_OR_RETURN(const int64_t start, log_->StartOffset(t.topic, p));
    if (t.next[p] >= start) {
      return Status::Internal(t.SourceKey(p) + ": read at " + std::to_string(t.next[p]) +
                              " is out of range although the log starts at " +
                              std::to_string(start));
    }
    spdlog::warn("lake bronze writer: {} offsets {}..{} left the log by retention before "
                 "bronze had them",
                 t.SourceKey(p), t.next[p], start - 1);
    t.next[p] = start;
    return Status::Ok();
  }

  void RegisterMetrics(TableState& t) {
    MetricsRegistry& m = *options_.metrics;
    const Labels table{{"table", t.name}};
    t.rows_committed = &m.GetCounter("tidemark_lake_rows_committed_total",
                                     "rows committed to lake tables", table);
    t.files_committed = &m.GetCounter("tidemark_lake_files_committed_total",
                                      "data files committed to lake tables", table);
    t.bytes_committed = &m.GetCounter("tidemark_lake_bytes_committed_total",
                                      "bytes of data files committed to lake tables", table);
    t.commits = &m.GetCounter("tidemark_lake_commits_total", "lake table commits", table);
    t.commit_errors = &m.GetCounter("tidemark_lake_commit_errors_total",
                                    "lake flushes that failed (and are retried)", table);
    t.undecodable = &m.GetCounter("tidemark_lake_undecodable_records_total",
                                  "log records the bronze writer could not decode (skipped)",
                                  {{"topic", t.topic}});
    t.context_dropped = &m.GetCounter(
        "tidemark_lake_context_fields_dropped_total",
        "context values not stored because the table reached lake.max_context_columns", table);
    std::shared_ptr<LagState> lag = lag_;
    const std::string topic = t.topic;
    const int partitions = t.partitions;
    m.AddCallbackGauge("tidemark_lake_lag_records",
                       "log records not yet committed to bronze, per topic", {{"topic", topic}},
                       [lag, topic, partitions]() -> double {
                         std::lock_guard<std::mutex> lock(lag->mu);
                         if (lag->log == nullptr) return 0;
                         const auto& committed = lag->committed[topic];
                         double lag_records = 0;
                         for (int p = 0; p < partitions; ++p) {
                           auto end = lag->log->EndOffset(topic, p);
                           const int64_t c = p < static_cast<int>(committed.size()) ? committed[p] : 0;
                           if (end.ok() && *end > c) lag_records += static_cast<double>(*end - c);
                         }
                         return lag_records;
                       });
  }

  log::Log* log_;
  BronzeWriterOptions options_;
  Clock* clock_;
  std::unique_ptr<MetricsRegistry> own_metrics_;
  std::shared_ptr<LagState> lag_;
  std::vector<std::unique_ptr<TableState>> tables_;
  int64_t buffered_bytes_ = 0;
  log::RecordViews records_;  // reused for every read
  EventRow row_;                            // reused for every record
  simdjson::dom::parser context_parser_;
  std::string json_text_;
  std::string context_text_;
  event::JsonBuffer number_text_;

  std::atomic<int64_t> records_read_{0}, rows_committed_{0}, files_committed_{0}, commits_{0},
      undecodable_{0};

  std::mutex mu_;  // guards stop_ and thread_ start/stop
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
  Status final_status_;

  friend class BronzeWriter;
};

Result<std::unique_ptr<BronzeWriter>> BronzeWriter::Open(log::Log* log, BronzeWriterOptions options) {
  if (options.flush_bytes <= 0 || options.flush_interval_ms <= 0 || options.stream_rows <= 0) {
    return Status::InvalidArgument(
        "lake.flush_bytes, lake.flush_interval_ms and lake.stream_rows must be positive");
  }
  auto impl = std::make_unique<Impl>(log, std::move(options));
  {
    std::lock_guard<std::mutex> lock(impl->lag_->mu);
    impl->lag_->log = log;
  }
  RETURN_IF_ERROR(impl->OpenTables());
  return std::unique_ptr<BronzeWriter>(new BronzeWriter(std::move(impl)));
}

BronzeWriter::BronzeWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BronzeWriter::~BronzeWriter() = default;
Status BronzeWriter::Start() { return impl_->Start(); }
Status BronzeWriter::Stop() { return impl_->Stop(); }
Result<int64_t> BronzeWriter::Poll() { return impl_->Poll(); }
Status BronzeWriter::Flush() { return impl_->Flush(); }
Status BronzeWriter::CatchUp() { return impl_->CatchUp(); }
BronzeWriterStats BronzeWriter::stats() const { return impl_->stats(); }

}  // namespace tidemark::lake
