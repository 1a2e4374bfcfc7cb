// Builds resolution plans and decodes Avro binary by following them.
#include <charconv>
#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <simdjson.h>

#include "event/json_writer.h"
#include "schema/binary_internal.h"
#include "schema/codec_internal.h"
#include "schema/resolution_internal.h"

namespace tidemark::schema {

using Plan = ResolvingDecoder::Plan;

namespace {

std::string_view Unqualified(std::string_view name) {
  size_t dot = name.rfind('.');
  return dot == std::string_view::npos ? name : name.substr(dot + 1);
}

bool NamesMatch(const AvroNode& writer, const AvroNode& reader) {
  if (Unqualified(writer.name) == Unqualified(reader.name)) return true;
  for (const std::string& alias : reader.aliases) {
    if (alias == writer.name || Unqualified(alias) == Unqualified(writer.name)) return true;
  }
  return false;
}

bool Promotable(AvroType w, AvroType r) {
  switch (w) {
    case AvroType::kInt: return r == AvroType::kLong || r == AvroType::kFloat || r == AvroType::kDouble;
    case AvroType::kLong: return r == AvroType::kFloat || r == AvroType::kDouble;
    case AvroType::kFloat: return r == AvroType::kDouble;
    case AvroType::kString: return r == AvroType::kBytes;
    case AvroType::kBytes: return r == AvroType::kString;
    default: return false;
  }
}

// Shallow match of the specification: same type (and name for named types) or a promotion.
bool Matches(const AvroNode& w, const AvroNode& r, bool exact_only) {
  if (w.type == r.type) {
    if (w.IsNamed()) return NamesMatch(w, r);
    return true;
  }
  return !exact_only && Promotable(w.type, r.type);
}

std::string TypeLabel(const AvroNode& n) {
  if (n.IsNamed()) return fmt::format("{} {}", AvroTypeName(n.type), n.name);
  if (n.type == AvroType::kUnion) {
    std::string s = "union [";
    for (size_t i = 0; i < n.branches.size(); ++i) {
      if (i) s += ", ";
      s += n.branches[i]->IsNamed() ? n.branches[i]->name : std::string(AvroTypeName(n.branches[i]->type));
    }
    return s + "]";
  }
  return std::string(AvroTypeName(n.type));
}

class PlanBuilder {
 public:
  PlanBuilder(std::string_view writer_label, std::string_view reader_label,
              std::vector<std::unique_ptr<Plan>>* plans, internal::ResolutionIssues* issues)
      : writer_label_(writer_label), reader_label_(reader_label), plans_(plans), issues_(issues) {}

  const Plan* Build(const AvroNode& w, const AvroNode& r, const std::string& path) {
    auto key = std::make_pair(&w, &r);
    if (auto it = memo_.find(key); it != memo_.end()) return it->second;
    plans_->push_back(std::make_unique<Plan>());
    Plan* plan = plans_->back().get();
    memo_[key] = plan;
    plan->writer = &w;
    plan->reader = &r;
    plan->path = path;
    Fill(plan, w, r, path);
    return plan;
  }

 private:
  std::string Where(const std::string& path) const {
    return path.empty() ? "the root" : fmt::format("field '{}'", path);
  }
  void Problem(Plan* plan, std::string message) {
    if (plan->kind == Plan::Kind::kError && plan->error.empty()) plan->error = message;
    (soft_depth_ > 0 ? issues_->soft : issues_->hard).push_back(std::move(message));
  }
  void Mismatch(Plan* plan, const AvroNode& w, const AvroNode& r, const std::string& path) {
    plan->kind = Plan::Kind::kError;
    Problem(plan, fmt::format("{}: {} type {} cannot read {} from {}", Where(path), reader_label_,
                              TypeLabel(r), TypeLabel(w), writer_label_));
  }

