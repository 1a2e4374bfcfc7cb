// Independent check of the batch jobs: tidemark builds silver and gold from generated bronze
// (with duplicates, late files between runs and a deletion request), then
// tests/batch/check_gold.mjs has DuckDB recompute everything from the same bronze files with
// SQL and its own statistics code and compares. Exit code 77 (ctest's skip) when the node
// packages are not installed (cd tests/node && npm install).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "batch/batch.h"
#include "batch/event_generator_internal.h"
#include "lake/table.h"

#ifndef TIDEMARK_SOURCE_DIR
#error "TIDEMARK_SOURCE_DIR must point at the repository root"
#endif

namespace tidemark::batch {
namespace {

const std::string kSourceDir = TIDEMARK_SOURCE_DIR;
const std::string kNodeModules = kSourceDir + "/tests/node/node_modules/@duckdb/node-api";
const std::string kScript = kSourceDir + "/tests/batch/check_gold.mjs";

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The live files of a table, as a JSON array of absolute paths.
std::string FilesJson(const std::string& dir, const std::string& layer, const std::string& name) {
  auto t = lake::Table::Open(dir + "/lake", layer, name);
  if (!t.ok()) return "[]";
  std::string out = "[";
  for (const lake::DataFile& f : (*t)->current().files)
    out += (out.size() > 1 ? "," : "") + JsonString((*t)->directory() + "/" + f.path);
  return out + "]";
}

TEST(BatchDuckDbCheck, DuckDbRecomputesEveryGoldTableFromBronze) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "batch_duckdb_XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const std::string dir = tmpl;

  testing::GeneratorOptions gen;
  gen.events = 60'000;
  gen.days = 36;
  gen.late_share = 0.05;
  gen.chunk_rows = 30'000;
  gen.seed = 11;
  BatchOptions options;
  options.conversion_window_ms = 3 * 86'400'000LL;
  options.deleted_users = {"u11-5", "u11-17", "u11-40"};

  // On-time rows first, a run, then the late ones and the hourly correction.
  const int64_t late_after = 20'553LL * 86'400'000 + 30LL * 86'400'000;
  auto received = [](const lake::ColumnBatch& c, size_t r) { return c.column(4).Int64At(r); };
  ASSERT_TRUE(testing::WriteBronze(dir, gen, [&](const lake::ColumnBatch& c, size_t r) {
                return received(c, r) < late_after;
              }).ok());
  ASSERT_TRUE(RunBatch(dir, "2026-04-01", "2026-06-30", options).ok());
  ASSERT_TRUE(testing::WriteBronze(dir, gen, [&](const lake::ColumnBatch& c, size_t r) {
                return received(c, r) >= late_after;
              }).ok());
  BatchRunStats stats;
  const Status corrected = RunHourlyCorrection(dir, options, &stats);
  ASSERT_TRUE(corrected.ok()) << corrected.ToString();
  EXPECT_TRUE(stats.gold_rebuilt);

  std::string deleted = "[";
  for (const std::string& u : options.deleted_users)
    deleted += (deleted.size() > 1 ? "," : "") + JsonString(u);
  deleted += "]";
  std::ostringstream spec;
  spec << "{\"user_files\":" << FilesJson(dir, "bronze", "user_events")
       << ",\"server_files\":" << FilesJson(dir, "bronze", "server_events")
       << ",\"deleted_users\":" << deleted << ",\"session_gap_ms\":" << options.session_gap_ms
       << ",\"conversion_event\":" << JsonString(options.conversion_event)
       << ",\"conversion_window_ms\":" << options.conversion_window_ms
       << ",\"control_variant\":" << JsonString(options.control_variant)
       << ",\"srm_p_threshold\":" << options.srm_p_threshold
       << ",\"retention_days\":" << options.retention_days << ",\"ours\":{"
       << "\"silver_events\":" << FilesJson(dir, "silver", "events")
       << ",\"silver_sessions\":" << FilesJson(dir, "silver", "sessions")
       << ",\"daily_report\":" << FilesJson(dir, "gold", "daily_report")
       << ",\"daily_events\":" << FilesJson(dir, "gold", "daily_events")
       << ",\"retention\":" << FilesJson(dir, "gold", "retention")
       << ",\"cohorts\":" << FilesJson(dir, "gold", "cohorts")
       << ",\"ab_results\":" << FilesJson(dir, "gold", "ab_results") << "}}";
  const std::string spec_path = dir + "/spec.json";
  std::ofstream(spec_path) << spec.str();

  const std::string command = "node " + kScript + " " + spec_path + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = ::pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  std::printf("%s", output.c_str());
  if (std::getenv("TIDEMARK_KEEP_TMP") == nullptr) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tidemark::batch

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (!std::filesystem::exists(tidemark::batch::kNodeModules)) {
    std::printf("SKIPPED: %s is missing; run `cd tests/node && npm install` to install the DuckDB "
                "reader this check needs\n",
                tidemark::batch::kNodeModules.c_str());
    return 77;
  }
  return RUN_ALL_TESTS();
}
