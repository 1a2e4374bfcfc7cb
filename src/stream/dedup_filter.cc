#include "stream/dedup_filter.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "common/hashing.h"
#include "stream/byte_io_internal.h"

namespace tidemark::stream {
namespace {

uint64_t DefaultHasher(std::string_view s) { return Hash64(s); }

uint64_t Mix64(uint64_t x) {  // splitmix64 finaliser: a second, independent bucket choice
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Hex digit value in the low nibble; bit 4 marks a-f, bit 5 marks A-F, 0xff not hex.
constexpr std::array<uint8_t, 256> kHexTable = [] {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = 0xff;
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<uint8_t>(0x10 | (c - 'a' + 10));
  for (int c = 'A'; c <= 'F'; ++c) t[c] = static_cast<uint8_t>(0x20 | (c - 'A' + 10));
  return t;
}();

// Parses 32 hex digits of one case (dashes at the UUID positions when uuid); *upper says
// which case (digits-only counts as lower). False for anything else, mixed case included.
bool ParseHex128(std::string_view id, bool uuid, bool* upper, uint64_t* hi, uint64_t* lo) {
  uint64_t words[2] = {0, 0};
  uint8_t flags = 0;
  int digits = 0;
  for (size_t i = 0; i < id.size(); ++i) {
    if (uuid && (i == 8 || i == 13 || i == 18 || i == 23)) {
      if (id[i] != '-') return false;
      continue;
    }
    uint8_t v = kHexTable[static_cast<uint8_t>(id[i])];
    if (v == 0xff) return false;
    flags |= v;
    words[digits >> 4] = words[digits >> 4] << 4 | (v & 0xf);
    ++digits;
  }
  if (digits != 32 || (flags & 0x30) == 0x30) return false;
  *upper = (flags & 0x20) != 0;
  *hi = words[0];
  *lo = words[1];
  return true;
}

// Parses the load generator's "<16 hex>-<8 hex>" ids (one case) into 96 bits.
bool ParseHex16Dash8(std::string_view id, bool* upper, uint64_t* hi, uint64_t* lo) {
  if (id.size() != 25 || id[16] != '-') return false;
  uint64_t words[2] = {0, 0};
  uint8_t flags = 0;
  for (size_t i = 0; i < 25; ++i) {
    if (i == 16) continue;
    uint8_t v = kHexTable[static_cast<uint8_t>(id[i])];
    if (v == 0xff) return false;
    flags |= v;
    words[i > 16] = words[i > 16] << 4 | (v & 0xf);
  }
  if ((flags & 0x30) == 0x30) return false;
  *upper = (flags & 0x20) != 0;
  *hi = words[0];
  *lo = words[1];
  return true;
}

constexpr uint16_t KindOf(uint16_t tag) { return tag & 7; }
constexpr int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

DedupFilter::DedupFilter(Options options) : options_(options) {
  custom_hasher_ = options_.hasher != nullptr;
  if (!options_.hasher) options_.hasher = DefaultHasher;
  ttl_minutes_ = (options_.ttl_ms + 59999) / 60000;
  // Sized for ~88 % load at expected_keys: below the 92 % grow threshold, ~20.5 B per id.
  const size_t expected = static_cast<size_t>(std::max<int64_t>(0, options_.expected_keys));
  ResetTable(std::max<size_t>(1, expected * 100 / 88 / 4 / (size_t{1} << kSegmentBits)));
}

void DedupFilter::ResetTable(size_t buckets_per_segment) {
  segments_.assign(size_t{1} << kSegmentBits, Segment{});
  for (Segment& seg : segments_) {
    seg.buckets.assign(buckets_per_segment, Bucket{});
    seg.tags.assign(buckets_per_segment * 4, 0);
  }
}

template <typename Fn>
void DedupFilter::ForEachEntry(Fn&& fn) {
  for (Segment& seg : segments_) {
    for (size_t b = 0; b < seg.buckets.size(); ++b) {
      for (int i = 0; i < 4; ++i) {
        if (KindOf(seg.tags[b * 4 + i]) != kEmpty) fn(seg.buckets[b].slots[i], seg.tags[b * 4 + i]);
      }
    }
  }
  for (auto& [slot, tag] : stash_) fn(slot, tag);
}

DedupFilter::Key DedupFilter::MakeKey(std::string_view id) const {
  Key k;
  if (id.size() == 32 || id.size() == 36) {
    const bool uuid = id.size() == 36;
    bool upper = false;
    if (ParseHex128(id, uuid, &upper, &k.slot.hi, &k.slot.lo)) {
      k.kind = uuid ? (upper ? kUuidUpper : kUuidLower) : (upper ? kHexUpper : kHexLower);
      k.position_hash = PositionHash(k.slot, k.kind);
      return k;
    }
  } else if (id.size() == 25) {
    bool upper = false;
    if (ParseHex16Dash8(id, &upper, &k.slot.hi, &k.slot.lo)) {
      k.kind = upper ? kHex16Dash8Upper : kHex16Dash8Lower;
      k.position_hash = PositionHash(k.slot, k.kind);
      return k;
    }
  }
  k.kind = kOther;
  k.slot.lo = options_.hasher(id);
  k.position_hash = k.slot.lo;
  return k;
}

uint64_t DedupFilter::PositionHash(const Slot& s, uint16_t kind) const {
  if (kind == kOther) return s.lo;
  // Packed ids are already uniform-ish bits: two multiply-xorshift rounds spread them, far
  // cheaper than a byte hash through a function pointer (this runs on every cuckoo kick).
  if (!custom_hasher_) return Mix64(s.lo ^ Mix64(s.hi + kind));
  char bytes[16];
  std::memcpy(bytes, &s.lo, 8);
  std::memcpy(bytes + 8, &s.hi, 8);
  return options_.hasher(std::string_view(bytes, 16));
}

// The top kSegmentBits of h chose the segment; the rest chooses the first bucket, an
// independent mix of h the second.
size_t DedupFilter::Bucket1(const Segment& seg, uint64_t h) {
  return static_cast<size_t>((static_cast<unsigned __int128>(h << kSegmentBits) * seg.buckets.size()) >> 64);
}
size_t DedupFilter::Bucket2(const Segment& seg, uint64_t h) {
  return static_cast<size_t>((static_cast<unsigned __int128>(Mix64(h)) * seg.buckets.size()) >> 64);
}

std::string_view DedupFilter::ArenaId(uint64_t offset) const {
  internal::ByteReader r(std::string_view(arena_).substr(offset));
  std::string_view id;
  return r.StrView(&id) ? id : std::string_view();
}

uint64_t DedupFilter::ArenaAppend(std::string_view id) {
  uint64_t offset = arena_.size();
  internal::ByteWriter(&arena_).Str(id);
  return offset;
}

bool DedupFilter::Matches(const Slot& s, uint16_t tag, const Key& key, std::string_view id) const {
  if (KindOf(tag) != key.kind || s.lo != key.slot.lo) return false;
  if (key.kind != kOther) return s.hi == key.slot.hi;
  return ArenaId(s.hi) == id;  // the hash matched: confirm with the full id
}

bool DedupFilter::Contains(const Key& key, std::string_view id) const {
  const Segment& seg = segments_[key.position_hash >> (64 - kSegmentBits)];
  const size_t b1 = Bucket1(seg, key.position_hash), b2 = Bucket2(seg, key.position_hash);
  __builtin_prefetch(&seg.buckets[b2]);  // both candidate lines load in parallel
  __builtin_prefetch(&seg.tags[b2 * 4]);
  for (size_t b : {b1, b2}) {
    const Bucket& bucket = seg.buckets[b];
    for (int i = 0; i < 4; ++i) {
      if (Matches(bucket.slots[i], seg.tags[b * 4 + i], key, id)) return true;
    }
  }
  for (const auto& [slot, tag] : stash_) {
    if (Matches(slot, tag, key, id)) return true;
  }
  return false;
}

DedupFilter::Key DedupFilter::LookupKey(std::string_view id) const {
  for (const RecentKey& r : recent_keys_) {
    if (r.size == id.size() && r.size != 0 && std::memcmp(r.id, id.data(), id.size()) == 0) return r.key;
  }
  return MakeKey(id);
}

void DedupFilter::Prefetch(std::string_view id) const {
  const Key key = MakeKey(id);
  if (!id.empty() && id.size() <= sizeof(RecentKey::id)) {
    RecentKey& r = recent_keys_[recent_next_++ % kRecentKeys];
    std::memcpy(r.id, id.data(), id.size());
    r.size = static_cast<uint8_t>(id.size());
    r.key = key;
  }
  const Segment& seg = segments_[key.position_hash >> (64 - kSegmentBits)];
  const size_t b1 = Bucket1(seg, key.position_hash), b2 = Bucket2(seg, key.position_hash);
  __builtin_prefetch(&seg.buckets[b1]);
  __builtin_prefetch(&seg.tags[b1 * 4]);
  __builtin_prefetch(&seg.buckets[b2]);
  __builtin_prefetch(&seg.tags[b2 * 4]);
}

bool DedupFilter::Place(Segment& seg, Slot slot, uint16_t tag, uint64_t h) {
  size_t b = Bucket1(seg, h);
  for (size_t candidate : {b, Bucket2(seg, h)}) {
    for (int i = 0; i < 4; ++i) {
      if (KindOf(seg.tags[candidate * 4 + i]) == kEmpty) {
        seg.buckets[candidate].slots[i] = slot;
        seg.tags[candidate * 4 + i] = tag;
        ++seg.size;
        return true;
      }
    }
  }
  // Random-walk cuckoo: evict a resident to its other bucket (same segment: same top bits).
  for (int kick = 0; kick < 250; ++kick) {
    kick_seed_ = Mix64(kick_seed_);
    int i = static_cast<int>(kick_seed_ & 3);
    std::swap(seg.buckets[b].slots[i], slot);
    std::swap(seg.tags[b * 4 + i], tag);
    uint64_t vh = PositionHash(slot, KindOf(tag));
    size_t b1 = Bucket1(seg, vh), b2 = Bucket2(seg, vh);
    b = (b == b1) ? b2 : b1;
    for (int j = 0; j < 4; ++j) {
      if (KindOf(seg.tags[b * 4 + j]) == kEmpty) {
        seg.buckets[b].slots[j] = slot;
        seg.tags[b * 4 + j] = tag;
        ++seg.size;
        return true;
      }
    }
  }
  // The homeless entry is never lost: the stash holds it (possibly beyond its limit while a
  // grow is pending; Grow re-places the segment's stashed entries too).
  stash_.emplace_back(slot, tag);
  return stash_.size() <= kStashLimit;
}

void DedupFilter::Grow(Segment& seg) {
  const size_t segment_index = static_cast<size_t>(&seg - segments_.data());
  std::vector<Bucket> old_buckets;
  std::vector<uint16_t> old_tags;
  old_buckets.swap(seg.buckets);
  old_tags.swap(seg.tags);
  // 1.25x keeps the load between ~74 % and ~92 %: about 19.5-24.5 bytes per live id.
  const size_t n = old_buckets.size() + old_buckets.size() / 4 + 1;
  seg.buckets.assign(n, Bucket{});
  seg.tags.assign(n * 4, 0);
  seg.size = 0;
  for (size_t b = 0; b < old_buckets.size(); ++b) {
    for (int i = 0; i < 4; ++i) {
      uint16_t tag = old_tags[b * 4 + i];
      if (KindOf(tag) == kEmpty) continue;
      const Slot& slot = old_buckets[b].slots[i];
      (void)Place(seg, slot, tag, PositionHash(slot, KindOf(tag)));
    }
  }
  // Stashed entries of this segment get another chance in the larger table.
  std::vector<std::pair<Slot, uint16_t>> stashed;
  std::erase_if(stash_, [&](const std::pair<Slot, uint16_t>& e) {
    uint64_t h = PositionHash(e.first, KindOf(e.second));
    if ((h >> (64 - kSegmentBits)) != segment_index) return false;
    stashed.push_back(e);
    return true;
  });
  for (const auto& [slot, tag] : stashed) (void)Place(seg, slot, tag, PositionHash(slot, KindOf(tag)));
}

bool DedupFilter::Expired(uint16_t tag) const {
  int64_t now_minute = FloorDiv(clock_ms_, 60000);
  int64_t stamped = tag >> 3;
  int64_t age = ((now_minute - stamped) % kMinuteMod + kMinuteMod) % kMinuteMod;
  // The id arrived before the end of its stamped minute, so it is older than (age - 1)
  // whole minutes: evicting at age - 1 >= TTL never evicts a live id.
  return age - 1 >= ttl_minutes_;
}

void DedupFilter::Clear() {
  for (Segment& seg : segments_) {
    for (auto& t : seg.tags) t = 0;
    seg.size = 0;
  }
  stash_.clear();
  arena_.clear();
  arena_garbage_ = 0;
  size_ = 0;
}

void DedupFilter::Sweep() {
  for (Segment& seg : segments_) {
    for (size_t b = 0; b < seg.buckets.size(); ++b) {
      for (int i = 0; i < 4; ++i) {
        uint16_t& tag = seg.tags[b * 4 + i];
        if (KindOf(tag) == kEmpty || !Expired(tag)) continue;
        if (KindOf(tag) == kOther) arena_garbage_ += ArenaId(seg.buckets[b].slots[i].hi).size() + 1;
        tag = 0;
        --seg.size;
        --size_;
      }
    }
  }
  std::erase_if(stash_, [&](const std::pair<Slot, uint16_t>& e) {
    if (!Expired(e.second)) return false;
    if (KindOf(e.second) == kOther) arena_garbage_ += ArenaId(e.first.hi).size() + 1;
    --size_;
    return true;
  });
  if (arena_garbage_ > (1 << 16) && arena_garbage_ * 2 > arena_.size()) CompactArena();
}

void DedupFilter::CompactArena() {
  std::string fresh;
  fresh.reserve(arena_.size() - arena_garbage_);
  ForEachEntry([&](Slot& s, uint16_t& tag) {
    if (KindOf(tag) != kOther) return;
    std::string_view id = ArenaId(s.hi);
    s.hi = fresh.size();
    internal::ByteWriter(&fresh).Str(id);
  });
  arena_.swap(fresh);
  arena_garbage_ = 0;
}

void DedupFilter::AdvanceTime(int64_t received_at_ms) {
  if (received_at_ms <= clock_ms_) return;
  int64_t previous_minute = clock_ms_ == INT64_MIN ? INT64_MIN : FloorDiv(clock_ms_, 60000);
  clock_ms_ = received_at_ms;
  int64_t minute = FloorDiv(clock_ms_, 60000);
  if (minute == previous_minute) return;
  if (previous_minute != INT64_MIN && minute - previous_minute > ttl_minutes_ + 1) {
    Clear();  // every entry is stamped at or before previous_minute: all are past the TTL
  } else {
    Sweep();
  }
  last_sweep_minute_ = minute;
}

DedupResult DedupFilter::CheckAndInsert(std::string_view id, int64_t received_at_ms) {
  AdvanceTime(received_at_ms);
  Key key = LookupKey(id);
  if (stash_.size() > kStashLimit) {
    // Pathological hashing filled the stash: answer what we know, take nothing new.
    return Contains(key, id) ? DedupResult::kDuplicate : DedupResult::kFull;
  }
  if (Contains(key, id)) return DedupResult::kDuplicate;
  if (static_cast<int64_t>(size_) >= options_.max_keys) return DedupResult::kFull;
  Segment& seg = SegmentOf(segments_, key.position_hash);
  if (seg.size + 1 > seg.buckets.size() * 4 * 92 / 100) Grow(seg);
  Slot slot = key.slot;
  if (key.kind == kOther) slot.hi = ArenaAppend(id);
  int64_t minute = FloorDiv(received_at_ms, 60000);
  uint16_t tag = static_cast<uint16_t>(((minute % kMinuteMod + kMinuteMod) % kMinuteMod) << 3 | key.kind);
  ++size_;
  if (!Place(seg, slot, tag, key.position_hash)) {
    Grow(seg);  // if even that leaves the stash over its limit, later new ids get kFull
  }
  return DedupResult::kNew;
}

size_t DedupFilter::MemoryBytes() const {
  size_t n = arena_.capacity() + stash_.capacity() * sizeof(std::pair<Slot, uint16_t>) +
             segments_.capacity() * sizeof(Segment);
  for (const Segment& seg : segments_) {
    n += seg.buckets.capacity() * sizeof(Bucket) + seg.tags.capacity() * sizeof(uint16_t);
  }
  return n;
}

void DedupFilter::AppendTo(std::string* out) const {
  internal::ByteWriter w(out);
  w.U8(1);  // format version
  w.I64(clock_ms_);
  w.I64(last_sweep_minute_);
  w.Var(size_);
  auto put = [&](const Slot& s, uint16_t tag) {
    w.U16(tag);
    if (KindOf(tag) == kOther) {
      w.Str(ArenaId(s.hi));
    } else {
      w.U64(s.lo);
      w.U64(s.hi);
    }
  };
  for (const Segment& seg : segments_) {
    for (size_t b = 0; b < seg.buckets.size(); ++b) {
      for (int i = 0; i < 4; ++i) {
        if (KindOf(seg.tags[b * 4 + i]) != kEmpty) put(seg.buckets[b].slots[i], seg.tags[b * 4 + i]);
      }
    }
  }
  for (const auto& [slot, tag] : stash_) put(slot, tag);
}

Status DedupFilter::Restore(std::string_view in) {
  internal::ByteReader r(in);
  uint8_t version;
  uint64_t n;
  int64_t clock, sweep;
  if (!r.U8(&version) || version != 1 || !r.I64(&clock) || !r.I64(&sweep) || !r.Var(&n)) {
    return Status::Corruption("dedup state: bad header");
  }
  Clear();
  ResetTable(std::max<size_t>(1, (n >> kSegmentBits) * 100 / 80 / 4 + 1));
  clock_ms_ = clock;
  last_sweep_minute_ = sweep;
  for (uint64_t i = 0; i < n; ++i) {
    uint16_t tag;
    Slot s;
    if (!r.U16(&tag) || KindOf(tag) == kEmpty) {
      return Status::Corruption("dedup state: bad entry " + std::to_string(i));
    }
    if (KindOf(tag) == kOther) {
      std::string_view id;
      if (!r.StrView(&id)) return Status::Corruption("dedup state: truncated id " + std::to_string(i));
      s.lo = options_.hasher(id);
      s.hi = ArenaAppend(id);
    } else if (!r.U64(&s.lo) || !r.U64(&s.hi)) {
      return Status::Corruption("dedup state: truncated entry " + std::to_string(i));
    }
    ++size_;
    const uint64_t h = PositionHash(s, KindOf(tag));
    Segment& seg = SegmentOf(segments_, h);
    if (seg.size + 1 > seg.buckets.size() * 4 * 92 / 100) Grow(seg);
    if (!Place(seg, s, tag, h)) Grow(seg);
  }
  if (!r.done()) return Status::Corruption("dedup state: trailing bytes");
  return Status::Ok();
}

}  // namespace tidemark::stream
