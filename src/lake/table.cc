// Table snapshots: metadata JSON, atomic commits, partitioned file writing, scans that
// resolve columns by field id, and snapshot expiry.
#include "lake/table.h"

#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <set>

#include "common/fault_points.h"
#include "common/files.h"
#include "common/time_format.h"

namespace tidemark::lake {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormatName = "tidemark-lake-table";
constexpr int kFormatVersion = 1;
constexpr int64_t kMillisPerHour = 3'600'000;
constexpr int64_t kMillisPerDay = 24 * kMillisPerHour;

std::string MetadataName(int64_t version) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "v%08lld.json", static_cast<long long>(version));
  return buf;
}

void JsonEscape(std::string_view s, std::string* out) {
  out->push_back('"');
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out->append(buf);
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

// Statistics values as JSON: numbers, booleans, strings; null when unknown or not finite.
void JsonStat(const StatValue& v, std::string* out) {
  switch (v.index()) {
    case 1:
      out->append(std::get<bool>(v) ? "true" : "false");
      break;
    case 2:
      out->append(std::to_string(std::get<int32_t>(v)));
      break;
    case 3:
      out->append(std::to_string(std::get<int64_t>(v)));
      break;
    case 4: {
      const double d = std::get<double>(v);
      if (!std::isfinite(d)) {
        out->append("null");
        break;
      }
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", d);
      out->append(buf);
      break;
    }
    case 5:
      JsonEscape(std::get<std::string>(v), out);
      break;
    default:
      out->append("null");
  }
}

const char* TypeName(ColumnType t) { return ColumnTypeName(t).data(); }

std::optional<ColumnType> TypeFromName(std::string_view name) {
  for (ColumnType t : {ColumnType::kBoolean, ColumnType::kInt32, ColumnType::kInt64,
                       ColumnType::kDouble, ColumnType::kString, ColumnType::kTimestampMillis}) {
    if (ColumnTypeName(t) == name) return t;
  }
  return std::nullopt;
}

StatValue StatFromJson(simdjson::dom::element e, ColumnType type) {
  if (e.is_null()) return std::monostate{};
  switch (type) {
    case ColumnType::kBoolean: {
      bool b;
      if (e.get_bool().get(b) == simdjson::SUCCESS) return b;
      break;
    }
    case ColumnType::kInt32: {
      int64_t i;
      if (e.get_int64().get(i) == simdjson::SUCCESS) return static_cast<int32_t>(i);
      break;
    }
    case ColumnType::kInt64:
    case ColumnType::kTimestampMillis: {
      int64_t i;
      if (e.get_int64().get(i) == simdjson::SUCCESS) return i;
      break;
    }
    case ColumnType::kDouble: {
      double d;
      if (e.get_double().get(d) == simdjson::SUCCESS) return d;
      break;
    }
    case ColumnType::kString: {
      std::string_view s;
      if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
      break;
    }
  }
  return std::monostate{};
}

std::string RandomHex(int n) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(digits[rng() & 15]);
  return s;
}

}  // namespace