  void Fill(Plan* plan, const AvroNode& w, const AvroNode& r, const std::string& path) {
    if (w.type == AvroType::kUnion) {
      plan->kind = Plan::Kind::kWriterUnion;
      ++soft_depth_;
      for (const AvroNode* b : w.branches) plan->branches.push_back(Build(*b, r, path));
      --soft_depth_;
      return;
    }
    if (r.type == AvroType::kUnion) {
      const AvroNode* chosen = nullptr;
      for (int exact = 1; exact >= 0 && !chosen; --exact) {
        for (const AvroNode* b : r.branches) {
          if (Matches(w, *b, exact == 1)) {
            chosen = b;
            break;
          }
        }
      }
      if (!chosen) {
        plan->kind = Plan::Kind::kError;
        Problem(plan, fmt::format("{}: {} {} has no branch for {} from {}", Where(path), reader_label_,
                                  TypeLabel(r), TypeLabel(w), writer_label_));
        return;
      }
      // Reading into a reader union is reading into its chosen branch; forward rather than
      // copy, since that plan may still be under construction (recursive types).
      plan->kind = Plan::Kind::kForward;
      plan->item = Build(w, *chosen, path);
      return;
    }
    if (!Matches(w, r, false)) {
      if (w.type == r.type && w.IsNamed()) {
        plan->kind = Plan::Kind::kError;
        Problem(plan, fmt::format("{}: {} {} does not match {} {} from {} (names differ, no alias)",
                                  Where(path), reader_label_, TypeLabel(r), AvroTypeName(w.type),
                                  w.name, writer_label_));
        return;
      }
      Mismatch(plan, w, r, path);
      return;
    }
    switch (r.type) {
      case AvroType::kRecord: return FillRecord(plan, w, r, path);
      case AvroType::kEnum: {
        plan->kind = Plan::Kind::kEnum;
        for (const std::string& symbol : w.symbols) {
          std::string text;
          if (r.SymbolIndex(symbol) >= 0) {
            internal::AppendJsonString(symbol, &text);
          } else if (r.has_enum_default) {
            internal::AppendJsonString(r.enum_default, &text);
          } else {
            plan->error = fmt::format("{}: symbol '{}' is not in {} enum {}", Where(path), symbol,
                                      reader_label_, r.name);
            Problem(plan, fmt::format("{}: symbol '{}' of {} is missing from {} enum {}, which has no default",
                                      Where(path), symbol, writer_label_, reader_label_, r.name));
          }
          plan->enum_symbols.push_back(std::move(text));
        }
        return;
      }
      case AvroType::kFixed:
        if (w.fixed_size != r.fixed_size) {
          plan->kind = Plan::Kind::kError;
          Problem(plan, fmt::format("{}: {} fixed {} has size {} but {} writes {} bytes", Where(path),
                                    reader_label_, r.name, r.fixed_size, writer_label_, w.fixed_size));
          return;
        }
        plan->kind = Plan::Kind::kPrimitive;
        return;
      case AvroType::kArray:
        plan->kind = Plan::Kind::kArray;
        plan->item = Build(*w.items, *r.items, path + "[]");
        return;
      case AvroType::kMap:
        plan->kind = Plan::Kind::kMap;
        plan->item = Build(*w.items, *r.items, path + "{}");
        return;
      default:
        plan->kind = Plan::Kind::kPrimitive;
        return;
    }
  }

  void FillRecord(Plan* plan, const AvroNode& w, const AvroNode& r, const std::string& path) {
    plan->kind = Plan::Kind::kRecord;
    std::vector<bool> matched(r.fields.size(), false);
    for (const AvroField& wf : w.fields) {
      int ri = r.FieldIndex(wf.name);
      if (ri < 0) {
        for (size_t i = 0; i < r.fields.size() && ri < 0; ++i) {
          for (const std::string& alias : r.fields[i].aliases) {
            if (alias == wf.name) {
              ri = static_cast<int>(i);
              break;
            }
          }
        }
      }
      Plan::Step step;
      step.writer = wf.type;
      if (ri >= 0 && !matched[static_cast<size_t>(ri)]) {
        const AvroField& rf = r.fields[static_cast<size_t>(ri)];
        matched[static_cast<size_t>(ri)] = true;
        std::string child = path.empty() ? rf.name : path + "." + rf.name;
        step.plan = Build(*wf.type, *rf.type, child);
        internal::AppendJsonString(rf.name, &step.key);
        step.key += ':';
      }
      plan->step_fields.push_back(step.plan ? ri : -1);
      plan->steps.push_back(std::move(step));
    }
    for (size_t i = 0; i < r.fields.size(); ++i) {
      if (matched[i]) continue;
      const AvroField& rf = r.fields[i];
      if (!rf.has_default) {
        std::string child = path.empty() ? rf.name : path + "." + rf.name;
        Problem(plan, fmt::format("{} field '{}' has no default and is missing from {}", reader_label_,
                                  child, writer_label_));
        continue;
      }
      std::string piece;
      internal::AppendJsonString(rf.name, &piece);
      piece += ':';
      piece += rf.default_json;
      plan->defaults.push_back(std::move(piece));
      plan->flat_defaults.push_back(FlatDefaultOf(static_cast<int>(i), rf));
    }
  }

