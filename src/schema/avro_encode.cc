// The ingest hot path: a simdjson DOM value → Avro binary for one schema, checking types on
// the way and masking PII. No allocation on the success path beyond growth of `out`; the
// field path of an error is rebuilt from a stack-linked chain only when an error happens.
#include <cmath>
#include <cstring>
#include <type_traits>

#include <fmt/format.h>

#include "common/time_format.h"
#include "event/json_writer.h"
#include "schema/avro.h"
#include "schema/binary_internal.h"
#include "schema/codec_internal.h"
#include "schema/pii.h"

namespace tidemark::schema {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using internal::AppendAvroString;
using internal::AppendVarLong;

static_assert(std::is_trivially_copyable_v<element> && std::is_trivially_destructible_v<element>,
              "EncodeRecord keeps elements in uninitialized slots");

constexpr int kMaxDepth = 64;
constexpr size_t kInlineFields = 48;

// One step of a field path, linked to its parent on the caller's stack.
struct PathSeg {
  const PathSeg* parent;
  std::string_view name;  // field name or map key
  int64_t index;          // array index when >= 0
  bool is_map_key;
};

std::string PathString(const PathSeg* seg, std::string_view root_label) {
  std::vector<const PathSeg*> chain;
  for (; seg; seg = seg->parent) chain.push_back(seg);
  if (chain.empty()) return std::string(root_label);
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const PathSeg* s = *it;
    if (s->index >= 0) {
      out += fmt::format("[{}]", s->index);
    } else if (s->is_map_key) {
      out += fmt::format("[\"{}\"]", s->name);
    } else {
      if (!out.empty()) out += '.';
      out += s->name;
    }
  }
  return out;
}

std::string_view JsonKind(element_type t) {
  switch (t) {
    case element_type::ARRAY: return "array";
    case element_type::OBJECT: return "object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: return "number";
    case element_type::STRING: return "string";
    case element_type::BOOL: return "boolean";
    case element_type::NULL_VALUE: return "null";
  }
  return "?";
}

std::string Describe(const AvroNode& n) {
  switch (n.type) {
    case AvroType::kRecord: return fmt::format("record {}", n.name);
    case AvroType::kEnum: return fmt::format("enum {}", n.name);
    case AvroType::kFixed: return fmt::format("fixed {} ({} bytes)", n.name, n.fixed_size);
    case AvroType::kUnion: {
      std::string s = "one of [";
      for (size_t i = 0; i < n.branches.size(); ++i) {
        if (i) s += ", ";
        s += Describe(*n.branches[i]);
      }
      return s + "]";
    }
    case AvroType::kArray: return "array";
    case AvroType::kMap: return "map";
    default:
      if (n.logical != LogicalType::kNone) {
        return fmt::format("{} ({})", AvroTypeName(n.type), LogicalTypeName(n.logical));
      }
      return std::string(AvroTypeName(n.type));
  }
}

bool IsTimestamp(const AvroNode& n) {
  return n.type == AvroType::kLong &&
         (n.logical == LogicalType::kTimestampMillis || n.logical == LogicalType::kTimestampMicros ||
          n.logical == LogicalType::kLocalTimestampMillis ||
          n.logical == LogicalType::kLocalTimestampMicros);
}

// JSON number → int64 when it is integral and in range.
bool AsInteger(element v, int64_t* out) {
  switch (v.type()) {
    case element_type::INT64:
      *out = v.get_int64().value_unsafe();
      return true;
    case element_type::UINT64: {
      uint64_t u = v.get_uint64().value_unsafe();
      if (u > static_cast<uint64_t>(INT64_MAX)) return false;
      *out = static_cast<int64_t>(u);
      return true;
    }
    case element_type::DOUBLE: {
      double d = v.get_double().value_unsafe();
      if (std::trunc(d) != d || !(d >= -9.2e18 && d <= 9.2e18)) return false;
      *out = static_cast<int64_t>(d);
      return true;
    }
    default:
      return false;
  }
}

// UTF-8 text → bytes of its code points, each of which must be <= U+00FF (Avro's JSON
// encoding of bytes and fixed).
bool Latin1FromUtf8(std::string_view s, std::string* out) {
  out->clear();
  out->reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out->push_back(static_cast<char>(c));
    } else if ((c == 0xc2 || c == 0xc3) && i + 1 < s.size()) {
      unsigned char c2 = static_cast<unsigned char>(s[++i]);
      out->push_back(static_cast<char>(((c & 0x1f) << 6) | (c2 & 0x3f)));
    } else {
      return false;
    }
  }
  return true;
}

