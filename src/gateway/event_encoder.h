// The seam between the gateway and the schema registry: how an accepted event becomes the
// value of its log record. The gateway checks the envelope (event/event_parser.h) and then
// hands the event to an EventEncoder; `tidemark serve` plugs in the registry's Avro encoder
// (schema/ingest_encoder.h), so the gateway itself does not depend on Avro. Without an
// encoder the gateway writes the canonical JSON of event/event.h.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "event/event.h"
#include "event/event_parser.h"
#include "log/log.h"

namespace tidemark::gateway {

// Names of the record headers the gateway writes beside an encoded value: what the gateway
// added that the event's schema may have no field for.
inline constexpr std::string_view kHeaderSource = "source";          // the write key's source
inline constexpr std::string_view kHeaderEventTime = "event_time";   // skew-corrected, epoch ms
inline constexpr std::string_view kHeaderEventId = "event_id";       // when the schema has no event_id
inline constexpr std::string_view kHeaderPlatform = "platform";      // when the schema has no platform

// One accepted event, as the gateway saw it. Views live for the Encode call.
struct EncodeInput {
  simdjson::dom::element raw;             // the event as the client sent it
  const event::NormalizeOutcome* checked;  // its checked envelope
  std::string_view source;                 // the write key's source
  std::string_view client_ip;              // for context.ip when the event has none
  bool sent_at_given = false;              // event_time differs from timestamp
};

// Implementations are thread-safe: every gateway I/O thread calls them.
class EventEncoder {
 public:
  virtual ~EventEncoder() = default;

  // Sets record->value (and headers; and the key, when the schema masks the field the key
  // came from, so no raw value reaches the log through the key). A returned error rejects the
  // event: unknown_event_type or schema_violation with a message naming the field.
  virtual std::optional<event::EventError> Encode(const EncodeInput& in, log::Record* record) = 0;

  // The rejected event `raw` as compact JSON for its dlq-events record, with the PII
  // annotations of its type's schema applied (as is when its type has no schema).
  virtual void AppendMaskedEvent(simdjson::dom::element raw, std::string* out) = 0;
};

}  // namespace tidemark::gateway