  // A reader-only field's default as DecodeFlat reports it: typed by the reader's type (a
  // union's default belongs to its first branch).
  static Plan::FlatDefault FlatDefaultOf(int index, const AvroField& rf) {
    Plan::FlatDefault d;
    d.field = index;
    const AvroNode* type = rf.type;
    if (type->type == AvroType::kUnion && !type->branches.empty()) type = type->branches.front();
    simdjson::dom::parser parser;
    simdjson::dom::element value;
    if (parser.parse(rf.default_json).get(value) != simdjson::SUCCESS) {
      d.value.kind = FlatValue::Kind::kJson;  // not reached: defaults are checked when parsed
      d.text = rf.default_json;
      return d;
    }
    using simdjson::dom::element_type;
    std::string_view text;
    switch (value.type()) {
      case element_type::NULL_VALUE:
        d.value.kind = FlatValue::Kind::kNull;
        return d;
      case element_type::BOOL:
        d.value.kind = FlatValue::Kind::kBoolean;
        d.value.boolean = value.get_bool().value();
        return d;
      case element_type::INT64:
      case element_type::UINT64:
      case element_type::DOUBLE:
        if (type->type == AvroType::kInt || type->type == AvroType::kLong) {
          d.value.kind = FlatValue::Kind::kLong;
          d.value.integer = value.is_int64() ? value.get_int64().value() : 0;
        } else {
          d.value.kind = FlatValue::Kind::kDouble;
          d.value.number = value.get_double().value();
        }
        return d;
      case element_type::STRING:
        text = value.get_string().value();
        if (type->type == AvroType::kString && type->logical == LogicalType::kJson) {
          d.value.kind = FlatValue::Kind::kJson;  // the JSON text the string holds
        } else if (type->type == AvroType::kString || type->type == AvroType::kEnum) {
          d.value.kind = FlatValue::Kind::kString;
        } else {
          d.value.kind = FlatValue::Kind::kJson;  // bytes, fixed: as JSON strings
          d.text = rf.default_json;
          return d;
        }
        d.text.assign(text);
        return d;
      default:
        d.value.kind = FlatValue::Kind::kJson;
        d.text = rf.default_json;
        return d;
    }
  }

  std::string writer_label_;
  std::string reader_label_;
  std::vector<std::unique_ptr<Plan>>* plans_;
  internal::ResolutionIssues* issues_;
  std::map<std::pair<const AvroNode*, const AvroNode*>, Plan*> memo_;
  int soft_depth_ = 0;
};

// The plan that reads a value, past the forwards of reader unions (static: no data read).
const Plan* FollowForwards(const Plan* p) {
  for (int hops = 0; p != nullptr && p->kind == Plan::Kind::kForward && hops < 16; ++hops) p = p->item;
  return p != nullptr && p->kind == Plan::Kind::kForward ? nullptr : p;
}

Plan::Fast ScalarFast(const Plan* p) {
  if (p == nullptr) return Plan::Fast::kNone;
  if (p->kind == Plan::Kind::kEnum) {
    for (const std::string& text : p->enum_symbols) {
      if (text.empty()) return Plan::Fast::kNone;  // the general path reports the symbol
    }
    return Plan::Fast::kEnum;
  }
  if (p->kind != Plan::Kind::kPrimitive) return Plan::Fast::kNone;
  const AvroType w = p->writer->type, r = p->reader->type;
  if (w == AvroType::kNull && r == AvroType::kNull) return Plan::Fast::kNull;
  if (w == AvroType::kString && r == AvroType::kString && p->reader->logical != LogicalType::kJson) {
    return Plan::Fast::kString;
  }
  if (w == AvroType::kInt && (r == AvroType::kInt || r == AvroType::kLong)) return Plan::Fast::kInt;
  if (w == AvroType::kLong && r == AvroType::kLong) return Plan::Fast::kLong;
  if (w == AvroType::kDouble && r == AvroType::kDouble) return Plan::Fast::kDouble;
  return Plan::Fast::kNone;
}

// Marks the record steps the decoders can read in one step (Plan::Fast).
void ClassifyFastSteps(const std::vector<std::unique_ptr<Plan>>& plans) {
  for (const auto& plan : plans) {
    if (plan->kind != Plan::Kind::kRecord) continue;
    plan->all_fast = true;
    for (Plan::Step& step : plan->steps) {
      const Plan* p = FollowForwards(step.plan);
      if (p == nullptr) continue;
      if (p->kind != Plan::Kind::kWriterUnion) {
        const Plan::Fast fast = ScalarFast(p);
        if (fast == Plan::Fast::kNull) continue;
        step.fast = fast;
        step.value = p;
        continue;
      }
      if (p->branches.size() != 2) continue;
      for (int null_branch = 0; null_branch < 2; ++null_branch) {
        const Plan* value = FollowForwards(p->branches[static_cast<size_t>(1 - null_branch)]);
        const Plan::Fast fast = ScalarFast(value);
        if (ScalarFast(FollowForwards(p->branches[static_cast<size_t>(null_branch)])) == Plan::Fast::kNull &&
            fast != Plan::Fast::kNone && fast != Plan::Fast::kNull) {
          step.fast = fast;
          step.null_branch = static_cast<int8_t>(null_branch);
          step.value = value;
          break;
        }
      }
    }
    for (const Plan::Step& step : plan->steps) {
      if (step.plan != nullptr && step.fast == Plan::Fast::kNone) plan->all_fast = false;
    }
  }
}

// Whether s is valid UTF-8. ASCII, the common case, is checked here 8 bytes at a time;
// only text with a high bit set goes to simdjson's validator (a call that costs more than
// the check itself for the short strings of an event).
[[gnu::always_inline]] inline bool ValidUtf8(std::string_view s) {
  const char* p = s.data();
  const size_t n = s.size();
  uint64_t high = 0;
  if (n >= 8) {
    // Whole words, the last one overlapping the one before it rather than a byte loop.
    for (size_t i = 0; i + 8 < n; i += 8) {
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      high |= word;
    }
    uint64_t last;
    std::memcpy(&last, p + n - 8, 8);
    high |= last;
  } else if (n >= 4) {
    uint32_t first, last;
    std::memcpy(&first, p, 4);
    std::memcpy(&last, p + n - 4, 4);
    high = first | last;
  } else {
    for (size_t i = 0; i < n; ++i) high |= static_cast<unsigned char>(p[i]);
  }
  return (high & 0x8080808080808080ULL) == 0 || simdjson::validate_utf8(p, n);
}

constexpr int kMaxDecodeDepth = 128;
constexpr int64_t kMaxItems = int64_t{1} << 26;

// Follows a plan over a BinaryReader and writes JSON.
class PlanDecoder {
 public:
  PlanDecoder(std::string_view avro, std::string* out) : in_(avro), out_(out) {}

