#include "cli/lake_command.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "common/status.h"
#include "common/time_format.h"
#include "lake/table.h"

namespace tidemark::cli {
namespace {

namespace fs = std::filesystem;

std::string LakeRoot(const LakeCommandOptions& o) { return o.data_dir + "/lake"; }

int Error(const std::string& command, const Status& st) {
  std::fprintf(stderr, "tidemark lake %s: %s\n", command.c_str(), st.ToString().c_str());
  return 1;
}

// The tables the options name: --table, or every table directory of the layer.
Result<std::vector<std::unique_ptr<lake::Table>>> OpenTables(const LakeCommandOptions& o) {
  std::vector<std::string> names;
  if (!o.table.empty()) {
    names.push_back(o.table);
  } else {
    const fs::path layer_dir = fs::path(LakeRoot(o)) / o.layer;
    std::error_code ec;
    if (!fs::is_directory(layer_dir, ec)) {
      return Status::NotFound("no lake layer at " + layer_dir.string());
    }
    for (const auto& entry : fs::directory_iterator(layer_dir, ec)) {
      if (entry.is_directory() && fs::exists(entry.path() / "metadata" / "current")) {
        names.push_back(entry.path().filename().string());
      }
    }
    std::sort(names.begin(), names.end());
  }
  std::vector<std::unique_ptr<lake::Table>> tables;
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(auto table, lake::Table::Open(LakeRoot(o), o.layer, name));
    tables.push_back(std::move(table));
  }
  return tables;
}

struct Totals {
  int64_t files = 0, rows = 0, bytes = 0;
};

Totals TotalsOf(const lake::TableSnapshot& s) {
  Totals t;
  for (const lake::DataFile& f : s.files) {
    ++t.files;
    t.rows += f.rows;
    t.bytes += f.bytes;
  }
  return t;
}

std::string StatText(const lake::StatValue& v, lake::ColumnType type) {
  return std::visit(
      [type](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return "-";
        } else if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return x.size() > 40 ? x.substr(0, 40) + "…" : x;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return type == lake::ColumnType::kTimestampMillis ? FormatRfc3339Millis(x)
                                                             : std::to_string(x);
        } else {
          return fmt::format("{}", x);
        }
      },
      v);
}

}  // namespace

int LakeList(const LakeCommandOptions& o) {
  auto tables = OpenTables(o);
  if (!tables.ok()) return Error("ls", tables.status());
  fmt::print("{:<28} {:>8} {:>8} {:>12} {:>14} {:>8}  {}\n", "TABLE", "VERSION", "FILES", "ROWS",
             "BYTES", "COLUMNS", "COMMITTED");
  for (const auto& table : *tables) {
    const lake::TableSnapshot& s = table->current();
    const Totals t = TotalsOf(s);
    fmt::print("{:<28} {:>8} {:>8} {:>12} {:>14} {:>8}  {}\n", s.layer + "/" + s.name, s.version,
               t.files, t.rows, t.bytes, s.schema.fields.size(), FormatRfc3339Millis(s.committed_at_ms));
  }
  return 0;
}

