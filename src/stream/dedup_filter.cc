#include "stream/dedup_filter.h"

#include <algorithm>
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

int HexValue(char c, bool upper) {
  if (c >= '0' && c <= '9') return c - '0';
  if (!upper && c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (upper && c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses exactly 32 hex digits of one case (dashes skipped at the UUID positions).
bool ParseHex128(std::string_view id, bool uuid, bool upper, uint64_t* hi, uint64_t* lo) {
  uint64_t h = 0, l = 0;
  int digits = 0;
  for (size_t i = 0; i < id.size(); ++i) {
    if (uuid && (i == 8 || i == 13 || i == 18 || i == 23)) {
      if (id[i] != '-') return false;
      continue;
    }
    int v = HexValue(id[i], upper);
    if (v < 0) return false;
    if (digits < 16) {
      h = h << 4 | static_cast<uint64_t>(v);
    } else {
      l = l << 4 | static_cast<uint64_t>(v);
    }
    ++digits;
  }
  *hi = h;
  *lo = l;
  return digits == 32;
}

constexpr uint16_t KindOf(uint16_t tag) { return tag & 7; }
constexpr int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

DedupFilter::DedupFilter(Options options) : options_(options) {
  if (!options_.hasher) options_.hasher = DefaultHasher;
  ttl_minutes_ = (options_.ttl_ms + 59999) / 60000;
  ResetTable(16);
}

void DedupFilter::ResetTable(size_t buckets) {
  buckets_.assign(buckets, Bucket{});
  tags_.assign(buckets * 4, 0);
}

DedupFilter::Key DedupFilter::MakeKey(std::string_view id) const {
  Key k;
  if (id.size() == 32 || id.size() == 36) {
    bool uuid = id.size() == 36;
    for (bool upper : {false, true}) {
      if (ParseHex128(id, uuid, upper, &k.slot.hi, &k.slot.lo)) {
        k.kind = uuid ? (upper ? kUuidUpper : kUuidLower) : (upper ? kHexUpper : kHexLower);
        k.position_hash = PositionHash(k.slot, k.kind);
        return k;
      }
    }
  }
  k.kind = kOther;
  k.slot.lo = options_.hasher(id);
  k.position_hash = k.slot.lo;
  return k;
}

uint64_t DedupFilter::PositionHash(const Slot& s, uint16_t kind) const {
  if (kind == kOther) return s.lo;
  char bytes[16];
  std::memcpy(bytes, &s.lo, 8);
  std::memcpy(bytes + 8, &s.hi, 8);
  return options_.hasher(std::string_view(bytes, 16));
}

size_t DedupFilter::Bucket1(uint64_t h) const {
  return static_cast<size_t>((static_cast<unsigned __int128>(h) * buckets_.size()) >> 64);
}
size_t DedupFilter::Bucket2(uint64_t h) const {
  return static_cast<size_t>((static_cast<unsigned __int128>(Mix64(h)) * buckets_.size()) >> 64);
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
  for (size_t b : {Bucket1(key.position_hash), Bucket2(key.position_hash)}) {
    const Bucket& bucket = buckets_[b];
    for (int i = 0; i < 4; ++i) {
      if (Matches(bucket.slots[i], tags_[b * 4 + i], key, id)) return true;
    }
  }
  for (const auto& [slot, tag] : stash_) {
    if (Matches(slot, tag, key, id)) return true;
  }
  return false;
}

bool DedupFilter::Place(Slot slot, uint16_t tag) {
  uint64_t h = PositionHash(slot, KindOf(tag));
  size_t b = Bucket1(h);
  for (size_t candidate : {b, Bucket2(h)}) {
    for (int i = 0; i < 4; ++i) {
      if (KindOf(tags_[candidate * 4 + i]) == kEmpty) {
        buckets_[candidate].slots[i] = slot;
        tags_[candidate * 4 + i] = tag;
        return true;
      }
    }
  }
  // Random-walk cuckoo: evict a resident to its other bucket, up to a bound.
  for (int kick = 0; kick < 500; ++kick) {
    kick_seed_ = Mix64(kick_seed_);
    int i = static_cast<int>(kick_seed_ & 3);
    std::swap(buckets_[b].slots[i], slot);
    std::swap(tags_[b * 4 + i], tag);
    uint64_t vh = PositionHash(slot, KindOf(tag));
    size_t b1 = Bucket1(vh), b2 = Bucket2(vh);
    b = (b == b1) ? b2 : b1;
    for (int j = 0; j < 4; ++j) {
      if (KindOf(tags_[b * 4 + j]) == kEmpty) {
        buckets_[b].slots[j] = slot;
        tags_[b * 4 + j] = tag;
        return true;
      }
    }
  }
  // The homeless entry is never lost: the stash holds it (possibly beyond its limit while a
  // grow is pending; Grow re-places everything).
  stash_.emplace_back(slot, tag);
  return stash_.size() <= kStashLimit;
}

void DedupFilter::Grow() {
  std::vector<std::pair<Slot, uint16_t>> all;
  all.reserve(size_);
  for (size_t b = 0; b < buckets_.size(); ++b) {
    for (int i = 0; i < 4; ++i) {
      if (KindOf(tags_[b * 4 + i]) != kEmpty) all.emplace_back(buckets_[b].slots[i], tags_[b * 4 + i]);
    }
  }
  all.insert(all.end(), stash_.begin(), stash_.end());
  stash_.clear();
  // 1.25x keeps the load between ~75 % and ~94 %: about 18-24 bytes per live id.
  ResetTable(buckets_.size() + buckets_.size() / 4 + 1);
  for (const auto& [slot, tag] : all) (void)Place(slot, tag);
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
  for (auto& t : tags_) t = 0;
  stash_.clear();
  arena_.clear();
  arena_garbage_ = 0;
  size_ = 0;
}

void DedupFilter::Sweep() {
  for (size_t b = 0; b < buckets_.size(); ++b) {
    for (int i = 0; i < 4; ++i) {
      uint16_t& tag = tags_[b * 4 + i];
      if (KindOf(tag) == kEmpty || !Expired(tag)) continue;
      if (KindOf(tag) == kOther) arena_garbage_ += ArenaId(buckets_[b].slots[i].hi).size() + 1;
      tag = 0;
      --size_;
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
  auto move = [&](Slot& s, uint16_t tag) {
    if (KindOf(tag) != kOther) return;
    std::string_view id = ArenaId(s.hi);
    s.hi = fresh.size();
    internal::ByteWriter(&fresh).Str(id);
  };
  for (size_t b = 0; b < buckets_.size(); ++b) {
    for (int i = 0; i < 4; ++i) move(buckets_[b].slots[i], tags_[b * 4 + i]);
  }
  for (auto& [slot, tag] : stash_) move(slot, tag);
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
  Key key = MakeKey(id);
  if (stash_.size() > kStashLimit) {
    // Pathological hashing filled the stash: answer what we know, take nothing new.
    return Contains(key, id) ? DedupResult::kDuplicate : DedupResult::kFull;
  }
  if (Contains(key, id)) return DedupResult::kDuplicate;
  if (static_cast<int64_t>(size_) >= options_.max_keys) return DedupResult::kFull;
  if (size_ + 1 > buckets_.size() * 4 * 94 / 100) Grow();
  Slot slot = key.slot;
  if (key.kind == kOther) slot.hi = ArenaAppend(id);
  int64_t minute = FloorDiv(received_at_ms, 60000);
  uint16_t tag = static_cast<uint16_t>(((minute % kMinuteMod + kMinuteMod) % kMinuteMod) << 3 | key.kind);
  ++size_;
  if (!Place(slot, tag)) {
    Grow();  // if even that leaves the stash over its limit, later new ids get kFull
  }
  return DedupResult::kNew;
}

size_t DedupFilter::MemoryBytes() const {
  return buckets_.capacity() * sizeof(Bucket) + tags_.capacity() * sizeof(uint16_t) +
         arena_.capacity() + stash_.capacity() * sizeof(std::pair<Slot, uint16_t>);
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
  for (size_t b = 0; b < buckets_.size(); ++b) {
    for (int i = 0; i < 4; ++i) {
      if (KindOf(tags_[b * 4 + i]) != kEmpty) put(buckets_[b].slots[i], tags_[b * 4 + i]);
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
  ResetTable(std::max<size_t>(16, n * 100 / 80 / 4 + 1));
  clock_ms_ = clock;
  last_sweep_minute_ = sweep;
  for (uint64_t i = 0; i < n; ++i) {
    uint16_t tag;
    Slot s;
    if (!r.U16(&tag) || KindOf(tag) == kEmpty || KindOf(tag) > kOther) {
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
    if (!Place(s, tag)) Grow();
  }
  if (!r.done()) return Status::Corruption("dedup state: trailing bytes");
  return Status::Ok();
}

}  // namespace tidemark::stream