  Status Run(const Plan& root) {
    RETURN_IF_ERROR(Decode(root, 0));
    return CheckEnd();
  }

  // DecodeFlat: the root record's fields, and the members of expanded record fields, as
  // FlatValues; complex values as JSON in *out_ (the scratch buffer).
  Status RunFlat(const Plan& root, FlatVisitor& visitor) {
    const Plan* p = &root;
    RETURN_IF_ERROR(Concrete(&p));
    if (p->kind != Plan::Kind::kRecord) {
      return Status::InvalidArgument("flat decode: the reader's root is not a record");
    }
    RETURN_IF_ERROR(FlatRecord(*p, -1, visitor));
    return CheckEnd();
  }

 private:
  Status CheckEnd() const {
    if (in_.remaining() != 0) {
      return Status::Corruption(fmt::format("avro datum: {} trailing bytes after the datum", in_.remaining()));
    }
    return Status::Ok();
  }

  // Follows forwards and writer unions (reading the branch index) to the plan that reads
  // the value itself.
  Status Concrete(const Plan** p) {
    for (int hops = 0; hops <= kMaxDecodeDepth; ++hops) {
      if ((*p)->kind == Plan::Kind::kForward) {
        *p = (*p)->item;
      } else if ((*p)->kind == Plan::Kind::kWriterUnion) {
        int64_t index;
        if (!in_.ReadLong(&index) || index < 0 || static_cast<size_t>(index) >= (*p)->branches.size()) {
          return Truncated(**p);
        }
        *p = (*p)->branches[static_cast<size_t>(index)];
      } else {
        return Status::Ok();
      }
    }
    return Status::Corruption("avro datum: nested too deeply");
  }

  // `parent` is -1 for the root record, else the root field whose record this is.
  Status FlatRecord(const Plan& record, int parent, FlatVisitor& visitor) {
    const AvroNode& reader = *record.reader;
    for (size_t i = 0; i < record.steps.size(); ++i) {
      const Plan::Step& step = record.steps[i];
      if (!step.plan) {
        RETURN_IF_ERROR(Skip(*step.writer, 1));
        continue;
      }
      const int index = record.step_fields[i];
      if (step.fast != Plan::Fast::kNone) {
        FlatValue value;
        if (!ReadFast(step, &value)) return std::move(error_);
        visitor.Value(parent < 0 ? index : parent, parent < 0 ? -1 : index,
                      reader.fields[static_cast<size_t>(index)].name, value);
        continue;
      }
      const Plan* p = step.plan;
      RETURN_IF_ERROR(Concrete(&p));
      if (parent < 0 && p->kind == Plan::Kind::kRecord && visitor.Expand(index)) {
        RETURN_IF_ERROR(FlatRecord(*p, index, visitor));
        continue;
      }
      FlatValue value;
      std::string* target = parent < 0 && p->kind != Plan::Kind::kPrimitive && p->kind != Plan::Kind::kEnum
                                ? visitor.JsonTarget(index)
                                : nullptr;
      if (target != nullptr) {
        std::string* scratch = out_;
        out_ = target;
        Status st = FlatScalar(*p, &value);
        out_ = scratch;
        RETURN_IF_ERROR(st);
      } else {
        RETURN_IF_ERROR(FlatScalar(*p, &value));
      }
      visitor.Value(parent < 0 ? index : parent, parent < 0 ? -1 : index,
                    reader.fields[static_cast<size_t>(index)].name, value);
    }
    for (const Plan::FlatDefault& d : record.flat_defaults) {
      FlatValue value = d.value;
      value.text = d.text;
      visitor.Value(parent < 0 ? d.field : parent, parent < 0 ? -1 : d.field,
                    reader.fields[static_cast<size_t>(d.field)].name, value);
    }
    return Status::Ok();
  }

