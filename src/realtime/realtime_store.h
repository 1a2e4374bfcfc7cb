// The real-time store: window aggregates by (shard, kind, window start, dimensions), kept
// for the retention period (30 days by default) and persisted under data/realtime so a
// restart keeps them. Every write is an upsert of a whole cell from the one task that owns
// the shard, so a replay after a crash rewrites the same values and never double counts.
// Queries merge cells across shards and windows (realtime/query.h).
//
// Files: data/realtime/<topic>/<partition>/<YYYY-MM-DD>.rows, one per shard and UTC day
// of window start, rewritten atomically when that day has changed (Flush), CRC32C-checked.
//
// Thread-safe: upserts take an exclusive lock, scans a shared one.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "common/clock.h"
#include "common/status.h"
#include "stream/window_aggregate.h"

namespace tidemark::realtime {

using stream::RowKind;
using stream::WindowAggregate;

class RealtimeStore final : public stream::RowSink {
 public:
  // dir is data/realtime; clock decides what has passed the retention.
  RealtimeStore(std::string dir, int64_t retention_ms, const Clock* clock);

  // Reads every shard's day files. Corruption names the damaged file.
  Status Load();

  void Upsert(std::string_view shard, RowKind kind, int64_t window_start_ms, std::string_view dims,
              const WindowAggregate& value) override;
  Status Flush(std::string_view shard) override;
  // Drops cells and day files older than the retention.
  Status EnforceRetention();

  using Visitor = std::function<void(int64_t window_start_ms, std::string_view dims, const WindowAggregate&)>;
  // Calls fn for every cell of `kind` with from_ms <= window start < to_ms, across shards.
  void Scan(RowKind kind, int64_t from_ms, int64_t to_ms, const Visitor& fn) const;
  size_t CellCount() const;

 private:
  using RowKey = std::tuple<RowKind, int64_t, std::string>;
  struct Shard {
    std::map<RowKey, WindowAggregate, std::less<>> rows;
    std::set<int64_t> dirty_days;  // day start ms
  };
  std::string ShardDir(std::string_view shard) const;

  std::string dir_;
  int64_t retention_ms_;
  const Clock* clock_;
  mutable std::shared_mutex mu_;
  std::map<std::string, Shard, std::less<>> shards_;
};

}  // namespace tidemark::realtime