class Encoder {
 public:
  Encoder(const EncodeOptions& options, bool apply_pii, std::string_view root_label, std::string* out)
      : options_(options), apply_pii_(apply_pii), root_label_(root_label), out_(out) {}

  bool Encode(const AvroNode& n, element v, const PathSeg* path, int depth) {
    switch (n.type) {
      case AvroType::kNull:
        if (v.type() != element_type::NULL_VALUE) return Mismatch(n, v, path);
        return true;
      case AvroType::kBoolean:
        if (v.type() != element_type::BOOL) return Mismatch(n, v, path);
        out_->push_back(v.get_bool().value_unsafe() ? 1 : 0);
        return true;
      case AvroType::kInt: {
        int64_t i;
        if (!AsInteger(v, &i)) return Mismatch(n, v, path);
        if (i < INT32_MIN || i > INT32_MAX) {
          return Fail(path, fmt::format("expected int, got {} (out of the int range)", i));
        }
        AppendVarLong(i, out_);
        return true;
      }
      case AvroType::kLong: {
        int64_t i;
        if (AsInteger(v, &i)) {
          AppendVarLong(i, out_);
          return true;
        }
        if (v.type() == element_type::STRING && IsTimestamp(n)) return EncodeTimestampText(n, v, path);
        return Mismatch(n, v, path);
      }
      case AvroType::kFloat:
      case AvroType::kDouble: {
        double d;
        switch (v.type()) {
          case element_type::DOUBLE: d = v.get_double().value_unsafe(); break;
          case element_type::INT64: d = static_cast<double>(v.get_int64().value_unsafe()); break;
          case element_type::UINT64: d = static_cast<double>(v.get_uint64().value_unsafe()); break;
          default: return Mismatch(n, v, path);
        }
        if (n.type == AvroType::kFloat) {
          internal::AppendFloat(static_cast<float>(d), out_);
        } else {
          internal::AppendDouble(d, out_);
        }
        return true;
      }
      case AvroType::kString:
        if (n.logical == LogicalType::kJson && !defaults_) {
          thread_local event::JsonBuffer text;
          text.Clear();
          text.PutElement(v);
          AppendAvroString(text.view(), out_);
          return true;
        }
        if (v.type() != element_type::STRING) return Mismatch(n, v, path);
        AppendAvroString(v.get_string().value_unsafe(), out_);
        return true;
      case AvroType::kBytes:
      case AvroType::kFixed: {
        if (v.type() != element_type::STRING) return Mismatch(n, v, path);
        std::string bytes;
        if (!Latin1FromUtf8(v.get_string().value_unsafe(), &bytes)) {
          return Fail(path, fmt::format("expected {}: a string of code points U+0000..U+00FF", Describe(n)));
        }
        if (n.type == AvroType::kBytes) {
          AppendAvroString(bytes, out_);
        } else {
          if (static_cast<int64_t>(bytes.size()) != n.fixed_size) {
            return Fail(path, fmt::format("expected {}, got {} bytes", Describe(n), bytes.size()));
          }
          out_->append(bytes);
        }
        return true;
      }
      case AvroType::kEnum: {
        if (v.type() != element_type::STRING) return Mismatch(n, v, path);
        std::string_view symbol = v.get_string().value_unsafe();
        int index = n.SymbolIndex(symbol);
        if (index < 0) {
          return Fail(path, fmt::format("expected one of enum {}'s symbols ({}), got '{}'", n.name,
                                        fmt::join(n.symbols, ", "), symbol.substr(0, 64)));
        }
        AppendVarLong(index, out_);
        return true;
      }
      case AvroType::kArray: {
        if (v.type() != element_type::ARRAY) return Mismatch(n, v, path);
        if (depth >= kMaxDepth) return Fail(path, "nested too deeply");
        simdjson::dom::array arr = v.get_array().value_unsafe();
        size_t count = arr.size();
        if (count > 0) {
          AppendVarLong(static_cast<int64_t>(count), out_);
          int64_t index = 0;
          for (element item : arr) {
            PathSeg seg{path, {}, index++, false};
            if (!Encode(*n.items, item, &seg, depth + 1)) return false;
          }
        }
        out_->push_back(0);
        return true;
      }
      case AvroType::kMap: {
        if (v.type() != element_type::OBJECT) return Mismatch(n, v, path);
        if (depth >= kMaxDepth) return Fail(path, "nested too deeply");
        simdjson::dom::object obj = v.get_object().value_unsafe();
        size_t count = obj.size();
        if (count > 0) {
          AppendVarLong(static_cast<int64_t>(count), out_);
          for (simdjson::dom::key_value_pair kv : obj) {
            AppendAvroString(kv.key, out_);
            PathSeg seg{path, kv.key, -1, true};
            if (!Encode(*n.items, kv.value, &seg, depth + 1)) return false;
          }
        }
        out_->push_back(0);
        return true;
      }
      case AvroType::kRecord:
        if (v.type() != element_type::OBJECT) return Mismatch(n, v, path);
        if (depth >= kMaxDepth) return Fail(path, "nested too deeply");
        return EncodeRecord(n, v.get_object().value_unsafe(), path, depth);
      case AvroType::kUnion:
        return EncodeUnion(n, v, path, depth);
    }
    return Fail(path, "unknown Avro type");
  }

