// Ack means durable: load runs while the server is killed with SIGKILL at random moments
// and restarted on the same data; afterwards every acknowledged event is in the log, each
// partition's offsets are dense and every record is whole. Corrupted segment files are
// recovered on start with a message that names the file.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <simdjson.h>

#include "cli/loadgen.h"
#include "e2e/tidemark_server.h"

namespace tidemark::testing {
namespace {

namespace fs = std::filesystem;

std::set<std::string> ReadLines(const std::string& path) {
  std::set<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && in.good()) out.insert(line);  // a last line cut by a kill is skipped
  }
  return out;
}

// Checks offsets are 0..n-1 per partition, values are whole JSON; returns event ids.
std::multiset<std::string> CheckTopic(TidemarkServer& server, const std::string& topic) {
  std::multiset<std::string> ids;
  std::map<int, int64_t> next_offset;
  simdjson::dom::parser parser;
  for (const auto& rec : server.Dump(topic)) {
    EXPECT_EQ(rec.offset, next_offset[rec.partition]++)
        << topic << "/" << rec.partition << ": offsets must be dense and served once";
    simdjson::dom::element v;
    EXPECT_EQ(parser.parse(rec.value).get(v), simdjson::SUCCESS) << "torn record at " << rec.offset;
    std::string_view id;
    if (v["event_id"].get(id) == simdjson::SUCCESS) ids.insert(std::string(id));
  }
  return ids;
}

TEST(DurabilityTest, EveryAcknowledgedEventSurvivesRepeatedKillNine) {
  TidemarkServer server;
  std::string key = server.CreateKey("mobile-app", "ios", "write");
  ASSERT_TRUE(server.Start().ok()) << server.Output();
  const std::string acked_path = server.data_dir() + "-acked.txt";

  std::atomic<bool> stop{false};
  std::atomic<int64_t> acked_batches{0};
  std::thread load([&] {
    for (uint64_t seed = 1; !stop.load(); ++seed) {
      cli::LoadgenOptions o;
      o.url = server.url();
      o.key = key;
      o.events = 40000;
      o.batch = 100;
      o.connections = 4;
      o.invalid_rate = 0.02;
      o.seed = seed;
      o.start_ms = 1775800800000;
      o.acked_out = acked_path;
      o.retry_timeout_ms = 60000;
      o.stop = &stop;
      auto s = cli::RunLoadgen(o);
      if (s.ok()) acked_batches += s->requests - s->retries;
    }
  });

  std::mt19937 rng(std::random_device{}());
  const int kKills = 6;
  for (int kill = 0; kill < kKills; ++kill) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 900));
    server.Kill();
    ASSERT_TRUE(server.Start().ok()) << "restart " << kill << " failed:\n" << server.Output();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  load.join();
  ASSERT_EQ(server.Terminate(), 0);

  std::set<std::string> acked = ReadLines(acked_path);
  fs::remove(acked_path);
  ASSERT_GT(acked.size(), 1000u) << "the load did not get going";
  std::multiset<std::string> logged = CheckTopic(server, "user-events");
  for (const auto& id : CheckTopic(server, "server-events")) logged.insert(id);
  CheckTopic(server, "dlq-events");
  size_t missing = 0;
  for (const auto& id : acked) {
    if (!logged.count(id)) ++missing;
  }
  EXPECT_EQ(missing, 0u) << "acknowledged events missing from the log after " << kKills << " kills";
  EXPECT_GE(server.Output().size(), 0u);
  std::cout << "[ durability ] acknowledged events " << acked.size() << ", records in log "
            << logged.size() << "\n";
}

// The largest segment file of a topic (the one most likely to hold many batches).
fs::path LargestSegment(const std::string& data_dir, const std::string& topic) {
  fs::path best;
  uintmax_t best_size = 0;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(data_dir) / "log" / topic)) {
    if (e.path().extension() == ".log" && e.file_size() > best_size) {
      best = e.path();
      best_size = e.file_size();
    }
  }
  return best;
}

class SegmentDamageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = server_.CreateKey("web-shop", "web", "write");
    ASSERT_TRUE(server_.Start().ok()) << server_.Output();
    cli::LoadgenOptions o;
    o.url = server_.url();
    o.key = key_;
    o.events = 4000;
    o.batch = 50;
    o.connections = 2;
    o.start_ms = 1775800800000;
    o.users = 3;  // few users: few partitions get many batches each
    auto s = cli::RunLoadgen(o);
    ASSERT_TRUE(s.ok());
    ASSERT_EQ(s->failed_batches, 0);
    ASSERT_EQ(server_.Terminate(), 0);
    before_ = server_.Dump("user-events").size();
    segment_ = LargestSegment(server_.data_dir(), "user-events");
    ASSERT_FALSE(segment_.empty());
  }

  TidemarkServer server_;
  std::string key_;
  size_t before_ = 0;
  fs::path segment_;
};

TEST_F(SegmentDamageTest, BitFlipIsRecoveredWithAClearMessage) {
  const auto size = fs::file_size(segment_);
  {
    std::fstream f(segment_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(size * 3 / 4));
    char c;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(size * 3 / 4));
    f.put(static_cast<char>(c ^ 0x10));
  }
  ASSERT_TRUE(server_.Start().ok()) << server_.Output();
  std::string out = server_.Output();
  EXPECT_NE(out.find(segment_.filename().string()), std::string::npos) << out;
  EXPECT_NE(out.find("CRC mismatch"), std::string::npos) << out;
  // Still takes events after recovery.
  auto r = server_.Post("/v1/batch",
                        R"([{"event_type":"signup","timestamp":1775800800000,"user_id":"u-new"}])", key_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(server_.Terminate(), 0);
  auto after = server_.Dump("user-events");
  EXPECT_LT(after.size(), before_ + 1) << "the damaged batches must not be served";
  EXPECT_GT(after.size(), before_ / 2);
  CheckTopic(server_, "user-events");
}

TEST_F(SegmentDamageTest, TruncatedTailIsRecoveredWithAClearMessage) {
  const auto size = fs::file_size(segment_);
  fs::resize_file(segment_, size - 37);
  ASSERT_TRUE(server_.Start().ok()) << server_.Output();
  std::string out = server_.Output();
  EXPECT_NE(out.find(segment_.filename().string()), std::string::npos) << out;
  EXPECT_NE(out.find("truncat"), std::string::npos) << out;
  ASSERT_EQ(server_.Terminate(), 0);
  auto after = server_.Dump("user-events");
  EXPECT_LT(after.size(), before_);
  EXPECT_GT(after.size(), before_ / 2);
  CheckTopic(server_, "user-events");
}

}  // namespace
}  // namespace tidemark::testing
