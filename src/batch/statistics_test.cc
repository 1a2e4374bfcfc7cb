// The distribution functions against closed forms and published table values.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "batch/statistics_internal.h"

namespace tidemark::batch::stats {
namespace {

TEST(Statistics, NormalCdfMatchesTableValues) {
  EXPECT_NEAR(NormalCdf(0), 0.5, 1e-16);
  EXPECT_NEAR(NormalCdf(kZ975), 0.975, 1e-15);
  EXPECT_NEAR(NormalCdf(-1), 0.15865525393145707, 1e-16);
  EXPECT_NEAR(NormalCdf(-6), 9.865876450376946e-10, 1e-22);
}

TEST(Statistics, StudentTMatchesClosedFormsForOneAndTwoDegrees) {
  for (const double t : {0.0, 0.3, 1.0, 2.5, 12.0, 150.0}) {
    // df = 1 is Cauchy; df = 2 has P(|T| ≥ t) = 1 − t / sqrt(2 + t²).
    EXPECT_NEAR(StudentTTwoSidedP(t, 1), 1 - 2 * std::atan(t) / std::numbers::pi, 1e-14) << t;
    EXPECT_NEAR(StudentTTwoSidedP(-t, 2), 1 - t / std::sqrt(2 + t * t), 1e-14) << t;
  }
}

TEST(Statistics, StudentTMatchesCriticalValues) {
  EXPECT_NEAR(StudentTTwoSidedP(2.228138851986274, 10), 0.05, 1e-13);
  EXPECT_NEAR(StudentTTwoSidedP(1.9599639845400542, 1e9), 0.05, 1e-8);
  EXPECT_NEAR(StudentTTwoSidedP(2.0, 24000.5), 2 * NormalCdf(-2.0), 1e-4);
}

TEST(Statistics, ChiSquareMatchesClosedForms) {
  for (const double x : {0.1, 1.0, 3.0, 16.0, 40.0}) {
    EXPECT_NEAR(ChiSquareUpperP(x, 2), std::exp(-x / 2), 1e-15) << x;
    EXPECT_NEAR(ChiSquareUpperP(x, 1), std::erfc(std::sqrt(x / 2)), 1e-15) << x;
  }
  EXPECT_NEAR(ChiSquareUpperP(3.841458820694124, 1), 0.05, 1e-14);
  EXPECT_EQ(ChiSquareUpperP(0, 3), 1);
}

TEST(Statistics, TwoProportionZTestByHand) {
  // 120/1000 against 100/1000: pooled 0.11, se = sqrt(0.11·0.89·0.002).
  const TwoProportionTest t = TwoProportionZTest(120, 1000, 100, 1000);
  ASSERT_TRUE(t.defined);
  const double z = 0.02 / std::sqrt(0.11 * 0.89 * 0.002);
  EXPECT_NEAR(t.z, z, 1e-14);
  EXPECT_NEAR(t.p_value, std::erfc(z / std::sqrt(2.0)), 1e-15);
  EXPECT_FALSE(TwoProportionZTest(0, 10, 0, 10).defined);
}

TEST(Statistics, WelchUsesSatterthwaiteDegrees) {
  const WelchTest w = WelchTTest(5, 4, 10, 3, 9, 20);
  ASSERT_TRUE(w.defined);
  const double s1 = 0.4, s2 = 0.45;
  EXPECT_NEAR(w.t, 2 / std::sqrt(s1 + s2), 1e-14);
  EXPECT_NEAR(w.df, (s1 + s2) * (s1 + s2) / (s1 * s1 / 9 + s2 * s2 / 19), 1e-12);
  EXPECT_FALSE(WelchTTest(1, 0, 10, 1, 0, 10).defined);
  EXPECT_FALSE(WelchTTest(1, 1, 1, 1, 1, 10).defined);
}

TEST(Statistics, EqualSplitChiSquareFlagsABrokenSplit) {
  const ChiSquareTest even = EqualSplitChiSquare({5000, 5000});
  EXPECT_EQ(even.chi2, 0);
  EXPECT_EQ(even.p_value, 1);
  const ChiSquareTest skewed = EqualSplitChiSquare({5200, 4800});
  EXPECT_NEAR(skewed.chi2, 16, 1e-12);
  EXPECT_NEAR(skewed.p_value, std::erfc(std::sqrt(8.0)), 1e-16);
  EXPECT_LT(skewed.p_value, 0.001);
}

}  // namespace
}  // namespace tidemark::batch::stats
