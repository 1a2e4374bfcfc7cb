// Decoding of log record values for the stream stage, behind one small interface: the
// gateway writes Confluent-framed Avro (canonical JSON with schema.enabled = false, and in
// logs written before Avro), and the operators see neither. A decoder fills a StreamEvent
// of views: no per-event allocation.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "log/log.h"

namespace tidemark::schema {
class Registry;
}  // namespace tidemark::schema

namespace tidemark::stream {

// What the operators need of one event. Views stay valid until the decoder's next Decode.
struct StreamEvent {
  static constexpr int kMaxNumeric = 16;

  std::string_view event_id;  // derived as the gateway would when the record has none
  std::string_view event_type;
  std::string_view user_key;  // user_id, else anonymous_id
  std::string_view session_id;
  std::string_view platform;  // may be empty: enrichment fills it
  std::string_view source;
  std::string_view user_agent;   // context.user_agent
  std::string_view app_version;  // context.app_version
  std::string_view device_type;  // context.device_type
  int64_t event_time_ms = 0;     // skew-corrected event time
  int64_t received_at_ms = 0;
  // Numeric properties, in the order the decoder was configured with; bit i of
  // numeric_present says whether numeric[i] was in the event.
  double numeric[kMaxNumeric] = {};
  uint32_t numeric_present = 0;
};

// Not thread-safe: one per partition task.
class EventDecoder {
 public:
  virtual ~EventDecoder() = default;
  // The record's timestamp stands in for received_at when the value lacks it; its headers
  // carry what the gateway added beside an Avro value (gateway/event_encoder.h).
  virtual Status Decode(const log::StoredRecord& record, StreamEvent* out) = 0;
};

// Canonical event JSON (event/event.h); numeric_properties are the property names whose
// numbers feed sums and quantiles (at most StreamEvent::kMaxNumeric).
std::unique_ptr<EventDecoder> NewJsonEventDecoder(std::vector<std::string> numeric_properties);

// Both formats the gateway writes: Confluent-framed Avro, read straight from the binary
// with the writer schema (by id from `registry`, which must outlive the decoder; only the
// fields the operators use are looked at, the rest skipped), and canonical JSON as above.
std::unique_ptr<EventDecoder> NewLogEventDecoder(schema::Registry* registry,
                                                 std::vector<std::string> numeric_properties);

}  // namespace tidemark::stream