  // A Plan::Fast step's value, as FlatScalar would report it. Called for most fields of a
  // datum, so it returns false rather than a Status (one costs a string to build and
  // destroy) and leaves the failure in error_.
  [[gnu::always_inline]] bool ReadFast(const Plan::Step& step, FlatValue* v) {
    using Kind = FlatValue::Kind;
    if (step.null_branch >= 0) {
      int64_t branch;
      if (!in_.ReadLong(&branch) || (branch != 0 && branch != 1)) return Fail(Truncated(*step.plan));
      if (branch == step.null_branch) {
        v->kind = Kind::kNull;
        return true;
      }
    }
    const Plan& p = *step.value;
    switch (step.fast) {
      case Plan::Fast::kString:
        if (!in_.ReadBytes(&v->text)) return Fail(Truncated(p));
        if (!ValidUtf8(v->text)) return Fail(NotUtf8(p));
        v->kind = Kind::kString;
        return true;
      case Plan::Fast::kInt: {
        int32_t i;
        if (!in_.ReadInt(&i)) return Fail(Truncated(p));
        v->kind = Kind::kLong;
        v->integer = i;
        return true;
      }
      case Plan::Fast::kLong:
        if (!in_.ReadLong(&v->integer)) return Fail(Truncated(p));
        v->kind = Kind::kLong;
        return true;
      case Plan::Fast::kDouble:
        if (!in_.ReadDouble(&v->number)) return Fail(Truncated(p));
        v->kind = Kind::kDouble;
        return true;
      case Plan::Fast::kEnum: {
        int64_t index;
        if (!in_.ReadLong(&index) || index < 0 || static_cast<size_t>(index) >= p.enum_symbols.size()) {
          return Fail(Truncated(p));
        }
        const std::string& text = p.enum_symbols[static_cast<size_t>(index)];  // quoted
        v->kind = Kind::kString;
        v->text = std::string_view(text).substr(1, text.size() - 2);
        return true;
      }
      default:
        return Fail(Status::Internal("not a fast step"));
    }
  }
  [[gnu::cold]] bool Fail(Status st) {
    error_ = std::move(st);
    return false;
  }

  // Decode's record case when every field is a fast step (Plan::all_fast), with the same
  // output: written through a pointer into a reused buffer with one room check per field,
  // then appended to *out_ at once.
  Status RenderFastRecord(const Plan& p, int depth) {
    thread_local std::string buffer;
    size_t used = 0;
    auto room = [&](size_t need) {
      if (buffer.size() - used < need) buffer.resize(std::max(buffer.size() * 2, used + need + 256));
      return buffer.data() + used;
    };
    *room(1) = '{';
    used = 1;
    for (const Plan::Step& step : p.steps) {
      if (!step.plan) {
        RETURN_IF_ERROR(Skip(*step.writer, depth + 1));
        continue;
      }
      FlatValue v;
      if (!ReadFast(step, &v)) return std::move(error_);
      char* const start = room(1 + step.key.size() + FastValueRoom(v));
      char* d = start;
      if (used > 1) *d++ = ',';
      std::memcpy(d, step.key.data(), step.key.size());
      d = PutFastValue(d + step.key.size(), step, v);
      used += static_cast<size_t>(d - start);
    }
    for (const std::string& piece : p.defaults) {
      char* d = room(piece.size() + 1);
      if (used > 1) {
        *d++ = ',';
        ++used;
      }
      std::memcpy(d, piece.data(), piece.size());
      used += piece.size();
    }
    *room(1) = '}';
    ++used;
    out_->append(buffer.data(), used);
    return Status::Ok();
  }

  // Room PutFastValue may need for v.
  static size_t FastValueRoom(const FlatValue& v) {
    return v.kind == FlatValue::Kind::kString ? 6 * v.text.size() + 2 : 40;
  }

  // Writes a fast step's value as JSON at d (FastValueRoom(v) bytes free) and returns the
  // end: the bytes AppendFast writes for it.
  static char* PutFastValue(char* d, const Plan::Step& step, const FlatValue& v) {
    switch (v.kind) {
      case FlatValue::Kind::kNull:
        std::memcpy(d, "null", 4);
        return d + 4;
      case FlatValue::Kind::kLong:
        return std::to_chars(d, d + 24, v.integer).ptr;
      case FlatValue::Kind::kDouble:  // as internal::AppendJsonDouble
        if (!std::isfinite(v.number)) {
          std::memcpy(d, "null", 4);
          return d + 4;
        }
        return std::to_chars(d, d + 38, v.number).ptr;
      default:  // kString: a checked string, or an enum symbol (a name: nothing to escape)
        *d++ = '"';
        if (step.fast == Plan::Fast::kEnum) {
          std::memcpy(d, v.text.data(), v.text.size());
          d += v.text.size();
        } else {
          d = event::EscapeJsonInto(d, v.text, /*trusted_utf8=*/true);
        }
        *d++ = '"';
        return d;
    }
  }

  // A Plan::Fast step's value as JSON through the general path's formatters (which the
  // tests hold PutFastValue to).
  Status AppendFast(const Plan::Step& step) {
    FlatValue v;
    if (!ReadFast(step, &v)) return std::move(error_);
    switch (v.kind) {
      case FlatValue::Kind::kNull:
        out_->append("null");
        break;
      case FlatValue::Kind::kLong:
        internal::AppendJsonInt(v.integer, out_);
        break;
      case FlatValue::Kind::kDouble:
        internal::AppendJsonDouble(v.number, out_);
        break;
      default:  // kString: a checked string, or an enum symbol (a name: nothing to escape)
        if (step.fast == Plan::Fast::kEnum) {
          out_->push_back('"');
          out_->append(v.text);
          out_->push_back('"');
        } else {
          internal::AppendJsonString(v.text, out_);
        }
        break;
    }
    return Status::Ok();
  }