std::string SnapshotToJson(const TableSnapshot& s) {
  std::string out;
  out.reserve(4096 + s.files.size() * 512);
  out += "{\n  \"format\": \"";
  out += kFormatName;
  out += "\",\n  \"format_version\": " + std::to_string(kFormatVersion);
  out += ",\n  \"layer\": ";
  JsonEscape(s.layer, &out);
  out += ",\n  \"table\": ";
  JsonEscape(s.name, &out);
  out += ",\n  \"version\": " + std::to_string(s.version);
  out += ",\n  \"committed_at_ms\": " + std::to_string(s.committed_at_ms);
  out += ",\n  \"schema\": {\"schema_id\": " + std::to_string(s.schema_id) +
         ", \"last_field_id\": " + std::to_string(s.last_field_id) + ", \"fields\": [";
  for (size_t i = 0; i < s.schema.fields.size(); ++i) {
    const Field& f = s.schema.fields[i];
    out += i ? ",\n    " : "\n    ";
    out += "{\"id\": " + std::to_string(f.field_id) + ", \"name\": ";
    JsonEscape(f.name, &out);
    out += ", \"type\": \"";
    out += TypeName(f.type);
    out += "\", \"nullable\": ";
    out += f.nullable ? "true}" : "false}";
  }
  out += "]}";
  out += ",\n  \"partition_spec\": {\"source_field\": ";
  JsonEscape(s.partition_field, &out);
  out += ", \"partitions\": [\"event_date\", \"event_hour\"]}";
  out += ",\n  \"source_offsets\": {";
  bool first = true;
  for (const auto& [source, offset] : s.source_offsets) {
    out += first ? "" : ", ";
    first = false;
    JsonEscape(source, &out);
    out += ": " + std::to_string(offset);
  }
  out += "},\n  \"files\": [";
  for (size_t i = 0; i < s.files.size(); ++i) {
    const DataFile& f = s.files[i];
    out += i ? ",\n    " : "\n    ";
    out += "{\"path\": ";
    JsonEscape(f.path, &out);
    out += ", \"partition\": {\"event_date\": ";
    JsonEscape(f.event_date, &out);
    out += ", \"event_hour\": " + std::to_string(f.event_hour) + "}";
    out += ", \"rows\": " + std::to_string(f.rows) + ", \"bytes\": " + std::to_string(f.bytes) +
           ", \"schema_id\": " + std::to_string(f.schema_id) + ", \"columns\": [";
    for (size_t c = 0; c < f.columns.size(); ++c) {
      const FileColumnStats& cs = f.columns[c];
      out += c ? ", " : "";
      out += "{\"field_id\": " + std::to_string(cs.field_id) +
             ", \"null_count\": " + std::to_string(cs.null_count) + ", \"min\": ";
      JsonStat(cs.min, &out);
      out += ", \"max\": ";
      JsonStat(cs.max, &out);
      out += "}";
    }
    out += "]}";
  }
  out += "],\n  \"history\": [";
  for (size_t i = 0; i < s.history.size(); ++i) {
    const SnapshotLogEntry& h = s.history[i];
    out += i ? ",\n    " : "\n    ";
    out += "{\"version\": " + std::to_string(h.version) +
           ", \"committed_at_ms\": " + std::to_string(h.committed_at_ms) + ", \"operation\": ";
    JsonEscape(h.operation, &out);
    out += ", \"added_files\": " + std::to_string(h.added_files) +
           ", \"removed_files\": " + std::to_string(h.removed_files) +
           ", \"added_rows\": " + std::to_string(h.added_rows) + "}";
  }
  out += "]\n}\n";
  return out;
}

