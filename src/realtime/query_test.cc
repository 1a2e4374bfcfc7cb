#include "realtime/query.h"

#include <gtest/gtest.h>

#include <cmath>
#include <simdjson.h>

#include "common/hashing.h"

namespace tidemark::realtime {
namespace {

constexpr int64_t kT0 = 1'775'800'800'000;  // 2026-04-10T06:00:00Z
constexpr int64_t kMin = 60'000;
const std::vector<std::string> kDims = {"event_type", "platform", "app_version"};

std::string Dims(const std::string& type, const std::string& platform) {
  std::string k;
  stream::AppendDim(&k, "event_type", type);
  stream::AppendDim(&k, "platform", platform);
  stream::AppendDim(&k, "app_version", "1.0");
  return k;
}

class QueryTest : public ::testing::Test {
 protected:
  // One hour of minutes; every minute 100 distinct users of which half recur all hour,
  // and durations 1..100 ms; split across two shards.
  void SetUp() override {
    for (int m = 0; m < 60; ++m) {
      for (const char* platform : {"ios", "web"}) {
        WindowAggregate agg;
        for (int u = 0; u < 100; ++u) {
          std::string user = u < 50 ? "steady-" + std::to_string(u) : "m" + std::to_string(m) + "-" + std::to_string(u);
          agg.events++;
          agg.users.AddHash(Hash64(std::string(platform) + user));
          agg.Prop("duration_ms").Add(u + 1 + m);
        }
        agg.sessions = 3;
        store_.Upsert(m % 2 ? "user-events/1" : "user-events/0", RowKind::kWindow, kT0 + m * kMin,
                      Dims("page_view", platform), agg);
      }
    }
    WindowAggregate late;
    late.late = 4;
    store_.Upsert("user-events/0", RowKind::kLate, kT0, Dims("page_view", "ios"), late);
  }

