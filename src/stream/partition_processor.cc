#include "stream/partition_processor.h"

#include <algorithm>

#include "common/hashing.h"
#include "event/json_writer.h"
#include "stream/byte_io_internal.h"

namespace tidemark::stream {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr std::string_view kOverflowValue = "__overflow__";
constexpr uint8_t kStateVersion = 1;

// Floor to a multiple of unit; the "no time yet" sentinel INT64_MIN stays itself.
int64_t FloorTo(int64_t t, int64_t unit) {
  if (t < INT64_MIN + unit) return INT64_MIN;
  int64_t q = t / unit;
  if (t % unit != 0 && t < 0) --q;
  return q * unit;
}

}  // namespace

size_t PartitionProcessor::StringHash::operator()(std::string_view s) const { return Hash64(s); }

Status ValidateProcessorOptions(const ProcessorOptions& o) {
  if (o.dedup_ttl_ms <= 0 || o.dedup_ttl_ms > 2 * kDayMs) {
    return Status::InvalidArgument("stream.dedup_ttl_ms must be in (0, 2 days], got " + std::to_string(o.dedup_ttl_ms));
  }
  if (o.dedup_max_keys <= 0) return Status::InvalidArgument("stream.dedup_max_keys must be positive");
  if (o.allowed_lateness_ms < 0) return Status::InvalidArgument("stream.allowed_lateness_ms must be >= 0");
  if (o.session_gap_ms <= 0) return Status::InvalidArgument("stream.session_gap_ms must be positive");
  if (o.numeric_properties.size() > StreamEvent::kMaxNumeric) {
    return Status::InvalidArgument("stream.numeric_properties: at most 16 names");
  }
  static const char* kKnown[] = {"event_type", "platform", "app_version", "source",
                                 "browser", "os", "device_class", "device_type"};
  for (const auto& d : o.dimensions) {
    if (std::find(std::begin(kKnown), std::end(kKnown), d) == std::end(kKnown)) {
      return Status::InvalidArgument("stream.dimensions: unknown dimension '" + d +
                                     "' (event_type, platform, app_version, source, browser, os, "
                                     "device_class, device_type)");
    }
  }
  return Status::Ok();
}

PartitionProcessor::PartitionProcessor(ProcessorOptions options, std::string topic, int partition, Mode mode,
                                       std::unique_ptr<EventDecoder> decoder)
    : options_(std::move(options)),
      topic_(std::move(topic)),
      partition_(partition),
      shard_(topic_ + "/" + std::to_string(partition)),
      mode_(mode),
      decoder_(std::move(decoder)),
      dedup_(DedupFilter::Options{options_.dedup_ttl_ms, options_.dedup_max_keys, options_.dedup_hasher,
                                  options_.dedup_expected_keys}) {
  for (const auto& d : options_.dimensions) {
    if (d == "event_type") dims_.push_back(Dim::kEventType);
    else if (d == "platform") dims_.push_back(Dim::kPlatform);
    else if (d == "app_version") dims_.push_back(Dim::kAppVersion);
    else if (d == "source") dims_.push_back(Dim::kSource);
    else if (d == "browser") dims_.push_back(Dim::kBrowser);
    else if (d == "os") dims_.push_back(Dim::kOs);
    else if (d == "device_class") dims_.push_back(Dim::kDeviceClass);
    else if (d == "device_type") dims_.push_back(Dim::kDeviceType);
  }
}

int64_t PartitionProcessor::watermark_ms() const {
  return max_event_time_ == INT64_MIN ? INT64_MIN : max_event_time_ - options_.allowed_lateness_ms;
}

PartitionProcessor::Outcome PartitionProcessor::Process(const log::StoredRecord& record) {
  return mode_ == Mode::kDlq ? ProcessDlq(record) : ProcessEvent(record);
}

void PartitionProcessor::Prefetch(const log::StoredRecord& record) const {
  if (mode_ != Mode::kEvents) return;
  // Canonical event JSON starts with its event_id; anything else simply gets no hint.
  constexpr std::string_view kPrefix = "{\"event_id\":\"";
  std::string_view v = record.value;
  if (v.starts_with(kPrefix)) {
    v.remove_prefix(kPrefix.size());
    const size_t end = v.substr(0, 64).find('"');
    if (end != std::string_view::npos && v.substr(0, end).find('\\') == std::string_view::npos) {
      dedup_.Prefetch(v.substr(0, end));
    }
  }
  // Records are keyed by user (the gateway's partition key), the session map's key.
  if (!record.key.empty()) sessions_.Prefetch(Hash64(record.key));
}