Result<TableSnapshot> SnapshotFromJson(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  const simdjson::padded_string padded(json);
  if (auto err = parser.parse(padded).get(root); err) {
    return Status::Corruption(std::string("snapshot metadata is not JSON: ") +
                              simdjson::error_message(err));
  }
  // Every missing or mistyped member turns into one Corruption naming it.
  std::string missing;
  auto str = [&](simdjson::dom::element e, const char* key) -> std::string {
    std::string_view v;
    if (e[key].get_string().get(v) != simdjson::SUCCESS) {
      if (missing.empty()) missing = key;
      return {};
    }
    return std::string(v);
  };
  auto num = [&](simdjson::dom::element e, const char* key) -> int64_t {
    int64_t v;
    if (e[key].get_int64().get(v) != simdjson::SUCCESS) {
      if (missing.empty()) missing = key;
      return 0;
    }
    return v;
  };
  auto arr = [&](simdjson::dom::element e, const char* key) -> simdjson::dom::array {
    simdjson::dom::array a;
    if (e[key].get_array().get(a) != simdjson::SUCCESS && missing.empty()) missing = key;
    return a;
  };

  TableSnapshot s;
  if (str(root, "format") != kFormatName)
    return Status::Corruption("not a tidemark lake table metadata file");
  const int64_t format_version = num(root, "format_version");
  if (format_version != kFormatVersion) {
    return Status::InvalidArgument(
        "table metadata format_version " + std::to_string(format_version) +
        " is not supported (this build reads " + std::to_string(kFormatVersion) + ")");
  }
  s.layer = str(root, "layer");
  s.name = str(root, "table");
  s.version = num(root, "version");
  s.committed_at_ms = num(root, "committed_at_ms");
  simdjson::dom::element schema;
  if (root["schema"].get(schema) != simdjson::SUCCESS)
    return Status::Corruption("snapshot metadata lacks \"schema\"");
  s.schema_id = static_cast<int32_t>(num(schema, "schema_id"));
  s.last_field_id = static_cast<int32_t>(num(schema, "last_field_id"));
  std::map<int32_t, ColumnType> types;
  for (simdjson::dom::element f : arr(schema, "fields")) {
    Field field;
    field.field_id = static_cast<int32_t>(num(f, "id"));
    field.name = str(f, "name");
    const auto type = TypeFromName(str(f, "type"));
    if (!type) return Status::Corruption("field " + field.name + " has an unknown type");
    field.type = *type;
    bool nullable = true;
    if (f["nullable"].get_bool().get(nullable) != simdjson::SUCCESS && missing.empty())
      missing = "nullable";
    field.nullable = nullable;
    types[field.field_id] = field.type;
    s.schema.fields.push_back(std::move(field));
  }
  simdjson::dom::element spec;
  if (root["partition_spec"].get(spec) != simdjson::SUCCESS)
    return Status::Corruption("snapshot metadata lacks \"partition_spec\"");
  s.partition_field = str(spec, "source_field");
  simdjson::dom::object offsets;
  if (root["source_offsets"].get_object().get(offsets) != simdjson::SUCCESS) {
    return Status::Corruption("snapshot metadata lacks \"source_offsets\"");
  }
  for (auto [key, value] : offsets) {
    int64_t v;
    if (value.get_int64().get(v) != simdjson::SUCCESS)
      return Status::Corruption("source offset is not an integer");
    s.source_offsets[std::string(key)] = v;
  }
  for (simdjson::dom::element f : arr(root, "files")) {
    DataFile file;
    file.path = str(f, "path");
    simdjson::dom::element partition;
    if (f["partition"].get(partition) != simdjson::SUCCESS)
      return Status::Corruption("snapshot metadata lacks a file's \"partition\"");
    file.event_date = str(partition, "event_date");
    file.event_hour = static_cast<int32_t>(num(partition, "event_hour"));
    file.rows = num(f, "rows");
    file.bytes = num(f, "bytes");
    file.schema_id = static_cast<int32_t>(num(f, "schema_id"));
    for (simdjson::dom::element c : arr(f, "columns")) {
      FileColumnStats cs;
      cs.field_id = static_cast<int32_t>(num(c, "field_id"));
      cs.null_count = num(c, "null_count");
      const auto type = types.find(cs.field_id);
      if (type != types.end()) {
        simdjson::dom::element v;
        if (c["min"].get(v) == simdjson::SUCCESS) cs.min = StatFromJson(v, type->second);
        if (c["max"].get(v) == simdjson::SUCCESS) cs.max = StatFromJson(v, type->second);
      }
      file.columns.push_back(std::move(cs));
    }
    s.files.push_back(std::move(file));
  }
  for (simdjson::dom::element h : arr(root, "history")) {
    SnapshotLogEntry e;
    e.version = num(h, "version");
    e.committed_at_ms = num(h, "committed_at_ms");
    e.operation = str(h, "operation");
    e.added_files = num(h, "added_files");
    e.removed_files = num(h, "removed_files");
    e.added_rows = num(h, "added_rows");
    s.history.push_back(std::move(e));
  }
  if (!missing.empty())
    return Status::Corruption("snapshot metadata lacks a valid \"" + missing + "\"");
  return s;
}

Result<std::unique_ptr<Table>> Table::Create(const std::string& root, const std::string& layer,
                                             const std::string& name, Schema schema,
                                             const std::string& partition_field, Clock& clock) {
  const std::string dir = root + "/" + layer + "/" + name;
  if (fs::exists(dir + "/metadata/current"))
    return Status::AlreadyExists("table " + dir + " exists");
  const int p = schema.FindField(partition_field);
  if (p < 0 || schema.fields[p].type != ColumnType::kTimestampMillis || schema.fields[p].nullable) {
    return Status::InvalidArgument("partition field " + partition_field +
                                   " must be a non-nullable timestamp column of the schema");
  }
  TableSnapshot s;
  s.layer = layer;
  s.name = name;
  s.version = 0;
  s.partition_field = partition_field;
  std::set<int32_t> ids;
  for (Field& f : schema.fields) {
    if (f.field_id >= 0) ids.insert(f.field_id);
  }
  int32_t next = ids.empty() ? 1 : *ids.rbegin() + 1;
  for (Field& f : schema.fields) {
    if (f.field_id < 0) f.field_id = next++;
  }
  s.last_field_id = next - 1;
  s.schema = std::move(schema);
  RETURN_IF_ERROR(CreateDirectories(dir + "/metadata"));
  RETURN_IF_ERROR(CreateDirectories(dir + "/data"));
  std::unique_ptr<Table> table(new Table(dir, clock));
  s.history.push_back({1, 0, "create", 0, 0, 0});
  RETURN_IF_ERROR(table->WriteSnapshot(std::move(s)));
  return table;
}

