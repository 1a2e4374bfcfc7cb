// Exact event-id deduplication with a time-to-live, in about 18 bytes per live id.
//
// Ids shaped like the gateway's derived ids (32 hex digits), UUIDs (36 characters) or the
// load generator's ids ("<16 hex>-<8 hex>"), lower or upper case, are stored losslessly as their 128 bits plus a kind tag, so equality
// is exact with no hash involved. Any other id is stored as a 64-bit hash plus a reference
// to its full bytes in an arena, and a hash match is confirmed by comparing those bytes, so a
// hash collision can never drop a new event. The table is a bucketised cuckoo hash (4 slots
// of 16 bytes = one cache line per bucket, 2 candidate buckets per id) that works up to
// ~95 % load; ids that cannot be placed go to a small stash. It is split into 256 segments
// by hash that grow independently by 1.25x, so the load stays high (few bytes per id) while
// each re-hash touches a cache-sized segment instead of the whole table.
//
// Time: each id is stamped with the minute of its record's received_at (gateway time, the
// log record timestamp). The filter's clock is the largest received_at seen, so replays see
// exactly the same expiries as the first run. An id is evicted only once it is older than
// the TTL by that clock (it may live up to a minute longer), never earlier.
//
// Memory: at most max_keys live ids. When full, CheckAndInsert answers kFull without
// inserting; the partition task then stops consuming (the record stays in the log) until
// time moves on and entries expire, or an operator raises stream.dedup_max_keys. Nothing is
// dropped and nothing is let through unchecked.
//
// Not thread-safe; the partition task owns it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tidemark::stream {

enum class DedupResult { kNew, kDuplicate, kFull };

class DedupFilter {
 public:
  using Hasher = uint64_t (*)(std::string_view);
  struct Options {
    int64_t ttl_ms = 3600 * 1000;
    int64_t max_keys = 4'000'000;
    // Tests pass a colliding hasher to prove exactness; production uses Hash64.
    Hasher hasher = nullptr;
    // Live ids to size the table for up front (0: start small and grow), so warming up
    // does not re-hash segments over and over.
    int64_t expected_keys = 0;
  };

  explicit DedupFilter(Options options);

  // kNew (and remembers id), kDuplicate, or kFull (remembers nothing). received_at_ms also
  // advances the filter's clock, which may expire old entries first.
  DedupResult CheckAndInsert(std::string_view id, int64_t received_at_ms);
  // A hint: starts loading the table lines CheckAndInsert(id) will read. Changes nothing.
  void Prefetch(std::string_view id) const;
  // Moves the clock forward (expiring what is older than the TTL) without inserting: lets a
  // paused task find out whether the next record now fits.
  void AdvanceTime(int64_t received_at_ms);

  size_t size() const { return size_; }
  // Bytes of table, tags, arena and stash.
  size_t MemoryBytes() const;
  double BytesPerKey() const { return size_ ? static_cast<double>(MemoryBytes()) / size_ : 0; }
  int64_t clock_ms() const { return clock_ms_; }

  void AppendTo(std::string* out) const;
  // Replaces the contents with what AppendTo wrote; Corruption on malformed input.
  Status Restore(std::string_view in);

 private:
  struct Slot {
    uint64_t lo = 0, hi = 0;  // 128-bit id, or (hash, arena offset) for other ids
  };
  struct alignas(64) Bucket {
    Slot slots[4];
  };
  // tag: bits 0-2 kind (0 = empty), bits 3-15 minute of received_at modulo 8192.
  // Values are part of the checkpoint format: append new kinds, never renumber.
  enum Kind : uint16_t {
    kEmpty = 0,
    kHexLower,
    kHexUpper,
    kUuidLower,
    kUuidUpper,
    kOther,
    kHex16Dash8Lower,  // the load generator's "<16 hex>-<8 hex>" ids: 96 bits
    kHex16Dash8Upper,
  };
  static constexpr uint32_t kMinuteMod = 1u << 13;
  static constexpr int kStashLimit = 64;

  struct Key {
    Slot slot;
    uint16_t kind = kEmpty;
    uint64_t position_hash = 0;
  };

  struct Segment {
    std::vector<Bucket> buckets;
    std::vector<uint16_t> tags;  // 4 per bucket
    size_t size = 0;
  };
  static constexpr int kSegmentBits = 8;

  Key MakeKey(std::string_view id) const;
  uint64_t PositionHash(const Slot& s, uint16_t kind) const;
  bool Matches(const Slot& s, uint16_t tag, const Key& key, std::string_view id) const;
  bool Contains(const Key& key, std::string_view id) const;
  static Segment& SegmentOf(std::vector<Segment>& segments, uint64_t h) { return segments[h >> (64 - kSegmentBits)]; }
  // Places (slot, tag) in its segment without checking for presence; false when the
  // segment must grow (the entry is then in the stash, never lost).
  bool Place(Segment& seg, Slot slot, uint16_t tag, uint64_t h);
  void Grow(Segment& seg);
  void Sweep();
  void Clear();
  bool Expired(uint16_t tag) const;
  void CompactArena();
  std::string_view ArenaId(uint64_t offset) const;
  uint64_t ArenaAppend(std::string_view id);
  static size_t Bucket1(const Segment& seg, uint64_t h);
  static size_t Bucket2(const Segment& seg, uint64_t h);
  void ResetTable(size_t buckets_per_segment);
  template <typename Fn>
  void ForEachEntry(Fn&& fn);  // fn(Slot&, uint16_t& tag) over occupied slots and the stash

  // Keys Prefetch computed, for CheckAndInsert to reuse (a cache of the pure MakeKey: the
  // id is compared byte for byte). Ids longer than the inline buffer are not kept.
  struct RecentKey {
    char id[40];
    uint8_t size = 0;  // 0: empty
    Key key;
  };
  static constexpr int kRecentKeys = 4;
  Key LookupKey(std::string_view id) const;

  Options options_;
  mutable RecentKey recent_keys_[kRecentKeys];
  mutable unsigned recent_next_ = 0;
  bool custom_hasher_ = false;  // tests' hashers also place packed ids, to force collisions
  int64_t ttl_minutes_;
  std::vector<Segment> segments_;
  std::vector<std::pair<Slot, uint16_t>> stash_;
  std::string arena_;           // varint length + bytes of each non-canonical id
  size_t arena_garbage_ = 0;
  size_t size_ = 0;
  int64_t clock_ms_ = INT64_MIN;
  int64_t last_sweep_minute_ = INT64_MIN;
  uint64_t kick_seed_ = 0x9e3779b97f4a7c15ULL;
};

}  // namespace tidemark::stream
