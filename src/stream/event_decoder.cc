#include "stream/event_decoder.h"

#include <simdjson.h>

#include <charconv>
#include <cstring>
#include <map>

#include "common/time_format.h"
#include "event/event.h"
#include "event/event_writer_internal.h"
#include "gateway/event_encoder.h"
#include "schema/avro.h"
#include "schema/registry.h"
#include "schema/wire_format.h"

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

  Status Decode(const log::StoredRecord& record, StreamEvent* out) override {
    return Decode(record.value, record.timestamp_ms, out);
  }

  Status Decode(std::string_view value, int64_t record_timestamp_ms, StreamEvent* out) {
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

// Reads Avro binary in place; every failure leaves ok false.
class AvroCursor {
 public:
  explicit AvroCursor(std::string_view data)
      : p_(reinterpret_cast<const uint8_t*>(data.data())), end_(p_ + data.size()) {}
  bool ok() const { return ok_; }

  int64_t Long() {
    uint64_t n = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return Failed();
      uint8_t b = *p_++;
      n |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return static_cast<int64_t>(n >> 1) ^ -static_cast<int64_t>(n & 1);
    }
    return Failed();
  }
  std::string_view Bytes() {
    int64_t len = Long();
    if (!ok_ || len < 0 || len > end_ - p_) return Failed(), std::string_view();
    std::string_view s(reinterpret_cast<const char*>(p_), static_cast<size_t>(len));
    p_ += len;
    return s;
  }
  bool Skip(int64_t n) {
    if (n < 0 || n > end_ - p_) return Failed();
    p_ += n;
    return true;
  }
  double Float() {
    float f = 0;
    if (end_ - p_ < 4) return Failed();
    std::memcpy(&f, p_, 4);
    p_ += 4;
    return f;
  }
  double Double() {
    double d = 0;
    if (end_ - p_ < 8) return Failed();
    std::memcpy(&d, p_, 8);
    p_ += 8;
    return d;
  }

  // Skips one datum of `n`.
  bool SkipDatum(const schema::AvroNode& n, int depth = 0) {
    using schema::AvroType;
    if (depth > 64) return Failed();
    switch (n.type) {
      case AvroType::kNull: return true;
      case AvroType::kBoolean: return Skip(1);
      case AvroType::kInt:
      case AvroType::kLong:
      case AvroType::kEnum: Long(); return ok_;
      case AvroType::kFloat: return Skip(4);
      case AvroType::kDouble: return Skip(8);
      case AvroType::kBytes:
      case AvroType::kString: Bytes(); return ok_;
      case AvroType::kFixed: return Skip(n.fixed_size);
      case AvroType::kRecord:
        for (const schema::AvroField& f : n.fields) {
          if (!SkipDatum(*f.type, depth + 1)) return false;
        }
        return true;
      case AvroType::kUnion: {
        const schema::AvroNode* b = Branch(n);
        return b != nullptr && SkipDatum(*b, depth + 1);
      }
      case AvroType::kArray:
      case AvroType::kMap:
        for (;;) {
          int64_t count = Long();
          if (!ok_) return false;
          if (count == 0) return true;
          if (count < 0) {  // a block with its byte size: skip it whole
            Long();
            if (!ok_) return false;
            count = -count;
          }
          for (int64_t i = 0; i < count; ++i) {
            if (n.type == AvroType::kMap && (Bytes(), !ok_)) return false;
            if (!SkipDatum(*n.items, depth + 1)) return false;
          }
        }
    }
    return Failed();
  }

  // Reads a union's branch index: the branch's node, or null when out of range.
  const schema::AvroNode* Branch(const schema::AvroNode& u) {
    int64_t i = Long();
    if (!ok_ || i < 0 || static_cast<size_t>(i) >= u.branches.size()) return Failed(), nullptr;
    return u.branches[static_cast<size_t>(i)];
  }

 private:
  int64_t Failed() {
    ok_ = false;
    p_ = end_;
    return 0;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

// What the operators take from the fields of one writer schema, worked out once per id.
struct AvroPlan {
  enum Target : uint8_t {
    kSkip, kEventId, kEventType, kTimestamp, kUserId, kAnonymousId, kSessionId, kPlatform,
    kContext, kProperties, kUserAgent, kAppVersion, kDeviceType, kNumeric,
  };
  struct Field {
    const schema::AvroNode* type;
    Target target = kSkip;
    int numeric = -1;           // kNumeric: index into StreamEvent::numeric
    const AvroPlan* sub = nullptr;  // kContext/kProperties records
  };
  std::shared_ptr<const schema::AvroSchema> schema;  // keeps the nodes alive
  std::vector<Field> fields;
  std::vector<std::unique_ptr<AvroPlan>> subs;
  bool timestamp_micros = false;
};

class LogEventDecoder final : public EventDecoder {
 public:
  LogEventDecoder(schema::Registry* registry, std::vector<std::string> numeric)
      : registry_(registry), json_(numeric), numeric_(std::move(numeric)) {
    if (numeric_.size() > StreamEvent::kMaxNumeric) numeric_.resize(StreamEvent::kMaxNumeric);
  }

  Status Decode(const log::StoredRecord& record, StreamEvent* out) override {
    if (record.value.empty() || record.value[0] != schema::kWireMagicByte) return json_.Decode(record, out);
    if (registry_ == nullptr) return Status::InvalidArgument("event record: Avro value but no schema registry");
    ASSIGN_OR_RETURN(schema::WireValue wire, schema::ParseWireValue(record.value));
    ASSIGN_OR_RETURN(const AvroPlan* plan, PlanFor(wire.schema_id));
    *out = StreamEvent();
    return Read(*plan, wire.avro, record, out);
  }

 private:
  Result<const AvroPlan*> PlanFor(int32_t id) {
    auto it = plans_.find(id);
    if (it != plans_.end()) return it->second.get();
    auto found = registry_->SchemaById(id);
    if (!found.ok()) {
      // A schema registered after this process read _schemas: catch up once.
      RETURN_IF_ERROR(registry_->CatchUp());
      found = registry_->SchemaById(id);
    }
    if (!found.ok()) return Status::NotFound("event record: unknown schema id " + std::to_string(id));
    auto plan = std::make_unique<AvroPlan>();
    plan->schema = *found;
    Build(plan->schema->root(), /*level=*/0, plan.get());
    const AvroPlan* raw = plan.get();
    plans_.emplace(id, std::move(plan));
    return raw;
  }

  static const schema::AvroNode& NonNull(const schema::AvroNode& n) {
    if (n.type == schema::AvroType::kUnion && n.branches.size() == 2) {
      if (n.branches[0]->type == schema::AvroType::kNull) return *n.branches[1];
      if (n.branches[1]->type == schema::AvroType::kNull) return *n.branches[0];
    }
    return n;
  }

  // level 0: the event record; 1: context; 2: properties.
  void Build(const schema::AvroNode& record, int level, AvroPlan* plan) {
    for (const schema::AvroField& f : record.fields) {
      AvroPlan::Field field{f.type};
      const std::string& name = f.name;
      if (level == 0) {
        static const std::pair<std::string_view, AvroPlan::Target> kTop[] = {
            {"event_id", AvroPlan::kEventId}, {"event_type", AvroPlan::kEventType},
            {"timestamp", AvroPlan::kTimestamp}, {"user_id", AvroPlan::kUserId},
            {"anonymous_id", AvroPlan::kAnonymousId}, {"session_id", AvroPlan::kSessionId},
            {"platform", AvroPlan::kPlatform}, {"context", AvroPlan::kContext},
            {"properties", AvroPlan::kProperties}};
        for (auto [n, t] : kTop) {
          if (name == n) field.target = t;
        }
        if (field.target == AvroPlan::kTimestamp) {
          plan->timestamp_micros = NonNull(*f.type).logical == schema::LogicalType::kTimestampMicros;
        }
        const schema::AvroNode& sub = NonNull(*f.type);
        if ((field.target == AvroPlan::kContext || field.target == AvroPlan::kProperties) &&
            sub.type == schema::AvroType::kRecord) {
          auto child = std::make_unique<AvroPlan>();
          Build(sub, field.target == AvroPlan::kContext ? 1 : 2, child.get());
          field.sub = child.get();
          plan->subs.push_back(std::move(child));
        }
      } else if (level == 1) {
        if (name == "user_agent") field.target = AvroPlan::kUserAgent;
        if (name == "app_version") field.target = AvroPlan::kAppVersion;
        if (name == "device_type") field.target = AvroPlan::kDeviceType;
      } else {
        for (size_t i = 0; i < numeric_.size(); ++i) {
          if (name == numeric_[i]) {
            field.target = AvroPlan::kNumeric;
            field.numeric = static_cast<int>(i);
          }
        }
      }
      plan->fields.push_back(field);
    }
  }

  // The value of a string-like field (null → empty); false when it is not one.
  static bool ReadString(AvroCursor& in, const schema::AvroNode& type, std::string_view* out) {
    const schema::AvroNode* t = &type;
    if (t->type == schema::AvroType::kUnion) t = in.Branch(*t);
    if (t == nullptr) return false;
    switch (t->type) {
      case schema::AvroType::kNull: *out = {}; return true;
      case schema::AvroType::kString:
      case schema::AvroType::kBytes: *out = in.Bytes(); return in.ok();
      case schema::AvroType::kEnum: {
        int64_t i = in.Long();
        if (!in.ok() || i < 0 || static_cast<size_t>(i) >= t->symbols.size()) return false;
        *out = t->symbols[static_cast<size_t>(i)];
        return true;
      }
      default: return in.SkipDatum(*t) && (*out = {}, true);
    }
  }

  // A number (null or another type: absent).
  static bool ReadNumber(AvroCursor& in, const schema::AvroNode& type, double* out, bool* present) {
    const schema::AvroNode* t = &type;
    if (t->type == schema::AvroType::kUnion) t = in.Branch(*t);
    if (t == nullptr) return false;
    *present = true;
    switch (t->type) {
      case schema::AvroType::kInt:
      case schema::AvroType::kLong: *out = static_cast<double>(in.Long()); break;
      case schema::AvroType::kFloat: *out = in.Float(); break;
      case schema::AvroType::kDouble: *out = in.Double(); break;
      default: *present = false; return in.SkipDatum(*t);
    }
    return in.ok();
  }

  bool ReadRecord(const AvroPlan& plan, AvroCursor& in, StreamEvent* e, int64_t* timestamp,
                  std::string_view* user_id, std::string_view* anonymous_id, std::string_view* context_json,
                  std::string_view* properties_json) {
    for (const AvroPlan::Field& f : plan.fields) {
      bool ok = true;
      switch (f.target) {
        case AvroPlan::kSkip: ok = in.SkipDatum(*f.type); break;
        case AvroPlan::kEventId: ok = ReadString(in, *f.type, &e->event_id); break;
        case AvroPlan::kEventType: ok = ReadString(in, *f.type, &e->event_type); break;
        case AvroPlan::kUserId: ok = ReadString(in, *f.type, user_id); break;
        case AvroPlan::kAnonymousId: ok = ReadString(in, *f.type, anonymous_id); break;
        case AvroPlan::kSessionId: ok = ReadString(in, *f.type, &e->session_id); break;
        case AvroPlan::kPlatform: ok = ReadString(in, *f.type, &e->platform); break;
        case AvroPlan::kUserAgent: ok = ReadString(in, *f.type, &e->user_agent); break;
        case AvroPlan::kAppVersion: ok = ReadString(in, *f.type, &e->app_version); break;
        case AvroPlan::kDeviceType: ok = ReadString(in, *f.type, &e->device_type); break;
        case AvroPlan::kTimestamp: {
          const schema::AvroNode* t = f.type;
          if (t->type == schema::AvroType::kUnion) t = in.Branch(*t);
          ok = t != nullptr && t->type == schema::AvroType::kLong;
          if (ok) *timestamp = in.Long();
          if (plan.timestamp_micros) *timestamp /= 1000;
          break;
        }
        case AvroPlan::kNumeric: {
          double d = 0;
          bool present = false;
          ok = ReadNumber(in, *f.type, &d, &present);
          if (ok && present) {
            e->numeric[f.numeric] = d;
            e->numeric_present |= 1u << f.numeric;
          }
          break;
        }
        case AvroPlan::kContext:
        case AvroPlan::kProperties: {
          const schema::AvroNode* t = f.type;
          if (t->type == schema::AvroType::kUnion) t = in.Branch(*t);
          if (t == nullptr) return false;
          if (f.sub != nullptr && t->type == schema::AvroType::kRecord) {
            ok = ReadRecord(*f.sub, in, e, timestamp, user_id, anonymous_id, context_json, properties_json);
          } else if (t->type == schema::AvroType::kString && t->logical == schema::LogicalType::kJson) {
            *(f.target == AvroPlan::kContext ? context_json : properties_json) = in.Bytes();
            ok = in.ok();
          } else {
            ok = in.SkipDatum(*t);
          }
          break;
        }
      }
      if (!ok || !in.ok()) return false;
    }
    return true;
  }

  Status Read(const AvroPlan& plan, std::string_view avro, const log::StoredRecord& record, StreamEvent* e) {
    AvroCursor in(avro);
    int64_t timestamp = INT64_MIN;
    std::string_view user_id, anonymous_id, context_json, properties_json;
    if (!ReadRecord(plan, in, e, &timestamp, &user_id, &anonymous_id, &context_json, &properties_json)) {
      return Status::Corruption("event record at offset " + std::to_string(record.offset) +
                                ": Avro value is truncated or does not match its schema");
    }
    // The generic schema keeps context and properties as JSON text.
    if (!context_json.empty() || !properties_json.empty()) {
      RETURN_IF_ERROR(ReadJsonParts(context_json, properties_json, e));
    }
    if (e->event_type.empty()) return Status::InvalidArgument("event record: event_type: required");
    if (timestamp == INT64_MIN) return Status::InvalidArgument("event record: timestamp: required");
    e->user_key = user_id.empty() ? anonymous_id : user_id;
    if (e->user_key.empty()) return Status::InvalidArgument("event record: user_id or anonymous_id: required");
    e->received_at_ms = record.timestamp_ms;
    e->event_time_ms = timestamp;
    for (const auto& [name, value] : record.headers) {
      if (name == gateway::kHeaderSource) {
        e->source = value;
      } else if (name == gateway::kHeaderEventTime) {
        std::from_chars(value.data(), value.data() + value.size(), e->event_time_ms);
      } else if (name == gateway::kHeaderEventId && e->event_id.empty()) {
        e->event_id = value;
      } else if (name == gateway::kHeaderPlatform && e->platform.empty()) {
        e->platform = value;
      }
    }
    if (e->event_id.empty()) {
      event::internal::DeriveEventIdHex(user_id, anonymous_id, e->event_type, timestamp, e->session_id, derived_id_);
      e->event_id = std::string_view(derived_id_, sizeof derived_id_);
    }
    return Status::Ok();
  }

  // Context and properties held as JSON text: the user-agent fields and numeric properties.
  Status ReadJsonParts(std::string_view context_json, std::string_view properties_json, StreamEvent* e) {
    json_text_.clear();
    json_text_.append("{\"context\":").append(context_json.empty() ? "{}" : context_json);
    json_text_.append(",\"properties\":").append(properties_json.empty() ? "{}" : properties_json).append("}");
    json_text_.append(simdjson::SIMDJSON_PADDING, ' ');
    dom::element root;
    if (parser_.parse(json_text_.data(), json_text_.size() - simdjson::SIMDJSON_PADDING, false).get(root) !=
        simdjson::SUCCESS) {
      return Status::InvalidArgument("event record: context/properties: not JSON");
    }
    dom::object obj;
    if (root["context"].get(obj) == simdjson::SUCCESS) {
      for (auto field : obj) {
        std::string_view* target = field.key == "user_agent"    ? &e->user_agent
                                   : field.key == "app_version" ? &e->app_version
                                   : field.key == "device_type" ? &e->device_type
                                                                : nullptr;
        if (target && field.value.get(*target) != simdjson::SUCCESS) *target = {};
      }
    }
    if (root["properties"].get(obj) == simdjson::SUCCESS) {
      for (auto field : obj) {
        for (size_t i = 0; i < numeric_.size(); ++i) {
          double d;
          if (field.key == numeric_[i] && field.value.is_number() && field.value.get(d) == simdjson::SUCCESS) {
            e->numeric[i] = d;
            e->numeric_present |= 1u << i;
          }
        }
      }
    }
    return Status::Ok();
  }

  schema::Registry* registry_;
  JsonEventDecoder json_;
  std::vector<std::string> numeric_;
  std::map<int32_t, std::unique_ptr<AvroPlan>> plans_;
  dom::parser parser_;
  std::string json_text_;
  char derived_id_[32];
};

}  // namespace

std::unique_ptr<EventDecoder> NewLogEventDecoder(schema::Registry* registry,
                                                 std::vector<std::string> numeric_properties) {
  return std::make_unique<LogEventDecoder>(registry, std::move(numeric_properties));
}

std::unique_ptr<EventDecoder> NewJsonEventDecoder(std::vector<std::string> numeric_properties) {
  return std::make_unique<JsonEventDecoder>(std::move(numeric_properties));
}

}  // namespace tidemark::stream
