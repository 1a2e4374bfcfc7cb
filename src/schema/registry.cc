// Registry state, its `_schemas` records and their replay. Record layout (JSON, as
// Confluent's registry keeps its own topic, so the topic stays readable by people):
//   key   {"keytype":"SCHEMA","subject":"page_view-value","version":2,"magic":1}
//   value {"subject":"page_view-value","version":2,"id":7,"schema":"<schema text>","deleted":false}
//   key   {"keytype":"CONFIG","subject":null|"<subject>","magic":0}
//   value {"compatibilityLevel":"FULL"}
#include "schema/registry.h"

#include <future>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tidemark::schema {

using nlohmann::json;

namespace {

constexpr std::string_view kTopic = log::kSchemas;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The branch of a nullable union, or the type itself.
const AvroNode& NonNull(const AvroNode& n) {
  if (n.type == AvroType::kUnion && n.branches.size() == 2) {
    if (n.branches[0]->type == AvroType::kNull) return *n.branches[1];
    if (n.branches[1]->type == AvroType::kNull) return *n.branches[0];
  }
  return n;
}

}  // namespace

Status ValidateEventSchema(const AvroSchema& schema) {
  const AvroNode& root = schema.root();
  if (root.type != AvroType::kRecord) {
    return Status::InvalidArgument(fmt::format(
        "invalid schema: an event schema must be a record, got {}", AvroTypeName(root.type)));
  }
  auto field = [&](std::string_view name) -> const AvroField* {
    int i = root.FieldIndex(name);
    return i < 0 ? nullptr : &root.fields[static_cast<size_t>(i)];
  };
  auto bad = [](const AvroField& f, std::string_view expected) {
    return Status::InvalidArgument(fmt::format(
        "invalid schema: field '{}': envelope field must be {}", f.name, expected));
  };
  for (std::string_view required : {"event_type", "timestamp"}) {
    if (!field(required)) {
      return Status::InvalidArgument(
          fmt::format("invalid schema: event schema lacks the required envelope field '{}'", required));
    }
  }
  if (!field("user_id") && !field("anonymous_id")) {
    return Status::InvalidArgument(
        "invalid schema: event schema lacks the required envelope field 'user_id' or 'anonymous_id'");
  }
  if (field("event_type")->type->type != AvroType::kString) return bad(*field("event_type"), "string");
  const AvroNode& ts = *field("timestamp")->type;
  if (ts.type != AvroType::kLong ||
      (ts.logical != LogicalType::kNone && ts.logical != LogicalType::kTimestampMillis)) {
    return bad(*field("timestamp"), "long (timestamp-millis)");
  }
  for (std::string_view name : {"user_id", "anonymous_id", "event_id", "session_id"}) {
    if (const AvroField* f = field(name); f && NonNull(*f->type).type != AvroType::kString) {
      return bad(*f, "string or nullable string");
    }
  }
  if (const AvroField* f = field("platform")) {
    AvroType t = NonNull(*f->type).type;
    if (t != AvroType::kString && t != AvroType::kEnum) return bad(*f, "string or enum");
  }
  if (const AvroField* f = field("schema_version")) {
    AvroType t = NonNull(*f->type).type;
    if (t != AvroType::kInt && t != AvroType::kLong) return bad(*f, "int");
  }
  for (std::string_view name : {"context", "properties"}) {
    if (const AvroField* f = field(name)) {
      const AvroNode& t = NonNull(*f->type);
      bool json_text = t.type == AvroType::kString && t.logical == LogicalType::kJson;
      if (t.type != AvroType::kRecord && !json_text) return bad(*f, "a record (or a \"json\" string)");
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<Registry>> Registry::Open(log::Log& log, RegistryOptions options) {
  RETURN_IF_ERROR(log.CreateTopic(kTopic, 1));
  std::unique_ptr<Registry> registry(new Registry(log, options));
  ASSIGN_OR_RETURN(registry->next_offset_, log.StartOffset(kTopic, 0));
  RETURN_IF_ERROR(registry->CatchUp());
  return registry;
}

Status Registry::CatchUp() {
  std::unique_lock lock(state_mu_);
  return CatchUpLocked();
}

Status Registry::CatchUpLocked() {
  while (true) {
    ASSIGN_OR_RETURN(int64_t end, log_.EndOffset(kTopic, 0));
    if (next_offset_ >= end) return Status::Ok();
    ASSIGN_OR_RETURN(std::vector<log::StoredRecord> records, log_.Read(kTopic, 0, next_offset_));
    if (records.empty()) return Status::Ok();
    for (const log::StoredRecord& r : records) {
      RETURN_IF_ERROR(Apply(r));
      next_offset_ = r.offset + 1;
      generation_.fetch_add(1, std::memory_order_release);
    }
  }
}

Status Registry::Apply(const log::StoredRecord& record) {
  auto corrupt = [&](std::string_view what) {
    return Status::Corruption(fmt::format("{} offset {}: {}", kTopic, record.offset, what));
  };
  json key = json::parse(record.key, nullptr, false);
  if (key.is_discarded() || !key.is_object() || !key.contains("keytype")) {
    return corrupt("record key is not a registry key");
  }
  std::string keytype = key.value("keytype", "");
  if (keytype == "NOOP") return Status::Ok();
  json value = json::parse(record.value, nullptr, false);
  if (keytype == "CONFIG") {
    std::optional<CompatibilityMode> mode;
    if (!record.value.empty()) {
      if (value.is_discarded() || !value.is_object()) return corrupt("config value is not JSON");
      mode = ParseCompatibilityMode(value.value("compatibilityLevel", ""));
      if (!mode) return corrupt("unknown compatibilityLevel");
    }
    if (key.contains("subject") && key["subject"].is_string()) {
      subjects_[key["subject"].get<std::string>()].compatibility = mode;
    } else {
      global_compatibility_ = mode;
    }
    return Status::Ok();
  }
  if (keytype != "SCHEMA") return Status::Ok();  // record kinds of later versions: skip
  if (value.is_discarded() || !value.is_object() || !value.contains("subject") ||
      !value.contains("version") || !value.contains("id") || !value.contains("schema") ||
      !value["subject"].is_string() || !value["version"].is_number_integer() ||
      !value["id"].is_number_integer() || !value["schema"].is_string()) {
    return corrupt("schema value lacks subject, version, id or schema");
  }
  const std::string subject = value["subject"].get<std::string>();
  const int version = value["version"].get<int>();
  const int id = value["id"].get<int>();
  if (value.value("deleted", false)) {
    auto& versions = subjects_[subject].versions;
    std::erase_if(versions, [&](auto& v) { return v.first == version; });
    return Status::Ok();
  }
  auto& stored = schemas_[id];
  if (!stored.schema) {
    auto parsed = AvroSchema::Parse(value["schema"].get<std::string>());
    if (!parsed.ok()) return corrupt(fmt::format("schema id {}: {}", id, parsed.status().message()));
    stored.schema = std::move(parsed).value();
    id_by_normalized_.emplace(stored.schema->normalized_form(), id);
  }
  next_id_ = std::max(next_id_, id + 1);
  auto& versions = subjects_[subject].versions;
  auto it = std::lower_bound(versions.begin(), versions.end(), std::make_pair(version, 0),
                             [](auto& a, auto& b) { return a.first < b.first; });
  if (it != versions.end() && it->first == version) {
    it->second = id;
  } else {
    versions.insert(it, {version, id});
  }
  return Status::Ok();
}

Status Registry::AppendAndApply(std::string key, std::string value) {
  std::promise<Result<int64_t>> appended;
  auto future = appended.get_future();
  std::vector<log::Record> records;
  records.push_back({std::move(key), std::move(value), 0});
  log_.Append(kTopic, 0, std::move(records),
              [&appended](Result<int64_t> r) { appended.set_value(std::move(r)); });
  Result<int64_t> r = future.get();
  if (!r.ok()) {
    return Status(r.status().code(), fmt::format("{}: append failed: {}", kTopic, r.status().message()));
  }
  return CatchUp();
}

Result<std::shared_ptr<const AvroSchema>> Registry::ParseForSubject(std::string_view subject,
                                                                    std::string_view schema_text) const {
  ASSIGN_OR_RETURN(auto schema, AvroSchema::Parse(schema_text));
  if (options_.require_event_envelope && EndsWith(subject, "-value")) {
    RETURN_IF_ERROR(ValidateEventSchema(*schema));
  }
  return schema;
}

std::vector<ExistingVersion> Registry::ExistingLocked(const Subject& s) const {
  std::vector<ExistingVersion> out;
  for (auto& [version, id] : s.versions) out.push_back({version, schemas_.at(id).schema.get()});
  return out;
}

Result<SchemaVersion> Registry::Register(std::string_view subject, std::string_view schema_text) {
  if (subject.empty()) return Status::InvalidArgument("subject: must not be empty");
  ASSIGN_OR_RETURN(auto schema, ParseForSubject(subject, schema_text));
  std::lock_guard write(write_mu_);
  RETURN_IF_ERROR(CatchUp());
  int id = 0;
  int version = 1;
  {
    std::shared_lock lock(state_mu_);
    auto existing_id = id_by_normalized_.find(schema->normalized_form());
    auto sub = subjects_.find(subject);
    if (sub != subjects_.end() && !sub->second.versions.empty()) {
      if (existing_id != id_by_normalized_.end()) {
        for (auto& [v, vid] : sub->second.versions) {
          if (vid == existing_id->second) return VersionLocked(std::string(subject), v);
        }
      }
      CompatibilityResult compat = CheckCompatibility(*schema, ExistingLocked(sub->second),
                                                      EffectiveLocked(std::string(subject)));
      if (!compat.compatible) {
        return Status::FailedPrecondition(fmt::format(
            "Schema being registered is incompatible with an earlier schema for subject '{}' ({}): {}",
            subject, CompatibilityModeName(EffectiveLocked(std::string(subject))),
            fmt::join(compat.messages, "; ")));
      }
      version = sub->second.versions.back().first + 1;
    }
    id = existing_id != id_by_normalized_.end() ? existing_id->second : next_id_;
  }
  json key = {{"keytype", "SCHEMA"}, {"subject", subject}, {"version", version}, {"magic", 1}};
  json value = {{"subject", subject}, {"version", version}, {"id", id},
                {"schema", schema_text}, {"deleted", false}};
  RETURN_IF_ERROR(AppendAndApply(key.dump(), value.dump(-1, ' ', false, json::error_handler_t::replace)));
  std::shared_lock lock(state_mu_);
  return VersionLocked(std::string(subject), version);
}

Result<SchemaVersion> Registry::Lookup(std::string_view subject, std::string_view schema_text) const {
  ASSIGN_OR_RETURN(auto schema, AvroSchema::Parse(schema_text));
  std::shared_lock lock(state_mu_);
  auto sub = subjects_.find(subject);
  if (sub == subjects_.end() || sub->second.versions.empty()) {
    return Status::NotFound(fmt::format("subject '{}' not found", subject));
  }
  auto id = id_by_normalized_.find(schema->normalized_form());
  if (id != id_by_normalized_.end()) {
    for (auto& [v, vid] : sub->second.versions) {
      if (vid == id->second) return VersionLocked(std::string(subject), v);
    }
  }
  return Status::NotFound(fmt::format("schema not found under subject '{}'", subject));
}

Result<SchemaVersion> Registry::VersionLocked(const std::string& subject, int version) const {
  auto sub = subjects_.find(subject);
  if (sub == subjects_.end() || sub->second.versions.empty()) {
    return Status::NotFound(fmt::format("subject '{}' not found", subject));
  }
  const auto& versions = sub->second.versions;
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    if (version == kLatestVersion || it->first == version) {
      return SchemaVersion{subject, it->first, it->second, schemas_.at(it->second).schema};
    }
  }
  return Status::NotFound(fmt::format("version {} of subject '{}' not found", version, subject));
}

Result<std::shared_ptr<const AvroSchema>> Registry::SchemaById(int id) const {
  std::shared_lock lock(state_mu_);
  auto it = schemas_.find(id);
  if (it == schemas_.end()) return Status::NotFound(fmt::format("schema id {} not found", id));
  return it->second.schema;
}

std::vector<std::pair<std::string, int>> Registry::SubjectVersionsOfId(int id) const {
  std::shared_lock lock(state_mu_);
  std::vector<std::pair<std::string, int>> out;
  for (auto& [name, s] : subjects_) {
    for (auto& [v, vid] : s.versions) {
      if (vid == id) out.emplace_back(name, v);
    }
  }
  return out;
}

std::vector<std::string> Registry::Subjects() const {
  std::shared_lock lock(state_mu_);
  std::vector<std::string> out;
  for (auto& [name, s] : subjects_) {
    if (!s.versions.empty()) out.push_back(name);
  }
  return out;
}

bool Registry::HasSubject(std::string_view subject) const {
  std::shared_lock lock(state_mu_);
  auto it = subjects_.find(subject);
  return it != subjects_.end() && !it->second.versions.empty();
}

Result<std::vector<int>> Registry::Versions(std::string_view subject) const {
  std::shared_lock lock(state_mu_);
  auto it = subjects_.find(subject);
  if (it == subjects_.end() || it->second.versions.empty()) {
    return Status::NotFound(fmt::format("subject '{}' not found", subject));
  }
  std::vector<int> out;
  for (auto& [v, id] : it->second.versions) out.push_back(v);
  return out;
}

Result<SchemaVersion> Registry::GetVersion(std::string_view subject, int version) const {
  std::shared_lock lock(state_mu_);
  return VersionLocked(std::string(subject), version);
}

Result<CompatibilityResult> Registry::TestCompatibility(std::string_view subject,
                                                        std::string_view schema_text, int version) const {
  ASSIGN_OR_RETURN(auto schema, ParseForSubject(subject, schema_text));
  std::shared_lock lock(state_mu_);
  ASSIGN_OR_RETURN(SchemaVersion target, VersionLocked(std::string(subject), version));
  CompatibilityMode mode = EffectiveLocked(std::string(subject));
  // Only the named version: drop the transitive part of the mode.
  if (mode == CompatibilityMode::kBackwardTransitive) mode = CompatibilityMode::kBackward;
  if (mode == CompatibilityMode::kForwardTransitive) mode = CompatibilityMode::kForward;
  if (mode == CompatibilityMode::kFullTransitive) mode = CompatibilityMode::kFull;
  return CheckCompatibility(*schema, {{target.version, target.schema.get()}}, mode);
}

Result<CompatibilityResult> Registry::TestCompatibilityWithAll(std::string_view subject,
                                                               std::string_view schema_text) const {
  ASSIGN_OR_RETURN(auto schema, ParseForSubject(subject, schema_text));
  std::shared_lock lock(state_mu_);
  auto sub = subjects_.find(subject);
  if (sub == subjects_.end()) return CompatibilityResult{};
  return CheckCompatibility(*schema, ExistingLocked(sub->second), EffectiveLocked(std::string(subject)));
}

CompatibilityMode Registry::GlobalCompatibility() const {
  std::shared_lock lock(state_mu_);
  return global_compatibility_.value_or(options_.default_compatibility);
}

std::optional<CompatibilityMode> Registry::SubjectCompatibility(std::string_view subject) const {
  std::shared_lock lock(state_mu_);
  auto it = subjects_.find(subject);
  if (it == subjects_.end()) return std::nullopt;
  return it->second.compatibility;
}

CompatibilityMode Registry::EffectiveLocked(const std::string& subject) const {
  auto it = subjects_.find(subject);
  if (it != subjects_.end() && it->second.compatibility) return *it->second.compatibility;
  return global_compatibility_.value_or(options_.default_compatibility);
}

CompatibilityMode Registry::EffectiveCompatibility(std::string_view subject) const {
  std::shared_lock lock(state_mu_);
  return EffectiveLocked(std::string(subject));
}

Status Registry::SetGlobalCompatibility(CompatibilityMode mode) {
  std::lock_guard write(write_mu_);
  json key = {{"keytype", "CONFIG"}, {"subject", nullptr}, {"magic", 0}};
  json value = {{"compatibilityLevel", CompatibilityModeName(mode)}};
  return AppendAndApply(key.dump(), value.dump());
}

Status Registry::SetSubjectCompatibility(std::string_view subject, CompatibilityMode mode) {
  if (subject.empty()) return Status::InvalidArgument("subject: must not be empty");
  std::lock_guard write(write_mu_);
  json key = {{"keytype", "CONFIG"}, {"subject", subject}, {"magic", 0}};
  json value = {{"compatibilityLevel", CompatibilityModeName(mode)}};
  return AppendAndApply(key.dump(), value.dump());
}

}  // namespace tidemark::schema
