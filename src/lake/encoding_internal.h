// Parquet value encodings: the RLE / bit-packing hybrid (definition levels and dictionary
// indices), bit-packed booleans, and the string dictionary the writer builds per column
// chunk. Written from the Parquet "Encodings" specification.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tidemark::lake {

// Bits needed for values 0..max_value (0 for max_value 0).
int BitWidth(uint32_t max_value);

// Appends the RLE/bit-packed hybrid encoding of values (each < 2^bit_width) to out: runs of
// 8 or more equal values become RLE runs, the rest bit-packed groups of 8 (the last group
// zero-padded). No length prefix; callers add the one their page layout needs.
void EncodeRleBitPacked(const uint32_t* values, size_t count, int bit_width, std::string* out);
void EncodeRleBitPacked(const uint8_t* values, size_t count, int bit_width, std::string* out);

// Decodes exactly `count` values. Corruption when the input ends early or a run is invalid.
Status DecodeRleBitPacked(const uint8_t* data, size_t size, int bit_width, size_t count,
                          uint32_t* out);
Status DecodeRleBitPacked(const uint8_t* data, size_t size, int bit_width, size_t count,
                          uint8_t* out);

// PLAIN booleans: bit-packed, least significant bit first.
void EncodePlainBooleans(const uint8_t* values, size_t count, std::string* out);
Status DecodePlainBooleans(const uint8_t* data, size_t size, size_t count, uint8_t* out);

// DELTA_BINARY_PACKED for 64-bit integers (the Parquet writer's encoding of INT64 and
// TIMESTAMP columns): blocks of 128 deltas in 4 miniblocks of 32, each miniblock bit-packed
// at its own width after the block's minimum delta is taken off. Deltas wrap as two's
// complement, so any sequence round-trips.
void EncodeDeltaBinaryPacked(const int64_t* values, size_t count, std::string* out);
// Decodes `count` values (a page may announce more). Corruption when the input is malformed
// or ends early.
Status DecodeDeltaBinaryPacked(const uint8_t* data, size_t size, size_t count, int64_t* out);

// Whether the n bytes at a and at b are the same: StringDictionary's check of a value whose
// hash matched an entry's, and (SameString) the bronze writer's of context field names.
// Inline, because such values are mostly a few bytes long, where a call to memcmp costs
// more than the comparison.
inline bool SameBytes(const char* a, const char* b, size_t n) {
  // Whole words, then the last eight bytes (overlapping the words before them) or, for
  // shorter values, two overlapping halves: no byte loop for the short values a dictionary
  // column holds.
  auto load64 = [](const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  auto load32 = [](const char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  };
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) {
      if (load64(a + i) != load64(b + i)) return false;
    }
    return load64(a + n - 8) == load64(b + n - 8);
  }
  if (n >= 4) return load32(a) == load32(b) && load32(a + n - 4) == load32(b + n - 4);
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

inline bool SameString(std::string_view a, std::string_view b) {
  return a.size() == b.size() && SameBytes(a.data(), b.data(), a.size());
}

// Distinct strings of one column chunk in first-seen order, with an open-addressing hash
// index. Insert refuses (returns false) once the dictionary's PLAIN size would pass
// max_plain_bytes, so a high-cardinality column costs only until the bound is hit.
class StringDictionary {
 public:
  explicit StringDictionary(int64_t max_plain_bytes);

  // *index receives the value's dictionary index; *added says whether the value is new.
  bool Insert(std::string_view value, uint32_t* index, bool* added = nullptr);
  // Forgets every entry but keeps the allocated memory for the next column chunk.
  void Clear();
  // Changes the bound for later inserts (a dictionary reused by another writer).
  void set_max_plain_bytes(int64_t max_plain_bytes) { max_plain_bytes_ = max_plain_bytes; }

  size_t size() const { return entries_at_.size(); }
  std::string_view at(size_t i) const {
    const char* e = entries_.data() + entries_at_[i];
    uint32_t length;
    std::memcpy(&length, e + 12, 4);
    return std::string_view(e + kEntryHeader, length);
  }
  int64_t plain_bytes() const { return plain_bytes_; }

 private:
  // An entry in entries_: the value's 64-bit hash, its index (4 bytes), its length (4),
  // then its bytes. A lookup reads a slot, then one entry whose header and value share
  // cache lines, instead of a hash, an offset and the bytes from three arrays.
  static constexpr size_t kEntryHeader = 16;
  void Grow();

  int64_t max_plain_bytes_;
  int64_t plain_bytes_ = 0;
  std::string entries_;
  std::vector<uint32_t> entries_at_;  // index → entry offset
  std::vector<uint32_t> slots_;       // entry offset + 1; 0 = empty
  uint64_t mask_ = 0;
};

}  // namespace tidemark::lake
