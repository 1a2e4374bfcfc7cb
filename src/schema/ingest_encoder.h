// The registry's side of the gateway's EventEncoder seam (gateway/event_encoder.h): each
// accepted event is validated against its type's schema — the version it names in
// `schema_version`, else the subject's latest — masked as the schema's "pii" annotations
// ask, and written as Confluent-framed Avro. Event types without a schema are rejected
// (strict) or accepted under the generic schema (permissive), per source.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/status.h"
#include "gateway/event_encoder.h"
#include "schema/registry.h"

namespace tidemark::schema {

// Subject of the generic schema: not `<event_type>-value` for any valid event type
// (event types are lower case), so it never collides with a registered type.
inline constexpr std::string_view kGenericSubject = "TidemarkGenericEvent-value";

// The generic schema: the envelope, with context and properties as "json" strings (any
// JSON object, kept as its compact text).
std::string_view GenericEventSchema();

struct IngestEncoderOptions {
  std::string pii_hash_secret;  // never empty
  bool strict_unknown_types = false;
  std::map<std::string, bool, std::less<>> strict_by_source;  // exceptions to the default

  // schema.* settings. An empty schema.pii_hash_secret means the secret kept in
  // <data_dir>/pii-secret (mode 0600), created with 32 random bytes on first use.
  static Result<IngestEncoderOptions> FromConfig(const Config& config, const std::string& data_dir);
};

// Registers the generic schema when the registry lacks it. `registry` must outlive the
// encoder. Thread-safe: each I/O thread keeps its own cache of event type → schema,
// refreshed when the registry changes.
Result<std::unique_ptr<gateway::EventEncoder>> NewIngestEncoder(Registry& registry,
                                                                IngestEncoderOptions options);

}  // namespace tidemark::schema
