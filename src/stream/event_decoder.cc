#include "stream/event_decoder.h"

#include <simdjson.h>

#include <cstring>

#include "common/time_format.h"
#include "event/event.h"

namespace tidemark::stream {
namespace {

namespace dom = simdjson::dom;

// Reads simdjson's DOM directly instead of event::EventFromJson, which re-serialises context
// and properties: at a million events a second per core only the fields the operators use
// are touched. (The DOM parser dispatches to the CPU's SIMD kernels at run time; the
// on-demand API would be fixed at compile time to the portable fallback kernel.)
class JsonEventDecoder final : public EventDecoder {
 public:
  explicit JsonEventDecoder(std::vector<std::string> numeric) : numeric_(std::move(numeric)) {
    if (numeric_.size() > StreamEvent::kMaxNumeric) numeric_.resize(StreamEvent::kMaxNumeric);
  }

  Status Decode(std::string_view value, int64_t record_timestamp_ms, StreamEvent* out) override {
    // The parser needs SIMDJSON_PADDING readable bytes past the end; copying into our own
    // padded buffer (≈460 bytes) is cheaper than letting it allocate.
    if (buffer_.size() < value.size() + simdjson::SIMDJSON_PADDING) {
      buffer_.resize(value.size() + simdjson::SIMDJSON_PADDING + 1024);
    }
    std::memcpy(buffer_.data(), value.data(), value.size());
    *out = StreamEvent();
    return Parse(std::string_view(buffer_.data(), value.size()), record_timestamp_ms, out);
  }

 private:
  static Status Bad(std::string_view field, std::string_view what) {
    return Status::InvalidArgument("event record: " + std::string(field) + ": " + std::string(what));
  }

  static bool Time(dom::element v, int64_t* out) {
    if (v.get(*out) == simdjson::SUCCESS) return true;
    std::string_view s;
    if (v.get(s) != simdjson::SUCCESS) return false;
    auto ms = ParseRfc3339Millis(s);
    if (!ms) return false;
    *out = *ms;
    return true;
  }

  static bool String(dom::element v, std::string_view* out) { return v.get(*out) == simdjson::SUCCESS; }

  Status Parse(std::string_view json, int64_t record_ts, StreamEvent* e) {
    dom::element root;
    if (parser_.parse(json.data(), json.size(), false).get(root) != simdjson::SUCCESS) {
      return Bad("value", "not JSON");
    }
    dom::object obj;
    if (root.get(obj) != simdjson::SUCCESS) return Bad("value", "not a JSON object");
    bool has_time = false, has_event_time = false, has_received = false;
    int64_t timestamp = 0;
    std::string_view user_id, anonymous_id;
    for (auto field : obj) {
      std::string_view k = field.key;
      dom::element v = field.value;
      if (v.is_null()) continue;
      bool ok = true;
      if (k == "event_id") {
        ok = String(v, &e->event_id);
      } else if (k == "event_type") {
        ok = String(v, &e->event_type);
      } else if (k == "timestamp") {
        ok = Time(v, &timestamp);
        has_time = true;
      } else if (k == "event_time") {
        ok = Time(v, &e->event_time_ms);
        has_event_time = true;
      } else if (k == "received_at") {
        ok = Time(v, &e->received_at_ms);
        has_received = true;
      } else if (k == "user_id") {
        ok = String(v, &user_id);
      } else if (k == "anonymous_id") {
        ok = String(v, &anonymous_id);
      } else if (k == "session_id") {
        ok = String(v, &e->session_id);
      } else if (k == "platform") {
        ok = String(v, &e->platform);
      } else if (k == "source") {
        ok = String(v, &e->source);
      } else if (k == "context") {
        ok = Context(v, e);
      } else if (k == "properties") {
        ok = Properties(v, e);
      }
      if (!ok) return Bad(k, "has the wrong type");
    }
    if (e->event_type.empty()) return Bad("event_type", "required");
    if (!has_time && !has_event_time) return Bad("timestamp", "required");
    e->user_key = user_id.empty() ? anonymous_id : user_id;
    if (e->user_key.empty()) return Bad("user_id or anonymous_id", "required");
    if (!has_event_time) e->event_time_ms = timestamp;
    if (!has_received) e->received_at_ms = record_ts;
    if (e->event_id.empty()) {
      derived_id_ = event::DeriveEventId(user_id, anonymous_id, e->event_type, timestamp, e->session_id);
      e->event_id = derived_id_;
    }
    return Status::Ok();
  }

  static bool Context(dom::element v, StreamEvent* e) {
    dom::object obj;
    if (v.get(obj) != simdjson::SUCCESS) return false;
    for (auto field : obj) {
      std::string_view k = field.key;
      std::string_view* target = nullptr;
      if (k == "user_agent") {
        target = &e->user_agent;
      } else if (k == "app_version") {
        target = &e->app_version;
      } else if (k == "device_type") {
        target = &e->device_type;
      }
      // Non-string values are ignored here: enrichment treats them as absent.
      if (target && field.value.get(*target) != simdjson::SUCCESS) *target = {};
    }
    return true;
  }

  bool Properties(dom::element v, StreamEvent* e) {
    dom::object obj;
    if (v.get(obj) != simdjson::SUCCESS) return false;
    for (auto field : obj) {
      std::string_view k = field.key;
      for (size_t i = 0; i < numeric_.size(); ++i) {
        if (k != numeric_[i]) continue;
        double d;
        // A non-numeric value under a numeric name is left out of the sums, not an error:
        // the schema stage decides what is valid.
        if (field.value.is_number() && field.value.get(d) == simdjson::SUCCESS) {
          e->numeric[i] = d;
          e->numeric_present |= 1u << i;
        }
        break;
      }
    }
    return true;
  }

  std::vector<std::string> numeric_;
  dom::parser parser_;
  std::string buffer_;
  std::string derived_id_;
};

}  // namespace

std::unique_ptr<EventDecoder> NewJsonEventDecoder(std::vector<std::string> numeric_properties) {
  return std::make_unique<JsonEventDecoder>(std::move(numeric_properties));
}

}  // namespace tidemark::stream
