// The state of one (window, dimensions) cell: counters plus mergeable sketches, never the
// events themselves. The same type is what the real-time store keeps and what queries merge
// when they roll minutes into hours, so a rollup is a Merge, not a re-count.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "stream/hyperloglog.h"
#include "stream/quantile_sketch.h"

namespace tidemark::stream {

inline constexpr int64_t kWindowMs = 60'000;  // tumbling one-minute windows

// Which operator produced a row. Rows of different kinds for the same window are kept
// apart so that each is an upsert of one operator's complete state for that cell.
enum class RowKind : uint8_t {
  kWindow = 0,   // events, users, sessions started, numeric properties
  kSession = 1,  // sessions closed, by the window they started in: duration, events
  kLate = 2,     // events beyond the allowed lateness, by the window they belonged to
  kDlq = 3,      // rejected events, by the minute they were received
};
inline constexpr int kRowKinds = 4;

// Property names of the session statistics in kSession rows.
inline constexpr std::string_view kSessionDurationProp = "session_duration_ms";
inline constexpr std::string_view kSessionEventsProp = "session_events";

// Value type; not thread-safe.
struct WindowAggregate {
  uint64_t events = 0;
  uint64_t sessions = 0;
  uint64_t late = 0;
  uint64_t dlq = 0;
  HyperLogLog users;
  std::vector<std::pair<std::string, QuantileSketch>> props;

  // Finds or adds the sketch of a property.
  QuantileSketch& Prop(std::string_view name);
  const QuantileSketch* FindProp(std::string_view name) const;
  void Merge(const WindowAggregate& other);
  size_t MemoryBytes() const;

  void AppendTo(std::string* out) const;
  static bool ReadFrom(std::string_view* in, WindowAggregate* out);
  bool operator==(const WindowAggregate& other) const;
};

// Dimension values of a cell, encoded "name=value" pairs joined by \x1f in the configured
// order, e.g. "event_type=page_view\x1fplatform=web". Self-describing, so rows written under
// one dimension setting stay queryable after it changes.
inline constexpr char kDimSeparator = '\x1f';
void AppendDim(std::string* key, std::string_view name, std::string_view value);
// The value of `name` in an encoded key; nullopt-like empty-and-false when absent.
bool FindDim(std::string_view key, std::string_view name, std::string_view* value);

// Where the stream writes its results (the real-time store). Upsert replaces the row with
// this key by the given state: replays rewrite the same value, so nothing double counts.
// Implementations must be thread-safe (every partition task calls it).
class RowSink {
 public:
  virtual ~RowSink() = default;
  // shard names the writer ("user-events/3"): each shard's rows are written by one task only.
  virtual void Upsert(std::string_view shard, RowKind kind, int64_t window_start_ms,
                      std::string_view dims, const WindowAggregate& value) = 0;
  // Makes the shard's upserts so far durable; a task checkpoints only after this succeeds.
  virtual Status Flush(std::string_view shard) = 0;
};

}  // namespace tidemark::stream
