#include "common/metrics.h"

#include <gtest/gtest.h>

namespace tidemark {
namespace {

TEST(MetricsTest, RendersCountersAndHistogramsInPrometheusText) {
  MetricsRegistry r;
  r.GetCounter("tidemark_requests_total", "requests", {{"status", "200"}}).Inc(3);
  auto& h = r.GetHistogram("tidemark_fsync_seconds", "fsync", {0.001, 0.01});
  h.Observe(0.0005);
  h.Observe(0.005);
  h.Observe(1);
  std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("tidemark_requests_total{status=\"200\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tidemark_fsync_seconds_bucket{le=\"0.001\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("tidemark_fsync_seconds_bucket{le=\"0.01\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("tidemark_fsync_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("tidemark_fsync_seconds_count 3\n"), std::string::npos);
}

}  // namespace
}  // namespace tidemark
