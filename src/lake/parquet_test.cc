#include "lake/parquet.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>

namespace tidemark::lake {
namespace {

class ParquetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lake_parquet_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Writes batch to a file and returns its summary.
  ParquetFileSummary Write(const std::string& path, const ColumnBatch& batch,
                           ParquetWriterOptions options = {}) {
    auto writer = ParquetWriter::Open(path, batch.schema(), options);
    EXPECT_TRUE(writer.ok()) << writer.status().ToString();
    if (!writer.ok()) return {};
    Status s = (*writer)->Append(batch);
    EXPECT_TRUE(s.ok()) << s.ToString();
    auto summary = (*writer)->Close();
    EXPECT_TRUE(summary.ok()) << summary.status().ToString();
    return summary.ok() ? *summary : ParquetFileSummary{};
  }

  std::unique_ptr<ParquetReader> Open(const std::string& path) {
    auto reader = ParquetReader::Open(path);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    return reader.ok() ? std::move(reader).value() : nullptr;
  }

  // All rows of all row groups of a file, as one batch.
  ColumnBatch ReadAll(ParquetReader& reader, const std::vector<int>& columns) {
    Schema projected;
    for (int c : columns) projected.fields.push_back(reader.schema().fields[c]);
    ColumnBatch all(projected);
    for (int g = 0; g < reader.num_row_groups(); ++g) {
      auto batch = reader.ReadRowGroup(g, columns);
      EXPECT_TRUE(batch.ok()) << batch.status().ToString();
      if (!batch.ok()) break;
      for (size_t c = 0; c < columns.size(); ++c) {
        all.column(c).AppendRange(batch->column(c), 0, batch->num_rows());
      }
    }
    return all;
  }

  std::string dir_;
};

void ExpectColumnsEqual(const Column& want, const Column& got, const std::string& name) {
  ASSERT_EQ(want.size(), got.size()) << name;
  ASSERT_EQ(want.null_count(), got.null_count()) << name;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(want.IsNull(i), got.IsNull(i)) << name << " row " << i;
    if (want.IsNull(i)) continue;
    switch (want.type()) {
      case ColumnType::kBoolean:
        ASSERT_EQ(want.BoolAt(i), got.BoolAt(i)) << name << " row " << i;
        break;
      case ColumnType::kInt32:
        ASSERT_EQ(want.Int32At(i), got.Int32At(i)) << name << " row " << i;
        break;
      case ColumnType::kInt64:
      case ColumnType::kTimestampMillis:
        ASSERT_EQ(want.Int64At(i), got.Int64At(i)) << name << " row " << i;
        break;
      case ColumnType::kDouble:
        if (std::isnan(want.DoubleAt(i))) {
          ASSERT_TRUE(std::isnan(got.DoubleAt(i))) << name << " row " << i;
        } else {
          ASSERT_EQ(std::signbit(want.DoubleAt(i)), std::signbit(got.DoubleAt(i)));
          ASSERT_EQ(want.DoubleAt(i), got.DoubleAt(i)) << name << " row " << i;
        }
        break;
      case ColumnType::kString:
        ASSERT_EQ(want.StringAt(i), got.StringAt(i)) << name << " row " << i;
        break;
    }
  }
}

void ExpectBatchesEqual(const ColumnBatch& want, const ColumnBatch& got) {
  ASSERT_EQ(want.num_columns(), got.num_columns());
  for (size_t c = 0; c < want.num_columns(); ++c) {
    ExpectColumnsEqual(want.column(c), got.column(c), want.schema().fields[c].name);
  }
}