Result<std::unique_ptr<Table>> Table::Open(const std::string& root, const std::string& layer,
                                           const std::string& name, Clock& clock) {
  std::unique_ptr<Table> table(new Table(root + "/" + layer + "/" + name, clock));
  ASSIGN_OR_RETURN(const int64_t version, table->ReadCurrentVersion());
  ASSIGN_OR_RETURN(table->current_, table->LoadSnapshot(version));
  return table;
}

Result<int64_t> Table::ReadCurrentVersion() const {
  const std::string path = dir_ + "/metadata/current";
  auto text = ReadFileToString(path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound)
      return Status::NotFound("no table at " + dir_);
    return text.status();
  }
  char* end = nullptr;
  const long long v = std::strtoll(text->c_str(), &end, 10);
  if (end == text->c_str() || v < 1) return Status::Corruption(path + ": not a version number");
  return static_cast<int64_t>(v);
}

Result<TableSnapshot> Table::LoadSnapshot(int64_t version) const {
  const std::string path = dir_ + "/metadata/" + MetadataName(version);
  auto text = ReadFileToString(path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return Status::NotFound(dir_ + ": snapshot " + std::to_string(version) +
                              " does not exist (expired?)");
    }
    return text.status();
  }
  auto snapshot = SnapshotFromJson(*text);
  if (!snapshot.ok())
    return Status(snapshot.status().code(), path + ": " + snapshot.status().message());
  if (snapshot->version != version) {
    return Status::Corruption(path + ": holds version " + std::to_string(snapshot->version));
  }
  return snapshot;
}

Status Table::WriteSnapshot(TableSnapshot s) {
  s.version = current_.version + 1;
  s.committed_at_ms = clock_.NowMillis();
  s.history.back().version = s.version;
  s.history.back().committed_at_ms = s.committed_at_ms;
  const std::string metadata = dir_ + "/metadata/" + MetadataName(s.version);
  if (FaultArmed("lake.commit.before_metadata")) {
    return Status::IOError("fault lake.commit.before_metadata: " + metadata + " not written");
  }
  RETURN_IF_ERROR(WriteFileAtomic(metadata, SnapshotToJson(s)));
  // A crash here leaves v<N>.json unreferenced: `current` still names N-1, and the next
  // commit rewrites v<N>.json.
  if (FaultArmed("lake.commit.before_switch")) {
    return Status::IOError("fault lake.commit.before_switch: " + metadata +
                           " written, not current");
  }
  RETURN_IF_ERROR(WriteFileAtomic(dir_ + "/metadata/current", std::to_string(s.version) + "\n"));
  current_ = std::move(s);
  return Status::Ok();
}

Result<std::vector<DataFile>> Table::WriteFiles(const ColumnBatch& batch,
                                                const ParquetWriterOptions& options) {
  TableFileWriter writer(this, options);
  RETURN_IF_ERROR(writer.Append(batch));
  return writer.Finish();
}

namespace {

int64_t EpochHour(int64_t millis) {
  return (millis >= 0 ? millis : millis - (kMillisPerHour - 1)) / kMillisPerHour;
}

}  // namespace

struct TableFileWriter::OpenFile {
  DataFile file;
  std::unique_ptr<ParquetWriter> writer;
  uint64_t last_append = 0;
};

TableFileWriter::TableFileWriter(Table* table, ParquetWriterOptions options)
    : table_(table), options_(std::move(options)) {}

TableFileWriter::~TableFileWriter() = default;  // open files are orphans; their writers close them

