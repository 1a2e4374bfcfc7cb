// Avro schemas for tidemark events: parsing (Avro 1.11 specification), Parsing Canonical
// Form and fingerprints, the ingest hot path (simdjson DOM event → Avro binary, with type
// checks and PII masking on the way), decoding back to JSON, and schema resolution
// (writer schema → reader schema). Written by hand from the specification.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "common/status.h"

namespace tidemark::schema {

enum class AvroType : uint8_t {
  kNull, kBoolean, kInt, kLong, kFloat, kDouble, kBytes, kString,
  kRecord, kEnum, kArray, kMap, kUnion, kFixed,
};
std::string_view AvroTypeName(AvroType type);

// Logical types the encoder and decoder know; unknown or misplaced ones are ignored (the
// node keeps kNone), as the specification asks.
enum class LogicalType : uint8_t {
  kNone, kDecimal, kUuid, kDate, kTimeMillis, kTimeMicros, kTimestampMillis,
  kTimestampMicros, kLocalTimestampMillis, kLocalTimestampMicros, kDuration,
  // tidemark's "json" on a string: the string holds the compact JSON text of any JSON
  // value. The encoder accepts any value for it; decoding to JSON emits the value itself.
  // Other Avro readers ignore the unknown logical type and see a string.
  kJson,
};
std::string_view LogicalTypeName(LogicalType type);

// The per-field "pii" annotation (tidemark extension, ignored by other Avro readers).
enum class PiiAction : uint8_t { kNone, kHash, kDrop, kTruncateIp, kRedact };
std::string_view PiiActionName(PiiAction action);

struct AvroNode;

struct AvroField {
  std::string name;
  std::vector<std::string> aliases;
  const AvroNode* type = nullptr;
  bool has_default = false;
  std::string default_json;  // the default as compact JSON text (Avro JSON encoding)
  std::string default_avro;  // the default pre-encoded as Avro binary
  PiiAction pii = PiiAction::kNone;
};

// One node of a parsed schema. Named types (record, enum, fixed) appear once and are
// referenced by pointer, so a recursive schema is a graph. Owned by its AvroSchema.
struct AvroNode {
  AvroType type = AvroType::kNull;
  LogicalType logical = LogicalType::kNone;
  std::string name;                  // full name of a named type
  std::vector<std::string> aliases;  // full names
  std::vector<AvroField> fields;     // record
  std::vector<std::string> symbols;  // enum
  bool has_enum_default = false;
  std::string enum_default;
  const AvroNode* items = nullptr;  // array items, map values
  std::vector<const AvroNode*> branches;  // union
  int64_t fixed_size = 0;
  int precision = 0;  // decimal
  int scale = 0;

  bool IsNamed() const {
    return type == AvroType::kRecord || type == AvroType::kEnum || type == AvroType::kFixed;
  }
  // Index of the field or symbol, or -1.
  int FieldIndex(std::string_view field_name) const;
  int SymbolIndex(std::string_view symbol) const;
  // Union branch index holding `t` (first match), or -1.
  int BranchIndex(AvroType t) const;
  // True for null and for unions with a null branch.
  bool AcceptsNull() const;
};

// An immutable parsed schema; share it as shared_ptr<const AvroSchema> across threads.
class AvroSchema {
 public:
  // Parses Avro schema JSON. Errors are InvalidArgument and name the offending field path:
  // "field 'context.ip': unknown pii action 'mask' (expected hash, drop, truncate_ip, redact)".
  static Result<std::shared_ptr<const AvroSchema>> Parse(std::string_view json_text);

  const AvroNode& root() const { return *root_; }
  const std::string& text() const { return text_; }
  // The specification's Parsing Canonical Form: what two schemas must share to read each
  // other's data as is (drops doc, aliases, defaults, logical types and "pii").
  const std::string& canonical_form() const { return canonical_; }
  // CRC-64-AVRO (Rabin) fingerprint of the Parsing Canonical Form.
  uint64_t fingerprint() const { return fingerprint_; }
  // Parsing Canonical Form plus every attribute that changes meaning for tidemark
  // (defaults, aliases, logical types, enum defaults, "pii"): the registry's identity key,
  // so schemas that differ only in whitespace, key order or docs share one id, and
  // schemas that differ in a default or a PII rule do not.
  const std::string& normalized_form() const { return normalized_; }
  bool has_pii() const { return has_pii_; }

  AvroSchema(const AvroSchema&) = delete;
  AvroSchema& operator=(const AvroSchema&) = delete;
  AvroSchema() = default;

