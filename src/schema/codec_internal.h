// Entry points shared between the schema parser and the codec: the parser pre-encodes every
// field default with the same encoder the ingest path uses (without PII masking).
#pragma once

#include <string>

#include <simdjson.h>

#include "common/status.h"
#include "schema/avro.h"

namespace tidemark::schema::internal {

// Encodes `value` as `node` (no PII actions, unknown keys rejected); `what` prefixes errors.
Status EncodeDefaultValue(const AvroNode& node, simdjson::dom::element value,
                          std::string_view what, std::string* out);

// Decodes a datum written with `node` into plain JSON (no resolution).
Status DecodeNodeToJson(const AvroNode& node, std::string_view avro, std::string* out);

}  // namespace tidemark::schema::internal
