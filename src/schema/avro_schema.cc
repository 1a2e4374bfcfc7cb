// Avro schema JSON → AvroNode graph, with the checks of the specification (names,
// namespaces, unions, defaults) and tidemark's "pii" annotation; plus the canonical forms.
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "event/json_writer.h"
#include "schema/avro.h"
#include "schema/binary_internal.h"
#include "schema/codec_internal.h"

namespace tidemark::schema {

using nlohmann::json;

std::string_view AvroTypeName(AvroType type) {
  switch (type) {
    case AvroType::kNull: return "null";
    case AvroType::kBoolean: return "boolean";
    case AvroType::kInt: return "int";
    case AvroType::kLong: return "long";
    case AvroType::kFloat: return "float";
    case AvroType::kDouble: return "double";
    case AvroType::kBytes: return "bytes";
    case AvroType::kString: return "string";
    case AvroType::kRecord: return "record";
    case AvroType::kEnum: return "enum";
    case AvroType::kArray: return "array";
    case AvroType::kMap: return "map";
    case AvroType::kUnion: return "union";
    case AvroType::kFixed: return "fixed";
  }
  return "?";
}

std::string_view LogicalTypeName(LogicalType type) {
  switch (type) {
    case LogicalType::kNone: return "";
    case LogicalType::kDecimal: return "decimal";
    case LogicalType::kUuid: return "uuid";
    case LogicalType::kDate: return "date";
    case LogicalType::kTimeMillis: return "time-millis";
    case LogicalType::kTimeMicros: return "time-micros";
    case LogicalType::kTimestampMillis: return "timestamp-millis";
    case LogicalType::kTimestampMicros: return "timestamp-micros";
    case LogicalType::kLocalTimestampMillis: return "local-timestamp-millis";
    case LogicalType::kLocalTimestampMicros: return "local-timestamp-micros";
    case LogicalType::kDuration: return "duration";
    case LogicalType::kJson: return "json";
  }
  return "";
}

std::string_view PiiActionName(PiiAction action) {
  switch (action) {
    case PiiAction::kNone: return "";
    case PiiAction::kHash: return "hash";
    case PiiAction::kDrop: return "drop";
    case PiiAction::kTruncateIp: return "truncate_ip";
    case PiiAction::kRedact: return "redact";
  }
  return "";
}

int AvroNode::FieldIndex(std::string_view field_name) const {
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name == field_name) return static_cast<int>(i);
  return -1;
}
int AvroNode::SymbolIndex(std::string_view symbol) const {
  for (size_t i = 0; i < symbols.size(); ++i)
    if (symbols[i] == symbol) return static_cast<int>(i);
  return -1;
}
int AvroNode::BranchIndex(AvroType t) const {
  for (size_t i = 0; i < branches.size(); ++i)
    if (branches[i]->type == t) return static_cast<int>(i);
  return -1;
}
bool AvroNode::AcceptsNull() const {
  return type == AvroType::kNull || (type == AvroType::kUnion && BranchIndex(AvroType::kNull) >= 0);
}

uint64_t AvroFingerprint64(std::string_view data) {
  static constexpr uint64_t kEmpty = 0xc15d213aa4d7a795ULL;
  static const auto table = [] {
    std::array<uint64_t, 256> t{};
    for (int i = 0; i < 256; ++i) {
      uint64_t fp = static_cast<uint64_t>(i);
      for (int j = 0; j < 8; ++j) fp = (fp >> 1) ^ (kEmpty & (0 - (fp & 1)));
      t[static_cast<size_t>(i)] = fp;
    }
    return t;
  }();
  uint64_t fp = kEmpty;
  for (unsigned char b : data) fp = (fp >> 8) ^ table[(fp ^ b) & 0xff];
  return fp;
}