  [[gnu::cold]] Status NotUtf8(const Plan& p) const {
    return Status::Corruption(fmt::format("avro datum: {}: string is not valid UTF-8",
                                          p.path.empty() ? "root" : p.path));
  }

  Status FlatScalar(const Plan& p, FlatValue* v) {
    using Kind = FlatValue::Kind;
    switch (p.kind) {
      case Plan::Kind::kError:
        return Status::InvalidArgument(p.error.empty() ? "unresolvable data" : p.error);
      case Plan::Kind::kEnum: {
        int64_t index;
        if (!in_.ReadLong(&index) || index < 0 || static_cast<size_t>(index) >= p.enum_symbols.size()) {
          return Truncated(p);
        }
        const std::string& text = p.enum_symbols[static_cast<size_t>(index)];
        if (text.empty()) return Status::InvalidArgument(p.error);
        v->kind = Kind::kString;  // a symbol is a name: its JSON is the name in quotes
        v->text = std::string_view(text).substr(1, text.size() - 2);
        return Status::Ok();
      }
      case Plan::Kind::kPrimitive:
        break;
      default:
        out_->clear();
        RETURN_IF_ERROR(Decode(p, 1));
        v->kind = Kind::kJson;
        v->text = *out_;
        return Status::Ok();
    }
    RETURN_IF_ERROR(ReadPrimitive(p, v));
    if (v->kind != Kind::kString) return Status::Ok();
    if (p.reader->type != AvroType::kString) {  // bytes, fixed: a JSON string of code points
      const std::string_view bytes = v->text;
      out_->clear();
      internal::AppendJsonLatin1(bytes, out_);
      v->kind = Kind::kJson;
      v->text = *out_;
    } else if (p.reader->logical == LogicalType::kJson && IsJsonText(v->text)) {
      v->kind = Kind::kJson;
    } else if (!ValidUtf8(v->text)) {
      return NotUtf8(p);
    }
    return Status::Ok();
  }

  // One primitive value as the reader types it (int → long → float → double promotions
  // applied; a float reader's value is exactly a float). Strings, bytes and fixed come back
  // as kString holding the raw bytes, unchecked.
  Status ReadPrimitive(const Plan& p, FlatValue* v) {
    using Kind = FlatValue::Kind;
    const AvroType w = p.writer->type;
    const AvroType r = p.reader->type;
    switch (w) {
      case AvroType::kNull:
        v->kind = Kind::kNull;
        return Status::Ok();
      case AvroType::kBoolean: {
        std::string_view b;
        if (!in_.ReadFixed(1, &b) || static_cast<unsigned char>(b[0]) > 1) return Truncated(p);
        v->kind = Kind::kBoolean;
        v->boolean = b[0] != 0;
        return Status::Ok();
      }
      case AvroType::kInt:
      case AvroType::kLong: {
        int64_t n;
        if (w == AvroType::kInt) {
          int32_t i;
          if (!in_.ReadInt(&i)) return Truncated(p);
          n = i;
        } else if (!in_.ReadLong(&n)) {
          return Truncated(p);
        }
        if (r == AvroType::kFloat || r == AvroType::kDouble) {
          v->kind = Kind::kDouble;
          v->number = r == AvroType::kFloat ? static_cast<float>(n) : static_cast<double>(n);
        } else {
          v->kind = Kind::kLong;
          v->integer = n;
        }
        return Status::Ok();
      }
      case AvroType::kFloat: {
        float f;
        if (!in_.ReadFloat(&f)) return Truncated(p);
        v->kind = Kind::kDouble;
        v->number = f;
        return Status::Ok();
      }
      case AvroType::kDouble: {
        double d;
        if (!in_.ReadDouble(&d)) return Truncated(p);
        v->kind = Kind::kDouble;
        v->number = d;
        return Status::Ok();
      }
      case AvroType::kString:
      case AvroType::kBytes:
      case AvroType::kFixed: {
        std::string_view s;
        bool ok = w == AvroType::kFixed ? in_.ReadFixed(static_cast<size_t>(p.writer->fixed_size), &s)
                                        : in_.ReadBytes(&s);
        if (!ok) return Truncated(p);
        v->kind = Kind::kString;
        v->text = s;
        return Status::Ok();
      }
      default:
        return Status::Internal("primitive plan on a complex type");
    }
  }

  [[gnu::cold]] Status Truncated(const Plan& p) const {
    return Status::Corruption(fmt::format("avro datum: truncated or invalid at byte {} ({})",
                                          in_.position(), p.path.empty() ? "root" : p.path));
  }
  [[gnu::cold]] Status Truncated(std::string_view what) const {
    return Status::Corruption(fmt::format("avro datum: truncated or invalid at byte {} ({})",
                                          in_.position(), what));
  }

