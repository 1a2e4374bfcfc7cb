// The schema registry: subjects ("<event_type>-value"), their versions, global schema ids
// shared by identical schemas, and compatibility configuration (global and per subject).
// Its state is the `_schemas` topic of the log (one partition): every change is a record
// appended there and applied only once durable, and Open() rebuilds the state by replay,
// so a restarted registry, or one in another process on the same Kafka topic, agrees.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "log/log.h"
#include "schema/avro.h"
#include "schema/compatibility.h"

namespace tidemark::schema {

struct RegistryOptions {
  CompatibilityMode default_compatibility = kDefaultCompatibility;  // until PUT /config
  // Subjects ending in "-value" hold event schemas: refuse ones lacking the envelope.
  bool require_event_envelope = true;
};

struct SchemaVersion {
  std::string subject;
  int version = 0;
  int id = 0;
  std::shared_ptr<const AvroSchema> schema;
};

inline constexpr int kLatestVersion = -1;

// An event type's schema must be a record with the envelope of DESIGN §2: event_type
// (string), timestamp (long, timestamp-millis), user_id or anonymous_id (string or
// nullable string); event_id, session_id, platform, schema_version, context and properties
// are optional but typed when present (context and properties: records, or "json" strings
// as in the generic schema). InvalidArgument names the field.
Status ValidateEventSchema(const AvroSchema& schema);

// Thread-safe. Reads take a shared lock; changes are serialized and wait for the log append
// (admin operations, never on the ingest path). `log` must outlive the registry.
class Registry {
 public:
  static Result<std::unique_ptr<Registry>> Open(log::Log& log, RegistryOptions options = {});

  // Registers a schema under a subject; returns the existing version when the subject
  // already has an identical one. InvalidArgument: invalid schema or envelope;
  // FailedPrecondition: incompatible under the subject's mode (message lists every problem);
  // Unavailable/IOError: the log refused the record.
  Result<SchemaVersion> Register(std::string_view subject, std::string_view schema_text);
  // The version of `subject` holding this schema: NotFound when the subject has none.
  Result<SchemaVersion> Lookup(std::string_view subject, std::string_view schema_text) const;

  Result<std::shared_ptr<const AvroSchema>> SchemaById(int id) const;
  // (subject, version) pairs that use schema id `id`.
  std::vector<std::pair<std::string, int>> SubjectVersionsOfId(int id) const;
  std::vector<std::string> Subjects() const;
  bool HasSubject(std::string_view subject) const;
  Result<std::vector<int>> Versions(std::string_view subject) const;
  // kLatestVersion for the newest. NotFound for an unknown subject or version.
  Result<SchemaVersion> GetVersion(std::string_view subject, int version) const;

  // Whether `schema_text` may follow `version` under the subject's mode (only that
  // version is checked, as Confluent's endpoint does); kLatestVersion for the newest.
  Result<CompatibilityResult> TestCompatibility(std::string_view subject, std::string_view schema_text,
                                                int version) const;
  // Whether `schema_text` may be registered now (every version the mode asks for).
  Result<CompatibilityResult> TestCompatibilityWithAll(std::string_view subject,
                                                       std::string_view schema_text) const;

  CompatibilityMode GlobalCompatibility() const;
  std::optional<CompatibilityMode> SubjectCompatibility(std::string_view subject) const;
  CompatibilityMode EffectiveCompatibility(std::string_view subject) const;
  Status SetGlobalCompatibility(CompatibilityMode mode);
  Status SetSubjectCompatibility(std::string_view subject, CompatibilityMode mode);

  // Applies records appended since the last look (by other processes on the same topic).
  Status CatchUp();

  // Grows with every applied change (schema or config). Hot paths keep their own
  // per-thread cache of subject → SchemaVersion and refresh it when this moves, instead
  // of taking the registry's lock for every event.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  struct Subject {
    std::vector<std::pair<int, int>> versions;  // (version, id), ascending
    std::optional<CompatibilityMode> compatibility;
  };
  struct StoredSchema {
    std::shared_ptr<const AvroSchema> schema;
  };

  Registry(log::Log& log, RegistryOptions options) : log_(log), options_(options) {}
  Status CatchUpLocked();  // state_mu_ held exclusively
  Status Apply(const log::StoredRecord& record);
  Status AppendAndApply(std::string key, std::string value);
  Result<SchemaVersion> VersionLocked(const std::string& subject, int version) const;
  CompatibilityMode EffectiveLocked(const std::string& subject) const;
  std::vector<ExistingVersion> ExistingLocked(const Subject& s) const;
  Result<std::shared_ptr<const AvroSchema>> ParseForSubject(std::string_view subject,
                                                            std::string_view schema_text) const;

  log::Log& log_;
  const RegistryOptions options_;
  std::mutex write_mu_;  // serializes changes (id and version allocation)
  mutable std::shared_mutex state_mu_;
  int64_t next_offset_ = 0;
  int next_id_ = 1;
  std::map<int, StoredSchema> schemas_;
  std::map<std::string, int> id_by_normalized_;
  std::map<std::string, Subject, std::less<>> subjects_;
  std::optional<CompatibilityMode> global_compatibility_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace tidemark::schema
