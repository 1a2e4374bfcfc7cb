#include "event/event_parser.h"

#include <charconv>
#include <cstring>

#include "common/time_format.h"
#include "event/event_writer_internal.h"
#include "event/json_writer.h"

namespace tidemark::event {
namespace {

using simdjson::dom::element;

NormalizeOutcome Fail(Reason reason, std::string message) {
  NormalizeOutcome o;
  o.error = EventError{reason, std::move(message)};
  return o;
}

// Reads an optional string field: absent and null are "not given".
enum class StringField { kAbsent, kOk, kNotString };
StringField ReadString(const element* e, std::string_view* out) {
  if (e == nullptr || e->is_null()) return StringField::kAbsent;
  if (e->get(*out) != simdjson::SUCCESS) return StringField::kNotString;
  return StringField::kOk;
}

std::string TooLong(std::string_view field, size_t limit) {
  return std::string(field) + ": exceeds " + std::to_string(limit) + " bytes";
}

}  // namespace

EventLimits EventLimits::FromConfig(const Config& config) {
  EventLimits l;
  l.max_future_ms = config.GetInt("gateway.max_future_ms");
  l.max_past_ms = config.GetInt("gateway.max_past_ms");
  l.max_event_bytes = static_cast<size_t>(config.GetInt("gateway.max_event_bytes"));
  return l;
}

std::optional<int64_t> ParseTimeElement(element e) {
  int64_t ms;
  if (e.get(ms) == simdjson::SUCCESS) return ms;
  std::string_view text;
  if (e.get(text) == simdjson::SUCCESS) return ParseRfc3339Millis(text);
  return std::nullopt;
}

namespace {

// The outcome of a valid event. `service` is its context.service text (a server event's
// partition key); session_buf and id_buf are NormalizeEvent's buffers for an integer
// session_id's text and a derived event_id.
NormalizeOutcome Accept(const internal::CanonicalFields& c, const IngestContext& ctx, std::string_view service,
                        bool platform_defaulted, const char* session_buf, const char* id_buf) {
  NormalizeOutcome ok;
  if (c.platform == "server") {
    ok.server_event = true;
    ok.partition_key = service.empty() ? ctx.source : service;
    ok.partition_key_field = service.empty() ? "" : "context.service";
  } else {
    ok.partition_key = c.user_id.empty() ? c.anonymous_id : c.user_id;
    ok.partition_key_field = c.user_id.empty() ? "anonymous_id" : "user_id";
  }
  ok.event_type = c.event_type;
  ok.platform = c.platform;
  ok.platform_defaulted = platform_defaulted;
  ok.schema_version = c.schema_version;
  ok.event_time_ms = c.event_time_ms;
  if (c.session_id.data() == session_buf) {
    std::memcpy(ok.session_id_digits, session_buf, c.session_id.size());
    ok.session_id_digits_len = static_cast<uint8_t>(c.session_id.size());
  }
  ok.event_id_derived = c.event_id.data() == id_buf;
  if (ok.event_id_derived) {
    std::memcpy(ok.derived_event_id, id_buf, sizeof ok.derived_event_id);
  } else {
    ok.client_event_id = c.event_id;
  }
  return ok;
}

}  // namespace

NormalizeOutcome NormalizeEvent(element raw, const IngestContext& ctx, const EventLimits& limits,
                                std::string* out) {
  thread_local JsonBuffer buffer;
  buffer.Clear();
  NormalizeOutcome outcome = NormalizeEvent(raw, ctx, limits, &buffer);
  if (outcome.ok()) out->append(buffer.view());
  return outcome;
}

NormalizeOutcome NormalizeEvent(element raw, const IngestContext& ctx, const EventLimits& limits,
                                JsonBuffer* out) {
  simdjson::dom::object obj;
  if (raw.get(obj) != simdjson::SUCCESS) {
    return Fail(Reason::kInvalidJson, "event: must be a JSON object");
  }
  // One pass over the members; later duplicates win, as in most JSON readers.
  element f_event_type, f_timestamp, f_user_id, f_anonymous_id, f_event_id, f_session_id,
      f_platform, f_schema_version, f_context, f_properties;
  const element *p_event_type = nullptr, *p_timestamp = nullptr, *p_user_id = nullptr,
                *p_anonymous_id = nullptr, *p_event_id = nullptr, *p_session_id = nullptr,
                *p_platform = nullptr, *p_schema_version = nullptr, *p_context = nullptr,
                *p_properties = nullptr;
  for (auto field : obj) {
    std::string_view k = field.key;
    switch (k.size()) {
      case 7:
        if (k == "user_id") f_user_id = field.value, p_user_id = &f_user_id;
        else if (k == "context") f_context = field.value, p_context = &f_context;
        break;
      case 8:
        if (k == "event_id") f_event_id = field.value, p_event_id = &f_event_id;
        else if (k == "platform") f_platform = field.value, p_platform = &f_platform;
        break;
      case 9:
        if (k == "timestamp") f_timestamp = field.value, p_timestamp = &f_timestamp;
        break;
      case 10:
        if (k == "event_type") f_event_type = field.value, p_event_type = &f_event_type;
        else if (k == "session_id") f_session_id = field.value, p_session_id = &f_session_id;
        else if (k == "properties") f_properties = field.value, p_properties = &f_properties;
        break;
      case 12:
        if (k == "anonymous_id") f_anonymous_id = field.value, p_anonymous_id = &f_anonymous_id;
        break;
      case 14:
        if (k == "schema_version") f_schema_version = field.value, p_schema_version = &f_schema_version;
        break;
      default:
        // Unknown members, and gateway-owned ones a client may not set (received_at,
        // source, event_time), are ignored.
        break;
    }
  }

  internal::CanonicalFields c;

  // event_type
  switch (ReadString(p_event_type, &c.event_type)) {
    case StringField::kAbsent: return Fail(Reason::kMissingField, "event_type: required");
    case StringField::kNotString: return Fail(Reason::kInvalidField, "event_type: must be a string");
    case StringField::kOk: break;
  }
  if (!IsValidEventType(c.event_type)) {
    return Fail(Reason::kInvalidField, "event_type: must match [a-z0-9_.-]{1,64}");
  }

  // user_id / anonymous_id
  for (auto [p, name, dst] : {std::tuple{p_user_id, "user_id", &c.user_id},
                              std::tuple{p_anonymous_id, "anonymous_id", &c.anonymous_id}}) {
    switch (ReadString(p, dst)) {
      case StringField::kNotString:
        return Fail(Reason::kInvalidField, std::string(name) + ": must be a string");
      case StringField::kOk:
        if (dst->size() > kMaxUserIdBytes) return Fail(Reason::kInvalidField, TooLong(name, kMaxUserIdBytes));
        break;
      case StringField::kAbsent: break;
    }
  }
  if (c.user_id.empty() && c.anonymous_id.empty()) {
    return Fail(Reason::kMissingField, "user_id or anonymous_id: required");
  }

  // timestamp
  if (p_timestamp == nullptr || p_timestamp->is_null()) {
    return Fail(Reason::kMissingField, "timestamp: required");
  }
  {
    std::string_view text;
    if (p_timestamp->get(c.timestamp_ms) == simdjson::SUCCESS) {
    } else if (p_timestamp->get(text) == simdjson::SUCCESS) {
      auto ms = ParseRfc3339Millis(text);
      if (!ms) return Fail(Reason::kInvalidField, "timestamp: not RFC 3339 (\"2026-04-10T06:00:00.123Z\")");
      c.timestamp_ms = *ms;
    } else {
      return Fail(Reason::kInvalidField, "timestamp: must be RFC 3339 text or integer epoch milliseconds");
    }
  }

  // session_id: a string, or an integer (some SDKs number sessions) kept as its decimal text.
  char session_buf[24];
  if (p_session_id != nullptr && !p_session_id->is_null()) {
    int64_t n;
    if (p_session_id->get(c.session_id) == simdjson::SUCCESS) {
      if (c.session_id.size() > kMaxSessionIdBytes) {
        return Fail(Reason::kInvalidField, TooLong("session_id", kMaxSessionIdBytes));
      }
    } else if (p_session_id->get(n) == simdjson::SUCCESS) {
      auto r = std::to_chars(session_buf, session_buf + sizeof session_buf, n);
      c.session_id = std::string_view(session_buf, static_cast<size_t>(r.ptr - session_buf));
    } else {
      return Fail(Reason::kInvalidField, "session_id: must be a string or an integer");
    }
  }

  // event_id: given, or derived deterministically.
  char id_buf[32];
  switch (ReadString(p_event_id, &c.event_id)) {
    case StringField::kNotString: return Fail(Reason::kInvalidField, "event_id: must be a string");
    case StringField::kOk:
      if (c.event_id.size() > kMaxEventIdBytes) return Fail(Reason::kInvalidField, TooLong("event_id", kMaxEventIdBytes));
      if (!c.event_id.empty()) break;
      [[fallthrough]];
    case StringField::kAbsent:
      internal::DeriveEventIdHex(c.user_id, c.anonymous_id, c.event_type, c.timestamp_ms,
                                 c.session_id, id_buf);
      c.event_id = std::string_view(id_buf, sizeof id_buf);
      break;
  }

  // platform
  bool platform_defaulted = false;
  switch (ReadString(p_platform, &c.platform)) {
    case StringField::kNotString: return Fail(Reason::kInvalidField, "platform: must be a string");
    case StringField::kAbsent:
      c.platform = ctx.default_platform;
      platform_defaulted = true;
      break;
    case StringField::kOk:
      if (!IsValidPlatform(c.platform)) {
        return Fail(Reason::kInvalidField, "platform: must be one of web, ios, android, server");
      }
      break;
  }
  if (!IsValidPlatform(c.platform)) c.platform = "web";  // a key without a usable platform

  // schema_version
  if (p_schema_version != nullptr && !p_schema_version->is_null()) {
    int64_t v;
    if (p_schema_version->get(v) != simdjson::SUCCESS || v < 0 || v > INT32_MAX) {
      return Fail(Reason::kInvalidField, "schema_version: must be a non-negative 32-bit integer");
    }
    c.schema_version = v;
  }

  // context and properties must be objects when given.
  simdjson::dom::object context, properties;
  bool has_context = p_context != nullptr && !p_context->is_null();
  bool has_properties = p_properties != nullptr && !p_properties->is_null();
  if (has_context && p_context->get(context) != simdjson::SUCCESS) {
    return Fail(Reason::kInvalidField, "context: must be an object");
  }
  if (has_properties && p_properties->get(properties) != simdjson::SUCCESS) {
    return Fail(Reason::kInvalidField, "properties: must be an object");
  }

  // Times: skew correction, then the accepted window around received_at.
  c.received_at_ms = ctx.received_at_ms;
  c.sent_at_ms = ctx.sent_at_ms;
  c.event_time_ms = c.timestamp_ms;
  if (ctx.sent_at_ms) c.event_time_ms = c.timestamp_ms + (ctx.received_at_ms - *ctx.sent_at_ms);
  if (c.event_time_ms > ctx.received_at_ms + limits.max_future_ms) {
    return Fail(Reason::kTimestampOutOfRange,
                "timestamp: " + FormatRfc3339Millis(c.event_time_ms) + " is more than " +
                    std::to_string(limits.max_future_ms) + " ms in the future");
  }
  if (c.event_time_ms < ctx.received_at_ms - limits.max_past_ms) {
    return Fail(Reason::kTimestampOutOfRange,
                "timestamp: " + FormatRfc3339Millis(c.event_time_ms) + " is more than " +
                    std::to_string(limits.max_past_ms) + " ms in the past");
  }
  c.source = ctx.source;

  if (out == nullptr) {
    // Checked only: the context's service is still the partition key of a server event
    // (the last one, as below).
    std::string_view service;
    if (has_context && c.platform == "server") {
      for (auto field : context) {
        if (field.key == "service" && field.value.get(service) != simdjson::SUCCESS) service = {};
      }
    }
    return Accept(c, ctx, service, platform_defaulted, session_buf, id_buf);
  }

  // Write.
  const size_t start = out->size();
  internal::AppendCanonicalHead(out, c, true);
  std::string_view service;
  out->Put('{');
  bool first = true, has_ip = false;
  if (has_context) {
    for (auto field : context) {
      if (!first) out->Put(',');
      first = false;
      std::string_view k = field.key;
      if (k == "ip") {
        has_ip = true;
      } else if (k == "service") {
        if (field.value.get(service) != simdjson::SUCCESS) service = {};
      }
      out->PutString(k, true);
      out->Put(':');
      out->PutElement(field.value);
    }
  }
  if (!has_ip && !ctx.client_ip.empty()) {
    if (!first) out->Put(',');
    out->PutRaw("\"ip\":");
    out->PutString(ctx.client_ip);
  }
  out->Put('}');
  internal::AppendPropertiesKey(out);
  if (has_properties) {
    out->PutElement(*p_properties);
  } else {
    out->PutRaw("{}");
  }
  internal::AppendClose(out);

  const size_t written = out->size() - start;
  if (written > limits.max_event_bytes) {
    out->Truncate(start);
    return Fail(Reason::kEventTooLarge, "event: " + std::to_string(written) +
                                            " bytes of compact JSON exceed the limit of " +
                                            std::to_string(limits.max_event_bytes));
  }

  return Accept(c, ctx, service, platform_defaulted, session_buf, id_buf);
}

}  // namespace tidemark::event
