#include "stream/watermark_tracker.h"

#include <gtest/gtest.h>

namespace tidemark::stream {
namespace {

TEST(WatermarkTracker, MinimumOverPartitionsSkipsIdlePartition) {
  WatermarkTracker t(3, /*lateness=*/1000, /*idle=*/5000);
  EXPECT_EQ(t.Watermark(0), WatermarkTracker::kNone);
  t.Observe(0, 100'000, 0);
  t.Observe(1, 50'000, 0);
  t.Observe(2, 80'000, 0);
  EXPECT_EQ(t.Watermark(1000), 49'000);  // slowest active partition holds it back
  // Partition 1 goes quiet; after the idle timeout it no longer holds the others back.
  t.Observe(0, 120'000, 4000);
  t.Observe(2, 90'000, 4000);
  EXPECT_EQ(t.Watermark(4999), 49'000);
  EXPECT_TRUE(t.IsIdle(1, 5000));
  EXPECT_EQ(t.Watermark(5000), 89'000);
  // It resumes: it counts again.
  t.Observe(1, 60'000, 6000);
  EXPECT_EQ(t.Watermark(6000), 59'000);
  // Everything idle: the most advanced partition's watermark stands.
  EXPECT_EQ(t.Watermark(100'000), 119'000);
}

TEST(WatermarkTracker, NeverObservedPartitionDoesNotCount) {
  WatermarkTracker t(2, 0, 5000);
  t.Observe(0, 10, 0);
  EXPECT_EQ(t.Watermark(0), 10);
  EXPECT_EQ(t.PartitionWatermark(1), WatermarkTracker::kNone);
}

}  // namespace
}  // namespace tidemark::stream
