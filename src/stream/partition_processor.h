// The operators of one log partition, chained on one thread: decode → dedup (event_id,
// TTL) → enrich (user agent, platform) → watermark → tumbling one-minute windows with
// incremental aggregates → sessions (inactivity gap) → late side output. Pure and
// deterministic: its state depends only on the records given to Process, never on the wall
// clock, so restoring a checkpoint and replaying from its offset reproduces exactly what an
// uninterrupted run computes. Results leave through Emit as upserts of whole cells.
//
// Semantics, following Flink's event-time model:
//  * watermark = largest event time seen − allowed lateness. A window [s, s+1m) is final
//    once the watermark reaches s+1m; Emit then writes it a last time and drops its state.
//  * An event whose window is already final (window end + lateness ≤ largest event time)
//    is late: it goes to the late side output (late-events) with its lateness, is counted
//    in a kLate row of its window and in the ledger, and touches nothing else. Otherwise it
//    updates its window, even if it is behind the largest event time.
//  * Sessions: per user key, a new session starts when an event comes more than the gap
//    after the session's last event; a session closes when such an event arrives or when the
//    watermark passes last event + gap. Its start counts in the window row of its first
//    event; its duration and event count go to a kSession row of that start window.
//  * Memory: dedup ids are bounded (Process answers kBackpressure when full; nothing is
//    consumed); window cells are bounded (beyond the bound new dimension combinations are
//    counted under "__overflow__" values); open sessions are bounded (beyond it the least
//    recently active tenth are closed early). Each case has a counter.
//
// Not thread-safe; one PartitionTask owns it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "log/log.h"
#include "schema/registry.h"
#include "stream/dedup_filter.h"
#include "stream/event_decoder.h"
#include "stream/flat_string_map_internal.h"
#include "stream/user_agent.h"
#include "stream/window_aggregate.h"

namespace tidemark::stream {

struct ProcessorOptions {
  int64_t dedup_ttl_ms = 3'600'000;
  int64_t dedup_max_keys = 4'000'000;
  int64_t allowed_lateness_ms = 7'200'000;
  int64_t session_gap_ms = 1'800'000;
  int64_t max_open_sessions = 2'000'000;
  int64_t max_window_cells = 500'000;
  // kLate rows and ledger days are kept this long (event/record time) behind the newest.
  int64_t retention_ms = 30LL * 86'400'000;
  // event_type, platform, app_version, source, browser, os, device_class, device_type.
  std::vector<std::string> dimensions = {"event_type", "platform", "app_version"};
  std::vector<std::string> numeric_properties = {"revenue", "duration_ms"};
  DedupFilter::Hasher dedup_hasher = nullptr;  // tests force collisions
  // Live event ids to size the dedup table for up front (0: grow as ids arrive).
  int64_t dedup_expected_keys = 0;
  // Resolves the schema ids of Avro record values; null reads canonical JSON only. Must
  // outlive the processors.
  schema::Registry* registry = nullptr;
};

// Validates option values that a config file could get wrong.
Status ValidateProcessorOptions(const ProcessorOptions& options);

// One partition's share of the reconciliation ledger for one UTC day (by received_at).
// accepted = duplicates + on_time + late + undecodable. rejected counts dlq-events records.
struct LedgerCounts {
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  uint64_t duplicates = 0;
  uint64_t on_time = 0;
  uint64_t late = 0;
  uint64_t undecodable = 0;
  bool operator==(const LedgerCounts&) const = default;
};

// Late share over the last five minutes of received_at (for the late-data alert).
struct LateStats {
  uint64_t late = 0;
  uint64_t total = 0;
};

class PartitionProcessor {
 public:
  enum class Mode { kEvents, kDlq };
  enum class Outcome { kOnTime, kLate, kDuplicate, kUndecodable, kRejected, kBackpressure };

  PartitionProcessor(ProcessorOptions options, std::string topic, int partition, Mode mode,
                     std::unique_ptr<EventDecoder> decoder);

  // kBackpressure: the dedup state is full; nothing was consumed, offer the record again later.
  Outcome Process(const log::StoredRecord& record);
  // A hint for a record that Process will see soon (one or two records ahead): starts
  // loading the dedup and session lines it will need, so their cache misses overlap the
  // work on the records before it. Reads nothing but the record; changes no state.
  void Prefetch(const log::StoredRecord& record) const;
  // Upserts every cell changed since the last Emit (early results), writes windows that the
  // watermark has passed one last time and drops them (final results).
  void Emit(RowSink* sink);
  // Late side output gathered since the last call: records for late-events.
  std::vector<log::Record> TakeLateRecords();