  Status TakeError() { return std::move(error_); }

 private:
  bool Fail(const PathSeg* path, std::string_view message) {
    error_ = Status::InvalidArgument(fmt::format("{}: {}", PathString(path, root_label_), message));
    return false;
  }
  bool Mismatch(const AvroNode& n, element v, const PathSeg* path) {
    return Fail(path, fmt::format("expected {}, got {}", Describe(n), JsonKind(v.type())));
  }

  bool EncodeTimestampText(const AvroNode& n, element v, const PathSeg* path) {
    std::string_view text = v.get_string().value_unsafe();
    std::optional<int64_t> ms = ParseRfc3339Millis(text);
    if (!ms) {
      return Fail(path, fmt::format("expected {} as epoch milliseconds or RFC 3339 text, got '{}'",
                                    Describe(n), text.substr(0, 64)));
    }
    bool micros = n.logical == LogicalType::kTimestampMicros ||
                  n.logical == LogicalType::kLocalTimestampMicros;
    AppendVarLong(micros ? *ms * 1000 : *ms, out_);
    return true;
  }

  bool EncodeRecord(const AvroNode& n, simdjson::dom::object obj, const PathSeg* path, int depth) {
    const size_t nf = n.fields.size();
    // Slots are written (placement new) only for fields the object has; element is
    // trivially copyable and destructible, so no constructor runs for the rest.
    union Slot {
      Slot() {}
      element value;
    };
    Slot inline_values[kInlineFields];
    bool inline_present[kInlineFields];
    std::unique_ptr<Slot[]> heap_values;
    std::unique_ptr<bool[]> heap_present;
    Slot* values = inline_values;
    bool* present = inline_present;
    if (nf > kInlineFields) {
      heap_values = std::make_unique<Slot[]>(nf);
      heap_present = std::make_unique<bool[]>(nf);
      values = heap_values.get();
      present = heap_present.get();
    }
    std::fill(present, present + nf, false);
    // One pass over the object; events usually list keys in schema order, so start each
    // search after the previous match.
    size_t hint = 0;
    for (simdjson::dom::key_value_pair kv : obj) {
      size_t found = nf;
      for (size_t k = 0; k < nf; ++k) {
        size_t i = hint + k;
        if (i >= nf) i -= nf;
        const std::string& name = n.fields[i].name;
        if (name.size() == kv.key.size() && name[0] == kv.key[0] &&
            std::memcmp(name.data(), kv.key.data(), name.size()) == 0) {
          found = i;
          break;
        }
      }
      if (found == nf) {
        if (reject_unknown_) {
          PathSeg seg{path, kv.key, -1, false};
          return Fail(&seg, fmt::format("field is not in {}", Describe(n)));
        }
        continue;
      }
      new (&values[found].value) element(kv.value);
      present[found] = true;
      hint = found + 1;
    }
    const bool overridable = !options_.overrides.empty() &&
                             (path == nullptr || (path->parent == nullptr && path->index < 0 && !path->is_map_key));
    for (size_t i = 0; i < nf; ++i) {
      const AvroField& f = n.fields[i];
      PathSeg seg{path, f.name, -1, false};
      if (overridable) {
        const bool absent = !present[i] || values[i].value.is_null();
        if (const FieldOverride* o = OverrideFor(path, f.name); o && (absent || o->replace)) {
          if (!EncodeStringField(f, o->value, &seg)) return false;
          continue;
        }
        if (absent && path == nullptr && HasOverridesUnder(f.name)) {
          if (!EncodeEmptyRecord(f, &seg, depth)) return false;
          continue;
        }
      }
      if (!EncodeField(f, present[i], present[i] ? values[i].value : element(), &seg, depth)) return false;
    }
    return true;
  }

