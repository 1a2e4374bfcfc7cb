#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "common/hashing.h"
#include "stream/hyperloglog.h"
#include "stream/quantile_sketch.h"
#include "stream/window_aggregate.h"

namespace tidemark::stream {
namespace {

TEST(HyperLogLog, ErrorWithinTwoPercentOnHundredThousandUsers) {
  for (uint64_t seed : {1, 2, 3}) {
    HyperLogLog hll;
    for (int i = 0; i < 100'000; ++i) {
      std::string user = "user-" + std::to_string(seed) + "-" + std::to_string(i);
      hll.AddHash(Hash64(user));
      hll.AddHash(Hash64(user));  // repeats do not count
    }
    double err = std::fabs(hll.Estimate() - 100'000) / 100'000;
    EXPECT_LE(err, 0.02) << "seed " << seed << " estimate " << hll.Estimate();
  }
}

TEST(HyperLogLog, SmallAndMidRangeCardinalitiesAreAccurate) {
  for (int n : {1, 10, 100, 1000, 5000, 20000, 40000, 70000}) {
    HyperLogLog hll;
    for (int i = 0; i < n; ++i) hll.AddHash(Hash64("u" + std::to_string(i)));
    EXPECT_NEAR(hll.Estimate(), n, std::max(1.0, n * 0.02)) << n;
  }
}

TEST(HyperLogLog, MergeEqualsCountingTheUnion) {
  HyperLogLog a, b, both;
  for (int i = 0; i < 30000; ++i) {
    uint64_t h = Hash64("u" + std::to_string(i));
    (i % 2 ? a : b).AddHash(h);
    both.AddHash(h);
  }
  HyperLogLog merged = a;
  merged.Merge(b);
  EXPECT_TRUE(merged == both);
  EXPECT_DOUBLE_EQ(merged.Estimate(), both.Estimate());
}

TEST(HyperLogLog, SerialisationRoundTripsSparseAndDense) {
  for (int n : {5, 50000}) {
    HyperLogLog h;
    for (int i = 0; i < n; ++i) h.AddHash(Hash64("x" + std::to_string(i)));
    std::string bytes;
    h.AppendTo(&bytes);
    std::string_view in = bytes;
    HyperLogLog back;
    ASSERT_TRUE(HyperLogLog::ReadFrom(&in, &back));
    EXPECT_TRUE(in.empty());
    EXPECT_TRUE(back == h);
  }
}

TEST(QuantileSketch, QuantilesWithinOnePercentRelativeError) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(5.0, 1.5);  // latency-like, long tail
  std::vector<double> values;
  QuantileSketch sketch;
  for (int i = 0; i < 200'000; ++i) {
    double v = dist(rng);
    values.push_back(v);
    sketch.Add(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999}) {
    double exact = values[static_cast<size_t>(q * (values.size() - 1))];
    double got = sketch.Quantile(q);
    EXPECT_LE(std::fabs(got - exact) / exact, 0.01) << "q=" << q << " exact=" << exact << " got=" << got;
  }
  EXPECT_EQ(sketch.count(), 200'000u);
}

TEST(QuantileSketch, MergedSketchesAnswerLikeOneSketch) {
  QuantileSketch a, b, all;
  std::vector<double> values;
  for (int i = 1; i <= 10000; ++i) {
    double v = i * 0.37;
    (i % 3 ? a : b).Add(v);
    all.Add(v);
    values.push_back(v);
  }
  a.Merge(b);
  for (double q : {0.5, 0.95, 0.99}) {
    EXPECT_DOUBLE_EQ(a.Quantile(q), all.Quantile(q));
    double exact = values[static_cast<size_t>(q * (values.size() - 1))];
    EXPECT_LE(std::fabs(a.Quantile(q) - exact) / exact, 0.01);
  }
  EXPECT_NEAR(a.sum(), all.sum(), 1e-6);
}

TEST(QuantileSketch, HandlesZeroAndNegativeValues) {
  QuantileSketch s;
  for (int i = -50; i <= 50; ++i) s.Add(i);
  EXPECT_NEAR(s.Quantile(0.5), 0, 1e-9);
  EXPECT_NEAR(s.Quantile(0), -50, 0.5);
  EXPECT_NEAR(s.Quantile(1), 50, 0.5);
  std::string bytes;
  s.AppendTo(&bytes);
  std::string_view in = bytes;
  QuantileSketch back;
  ASSERT_TRUE(QuantileSketch::ReadFrom(&in, &back));
  EXPECT_TRUE(back == s);
}

TEST(WindowAggregate, SerialisationRoundTrips) {
  WindowAggregate agg;
  agg.events = 3;
  agg.sessions = 1;
  agg.users.AddHash(42);
  agg.Prop("revenue").Add(9.99);
  std::string bytes;
  agg.AppendTo(&bytes);
  std::string_view in = bytes;
  WindowAggregate back;
  ASSERT_TRUE(WindowAggregate::ReadFrom(&in, &back));
  EXPECT_TRUE(back == agg);
  std::string key;
  AppendDim(&key, "event_type", "page_view");
  AppendDim(&key, "platform", "ios");
  std::string_view v;
  ASSERT_TRUE(FindDim(key, "platform", &v));
  EXPECT_EQ(v, "ios");
  EXPECT_FALSE(FindDim(key, "app_version", &v));
}

}  // namespace
}  // namespace tidemark::stream
