// Schema compatibility per the Avro specification's resolution rules, in the modes of
// Confluent Schema Registry. BACKWARD: the new schema reads data written with the latest
// version; FORWARD: the latest version reads data written with the new schema; FULL: both;
// *_TRANSITIVE: against every earlier version instead of only the latest.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/avro.h"

namespace tidemark::schema {

enum class CompatibilityMode {
  kNone, kBackward, kBackwardTransitive, kForward, kForwardTransitive, kFull, kFullTransitive,
};
inline constexpr CompatibilityMode kDefaultCompatibility = CompatibilityMode::kBackwardTransitive;

std::string_view CompatibilityModeName(CompatibilityMode mode);  // "BACKWARD_TRANSITIVE"
std::optional<CompatibilityMode> ParseCompatibilityMode(std::string_view name);

struct CompatibilityResult {
  bool compatible = true;
  // One line per problem, naming the field and the version:
  // "reader field 'geo_lat' has no default and is missing from writer version 2".
  std::vector<std::string> messages;
};

// Problems a reader meets reading a writer's data (empty: it can read all of it).
std::vector<std::string> ReaderProblems(const AvroSchema& reader, const AvroSchema& writer,
                                        std::string_view reader_label,
                                        std::string_view writer_label);

struct ExistingVersion {
  int version = 0;
  const AvroSchema* schema = nullptr;
};

// Checks `candidate` against a subject's versions (oldest first) under `mode`.
CompatibilityResult CheckCompatibility(const AvroSchema& candidate,
                                       const std::vector<ExistingVersion>& existing,
                                       CompatibilityMode mode);

}  // namespace tidemark::schema
