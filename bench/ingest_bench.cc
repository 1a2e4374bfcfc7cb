// Ingest benchmark: the real `tidemark serve` with durable (fsync'd) acks, fed by the load
// generator over loopback in two shapes — bulk (1,000 events/request, 4 connections) and
// SDK (50 events/request, 32 connections) — and, in the same run, ClickHouse inserting the
// same events as JSONEachRow in the bulk shape. Prints events/s, ack latency, peak RSS, the
// CPU-seconds per million events of each server thread group and of the load generator, and
// the tidemark/ClickHouse ratio. Each shape runs twice by default: with the whole pipeline
// ("full") and with the consumers off ("ingest": stream.enabled and lake.enabled false), so
// the ingest path can be measured alone.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>

#include "cli/http_client.h"
#include "cli/loadgen.h"
#include "common/files.h"
#include "common/subprocess.h"
#include "event/json_writer.h"

namespace {

namespace fs = std::filesystem;
using tidemark::cli::HttpConnection;
using tidemark::cli::LoadgenOptions;
using tidemark::cli::LoadgenSummary;

// CPU time of one thread group, in seconds.
struct GroupCpu {
  double total = 0;   // from schedstat (ns resolution)
  double system = 0;  // from stat (clock-tick resolution)
};

// Thread groups of `tidemark serve`, by thread name (see pthread_setname_np in the stages).
const char* GroupOf(const std::string& comm) {
  if (comm == "tm-gateway-io") return "gateway-io";
  if (comm == "tm-log-writer" || comm == "tm-log-sync") return "log-writer";
  if (comm == "tm-stream") return "stream";
  if (comm == "tm-lake-bronze") return "lake";
  return "other";
}
const char* const kGroups[] = {"gateway-io", "log-writer", "stream", "lake", "other"};

// Per-thread CPU of a process, summed by group, from /proc/<pid>/task/*/{schedstat,stat}.
std::map<std::string, GroupCpu> SampleCpu(pid_t pid) {
  std::map<std::string, GroupCpu> out;
  const double tick = 1.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path("/proc") / std::to_string(pid) / "task", ec)) {
    std::ifstream stat_file(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    const size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    const std::string comm = stat.substr(open + 1, close - open - 1);
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; rest >> field; ++i) {  // field 3 is the state; 14 utime, 15 stime
      if (i == 14) utime = std::stod(field);
      if (i == 15) {
        stime = std::stod(field);
        break;
      }
    }
    std::ifstream sched(entry.path() / "schedstat");
    double run_ns = -1;
    if (!(sched >> run_ns)) run_ns = (utime + stime) * tick * 1e9;
    GroupCpu& g = out[GroupOf(comm)];
    g.total += run_ns * 1e-9;
    g.system += stime * tick;
  }
  return out;
}

double LoadAverage() {
  std::ifstream f("/proc/loadavg");
  double one = 0;
  f >> one;
  return one;
}

struct ShapeResult {
  std::string name;
  LoadgenSummary summary;
  int64_t peak_rss = 0;
  std::map<std::string, GroupCpu> cpu;  // server thread groups, during the load only
  double load_average = 0;              // 1-minute load average at the end of the load
};

uint16_t PickPort(uint16_t base) { return static_cast<uint16_t>(base + (getpid() % 500)); }

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Registers schemas/loadgen/<type>.avsc as <type>-value on a running server's registry.
void RegisterLoadgenSchemas(uint16_t registry_port, const std::string& key) {
  const fs::path dir = fs::path(TIDEMARK_SOURCE_DIR) / "schemas" / "loadgen";
  HttpConnection conn("127.0.0.1", registry_port);
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".avsc") continue;
    auto text = tidemark::ReadFileToString(entry.path().string());
    std::string body = "{\"schema\":";
    tidemark::event::AppendJsonString(&body, text.ok() ? *text : "");
    body += "}";
    auto r = conn.Request("POST", "/subjects/" + entry.path().stem().string() + "-value/versions", body,
                          {{"Authorization", "Bearer " + key},
                           {"Content-Type", "application/vnd.schemaregistry.v1+json"}});
    if (!r.ok() || r->status != 200) {
      std::fprintf(stderr, "registering %s failed: %s\n", entry.path().c_str(),
                   r.ok() ? r->body.c_str() : r.status().ToString().c_str());
      std::exit(1);
    }
  }
}

