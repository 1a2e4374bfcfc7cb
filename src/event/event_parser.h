// Ingest parsing: one client event (a simdjson DOM element of a POST /v1/batch body) is
// checked against DESIGN §2 and written as canonical compact JSON (event.h's layout), with
// the gateway's additions: received_at, source, context.ip and the skew-corrected
// event_time. The hot path of the gateway: no per-field allocations, strings are views
// into the parsed document.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "common/config.h"
#include "event/event.h"
#include "event/json_writer.h"

namespace tidemark::event {

// Facts about the request an event arrived in. Views must outlive the NormalizeEvent call.
struct IngestContext {
  int64_t received_at_ms = 0;
  std::optional<int64_t> sent_at_ms;  // the batch's sent_at, when given
  std::string_view source;            // the write key's source
  std::string_view default_platform;  // the write key's platform
  std::string_view client_ip;         // stored as context.ip when the event has none
};

struct EventLimits {
  int64_t max_future_ms = 86400000;
  int64_t max_past_ms = 31536000000;
  size_t max_event_bytes = 32768;
  // Reads gateway.max_future_ms, gateway.max_past_ms and gateway.max_event_bytes.
  static EventLimits FromConfig(const Config& config);
};

// The result of NormalizeEvent: either an error, or where the event goes.
struct [[nodiscard]] NormalizeOutcome {
  std::optional<EventError> error;
  // platform "server": server-events keyed by context.service (else the source);
  // otherwise user-events keyed by user_id (else anonymous_id).
  bool server_event = false;
  std::string_view partition_key;  // a view into the document or the IngestContext
  // Where partition_key came from: "user_id", "anonymous_id", "context.service", or empty
  // for the source (so an encoder that masks that field can mask the key alike).
  std::string_view partition_key_field;

  // The checked envelope, for an encoder that writes the event in another format. Views
  // into the document or the IngestContext, except event_id() when it was derived.
  std::string_view event_type;
  std::string_view platform;  // the event's, else the key's
  bool platform_defaulted = false;
  std::optional<int64_t> schema_version;
  int64_t event_time_ms = 0;  // skew-corrected
  bool event_id_derived = false;
  std::string_view event_id() const {
    return event_id_derived ? std::string_view(derived_event_id, sizeof derived_event_id) : client_event_id;
  }
  std::string_view client_event_id;
  char derived_event_id[32] = {};
  // An integer session_id, as the decimal text the canonical event holds.
  std::string_view session_id_text() const { return {session_id_digits, session_id_digits_len}; }
  char session_id_digits[24] = {};
  uint8_t session_id_digits_len = 0;

  bool ok() const { return !error.has_value(); }
};

// Checks one ingest event and, when it is valid, appends its canonical JSON to *out
// (which the caller clears or reuses). On error *out is left as it was on entry. With a
// null `out` the event is only checked: nothing is written and limits.max_event_bytes is
// the caller's to apply to what it writes instead (the gateway's encoder).
NormalizeOutcome NormalizeEvent(simdjson::dom::element raw, const IngestContext& ctx,
                                const EventLimits& limits, JsonBuffer* out);
// The same, appending to a std::string (tests, tools).
NormalizeOutcome NormalizeEvent(simdjson::dom::element raw, const IngestContext& ctx,
                                const EventLimits& limits, std::string* out);

// Epoch ms from RFC 3339 text or an integer (for the batch's sent_at).
std::optional<int64_t> ParseTimeElement(simdjson::dom::element e);

}  // namespace tidemark::event