Status TableFileWriter::Append(const ColumnBatch& batch) {
  RETURN_IF_ERROR(failed_);
  const TableSnapshot& current = table_->current_;
  if (!(batch.schema() == current.schema)) {
    return Status::InvalidArgument(table_->dir_ + ": batch schema differs from the table's schema " +
                                   std::to_string(current.schema_id));
  }
  RETURN_IF_ERROR(batch.Validate());
  const int p = current.schema.FindField(current.partition_field);
  const Column& times = batch.column(static_cast<size_t>(p));
  // Rows per partition hour, as runs of consecutive rows.
  std::map<int64_t, std::vector<std::pair<size_t, size_t>>> runs;
  for (size_t r = 0; r < batch.num_rows();) {
    const int64_t hour = EpochHour(times.Int64At(r));
    size_t end = r + 1;
    while (end < batch.num_rows() && EpochHour(times.Int64At(end)) == hour) ++end;
    runs[hour].emplace_back(r, end);
    r = end;
  }
  ++appends_;
  for (const auto& [hour, ranges] : runs) {
    auto file = FileFor(hour);
    if (!file.ok()) return failed_ = file.status();
    OpenFile& f = **file;
    f.last_append = appends_;
    Status st;
    if (ranges.size() == 1 && ranges[0].first == 0 && ranges[0].second == batch.num_rows()) {
      st = f.writer->Append(batch);
    } else {
      if (part_ == nullptr || !(part_->schema() == current.schema)) {
        part_ = std::make_unique<ColumnBatch>(current.schema);
      }
      part_->Clear();
      for (const auto& [begin, end] : ranges) {
        for (size_t c = 0; c < part_->num_columns(); ++c)
          part_->column(c).AppendRange(batch.column(c), begin, end);
      }
      st = f.writer->Append(*part_);
    }
    if (!st.ok()) return failed_ = st;
  }
  return Status::Ok();
}

// The open file of `hour`, opened now if it is not (closing the file that has waited longest
// for a row when kMaxOpenFiles are open).
Result<TableFileWriter::OpenFile*> TableFileWriter::FileFor(int64_t hour) {
  if (auto it = open_.find(hour); it != open_.end()) return it->second.get();
  if (open_.size() >= kMaxOpenFiles) {
    auto oldest = open_.begin();
    for (auto o = open_.begin(); o != open_.end(); ++o) {
      if (o->second->last_append < oldest->second->last_append) oldest = o;
    }
    RETURN_IF_ERROR(CloseFile(oldest->first));
  }
  const TableSnapshot& current = table_->current_;
  auto f = std::make_unique<OpenFile>();
  const int64_t start_ms = hour * kMillisPerHour;
  f->file.event_date = FormatDate(start_ms);
  f->file.event_hour = static_cast<int32_t>(((start_ms % kMillisPerDay) + kMillisPerDay) %
                                            kMillisPerDay / kMillisPerHour);
  char hour_text[8];
  std::snprintf(hour_text, sizeof hour_text, "%02d", f->file.event_hour);
  const std::string partition_dir = "data/event_date=" + f->file.event_date + "/event_hour=" + hour_text;
  char name[64];
  std::snprintf(name, sizeof name, "%08lld-%05lld-", static_cast<long long>(current.version + 1),
                static_cast<long long>(++table_->file_sequence_));
  f->file.path = partition_dir + "/" + name + RandomHex(8) + ".parquet";
  f->file.schema_id = current.schema_id;
  RETURN_IF_ERROR(CreateDirectories(table_->dir_ + "/" + partition_dir));
  ASSIGN_OR_RETURN(f->writer, ParquetWriter::Open(table_->dir_ + "/" + f->file.path, current.schema, options_));
  return open_.emplace(hour, std::move(f)).first->second.get();
}

Status TableFileWriter::CloseFile(int64_t hour) {
  auto it = open_.find(hour);
  OpenFile& f = *it->second;
  ASSIGN_OR_RETURN(const ParquetFileSummary summary, f.writer->Close());
  f.file.rows = summary.num_rows;
  f.file.bytes = summary.file_bytes;
  const Schema& schema = table_->current_.schema;
  for (size_t c = 0; c < summary.columns.size(); ++c) {
    const ColumnStats& cs = summary.columns[c];
    f.file.columns.push_back({schema.fields[c].field_id, cs.null_count.value_or(0), cs.min, cs.max});
  }
  closed_.push_back(std::move(f.file));
  open_.erase(it);
  return Status::Ok();
}

Result<std::vector<DataFile>> TableFileWriter::Finish() {
  RETURN_IF_ERROR(failed_);
  while (!open_.empty()) {
    if (Status st = CloseFile(open_.begin()->first); !st.ok()) return failed_ = st;
  }
  return std::move(closed_);
}

