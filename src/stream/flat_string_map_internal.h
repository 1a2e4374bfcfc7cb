// A string-keyed hash map for the per-user session state: entries live in one dense vector
// (so scans for expired sessions are sequential) and an open-addressing index of 8-byte
// slots (32 bits of hash + entry index) finds them with about one cache miss, where a
// node-based std::unordered_map costs two or three. Callers pass the key's 64-bit hash,
// which the processor already computed for HyperLogLog. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tidemark::stream::internal {

template <typename V>
class FlatStringMap {
 public:
  struct Entry {
    std::string key;
    uint64_t hash;
    V value;
  };
  static constexpr size_t npos = static_cast<size_t>(-1);

  size_t FindIndex(std::string_view key, uint64_t hash) const {
    if (slots_.empty()) return npos;
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      uint64_t s = slots_[i];
      if (s == 0) return npos;
      if ((s >> 32) == (hash >> 32)) {
        size_t index = static_cast<size_t>(s & 0xffffffff) - 1;
        if (entries_[index].key == key) return index;
      }
    }
  }
  // A hint: starts loading the index slot a lookup of hash will probe first.
  void Prefetch(uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash & (slots_.size() - 1)]);
  }
  V* Find(std::string_view key, uint64_t hash) {
    size_t i = FindIndex(key, hash);
    return i == npos ? nullptr : &entries_[i].value;
  }
  // The key must be absent.
  V& Insert(std::string_view key, uint64_t hash, V value) {
    if ((entries_.size() + 1) * 2 > slots_.size()) Rehash(std::max<size_t>(16, slots_.size() * 2));
    entries_.push_back(Entry{std::string(key), hash, std::move(value)});
    PutSlot(hash, entries_.size() - 1);
    return entries_.back().value;
  }
  // Removes entries_[index]; the last entry moves into its place.
  void EraseAt(size_t index) {
    RemoveSlot(entries_[index].hash, index);
    const size_t last = entries_.size() - 1;
    if (index != last) {
      RemoveSlot(entries_[last].hash, last);
      entries_[index] = std::move(entries_[last]);
      PutSlot(entries_[index].hash, index);
    }
    entries_.pop_back();
  }
  void clear() {
    entries_.clear();
    slots_.clear();
  }
  size_t size() const { return entries_.size(); }
  std::vector<Entry>& entries() { return entries_; }
  const std::vector<Entry>& entries() const { return entries_; }
  size_t MemoryBytes() const {
    size_t n = slots_.capacity() * 8 + entries_.capacity() * sizeof(Entry);
    for (const auto& e : entries_) n += e.key.capacity() > 15 ? e.key.capacity() : 0;
    return n;
  }

 private:
  void PutSlot(uint64_t hash, size_t index) {
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = (hash >> 32 << 32) | (index + 1);
  }
  // Linear-probing deletion by backward shift: no tombstones, probes stay short.
  void RemoveSlot(uint64_t hash, size_t index) {
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    while ((slots_[i] & 0xffffffff) != index + 1) i = (i + 1) & mask;
    size_t hole = i;
    for (size_t j = (hole + 1) & mask; slots_[j] != 0; j = (j + 1) & mask) {
      size_t home = entries_[(slots_[j] & 0xffffffff) - 1].hash & mask;
      // Move slot j into the hole unless its home lies cyclically in (hole, j].
      bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!stays) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = 0;
  }
  void Rehash(size_t n) {
    slots_.assign(n, 0);
    for (size_t i = 0; i < entries_.size(); ++i) PutSlot(entries_[i].hash, i);
  }

  std::vector<Entry> entries_;
  std::vector<uint64_t> slots_;
};

}  // namespace tidemark::stream::internal
