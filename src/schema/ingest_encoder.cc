#include "schema/ingest_encoder.h"

#include <openssl/rand.h>
#include <sys/stat.h>

#include <atomic>
#include <unordered_map>

#include <fmt/format.h>

#include "common/files.h"
#include "common/time_format.h"
#include "schema/avro.h"
#include "schema/pii.h"
#include "schema/wire_format.h"

namespace tidemark::schema {
namespace {

constexpr std::string_view kGenericSchema = R"({"type":"record","name":"GenericEvent","namespace":"tidemark",
"doc":"Events of a type without a registered schema, accepted in permissive mode",
"fields":[
{"name":"event_id","type":["null","string"],"default":null},
{"name":"event_type","type":"string"},
{"name":"timestamp","type":{"type":"long","logicalType":"timestamp-millis"}},
{"name":"user_id","type":["null","string"],"default":null},
{"name":"anonymous_id","type":["null","string"],"default":null},
{"name":"session_id","type":["null","string"],"default":null},
{"name":"platform","type":["null","string"],"default":null},
{"name":"schema_version","type":["null","long"],"default":null},
{"name":"context","type":{"type":"string","logicalType":"json"},"default":"{}"},
{"name":"properties","type":{"type":"string","logicalType":"json"},"default":"{}"}]})";

// One (subject, version), with what the hot path asks of it precomputed.
struct TypeSchema {
  int id = 0;
  std::shared_ptr<const AvroSchema> schema;
  bool has_event_id = false;
  bool has_platform = false;
  PiiAction user_id_pii = PiiAction::kNone;
  PiiAction anonymous_id_pii = PiiAction::kNone;
  PiiAction service_pii = PiiAction::kNone;
};

PiiAction FieldPii(const AvroNode& record, std::string_view name) {
  int i = record.FieldIndex(name);
  return i < 0 ? PiiAction::kNone : record.fields[static_cast<size_t>(i)].pii;
}