  const std::string& shard() const { return shard_; }
  int64_t max_event_time_ms() const { return max_event_time_; }
  int64_t watermark_ms() const;
  const std::map<int64_t, LedgerCounts>& ledger() const { return ledger_; }  // by day start ms
  LateStats RecentLateStats() const;
  const DedupFilter& dedup() const { return dedup_; }
  size_t open_window_cells() const { return window_cells_; }
  size_t open_sessions() const { return sessions_.size(); }
  uint64_t overflow_events() const { return overflow_events_; }
  uint64_t forced_session_closes() const { return forced_session_closes_; }
  size_t StateBytesEstimate() const;

  // Everything Process depends on. RestoreState marks every cell changed, so the next Emit
  // rewrites the store rows that a crash may have left ahead of this state.
  void AppendState(std::string* out) const;
  Status RestoreState(std::string_view in);

 private:
  struct SessionCell {
    WindowAggregate agg;
    int64_t open = 0;  // sessions started in this cell and not closed yet
    bool dirty = false;
  };
  using SessionCellMap = std::map<std::pair<int64_t, std::string>, SessionCell>;
  // A session cell with its key ({window_start, dims}). Map nodes never move, and a cell is
  // erased only once open is 0 and its window is final, so the pointers below stay valid.
  using SessionCellEntry = SessionCellMap::value_type;
  struct Cell {
    WindowAggregate agg;
    bool dirty = false;
    // The session cell of the same {window, dims}, once a session has started here; the
    // window cell goes (its window final) no later than Emit could drop the session cell.
    SessionCellEntry* session_cell = nullptr;
  };
  struct UserSession {
    int64_t start = 0;
    int64_t last = 0;
    uint32_t events = 0;
    // Where the session started: its cell has open >= 1 for as long as the session is open.
    SessionCellEntry* start_cell = nullptr;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const;
  };
  using CellMap = std::unordered_map<std::string, Cell, StringHash, std::equal_to<>>;
  enum class Dim { kEventType, kPlatform, kAppVersion, kSource, kBrowser, kOs, kDeviceClass, kDeviceType };

  Outcome ProcessEvent(const log::StoredRecord& record);
  Outcome ProcessDlq(const log::StoredRecord& record);
  void BuildDims(const StreamEvent& e, std::string_view platform, const UserAgentInfo& ua, std::string* out) const;
  // *exact is false when the cell is the overflow combination rather than dims' own.
  Cell& WindowCell(int64_t window_start, const std::string& dims, bool* exact);
  void Sessionize(const StreamEvent& e, uint64_t user_hash, int64_t window_start, const std::string& dims,
                  Cell& cell, bool exact_cell);
  void CloseSession(const UserSession& s);
  // session_cells_[{window_start, dims}] without building a key string on every call.
  SessionCellEntry& SessionCellAt(int64_t window_start, std::string_view dims);
  void CloseExpiredSessions();
  void EnforceSessionBound();
  void CountLateStats(int64_t received_at_ms, bool late);
  const UserAgentInfo& UserAgent(std::string_view ua);
  void PruneRetained();

  ProcessorOptions options_;
  std::string topic_;
  int partition_;
  std::string shard_;
  Mode mode_;
  std::unique_ptr<EventDecoder> decoder_;
  std::vector<Dim> dims_;

  DedupFilter dedup_;
  int64_t max_event_time_ = INT64_MIN;
  std::map<int64_t, CellMap> windows_;
  size_t window_cells_ = 0;
  SessionCellMap session_cells_;
  std::pair<int64_t, std::string> session_key_buf_;  // reused lookup key (keeps its capacity)
  std::map<std::pair<int64_t, std::string>, Cell> late_cells_;
  std::map<int64_t, Cell> dlq_cells_;
  internal::FlatStringMap<UserSession> sessions_;  // by user key
  int64_t last_session_scan_ = INT64_MIN;  // watermark at the last expiry scan
  std::map<int64_t, LedgerCounts> ledger_;
  struct MinuteStats {
    int64_t minute = INT64_MIN;
    uint64_t late = 0, total = 0;
  };
  MinuteStats recent_[5];
  uint64_t overflow_events_ = 0;
  uint64_t forced_session_closes_ = 0;

  // Scratch and caches; not state.
  StreamEvent event_;
  std::string dims_buf_;
  std::unordered_map<std::string, UserAgentInfo, StringHash, std::equal_to<>> ua_cache_;
  std::vector<log::Record> late_out_;
};

}  // namespace tidemark::stream