  // The override for field `name` of the record at `path` (the event, or one of its fields).
  const FieldOverride* OverrideFor(const PathSeg* path, std::string_view name) const {
    std::string_view parent = path == nullptr ? std::string_view() : path->name;
    for (const FieldOverride& o : options_.overrides) {
      if (o.field == name && o.parent == parent) return &o;
    }
    return nullptr;
  }
  bool HasOverridesUnder(std::string_view parent) const {
    for (const FieldOverride& o : options_.overrides) {
      if (o.parent == parent) return true;
    }
    return false;
  }

  // An absent record field whose record must still carry an override: written as {}.
  bool EncodeEmptyRecord(const AvroField& f, const PathSeg* path, int depth) {
    const AvroNode* t = f.type;
    if (t->type == AvroType::kUnion) {
      int branch = t->BranchIndex(AvroType::kRecord);
      if (branch < 0) return EncodeField(f, false, element(), path, depth);
      AppendVarLong(branch, out_);
      t = t->branches[static_cast<size_t>(branch)];
    }
    if (t->type != AvroType::kRecord) return EncodeField(f, false, element(), path, depth);
    static const simdjson::dom::element kEmpty = [] {
      static simdjson::dom::parser parser;
      return parser.parse(std::string_view("{}")).value();
    }();
    return EncodeRecord(*t, kEmpty.get_object().value_unsafe(), path, depth + 1);
  }

  // A string value the gateway supplies, through the field's PII action and type.
  bool EncodeStringField(const AvroField& f, std::string_view value, const PathSeg* path) {
    if (apply_pii_ && f.pii == PiiAction::kDrop) return EncodeAbsent(f, /*explicit_null=*/true, path);
    std::string masked;
    if (apply_pii_ && f.pii != PiiAction::kNone) {
      if (!Mask(f.pii, value, path, &masked)) return false;
      value = masked;
    }
    const AvroNode* t = f.type;
    if (t->type == AvroType::kUnion) {
      int branch = t->BranchIndex(AvroType::kString);
      if (branch < 0) branch = t->BranchIndex(AvroType::kEnum);
      if (branch < 0) return Fail(path, fmt::format("expected {}, got string", Describe(*t)));
      AppendVarLong(branch, out_);
      t = t->branches[static_cast<size_t>(branch)];
    }
    if (t->type == AvroType::kString) {
      AppendAvroString(value, out_);
      return true;
    }
    if (t->type == AvroType::kEnum) {
      int index = t->SymbolIndex(value);
      if (index < 0) {
        return Fail(path, fmt::format("expected one of enum {}'s symbols ({}), got '{}'", t->name,
                                      fmt::join(t->symbols, ", "), value.substr(0, 64)));
      }
      AppendVarLong(index, out_);
      return true;
    }
    return Fail(path, fmt::format("expected {}, got string", Describe(*t)));
  }

  bool EncodeField(const AvroField& f, bool present, element v, const PathSeg* path, int depth) {
    if (apply_pii_ && f.pii != PiiAction::kNone) {
      if (f.pii == PiiAction::kDrop) return EncodeAbsent(f, /*explicit_null=*/true, path);
      if (present && v.type() != element_type::NULL_VALUE) return EncodeMasked(f, v, path);
    }
    if (!present) return EncodeAbsent(f, false, path);
    if (v.type() == element_type::NULL_VALUE) return EncodeAbsent(f, true, path);
    return Encode(*f.type, v, path, depth + 1);
  }

  bool EncodeAbsent(const AvroField& f, bool explicit_null, const PathSeg* path) {
    if (explicit_null && f.type->AcceptsNull()) return EncodeNullBranch(*f.type);
    if (f.has_default) {
      out_->append(f.default_avro);
      return true;
    }
    if (f.type->AcceptsNull()) return EncodeNullBranch(*f.type);
    if (explicit_null) return Fail(path, fmt::format("expected {}, got null", Describe(*f.type)));
    return Fail(path, fmt::format("required field is missing (expected {})", Describe(*f.type)));
  }

