// Test-only helpers: canonical event records and a RowSink that remembers the last upsert
// of every cell, as the real-time store would.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "event/event.h"
#include "log/log.h"
#include "stream/window_aggregate.h"

namespace tidemark::stream::testing {

struct EventSpec {
  std::string id;
  std::string type = "page_view";
  std::string user = "u1";
  int64_t event_time = 0;
  int64_t received_at = 0;  // 0: same as event_time
  std::string platform = "web";
  std::string app_version = "1.0";
  std::string props = "{}";
};

inline log::StoredRecord MakeRecord(const EventSpec& s, int64_t offset = 0) {
  event::Event e;
  e.event_id = s.id;
  e.event_type = s.type;
  e.timestamp_ms = s.event_time;
  e.event_time_ms = s.event_time;
  e.received_at_ms = s.received_at ? s.received_at : s.event_time;
  e.user_id = s.user;
  e.platform = s.platform;
  e.source = "test";
  e.context_json = "{\"user_agent\":\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                   "Gecko) Chrome/124.0.0.0 Safari/537.36\",\"app_version\":\"" + s.app_version + "\"}";
  e.properties_json = s.props;
  return log::StoredRecord{offset, e.received_at_ms, s.user, event::EventToJson(e)};
}

class CapturingSink final : public RowSink {
 public:
  using Key = std::tuple<std::string, RowKind, int64_t, std::string>;
  void Upsert(std::string_view shard, RowKind kind, int64_t ws, std::string_view dims,
              const WindowAggregate& value) override {
    std::lock_guard<std::mutex> lock(mu);
    rows[Key(std::string(shard), kind, ws, std::string(dims))] = value;
    ++upserts;
  }
  Status Flush(std::string_view) override { return Status::Ok(); }
  // Sum over shards and dims of one kind and window.
  WindowAggregate Total(RowKind kind, int64_t ws) {
    std::lock_guard<std::mutex> lock(mu);
    WindowAggregate out;
    for (const auto& [k, v] : rows) {
      if (std::get<1>(k) == kind && std::get<2>(k) == ws) out.Merge(v);
    }
    return out;
  }
  std::mutex mu;
  std::map<Key, WindowAggregate> rows;
  int upserts = 0;
};

}  // namespace tidemark::stream::testing