  Status Decode(const Plan& p, int depth) {
    if (depth > kMaxDecodeDepth) return Status::Corruption("avro datum: nested too deeply");
    switch (p.kind) {
      case Plan::Kind::kError:
        return Status::InvalidArgument(p.error.empty() ? "unresolvable data" : p.error);
      case Plan::Kind::kPrimitive:
        return DecodePrimitive(p);
      case Plan::Kind::kForward:
        return Decode(*p.item, depth + 1);
      case Plan::Kind::kEnum: {
        int64_t index;
        if (!in_.ReadLong(&index) || index < 0 || static_cast<size_t>(index) >= p.enum_symbols.size()) {
          return Truncated(p);
        }
        const std::string& text = p.enum_symbols[static_cast<size_t>(index)];
        if (text.empty()) return Status::InvalidArgument(p.error);
        out_->append(text);
        return Status::Ok();
      }
      case Plan::Kind::kArray:
      case Plan::Kind::kMap: {
        bool is_map = p.kind == Plan::Kind::kMap;
        out_->push_back(is_map ? '{' : '[');
        bool first = true;
        int64_t total = 0;
        while (true) {
          int64_t count;
          if (!in_.ReadLong(&count)) return Truncated(p);
          if (count == 0) break;
          if (count < 0) {
            int64_t block_bytes;
            if (!in_.ReadLong(&block_bytes)) return Truncated(p);
            count = -count;
          }
          total += count;
          if (count < 0 || total > kMaxItems) return Truncated(p);
          for (int64_t i = 0; i < count; ++i) {
            if (!first) out_->push_back(',');
            first = false;
            if (is_map) {
              std::string_view key;
              if (!in_.ReadBytes(&key)) return Truncated(p);
              RETURN_IF_ERROR(AppendUtf8(key, p));
              out_->push_back(':');
            }
            RETURN_IF_ERROR(Decode(*p.item, depth + 1));
          }
        }
        out_->push_back(is_map ? '}' : ']');
        return Status::Ok();
      }
      case Plan::Kind::kRecord: {
        if (p.all_fast) return RenderFastRecord(p, depth);
        out_->push_back('{');
        bool first = true;
        for (const Plan::Step& step : p.steps) {
          if (!step.plan) {
            RETURN_IF_ERROR(Skip(*step.writer, depth + 1));
            continue;
          }
          if (!first) out_->push_back(',');
          first = false;
          out_->append(step.key);
          if (step.fast != Plan::Fast::kNone) {
            RETURN_IF_ERROR(AppendFast(step));
            continue;
          }
          RETURN_IF_ERROR(Decode(*step.plan, depth + 1));
        }
        for (const std::string& piece : p.defaults) {
          if (!first) out_->push_back(',');
          first = false;
          out_->append(piece);
        }
        out_->push_back('}');
        return Status::Ok();
      }
      case Plan::Kind::kWriterUnion: {
        int64_t index;
        if (!in_.ReadLong(&index) || index < 0 || static_cast<size_t>(index) >= p.branches.size()) {
          return Truncated(p);
        }
        return Decode(*p.branches[static_cast<size_t>(index)], depth + 1);
      }
    }
    return Status::Internal("unknown plan kind");
  }

  static bool IsJsonText(std::string_view s) {
    thread_local simdjson::dom::parser parser;
    return !s.empty() && parser.parse(s.data(), s.size(), /*realloc_if_needed=*/true).error() == simdjson::SUCCESS;
  }

  Status AppendUtf8(std::string_view s, const Plan& p) {
    if (!ValidUtf8(s)) return NotUtf8(p);
    internal::AppendJsonString(s, out_);
    return Status::Ok();
  }

  Status DecodePrimitive(const Plan& p) {
    FlatValue v;
    RETURN_IF_ERROR(ReadPrimitive(p, &v));
    switch (v.kind) {
      case FlatValue::Kind::kNull:
        out_->append("null");
        return Status::Ok();
      case FlatValue::Kind::kBoolean:
        out_->append(v.boolean ? "true" : "false");
        return Status::Ok();
      case FlatValue::Kind::kLong:
        internal::AppendJsonInt(v.integer, out_);
        return Status::Ok();
      case FlatValue::Kind::kDouble:
        if (p.reader->type == AvroType::kFloat) {
          internal::AppendJsonFloat(static_cast<float>(v.number), out_);
        } else {
          internal::AppendJsonDouble(v.number, out_);
        }
        return Status::Ok();
      default:
        break;
    }
    if (p.reader->type != AvroType::kString) {
      internal::AppendJsonLatin1(v.text, out_);
      return Status::Ok();
    }
    // A "json" string is emitted as the value it holds, when it holds one.
    if (p.reader->logical == LogicalType::kJson && IsJsonText(v.text)) {
      out_->append(v.text);
      return Status::Ok();
    }
    return AppendUtf8(v.text, p);
  }