int LakeInspect(const LakeCommandOptions& o) {
  auto tables = OpenTables(o);
  if (!tables.ok()) return Error("inspect", tables.status());
  for (const auto& table : *tables) {
    const lake::TableSnapshot& s = table->current();
    const Totals t = TotalsOf(s);
    fmt::print("table {}/{}: version {}, schema {}, committed {}\n", s.layer, s.name, s.version,
               s.schema_id, FormatRfc3339Millis(s.committed_at_ms));
    fmt::print("directory {}\n", table->directory());
    fmt::print("{} files, {} rows, {} bytes\n\n", t.files, t.rows, t.bytes);

    fmt::print("schema (last field id {}):\n", s.last_field_id);
    fmt::print("  {:>4}  {:<36} {:<14} {}\n", "ID", "NAME", "TYPE", "NULLABLE");
    for (const lake::Field& f : s.schema.fields) {
      fmt::print("  {:>4}  {:<36} {:<14} {}\n", f.field_id, f.name, lake::ColumnTypeName(f.type),
                 f.nullable ? "yes" : "no");
    }

    fmt::print("\npartitions (UTC date and hour of {}):\n", s.partition_field);
    std::map<std::pair<std::string, int>, Totals> partitions;
    for (const lake::DataFile& f : s.files) {
      Totals& p = partitions[{f.event_date, f.event_hour}];
      ++p.files;
      p.rows += f.rows;
      p.bytes += f.bytes;
    }
    fmt::print("  {:<10} {:>4} {:>8} {:>12} {:>14}\n", "DATE", "HOUR", "FILES", "ROWS", "BYTES");
    for (const auto& [key, p] : partitions) {
      fmt::print("  {:<10} {:>4} {:>8} {:>12} {:>14}\n", key.first, key.second, p.files, p.rows, p.bytes);
    }

    fmt::print("\nsource offsets (next log offset to read):\n");
    if (s.source_offsets.empty()) fmt::print("  (none)\n");
    for (const auto& [source, offset] : s.source_offsets) fmt::print("  {:<24} {}\n", source, offset);

    fmt::print("\nfiles:\n");
    const int pf = s.schema.FindField(s.partition_field);
    const int32_t partition_field_id = pf >= 0 ? s.schema.fields[pf].field_id : -1;
    for (const lake::DataFile& f : s.files) {
      std::string range;
      for (const lake::FileColumnStats& c : f.columns) {
        if (c.field_id == partition_field_id) {
          range = StatText(c.min, lake::ColumnType::kTimestampMillis) + " .. " +
                  StatText(c.max, lake::ColumnType::kTimestampMillis);
        }
      }
      fmt::print("  {}  rows {}  bytes {}  schema {}  {} {}\n", f.path, f.rows, f.bytes, f.schema_id,
                 s.partition_field, range);
    }
    fmt::print("\n");
  }
  return 0;
}

int LakeSnapshots(const LakeCommandOptions& o) {
  auto tables = OpenTables(o);
  if (!tables.ok()) return Error("snapshots", tables.status());
  for (const auto& table : *tables) {
    const lake::TableSnapshot& s = table->current();
    fmt::print("table {}/{} (current version {}):\n", s.layer, s.name, s.version);
    fmt::print("  {:>8}  {:<24}  {:<10} {:>8} {:>8} {:>12}  {}\n", "VERSION", "COMMITTED", "OPERATION",
               "+FILES", "-FILES", "+ROWS", "ON DISK");
    for (const lake::SnapshotLogEntry& e : s.history) {
      const bool on_disk = e.version == s.version || table->LoadSnapshot(e.version).ok();
      fmt::print("  {:>8}  {:<24}  {:<10} {:>8} {:>8} {:>12}  {}\n", e.version,
                 FormatRfc3339Millis(e.committed_at_ms), e.operation, e.added_files, e.removed_files,
                 e.added_rows, on_disk ? "yes" : "expired");
    }
    fmt::print("\n");
  }
  return 0;
}

int LakeExpire(const LakeCommandOptions& o) {
  if (o.keep < 1) return Error("expire", Status::InvalidArgument("--keep must be at least 1"));
  auto tables = OpenTables(o);
  if (!tables.ok()) return Error("expire", tables.status());
  int rc = 0;
  for (const auto& table : *tables) {
    const lake::TableSnapshot& s = table->current();
    auto result = table->ExpireSnapshots(o.keep, o.grace_ms);
    if (!result.ok()) {
      rc = Error("expire", result.status());
      continue;
    }
    fmt::print("{}/{}: expired {} snapshots, deleted {} unreferenced data files (kept the newest {})\n",
               s.layer, s.name, result->expired_versions.size(), result->deleted_files.size(), o.keep);
  }
  return rc;
}

}  // namespace tidemark::cli