Status Table::Commit(const std::vector<DataFile>& added, const std::vector<std::string>& removed,
                     const std::map<std::string, int64_t>& source_offsets) {
  ASSIGN_OR_RETURN(const int64_t on_disk, ReadCurrentVersion());
  if (on_disk != current_.version) {
    return Status::FailedPrecondition(dir_ + ": table moved to version " + std::to_string(on_disk) +
                                      " since this handle's version " +
                                      std::to_string(current_.version));
  }
  TableSnapshot next = current_;
  const std::set<std::string> gone(removed.begin(), removed.end());
  size_t found = 0;
  std::erase_if(next.files, [&](const DataFile& f) {
    const bool drop = gone.count(f.path) > 0;
    found += drop;
    return drop;
  });
  if (found != gone.size()) {
    return Status::InvalidArgument(dir_ +
                                   ": commit removes files the current snapshot does not hold");
  }
  int64_t rows = 0;
  for (const DataFile& f : added) {
    rows += f.rows;
    next.files.push_back(f);
  }
  for (const auto& [source, offset] : source_offsets) {
    auto it = next.source_offsets.find(source);
    if (it != next.source_offsets.end() && offset < it->second) {
      return Status::InvalidArgument(dir_ + ": source offset for " + source + " moves back from " +
                                     std::to_string(it->second) + " to " + std::to_string(offset));
    }
    next.source_offsets[source] = offset;
  }
  next.history.push_back({0, 0, removed.empty() ? "append" : "replace",
                          static_cast<int64_t>(added.size()), static_cast<int64_t>(removed.size()),
                          rows});
  return WriteSnapshot(std::move(next));
}

Status Table::AddColumn(const std::string& name, ColumnType type) {
  if (current_.schema.FindField(name) >= 0)
    return Status::AlreadyExists(dir_ + ": column " + name + " exists");
  ASSIGN_OR_RETURN(const int64_t on_disk, ReadCurrentVersion());
  if (on_disk != current_.version) {
    return Status::FailedPrecondition(dir_ + ": table moved to version " + std::to_string(on_disk) +
                                      " since this handle's version " +
                                      std::to_string(current_.version));
  }
  TableSnapshot next = current_;
  next.last_field_id += 1;
  next.schema_id += 1;
  next.schema.fields.push_back({name, type, true, next.last_field_id});
  next.history.push_back({0, 0, "add_column", 0, 0, 0});
  return WriteSnapshot(std::move(next));
}

Result<ColumnBatch> Table::Scan(const std::vector<std::string>& columns,
                                const std::vector<ColumnRange>& ranges) const {
  Schema out_schema;
  if (columns.empty()) {
    out_schema = current_.schema;
  } else {
    for (const std::string& c : columns) {
      const int i = current_.schema.FindField(c);
      if (i < 0) return Status::NotFound(dir_ + ": no column " + c);
      out_schema.fields.push_back(current_.schema.fields[i]);
    }
  }
  std::vector<std::pair<int32_t, const ColumnRange*>> range_ids;
  for (const ColumnRange& r : ranges) {
    const int i = current_.schema.FindField(r.column);
    if (i < 0) return Status::NotFound(dir_ + ": no column " + r.column);
    range_ids.emplace_back(current_.schema.fields[i].field_id, &r);
  }
  ColumnBatch out(out_schema);
  for (const DataFile& file : current_.files) {
    // File-level skipping with the statistics kept in the snapshot.
    bool keep = true;
    for (const auto& [id, r] : range_ids) {
      auto cs = std::find_if(file.columns.begin(), file.columns.end(),
                             [&](const FileColumnStats& c) { return c.field_id == id; });
      if (cs == file.columns.end() || cs->null_count >= file.rows) {
        keep = false;  // the column is absent (all NULL) or only NULL in this file
        break;
      }
      if (r->lower.index() != 0 && cs->max.index() != 0 && CompareStatValues(cs->max, r->lower) < 0)
        keep = false;
      if (r->upper.index() != 0 && cs->min.index() != 0 && CompareStatValues(cs->min, r->upper) > 0)
        keep = false;
    }
    if (!keep) continue;
    ASSIGN_OR_RETURN(auto reader, ParquetReader::Open(dir_ + "/" + file.path));
    // Resolve table columns to file columns by field id; names may differ, columns may be new.
    std::vector<int> projection;
    std::vector<int> position(out_schema.fields.size(), -1);
    for (size_t c = 0; c < out_schema.fields.size(); ++c) {
      const auto& fields = reader->schema().fields;
      for (size_t k = 0; k < fields.size(); ++k) {
        if (fields[k].field_id == out_schema.fields[c].field_id) {
          if (fields[k].type != out_schema.fields[c].type) {
            return Status::Corruption(dir_ + "/" + file.path + ": column " + fields[k].name +
                                      " has type " + std::string(ColumnTypeName(fields[k].type)) +
                                      ", the table says " +
                                      std::string(ColumnTypeName(out_schema.fields[c].type)));
          }
          position[c] = static_cast<int>(projection.size());
          projection.push_back(static_cast<int>(k));
        }
      }
    }
    std::vector<ColumnRange> file_ranges;
    for (const auto& [id, r] : range_ids) {
      for (const Field& f : reader->schema().fields) {
        if (f.field_id == id) file_ranges.push_back({f.name, r->lower, r->upper});
      }
    }
    ASSIGN_OR_RETURN(const std::vector<int> groups, reader->SelectRowGroups(file_ranges));
    for (const int g : groups) {
      ASSIGN_OR_RETURN(const ColumnBatch part, reader->ReadRowGroup(g, projection));
      // From the footer, not the batch: a projection of only new columns reads no column.
      const size_t rows = static_cast<size_t>(reader->row_group(g).num_rows);
      for (size_t c = 0; c < out_schema.fields.size(); ++c) {
        if (position[c] >= 0) {
          out.column(c).AppendRange(part.column(static_cast<size_t>(position[c])), 0, rows);
        } else {
          for (size_t r = 0; r < rows; ++r) out.column(c).AppendNull();
        }
      }
    }
  }
  return out;
}

