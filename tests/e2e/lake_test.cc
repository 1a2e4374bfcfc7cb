// The lake end to end: the real `tidemark serve` takes loadgen events, its bronze writer
// commits micro-batches, and DuckDB (tests/lake/check_bronze.mjs) reads every file the
// current snapshots name and compares them with `tidemark log dump`. A second test kills
// the server with SIGKILL during micro-batches and commits, and checks that afterwards
// bronze holds every log record exactly once. Skipped when tests/node/node_modules is
// missing (scripts/install-test-tools.sh installs DuckDB's node package).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "cli/loadgen.h"
#include "common/subprocess.h"
#include "e2e/tidemark_server.h"

#ifndef TIDEMARK_SOURCE_DIR
#error "TIDEMARK_SOURCE_DIR must point at the repository root"
#endif

namespace tidemark::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSourceDir = TIDEMARK_SOURCE_DIR;
const std::string kDuckDb = kSourceDir + "/tests/node/node_modules/@duckdb/node-api";
const std::string kCheckScript = kSourceDir + "/tests/lake/check_bronze.mjs";
constexpr int64_t k2026_04_10_22h = 1'775'858'400'000;  // 2026-04-10T22:00:00Z

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

// Dumps the three bronze source topics as JSON lines and writes the check's spec; returns
// the spec's path.
std::string WriteSpec(TidemarkServer& server, const std::string& evolution_json) {
  const std::string log_path = server.data_dir() + "-log.jsonl";
  std::ofstream out(log_path);
  for (const char* topic : {"user-events", "server-events", "dlq-events"}) {
    for (const DumpedRecord& r : server.Dump(topic)) {
      out << "{\"topic\":" << JsonString(r.topic) << ",\"partition\":" << r.partition
          << ",\"offset\":" << r.offset << ",\"timestamp\":" << r.timestamp << ",\"headers\":{";
      bool first = true;
      for (const auto& [name, value] : r.headers) {
        out << (first ? "" : ",") << JsonString(name) << ":" << JsonString(value);
        first = false;
      }
      out << "},\"value\":" << r.value << "}\n";
    }
  }
  out.close();
  const std::string spec_path = server.data_dir() + "-bronze-check.json";
  std::ofstream(spec_path)
      << "{\"lake\":" << JsonString(server.data_dir() + "/lake/bronze") << ",\"log\":"
      << JsonString(log_path)
      << ",\"tables\":[{\"name\":\"user_events\",\"topic\":\"user-events\"},"
         "{\"name\":\"server_events\",\"topic\":\"server-events\"},"
         "{\"name\":\"dlq_events\",\"topic\":\"dlq-events\"}]"
      << (evolution_json.empty() ? "" : ",\"evolution\":" + evolution_json) << "}";
  return spec_path;
}

// Runs the DuckDB check; returns its output and whether it passed.
std::pair<bool, std::string> RunDuckDbCheck(const std::string& spec_path) {
  auto r = RunCommand({"/usr/bin/env", "node", kCheckScript, spec_path});
  if (!std::getenv("TIDEMARK_KEEP_TEST_DATA")) {
    const std::string prefix = spec_path.substr(0, spec_path.rfind("-bronze-check.json"));
    fs::remove(spec_path);
    fs::remove(prefix + "-log.jsonl");
  }
  return {r.exit_code == 0, r.out + r.err};
}

std::string Tidemark(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {TidemarkBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

class LakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kDuckDb)) GTEST_SKIP() << kDuckDb << " is missing; run scripts/install-test-tools.sh";
  }
};

