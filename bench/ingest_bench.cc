// Ingest benchmark: the real `tidemark serve` with durable (fsync'd) acks, fed by the load
// generator over loopback in two shapes — bulk (1,000 events/request, 4 connections) and
// SDK (50 events/request, 32 connections) — and, in the same run, ClickHouse inserting the
// same events as JSONEachRow in the bulk shape. Prints events/s, ack latency, peak RSS and
// the tidemark/ClickHouse ratio.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>

#include "cli/http_client.h"
#include "cli/loadgen.h"
#include "common/subprocess.h"

namespace {

namespace fs = std::filesystem;
using tidemark::cli::HttpConnection;
using tidemark::cli::LoadgenOptions;
using tidemark::cli::LoadgenSummary;

struct ShapeResult {
  std::string name;
  LoadgenSummary summary;
  int64_t peak_rss = 0;
};

uint16_t PickPort(uint16_t base) { return static_cast<uint16_t>(base + (getpid() % 500)); }

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Runs one load shape against a fresh server and data directory.
ShapeResult RunShape(const std::string& name, const fs::path& work, int batch, int connections,
                     int64_t events, const std::vector<std::string>& extra_sets) {
  ShapeResult result{name, {}, 0};
  fs::path data = work / ("tidemark-" + name);
  fs::remove_all(data);
  const std::string bin = TIDEMARK_BIN;
  std::string key = Trim(tidemark::RunCommand({bin, "keys", "create", "--data", data.string(),
                                               "--source", "bench", "--platform", "web", "--scopes", "write"})
                             .out);
  uint16_t port = PickPort(20000);
  std::vector<std::string> argv = {bin, "serve", "--data", data.string(), "--listen",
                                   "127.0.0.1:" + std::to_string(port), "--registry-listen", "127.0.0.1:0"};
  for (const auto& s : extra_sets) {
    argv.push_back("--set");
    argv.push_back(s);
  }
  tidemark::Subprocess server;
  if (!server.Start(argv, (work / (name + ".log")).string()).ok()) {
    std::fprintf(stderr, "cannot start tidemark\n");
    std::exit(1);
  }
  for (int i = 0; i < 600; ++i) {
    HttpConnection c("127.0.0.1", port);
    auto r = c.Request("GET", "/readyz");
    if (r.ok() && r->status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  LoadgenOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(port);
  o.key = key;
  o.events = events;
  o.batch = batch;
  o.connections = connections;
  o.seed = 42;
  auto s = tidemark::cli::RunLoadgen(o);
  if (!s.ok()) {
    std::fprintf(stderr, "loadgen: %s\n", s.status().ToString().c_str());
    std::exit(1);
  }
  result.summary = *s;
  result.peak_rss = server.PeakRssBytes();
  server.Signal(SIGTERM);
  server.Wait();
  fs::remove_all(data);
  return result;
}

// The event with context and properties turned into JSON strings, for String columns.
std::string ClickHouseRow(simdjson::dom::parser& parser, const std::string& json) {
  simdjson::dom::element e = parser.parse(json).value();
  auto quote = [](std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  };
  return fmt::format(
      R"({{"event_id":{},"event_type":{},"timestamp":{},"user_id":{},"session_id":{},"platform":{},"context":{},"properties":{}}})",
      quote(e["event_id"].get_string().value()), quote(e["event_type"].get_string().value()),
      e["timestamp"].get_int64().value(), quote(e["user_id"].get_string().value()),
      quote(e["session_id"].get_string().value()), quote(e["platform"].get_string().value()),
      quote(simdjson::minify(e["context"].value())), quote(simdjson::minify(e["properties"].value())));
}

double RunClickHouse(const fs::path& work, int64_t events, int batch, int connections) {
  const std::string script = std::string(TIDEMARK_SOURCE_DIR) + "/scripts/clickhouse-local.sh";
  fs::path dir = work / "clickhouse";
  fs::remove_all(dir);
  uint16_t http_port = PickPort(21000), tcp_port = PickPort(22000);
  auto started = tidemark::RunCommand({"/bin/bash", script, "start", dir.string(),
                                       std::to_string(http_port), std::to_string(tcp_port)});
  if (started.exit_code != 0) {
    std::fprintf(stderr, "clickhouse did not start: %s\n", started.err.c_str());
    return 0;
  }
  HttpConnection admin("127.0.0.1", http_port);
  auto ddl = admin.Request("POST", "/",
                           "CREATE TABLE events (event_id String, event_type String, timestamp UInt64, "
                           "user_id String, session_id String, platform String, context String, "
                           "properties String) ENGINE = MergeTree ORDER BY (event_type, timestamp)");
  if (!ddl.ok() || ddl->status != 200) {
    std::fprintf(stderr, "clickhouse DDL failed: %s\n", ddl.ok() ? ddl->body.c_str() : "no answer");
  }
  LoadgenOptions o;
  o.events = events;
  o.seed = 42;
  auto generated = tidemark::cli::GenerateEvents(o);
  simdjson::dom::parser parser;
  std::vector<std::string> bodies;
  for (size_t i = 0; i < generated.size(); i += static_cast<size_t>(batch)) {
    std::string body;
    for (size_t k = i; k < std::min(generated.size(), i + batch); ++k) {
      body += ClickHouseRow(parser, generated[k].json);
      body += '\n';
    }
    bodies.push_back(std::move(body));
  }
  std::atomic<size_t> next{0};
  std::atomic<int64_t> failures{0};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&] {
      HttpConnection conn("127.0.0.1", http_port);
      for (size_t b; (b = next.fetch_add(1)) < bodies.size();) {
        auto r = conn.Request("POST", "/?query=INSERT%20INTO%20events%20FORMAT%20JSONEachRow", bodies[b]);
        if (!r.ok() || r->status != 200) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto count = admin.Request("POST", "/", "SELECT count() FROM events");
  std::printf("clickhouse: %s rows stored, %lld failed inserts\n",
              count.ok() ? Trim(count->body).c_str() : "?", static_cast<long long>(failures.load()));
  tidemark::RunCommand({"/bin/bash", script, "stop", dir.string()});
  fs::remove_all(dir);
  return static_cast<double>(events) / seconds;
}

void Print(const ShapeResult& r) {
  const auto& s = r.summary;
  std::printf("%-5s  %9.0f events/s  p50 %6.2f ms  p99 %6.2f ms  peak RSS %4lld MiB  (%lld events, %lld retries, %lld failed batches)\n",
              r.name.c_str(), s.events_per_second, s.p50_ms, s.p99_ms,
              static_cast<long long>(r.peak_rss >> 20), static_cast<long long>(s.events_sent),
              static_cast<long long>(s.retries), static_cast<long long>(s.failed_batches));
}

}  // namespace

int main(int argc, char** argv) {
  int64_t events = 1000000;
  bool clickhouse = true;
  std::vector<std::string> extra;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--events" && i + 1 < argc) events = std::stoll(argv[++i]);
    else if (a == "--no-clickhouse") clickhouse = false;
    else if (a == "--set" && i + 1 < argc) extra.push_back(argv[++i]);
    else {
      std::fprintf(stderr, "usage: ingest_bench [--events N] [--no-clickhouse] [--set KEY=VALUE]...\n");
      return 2;
    }
  }
  fs::path work = fs::temp_directory_path() / ("tidemark-bench-" + std::to_string(getpid()));
  fs::create_directories(work);
  std::printf("ingest benchmark: %lld loadgen events per shape, durable acks (fsync)\n",
              static_cast<long long>(events));
  ShapeResult bulk = RunShape("bulk", work, 1000, 4, events, extra);
  Print(bulk);
  ShapeResult sdk = RunShape("sdk", work, 50, 32, events, extra);
  Print(sdk);
  if (clickhouse) {
    double ch = RunClickHouse(work, events, 1000, 4);
    std::printf("clickhouse JSONEachRow (1000 rows/insert, 4 connections): %.0f events/s\n", ch);
    if (ch > 0) std::printf("ratio tidemark/clickhouse (bulk): %.2fx\n", bulk.summary.events_per_second / ch);
  }
  fs::remove_all(work);
  return 0;
}