namespace {

std::optional<AvroType> PrimitiveType(std::string_view name) {
  static const std::pair<std::string_view, AvroType> kPrimitives[] = {
      {"null", AvroType::kNull},     {"boolean", AvroType::kBoolean}, {"int", AvroType::kInt},
      {"long", AvroType::kLong},     {"float", AvroType::kFloat},     {"double", AvroType::kDouble},
      {"bytes", AvroType::kBytes},   {"string", AvroType::kString}};
  for (auto& [n, t] : kPrimitives)
    if (n == name) return t;
  return std::nullopt;
}

bool ValidSimpleName(std::string_view name) {
  if (name.empty()) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(name[0])) return false;
  for (char c : name)
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

bool ValidFullName(std::string_view name) {
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    if (!ValidSimpleName(name.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string CompactJson(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

// Builds one AvroSchema; private state lives here so AvroSchema stays small.
class SchemaParser {
 public:
  explicit SchemaParser(AvroSchema* schema) : schema_(schema) {}

  Status Run(std::string_view text) {
    json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return Status::InvalidArgument("invalid schema: not valid JSON");
    const AvroNode* root = nullptr;
    RETURN_IF_ERROR(ParseType(doc, "", &root));
    schema_->root_ = root;
    for (auto& [node, index, field_json] : pending_defaults_) {
      RETURN_IF_ERROR(FinishField(node, index, *field_json));
    }
    return Status::Ok();
  }

 private:
  std::string Where() const {
    if (path_.empty()) return "schema";
    std::string p;
    for (auto& s : path_) {
      if (!p.empty()) p += '.';
      p += s;
    }
    return fmt::format("field '{}'", p);
  }
  Status Error(std::string what) const {
    return Status::InvalidArgument(fmt::format("invalid schema: {}: {}", Where(), what));
  }

  AvroNode* NewNode(AvroType type) {
    schema_->nodes_.push_back(std::make_unique<AvroNode>());
    schema_->nodes_.back()->type = type;
    return schema_->nodes_.back().get();
  }

  static std::string FullName(std::string_view name, std::string_view ns) {
    if (name.find('.') != std::string_view::npos || ns.empty()) return std::string(name);
    return fmt::format("{}.{}", ns, name);
  }

  Status ParseType(const json& j, const std::string& ns, const AvroNode** out) {
    if (j.is_string()) return ParseNameRef(j.get_ref<const std::string&>(), ns, out);
    if (j.is_array()) return ParseUnion(j, ns, out);
    if (!j.is_object()) return Error("a type must be a string, an object or an array");
    auto type_it = j.find("type");
    if (type_it == j.end()) return Error("type object lacks \"type\"");
    if (!type_it->is_string()) {
      return Error("\"type\" of a type object must be a name");
    }
    const std::string& type_name = type_it->get_ref<const std::string&>();
    if (auto prim = PrimitiveType(type_name)) {
      AvroNode* node = NewNode(*prim);
      ApplyLogicalType(j, node);
      *out = node;
      return Status::Ok();
    }
    if (type_name == "record" || type_name == "error") return ParseRecord(j, ns, out);
    if (type_name == "enum") return ParseEnum(j, ns, out);
    if (type_name == "fixed") return ParseFixed(j, ns, out);
    if (type_name == "array" || type_name == "map") {
      bool is_array = type_name == "array";
      auto it = j.find(is_array ? "items" : "values");
      if (it == j.end()) return Error(fmt::format("{} lacks \"{}\"", type_name, is_array ? "items" : "values"));
      AvroNode* node = NewNode(is_array ? AvroType::kArray : AvroType::kMap);
      RETURN_IF_ERROR(ParseType(*it, ns, &node->items));
      *out = node;
      return Status::Ok();
    }
    return ParseNameRef(type_name, ns, out);
  }

  Status ParseNameRef(const std::string& name, const std::string& ns, const AvroNode** out) {
    if (auto prim = PrimitiveType(name)) {
      *out = NewNode(*prim);
      return Status::Ok();
    }
    auto it = named_.find(FullName(name, ns));
    if (it == named_.end()) it = named_.find(name);
    if (it == named_.end()) return Error(fmt::format("unknown type '{}'", name));
    *out = it->second;
    return Status::Ok();
  }

  Status ParseUnion(const json& j, const std::string& ns, const AvroNode** out) {
    AvroNode* node = NewNode(AvroType::kUnion);
    if (j.empty()) return Error("a union needs at least one branch");
    for (const json& b : j) {
      const AvroNode* branch = nullptr;
      RETURN_IF_ERROR(ParseType(b, ns, &branch));
      if (branch->type == AvroType::kUnion) return Error("a union may not contain a union");
      for (const AvroNode* other : node->branches) {
        bool clash = other->type == branch->type &&
                     (!branch->IsNamed() || other->name == branch->name);
        if (clash) {
          return Error(fmt::format("union holds {} twice",
                                   branch->IsNamed() ? branch->name : std::string(AvroTypeName(branch->type))));
        }
      }
      node->branches.push_back(branch);
    }
    *out = node;
    return Status::Ok();
  }

  // Name, namespace and aliases of a named type; registers it before its body is parsed so
  // that a record may refer to itself.
  Status DefineNamed(const json& j, const std::string& ns, AvroNode* node, std::string* own_ns) {
    auto it = j.find("name");
    if (it == j.end() || !it->is_string()) {
      return Error(fmt::format("{} lacks a \"name\"", AvroTypeName(node->type)));
    }
    const std::string& name = it->get_ref<const std::string&>();
    std::string space = ns;
    if (auto ns_it = j.find("namespace"); ns_it != j.end() && ns_it->is_string()) {
      space = ns_it->get<std::string>();
    }
    std::string full = FullName(name, space);
    if (!ValidFullName(full)) return Error(fmt::format("invalid name '{}'", full));
    if (PrimitiveType(full)) return Error(fmt::format("'{}' may not be redefined", full));
    size_t dot = full.rfind('.');
    *own_ns = dot == std::string::npos ? "" : full.substr(0, dot);
    if (named_.count(full)) return Error(fmt::format("type '{}' is defined twice", full));
    node->name = full;
    named_[full] = node;
    if (auto al = j.find("aliases"); al != j.end()) {
      if (!al->is_array()) return Error("\"aliases\" must be an array of names");
      for (const json& a : *al) {
        if (!a.is_string() || !ValidFullName(a.get<std::string>())) {
          return Error("\"aliases\" must be an array of names");
        }
        node->aliases.push_back(FullName(a.get<std::string>(), *own_ns));
      }
    }
    return Status::Ok();
  }

  Status ParseRecord(const json& j, const std::string& ns, const AvroNode** out) {
    AvroNode* node = NewNode(AvroType::kRecord);
    std::string own_ns;
    RETURN_IF_ERROR(DefineNamed(j, ns, node, &own_ns));
    auto fields = j.find("fields");
    if (fields == j.end() || !fields->is_array()) {
      return Error(fmt::format("record {} lacks a \"fields\" array", node->name));
    }
    node->fields.reserve(fields->size());
    for (const json& f : *fields) {
      if (!f.is_object()) return Error(fmt::format("record {}: a field must be an object", node->name));
      auto name_it = f.find("name");
      if (name_it == f.end() || !name_it->is_string() ||
          !ValidSimpleName(name_it->get_ref<const std::string&>())) {
        return Error(fmt::format("record {}: a field lacks a valid \"name\"", node->name));
      }
      AvroField field;
      field.name = name_it->get<std::string>();
      path_.push_back(field.name);
      if (node->FieldIndex(field.name) >= 0) return Error("field name appears twice");
      auto type_it = f.find("type");
      if (type_it == f.end()) return Error("field lacks \"type\"");
      RETURN_IF_ERROR(ParseType(*type_it, own_ns, &field.type));
      if (auto al = f.find("aliases"); al != f.end()) {
        if (!al->is_array()) return Error("\"aliases\" must be an array of names");
        for (const json& a : *al) {
          if (!a.is_string() || !ValidSimpleName(a.get<std::string>())) {
            return Error("\"aliases\" must be an array of names");
          }
          field.aliases.push_back(a.get<std::string>());
        }
      }
      if (auto pii = f.find("pii"); pii != f.end()) {
        std::string action = pii->is_string() ? pii->get<std::string>() : CompactJson(*pii);
        if (action == "hash") field.pii = PiiAction::kHash;
        else if (action == "drop") field.pii = PiiAction::kDrop;
        else if (action == "truncate_ip") field.pii = PiiAction::kTruncateIp;
        else if (action == "redact") field.pii = PiiAction::kRedact;
        else return Error(fmt::format("unknown pii action '{}' (expected hash, drop, truncate_ip, redact)", action));
        schema_->has_pii_ = true;
      }
      node->fields.push_back(std::move(field));
      pending_defaults_.push_back({node, node->fields.size() - 1, &f});
      field_paths_[{node, node->fields.size() - 1}] = path_;
      path_.pop_back();
    }
    *out = node;
    return Status::Ok();
  }

  // Defaults are checked once every named type is complete (a default may hold a
  // recursive record).
  Status FinishField(AvroNode* node, size_t index, const json& f) {
    AvroField& field = node->fields[index];
    path_ = field_paths_[{node, index}];
    if (auto d = f.find("default"); d != f.end()) {
      field.has_default = true;
      field.default_json = CompactJson(*d);
      simdjson::dom::parser parser;
      simdjson::dom::element value;
      if (parser.parse(field.default_json).get(value) != simdjson::SUCCESS) {
        return Error("default is not valid JSON");
      }
      // A union's default is a value of its first branch (specification, "Unions"); Java
      // and JavaScript readers refuse anything else, so tidemark does too.
      const AvroNode* default_type = field.type;
      if (default_type->type == AvroType::kUnion) {
        default_type = default_type->branches[0];
        field.default_avro.push_back(0);  // branch index 0
      }
      Status s = internal::EncodeDefaultValue(*default_type, value, "", &field.default_avro);
      if (!s.ok() && field.type->type == AvroType::kUnion) {
        return Error(fmt::format("default {} does not match the union's first branch: {}",
                                 field.default_json, s.message()));
      }
      if (!s.ok()) return Error(fmt::format("default {} does not match the type: {}", field.default_json, s.message()));
      // Keep the default in its complete, reader-shaped JSON (a record default that leaves
      // out fields with defaults of their own gets them filled in).
      field.default_json.clear();
      s = internal::DecodeNodeToJson(*field.type, field.default_avro, &field.default_json);
      if (!s.ok()) return Error(fmt::format("default does not round-trip: {}", s.message()));
    }
    const AvroNode* t = field.type;
    switch (field.pii) {
      case PiiAction::kNone:
        break;
      case PiiAction::kDrop:
        if (!t->AcceptsNull() && !field.has_default) {
          return Error("pii 'drop' needs a nullable type or a default");
        }
        break;
      case PiiAction::kHash:
      case PiiAction::kRedact:
      case PiiAction::kTruncateIp: {
        bool stringy = t->type == AvroType::kString ||
                       (t->type == AvroType::kUnion && t->BranchIndex(AvroType::kString) >= 0);
        if (!stringy) {
          return Error(fmt::format("pii '{}' needs a string field, got {}", PiiActionName(field.pii),
                                   AvroTypeName(t->type)));
        }
        break;
      }
    }
    path_.clear();
    return Status::Ok();
  }

  Status ParseEnum(const json& j, const std::string& ns, const AvroNode** out) {
    AvroNode* node = NewNode(AvroType::kEnum);
    std::string own_ns;
    RETURN_IF_ERROR(DefineNamed(j, ns, node, &own_ns));
    auto symbols = j.find("symbols");
    if (symbols == j.end() || !symbols->is_array()) {
      return Error(fmt::format("enum {} lacks a \"symbols\" array", node->name));
    }
    for (const json& s : *symbols) {
      if (!s.is_string() || !ValidSimpleName(s.get<std::string>())) {
        return Error(fmt::format("enum {}: invalid symbol {}", node->name, CompactJson(s)));
      }
      if (node->SymbolIndex(s.get<std::string>()) >= 0) {
        return Error(fmt::format("enum {}: symbol '{}' appears twice", node->name, s.get<std::string>()));
      }
      node->symbols.push_back(s.get<std::string>());
    }
    if (auto d = j.find("default"); d != j.end()) {
      if (!d->is_string() || node->SymbolIndex(d->get<std::string>()) < 0) {
        return Error(fmt::format("enum {}: default {} is not one of its symbols", node->name, CompactJson(*d)));
      }
      node->has_enum_default = true;
      node->enum_default = d->get<std::string>();
    }
    *out = node;
    return Status::Ok();
  }

  Status ParseFixed(const json& j, const std::string& ns, const AvroNode** out) {
    AvroNode* node = NewNode(AvroType::kFixed);
    std::string own_ns;
    RETURN_IF_ERROR(DefineNamed(j, ns, node, &own_ns));
    auto size = j.find("size");
    if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
      return Error(fmt::format("fixed {} needs a non-negative integer \"size\"", node->name));
    }
    node->fixed_size = size->get<int64_t>();
    ApplyLogicalType(j, node);
    *out = node;
    return Status::Ok();
  }

  // Misplaced or unknown logical types are ignored, as the specification asks.
  static void ApplyLogicalType(const json& j, AvroNode* node) {
    auto it = j.find("logicalType");
    if (it == j.end() || !it->is_string()) return;
    const std::string& lt = it->get_ref<const std::string&>();
    AvroType t = node->type;
    if (lt == "decimal" && (t == AvroType::kBytes || t == AvroType::kFixed)) {
      auto p = j.find("precision");
      auto s = j.find("scale");
      int precision = p != j.end() && p->is_number_integer() ? p->get<int>() : 0;
      int scale = s != j.end() && s->is_number_integer() ? s->get<int>() : 0;
      if (precision <= 0 || scale < 0 || scale > precision) return;
      if (t == AvroType::kFixed && node->fixed_size < 1024 &&
          precision > std::floor(std::log10(2) * (8.0 * static_cast<double>(node->fixed_size) - 1))) {
        return;
      }
      node->logical = LogicalType::kDecimal;
      node->precision = precision;
      node->scale = scale;
      return;
    }
    static const std::tuple<std::string_view, AvroType, LogicalType> kSimple[] = {
        {"uuid", AvroType::kString, LogicalType::kUuid},
        {"date", AvroType::kInt, LogicalType::kDate},
        {"time-millis", AvroType::kInt, LogicalType::kTimeMillis},
        {"time-micros", AvroType::kLong, LogicalType::kTimeMicros},
        {"timestamp-millis", AvroType::kLong, LogicalType::kTimestampMillis},
        {"timestamp-micros", AvroType::kLong, LogicalType::kTimestampMicros},
        {"local-timestamp-millis", AvroType::kLong, LogicalType::kLocalTimestampMillis},
        {"local-timestamp-micros", AvroType::kLong, LogicalType::kLocalTimestampMicros},
        {"duration", AvroType::kFixed, LogicalType::kDuration},
        {"json", AvroType::kString, LogicalType::kJson},
    };
    for (auto& [name, base, logical] : kSimple) {
      if (lt == name && t == base && (logical != LogicalType::kDuration || node->fixed_size == 12)) {
        node->logical = logical;
      }
    }
  }

  struct PendingDefault {
    AvroNode* node;
    size_t index;
    const json* field_json;
  };

  AvroSchema* schema_;
  std::map<std::string, AvroNode*> named_;
  std::vector<std::string> path_;
  std::vector<PendingDefault> pending_defaults_;
  std::map<std::pair<const AvroNode*, size_t>, std::vector<std::string>> field_paths_;
};

namespace {

// Writes Parsing Canonical Form, or with `extended` the identity form that also keeps the
// attributes tidemark gives meaning to.
class CanonicalWriter {
 public:
  explicit CanonicalWriter(bool extended) : extended_(extended) {}

  void Write(const AvroNode& n, std::string* out) {
    using internal::AppendJsonString;
    if (n.IsNamed()) {
      if (!emitted_.insert(n.name).second) {
        AppendJsonString(n.name, out);
        return;
      }
    }
    switch (n.type) {
      case AvroType::kRecord:
        *out += "{\"name\":";
        AppendJsonString(n.name, out);
        *out += ",\"type\":\"record\",\"fields\":[";
        for (size_t i = 0; i < n.fields.size(); ++i) {
          const AvroField& f = n.fields[i];
          if (i) *out += ',';
          *out += "{\"name\":";
          AppendJsonString(f.name, out);
          *out += ",\"type\":";
          Write(*f.type, out);
          if (extended_) {
            if (f.has_default) *out += ",\"default\":" + f.default_json;
            WriteNames("aliases", f.aliases, out);
            if (f.pii != PiiAction::kNone) *out += fmt::format(",\"pii\":\"{}\"", PiiActionName(f.pii));
          }
          *out += '}';
        }
        *out += ']';
        if (extended_) WriteNames("aliases", n.aliases, out);
        *out += '}';
        return;
      case AvroType::kEnum:
        *out += "{\"name\":";
        AppendJsonString(n.name, out);
        *out += ",\"type\":\"enum\",\"symbols\":[";
        for (size_t i = 0; i < n.symbols.size(); ++i) {
          if (i) *out += ',';
          AppendJsonString(n.symbols[i], out);
        }
        *out += ']';
        if (extended_) {
          if (n.has_enum_default) *out += fmt::format(",\"default\":\"{}\"", n.enum_default);
          WriteNames("aliases", n.aliases, out);
        }
        *out += '}';
        return;
      case AvroType::kFixed:
        *out += "{\"name\":";
        AppendJsonString(n.name, out);
        *out += fmt::format(",\"type\":\"fixed\",\"size\":{}", n.fixed_size);
        if (extended_) {
          WriteLogical(n, out);
          WriteNames("aliases", n.aliases, out);
        }
        *out += '}';
        return;
      case AvroType::kArray:
      case AvroType::kMap:
        *out += n.type == AvroType::kArray ? "{\"type\":\"array\",\"items\":" : "{\"type\":\"map\",\"values\":";
        Write(*n.items, out);
        *out += '}';
        return;
      case AvroType::kUnion:
        *out += '[';
        for (size_t i = 0; i < n.branches.size(); ++i) {
          if (i) *out += ',';
          Write(*n.branches[i], out);
        }
        *out += ']';
        return;
      default:
        if (extended_ && n.logical != LogicalType::kNone) {
          *out += fmt::format("{{\"type\":\"{}\"", AvroTypeName(n.type));
          WriteLogical(n, out);
          *out += '}';
        } else {
          *out += fmt::format("\"{}\"", AvroTypeName(n.type));
        }
    }
  }

 private:
  static void WriteLogical(const AvroNode& n, std::string* out) {
    if (n.logical == LogicalType::kNone) return;
    *out += fmt::format(",\"logicalType\":\"{}\"", LogicalTypeName(n.logical));
    if (n.logical == LogicalType::kDecimal) {
      *out += fmt::format(",\"precision\":{},\"scale\":{}", n.precision, n.scale);
    }
  }
  static void WriteNames(std::string_view key, const std::vector<std::string>& names, std::string* out) {
    if (names.empty()) return;
    *out += fmt::format(",\"{}\":[", key);
    for (size_t i = 0; i < names.size(); ++i) {
      if (i) *out += ',';
      internal::AppendJsonString(names[i], out);
    }
    *out += ']';
  }

  bool extended_;
  std::set<std::string> emitted_;
};

}  // namespace

Result<std::shared_ptr<const AvroSchema>> AvroSchema::Parse(std::string_view json_text) {
  auto schema = std::make_shared<AvroSchema>();
  SchemaParser parser(schema.get());
  RETURN_IF_ERROR(parser.Run(json_text));
  schema->text_ = std::string(json_text);
  CanonicalWriter(false).Write(*schema->root_, &schema->canonical_);
  CanonicalWriter(true).Write(*schema->root_, &schema->normalized_);
  schema->fingerprint_ = AvroFingerprint64(schema->canonical_);
  return std::shared_ptr<const AvroSchema>(std::move(schema));
}

namespace internal {

void AppendJsonString(std::string_view utf8, std::string* out) {
  event::AppendJsonString(out, utf8, /*trusted_utf8=*/true);
}

void AppendJsonLatin1(std::string_view bytes, std::string* out) {
  std::string utf8;
  utf8.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    if (c < 0x80) {
      utf8.push_back(static_cast<char>(c));
    } else {
      utf8.push_back(static_cast<char>(0xc0 | (c >> 6)));
      utf8.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    }
  }
  AppendJsonString(utf8, out);
}

void AppendJsonDouble(double value, std::string* out) {
  if (!std::isfinite(value)) {
    *out += "null";
    return;
  }
  char buf[40];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  out->append(buf, r.ptr);
}

void AppendJsonFloat(float value, std::string* out) {
  if (!std::isfinite(value)) {
    *out += "null";
    return;
  }
  char buf[40];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  out->append(buf, r.ptr);
}

}  // namespace internal
}  // namespace tidemark::schema
