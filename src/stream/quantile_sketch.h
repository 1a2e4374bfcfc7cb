// Mergeable quantile sketch with relative-error guarantees, after the DDSketch paper
// (Masson, Rim, Lee; VLDB 2019): values fall into logarithmic buckets of ratio
// gamma = (1 + a) / (1 - a), so any quantile is answered within relative error a (1 %).
// Buckets are dense counters over a contiguous index range; merging adds counters, so minute
// sketches roll up into hours exactly. Zero and negative values have their own stores.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tidemark::stream {

// Not thread-safe; a value type owned by one window aggregate.
class QuantileSketch {
 public:
  static constexpr double kRelativeAccuracy = 0.01;
  // Beyond this many buckets per sign, the lowest buckets collapse into one (the paper's
  // bounded-memory variant). With a = 1 % that spans 18 orders of magnitude, so real
  // telemetry never collapses and the 1 % bound holds.
  static constexpr int kMaxBuckets = 2048;

  void Add(double value, uint64_t count = 1);
  void Merge(const QuantileSketch& other);
  // q in [0, 1]; 0 when empty.
  double Quantile(double q) const;
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  double min() const { return min_; }
  double max() const { return max_; }
  size_t MemoryBytes() const { return 8 * (positive_.counts.capacity() + negative_.counts.capacity()); }

  void AppendTo(std::string* out) const;
  static bool ReadFrom(std::string_view* in, QuantileSketch* out);
  bool operator==(const QuantileSketch& other) const;

 private:
  struct Store {
    int32_t offset = 0;             // bucket index of counts[0]
    std::vector<uint64_t> counts;
    void Add(int32_t index, uint64_t n);
    void Merge(const Store& other);
    uint64_t Total() const;
    bool operator==(const Store&) const = default;
  };
  static int32_t IndexOf(double v);
  static double ValueOf(int32_t index);

  Store positive_, negative_;  // negative_ holds -value
  uint64_t zero_count_ = 0;
  uint64_t count_ = 0;
  double sum_ = 0;
  double min_ = 0, max_ = 0;
};

}  // namespace tidemark::stream