  bool EncodeNullBranch(const AvroNode& t) {
    if (t.type == AvroType::kUnion) AppendVarLong(t.BranchIndex(AvroType::kNull), out_);
    return true;
  }

  bool EncodeMasked(const AvroField& f, element v, const PathSeg* path) {
    if (v.type() != element_type::STRING) {
      return Fail(path, fmt::format("expected string, got {}", JsonKind(v.type())));
    }
    std::string masked;
    if (!Mask(f.pii, v.get_string().value_unsafe(), path, &masked)) return false;
    const AvroNode& t = *f.type;
    if (t.type == AvroType::kUnion) AppendVarLong(t.BranchIndex(AvroType::kString), out_);
    AppendAvroString(masked, out_);
    return true;
  }

  bool Mask(PiiAction action, std::string_view raw, const PathSeg* path, std::string* masked) {
    Result<std::string> r = MaskPiiValue(action, options_.pii_hash_secret, raw);
    if (r.ok()) {
      *masked = std::move(r).value();
      return true;
    }
    if (r.status().code() == StatusCode::kFailedPrecondition) {
      error_ = Status::FailedPrecondition(fmt::format("{}: {}", PathString(path, root_label_), r.status().message()));
      return false;
    }
    return Fail(path, r.status().message());
  }

  // Whether a union branch can take this JSON value; `natural` asks for the closest kind
  // (integers to int/long, fractions to float/double, text to string).
  static bool Accepts(const AvroNode& b, element v, bool natural) {
    element_type t = v.type();
    switch (b.type) {
      case AvroType::kNull: return t == element_type::NULL_VALUE;
      case AvroType::kBoolean: return t == element_type::BOOL;
      case AvroType::kInt:
      case AvroType::kLong: {
        int64_t i;
        if (t == element_type::STRING) return !natural && IsTimestamp(b);
        if (natural && t == element_type::DOUBLE) return false;
        if (!AsInteger(v, &i)) return false;
        return b.type == AvroType::kLong || (i >= INT32_MIN && i <= INT32_MAX);
      }
      case AvroType::kFloat:
      case AvroType::kDouble:
        if (natural) return t == element_type::DOUBLE;
        return t == element_type::DOUBLE || t == element_type::INT64 || t == element_type::UINT64;
      case AvroType::kString: return t == element_type::STRING || (b.logical == LogicalType::kJson && !natural);
      case AvroType::kEnum:
        return t == element_type::STRING && b.SymbolIndex(v.get_string().value_unsafe()) >= 0;
      case AvroType::kBytes:
      case AvroType::kFixed: return !natural && t == element_type::STRING;
      case AvroType::kArray: return t == element_type::ARRAY;
      case AvroType::kMap:
      case AvroType::kRecord: return t == element_type::OBJECT;
      case AvroType::kUnion: return false;
    }
    return false;
  }

  static bool TagMatches(const AvroNode& b, std::string_view tag) {
    if (b.IsNamed()) {
      if (b.name == tag) return true;
      size_t dot = b.name.rfind('.');
      return dot != std::string::npos && std::string_view(b.name).substr(dot + 1) == tag;
    }
    return AvroTypeName(b.type) == tag;
  }

  bool EncodeUnion(const AvroNode& n, element v, const PathSeg* path, int depth) {
    if (v.type() == element_type::OBJECT) {
      // Avro's JSON encoding of a union: {"<branch name>": value}.
      simdjson::dom::object obj = v.get_object().value_unsafe();
      if (obj.size() == 1) {
        simdjson::dom::key_value_pair kv = *obj.begin();
        for (size_t i = 0; i < n.branches.size(); ++i) {
          if (TagMatches(*n.branches[i], kv.key) &&
              !(n.branches[i]->type == AvroType::kRecord && n.branches[i]->FieldIndex(kv.key) >= 0)) {
            AppendVarLong(static_cast<int64_t>(i), out_);
            return Encode(*n.branches[i], kv.value, path, depth + 1);
          }
        }
      }
    }
    const size_t mark = out_->size();
    Status first_error;  // of the first branch tried, which is the likeliest intent
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t i = 0; i < n.branches.size(); ++i) {
        const AvroNode& b = *n.branches[i];
        if (!Accepts(b, v, pass == 0) || (pass == 1 && Accepts(b, v, true))) continue;
        AppendVarLong(static_cast<int64_t>(i), out_);
        if (Encode(b, v, path, depth + 1)) return true;
        out_->resize(mark);
        if (first_error.ok()) first_error = std::move(error_);
      }
    }
    if (!first_error.ok()) {
      error_ = std::move(first_error);
      return false;
    }
    return Mismatch(n, v, path);
  }

  const EncodeOptions& options_;
  Status error_;
  bool apply_pii_;
  bool reject_unknown_ = false;
  // Encoding a schema default: a "json" string's default is the Avro string itself.
  bool defaults_ = false;
  std::string_view root_label_;
  std::string* out_;

  friend Status internal::EncodeDefaultValue(const AvroNode&, element, std::string_view, std::string*);
  friend Status tidemark::schema::EncodeJson(const AvroSchema&, element, const EncodeOptions&, std::string*);
};

}  // namespace

