// Independent check of the Parquet writer: files written here are read by DuckDB (through
// tests/lake/check_parquet.mjs and @duckdb/node-api), which compares what it reads with the
// values, statistics and query answers this test expects. Exit code 77 (ctest's skip) when
// the node packages are not installed (scripts/install-test-tools.sh installs them).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "lake/parquet.h"

#ifndef TIDEMARK_SOURCE_DIR
#error "TIDEMARK_SOURCE_DIR must point at the repository root"
#endif

namespace tidemark::lake {
namespace {

const std::string kSourceDir = TIDEMARK_SOURCE_DIR;
const std::string kNodeModules = kSourceDir + "/tests/node/node_modules/@duckdb/node-api";
const std::string kScript = kSourceDir + "/tests/lake/check_parquet.mjs";

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// JSON for one value as the node script compares it: BIGINT and timestamps (epoch ms) as
// decimal strings, because JSON numbers lose precision past 2^53.
std::string JsonValue(const Column& c, size_t row) {
  if (c.IsNull(row)) return "null";
  switch (c.type()) {
    case ColumnType::kBoolean:
      return c.BoolAt(row) ? "true" : "false";
    case ColumnType::kInt32:
      return std::to_string(c.Int32At(row));
    case ColumnType::kInt64:
    case ColumnType::kTimestampMillis:
      return "\"" + std::to_string(c.Int64At(row)) + "\"";
    case ColumnType::kDouble: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", c.DoubleAt(row));
      return buf;
    }
    case ColumnType::kString:
      return JsonString(c.StringAt(row));
  }
  return "null";
}

std::string JsonStat(const StatValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return "null";
        } else if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return JsonString(x);
        } else if constexpr (std::is_same_v<T, double>) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%.17g", x);
          return buf;
        } else {
          return "\"" + std::to_string(x) + "\"";
        }
      },
      v);
}

std::string DuckType(ColumnType t) {
  switch (t) {
    case ColumnType::kBoolean:
      return "BOOLEAN";
    case ColumnType::kInt32:
      return "INTEGER";
    case ColumnType::kInt64:
      return "BIGINT";
    case ColumnType::kDouble:
      return "DOUBLE";
    case ColumnType::kString:
      return "VARCHAR";
    case ColumnType::kTimestampMillis:
      return "TIMESTAMP WITH TIME ZONE";
  }
  return "";
}

Schema EventSchema() {
  return Schema{{
      {"event_id", ColumnType::kString, false, 1},
      {"event_type", ColumnType::kString, false, 2},
      {"platform", ColumnType::kString, true, 3},
      {"event_time", ColumnType::kTimestampMillis, false, 4},
      {"received_at", ColumnType::kTimestampMillis, true, 5},
      {"schema_version", ColumnType::kInt32, true, 6},
      {"sequence", ColumnType::kInt64, false, 7},
      {"amount", ColumnType::kDouble, true, 8},
      {"is_test", ColumnType::kBoolean, true, 9},
      {"properties", ColumnType::kString, true, 10},
      {"campaign", ColumnType::kString, true, 11},
  }};
}

// Deterministic event-like rows with NULLs, unicode, empty strings and extreme integers.
ColumnBatch EventRows(size_t rows) {
  static const char* kTypes[] = {"page_view", "click", "purchase", "signup", "app_open"};
  static const char* kPlatforms[] = {"web", "ios", "android", "server"};
  ColumnBatch b(EventSchema());
  for (size_t i = 0; i < rows; ++i) {
    b.column(0).AppendString("evt-" + std::to_string(i * 2654435761u % 1000003) + "-" +
                             std::to_string(i));
    b.column(1).AppendString(kTypes[(i * 7 + i / 3) % 5]);
    if (i % 10 == 9)
      b.column(2).AppendNull();
    else
      b.column(2).AppendString(kPlatforms[i % 4]);
    b.column(3).AppendInt64(1'775'800'800'000 + static_cast<int64_t>(i) * 997);
    if (i % 17 == 0)
      b.column(4).AppendNull();
    else
      b.column(4).AppendInt64(1'775'800'800'000 + static_cast<int64_t>(i) * 997 + 250);
    if (i % 5 == 4)
      b.column(5).AppendNull();
    else
      b.column(5).AppendInt32(i == 1 ? std::numeric_limits<int32_t>::min()
                                     : static_cast<int32_t>(i % 4));
    b.column(6).AppendInt64(i == 2 ? std::numeric_limits<int64_t>::max()
                                   : static_cast<int64_t>(i) * 1'000'000'000'039 - 7);
    if (i % 3 == 0)
      b.column(7).AppendNull();
    else
      b.column(7).AppendDouble(i == 5 ? -0.0 : static_cast<double>(i % 1000) * 0.37 - 12.5);
    if (i % 11 == 3)
      b.column(8).AppendNull();
    else
      b.column(8).AppendBool(i % 2 == 0);
    if (i % 13 == 7) {
      b.column(9).AppendNull();
    } else if (i % 13 == 8) {
      b.column(9).AppendString("");
    } else {
      b.column(9).AppendString(
          "{\"page\":\"/p/" + std::to_string(i % 50) +
          "\",\"title\":\"Grüße \\\"quoted\\\" ☃\",\"n\":" + std::to_string(i) + "}");
    }
    // Few values first, then unique ones: the dictionary overflows mid-chunk.
    if (i % 8 == 1) {
      b.column(10).AppendNull();
    } else if (i % 10'000 < 4'000) {
      b.column(10).AppendString("spring-" + std::to_string(i % 6));
    } else {
      b.column(10).AppendString("campaign-" + std::to_string(i) + "-" + std::string(i % 5, 'x'));
    }
  }
  return b;
}

