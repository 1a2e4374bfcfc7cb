// Hand-written distribution functions for the A/B statistics (no statistics library is a
// dependency of tidemark). Each is accurate to about 1e-14 absolute over the ranges the
// reports use; statistics_test.cc pins them against published table values.
#pragma once

#include <cstdint>
#include <vector>

namespace tidemark::batch::stats {

// Standard normal cumulative distribution Φ(x).
double NormalCdf(double x);
// Regularized incomplete gamma functions P(a, x) and Q(a, x) = 1 − P(a, x), a > 0, x ≥ 0.
double RegularizedGammaP(double a, double x);
double RegularizedGammaQ(double a, double x);
// Regularized incomplete beta I_x(a, b), 0 ≤ x ≤ 1.
double RegularizedBeta(double x, double a, double b);
// Two-sided p-value of Student's t with df degrees of freedom (df > 0, not necessarily
// an integer): P(|T| ≥ |t|).
double StudentTTwoSidedP(double t, double df);
// Upper tail of chi-square with df degrees of freedom: P(X ≥ x).
double ChiSquareUpperP(double x, double df);

struct TwoProportionTest {
  double z = 0;
  double p_value = 1;
  bool defined = false;  // false when the pooled standard error is zero
};
// Pooled two-proportion z-test of x1/n1 against x2/n2, two-sided.
TwoProportionTest TwoProportionZTest(int64_t x1, int64_t n1, int64_t x2, int64_t n2);

struct WelchTest {
  double t = 0;
  double df = 0;
  double p_value = 1;
  bool defined = false;  // false when a group has < 2 values or both variances are zero
};
// Welch's unequal-variance t-test of mean1 − mean2 from sample means and sample variances
// (n − 1 denominators).
WelchTest WelchTTest(double mean1, double var1, int64_t n1, double mean2, double var2,
                     int64_t n2);

struct ChiSquareTest {
  double chi2 = 0;
  double p_value = 1;
};
// Goodness of fit of the counts against an equal split (df = groups − 1).
ChiSquareTest EqualSplitChiSquare(const std::vector<int64_t>& counts);

// 97.5th percentile of the standard normal: the 95% interval's half-width in standard errors.
inline constexpr double kZ975 = 1.959963984540054;

}  // namespace tidemark::batch::stats
