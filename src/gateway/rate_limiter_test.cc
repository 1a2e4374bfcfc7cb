#include "gateway/rate_limiter_internal.h"

#include <gtest/gtest.h>

namespace tidemark::gateway::internal {
namespace {

TEST(EventRateLimiter, DisabledWhenRateIsZero) {
  EventRateLimiter limiter(0, 0);
  EXPECT_EQ(limiter.TryTake("k", 1e9, 0), 0);
}

TEST(EventRateLimiter, BurstThenRefillAtTheRate) {
  EventRateLimiter limiter(100, 200);
  EXPECT_EQ(limiter.TryTake("k", 150, 0), 0);
  EXPECT_EQ(limiter.TryTake("k", 100, 0), 1);  // 50 left, 100 needed: 0.5 s -> 1 s
  EXPECT_EQ(limiter.TryTake("other", 200, 0), 0);  // buckets are per key
  EXPECT_EQ(limiter.TryTake("k", 100, 500), 0);    // +50 after 0.5 s
  EXPECT_EQ(limiter.WaitForAny("k", 500), 1);
}

TEST(EventRateLimiter, BatchLargerThanBurstPassesOnAFullBucketAndLeavesDebt) {
  EventRateLimiter limiter(10, 10);
  EXPECT_EQ(limiter.TryTake("k", 30, 0), 0);
  EXPECT_EQ(limiter.WaitForAny("k", 0), 3);  // -20 tokens: 2.1 s until one token
  EXPECT_GT(limiter.TryTake("k", 1, 2000), 0);
  EXPECT_EQ(limiter.TryTake("k", 1, 2100), 0);
}

}  // namespace
}  // namespace tidemark::gateway::internal