  Status Skip(const AvroNode& n, int depth) {
    if (depth > kMaxDecodeDepth) return Status::Corruption("avro datum: nested too deeply");
    int64_t v;
    std::string_view s;
    switch (n.type) {
      case AvroType::kNull: return Status::Ok();
      case AvroType::kBoolean: return in_.Skip(1) ? Status::Ok() : Truncated("skipped boolean");
      case AvroType::kInt:
      case AvroType::kLong:
      case AvroType::kEnum: return in_.ReadLong(&v) ? Status::Ok() : Truncated("skipped number");
      case AvroType::kFloat: return in_.Skip(4) ? Status::Ok() : Truncated("skipped float");
      case AvroType::kDouble: return in_.Skip(8) ? Status::Ok() : Truncated("skipped double");
      case AvroType::kString:
      case AvroType::kBytes: return in_.ReadBytes(&s) ? Status::Ok() : Truncated("skipped bytes");
      case AvroType::kFixed:
        return in_.Skip(static_cast<size_t>(n.fixed_size)) ? Status::Ok() : Truncated("skipped fixed");
      case AvroType::kRecord:
        for (const AvroField& f : n.fields) RETURN_IF_ERROR(Skip(*f.type, depth + 1));
        return Status::Ok();
      case AvroType::kUnion:
        if (!in_.ReadLong(&v) || v < 0 || static_cast<size_t>(v) >= n.branches.size()) {
          return Truncated("skipped union");
        }
        return Skip(*n.branches[static_cast<size_t>(v)], depth + 1);
      case AvroType::kArray:
      case AvroType::kMap: {
        int64_t total = 0;
        while (true) {
          int64_t count;
          if (!in_.ReadLong(&count)) return Truncated("skipped block");
          if (count == 0) return Status::Ok();
          if (count < 0) {
            int64_t bytes;
            if (!in_.ReadLong(&bytes) || bytes < 0) return Truncated("skipped block");
            if (!in_.Skip(static_cast<size_t>(bytes))) return Truncated("skipped block");
            continue;
          }
          total += count;
          if (total > kMaxItems) return Truncated("skipped block");
          for (int64_t i = 0; i < count; ++i) {
            if (n.type == AvroType::kMap && !in_.ReadBytes(&s)) return Truncated("skipped map key");
            RETURN_IF_ERROR(Skip(*n.items, depth + 1));
          }
        }
      }
    }
    return Status::Internal("unknown type");
  }

  internal::BinaryReader in_;
  std::string* out_;
  Status error_;  // ReadFast's failure
};

}  // namespace

namespace internal {

const Plan* BuildResolutionPlan(const AvroNode& writer, const AvroNode& reader,
                                std::string_view writer_label, std::string_view reader_label,
                                std::vector<std::unique_ptr<Plan>>* plans, ResolutionIssues* issues) {
  PlanBuilder builder(writer_label, reader_label, plans, issues);
  const Plan* root = builder.Build(writer, reader, "");
  ClassifyFastSteps(*plans);
  return root;
}

}  // namespace internal

ResolvingDecoder::~ResolvingDecoder() = default;

Result<std::unique_ptr<ResolvingDecoder>> ResolvingDecoder::Create(
    std::shared_ptr<const AvroSchema> writer, std::shared_ptr<const AvroSchema> reader) {
  std::unique_ptr<ResolvingDecoder> d(new ResolvingDecoder());
  internal::ResolutionIssues issues;
  d->root_ = internal::BuildResolutionPlan(writer->root(), reader->root(), "the writer schema",
                                           "reader", &d->plans_, &issues);
  if (!issues.hard.empty()) {
    return Status::InvalidArgument(fmt::format("reader schema cannot read writer schema: {}",
                                               fmt::join(issues.hard, "; ")));
  }
  d->writer_ = std::move(writer);
  d->reader_ = std::move(reader);
  return d;
}

Status ResolvingDecoder::DecodeToJson(std::string_view avro, std::string* out) const {
  const size_t mark = out->size();
  PlanDecoder decoder(avro, out);
  Status s = decoder.Run(*root_);
  if (!s.ok()) out->resize(mark);
  return s;
}

Status ResolvingDecoder::DecodeFlat(std::string_view avro, FlatVisitor& visitor, std::string* scratch) const {
  PlanDecoder decoder(avro, scratch);
  return decoder.RunFlat(*root_, visitor);
}

Status internal::DecodeNodeToJson(const AvroNode& node, std::string_view avro, std::string* out) {
  std::vector<std::unique_ptr<Plan>> plans;
  internal::ResolutionIssues issues;
  const Plan* root = internal::BuildResolutionPlan(node, node, "writer", "reader", &plans, &issues);
  PlanDecoder decoder(avro, out);
  return decoder.Run(*root);
}

Result<std::string> DecodeToJson(const AvroSchema& schema, std::string_view avro) {
  std::string out;
  RETURN_IF_ERROR(internal::DecodeNodeToJson(schema.root(), avro, &out));
  return out;
}

}  // namespace tidemark::schema
