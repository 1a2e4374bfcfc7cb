#include "event/event.h"

#include <xxhash.h>

#include <cstring>

#include <simdjson.h>

#include "common/time_format.h"
#include "event/event_writer_internal.h"
#include "event/json_writer.h"

namespace tidemark::event {
namespace {

// Epoch ms from an integer or RFC 3339 text.
bool TimeFromElement(simdjson::dom::element e, int64_t* out) {
  if (e.get(*out) == simdjson::SUCCESS) return true;
  std::string_view text;
  if (e.get(text) != simdjson::SUCCESS) return false;
  auto ms = ParseRfc3339Millis(text);
  if (!ms) return false;
  *out = *ms;
  return true;
}

Status FieldError(std::string_view field, std::string_view what) {
  return Status::InvalidArgument("event JSON: " + std::string(field) + ": " + std::string(what));
}

}  // namespace

std::string_view ReasonCode(Reason reason) {
  switch (reason) {
    case Reason::kInvalidJson: return "invalid_json";
    case Reason::kMissingField: return "missing_field";
    case Reason::kInvalidField: return "invalid_field";
    case Reason::kUnknownEventType: return "unknown_event_type";
    case Reason::kSchemaViolation: return "schema_violation";
    case Reason::kEventTooLarge: return "event_too_large";
    case Reason::kTimestampOutOfRange: return "timestamp_out_of_range";
  }
  return "unknown";
}

bool IsValidPlatform(std::string_view p) {
  return p == "web" || p == "ios" || p == "android" || p == "server";
}

bool IsValidEventType(std::string_view t) {
  if (t.empty() || t.size() > kMaxEventTypeBytes) return false;
  for (char c : t) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

namespace internal {

void DeriveEventIdHex(std::string_view user_id, std::string_view anonymous_id,
                      std::string_view event_type, int64_t timestamp_ms,
                      std::string_view session_id, char* out) {
  // Length-prefixed fields, so ("ab","c") and ("a","bc") hash differently; hashed in one
  // shot from a stack buffer (the ingest limits keep it under 1 KiB).
  char stack[1024];
  std::string heap;
  const size_t total = 5 * sizeof(uint64_t) + user_id.size() + anonymous_id.size() +
                       event_type.size() + session_id.size();
  char* buf = stack;
  if (total > sizeof stack) {
    heap.resize(total);
    buf = heap.data();
  }
  char* p = buf;
  auto add = [&](std::string_view s) {
    uint64_t n = s.size();
    std::memcpy(p, &n, sizeof n);
    p += sizeof n;
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  add(user_id);
  add(anonymous_id);
  add(event_type);
  std::memcpy(p, &timestamp_ms, sizeof timestamp_ms);
  p += sizeof timestamp_ms;
  add(session_id);
  XXH128_hash_t h = XXH3_128bits(buf, static_cast<size_t>(p - buf));
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) {
    out[15 - i] = kHex[(h.high64 >> (4 * i)) & 15];
    out[31 - i] = kHex[(h.low64 >> (4 * i)) & 15];
  }
}

}  // namespace internal

std::string DeriveEventId(std::string_view user_id, std::string_view anonymous_id,
                          std::string_view event_type, int64_t timestamp_ms,
                          std::string_view session_id) {
  std::string out(32, '0');
  internal::DeriveEventIdHex(user_id, anonymous_id, event_type, timestamp_ms, session_id, out.data());
  return out;
}

std::string EventToJson(const Event& e) {
  internal::CanonicalFields f;
  f.event_id = e.event_id;
  f.event_type = e.event_type;
  f.timestamp_ms = e.timestamp_ms;
  f.event_time_ms = e.event_time_ms;
  f.received_at_ms = e.received_at_ms;
  f.sent_at_ms = e.sent_at_ms;
  f.user_id = e.user_id;
  f.anonymous_id = e.anonymous_id;
  f.session_id = e.session_id;
  f.platform = e.platform;
  f.schema_version = e.schema_version;
  f.source = e.source;
  JsonBuffer out;
  internal::AppendCanonicalHead(&out, f, false);
  out.PutRaw(e.context_json.empty() ? "{}" : e.context_json);
  internal::AppendPropertiesKey(&out);
  out.PutRaw(e.properties_json.empty() ? "{}" : e.properties_json);
  internal::AppendClose(&out);
  return std::string(out.view());
}

Result<Event> EventFromJson(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root); err) {
    return Status::InvalidArgument(std::string("event JSON: ") + simdjson::error_message(err));
  }
  simdjson::dom::object obj;
  if (root.get(obj) != simdjson::SUCCESS) {
    return Status::InvalidArgument("event JSON: not a JSON object");
  }
  Event e;
  bool has_timestamp = false, has_event_time = false;
  for (auto field : obj) {
    std::string_view k = field.key;
    simdjson::dom::element v = field.value;
    if (v.is_null()) continue;
    auto get_string = [&](std::string* out) -> Status {
      std::string_view s;
      if (v.get(s) != simdjson::SUCCESS) return FieldError(k, "must be a string");
      out->assign(s);
      return Status::Ok();
    };
    auto get_time = [&](int64_t* out) -> Status {
      if (!TimeFromElement(v, out)) return FieldError(k, "must be epoch milliseconds or RFC 3339");
      return Status::Ok();
    };
    if (k == "event_id") {
      RETURN_IF_ERROR(get_string(&e.event_id));
    } else if (k == "event_type") {
      RETURN_IF_ERROR(get_string(&e.event_type));
    } else if (k == "timestamp") {
      RETURN_IF_ERROR(get_time(&e.timestamp_ms));
      has_timestamp = true;
    } else if (k == "event_time") {
      RETURN_IF_ERROR(get_time(&e.event_time_ms));
      has_event_time = true;
    } else if (k == "received_at") {
      RETURN_IF_ERROR(get_time(&e.received_at_ms));
    } else if (k == "sent_at") {
      int64_t t;
      RETURN_IF_ERROR(get_time(&t));
      e.sent_at_ms = t;
    } else if (k == "user_id") {
      RETURN_IF_ERROR(get_string(&e.user_id));
    } else if (k == "anonymous_id") {
      RETURN_IF_ERROR(get_string(&e.anonymous_id));
    } else if (k == "session_id") {
      RETURN_IF_ERROR(get_string(&e.session_id));
    } else if (k == "platform") {
      RETURN_IF_ERROR(get_string(&e.platform));
    } else if (k == "source") {
      RETURN_IF_ERROR(get_string(&e.source));
    } else if (k == "schema_version") {
      int64_t n;
      if (v.get(n) != simdjson::SUCCESS) return FieldError(k, "must be an integer");
      e.schema_version = n;
    } else if (k == "context" || k == "properties") {
      if (!v.is_object()) return FieldError(k, "must be an object");
      std::string* out = k == "context" ? &e.context_json : &e.properties_json;
      out->clear();
      AppendJsonElement(out, v);
    }
    // Unknown fields are ignored, so that newer writers do not break older readers.
  }
  if (e.event_type.empty()) return FieldError("event_type", "required");
  if (!has_timestamp) return FieldError("timestamp", "required");
  if (e.user_id.empty() && e.anonymous_id.empty()) {
    return FieldError("user_id or anonymous_id", "required");
  }
  if (!has_event_time) e.event_time_ms = e.timestamp_ms;
  if (e.event_id.empty()) {
    e.event_id = DeriveEventId(e.user_id, e.anonymous_id, e.event_type, e.timestamp_ms, e.session_id);
  }
  return e;
}

}  // namespace tidemark::event