// Runs one load shape against a fresh server and data directory. With register_schemas the
// loadgen event types get their schemas before the load (typed validation, PII masking of
// context.ip); without, every type is encoded with the generic schema, or not at all when
// extra_sets turn schema.enabled off.
ShapeResult RunShape(const std::string& bin, const std::string& name, const fs::path& work, int batch,
                     int connections, int64_t events, const std::vector<std::string>& extra_sets,
                     bool register_schemas = false) {
  ShapeResult result{name, {}, 0, {}, 0};
  std::string file_name = name;  // "bulk/full" -> "bulk-full"
  std::replace(file_name.begin(), file_name.end(), '/', '-');
  fs::path data = work / ("tidemark-" + file_name);
  fs::remove_all(data);
  std::string key = Trim(tidemark::RunCommand({bin, "keys", "create", "--data", data.string(),
                                               "--source", "bench", "--platform", "web", "--scopes",
                                               "write,admin"})
                             .out);
  uint16_t port = PickPort(20000);
  uint16_t registry_port = PickPort(23000);
  std::vector<std::string> argv = {bin, "serve", "--data", data.string(), "--listen",
                                   "127.0.0.1:" + std::to_string(port), "--registry-listen",
                                   "127.0.0.1:" + std::to_string(registry_port)};
  for (const auto& s : extra_sets) {
    argv.push_back("--set");
    argv.push_back(s);
  }
  tidemark::Subprocess server;
  if (!server.Start(argv, (work / (file_name + ".log")).string()).ok()) {
    std::fprintf(stderr, "cannot start %s\n", bin.c_str());
    std::exit(1);
  }
  for (int i = 0; i < 600; ++i) {
    HttpConnection c("127.0.0.1", port);
    auto r = c.Request("GET", "/readyz");
    if (r.ok() && r->status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (register_schemas) RegisterLoadgenSchemas(registry_port, key);
  LoadgenOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(port);
  o.key = key;
  o.events = events;
  o.batch = batch;
  o.connections = connections;
  o.seed = 42;
  std::map<std::string, GroupCpu> before;
  o.before_send = [&] { before = SampleCpu(server.pid()); };
  auto s = tidemark::cli::RunLoadgen(o);
  result.cpu = SampleCpu(server.pid());
  result.load_average = LoadAverage();
  for (auto& [group, cpu] : result.cpu) {
    cpu.total -= before[group].total;
    cpu.system -= before[group].system;
  }
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
  std::printf("%-12s %9.0f events/s  p50 %6.2f ms  p99 %6.2f ms  peak RSS %4lld MiB  (%lld events, %lld retries, %lld failed batches)\n",
              r.name.c_str(), s.events_per_second, s.p50_ms, s.p99_ms,
              static_cast<long long>(r.peak_rss >> 20), static_cast<long long>(s.events_sent),
              static_cast<long long>(s.retries), static_cast<long long>(s.failed_batches));
  // CPU-seconds per million events while the load ran; (sys …) is the kernel's share.
  const double per_million = s.events_sent > 0 ? 1e6 / static_cast<double>(s.events_sent) : 0;
  std::string line = "             CPU s/1M events:";
  double server = 0;
  for (const char* g : kGroups) {
    auto it = r.cpu.find(g);
    if (it == r.cpu.end()) continue;
    server += it->second.total;
    line += fmt::format(" {} {:.2f} (sys {:.2f})", g, it->second.total * per_million, it->second.system * per_million);
  }
  line += fmt::format("; server {:.2f}; loadgen {:.2f}; load avg {:.1f}", server * per_million,
                      s.cpu_seconds * per_million, r.load_average);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int64_t events = 1000000;
  bool clickhouse = true;
  int repeat = 1;
  std::string variant = "both";
  bool schema_ratio = false;
  std::string bin = TIDEMARK_BIN;
  std::vector<std::string> shapes = {"bulk", "sdk"};
  std::vector<std::string> extra;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--events" && i + 1 < argc) events = std::stoll(argv[++i]);
    else if (a == "--no-clickhouse") clickhouse = false;
    else if (a == "--set" && i + 1 < argc) extra.push_back(argv[++i]);
    else if (a == "--variant" && i + 1 < argc) variant = argv[++i];
    else if (a == "--shape" && i + 1 < argc) shapes = {argv[++i]};
    else if (a == "--repeat" && i + 1 < argc) repeat = std::max(1, std::stoi(argv[++i]));
    else if (a == "--bin" && i + 1 < argc) bin = argv[++i];
    else if (a == "--schema-ratio") schema_ratio = true;
    else {
      std::fprintf(stderr,
                   "usage: ingest_bench [--events N] [--no-clickhouse] [--set KEY=VALUE]...\n"
                   "                    [--variant full|ingest|both] [--shape bulk|sdk] [--repeat N]\n"
                   "                    [--bin PATH-TO-TIDEMARK] [--schema-ratio]\n"
                   "  full: the whole serve pipeline; ingest: stream.enabled=false, lake.enabled=false.\n"
                   "  --repeat runs every (variant, shape) N times, interleaved, and prints medians.\n"
                   "  --schema-ratio: ingest only, per shape: registered schemas (validation, PII masking,\n"
                   "  Avro) against schema.enabled=false (canonical JSON), interleaved, and the ratio.\n");
      return 2;
    }
  }
  if (variant != "full" && variant != "ingest" && variant != "both") {
    std::fprintf(stderr, "--variant must be full, ingest or both\n");
    return 2;
  }
  fs::path work = fs::temp_directory_path() / ("tidemark-bench-" + std::to_string(getpid()));
  fs::create_directories(work);
  std::printf("ingest benchmark: %lld loadgen events per shape, durable acks (fsync), %s\n",
              static_cast<long long>(events), bin.c_str());
  struct Run {
    std::string name;
    int batch;
    int connections;
    std::vector<std::string> sets;
  };
  std::vector<Run> runs;
  for (const std::string& v : {std::string("full"), std::string("ingest")}) {
    if (variant != "both" && variant != v) continue;
    std::vector<std::string> sets = extra;
    if (v == "ingest") {
      sets.push_back("stream.enabled=false");
      sets.push_back("lake.enabled=false");
    }
    for (const std::string& shape : shapes) {
      if (shape == "bulk") runs.push_back({"bulk/" + v, 1000, 4, sets});
      else if (shape == "sdk") runs.push_back({"sdk/" + v, 50, 32, sets});
      else {
        std::fprintf(stderr, "--shape must be bulk or sdk\n");
        return 2;
      }
    }
  }
  if (schema_ratio) {
    // The gateway's cost of schemas, so the consumers are off in both arms.
    std::vector<std::string> off = extra, on = extra;
    for (auto* sets : {&off, &on}) {
      sets->push_back("stream.enabled=false");
      sets->push_back("lake.enabled=false");
    }
    off.push_back("schema.enabled=false");
    for (const std::string& shape : shapes) {
      const int batch = shape == "bulk" ? 1000 : 50, connections = shape == "bulk" ? 4 : 32;
      std::vector<double> with, without;
      for (int k = 0; k < repeat; ++k) {
        ShapeResult a = RunShape(bin, shape + "/json", work, batch, connections, events, off);
        Print(a);
        ShapeResult b = RunShape(bin, shape + "/avro", work, batch, connections, events, on, true);
        Print(b);
        without.push_back(a.summary.events_per_second);
        with.push_back(b.summary.events_per_second);
      }
      const double ratio = Median(with) / std::max(1.0, Median(without));
      std::printf("schema ratio %s: validation+masking+Avro %.0f events/s vs off %.0f events/s (medians of %d): %.3f\n",
                  shape.c_str(), Median(with), Median(without), repeat, ratio);
    }
    fs::remove_all(work);
    return 0;
  }
  std::map<std::string, std::vector<double>> rates;
  double bulk_rate = 0;
  for (int k = 0; k < repeat; ++k) {
    for (const Run& run : runs) {
      ShapeResult r = RunShape(bin, run.name, work, run.batch, run.connections, events, run.sets);
      r.name = run.name;
      Print(r);
      rates[run.name].push_back(r.summary.events_per_second);
    }
  }
  if (repeat > 1) {
    for (const Run& run : runs) std::printf("median %-12s %9.0f events/s over %d runs\n", run.name.c_str(), Median(rates[run.name]), repeat);
  }
  if (rates.count("bulk/full")) bulk_rate = Median(rates["bulk/full"]);
  else if (rates.count("bulk/ingest")) bulk_rate = Median(rates["bulk/ingest"]);
  if (clickhouse) {
    double ch = RunClickHouse(work, events, 1000, 4);
    std::printf("clickhouse JSONEachRow (1000 rows/insert, 4 connections): %.0f events/s\n", ch);
    if (ch > 0 && bulk_rate > 0) std::printf("ratio tidemark/clickhouse (bulk): %.2fx\n", bulk_rate / ch);
  }
  fs::remove_all(work);
  return 0;
}