std::shared_ptr<const TypeSchema> MakeTypeSchema(const SchemaVersion& v) {
  auto t = std::make_shared<TypeSchema>();
  t->id = v.id;
  t->schema = v.schema;
  const AvroNode& root = v.schema->root();
  t->has_event_id = root.FieldIndex("event_id") >= 0;
  t->has_platform = root.FieldIndex("platform") >= 0;
  t->user_id_pii = FieldPii(root, "user_id");
  t->anonymous_id_pii = FieldPii(root, "anonymous_id");
  if (int c = root.FieldIndex("context"); c >= 0) {
    const AvroNode* ctx = root.fields[static_cast<size_t>(c)].type;
    if (ctx->type == AvroType::kUnion && ctx->BranchIndex(AvroType::kRecord) >= 0) {
      ctx = ctx->branches[static_cast<size_t>(ctx->BranchIndex(AvroType::kRecord))];
    }
    if (ctx->type == AvroType::kRecord) t->service_pii = FieldPii(*ctx, "service");
  }
  return t;
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

std::atomic<uint64_t> next_encoder_serial{1};

class IngestEncoder final : public gateway::EventEncoder {
 public:
  IngestEncoder(Registry& registry, IngestEncoderOptions options, std::shared_ptr<const TypeSchema> generic)
      : registry_(registry), options_(std::move(options)), generic_(std::move(generic)) {}

  std::optional<event::EventError> Encode(const gateway::EncodeInput& in, log::Record* record) override {
    const event::NormalizeOutcome& c = *in.checked;
    event::EventError error;
    const TypeSchema* type = Find(c.event_type, c.schema_version, in.source, &error);
    if (type == nullptr) return error;

    FieldOverride overrides[4];
    size_t n = 0;
    if (c.session_id_digits_len > 0) overrides[n++] = {"", "session_id", c.session_id_text(), /*replace=*/true};
    if (c.event_id_derived) overrides[n++] = {"", "event_id", c.event_id()};
    if (c.platform_defaulted) overrides[n++] = {"", "platform", c.platform};
    if (!in.client_ip.empty()) overrides[n++] = {"context", "ip", in.client_ip};
    EncodeOptions options;
    options.pii_hash_secret = options_.pii_hash_secret;
    options.overrides = std::span<const FieldOverride>(overrides, n);

    // Encoded into a buffer that keeps its capacity, then copied into the record with one
    // exact-size allocation (growing the record's own string took several per event).
    thread_local std::string scratch;
    scratch.clear();
    AppendWireHeader(type->id, &scratch);
    if (Status st = EncodeJson(*type->schema, in.raw, options, &scratch); !st.ok()) {
      return event::EventError{event::Reason::kSchemaViolation, st.message()};
    }
    record->value.assign(scratch);

    record->headers.reserve(4);  // at most the four below: one allocation
    record->headers.emplace_back(gateway::kHeaderSource, in.source);
    if (in.sent_at_given) record->headers.emplace_back(gateway::kHeaderEventTime, std::to_string(c.event_time_ms));
    if (!type->has_event_id) record->headers.emplace_back(gateway::kHeaderEventId, c.event_id());
    if (!type->has_platform) record->headers.emplace_back(gateway::kHeaderPlatform, c.platform);

    // The key is the partitioning value: masked like the field it came from. A dropped
    // field still needs a stable key per user, so it is hashed.
    PiiAction key_pii = c.partition_key_field == "user_id"           ? type->user_id_pii
                        : c.partition_key_field == "anonymous_id"    ? type->anonymous_id_pii
                        : c.partition_key_field == "context.service" ? type->service_pii
                                                                     : PiiAction::kNone;
    if (key_pii != PiiAction::kNone) {
      if (key_pii == PiiAction::kDrop) key_pii = PiiAction::kHash;
      Result<std::string> masked = MaskPiiValue(key_pii, options_.pii_hash_secret, record->key);
      if (!masked.ok()) {
        return event::EventError{event::Reason::kSchemaViolation,
                                 fmt::format("{}: {}", c.partition_key_field, masked.status().message())};
      }
      record->key = std::move(masked).value();
    }
    return std::nullopt;
  }

  void AppendMaskedEvent(simdjson::dom::element raw, std::string* out) override {
    std::string_view event_type;
    const TypeSchema* type = nullptr;
    if (raw.is_object() && raw["event_type"].get(event_type) == simdjson::SUCCESS) {
      event::EventError ignored;
      type = Find(event_type, std::nullopt, {}, &ignored);
    }
    if (type == nullptr || type == generic_.get()) {
      out->append(simdjson::minify(raw));
      return;
    }
    EncodeOptions options;
    options.pii_hash_secret = options_.pii_hash_secret;
    AppendMaskedJson(*type->schema, raw, options, out);
  }

 private:
  struct CachedType {
    std::shared_ptr<const TypeSchema> latest;  // null: no schema registered
    std::map<int64_t, std::shared_ptr<const TypeSchema>> versions;
  };
  struct ThreadCache {
    uint64_t owner = 0;
    uint64_t generation = 0;
    std::unordered_map<std::string, CachedType, StringHash, std::equal_to<>> types;
  };

  bool StrictFor(std::string_view source) const {
    auto it = options_.strict_by_source.find(source);
    return it == options_.strict_by_source.end() ? options_.strict_unknown_types : it->second;
  }

  // The schema an event of this type and version is encoded with; null with *error set
  // when it is rejected. An empty source never rejects for an unknown type.
  const TypeSchema* Find(std::string_view event_type, std::optional<int64_t> version,
                         std::string_view source, event::EventError* error) {
    thread_local ThreadCache cache;
    const uint64_t generation = registry_.generation();
    if (cache.owner != serial_ || cache.generation != generation) {
      cache.types.clear();
      cache.owner = serial_;
      cache.generation = generation;
    }
    auto it = cache.types.find(event_type);
    if (it == cache.types.end()) {
      CachedType entry;
      auto latest = registry_.GetVersion(fmt::format("{}-value", event_type), kLatestVersion);
      if (latest.ok()) entry.latest = MakeTypeSchema(*latest);
      it = cache.types.emplace(std::string(event_type), std::move(entry)).first;
    }
    CachedType& entry = it->second;
    if (entry.latest == nullptr) {
      if (!source.empty() && StrictFor(source)) {
        *error = {event::Reason::kUnknownEventType,
                  fmt::format("event_type: '{}' has no registered schema (subject {}-value) and source '{}' "
                              "accepts only registered types",
                              event_type, event_type, source)};
        return nullptr;
      }
      return generic_.get();
    }
    if (!version) return entry.latest.get();
    auto v = entry.versions.find(*version);
    if (v == entry.versions.end()) {
      auto found = *version > 0 && *version <= INT32_MAX
                       ? registry_.GetVersion(fmt::format("{}-value", event_type), static_cast<int>(*version))
                       : Result<SchemaVersion>(Status::NotFound("no such version"));
      if (!found.ok()) {
        *error = {event::Reason::kSchemaViolation,
                  fmt::format("schema_version: subject {}-value has no version {}", event_type, *version)};
        return nullptr;
      }
      v = entry.versions.emplace(*version, MakeTypeSchema(*found)).first;
    }
    return v->second.get();
  }

  Registry& registry_;
  const IngestEncoderOptions options_;
  const std::shared_ptr<const TypeSchema> generic_;
  const uint64_t serial_ = next_encoder_serial.fetch_add(1);
};

Result<std::string> LoadOrCreateSecret(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    ASSIGN_OR_RETURN(std::string secret, ReadFileToString(path));
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == ' ')) secret.pop_back();
    if (secret.empty()) return Status::InvalidArgument(path + ": empty PII hash secret");
    return secret;
  }
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Status::Internal("RAND_bytes failed: no entropy");
  std::string secret;
  for (unsigned char b : bytes) secret += fmt::format("{:02x}", b);
  RETURN_IF_ERROR(WriteFileAtomic(path, secret + "\n", 0600));
  return secret;
}

}  // namespace