PartitionProcessor::Outcome PartitionProcessor::ProcessDlq(const log::StoredRecord& record) {
  ledger_[FloorTo(record.timestamp_ms, kDayMs)].rejected++;
  Cell& cell = dlq_cells_[FloorTo(record.timestamp_ms, kWindowMs)];
  cell.agg.dlq++;
  cell.dirty = true;
  // For DLQ rows, "event time" is the receive time.
  max_event_time_ = std::max(max_event_time_, record.timestamp_ms);
  return Outcome::kRejected;
}

const UserAgentInfo& PartitionProcessor::UserAgent(std::string_view ua) {
  auto it = ua_cache_.find(ua);
  if (it != ua_cache_.end()) return it->second;
  if (ua_cache_.size() >= 4096) ua_cache_.clear();  // bound: real traffic has few distinct UAs
  return ua_cache_.emplace(std::string(ua), ParseUserAgent(ua)).first->second;
}

void PartitionProcessor::BuildDims(const StreamEvent& e, std::string_view platform, const UserAgentInfo& ua,
                                   std::string* out) const {
  out->clear();
  for (size_t i = 0; i < dims_.size(); ++i) {
    std::string_view v;
    switch (dims_[i]) {
      case Dim::kEventType: v = e.event_type; break;
      case Dim::kPlatform: v = platform; break;
      case Dim::kAppVersion: v = e.app_version; break;
      case Dim::kSource: v = e.source; break;
      case Dim::kBrowser: v = ua.browser; break;
      case Dim::kOs: v = ua.os; break;
      case Dim::kDeviceClass: v = ua.device_class; break;
      case Dim::kDeviceType: v = e.device_type; break;
    }
    AppendDim(out, options_.dimensions[i], v);
  }
}

PartitionProcessor::Cell& PartitionProcessor::WindowCell(int64_t window_start, const std::string& dims, bool* exact) {
  CellMap& cells = windows_[window_start];
  *exact = true;
  auto it = cells.find(dims);
  if (it != cells.end()) return it->second;
  std::string key = dims;
  if (static_cast<int64_t>(window_cells_) >= options_.max_window_cells) {
    // Bounded state: count the event under an overflow combination rather than grow.
    ++overflow_events_;
    *exact = false;
    key.clear();
    for (const auto& d : options_.dimensions) AppendDim(&key, d, kOverflowValue);
    it = cells.find(key);
    if (it != cells.end()) return it->second;
  }
  ++window_cells_;
  Cell& cell = cells[key];
  for (const auto& name : options_.numeric_properties) cell.agg.props.emplace_back(name, QuantileSketch());
  return cell;
}

