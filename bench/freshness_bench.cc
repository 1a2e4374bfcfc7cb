// Freshness benchmark: while load runs against `tidemark serve`, probe events are sent one
// at a time and /v1/query is polled until each is counted; prints the time from the probe's
// acknowledgement to its first appearance in the query answer (p50/p99/max) and the load
// rate it ran beside.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <simdjson.h>

#include "cli/http_client.h"
#include "cli/loadgen.h"
#include "common/clock.h"
#include "common/subprocess.h"

namespace {

namespace fs = std::filesystem;
using tidemark::cli::HttpConnection;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// The summed value of the answer's points.
double Sum(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS) return 0;
  double sum = 0;
  simdjson::dom::array series;
  if (doc["series"].get(series) != simdjson::SUCCESS) return 0;
  for (auto s : series) {
    for (auto point : s["points"].get_array()) {
      auto pair = point.get_array().value();
      int64_t v;
      if (pair.at(1).get(v) == simdjson::SUCCESS) sum += static_cast<double>(v);
    }
  }
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  int probes = 100;
  int connections = 2;
  int batch = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--probes") probes = std::stoi(argv[i + 1]);
    else if (a == "--connections") connections = std::stoi(argv[i + 1]);
    else if (a == "--batch") batch = std::stoi(argv[i + 1]);
  }
  fs::path data = fs::temp_directory_path() / ("tidemark-fresh-" + std::to_string(getpid()));
  fs::remove_all(data);
  const std::string bin = TIDEMARK_BIN;
  std::string key = Trim(tidemark::RunCommand({bin, "keys", "create", "--data", data.string(), "--source",
                                               "bench", "--platform", "web", "--scopes", "write,read"})
                             .out);
  const uint16_t port = static_cast<uint16_t>(23000 + getpid() % 500);
  tidemark::Subprocess server;
  if (!server.Start({bin, "serve", "--data", data.string(), "--listen", "127.0.0.1:" + std::to_string(port),
                     "--registry-listen", "127.0.0.1:0"},
                    data.string() + ".log")
           .ok()) {
    return 1;
  }
  for (int i = 0; i < 600; ++i) {
    HttpConnection c("127.0.0.1", port);
    auto r = c.Request("GET", "/readyz");
    if (r.ok() && r->status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::atomic<bool> stop{false};
  std::atomic<int64_t> loaded{0};
  auto t0 = std::chrono::steady_clock::now();
  std::thread load([&] {
    for (uint64_t seed = 1; !stop; ++seed) {
      tidemark::cli::LoadgenOptions o;
      o.url = "http://127.0.0.1:" + std::to_string(port);
      o.key = key;
      o.events = 200000;
      o.batch = batch;
      o.connections = connections;
      o.seed = seed;
      o.span_ms = 60000;
      o.stop = &stop;
      auto s = tidemark::cli::RunLoadgen(o);
      if (s.ok()) loaded += s->accepted;
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(3));
  HttpConnection conn("127.0.0.1", port);
  std::vector<double> latencies;
  const std::vector<std::pair<std::string, std::string>> headers = {{"Authorization", "Bearer " + key},
                                                                   {"Content-Type", "application/json"}};
  for (int i = 1; i <= probes; ++i) {
    const int64_t now = tidemark::SystemClock::Instance().NowMillis();
    std::string body = "[{\"event_type\":\"freshness_probe\",\"user_id\":\"probe\",\"timestamp\":" +
                       std::to_string(now) + ",\"event_id\":\"probe-" + std::to_string(i) + "\"}]";
    auto r = conn.Request("POST", "/v1/batch", body, headers);
    if (!r.ok() || r->status != 200) continue;
    auto acked = std::chrono::steady_clock::now();
    const std::string query = "/v1/query?metric=events&step=1d&where=event_type:freshness_probe&from=" +
                              std::to_string(now - 86400000) + "&to=" + std::to_string(now + 86400000);
    for (;;) {
      auto q = conn.Request("GET", query, "", {{"Authorization", "Bearer " + key}});
      if (q.ok() && q->status == 200 && Sum(q->body) >= i) break;
      if (std::chrono::steady_clock::now() - acked > std::chrono::seconds(60)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    latencies.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - acked).count());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop = true;
  load.join();
  server.Signal(SIGTERM);
  server.Wait();
  fs::remove_all(data);
  fs::remove(data.string() + ".log");
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double q) { return latencies.empty() ? 0 : latencies[static_cast<size_t>(q * (latencies.size() - 1))]; };
  std::printf("freshness: %zu probes beside %.0f events/s of load (%d connections x %d events)\n",
              latencies.size(), static_cast<double>(loaded.load()) / seconds, connections, batch);
  std::printf("ack -> counted in /v1/query: p50 %.2f s, p99 %.2f s, max %.2f s\n", pct(0.5), pct(0.99),
              latencies.empty() ? 0 : latencies.back());
  return 0;
}