  simdjson::dom::element Query(const std::string& target_query, int expect_status = 200) {
    gateway::HttpRequest req;
    req.method = "GET";
    std::string rest = target_query;
    while (!rest.empty()) {
      size_t amp = rest.find('&');
      std::string part = rest.substr(0, amp);
      size_t eq = part.find('=');
      req.query.emplace(part.substr(0, eq), part.substr(eq + 1));
      rest = amp == std::string::npos ? "" : rest.substr(amp + 1);
    }
    last_ = HandleQueryRequest(store_, kDims, kT0 + 2 * 3600'000, req);
    EXPECT_EQ(last_.status, expect_status) << last_.body;
    simdjson::dom::element doc;
    EXPECT_EQ(parser_.parse(last_.body).get(doc), simdjson::SUCCESS) << last_.body;
    return doc;
  }

  ManualClock clock_{kT0};
  RealtimeStore store_{"/nonexistent-not-flushed", 30LL * 86'400'000, &clock_};
  gateway::HttpResponse last_;
  simdjson::dom::parser parser_;
};

TEST_F(QueryTest, MinuteSeriesGroupedByDimension) {
  auto doc = Query("metric=events&from=1775800800000&to=2026-04-10T06:05:00Z&step=1m&group_by=platform");
  EXPECT_EQ(std::string_view(doc["metric"]), "events");
  EXPECT_EQ(int64_t(doc["step_ms"]), 60000);
  simdjson::dom::array series = doc["series"];
  ASSERT_EQ(series.size(), 2u);
  auto first = series.at(0);
  EXPECT_EQ(std::string_view(first["group"]["platform"]), "ios");
  simdjson::dom::array points = first["points"];
  ASSERT_EQ(points.size(), 5u);
  EXPECT_EQ(int64_t(points.at(0).at(0)), kT0);
  EXPECT_EQ(int64_t(points.at(0).at(1)), 100);
}

TEST_F(QueryTest, HourRollupMergesSketchesNotAnswers) {
  auto doc = Query("metric=users&from=1775800800000&to=1775804400000&step=1h&where=platform:ios");
  simdjson::dom::array series = doc["series"];
  ASSERT_EQ(series.size(), 1u);
  simdjson::dom::array points = series.at(0)["points"];
  ASSERT_EQ(points.size(), 1u);
  // 50 steady users + 60 minutes × 50 one-off users = 3050 distinct, not 60 × 100.
  double users = double(int64_t(points.at(0).at(1)));
  EXPECT_NEAR(users, 3050, 3050 * 0.02);

  auto events = Query("metric=events&from=1775800800000&to=1775804400000&step=1h");
  EXPECT_EQ(int64_t(events["series"].at(0)["points"].at(0).at(1)), 12000);

  // p95 of the hour's merged durations (values m+1..m+100 over m = 0..59).
  auto p95 = Query("metric=p95:duration_ms&from=1775800800000&to=1775804400000&step=1h&where=platform:web");
  double got = double(p95["series"].at(0)["points"].at(0).at(1));
  std::vector<double> all;
  for (int m = 0; m < 60; ++m) {
    for (int u = 0; u < 100; ++u) all.push_back(u + 1 + m);
  }
  std::sort(all.begin(), all.end());
  double exact = all[static_cast<size_t>(0.95 * (all.size() - 1))];
  EXPECT_LE(std::fabs(got - exact) / exact, 0.01) << got << " vs " << exact;

  auto sum = Query("metric=sum:duration_ms&from=1775800800000&to=1775804400000&step=5m&where=platform:web");
  simdjson::dom::array sum_points = sum["series"].at(0)["points"];
  EXPECT_EQ(sum_points.size(), 12u);
  double first5 = 0;
  for (int m = 0; m < 5; ++m) {
    for (int u = 0; u < 100; ++u) first5 += u + 1 + m;
  }
  EXPECT_DOUBLE_EQ(double(int64_t(sum_points.at(0).at(1))), first5);
}

TEST_F(QueryTest, LateAndSessionsMetrics) {
  auto late = Query("metric=late&from=1775800800000&to=1775804400000&step=1d&group_by=event_type");
  EXPECT_EQ(int64_t(late["series"].at(0)["points"].at(0).at(1)), 4);
  EXPECT_EQ(int64_t(late["series"].at(0)["points"].at(0).at(0)), 1775779200000);  // day start
  auto sessions = Query("metric=sessions&from=1775800800000&to=1775804400000&step=1h");
  EXPECT_EQ(int64_t(sessions["series"].at(0)["points"].at(0).at(1)), 360);
}

TEST_F(QueryTest, BadParametersGetClearErrors) {
  struct Case {
    std::string query;
    std::string message;
  };
  const Case cases[] = {
      {"from=0&to=1", "metric: required"},
      {"metric=bogus", "metric: unknown 'bogus'"},
      {"metric=p0:duration_ms", "quantile 'p0'"},
      {"metric=max:duration_ms", "unknown aggregate 'max'"},
      {"metric=events&step=2m", "step: must be 1m, 5m, 1h or 1d, got '2m'"},
      {"metric=events&from=yesterday", "from: not RFC 3339 or epoch milliseconds: 'yesterday'"},
      {"metric=events&from=2000&to=1000", "from must be before to"},
      {"metric=events&group_by=country", "group_by: unknown dimension 'country'"},
      {"metric=events&where=platform", "where: expected dimension:value"},
      {"metric=events&where=city:x", "where: unknown dimension 'city'"},
      {"metric=events&limit=5", "unknown parameter 'limit'"},
      {"metric=dlq&group_by=platform", "dlq has no dimensions"},
      {"metric=events&from=0&to=9000000000000&step=1m", "range too large"},
  };
  for (const Case& c : cases) {
    auto doc = Query(c.query, 400);
    std::string_view error = doc["error"];
    EXPECT_NE(error.find(c.message), std::string_view::npos) << c.query << " -> " << error;
  }
}

}  // namespace
}  // namespace tidemark::realtime
