// The one writer of canonical event JSON, shared by EventToJson and the ingest parser so
// that both produce byte-identical layouts. Internal to src/event.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "event/json_writer.h"

namespace tidemark::event::internal {

struct CanonicalFields {
  std::string_view event_id;
  std::string_view event_type;
  int64_t timestamp_ms = 0;
  int64_t event_time_ms = 0;
  int64_t received_at_ms = 0;
  std::optional<int64_t> sent_at_ms;
  std::string_view user_id;
  std::string_view anonymous_id;
  std::string_view session_id;
  std::string_view platform;
  std::optional<int64_t> schema_version;
  std::string_view source;
};

// Writes everything up to and including `"context":`; the caller writes the context
// object, then calls AppendPropertiesKey, the properties object and AppendClose.
inline void AppendCanonicalHead(std::string* out, const CanonicalFields& f) {
  out->append("{\"event_id\":");
  AppendJsonString(out, f.event_id);
  out->append(",\"event_type\":");
  AppendJsonString(out, f.event_type);
  out->append(",\"timestamp\":");
  AppendJsonInt(out, f.timestamp_ms);
  out->append(",\"event_time\":");
  AppendJsonInt(out, f.event_time_ms);
  out->append(",\"received_at\":");
  AppendJsonInt(out, f.received_at_ms);
  if (f.sent_at_ms) {
    out->append(",\"sent_at\":");
    AppendJsonInt(out, *f.sent_at_ms);
  }
  if (!f.user_id.empty()) {
    out->append(",\"user_id\":");
    AppendJsonString(out, f.user_id);
  }
  if (!f.anonymous_id.empty()) {
    out->append(",\"anonymous_id\":");
    AppendJsonString(out, f.anonymous_id);
  }
  if (!f.session_id.empty()) {
    out->append(",\"session_id\":");
    AppendJsonString(out, f.session_id);
  }
  out->append(",\"platform\":");
  AppendJsonString(out, f.platform);
  if (f.schema_version) {
    out->append(",\"schema_version\":");
    AppendJsonInt(out, *f.schema_version);
  }
  out->append(",\"source\":");
  AppendJsonString(out, f.source);
  out->append(",\"context\":");
}

inline void AppendPropertiesKey(std::string* out) { out->append(",\"properties\":"); }
inline void AppendClose(std::string* out) { out->push_back('}'); }

}  // namespace tidemark::event::internal

namespace tidemark::event::internal {

// DeriveEventId without allocating: writes exactly 32 lower-case hex digits to out.
void DeriveEventIdHex(std::string_view user_id, std::string_view anonymous_id,
                      std::string_view event_type, int64_t timestamp_ms,
                      std::string_view session_id, char* out);

}  // namespace tidemark::event::internal