void PartitionProcessor::CountLateStats(int64_t received_at_ms, bool late) {
  int64_t minute = FloorTo(received_at_ms, 60'000) / 60'000;
  MinuteStats& s = recent_[((minute % 5) + 5) % 5];
  if (s.minute != minute) {
    if (minute < s.minute) return;  // an older minute than the slot holds: already aged out
    s = MinuteStats{minute, 0, 0};
  }
  s.total++;
  if (late) s.late++;
}

LateStats PartitionProcessor::RecentLateStats() const {
  int64_t newest = INT64_MIN;
  for (const auto& s : recent_) newest = std::max(newest, s.minute);
  LateStats out;
  for (const auto& s : recent_) {
    if (s.minute != INT64_MIN && s.minute > newest - 5) {
      out.late += s.late;
      out.total += s.total;
    }
  }
  return out;
}

PartitionProcessor::Outcome PartitionProcessor::ProcessEvent(const log::StoredRecord& record) {
  LedgerCounts* day = nullptr;
  if (Status st = decoder_->Decode(record, &event_); !st.ok()) {
    // Counted, not silently skipped: the record stays in the log for inspection.
    day = &ledger_[FloorTo(record.timestamp_ms, kDayMs)];
    day->accepted++;
    day->undecodable++;
    return Outcome::kUndecodable;
  }
  const StreamEvent& e = event_;
  // Dedup runs on the log timestamp (received_at by contract) so TTL expiry replays alike.
  DedupResult d = dedup_.CheckAndInsert(e.event_id, record.timestamp_ms);
  if (d == DedupResult::kFull) return Outcome::kBackpressure;
  day = &ledger_[FloorTo(record.timestamp_ms, kDayMs)];
  day->accepted++;
  if (d == DedupResult::kDuplicate) {
    day->duplicates++;
    return Outcome::kDuplicate;
  }

  // Enrichment.
  const UserAgentInfo& ua = UserAgent(e.user_agent);
  std::string_view platform = e.platform;
  if (platform.empty()) {
    if (topic_ == log::kServerEvents) {
      platform = "server";
    } else {
      for (std::string_view p : {"ios", "android", "web", "server"}) {
        if (e.source.find(p) != std::string_view::npos) {
          platform = p;
          break;
        }
      }
      if (platform.empty()) {
        platform = ua.os == "ios" ? "ios"
                   : ua.os == "android" && (ua.browser == "app" || ua.browser == "webview") ? "android"
                   : ua.device_class != "other" ? "web"
                   : "unknown";
      }
    }
  }
  BuildDims(e, platform, ua, &dims_buf_);

  const int64_t window_start = FloorTo(e.event_time_ms, kWindowMs);
  const int64_t watermark = watermark_ms();
  if (watermark != INT64_MIN && window_start + kWindowMs <= watermark) {
    // Late beyond the allowed lateness: side output only.
    int64_t lateness = max_event_time_ - e.event_time_ms;
    Cell& late = late_cells_[{window_start, dims_buf_}];
    late.agg.late++;
    late.dirty = true;
    day->late++;
    CountLateStats(record.timestamp_ms, true);
    // late-events keeps the original value as it is (Confluent-framed Avro stays readable by
    // any registry client) and says why it is late in headers beside the original ones.
    log::Record late_record{record.key, record.value, record.timestamp_ms, record.headers};
    late_record.headers.emplace_back("lateness_ms", std::to_string(lateness));
    late_record.headers.emplace_back("window_start", std::to_string(window_start));
    late_record.headers.emplace_back("watermark", std::to_string(watermark));
    late_record.headers.emplace_back("source_topic", topic_);
    late_record.headers.emplace_back("source_partition", std::to_string(partition_));
    late_record.headers.emplace_back("source_offset", std::to_string(record.offset));
    late_out_.push_back(std::move(late_record));
    return Outcome::kLate;
  }

  max_event_time_ = std::max(max_event_time_, e.event_time_ms);
  bool exact_cell;
  Cell& cell = WindowCell(window_start, dims_buf_, &exact_cell);
  cell.dirty = true;
  WindowAggregate& agg = cell.agg;
  agg.events++;
  const uint64_t user_hash = Hash64(e.user_key);
  agg.users.AddHash(user_hash);
  if (e.numeric_present) {
    for (size_t i = 0; i < options_.numeric_properties.size(); ++i) {
      if (e.numeric_present & (1u << i)) agg.props[i].second.Add(e.numeric[i]);
    }
  }
  Sessionize(e, user_hash, window_start, dims_buf_, cell, exact_cell);
  day->on_time++;
  CountLateStats(record.timestamp_ms, false);

  // Close sessions the watermark has passed, once per minute of watermark progress.
  int64_t wm = watermark_ms();
  if (last_session_scan_ == INT64_MIN || FloorTo(wm, kWindowMs) != FloorTo(last_session_scan_, kWindowMs)) {
    last_session_scan_ = wm;
    CloseExpiredSessions();
    PruneRetained();
  }
  return Outcome::kOnTime;
}

void PartitionProcessor::Sessionize(const StreamEvent& e, uint64_t user_hash, int64_t window_start,
                                    const std::string& dims, Cell& cell, bool exact_cell) {
  const int64_t t = e.event_time_ms;
  const int64_t gap = options_.session_gap_ms;
  UserSession* s = sessions_.Find(e.user_key, user_hash);
  if (s && t >= s->start - gap && t <= s->last + gap) {  // within the session, possibly out of order
    s->start = std::min(s->start, t);
    s->last = std::max(s->last, t);
    s->events++;
    return;
  }
  // A session starts in this {window, dims}. The window cell remembers its session cell, so
  // only the first start in a cell searches session_cells_ (an overflow cell stands for
  // many dims and remembers nothing).
  SessionCellEntry* start_cell;
  if (exact_cell) {
    if (!cell.session_cell) cell.session_cell = &SessionCellAt(window_start, dims);
    start_cell = cell.session_cell;
  } else {
    start_cell = &SessionCellAt(window_start, dims);
  }
  cell.agg.sessions++;
  start_cell->second.open++;
  if (s && t < s->start - gap) {
    // A stray from well before the open session: a session of its own, closed at once.
    CloseSession(UserSession{t, t, 1, start_cell});
    return;
  }
  if (s) {
    CloseSession(*s);  // t is past the gap: the old session ends, a new one starts
    *s = UserSession{t, t, 1, start_cell};
    return;
  }
  if (static_cast<int64_t>(sessions_.size()) >= options_.max_open_sessions) EnforceSessionBound();
  sessions_.Insert(e.user_key, user_hash, UserSession{t, t, 1, start_cell});
}

PartitionProcessor::SessionCellEntry& PartitionProcessor::SessionCellAt(int64_t window_start, std::string_view dims) {
  session_key_buf_.first = window_start;
  session_key_buf_.second.assign(dims);
  auto it = session_cells_.find(session_key_buf_);
  if (it == session_cells_.end()) it = session_cells_.emplace(session_key_buf_, SessionCell{}).first;
  return *it;
}

void PartitionProcessor::CloseSession(const UserSession& s) {
  SessionCell& sc = s.start_cell->second;
  sc.agg.sessions++;
  sc.agg.Prop(kSessionDurationProp).Add(static_cast<double>(s.last - s.start));
  sc.agg.Prop(kSessionEventsProp).Add(static_cast<double>(s.events));
  sc.open--;
  sc.dirty = true;
}

void PartitionProcessor::CloseExpiredSessions() {
  const int64_t wm = watermark_ms();
  if (wm == INT64_MIN) return;
  // Closing order must not depend on hash-table layout (it differs after a restore): the
  // sketches only receive whole-millisecond durations and integer counts, whose sums are
  // exact in any order, so iteration order cannot change a result.
  auto& entries = sessions_.entries();
  for (size_t i = 0; i < entries.size();) {
    if (entries[i].value.last + options_.session_gap_ms <= wm) {
      CloseSession(entries[i].value);
      sessions_.EraseAt(i);  // the last entry moves to i: look at i again
    } else {
      ++i;
    }
  }
}

void PartitionProcessor::EnforceSessionBound() {
  // Close the least recently active tenth, earliest first (ties by user key, so the choice
  // is deterministic).
  std::vector<std::pair<int64_t, std::string_view>> by_last;
  by_last.reserve(sessions_.size());
  for (const auto& entry : sessions_.entries()) by_last.emplace_back(entry.value.last, entry.key);
  size_t n = std::max<size_t>(1, by_last.size() / 10);
  std::nth_element(by_last.begin(), by_last.begin() + static_cast<std::ptrdiff_t>(n - 1), by_last.end());
  std::vector<std::string> victims;
  for (size_t i = 0; i < n; ++i) victims.emplace_back(by_last[i].second);
  for (const auto& key : victims) {
    size_t index = sessions_.FindIndex(key, Hash64(key));
    CloseSession(sessions_.entries()[index].value);
    sessions_.EraseAt(index);
    ++forced_session_closes_;
  }
}

void PartitionProcessor::PruneRetained() {
  if (max_event_time_ == INT64_MIN) return;
  const int64_t horizon = max_event_time_ - options_.retention_ms;
  while (!late_cells_.empty() && late_cells_.begin()->first.first < horizon && !late_cells_.begin()->second.dirty) {
    late_cells_.erase(late_cells_.begin());
  }
  while (!ledger_.empty() && ledger_.begin()->first + kDayMs < horizon) ledger_.erase(ledger_.begin());
}

void PartitionProcessor::Emit(RowSink* sink) {
  const int64_t wm = watermark_ms();
  for (auto it = windows_.begin(); it != windows_.end();) {
    const bool final = wm != INT64_MIN && it->first + kWindowMs <= wm;
    for (auto& [dims, cell] : it->second) {
      if (!cell.dirty) continue;
      sink->Upsert(shard_, RowKind::kWindow, it->first, dims, cell.agg);
      cell.dirty = false;
    }
    if (final) {
      window_cells_ -= it->second.size();
      it = windows_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = session_cells_.begin(); it != session_cells_.end();) {
    SessionCell& sc = it->second;
    if (sc.dirty) {
      sink->Upsert(shard_, RowKind::kSession, it->first.first, it->first.second, sc.agg);
      sc.dirty = false;
    }
    if (sc.open <= 0 && wm != INT64_MIN && it->first.first + kWindowMs <= wm) {
      it = session_cells_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [key, cell] : late_cells_) {
    if (!cell.dirty) continue;
    sink->Upsert(shard_, RowKind::kLate, key.first, key.second, cell.agg);
    cell.dirty = false;
  }
  for (auto it = dlq_cells_.begin(); it != dlq_cells_.end();) {
    if (it->second.dirty) {
      sink->Upsert(shard_, RowKind::kDlq, it->first, "", it->second.agg);
      it->second.dirty = false;
    }
    if (wm != INT64_MIN && it->first + kWindowMs <= wm) {
      it = dlq_cells_.erase(it);
    } else {
      ++it;
    }
  }
  PruneRetained();
}

std::vector<log::Record> PartitionProcessor::TakeLateRecords() {
  std::vector<log::Record> out;
  out.swap(late_out_);
  return out;
}

size_t PartitionProcessor::StateBytesEstimate() const {
  size_t n = dedup_.MemoryBytes();
  for (const auto& [ws, cells] : windows_) {
    for (const auto& [dims, cell] : cells) n += dims.capacity() + cell.agg.MemoryBytes();
  }
  for (const auto& [key, cell] : session_cells_) n += key.second.capacity() + cell.agg.MemoryBytes();
  n += sessions_.MemoryBytes();
  return n;
}

// ---- checkpoint state ----

void PartitionProcessor::AppendState(std::string* out) const {
  internal::ByteWriter w(out);
  w.U8(kStateVersion);
  w.I64(max_event_time_);
  w.I64(last_session_scan_);
  w.Var(overflow_events_);
  w.Var(forced_session_closes_);
  std::string dedup;
  dedup_.AppendTo(&dedup);
  w.Str(dedup);
  w.Var(window_cells_);
  for (const auto& [ws, cells] : windows_) {
    // Sorted by dims so the bytes do not depend on hash-table layout.
    std::vector<const std::pair<const std::string, Cell>*> sorted;
    for (const auto& entry : cells) sorted.push_back(&entry);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
    for (const auto* entry : sorted) {
      w.I64(ws);
      w.Str(entry->first);
      entry->second.agg.AppendTo(out);
    }
  }
  w.Var(session_cells_.size());
  for (const auto& [key, sc] : session_cells_) {
    w.I64(key.first);
    w.Str(key.second);
    w.SVar(sc.open);
    sc.agg.AppendTo(out);
  }
  for (const auto* cells : {&late_cells_}) {
    w.Var(cells->size());
    for (const auto& [key, cell] : *cells) {
      w.I64(key.first);
      w.Str(key.second);
      cell.agg.AppendTo(out);
    }
  }
  w.Var(dlq_cells_.size());
  for (const auto& [ws, cell] : dlq_cells_) {
    w.I64(ws);
    cell.agg.AppendTo(out);
  }
  std::vector<const internal::FlatStringMap<UserSession>::Entry*> users;
  for (const auto& entry : sessions_.entries()) users.push_back(&entry);
  std::sort(users.begin(), users.end(), [](auto* a, auto* b) { return a->key < b->key; });
  w.Var(users.size());
  for (const auto* entry : users) {
    const UserSession& s = entry->value;
    w.Str(entry->key);
    w.I64(s.start);
    w.I64(s.last);
    w.Var(s.events);
    w.I64(s.start_cell->first.first);  // start window
    w.Str(s.start_cell->first.second);  // dims
  }
  w.Var(ledger_.size());
  for (const auto& [day, c] : ledger_) {
    w.I64(day);
    for (uint64_t v : {c.accepted, c.rejected, c.duplicates, c.on_time, c.late, c.undecodable}) w.Var(v);
  }
  for (const auto& s : recent_) {
    w.I64(s.minute);
    w.Var(s.late);
    w.Var(s.total);
  }
}

Status PartitionProcessor::RestoreState(std::string_view in) {
  auto corrupt = [&](std::string_view what) {
    return Status::Corruption("checkpoint of " + shard_ + ": " + std::string(what));
  };
  internal::ByteReader r(in);
  uint8_t version;
  if (!r.U8(&version) || version != kStateVersion) return corrupt("unknown state version");
  std::string_view dedup;
  if (!r.I64(&max_event_time_) || !r.I64(&last_session_scan_) || !r.Var(&overflow_events_) ||
      !r.Var(&forced_session_closes_) || !r.StrView(&dedup)) {
    return corrupt("truncated header");
  }
  RETURN_IF_ERROR(dedup_.Restore(dedup));
  auto rest = [&]() { return in.substr(in.size() - r.remaining()); };
  // Reads an aggregate at the reader's position and moves the reader past it.
  auto read_agg = [&](WindowAggregate* agg) {
    std::string_view s = rest();
    if (!WindowAggregate::ReadFrom(&s, agg)) return false;
    r = internal::ByteReader(s);
    in = s;
    return true;
  };
  windows_.clear();
  uint64_t n;
  if (!r.Var(&n)) return corrupt("truncated windows");
  window_cells_ = n;
  for (uint64_t i = 0; i < n; ++i) {
    int64_t ws;
    std::string dims;
    Cell cell;
    if (!r.I64(&ws) || !r.Str(&dims) || !read_agg(&cell.agg)) return corrupt("truncated window cell");
    cell.dirty = true;
    windows_[ws].emplace(std::move(dims), std::move(cell));
  }
  session_cells_.clear();
  if (!r.Var(&n)) return corrupt("truncated session cells");
  for (uint64_t i = 0; i < n; ++i) {
    int64_t ws, open;
    std::string dims;
    SessionCell sc;
    if (!r.I64(&ws) || !r.Str(&dims) || !r.SVar(&open) || !read_agg(&sc.agg)) return corrupt("truncated session cell");
    sc.open = open;
    sc.dirty = sc.agg.sessions > 0;  // a cell with only open sessions has nothing to publish yet
    session_cells_.emplace(std::make_pair(ws, std::move(dims)), std::move(sc));
  }
  late_cells_.clear();
  if (!r.Var(&n)) return corrupt("truncated late cells");
  for (uint64_t i = 0; i < n; ++i) {
    int64_t ws;
    std::string dims;
    Cell cell;
    if (!r.I64(&ws) || !r.Str(&dims) || !read_agg(&cell.agg)) return corrupt("truncated late cell");
    cell.dirty = true;
    late_cells_.emplace(std::make_pair(ws, std::move(dims)), std::move(cell));
  }
  dlq_cells_.clear();
  if (!r.Var(&n)) return corrupt("truncated dlq cells");
  for (uint64_t i = 0; i < n; ++i) {
    int64_t ws;
    Cell cell;
    if (!r.I64(&ws) || !read_agg(&cell.agg)) return corrupt("truncated dlq cell");
    cell.dirty = true;
    dlq_cells_.emplace(ws, std::move(cell));
  }
  sessions_.clear();
  if (!r.Var(&n)) return corrupt("truncated sessions");
  for (uint64_t i = 0; i < n; ++i) {
    std::string key;
    UserSession s;
    uint64_t events;
    int64_t start_window;
    std::string_view dims;
    if (!r.Str(&key) || !r.I64(&s.start) || !r.I64(&s.last) || !r.Var(&events) || !r.I64(&start_window) ||
        !r.StrView(&dims)) {
      return corrupt("truncated session");
    }
    s.events = static_cast<uint32_t>(events);
    // An open session is counted open in the cell it started in; without that the cell
    // could be dropped under it.
    auto cell = session_cells_.find(std::make_pair(start_window, std::string(dims)));
    if (cell == session_cells_.end() || cell->second.open <= 0) {
      return corrupt("session of '" + key + "' has no open session cell");
    }
    s.start_cell = &*cell;
    if (sessions_.FindIndex(key, Hash64(key)) != sessions_.npos) return corrupt("repeated session key");
    sessions_.Insert(key, Hash64(key), std::move(s));
  }
  ledger_.clear();
  if (!r.Var(&n)) return corrupt("truncated ledger");
  for (uint64_t i = 0; i < n; ++i) {
    int64_t day;
    LedgerCounts c;
    if (!r.I64(&day) || !r.Var(&c.accepted) || !r.Var(&c.rejected) || !r.Var(&c.duplicates) ||
        !r.Var(&c.on_time) || !r.Var(&c.late) || !r.Var(&c.undecodable)) {
      return corrupt("truncated ledger day");
    }
    ledger_[day] = c;
  }
  for (auto& s : recent_) {
    if (!r.I64(&s.minute) || !r.Var(&s.late) || !r.Var(&s.total)) return corrupt("truncated late stats");
  }
  if (!r.done()) return corrupt("trailing bytes");
  late_out_.clear();
  return Status::Ok();
}

}  // namespace tidemark::stream
