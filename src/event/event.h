// The canonical event of DESIGN §2: what the gateway writes to user-events/server-events
// as compact JSON with a fixed field order, and what consumers read back with
// EventFromJson. Ingest parsing (client JSON -> canonical JSON) lives in event_parser.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tidemark::event {

// Why an event was rejected (DESIGN §2 reason codes).
enum class Reason {
  kInvalidJson,
  kMissingField,
  kInvalidField,
  kUnknownEventType,
  kSchemaViolation,
  kEventTooLarge,
  kTimestampOutOfRange,
};
inline constexpr int kReasonCount = 7;

// "invalid_json", "missing_field", …
std::string_view ReasonCode(Reason reason);

// A per-event rejection: the reason and a message that names the field
// ("user_id: exceeds 256 bytes").
struct EventError {
  Reason reason = Reason::kInvalidJson;
  std::string message;
};

// Field limits of DESIGN §2.
inline constexpr size_t kMaxEventTypeBytes = 64;
inline constexpr size_t kMaxUserIdBytes = 256;
inline constexpr size_t kMaxEventIdBytes = 128;
inline constexpr size_t kMaxSessionIdBytes = 256;

// A normalised event. Times are UTC epoch milliseconds.
struct Event {
  std::string event_id;
  std::string event_type;
  int64_t timestamp_ms = 0;    // client event time as sent
  int64_t event_time_ms = 0;   // skew-corrected: timestamp + (received_at - sent_at)
  int64_t received_at_ms = 0;  // gateway time
  std::optional<int64_t> sent_at_ms;
  std::string user_id;       // user_id or anonymous_id (or both) is non-empty
  std::string anonymous_id;
  std::string session_id;
  std::string platform;  // web|ios|android|server
  std::optional<int64_t> schema_version;
  std::string source;                  // the write key's source
  std::string context_json = "{}";     // compact JSON object
  std::string properties_json = "{}";  // compact JSON object

  // The partition key of user-events: user_id, else anonymous_id.
  const std::string& user_key() const { return user_id.empty() ? anonymous_id : user_id; }
};

// Compact JSON, fields in the canonical order:
// event_id, event_type, timestamp, event_time, received_at, sent_at?, user_id?,
// anonymous_id?, session_id?, platform, schema_version?, source, context, properties.
std::string EventToJson(const Event& event);

// Parses canonical JSON (as written by EventToJson or the gateway). Times may be epoch
// milliseconds or RFC 3339 text. InvalidArgument names the offending field.
Result<Event> EventFromJson(std::string_view json);

// The event id the gateway derives when the client sent none: 32 hex digits of a 128-bit
// hash over user, anonymous id, type, timestamp and session, so that a retried payload
// gets the same id and deduplicates.
std::string DeriveEventId(std::string_view user_id, std::string_view anonymous_id,
                          std::string_view event_type, int64_t timestamp_ms,
                          std::string_view session_id);

// True for web|ios|android|server.
bool IsValidPlatform(std::string_view platform);
// True when event_type matches [a-z0-9_.-]{1,64}.
bool IsValidEventType(std::string_view event_type);

}  // namespace tidemark::event