std::string_view GenericEventSchema() { return kGenericSchema; }

Result<IngestEncoderOptions> IngestEncoderOptions::FromConfig(const Config& config, const std::string& data_dir) {
  IngestEncoderOptions o;
  o.pii_hash_secret = config.GetString("schema.pii_hash_secret");
  if (o.pii_hash_secret.empty()) {
    ASSIGN_OR_RETURN(o.pii_hash_secret, LoadOrCreateSecret(data_dir + "/pii-secret"));
  }
  auto parse_mode = [](std::string_view mode, std::string_view what) -> Result<bool> {
    if (mode == "strict") return true;
    if (mode == "permissive") return false;
    return Status::InvalidArgument(fmt::format("{}: '{}' is neither strict nor permissive", what, mode));
  };
  ASSIGN_OR_RETURN(o.strict_unknown_types,
                   parse_mode(config.GetString("schema.unknown_event_types"), "schema.unknown_event_types"));
  std::string_view list = config.GetString("schema.unknown_event_types_by_source");
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.empty()) continue;
    size_t colon = item.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Status::InvalidArgument(fmt::format(
          "schema.unknown_event_types_by_source: '{}' is not SOURCE:strict or SOURCE:permissive", item));
    }
    ASSIGN_OR_RETURN(bool strict, parse_mode(item.substr(colon + 1), "schema.unknown_event_types_by_source"));
    o.strict_by_source[std::string(item.substr(0, colon))] = strict;
  }
  return o;
}

Result<std::unique_ptr<gateway::EventEncoder>> NewIngestEncoder(Registry& registry, IngestEncoderOptions options) {
  if (options.pii_hash_secret.empty()) {
    return Status::InvalidArgument("the ingest encoder needs a PII hash secret");
  }
  ASSIGN_OR_RETURN(SchemaVersion generic, registry.Register(kGenericSubject, kGenericSchema));
  return std::unique_ptr<gateway::EventEncoder>(
      new IngestEncoder(registry, std::move(options), MakeTypeSchema(generic)));
}

}  // namespace tidemark::schema
