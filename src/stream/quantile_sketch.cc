#include "stream/quantile_sketch.h"

#include <algorithm>
#include <cmath>

#include "stream/byte_io_internal.h"

namespace tidemark::stream {
namespace {

const double kGamma = (1 + QuantileSketch::kRelativeAccuracy) / (1 - QuantileSketch::kRelativeAccuracy);
const double kInvLogGamma = 1.0 / std::log(kGamma);
// Values below this count as zero: they would need indices far below any real measurement.
constexpr double kMinIndexable = 1e-9;

}  // namespace

int32_t QuantileSketch::IndexOf(double v) {
  return static_cast<int32_t>(std::ceil(std::log(v) * kInvLogGamma));
}

// The bucket (gamma^(i-1), gamma^i] is represented by the value with equal relative distance
// to both ends, 2 gamma^i / (gamma + 1).
double QuantileSketch::ValueOf(int32_t index) {
  return 2.0 * std::pow(kGamma, index) / (kGamma + 1);
}

void QuantileSketch::Store::Add(int32_t index, uint64_t n) {
  if (counts.empty()) {
    offset = index;
    counts.assign(1, 0);
  } else if (index < offset) {
    int32_t grow = offset - index;
    if (static_cast<int64_t>(counts.size()) + grow > kMaxBuckets) {
      // Collapse: the lowest bucket absorbs everything below the representable range.
      index = offset;
    } else {
      counts.insert(counts.begin(), grow, 0);
      offset = index;
    }
  } else if (index >= offset + static_cast<int32_t>(counts.size())) {
    int32_t need = index - offset + 1;
    if (need > kMaxBuckets) {
      // Shift the window up, folding the lowest buckets into the new lowest one.
      int32_t drop = need - kMaxBuckets;
      uint64_t folded = 0;
      for (int32_t i = 0; i < drop && i < static_cast<int32_t>(counts.size()); ++i) folded += counts[i];
      counts.erase(counts.begin(), counts.begin() + std::min<size_t>(drop, counts.size()));
      offset += drop;
      if (counts.empty()) counts.assign(1, 0);
      counts[0] += folded;
      need = index - offset + 1;
    }
    counts.resize(need, 0);
  }
  counts[index - offset] += n;
}

void QuantileSketch::Store::Merge(const Store& other) {
  for (size_t i = 0; i < other.counts.size(); ++i) {
    if (other.counts[i]) Add(other.offset + static_cast<int32_t>(i), other.counts[i]);
  }
}

uint64_t QuantileSketch::Store::Total() const {
  uint64_t t = 0;
  for (uint64_t c : counts) t += c;
  return t;
}

void QuantileSketch::Add(double value, uint64_t count) {
  if (!std::isfinite(value) || count == 0) return;
  if (count_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  count_ += count;
  sum_ += value * static_cast<double>(count);
  if (value > kMinIndexable) {
    positive_.Add(IndexOf(value), count);
  } else if (value < -kMinIndexable) {
    negative_.Add(IndexOf(-value), count);
  } else {
    zero_count_ += count;
  }
}

void QuantileSketch::Merge(const QuantileSketch& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  positive_.Merge(other.positive_);
  negative_.Merge(other.negative_);
  zero_count_ += other.zero_count_;
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

double QuantileSketch::Quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // Rank of the wanted value among count_ values (0-based, lower quantile).
  double rank = q * static_cast<double>(count_ - 1);
  double seen = 0;
  double result = 0;
  bool found = false;
  // Negative values in increasing order are the negative store read from its top.
  for (size_t i = negative_.counts.size(); i-- > 0 && !found;) {
    seen += static_cast<double>(negative_.counts[i]);
    if (seen > rank) {
      result = -ValueOf(negative_.offset + static_cast<int32_t>(i));
      found = true;
    }
  }
  if (!found) {
    seen += static_cast<double>(zero_count_);
    if (seen > rank) {
      result = 0;
      found = true;
    }
  }
  for (size_t i = 0; i < positive_.counts.size() && !found; ++i) {
    seen += static_cast<double>(positive_.counts[i]);
    if (seen > rank) {
      result = ValueOf(positive_.offset + static_cast<int32_t>(i));
      found = true;
    }
  }
  if (!found) result = max_;
  // The exact extremes are known; never answer outside them.
  return std::clamp(result, min_, max_);
}

void QuantileSketch::AppendTo(std::string* out) const {
  internal::ByteWriter w(out);
  w.Var(count_);
  if (count_ == 0) return;
  w.F64(sum_);
  w.F64(min_);
  w.F64(max_);
  w.Var(zero_count_);
  for (const Store* s : {&positive_, &negative_}) {
    w.SVar(s->offset);
    w.Var(s->counts.size());
    for (uint64_t c : s->counts) w.Var(c);
  }
}

bool QuantileSketch::ReadFrom(std::string_view* in, QuantileSketch* out) {
  internal::ByteReader r(*in);
  *out = QuantileSketch();
  if (!r.Var(&out->count_)) return false;
  if (out->count_ != 0) {
    if (!r.F64(&out->sum_) || !r.F64(&out->min_) || !r.F64(&out->max_) || !r.Var(&out->zero_count_)) {
      return false;
    }
    for (Store* s : {&out->positive_, &out->negative_}) {
      int64_t offset;
      uint64_t n;
      if (!r.SVar(&offset) || !r.Var(&n) || n > kMaxBuckets) return false;
      s->offset = static_cast<int32_t>(offset);
      s->counts.resize(n);
      for (uint64_t i = 0; i < n; ++i) {
        if (!r.Var(&s->counts[i])) return false;
      }
    }
  }
  *in = in->substr(in->size() - r.remaining());
  return true;
}

bool QuantileSketch::operator==(const QuantileSketch& o) const {
  return count_ == o.count_ && zero_count_ == o.zero_count_ && sum_ == o.sum_ && min_ == o.min_ &&
         max_ == o.max_ && positive_ == o.positive_ && negative_ == o.negative_;
}

}  // namespace tidemark::stream
