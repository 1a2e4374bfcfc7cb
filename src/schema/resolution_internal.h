// Schema resolution plans (Avro specification, "Schema Resolution"): for a writer/reader
// pair, what to read, how to convert it, what to skip and which defaults to add. Built once
// per pair; the resolving decoder follows a plan, and the compatibility checker reports the
// problems found while building one. Private to src/schema.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "schema/avro.h"

namespace tidemark::schema {

struct ResolvingDecoder::Plan {
  enum class Kind : uint8_t { kPrimitive, kEnum, kArray, kMap, kRecord, kWriterUnion, kForward, kError };
  // The common shapes of a record field, which the decoders read in one step instead of
  // following the plan node by node: a string (not a "json" string), an int (read as int or
  // long), a long, a double or an enum whose every symbol resolves, either alone or as the
  // non-null branch of a two-branch writer union with null. Anything else is kNone.
  enum class Fast : uint8_t { kNone, kNull, kString, kInt, kLong, kDouble, kEnum };
  struct Step {
    const Plan* plan = nullptr;       // null: the reader has no such field, skip it
    const AvroNode* writer = nullptr;  // what to skip
    std::string key;                   // "\"name\":"
    // Set by ClassifyFastSteps once every plan of the pair is complete.
    Fast fast = Fast::kNone;
    int8_t null_branch = -1;      // the writer union's null branch; -1: not a union
    const Plan* value = nullptr;  // the plan that reads the (non-null) value
  };

  Kind kind = Kind::kError;
  const AvroNode* writer = nullptr;
  const AvroNode* reader = nullptr;  // for a reader union: the chosen branch
  std::string path;                  // for error messages
  std::vector<std::string> enum_symbols;  // writer symbol index → reader JSON text, "" if unknown
  const Plan* item = nullptr;             // array items, map values; kForward: the plan to follow
  std::vector<Step> steps;                // record: writer fields in writer order
  std::vector<std::string> defaults;      // record: "\"name\":<json>" of reader-only fields
  // For DecodeFlat. step_fields: record: the reader field index of each step (-1: skipped).
  // flat_defaults: record: the reader-only fields with their defaults as flat values
  // (value.text is empty; a kString or kJson default's text is in `text`).
  struct FlatDefault {
    int field = -1;
    std::string text;
    FlatValue value;
  };
  std::vector<int> step_fields;
  std::vector<FlatDefault> flat_defaults;
  // record: every step is skipped or Plan::Fast (set with the steps' fast kinds).
  bool all_fast = false;
  std::vector<const Plan*> branches;      // writer union
  std::string error;                      // kError, or an enum's unknown-symbol failure
};

namespace internal {

// What the resolution of one pair found: `hard` problems make every datum unreadable;
// `soft` ones only data that uses a writer union branch the reader cannot take.
struct ResolutionIssues {
  std::vector<std::string> hard;
  std::vector<std::string> soft;
};

// Labels phrase the messages: reader_label "reader", writer_label "writer version 2" gives
// "reader field 'geo_lat' has no default and is missing from writer version 2".
const ResolvingDecoder::Plan* BuildResolutionPlan(
    const AvroNode& writer, const AvroNode& reader, std::string_view writer_label,
    std::string_view reader_label, std::vector<std::unique_ptr<ResolvingDecoder::Plan>>* plans,
    ResolutionIssues* issues);

}  // namespace internal
}  // namespace tidemark::schema