TEST_F(LakeTest, BronzeHoldsEveryLogRecordAndDuckDbReadsItAsTheLogSays) {
  TidemarkServer server({"--set", "lake.flush_interval_ms=500"});
  const std::string key = server.CreateKey("web-shop", "web", "write");
  ASSERT_TRUE(server.Start().ok()) << server.Output();

  cli::LoadgenOptions o;
  o.url = server.url();
  o.key = key;
  o.events = 20000;
  o.batch = 200;
  o.connections = 4;
  o.dup_rate = 0.05;
  o.late_rate = 0.05;
  o.invalid_rate = 0.02;
  o.start_ms = k2026_04_10_22h;  // four hours across midnight: two event dates
  o.span_ms = 4 * 3'600'000;
  auto s = cli::RunLoadgen(o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->failed_batches, 0);
  // Let a micro-batch or two commit, so that the next fields arrive in a later schema.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));

  // Context fields seen for the first time: a number, a boolean, and then a value of another
  // type for the number field (kept as JSON text in context_geo_lat__text).
  std::string batch = "[";
  for (int i = 0; i < 40; ++i) {
    if (i) batch += ",";
    batch += R"({"event_type":"page_view","timestamp":)" + std::to_string(k2026_04_10_22h + i * 1000) +
             R"(,"user_id":"u-evolve-)" + std::to_string(i) +
             R"(","context":{"ip":"10.1.1.1","geo_lat":)" +
             (i == 39 ? std::string(R"("north")") : std::to_string(40 + i) + ".25") +
             R"(,"beta":)" + (i % 2 ? "true" : "false") + "}}";
  }
  batch += "]";
  auto posted = server.Post("/v1/batch", batch, key);
  ASSERT_TRUE(posted.ok());
  ASSERT_EQ(posted->status, 200) << posted->body;
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  ASSERT_EQ(server.Terminate(), 0) << server.Output();

  const std::string ls = Tidemark({"lake", "ls", "--data", server.data_dir()});
  EXPECT_NE(ls.find("bronze/user_events"), std::string::npos) << ls;
  EXPECT_NE(ls.find("bronze/dlq_events"), std::string::npos) << ls;
  const std::string inspect =
      Tidemark({"lake", "inspect", "--data", server.data_dir(), "--table", "user_events"});
  EXPECT_NE(inspect.find("context_geo_lat"), std::string::npos) << inspect;
  EXPECT_NE(inspect.find("user-events/0"), std::string::npos) << inspect;
  EXPECT_NE(inspect.find("event_date=2026-04-11"), std::string::npos) << inspect;
  const std::string snapshots = Tidemark({"lake", "snapshots", "--data", server.data_dir()});
  EXPECT_NE(snapshots.find("add_column"), std::string::npos) << snapshots;

  const auto [ok, output] = RunDuckDbCheck(WriteSpec(
      server, R"({"table":"user_events","columns":{"context_geo_lat":"DOUBLE","context_beta":"BOOLEAN"}})"));
  EXPECT_TRUE(ok) << output;
  std::cout << output;
}

// Kills the server, then restarts it with a lake fault point armed, at which it dies by its
// own hand at its first commit; waits until it is gone.
void CrashAtFaultPoint(TidemarkServer& server, const std::string& fault) {
  server.Kill();
  server.set_extra_env({"TIDEMARK_FAULTS=" + fault});
  (void)server.Start();  // may already fail: the fault can strike before /readyz answers
  for (int i = 0; i < 1000; ++i) {
    if (!server.Get("/healthz").ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server.Kill();  // reaps the process (SIGKILL if the fault never struck)
  server.set_extra_env({});
}

TEST_F(LakeTest, KillNineDuringMicroBatchesKeepsEveryRecordExactlyOnce) {
  // Rows stream to the micro-batch's files every 300 rows, so that kills also land between
  // a micro-batch's streams, with files of several event hours open.
  TidemarkServer server({"--set", "lake.flush_interval_ms=150", "--set", "lake.flush_bytes=2000000",
                         "--set", "lake.stream_rows=300"});
  const std::string key = server.CreateKey("mobile-app", "ios", "write");
  ASSERT_TRUE(server.Start().ok()) << server.Output();

  // Paced load (about 10,000 events/s, at most 300,000 in all) that lasts through every
  // kill: unpaced, a fast machine logged enough events for the log dump the check reads to
  // pass half a gigabyte.
  std::atomic<bool> stop{false};
  std::thread load([&] {
    constexpr int64_t kEventsPerRun = 2000, kMaxEvents = 300000;
    for (uint64_t seed = 1; !stop.load() && static_cast<int64_t>(seed) * kEventsPerRun <= kMaxEvents; ++seed) {
      cli::LoadgenOptions o;
      o.url = server.url();
      o.key = key;
      o.events = kEventsPerRun;
      o.batch = 100;
      o.connections = 2;
      o.dup_rate = 0.03;
      o.invalid_rate = 0.02;
      o.seed = seed;
      o.start_ms = k2026_04_10_22h;
      o.span_ms = 3 * 3'600'000;
      o.retry_timeout_ms = 60000;
      o.stop = &stop;
      (void)cli::RunLoadgen(o);
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
    }
  });

  std::mt19937 rng(std::random_device{}());
  int kills = 0;
  for (int round = 0; round < 8; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 1300));
    if (round == 2) {
      // Data files written, commit not made: they stay orphans.
      CrashAtFaultPoint(server, "lake.kill_after_write_files");
    } else if (round == 5) {
      // Committed, nothing after: the restart must not write the batch again.
      CrashAtFaultPoint(server, "lake.kill_after_commit");
    } else {
      server.Kill();
    }
    ++kills;
    ASSERT_TRUE(server.Start().ok()) << "restart " << round << " failed:\n" << server.Output();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  stop = true;
  load.join();
  ASSERT_EQ(server.Terminate(), 0) << server.Output();

  // Orphans of the crashed commits go with expiry; the snapshot stays whole.
  const std::string expired = Tidemark(
      {"lake", "expire", "--data", server.data_dir(), "--keep", "2", "--grace-ms", "0"});
  EXPECT_NE(expired.find("user_events: expired"), std::string::npos) << expired;

  const auto [ok, output] = RunDuckDbCheck(WriteSpec(server, ""));
  EXPECT_TRUE(ok) << "after " << kills << " kills:\n" << output;
  std::cout << "[ lake ] after " << kills << " kills (two at lake fault points):\n" << output;
}

}  // namespace
}  // namespace tidemark::testing