 private:
  friend class SchemaParser;
  std::vector<std::unique_ptr<AvroNode>> nodes_;
  const AvroNode* root_ = nullptr;
  std::string text_;
  std::string canonical_;
  std::string normalized_;
  uint64_t fingerprint_ = 0;
  bool has_pii_ = false;
};

// CRC-64-AVRO as given in the specification.
uint64_t AvroFingerprint64(std::string_view data);

// A string the encoder writes for a field the event lacks (or holds as null): the gateway's
// additions — the derived event_id, the key's platform, the client IP as context.ip, the
// text of an integer session_id — so
// they pass through type checks and PII masking like the client's own fields. `parent` is
// empty for a field of the event record, else the name of the event record's field whose
// record holds it ("context"); an absent parent record is then written from {}.
struct FieldOverride {
  std::string_view parent;
  std::string_view field;
  std::string_view value;
  bool replace = false;  // also over a value the event has (an integer session_id's text)
};

struct EncodeOptions {
  // HMAC-SHA256 key for fields annotated "pii":"hash". Encoding a schema with such a field
  // fails (FailedPrecondition) when empty, so that hashing never silently uses no key.
  std::string_view pii_hash_secret;
  // When true, object keys that no schema field names are errors; otherwise ignored
  // (the gateway adds keys such as received_at that a schema may not carry).
  bool reject_unknown_fields = false;
  // Applied only where the event has no value of its own.
  std::span<const FieldOverride> overrides;
};

// Encodes a JSON value (an event: a plain JSON object as ingested) as one Avro datum and
// appends it to *out; on failure *out keeps its original size. Absent or null fields take
// null when their type allows it, else their default. Timestamps (long with a timestamp-*
// logical type) also accept RFC 3339 strings. Union branches are chosen from the JSON value
// (a {"branch": value} object is also accepted, as Avro's JSON encoding writes it). PII
// actions are applied. Errors are InvalidArgument naming the field path:
// "properties.revenue: expected double, got string".
// Thread-safe for concurrent calls on one schema. Not for simdjson's on-demand API.
Status EncodeJson(const AvroSchema& schema, simdjson::dom::element value,
                  const EncodeOptions& options, std::string* out);
// Convenience for tools and tests: parses `json` first.
Result<std::string> EncodeJsonText(const AvroSchema& schema, std::string_view json,
                                   const EncodeOptions& options = {});

// Appends `value` (an event as sent) as compact JSON with the PII annotations of `schema`
// applied to the fields it describes (records are followed by field name, through unions),
// so a rejected event can be kept in dlq-events without unmasked personal data. Values the
// schema does not describe are copied as they are; a masked field whose value cannot be
// masked (not a string, not an IP) becomes null. Thread-safe.
void AppendMaskedJson(const AvroSchema& schema, simdjson::dom::element value,
                      const EncodeOptions& options, std::string* out);

// Decodes one datum written with `schema` into plain JSON text (unions unwrapped, bytes and
// fixed as strings of code points 0–255, enums as symbols, NaN/Inf as null). Corruption
// errors give the byte offset and field path.
Result<std::string> DecodeToJson(const AvroSchema& schema, std::string_view avro);

// One value of a flat decode (ResolvingDecoder::DecodeFlat). Views point into the datum or
// into the decoder's scratch buffer and live until the visitor returns.
struct FlatValue {
  enum class Kind : uint8_t {
    kNull,
    kBoolean,
    kLong,    // int and long (timestamps included)
    kDouble,  // float and double
    kString,  // string (valid UTF-8) and enum symbols
    kJson,    // compact JSON text: records, arrays, maps, bytes and fixed (as JSON strings),
              // and the value a "json" string holds
  };
  Kind kind = Kind::kNull;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string_view text;
};

// Receives the values of a flat decode: the fields of the reader's root record, and the
// members of those record fields the visitor chooses to expand, one level deep.
class FlatVisitor {
 public:
  virtual ~FlatVisitor() = default;
  // Whether the record held by root field `field` is reported member by member rather
  // than as one kJson value. Asked once per field per datum.
  virtual bool Expand(int field) = 0;
  // `field` indexes the reader root record's fields; `member` is -1 for the field's own
  // value, else the index of a field of the (expanded) record it holds, and `name` is the
  // reader's name of whichever of the two this is. Fields come in the writer's order,
  // then the reader-only ones with their defaults (a record default as one kJson value,
  // even for an expanded field).
  virtual void Value(int field, int member, std::string_view name, const FlatValue& value) = 0;
  // Where the kJson text of root field `field` is written instead of the scratch buffer
  // (the string is cleared first; the text then outlives the Value call, until the visitor
  // reuses the string). Null: the scratch buffer. Asked before each complex value of a
  // root field that is not expanded.
  virtual std::string* JsonTarget(int /*field*/) { return nullptr; }
};

// Reads data written with one schema as another (Avro specification, "Schema Resolution"):
// promotions int→long→float→double and string↔bytes, reader fields absent from the writer
// take their defaults, writer fields absent from the reader are skipped, field and type
// aliases, enum symbols (unknown ones take the reader's enum default), unions on either
// side. Create() fails when the reader can never read the writer's data; a union branch the
// reader cannot read fails only when a datum uses it. Immutable after Create; thread-safe.
class ResolvingDecoder {
 public:
  static Result<std::unique_ptr<ResolvingDecoder>> Create(
      std::shared_ptr<const AvroSchema> writer, std::shared_ptr<const AvroSchema> reader);
  ~ResolvingDecoder();
  // Appends the reader-shaped JSON of one datum to *out.
  Status DecodeToJson(std::string_view avro, std::string* out) const;
  // The same datum as values handed to `visitor`, without building the JSON of the
  // scalars: the consumers' fast path. The reader's root must be a record. `scratch`
  // holds kJson texts (reused; its contents are undefined afterwards). Values already
  // visited stand when a later part of the datum turns out corrupt.
  Status DecodeFlat(std::string_view avro, FlatVisitor& visitor, std::string* scratch) const;
  const AvroSchema& writer() const { return *writer_; }
  const AvroSchema& reader() const { return *reader_; }

  struct Plan;  // internal

 private:
  ResolvingDecoder() = default;
  std::shared_ptr<const AvroSchema> writer_;
  std::shared_ptr<const AvroSchema> reader_;
  std::vector<std::unique_ptr<Plan>> plans_;
  const Plan* root_ = nullptr;
};

}  // namespace tidemark::schema
