#include "stream/hyperloglog.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "stream/byte_io_internal.h"

namespace tidemark::stream {
namespace {

constexpr int kQ = 64 - HyperLogLog::kPrecision;  // hash bits left for the rank

// Ertl's sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1), for the share of empty registers.
double Sigma(double x) {
  if (x == 1.0) return INFINITY;
  double y = 1.0, z = x, prev;
  do {
    x *= x;
    prev = z;
    z += x * y;
    y += y;
  } while (prev != z);
  return z;
}

// Ertl's tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3, for saturated registers.
double Tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0, z = 1.0 - x, prev;
  do {
    x = std::sqrt(x);
    prev = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
  } while (prev != z);
  return z / 3;
}

}  // namespace

void HyperLogLog::AddHash(uint64_t hash) {
  uint32_t index = static_cast<uint32_t>(hash >> kQ);
  uint64_t rest = hash << kPrecision;
  // Rank = position of the first 1 bit in the remaining q bits, kQ + 1 when all are zero.
  uint8_t rank = rest == 0 ? kQ + 1 : static_cast<uint8_t>(std::countl_zero(rest) + 1);
  if (!dense_.empty()) {
    if (dense_[index] < rank) dense_[index] = rank;
    return;
  }
  pending_.push_back(index << 8 | rank);
  if (pending_.size() >= kPendingLimit) Compact();
}

void HyperLogLog::Compact() const {
  if (pending_.empty()) return;
  if (!dense_.empty()) {
    for (uint32_t e : pending_) dense_[e >> 8] = std::max<uint8_t>(dense_[e >> 8], e & 0xff);
    pending_.clear();
    return;
  }
  std::sort(pending_.begin(), pending_.end());
  std::vector<uint32_t> merged;
  merged.reserve(sparse_.size() + pending_.size());
  // Both sorted by (index, rank): keep the last (largest rank) entry of each index.
  size_t i = 0, j = 0;
  auto push = [&](uint32_t e) {
    if (!merged.empty() && (merged.back() >> 8) == (e >> 8)) {
      merged.back() = std::max(merged.back(), e);
    } else {
      merged.push_back(e);
    }
  };
  while (i < sparse_.size() || j < pending_.size()) {
    if (j == pending_.size() || (i < sparse_.size() && sparse_[i] <= pending_[j])) {
      push(sparse_[i++]);
    } else {
      push(pending_[j++]);
    }
  }
  sparse_.swap(merged);
  pending_.clear();
  if (sparse_.size() > kSparseLimit) ToDense();
}

void HyperLogLog::ToDense() const {
  dense_.assign(kRegisters, 0);
  for (uint32_t e : sparse_) dense_[e >> 8] = std::max<uint8_t>(dense_[e >> 8], e & 0xff);
  for (uint32_t e : pending_) dense_[e >> 8] = std::max<uint8_t>(dense_[e >> 8], e & 0xff);
  sparse_.clear();
  sparse_.shrink_to_fit();
  pending_.clear();
  pending_.shrink_to_fit();
}

void HyperLogLog::Merge(const HyperLogLog& other) {
  other.Compact();
  if (!other.dense_.empty()) {
    if (dense_.empty()) ToDense();
    for (uint32_t i = 0; i < kRegisters; ++i) dense_[i] = std::max(dense_[i], other.dense_[i]);
    return;
  }
  if (!dense_.empty()) {
    for (uint32_t e : other.sparse_) dense_[e >> 8] = std::max<uint8_t>(dense_[e >> 8], e & 0xff);
    return;
  }
  pending_.insert(pending_.end(), other.sparse_.begin(), other.sparse_.end());
  Compact();
}

double HyperLogLog::Estimate() const {
  Compact();
  // Histogram of register values: C[k] registers hold k.
  uint32_t counts[kQ + 2] = {};
  if (!dense_.empty()) {
    for (uint8_t r : dense_) ++counts[r];
  } else {
    counts[0] = kRegisters - static_cast<uint32_t>(sparse_.size());
    for (uint32_t e : sparse_) ++counts[e & 0xff];
  }
  const double m = kRegisters;
  double z = m * Tau(1.0 - counts[kQ + 1] / m);
  for (int k = kQ; k >= 1; --k) z = 0.5 * (z + counts[k]);
  z += m * Sigma(counts[0] / m);
  const double alpha_inf = 0.5 / std::log(2.0);
  return alpha_inf * m * m / z;
}

size_t HyperLogLog::MemoryBytes() const {
  return dense_.capacity() + 4 * (sparse_.capacity() + pending_.capacity());
}

void HyperLogLog::AppendTo(std::string* out) const {
  Compact();
  internal::ByteWriter w(out);
  if (!dense_.empty()) {
    w.U8(2);
    w.Raw(dense_.data(), dense_.size());
  } else {
    w.U8(1);
    w.Var(sparse_.size());
    uint32_t prev = 0;
    for (uint32_t e : sparse_) {  // delta-coded: sorted entries compress well
      w.Var(e - prev);
      prev = e;
    }
  }
}

bool HyperLogLog::ReadFrom(std::string_view* in, HyperLogLog* out) {
  internal::ByteReader r(*in);
  uint8_t kind;
  if (!r.U8(&kind)) return false;
  *out = HyperLogLog();
  if (kind == 2) {
    out->dense_.resize(kRegisters);
    if (!r.Raw(out->dense_.data(), kRegisters)) return false;
    for (uint8_t v : out->dense_) {
      if (v > kQ + 1) return false;
    }
  } else if (kind == 1) {
    uint64_t n;
    if (!r.Var(&n) || n > kRegisters) return false;
    out->sparse_.reserve(n);
    uint64_t prev = 0;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t d;
      if (!r.Var(&d)) return false;
      prev += d;
      if ((prev >> 8) >= kRegisters || (prev & 0xff) > kQ + 1) return false;
      out->sparse_.push_back(static_cast<uint32_t>(prev));
    }
  } else {
    return false;
  }
  *in = in->substr(in->size() - r.remaining());
  return true;
}

bool HyperLogLog::operator==(const HyperLogLog& other) const {
  Compact();
  other.Compact();
  if (dense_.empty() && other.dense_.empty()) return sparse_ == other.sparse_;
  HyperLogLog a = *this, b = other;
  a.ToDense();
  b.ToDense();
  return a.dense_ == b.dense_;
}

}  // namespace tidemark::stream