Result<ExpireResult> Table::ExpireSnapshots(int64_t keep_last, int64_t orphan_grace_ms) {
  keep_last = std::max<int64_t>(keep_last, 1);
  ExpireResult result;
  const int64_t oldest_kept = current_.version - keep_last + 1;
  std::set<std::string> referenced;
  std::vector<int64_t> expired;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_ + "/metadata", ec)) {
    const std::string name = entry.path().filename().string();
    long long v = 0;
    if (std::sscanf(name.c_str(), "v%lld.json", &v) != 1 || name != MetadataName(v)) continue;
    if (v < oldest_kept) {
      expired.push_back(v);
    } else if (v <= current_.version) {
      ASSIGN_OR_RETURN(const TableSnapshot kept, LoadSnapshot(v));
      for (const DataFile& f : kept.files) referenced.insert(f.path);
    }
  }
  if (ec) return Status::IOError("list " + dir_ + "/metadata: " + ec.message());
  for (const DataFile& f : current_.files) referenced.insert(f.path);
  std::sort(expired.begin(), expired.end());
  // Metadata first: a crash midway leaves data files that nothing kept references, which
  // the next expiry removes; never a kept snapshot that names a deleted file.
  for (const int64_t v : expired) {
    const std::string path = dir_ + "/metadata/" + MetadataName(v);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return ErrnoStatus("unlink(" + path + ")", errno);
    result.expired_versions.push_back(v);
  }
  if (!expired.empty()) RETURN_IF_ERROR(FsyncDirectory(dir_ + "/metadata"));
  // File ages compare modification times with the system clock, the file system's own.
  const int64_t now_ms = SystemClock::Instance().NowMillis();
  for (auto it = fs::recursive_directory_iterator(dir_ + "/data", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file() || it->path().extension() != ".parquet") continue;
    const std::string relative = fs::relative(it->path(), dir_).string();
    if (referenced.count(relative) > 0) continue;
    struct stat st;
    if (::stat(it->path().c_str(), &st) != 0) continue;
    const int64_t mtime_ms =
        static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
    if (now_ms - mtime_ms < orphan_grace_ms) continue;  // perhaps a commit in progress
    if (::unlink(it->path().c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus("unlink(" + it->path().string() + ")", errno);
    }
    result.deleted_files.push_back(relative);
  }
  if (ec) return Status::IOError("list " + dir_ + "/data: " + ec.message());
  std::sort(result.deleted_files.begin(), result.deleted_files.end());
  return result;
}

}  // namespace tidemark::lake