struct FileCase {
  std::string name;
  ParquetWriterOptions options;
  size_t rows;
};

class ParquetDuckDbCheck : public ::testing::Test {};

TEST_F(ParquetDuckDbCheck, DuckDbReadsTheWritersFilesExactly) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "lake_duckdb_XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const std::string dir = tmpl;

  FileCase zstd{"events_zstd.parquet", {}, 25'000};
  zstd.options.row_group_max_rows = 10'000;       // three row groups, the last one partial
  zstd.options.page_max_bytes = 16 << 10;         // several pages per chunk
  zstd.options.dictionary_max_bytes = 64 << 10;   // event_id falls back to PLAIN
  zstd.options.statistics_max_string_bytes = 24;  // properties' statistics are truncated
  FileCase raw{"events_uncompressed.parquet", {}, 4'000};
  raw.options.compression = Compression::kUncompressed;
  raw.options.delta_int64 = false;  // INT64 and TIMESTAMP pages PLAIN here, DELTA above

  std::ostringstream json;
  json << "{\"files\":[";
  bool first_file = true;
  for (const FileCase& fc : {zstd, raw}) {
    const std::string path = dir + "/" + fc.name;
    const ColumnBatch batch = EventRows(fc.rows);
    auto writer = ParquetWriter::Open(path, batch.schema(), fc.options);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ASSERT_TRUE((*writer)->Append(batch).ok());
    ASSERT_TRUE((*writer)->Close().ok());
    auto reader = ParquetReader::Open(path);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    const Schema& schema = batch.schema();

    json << (first_file ? "" : ",") << "{\"path\":" << JsonString(path)
         << ",\"num_rows\":" << fc.rows << ",\"compression\":\""
         << (fc.options.compression == Compression::kZstd ? "ZSTD" : "UNCOMPRESSED") << "\""
         << ",\"columns\":[";
    first_file = false;
    for (size_t c = 0; c < schema.fields.size(); ++c) {
      json << (c ? "," : "") << "{\"name\":" << JsonString(schema.fields[c].name)
           << ",\"duck_type\":\"" << DuckType(schema.fields[c].type) << "\""
           << ",\"timestamp\":"
           << (schema.fields[c].type == ColumnType::kTimestampMillis ? "true" : "false")
           << ",\"field_id\":" << schema.fields[c].field_id
           << ",\"null_count\":" << batch.column(c).null_count() << "}";
    }
    json << "],\"rows\":[";
    bool first_row = true;
    for (size_t r = 0; r < fc.rows; r += (r < 40 ? 1 : 379)) {
      json << (first_row ? "" : ",") << "{\"index\":" << r << ",\"values\":[";
      first_row = false;
      for (size_t c = 0; c < schema.fields.size(); ++c)
        json << (c ? "," : "") << JsonValue(batch.column(c), r);
      json << "]}";
    }
    json << "],\"row_groups\":[";
    for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
      const RowGroupInfo& rg = (*reader)->row_group(g);
      json << (g ? "," : "") << "{\"num_rows\":" << rg.num_rows << ",\"columns\":[";
      for (size_t c = 0; c < rg.columns.size(); ++c) {
        const ColumnStats& s = rg.columns[c];
        json << (c ? "," : "") << "{\"min\":" << JsonStat(s.min) << ",\"max\":" << JsonStat(s.max)
             << ",\"null_count\":" << s.null_count.value_or(-1)
             << ",\"dictionary\":" << (rg.dictionary_encoded[c] ? "true" : "false") << "}";
      }
      json << "]}";
    }
    // Filter queries and their answers computed here from the batch.
    int64_t purchases_on_ios = 0, window = 0, test_with_amount = 0;
    double amount_sum = 0;
    const int64_t lo = 1'775'800'800'000 + 1000 * 997, hi = lo + 2000 * 997;
    for (size_t r = 0; r < fc.rows; ++r) {
      if (batch.column(1).StringAt(r) == "purchase" && !batch.column(2).IsNull(r) &&
          batch.column(2).StringAt(r) == "ios" && !batch.column(5).IsNull(r) &&
          batch.column(5).Int32At(r) >= 1) {
        ++purchases_on_ios;
      }
      const int64_t t = batch.column(3).Int64At(r);
      if (t >= lo && t < hi) ++window;
      if (!batch.column(8).IsNull(r) && batch.column(8).BoolAt(r) && !batch.column(7).IsNull(r)) {
        ++test_with_amount;
        amount_sum += batch.column(7).DoubleAt(r);
      }
    }
    char sum_text[32];
    std::snprintf(sum_text, sizeof sum_text, "%.3f", amount_sum);
    json << "],\"queries\":["
         << "{\"sql\":"
         << JsonString(
                "SELECT count(*)::VARCHAR FROM read_parquet($file) WHERE event_type = 'purchase' "
                "AND platform = 'ios' AND schema_version >= 1")
         << ",\"expected\":\"" << purchases_on_ios << "\"},"
         << "{\"sql\":"
         << JsonString(
                "SELECT count(*)::VARCHAR FROM read_parquet($file) WHERE event_time >= "
                "to_timestamp(" +
                std::to_string(lo / 1000) + ") AND event_time < to_timestamp(" +
                std::to_string(hi / 1000) + ")")
         << ",\"expected\":\"" << window << "\"},"
         << "{\"sql\":"
         << JsonString(
                "SELECT count(amount)::VARCHAR || ' ' || printf('%.3f', sum(amount)) FROM "
                "read_parquet($file) WHERE is_test")
         << ",\"expected\":\"" << test_with_amount << " " << sum_text << "\"}"
         << "]}";
  }
  const std::string duckdb_copy = dir + "/written_by_duckdb.parquet";
  json << "],\"duckdb_copy_to\":" << JsonString(duckdb_copy) << "}";
  const std::string expected_path = dir + "/expected.json";
  std::ofstream(expected_path) << json.str();

  const std::string command = "node " + kScript + " " + expected_path + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = ::pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  std::printf("%s", output.c_str());

  // Our reader on DuckDB's file: the same rows, value for value (timestamps arrive in
  // microseconds and are read back as milliseconds).
  auto duck = ParquetReader::Open(duckdb_copy);
  ASSERT_TRUE(duck.ok()) << duck.status().ToString();
  EXPECT_GT((*duck)->num_row_groups(), 1);
  const ColumnBatch want = EventRows(zstd.rows);
  ASSERT_EQ((*duck)->schema().fields.size(), want.num_columns());
  size_t row = 0;
  for (int g = 0; g < (*duck)->num_row_groups(); ++g) {
    auto got = (*duck)->ReadRowGroup(g);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    for (size_t r = 0; r < got->num_rows(); ++r, ++row) {
      for (size_t c = 0; c < want.num_columns(); ++c) {
        ASSERT_EQ(JsonValue(got->column(c), r), JsonValue(want.column(c), row))
            << "DuckDB's file, row " << row << " column " << want.schema().fields[c].name;
      }
    }
  }
  EXPECT_EQ(row, zstd.rows);
  if (std::getenv("TIDEMARK_KEEP_TMP") == nullptr) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tidemark::lake

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (!std::filesystem::exists(tidemark::lake::kNodeModules)) {
    std::printf(
        "SKIPPED: %s is missing; run scripts/install-test-tools.sh to install the DuckDB "
        "reader this check needs\n",
        tidemark::lake::kNodeModules.c_str());
    return 77;
  }
  return RUN_ALL_TESTS();
}
