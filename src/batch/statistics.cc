// The continued fractions are evaluated with the modified Lentz method; the gamma series and
// fractions split at x = a + 1, where each converges fastest.
#include <cmath>
#include <limits>
#include <utility>

#include "batch/statistics_internal.h"

namespace tidemark::batch::stats {
namespace {

constexpr double kEpsilon = 1e-16;
constexpr double kTiny = 1e-300;
constexpr int kMaxIterations = 100000;

// Lentz's method on 1 + d1 / (1 + d2 / (1 + …)) with d_m from `term`.
template <typename Term>
double ContinuedFraction(Term term) {
  double c = 1.0;
  double d = 0.0;
  double f = 1.0;
  for (int m = 1; m < kMaxIterations; ++m) {
    const double a = term(m);
    d = 1.0 + a * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + a / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = c * d;
    f *= delta;
    if (std::fabs(delta - 1.0) < kEpsilon) break;
  }
  return f;
}

// ln(Γ(a + b) / Γ(a)). For large a the two lgamma values are huge and nearly equal, so their
// difference would lose most digits (at a = 5e8, about 1e-7 of the t-test's p-value); there
// the Stirling series is subtracted term by term instead.
double LogGammaRatio(double a, double b) {
  if (a < 10 || a + b < 10) return std::lgamma(a + b) - std::lgamma(a);
  auto series = [](double z) {
    const double z2 = z * z;
    return 1 / (12 * z) - 1 / (360 * z * z2) + 1 / (1260 * z * z2 * z2) -
           1 / (1680 * z * z2 * z2 * z2);
  };
  // (a + b − ½) ln(a + b) − (a − ½) ln a − b, rearranged to keep its precision.
  return (a - 0.5) * std::log1p(b / a) + b * std::log(a + b) - b + series(a + b) - series(a);
}

// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), with the large argument handled stably.
double LogBeta(double a, double b) {
  if (a < b) std::swap(a, b);
  return std::lgamma(b) - LogGammaRatio(a, b);
}

// I_x(a, b) by its continued fraction, accurate when x < (a + 1) / (a + b + 2); y = 1 − x is
// passed separately so that callers keep its precision.
double BetaFraction(double x, double y, double a, double b) {
  // log1p keeps the digits of a small x or y that log of its complement would lose.
  const double log_front = a * (x < 0.5 ? std::log(x) : std::log1p(-y)) +
                           b * (y < 0.5 ? std::log(y) : std::log1p(-x)) - LogBeta(a, b);
  const double fraction = ContinuedFraction([&](int k) {
    const int m = k / 2;
    if (k % 2 == 1) return -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
    return m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
  });
  return std::exp(log_front) / (fraction * a);
}

double BetaWithComplement(double x, double y, double a, double b) {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  if (x < (a + 1) / (a + b + 2)) return BetaFraction(x, y, a, b);
  return 1.0 - BetaFraction(y, x, b, a);
}

}  // namespace

double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double RegularizedGammaP(double a, double x) {
  if (x <= 0) return 0;
  if (x >= a + 1) return 1.0 - RegularizedGammaQ(a, x);
  // P(a, x) = e^-x x^a / Γ(a + 1) · Σ x^n / ((a + 1)…(a + n)).
  double term = 1.0 / a;
  double sum = term;
  for (int n = 1; n < kMaxIterations; ++n) {
    term *= x / (a + n);
    sum += term;
    if (term < sum * kEpsilon) break;
  }
  return sum * std::exp(-x + a * std::log(x) - std::lgamma(a));
}

double RegularizedGammaQ(double a, double x) {
  if (x <= 0) return 1;
  if (x < a + 1) return 1.0 - RegularizedGammaP(a, x);
  // Q(a, x) = e^-x x^a / Γ(a) · 1 / (x + 1 − a − 1(1 − a) / (x + 3 − a − 2(2 − a) / …)),
  // evaluated as b0 + a1 / (b1 + a2 / (b2 + …)) with Lentz.
  double b = x + 1 - a;
  double c = 1.0 / kTiny;
  double d = 1.0 / b;
  double h = d;
  for (int i = 1; i < kMaxIterations; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEpsilon) break;
  }
  return std::exp(-x + a * std::log(x) - std::lgamma(a)) * h;
}

double RegularizedBeta(double x, double a, double b) {
  return BetaWithComplement(x, 1.0 - x, a, b);
}

double StudentTTwoSidedP(double t, double df) {
  if (std::isnan(t) || df <= 0) return std::numeric_limits<double>::quiet_NaN();
  const double t2 = t * t;
  // P(|T| ≥ |t|) = I_{df / (df + t²)}(df / 2, 1 / 2).
  return BetaWithComplement(df / (df + t2), t2 / (df + t2), df / 2, 0.5);
}

double ChiSquareUpperP(double x, double df) {
  if (x <= 0) return 1;
  return RegularizedGammaQ(df / 2, x / 2);
}

TwoProportionTest TwoProportionZTest(int64_t x1, int64_t n1, int64_t x2, int64_t n2) {
  TwoProportionTest out;
  if (n1 <= 0 || n2 <= 0) return out;
  const double p1 = static_cast<double>(x1) / n1;
  const double p2 = static_cast<double>(x2) / n2;
  const double pooled = static_cast<double>(x1 + x2) / (n1 + n2);
  const double se = std::sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2));
  if (!(se > 0)) return out;
  out.z = (p1 - p2) / se;
  out.p_value = 2 * NormalCdf(-std::fabs(out.z));
  out.defined = true;
  return out;
}

WelchTest WelchTTest(double mean1, double var1, int64_t n1, double mean2, double var2,
                     int64_t n2) {
  WelchTest out;
  if (n1 < 2 || n2 < 2) return out;
  const double s1 = var1 / n1;
  const double s2 = var2 / n2;
  const double se2 = s1 + s2;
  if (!(se2 > 0)) return out;
  out.t = (mean1 - mean2) / std::sqrt(se2);
  out.df = se2 * se2 / (s1 * s1 / (n1 - 1) + s2 * s2 / (n2 - 1));
  out.p_value = StudentTTwoSidedP(out.t, out.df);
  out.defined = true;
  return out;
}

ChiSquareTest EqualSplitChiSquare(const std::vector<int64_t>& counts) {
  ChiSquareTest out;
  if (counts.size() < 2) return out;
  int64_t total = 0;
  for (const int64_t c : counts) total += c;
  if (total == 0) return out;
  const double expected = static_cast<double>(total) / counts.size();
  for (const int64_t c : counts) out.chi2 += (c - expected) * (c - expected) / expected;
  out.p_value = ChiSquareUpperP(out.chi2, static_cast<double>(counts.size() - 1));
  return out;
}

}  // namespace tidemark::batch::stats
