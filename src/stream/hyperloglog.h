// HyperLogLog distinct counter for "unique users" per window: precision 14 (16,384
// registers, ~0.8 % standard error), a sparse form while few registers are set so that the
// many small per-minute windows stay small, and Ertl's improved estimator (arXiv 1702.01284)
// which needs no empirical bias tables. Sketches merge by register-wise max, so minute
// windows roll up into hours and days exactly as if the hour had been counted directly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace tidemark::stream {

// Not thread-safe; a value type owned by one window aggregate.
class HyperLogLog {
 public:
  static constexpr int kPrecision = 14;
  static constexpr uint32_t kRegisters = 1u << kPrecision;

  // Adds an item by its 64-bit hash (callers hash the user key once with Hash64).
  void AddHash(uint64_t hash);
  void Merge(const HyperLogLog& other);
  double Estimate() const;
  bool empty() const { return dense_.empty() && sparse_.empty() && pending_.empty(); }
  // Heap bytes held (for state-size metrics).
  size_t MemoryBytes() const;

  void AppendTo(std::string* out) const;
  // Reads what AppendTo wrote; `in` advances past it.
  static bool ReadFrom(std::string_view* in, HyperLogLog* out);

  bool operator==(const HyperLogLog& other) const;

 private:
  // Sparse entries are (register index << 8 | value), sorted by index, one per index.
  static constexpr size_t kSparseLimit = kRegisters / 8;  // 2,048 entries = 8 KiB, then dense
  static constexpr size_t kPendingLimit = 128;
  void Compact() const;  // folds pending_ into sparse_, maybe switching to dense
  void ToDense() const;

  // mutable: Compact() is a representation change that does not alter the value.
  mutable std::vector<uint8_t> dense_;     // kRegisters entries once dense, else empty
  mutable std::vector<uint32_t> sparse_;
  mutable std::vector<uint32_t> pending_;  // unsorted recent additions
};

}  // namespace tidemark::stream