Status EncodeJson(const AvroSchema& schema, simdjson::dom::element value,
                  const EncodeOptions& options, std::string* out) {
  const size_t mark = out->size();
  Encoder encoder(options, /*apply_pii=*/true, "event", out);
  encoder.reject_unknown_ = options.reject_unknown_fields;
  if (encoder.Encode(schema.root(), value, nullptr, 0)) return Status::Ok();
  out->resize(mark);
  return encoder.TakeError();
}

Result<std::string> EncodeJsonText(const AvroSchema& schema, std::string_view json,
                                   const EncodeOptions& options) {
  simdjson::dom::parser parser;
  simdjson::dom::element value;
  if (auto err = parser.parse(json.data(), json.size()).get(value); err != simdjson::SUCCESS) {
    return Status::InvalidArgument(fmt::format("event: invalid JSON: {}", simdjson::error_message(err)));
  }
  std::string out;
  RETURN_IF_ERROR(EncodeJson(schema, value, options, &out));
  return out;
}

namespace {

// The record a JSON object is read as: the node itself, or a union's record branch.
const AvroNode* RecordOf(const AvroNode* node) {
  if (node == nullptr) return nullptr;
  if (node->type == AvroType::kRecord) return node;
  if (node->type == AvroType::kUnion) {
    int branch = node->BranchIndex(AvroType::kRecord);
    if (branch >= 0) return node->branches[static_cast<size_t>(branch)];
  }
  return nullptr;
}

void AppendMasked(const AvroNode* node, element v, const EncodeOptions& options, int depth, std::string* out) {
  const AvroNode* record = v.type() == element_type::OBJECT && depth < kMaxDepth ? RecordOf(node) : nullptr;
  if (record == nullptr) {
    out->append(simdjson::minify(v));
    return;
  }
  out->push_back('{');
  bool first = true;
  simdjson::dom::object obj = v.get_object().value_unsafe();
  for (simdjson::dom::key_value_pair kv : obj) {
    int index = record->FieldIndex(kv.key);
    const AvroField* field = index >= 0 ? &record->fields[static_cast<size_t>(index)] : nullptr;
    if (field != nullptr && field->pii == PiiAction::kDrop) continue;
    if (!first) out->push_back(',');
    first = false;
    internal::AppendJsonString(kv.key, out);
    out->push_back(':');
    if (field != nullptr && field->pii != PiiAction::kNone) {
      std::string_view raw;
      Result<std::string> masked = kv.value.get(raw) == simdjson::SUCCESS
                                       ? MaskPiiValue(field->pii, options.pii_hash_secret, raw)
                                       : Status::InvalidArgument("not a string");
      if (masked.ok()) {
        internal::AppendJsonString(*masked, out);
      } else {
        out->append("null");
      }
      continue;
    }
    AppendMasked(field != nullptr ? field->type : nullptr, kv.value, options, depth + 1, out);
  }
  out->push_back('}');
}

}  // namespace

void AppendMaskedJson(const AvroSchema& schema, simdjson::dom::element value,
                      const EncodeOptions& options, std::string* out) {
  AppendMasked(&schema.root(), value, options, 0, out);
}

namespace internal {

Status EncodeDefaultValue(const AvroNode& node, simdjson::dom::element value, std::string_view what,
                          std::string* out) {
  static const EncodeOptions kNoOptions;
  Encoder encoder(kNoOptions, /*apply_pii=*/false, what.empty() ? "default" : what, out);
  encoder.reject_unknown_ = true;
  encoder.defaults_ = true;
  if (encoder.Encode(node, value, nullptr, 0)) return Status::Ok();
  return encoder.TakeError();
}

}  // namespace internal
}  // namespace tidemark::schema
