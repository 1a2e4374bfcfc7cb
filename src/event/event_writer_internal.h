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
// object, then AppendPropertiesKey, the properties object and AppendClose. Strings of the
// fields are trusted to be valid UTF-8 only when trusted_utf8 (they came from simdjson).
inline void AppendCanonicalHead(JsonBuffer* out, const CanonicalFields& f, bool trusted_utf8) {
  out->PutRaw("{\"event_id\":");
  out->PutString(f.event_id, trusted_utf8);
  out->PutRaw(",\"event_type\":");
  out->PutString(f.event_type, trusted_utf8);
  out->PutRaw(",\"timestamp\":");
  out->PutInt(f.timestamp_ms);
  out->PutRaw(",\"event_time\":");
  out->PutInt(f.event_time_ms);
  out->PutRaw(",\"received_at\":");
  out->PutInt(f.received_at_ms);
  if (f.sent_at_ms) {
    out->PutRaw(",\"sent_at\":");
    out->PutInt(*f.sent_at_ms);
  }
  if (!f.user_id.empty()) {
    out->PutRaw(",\"user_id\":");
    out->PutString(f.user_id, trusted_utf8);
  }
  if (!f.anonymous_id.empty()) {
    out->PutRaw(",\"anonymous_id\":");
    out->PutString(f.anonymous_id, trusted_utf8);
  }
  if (!f.session_id.empty()) {
    out->PutRaw(",\"session_id\":");
    out->PutString(f.session_id, trusted_utf8);
  }
  out->PutRaw(",\"platform\":");
  out->PutString(f.platform, trusted_utf8);
  if (f.schema_version) {
    out->PutRaw(",\"schema_version\":");
    out->PutInt(*f.schema_version);
  }
  out->PutRaw(",\"source\":");
  out->PutString(f.source, false);
  out->PutRaw(",\"context\":");
}

inline void AppendPropertiesKey(JsonBuffer* out) { out->PutRaw(",\"properties\":"); }
inline void AppendClose(JsonBuffer* out) { out->Put('}'); }

}  // namespace tidemark::event::internal

namespace tidemark::event::internal {

// DeriveEventId without allocating: writes exactly 32 lower-case hex digits to out.
void DeriveEventIdHex(std::string_view user_id, std::string_view anonymous_id,
                      std::string_view event_type, int64_t timestamp_ms,
                      std::string_view session_id, char* out);

}  // namespace tidemark::event::internal
