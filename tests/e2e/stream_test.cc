// The real-time path end to end: events with known duplicates and late arrivals go through
// the real binary; per-window counts from /v1/query are compared with counts computed here
// independently (same partitioner, same lateness rule), late events must be in late-events
// and nowhere else; and SIGKILL under load must not change the final window results.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <simdjson.h>

#include "cli/loadgen.h"
#include "common/clock.h"
#include "common/hashing.h"
#include "e2e/tidemark_server.h"

namespace tidemark::testing {
namespace {

constexpr int64_t kMinute = 60000;
constexpr int64_t kHour = 3600000;
constexpr int64_t kLateness = 2 * kHour;

struct ParsedEvent {
  std::string id, type, platform, user;
  int64_t ts = 0;
  double duration = -1;
  std::string topic;
  int partition = 0;
};

ParsedEvent Parse(simdjson::dom::parser& parser, const std::string& json) {
  simdjson::dom::element e = parser.parse(json).value();
  ParsedEvent p;
  p.id = std::string(e["event_id"].get_string().value());
  p.type = std::string(e["event_type"].get_string().value());
  p.platform = std::string(e["platform"].get_string().value());
  p.user = std::string(e["user_id"].get_string().value());
  p.ts = e["timestamp"].get_int64().value();
  double d;
  int64_t di;
  if (e["properties"]["duration_ms"].get(di) == simdjson::SUCCESS) p.duration = static_cast<double>(di);
  else if (e["properties"]["duration_ms"].get(d) == simdjson::SUCCESS) p.duration = d;
  if (p.platform == "server") {
    p.topic = "server-events";
    p.partition = KafkaPartition(std::string(e["context"]["service"].get_string().value()), 4);
  } else {
    p.topic = "user-events";
    p.partition = KafkaPartition(p.user, 8);
  }
  return p;
}

struct Expected {
  std::map<std::tuple<int64_t, std::string, std::string>, int64_t> counts;  // (window, type, platform)
  std::map<std::pair<int64_t, std::string>, std::set<std::string>> users;  // (hour, platform)
  std::map<std::pair<int64_t, std::string>, std::vector<double>> durations;
  std::set<std::string> late_ids;
  int64_t on_time = 0;
};

// The stream's rules, computed independently: per partition in log order, drop repeated
// event ids, then an event whose one-minute window ends at or before (max event time so far
// − 2 h) is late; otherwise it counts and may raise the max.
Expected Compute(const std::vector<cli::GeneratedEvent>& events) {
  simdjson::dom::parser parser;
  Expected out;
  std::map<std::string, std::set<std::string>> seen;
  std::map<std::string, int64_t> max_time;
  for (const auto& g : events) {
    ParsedEvent e = Parse(parser, g.json);
    const std::string part = e.topic + "/" + std::to_string(e.partition);
    if (!seen[part].insert(e.id).second) continue;
    const int64_t window = e.ts / kMinute * kMinute;
    auto mt = max_time.find(part);
    if (mt != max_time.end() && window + kMinute <= mt->second - kLateness) {
      out.late_ids.insert(e.id);
      continue;
    }
    max_time[part] = mt == max_time.end() ? e.ts : std::max(mt->second, e.ts);
    out.counts[{window, e.type, e.platform}]++;
    out.users[{e.ts / kHour * kHour, e.platform}].insert(e.user);
    if (e.duration >= 0) out.durations[{e.ts / kHour * kHour, e.platform}].push_back(e.duration);
    out.on_time++;
  }
  return out;
}

// series → {(window, "k=v,k=v") → value}
std::map<std::pair<int64_t, std::string>, double> Series(simdjson::dom::parser& parser,
                                                         const std::string& body) {
  std::map<std::pair<int64_t, std::string>, double> out;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS) return out;
  simdjson::dom::array series;
  if (doc["series"].get(series) != simdjson::SUCCESS) return out;
  for (auto s : series) {
    std::string group;
    for (auto [k, v] : s["group"].get_object()) {
      group += std::string(k) + "=" + std::string(v.get_string().value()) + ",";
    }
    for (auto point : s["points"].get_array()) {
      auto arr = point.get_array().value();
      int64_t t = arr.at(0).get_int64().value();
      double v = 0;
      int64_t iv;
      if (arr.at(1).get(iv) == simdjson::SUCCESS) v = static_cast<double>(iv);
      else v = arr.at(1).get_double().value();
      out[{t, group}] = v;
    }
  }
  return out;
}

std::string Query(TidemarkServer& server, const std::string& key, const std::string& params) {
  auto r = server.Get("/v1/query?" + params, key);
  return r.ok() && r->status == 200 ? r->body : "";
}

double Total(simdjson::dom::parser& parser, const std::string& body) {
  double sum = 0;
  for (const auto& [k, v] : Series(parser, body)) sum += v;
  return sum;
}

// Waits until the day-level total of `events` reaches `want` (or 120 s pass).
double WaitForTotal(TidemarkServer& server, const std::string& key, const std::string& range, double want) {
  simdjson::dom::parser parser;
  double got = -1;
  for (int i = 0; i < 600; ++i) {
    got = Total(parser, Query(server, key, "metric=events&step=1d&" + range));
    if (got >= want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return got;
}

cli::LoadgenOptions Options(int64_t start_ms) {
  cli::LoadgenOptions o;
  o.events = 30000;
  o.batch = 200;
  o.connections = 1;  // one connection: the log order is the generation order
  o.dup_rate = 0.08;
  o.late_rate = 0.04;
  o.users = 2000;
  o.seed = 7;
  o.start_ms = start_ms;
  o.span_ms = 3 * kHour;
  return o;
}

TEST(StreamEndToEndTest, WindowCountsMatchAnIndependentComputation) {
  const int64_t start = SystemClock::Instance().NowMillis() / kHour * kHour - 5 * kHour;
  cli::LoadgenOptions o = Options(start);
  auto events = cli::GenerateEvents(o);
  Expected want = Compute(events);
  ASSERT_GT(want.late_ids.size(), 50u) << "the data must contain events beyond the lateness";

  TidemarkServer server;
  std::string key = server.CreateKey("mixed", "web", "write,read");
  ASSERT_TRUE(server.Start().ok()) << server.Output();
  o.url = server.url();
  o.key = key;
  auto sent = cli::RunLoadgen(o);
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(sent->failed_batches, 0);

  const std::string range = "from=" + std::to_string(start - 4 * kHour) + "&to=" + std::to_string(start + 5 * kHour);
  ASSERT_EQ(WaitForTotal(server, key, range, static_cast<double>(want.on_time)), static_cast<double>(want.on_time));

  simdjson::dom::parser parser;
  auto counts = Series(parser, Query(server, key, "metric=events&step=1m&group_by=event_type,platform&" + range));
  std::map<std::tuple<int64_t, std::string, std::string>, int64_t> got;
  for (const auto& [k, v] : counts) {
    // group "event_type=X,platform=Y,"
    const std::string& g = k.second;
    auto type_end = g.find(',');
    std::string type = g.substr(g.find('=') + 1, type_end - g.find('=') - 1);
    std::string rest = g.substr(type_end + 1);
    std::string platform = rest.substr(rest.find('=') + 1, rest.find(',') - rest.find('=') - 1);
    if (v != 0) got[{k.first, type, platform}] = static_cast<int64_t>(v);
  }
  EXPECT_EQ(got, want.counts) << "per-window counts differ from the independent computation";

  auto users = Series(parser, Query(server, key, "metric=users&step=1h&group_by=platform&" + range));
  for (const auto& [k, ids] : want.users) {
    double v = users[{k.first, "platform=" + k.second + ","}];
    EXPECT_NEAR(v, static_cast<double>(ids.size()), 0.02 * static_cast<double>(ids.size()))
        << "unique users at " << k.first << " " << k.second;
  }
  auto p95 = Series(parser, Query(server, key, "metric=p95:duration_ms&step=1h&group_by=platform&" + range));
  for (auto [k, values] : want.durations) {
    if (values.size() < 100) continue;
    std::sort(values.begin(), values.end());
    const size_t n = values.size();
    double lo = values[static_cast<size_t>(std::floor(0.95 * static_cast<double>(n - 1)))];
    double hi = values[std::min(n - 1, static_cast<size_t>(std::ceil(0.95 * static_cast<double>(n))) - 1)];
    double v = p95[{k.first, "platform=" + k.second + ","}];
    EXPECT_GE(v, std::min(lo, hi) * 0.99) << "p95 at " << k.first << " " << k.second;
    EXPECT_LE(v, std::max(lo, hi) * 1.01) << "p95 at " << k.first << " " << k.second;
  }

  // Late records are appended to late-events alongside the window updates; wait for them.
  std::set<std::string> late_logged;
  for (int attempt = 0; attempt < 100 && late_logged.size() < want.late_ids.size(); ++attempt) {
    if (attempt) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    late_logged.clear();
    for (const auto& rec : server.Dump("late-events")) {
      auto pos = rec.value.find("\"event_id\":\"");
      ASSERT_NE(pos, std::string::npos);
      pos += 12;
      late_logged.insert(rec.value.substr(pos, rec.value.find('"', pos) - pos));
    }
  }
  EXPECT_EQ(late_logged.size(), want.late_ids.size());
  EXPECT_EQ(late_logged, want.late_ids) << "late-events must hold exactly the events beyond the lateness";
}

TEST(StreamEndToEndTest, KillNineUnderLoadLeavesFinalWindowsExactlyAsWithoutCrashes) {
  const int64_t start = SystemClock::Instance().NowMillis() / kHour * kHour - 5 * kHour;
  const std::string range = "from=" + std::to_string(start - 4 * kHour) + "&to=" + std::to_string(start + 5 * kHour);
  const std::string params = "step=1m&group_by=event_type,platform,app_version&" + range;
  Expected want = Compute(cli::GenerateEvents(Options(start)));

  auto results = [&](TidemarkServer& server, const std::string& key) {
    std::map<std::string, std::string> r;
    for (const char* metric : {"events", "users", "sessions", "late", "sum:revenue", "p95:duration_ms"}) {
      r[metric] = Query(server, key, std::string("metric=") + metric + "&" + params);
    }
    return r;
  };

  // A run without crashes.
  std::map<std::string, std::string> clean;
  {
    TidemarkServer server;
    std::string key = server.CreateKey("mixed", "web", "write,read");
    ASSERT_TRUE(server.Start().ok()) << server.Output();
    cli::LoadgenOptions o = Options(start);
    o.url = server.url();
    o.key = key;
    ASSERT_TRUE(cli::RunLoadgen(o).ok());
    ASSERT_EQ(WaitForTotal(server, key, range, static_cast<double>(want.on_time)), static_cast<double>(want.on_time));
    ASSERT_EQ(server.Terminate(), 0);  // final checkpoints, then the results as a restart sees them
    ASSERT_TRUE(server.Start().ok());
    clean = results(server, key);
  }

  // The same events while the server is killed with SIGKILL at random moments.
  TidemarkServer server;
  std::string key = server.CreateKey("mixed", "web", "write,read");
  ASSERT_TRUE(server.Start().ok()) << server.Output();
  std::atomic<bool> done{false};
  std::thread load([&] {
    cli::LoadgenOptions o = Options(start);
    o.url = server.url();
    o.key = key;
    o.batch = 100;
    o.retry_timeout_ms = 120000;
    auto s = cli::RunLoadgen(o);
    EXPECT_TRUE(s.ok() && s->failed_batches == 0);
    done = true;
  });
  std::mt19937 rng(std::random_device{}());
  int kills = 0;
  while (kills < 5) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 800));
    server.Kill();
    ++kills;
    ASSERT_TRUE(server.Start().ok()) << server.Output();
  }
  load.join();
  ASSERT_TRUE(done);
  ASSERT_EQ(WaitForTotal(server, key, range, static_cast<double>(want.on_time)), static_cast<double>(want.on_time));
  ASSERT_EQ(server.Terminate(), 0);
  ASSERT_TRUE(server.Start().ok());
  auto crashed = results(server, key);
  for (const auto& [metric, body] : clean) {
    EXPECT_FALSE(body.empty()) << metric;
    EXPECT_EQ(crashed[metric], body) << metric << " differs after " << kills << " kills";
  }
}

}  // namespace
}  // namespace tidemark::testing