std::vector<int> AllColumns(const Schema& schema) {
  std::vector<int> v(schema.fields.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int>(i);
  return v;
}

Schema EveryTypeSchema() {
  return Schema{{
      {"flag", ColumnType::kBoolean, true, 1},
      {"small", ColumnType::kInt32, true, 2},
      {"big", ColumnType::kInt64, true, 3},
      {"ratio", ColumnType::kDouble, true, 4},
      {"name", ColumnType::kString, true, 5},
      {"at", ColumnType::kTimestampMillis, true, 6},
      {"id", ColumnType::kInt64, false, 7},
      {"label", ColumnType::kString, false, 8},
  }};
}

// Rows with every type, NULLs in a pattern per column, and edge values.
ColumnBatch EveryTypeBatch(size_t rows) {
  ColumnBatch b(EveryTypeSchema());
  for (size_t i = 0; i < rows; ++i) {
    if (i % 7 == 3)
      b.column(0).AppendNull();
    else
      b.column(0).AppendBool(i % 3 == 0);
    if (i % 5 == 1)
      b.column(1).AppendNull();
    else
      b.column(1).AppendInt32(i == 0 ? std::numeric_limits<int32_t>::min()
                                     : static_cast<int32_t>(i * 31) - 500);
    if (i % 11 == 2)
      b.column(2).AppendNull();
    else
      b.column(2).AppendInt64(i == 4 ? std::numeric_limits<int64_t>::max()
                                     : static_cast<int64_t>(i) * -1'000'000'007);
    if (i % 13 == 5)
      b.column(3).AppendNull();
    else
      b.column(3).AppendDouble(i == 6 ? -0.0 : static_cast<double>(i) / 8.0 - 3.25);
    if (i % 4 == 2)
      b.column(4).AppendNull();
    else
      b.column(4).AppendString(i % 9 == 0 ? std::string() : "naïve-" + std::to_string(i % 17));
    if (i % 6 == 5)
      b.column(5).AppendNull();
    else
      b.column(5).AppendInt64(1'775'800'800'000 + static_cast<int64_t>(i) * 1000);
    b.column(6).AppendInt64(static_cast<int64_t>(i));
    b.column(7).AppendString("label-" + std::to_string(i));
  }
  return b;
}

TEST_F(ParquetTest, EveryTypeRoundTripsWithNulls) {
  const ColumnBatch batch = EveryTypeBatch(2000);
  const ParquetFileSummary summary = Write(Path("every.parquet"), batch);
  EXPECT_EQ(summary.num_rows, 2000);
  auto reader = Open(Path("every.parquet"));
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->schema(), batch.schema());  // names, types, nullability, field ids
  EXPECT_EQ(reader->num_rows(), 2000);
  ExpectBatchesEqual(batch, ReadAll(*reader, AllColumns(reader->schema())));
}

// String bounds are mostly decided by an 8-byte prefix; values that share it, are shorter
// than it, hold zero bytes or bytes past 0x7f must still give memcmp's min and max, with and
// without a dictionary.
TEST_F(ParquetTest, StringStatisticsAreTheBytewiseMinAndMax) {
  const std::vector<std::vector<std::string>> pools = {
      {"prefix00-b", "prefix00-a", "prefix00", "prefix0", "prefix00\x01", std::string("prefix00\0", 9)},
      {"zzzzzzzzz", "zzzzzzzz", "zzzzzzzzy", "zzzzzzzz\x80", "zzzzzzzy\xff"},
      {"\xc3\xa9t\xc3\xa9", "\xc3\xa9t", "\xc3\xa9t\xc3\xa8", "\xc3"},
      {"prefix00-b", "\xff", "\x7f", "a", "", "zzzzzzzzz", "m", std::string("\0", 1)}};
  int n = 0;
  for (const auto& pool : pools) {
    for (bool dictionary : {true, false}) {
      Schema schema{{{"s", ColumnType::kString, true, -1}}};
      ColumnBatch batch(schema);
      uint64_t x = 12345;
      std::string lo, hi;
      for (int i = 0; i < 3000; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        const std::string& v = pool[(x >> 33) % pool.size()];
        batch.column(0).AppendString(v);
        if (i == 0 || v < lo) lo = v;
        if (i == 0 || hi < v) hi = v;
      }
      ParquetWriterOptions options;
      if (!dictionary) options.dictionary_max_bytes = 0;
      const ParquetFileSummary summary = Write(Path("strings" + std::to_string(n++) + ".parquet"), batch, options);
      ASSERT_EQ(summary.columns.size(), 1u);
      EXPECT_EQ(std::get<std::string>(summary.columns[0].min), lo) << n;
      EXPECT_EQ(std::get<std::string>(summary.columns[0].max), hi) << n;
    }
  }
}

TEST_F(ParquetTest, StatisticsHoldMinMaxAndNullCount) {
  const ColumnBatch batch = EveryTypeBatch(100);
  const ParquetFileSummary summary = Write(Path("stats.parquet"), batch);
  auto reader = Open(Path("stats.parquet"));
  ASSERT_NE(reader, nullptr);
  ASSERT_EQ(reader->num_row_groups(), 1);
  const RowGroupInfo& rg = reader->row_group(0);
  EXPECT_EQ(rg.columns[0].null_count, 14);  // i % 7 == 3 in 0..99
  EXPECT_EQ(std::get<bool>(rg.columns[0].min), false);
  EXPECT_EQ(std::get<bool>(rg.columns[0].max), true);
  EXPECT_EQ(std::get<int32_t>(rg.columns[1].min), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(std::get<int32_t>(rg.columns[1].max), 99 * 31 - 500);
  EXPECT_EQ(std::get<int64_t>(rg.columns[2].max), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(std::get<int64_t>(rg.columns[2].min), 99 * -1'000'000'007ll);
  EXPECT_EQ(std::get<double>(rg.columns[3].min), -3.25);
  EXPECT_EQ(std::get<std::string>(rg.columns[4].min), "");
  EXPECT_EQ(std::get<std::string>(rg.columns[4].max), "naïve-9");
  EXPECT_EQ(std::get<int64_t>(rg.columns[5].min), 1'775'800'800'000);
  EXPECT_EQ(rg.columns[6].null_count, 0);
  // The writer's summary agrees with what the footer says.
  for (size_t c = 0; c < summary.columns.size(); ++c) {
    EXPECT_EQ(summary.columns[c].null_count, rg.columns[c].null_count) << c;
    EXPECT_EQ(CompareStatValues(summary.columns[c].min, rg.columns[c].min), 0) << c;
    EXPECT_EQ(CompareStatValues(summary.columns[c].max, rg.columns[c].max), 0) << c;
  }
}

TEST_F(ParquetTest, RepeatedStringsAreDictionaryEncoded) {
  Schema schema{{{"platform", ColumnType::kString, true}}};
  ColumnBatch batch(schema);
  const char* platforms[] = {"web", "ios", "android", "server"};
  for (int i = 0; i < 200'000; ++i) {
    if (i % 100 == 0)
      batch.column(0).AppendNull();
    else
      batch.column(0).AppendString(platforms[(i * 7) % 4]);
  }
  ParquetWriterOptions options;
  options.compression = Compression::kUncompressed;
  const ParquetFileSummary summary = Write(Path("dict.parquet"), batch, options);
  // Two-bit indices: far below the 1.4 MB a PLAIN encoding would take.
  EXPECT_LT(summary.file_bytes, 100'000);
  auto reader = Open(Path("dict.parquet"));
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->row_group(0).dictionary_encoded[0]);
  ExpectBatchesEqual(batch, ReadAll(*reader, {0}));
}

TEST_F(ParquetTest, HighCardinalityStringsFallBackToPlain) {
  Schema schema{{{"event_id", ColumnType::kString, false}, {"user", ColumnType::kString, false}}};
  ColumnBatch batch(schema);
  for (int i = 0; i < 50'000; ++i) {
    batch.column(0).AppendString("evt-" + std::to_string(i * 7919) + "-unique");
    batch.column(1).AppendString("user-" + std::to_string(i % 300));
  }
  ParquetWriterOptions options;
  options.dictionary_max_bytes = 64 << 10;
  Write(Path("fallback.parquet"), batch, options);
  auto reader = Open(Path("fallback.parquet"));
  ASSERT_NE(reader, nullptr);
  EXPECT_FALSE(reader->row_group(0).dictionary_encoded[0]);  // 50k distinct ids pass 64 KiB
  EXPECT_TRUE(reader->row_group(0).dictionary_encoded[1]);   // 300 users fit
  ExpectBatchesEqual(batch, ReadAll(*reader, {0, 1}));
}

TEST_F(ParquetTest, DictionaryOverflowMidChunkSwitchesTheRestToPlain) {
  // Low cardinality first (the dictionary pays off and pages are written with it), then
  // unique values until the dictionary passes its bound: a chunk of both kinds of pages.
  Schema schema{{{"campaign", ColumnType::kString, true}}};
  ColumnBatch batch(schema);
  for (int i = 0; i < 30'000; ++i) {
    if (i % 9 == 4) {
      batch.column(0).AppendNull();
    } else if (i < 10'000) {
      batch.column(0).AppendString("campaign-" + std::to_string(i % 7));
    } else {
      batch.column(0).AppendString("campaign-unique-" + std::to_string(i));
    }
  }
  ParquetWriterOptions options;
  options.page_max_bytes = 4 << 10;
  options.dictionary_max_bytes = 16 << 10;
  Write(Path("mixed.parquet"), batch, options);
  auto reader = Open(Path("mixed.parquet"));
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->row_group(0).dictionary_encoded[0]);
  EXPECT_EQ(std::get<std::string>(reader->row_group(0).columns[0].min), "campaign-0");
  EXPECT_EQ(std::get<std::string>(reader->row_group(0).columns[0].max), "campaign-unique-29999");
  ExpectBatchesEqual(batch, ReadAll(*reader, {0}));
}

TEST_F(ParquetTest, ReadingIntoABatchReusesItAcrossRowGroups) {
  const ColumnBatch batch = EveryTypeBatch(3000);
  ParquetWriterOptions options;
  options.row_group_max_rows = 1000;
  Write(Path("reuse.parquet"), batch, options);
  auto reader = Open(Path("reuse.parquet"));
  ASSERT_NE(reader, nullptr);
  ColumnBatch into{Schema{}};
  for (int g = 0; g < 3; ++g) {
    ASSERT_TRUE(reader->ReadRowGroupInto(g, {4, 6}, &into).ok());
    ASSERT_EQ(into.num_rows(), 1000u);
    for (size_t r = 0; r < 1000; ++r) {
      ASSERT_EQ(into.column(1).Int64At(r), static_cast<int64_t>(g * 1000 + r));
      ASSERT_EQ(into.column(0).IsNull(r), batch.column(4).IsNull(g * 1000 + r));
      if (!into.column(0).IsNull(r)) {
        ASSERT_EQ(into.column(0).StringAt(r), batch.column(4).StringAt(g * 1000 + r));
      }
    }
  }
}

TEST_F(ParquetTest, RowGroupsCloseAtTheRowBoundAcrossAppends) {
  ParquetWriterOptions options;
  options.row_group_max_rows = 1000;
  options.page_max_bytes = 1024;  // many pages per chunk as well
  auto writer = ParquetWriter::Open(Path("groups.parquet"), EveryTypeSchema(), options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  const ColumnBatch batch = EveryTypeBatch(2600);
  ColumnBatch expected(EveryTypeSchema());
  // Uneven appends: 300-row slices and then one big batch that spans several groups.
  for (size_t begin = 0; begin < 900; begin += 300) {
    ColumnBatch part(EveryTypeSchema());
    for (size_t c = 0; c < part.num_columns(); ++c)
      part.column(c).AppendRange(batch.column(c), begin, begin + 300);
    ASSERT_TRUE((*writer)->Append(part).ok());
    for (size_t c = 0; c < part.num_columns(); ++c)
      expected.column(c).AppendRange(part.column(c), 0, 300);
  }
  ASSERT_TRUE((*writer)->Append(batch).ok());
  for (size_t c = 0; c < batch.num_columns(); ++c)
    expected.column(c).AppendRange(batch.column(c), 0, 2600);
  auto summary = (*writer)->Close();
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->num_rows, 3500);
  auto reader = Open(Path("groups.parquet"));
  ASSERT_NE(reader, nullptr);
  ASSERT_EQ(reader->num_row_groups(), 4);
  EXPECT_EQ(reader->row_group(0).num_rows, 1000);
  EXPECT_EQ(reader->row_group(3).num_rows, 500);
  ExpectBatchesEqual(expected, ReadAll(*reader, AllColumns(reader->schema())));
}

TEST_F(ParquetTest, RowGroupsCloseAtTheByteBound) {
  Schema schema{{{"payload", ColumnType::kString, false}}};
  ColumnBatch batch(schema);
  for (int i = 0; i < 1000; ++i)
    batch.column(0).AppendString(std::string(996, static_cast<char>('a' + i % 26)));
  ParquetWriterOptions options;
  options.row_group_max_bytes = 100'000;  // 100 rows of 1000 plain bytes
  const ParquetFileSummary summary = Write(Path("bytes.parquet"), batch, options);
  EXPECT_EQ(summary.num_row_groups, 10);
  auto reader = Open(Path("bytes.parquet"));
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->row_group(0).num_rows, 100);
  ExpectBatchesEqual(batch, ReadAll(*reader, {0}));
}

TEST_F(ParquetTest, ProjectionReturnsOnlyTheRequestedColumnsInOrder) {
  const ColumnBatch batch = EveryTypeBatch(500);
  Write(Path("proj.parquet"), batch);
  auto reader = Open(Path("proj.parquet"));
  ASSERT_NE(reader, nullptr);
  auto projected = reader->ReadRowGroup(0, {5, 1});
  ASSERT_TRUE(projected.ok()) << projected.status().ToString();
  ASSERT_EQ(projected->num_columns(), 2u);
  EXPECT_EQ(projected->schema().fields[0].name, "at");
  EXPECT_EQ(projected->schema().fields[1].name, "small");
  ExpectColumnsEqual(batch.column(5), projected->column(0), "at");
  ExpectColumnsEqual(batch.column(1), projected->column(1), "small");
  auto bad = reader->ReadRowGroup(0, {8});
  EXPECT_EQ(bad.status().code(), StatusCode::kOutOfRange);
}

TEST_F(ParquetTest, RowGroupsAreSkippedByStatistics) {
  Schema schema{{{"at", ColumnType::kTimestampMillis, false},
                 {"type", ColumnType::kString, true},
                 {"gone", ColumnType::kInt32, true}}};
  ColumnBatch batch(schema);
  for (int i = 0; i < 10'000; ++i) {
    batch.column(0).AppendInt64(1'000'000 + i);  // group g holds [1e6 + 1000g, 1e6 + 1000g + 999]
    batch.column(1).AppendString(i < 5000 ? "alpha" : "omega");
    batch.column(2).AppendNull();
  }
  ParquetWriterOptions options;
  options.row_group_max_rows = 1000;
  Write(Path("skip.parquet"), batch, options);
  auto reader = Open(Path("skip.parquet"));
  ASSERT_NE(reader, nullptr);
  ASSERT_EQ(reader->num_row_groups(), 10);

  auto groups = reader->SelectRowGroups({{"at", int64_t{1'002'500}, int64_t{1'004'000}}});
  ASSERT_TRUE(groups.ok()) << groups.status().ToString();
  EXPECT_EQ(*groups, (std::vector<int>{2, 3, 4}));
  groups = reader->SelectRowGroups({{"at", int64_t{1'008'999}, std::monostate{}}});
  EXPECT_EQ(*groups, (std::vector<int>{8, 9}));
  groups = reader->SelectRowGroups({{"type", std::string("omega"), std::string("omega")},
                                    {"at", std::monostate{}, int64_t{1'005'000}}});
  EXPECT_EQ(*groups, (std::vector<int>{5}));
  groups = reader->SelectRowGroups({{"gone", int32_t{0}, std::monostate{}}});  // only NULLs
  EXPECT_TRUE(groups->empty());
  groups = reader->SelectRowGroups({});
  EXPECT_EQ(groups->size(), 10u);

  auto wrong_type = reader->SelectRowGroups({{"at", int32_t{5}, std::monostate{}}});
  EXPECT_EQ(wrong_type.status().code(), StatusCode::kInvalidArgument);
  auto missing = reader->SelectRowGroups({{"nope", int64_t{5}, std::monostate{}}});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST_F(ParquetTest, ZstdAndUncompressedFilesReadTheSame) {
  const ColumnBatch batch = EveryTypeBatch(20'000);
  ParquetWriterOptions plain;
  plain.compression = Compression::kUncompressed;
  const ParquetFileSummary raw = Write(Path("raw.parquet"), batch, plain);
  const ParquetFileSummary zstd = Write(Path("zstd.parquet"), batch);
  EXPECT_LT(zstd.file_bytes, raw.file_bytes / 2);
  for (const char* name : {"raw.parquet", "zstd.parquet"}) {
    auto reader = Open(Path(name));
    ASSERT_NE(reader, nullptr);
    ExpectBatchesEqual(batch, ReadAll(*reader, AllColumns(reader->schema())));
  }
}

// At its fast (negative) levels ZSTD would store the literals of random ids raw; the writer keeps them
// Huffman-coded, so 32 hex digits (4 bits of information each) take about half their bytes.
TEST_F(ParquetTest, FastZstdLevelsStillEntropyCodeLiterals) {
  ColumnBatch batch(Schema{{{"id", ColumnType::kString, false, 1}}});
  std::mt19937_64 random(7);
  for (int i = 0; i < 50'000; ++i) batch.column(0).AppendString(fmt::format("{:016x}{:016x}", random(), random()));
  ParquetWriterOptions raw_options;
  raw_options.compression = Compression::kUncompressed;
  const ParquetFileSummary raw = Write(Path("raw.parquet"), batch, raw_options);
  for (const int level : {-1, -2, -5}) {
    ParquetWriterOptions options;
    options.zstd_level = level;
    const std::string path = Path(fmt::format("level{}.parquet", level));
    const ParquetFileSummary zstd = Write(path, batch, options);
    EXPECT_LT(zstd.file_bytes, raw.file_bytes * 6 / 10) << "level " << level;
    auto reader = Open(path);
    ASSERT_NE(reader, nullptr);
    ExpectBatchesEqual(batch, ReadAll(*reader, AllColumns(reader->schema())));
  }
}

// Buffers shared by successive writers (of different schemas, some held while another
// writer opens) must not change a byte of what is written.
TEST_F(ParquetTest, SharedBuffersWriteTheSameFilesAsPrivateOnes) {
  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const ColumnBatch wide = EveryTypeBatch(30'000);
  ColumnBatch narrow(Schema{{{"label", ColumnType::kString, false, 1}}});
  for (int i = 0; i < 5000; ++i) narrow.column(0).AppendString("l" + std::to_string(i % 3));
  ParquetWriterOptions shared;
  shared.buffers = NewParquetWriterBuffers();
  shared.row_group_max_rows = 7000;  // several chunks per column, partial last pages
  ParquetWriterOptions own = shared;
  own.buffers = nullptr;
  const ColumnBatch* batches[] = {&wide, &narrow, &wide};
  for (int i = 0; i < 3; ++i) {
    const std::string name = std::to_string(i);
    Write(Path(name + ".own"), *batches[i], own);
    Write(Path(name + ".shared"), *batches[i], shared);
    EXPECT_EQ(slurp(Path(name + ".own")), slurp(Path(name + ".shared"))) << "file " << i;
  }
  // A writer opened while another holds the buffers allocates its own.
  auto first = ParquetWriter::Open(Path("held.first"), wide.schema(), shared);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE((*first)->Append(wide).ok());
  Write(Path("held.second"), wide, shared);
  ASSERT_TRUE((*first)->Close().ok());
  EXPECT_EQ(slurp(Path("0.own")), slurp(Path("held.first")));
  EXPECT_EQ(slurp(Path("0.own")), slurp(Path("held.second")));
}

TEST_F(ParquetTest, LongStringStatisticsAreTruncatedToBounds) {
  Schema schema{{{"json", ColumnType::kString, false}}};
  ColumnBatch batch(schema);
  const std::string low = "{\"a\":" + std::string(200, '1') + "}";
  const std::string high = "{\"z\":" + std::string(200, '9') + "}";
  batch.column(0).AppendString(high);
  batch.column(0).AppendString(low);
  ParquetWriterOptions options;
  options.statistics_max_string_bytes = 16;
  Write(Path("long.parquet"), batch, options);
  auto reader = Open(Path("long.parquet"));
  ASSERT_NE(reader, nullptr);
  const ColumnStats& s = reader->row_group(0).columns[0];
  const std::string& min = std::get<std::string>(s.min);
  const std::string& max = std::get<std::string>(s.max);
  EXPECT_EQ(min, low.substr(0, 16));
  EXPECT_EQ(max, "{\"z\":9999999999:");  // last byte '9' incremented
  EXPECT_FALSE(s.min_exact);
  EXPECT_FALSE(s.max_exact);
  EXPECT_LE(min, low);
  EXPECT_GE(max, high);
}

TEST_F(ParquetTest, EmptyFileHasSchemaAndNoRowGroups) {
  Write(Path("empty.parquet"), ColumnBatch(EveryTypeSchema()));
  auto reader = Open(Path("empty.parquet"));
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->num_rows(), 0);
  EXPECT_EQ(reader->num_row_groups(), 0);
  EXPECT_EQ(reader->schema(), EveryTypeSchema());
}

TEST_F(ParquetTest, NullInNonNullableColumnIsRejected) {
  Schema schema{{{"id", ColumnType::kInt64, false}}};
  ColumnBatch batch(schema);
  batch.column(0).AppendInt64(1);
  batch.column(0).AppendNull();
  auto writer = ParquetWriter::Open(Path("nn.parquet"), schema);
  ASSERT_TRUE(writer.ok());
  Status s = (*writer)->Append(batch);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "column id is not nullable but holds 1 nulls");
}

TEST_F(ParquetTest, BatchWithAnotherSchemaIsRejected) {
  auto writer = ParquetWriter::Open(Path("other.parquet"), EveryTypeSchema());
  ASSERT_TRUE(writer.ok());
  Status s = (*writer)->Append(ColumnBatch(Schema{{{"x", ColumnType::kInt32, true}}}));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("schema differs"), std::string::npos) << s.message();
}

TEST_F(ParquetTest, AppendAfterCloseFails) {
  auto writer = ParquetWriter::Open(Path("closed.parquet"), EveryTypeSchema());
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Close().ok());
  Status s = (*writer)->Append(EveryTypeBatch(1));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
}

// Rewrites bytes [offset, offset + n) of a file with `byte`.
void Clobber(const std::string& path, int64_t offset, size_t n, char byte) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(offset);
  const std::string junk(n, byte);
  f.write(junk.data(), static_cast<std::streamsize>(n));
}

TEST_F(ParquetTest, CorruptedFooterIsCorruptionNamingTheFile) {
  const std::string path = Path("corrupt.parquet");
  Write(path, EveryTypeBatch(100));
  const auto size = static_cast<int64_t>(std::filesystem::file_size(path));
  // The first 16 bytes of the footer's Thrift become 0xff: an invalid field type.
  uint32_t footer_len;
  {
    std::ifstream f(path, std::ios::binary);
    f.seekg(size - 8);
    f.read(reinterpret_cast<char*>(&footer_len), 4);
  }
  Clobber(path, size - 8 - footer_len, 16, '\xff');
  auto reader = ParquetReader::Open(path);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(reader.status().message().rfind(path + ": footer: thrift:", 0), 0u)
      << reader.status().message();
}

TEST_F(ParquetTest, FooterLengthBeyondTheFileIsCorruption) {
  const std::string path = Path("len.parquet");
  Write(path, EveryTypeBatch(10));
  const auto size = static_cast<int64_t>(std::filesystem::file_size(path));
  Clobber(path, size - 8, 4, '\x7f');
  auto reader = ParquetReader::Open(path);
  EXPECT_EQ(reader.status().code(), StatusCode::kCorruption);
  EXPECT_NE(reader.status().message().find(path + ": footer length"), std::string::npos)
      << reader.status().message();
}

TEST_F(ParquetTest, TruncatedFileIsCorruption) {
  const std::string path = Path("cut.parquet");
  Write(path, EveryTypeBatch(100));
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);
  auto reader = ParquetReader::Open(path);
  EXPECT_EQ(reader.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(reader.status().message(),
            path + ": no PAR1 magic at the end (truncated or unfinished file?)");
}

TEST_F(ParquetTest, CorruptedPageIsCorruptionNamingFileRowGroupAndColumn) {
  const std::string path = Path("page.parquet");
  ParquetWriterOptions options;
  options.compression = Compression::kUncompressed;
  Write(path, EveryTypeBatch(100), options);
  Clobber(path, 4, 8, '\xff');  // the first column chunk's page header
  auto reader = Open(path);
  ASSERT_NE(reader, nullptr);
  auto batch = reader->ReadRowGroup(0, {0});
  EXPECT_EQ(batch.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(batch.status().message().rfind(path + ": row group 0, column flag: page at byte 4", 0),
            0u)
      << batch.status().message();
}

TEST_F(ParquetTest, RandomDamageGivesErrorsNeverCrashes) {
  // Hostile input: flipped bytes anywhere (footer, page headers, levels, values) and
  // truncations. Every outcome must be a Status; under ASan this also proves no read goes
  // out of bounds.
  const std::string path = Path("fuzz.parquet");
  ParquetWriterOptions options;
  options.row_group_max_rows = 300;
  options.page_max_bytes = 512;
  Write(path, EveryTypeBatch(1000), options);
  std::string original;
  {
    std::ifstream f(path, std::ios::binary);
    original.assign(std::istreambuf_iterator<char>(f), {});
  }
  std::mt19937 rng(2024);
  int opened = 0, failed = 0;
  for (int iteration = 0; iteration < 400; ++iteration) {
    std::string damaged = original;
    if (iteration % 10 == 9) {
      damaged.resize(rng() % damaged.size());
    } else {
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips; ++k)
        damaged[rng() % damaged.size()] ^= static_cast<char>(1 + rng() % 255);
    }
    std::ofstream(path, std::ios::binary | std::ios::trunc) << damaged;
    auto reader = ParquetReader::Open(path);
    if (!reader.ok()) {
      ++failed;
      continue;
    }
    ++opened;
    for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
      auto batch = (*reader)->ReadRowGroup(g);
      if (!batch.ok()) ++failed;
    }
  }
  EXPECT_GT(opened, 0);
  EXPECT_GT(failed, 0);
}

TEST_F(ParquetTest, MissingFileIsNotFound) {
  auto reader = ParquetReader::Open(Path("absent.parquet"));
  EXPECT_EQ(reader.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tidemark::lake
