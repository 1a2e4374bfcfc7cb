// Inlined: the dictionary hashes every string value, most of them a few bytes long.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "lake/encoding_internal.h"

namespace tidemark::lake {

int BitWidth(uint32_t max_value) {
  int w = 0;
  while (max_value != 0) {
    ++w;
    max_value >>= 1;
  }
  return w;
}

namespace {

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Packs values[0, count) and then zeros up to padded_count, `width` bits each, LSB first,
// at dst: the accumulator (Acc, at least Word's width plus `width` bits) is stored a Word
// at a time, and a last partial Word is stored whole, so dst needs sizeof(Word) bytes of
// room past the packed ones. Returns the end of the packed bytes.
template <typename Acc, typename Word, typename T>
uint8_t* PackBits(const T* values, size_t count, size_t padded_count, int width, uint8_t* dst) {
  constexpr int kWordBits = 8 * sizeof(Word);
  Acc acc = 0;
  int held = 0;
  auto put = [&](uint64_t v) {
    acc |= static_cast<Acc>(v) << held;
    held += width;
    if (held >= kWordBits) {
      const auto word = static_cast<Word>(acc);
      std::memcpy(dst, &word, sizeof(Word));
      dst += sizeof(Word);
      acc >>= kWordBits;
      held -= kWordBits;
    }
  };
  for (size_t i = 0; i < count; ++i) put(static_cast<uint64_t>(values[i]));
  for (size_t i = count; i < padded_count; ++i) put(0);
  if (held > 0) {
    const auto word = static_cast<Word>(acc);
    std::memcpy(dst, &word, sizeof(Word));
    dst += (held + 7) / 8;
  }
  return dst;
}

// Packs groups of 8 values, bit_width bytes per group, LSB first (bit_width is at most 32).
template <typename T>
void AppendBitPacked(const T* values, size_t count, int bit_width, std::string* out) {
  const size_t groups = (count + 7) / 8;
  const size_t start = out->size();
  out->resize(start + groups * static_cast<size_t>(bit_width) + sizeof(uint32_t));
  PackBits<uint64_t, uint32_t>(values, count, groups * 8, bit_width,
                               reinterpret_cast<uint8_t*>(out->data() + start));
  out->resize(start + groups * static_cast<size_t>(bit_width));
}

template <typename T>
void EncodeHybrid(const T* values, size_t count, int bit_width, std::string* out) {
  const size_t value_bytes = static_cast<size_t>((bit_width + 7) / 8);
  // Literal values [literal_begin, i) wait to be bit-packed; their count is kept a multiple of
  // 8 before any RLE run starts, because only the final bit-packed run may be padded.
  size_t literal_begin = 0;
  size_t i = 0;
  auto flush_literals = [&](size_t end) {
    const size_t n = end - literal_begin;
    if (n == 0) return;
    const size_t groups = (n + 7) / 8;
    AppendVarint((groups << 1) | 1, out);
    AppendBitPacked(values + literal_begin, n, bit_width, out);
    literal_begin = end;
  };
  while (i < count) {
    const T v = values[i];
    size_t j = i + 1;
    while (j < count && values[j] == v) ++j;
    size_t run = j - i;
    if (run >= 8) {
      // Borrow the head of the run to round the pending literals up to a whole group.
      const size_t pending = i - literal_begin;
      const size_t pad = (8 - pending % 8) % 8;
      if (run - pad >= 8) {
        flush_literals(i + pad);
        run -= pad;
        AppendVarint(static_cast<uint64_t>(run) << 1, out);
        uint64_t raw = static_cast<uint64_t>(v);
        for (size_t b = 0; b < value_bytes; ++b) {
          out->push_back(static_cast<char>(raw & 0xff));
          raw >>= 8;
        }
        literal_begin = j;
      }
    }
    i = j;
  }
  flush_literals(count);
}

template <typename T>
Status DecodeHybrid(const uint8_t* data, size_t size, int bit_width, size_t count, T* out) {
  if (bit_width < 0 || bit_width > 32) {
    return Status::Corruption("RLE: bit width " + std::to_string(bit_width) + " out of range");
  }
  const uint8_t* p = data;
  const uint8_t* end = data + size;
  const size_t value_bytes = static_cast<size_t>((bit_width + 7) / 8);
  const uint64_t mask = bit_width == 32 ? 0xffffffffull : ((1ull << bit_width) - 1);
  size_t produced = 0;
  while (produced < count) {
    uint64_t header = 0;
    int shift = 0;
    for (;;) {
      if (p >= end) return Status::Corruption("RLE: input ends inside a run header");
      if (shift > 63) return Status::Corruption("RLE: run header too long");
      const uint8_t b = *p++;
      header |= static_cast<uint64_t>(b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) == 0) break;
    }
    if ((header & 1) == 0) {
      const uint64_t run = header >> 1;
      if (static_cast<size_t>(end - p) < value_bytes) {
        return Status::Corruption("RLE: input ends inside a run value");
      }
      uint64_t v = 0;
      for (size_t b = 0; b < value_bytes; ++b) v |= static_cast<uint64_t>(p[b]) << (8 * b);
      p += value_bytes;
      if (run == 0) return Status::Corruption("RLE: empty run");
      const size_t n = static_cast<size_t>(std::min<uint64_t>(run, count - produced));
      std::fill(out + produced, out + produced + n, static_cast<T>(v));
      produced += n;
    } else {
      const uint64_t groups = header >> 1;
      const uint64_t bytes_needed = groups * static_cast<uint64_t>(bit_width);
      if (groups == 0) return Status::Corruption("RLE: empty bit-packed run");
      if (bytes_needed > static_cast<uint64_t>(end - p)) {
        return Status::Corruption("RLE: bit-packed run of " + std::to_string(groups) +
                                  " groups runs past the end");
      }
      const size_t n = static_cast<size_t>(std::min<uint64_t>(groups * 8, count - produced));
      const size_t avail = static_cast<size_t>(bytes_needed);
      if (bit_width == 0) {
        std::fill(out + produced, out + produced + n, T{0});
      } else {
        for (size_t k = 0; k < n; ++k) {
          const size_t bit = k * static_cast<size_t>(bit_width);
          const size_t byte = bit >> 3;
          uint64_t word = 0;
          if (byte + 8 <= avail) {
            std::memcpy(&word, p + byte, 8);
          } else {
            std::memcpy(&word, p + byte, avail - byte);
          }
          out[produced + k] = static_cast<T>((word >> (bit & 7)) & mask);
        }
      }
      produced += n;
      p += avail;
    }
  }
  return Status::Ok();
}

}  // namespace

void EncodeRleBitPacked(const uint32_t* values, size_t count, int bit_width, std::string* out) {
  EncodeHybrid(values, count, bit_width, out);
}
void EncodeRleBitPacked(const uint8_t* values, size_t count, int bit_width, std::string* out) {
  EncodeHybrid(values, count, bit_width, out);
}
Status DecodeRleBitPacked(const uint8_t* data, size_t size, int bit_width, size_t count,
                          uint32_t* out) {
  return DecodeHybrid(data, size, bit_width, count, out);
}
Status DecodeRleBitPacked(const uint8_t* data, size_t size, int bit_width, size_t count,
                          uint8_t* out) {
  if (bit_width > 8) return Status::Corruption("RLE: bit width above 8 for byte levels");
  return DecodeHybrid(data, size, bit_width, count, out);
}

void EncodePlainBooleans(const uint8_t* values, size_t count, std::string* out) {
  const size_t start = out->size();
  out->resize(start + (count + 7) / 8, '\0');
  uint8_t* dst = reinterpret_cast<uint8_t*>(out->data() + start);
  for (size_t i = 0; i < count; ++i) {
    if (values[i]) dst[i >> 3] |= static_cast<uint8_t>(1u << (i & 7));
  }
}

Status DecodePlainBooleans(const uint8_t* data, size_t size, size_t count, uint8_t* out) {
  if (size < (count + 7) / 8) {
    return Status::Corruption("PLAIN booleans: " + std::to_string(count) + " values need " +
                              std::to_string((count + 7) / 8) + " bytes, page has " +
                              std::to_string(size));
  }
  for (size_t i = 0; i < count; ++i) out[i] = (data[i >> 3] >> (i & 7)) & 1;
  return Status::Ok();
}

namespace {

constexpr size_t kDeltaBlock = 128;
constexpr size_t kDeltaMiniblocks = 4;
constexpr size_t kDeltaMiniblock = kDeltaBlock / kDeltaMiniblocks;  // 32 values
// A miniblock's bytes at the widest width (64 bits per value); PackBits's last store of an
// odd width ends at 4w + 4 bytes, within it.
constexpr size_t kMiniblockRoom = kDeltaMiniblock * 64 / 8;

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

int BitWidth64(uint64_t v) { return v == 0 ? 0 : 64 - __builtin_clzll(v); }

uint64_t Extract(const uint8_t* buf, size_t bit, int width) {
  const int shift = static_cast<int>(bit % 8);
  const uint8_t* at = buf + bit / 8;
  uint64_t word;
  std::memcpy(&word, at, 8);
  uint64_t v = word >> shift;
  if (shift + width > 64) v |= static_cast<uint64_t>(at[8]) << (64 - shift);
  return width == 64 ? v : v & ((uint64_t{1} << width) - 1);
}

bool ReadUleb(const uint8_t*& p, const uint8_t* end, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p >= end) return false;
    const uint8_t b = *p++;
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace

void EncodeDeltaBinaryPacked(const int64_t* values, size_t count, std::string* out) {
  AppendVarint(kDeltaBlock, out);
  AppendVarint(kDeltaMiniblocks, out);
  AppendVarint(count, out);
  AppendVarint(ZigZag(count > 0 ? values[0] : 0), out);
  uint64_t deltas[kDeltaBlock];
  uint8_t packed[kMiniblockRoom];
  for (size_t i = 1; i < count; i += kDeltaBlock) {
    const size_t n = std::min(kDeltaBlock, count - i);
    int64_t min_delta = INT64_MAX;
    for (size_t k = 0; k < n; ++k) {
      const auto d = static_cast<int64_t>(static_cast<uint64_t>(values[i + k]) -
                                          static_cast<uint64_t>(values[i + k - 1]));
      deltas[k] = static_cast<uint64_t>(d);
      min_delta = std::min(min_delta, d);
    }
    AppendVarint(ZigZag(min_delta), out);
    // Past the last value the deltas are 0: a partial miniblock is padded with them.
    std::fill(deltas + n, deltas + kDeltaBlock, uint64_t{0});
    int widths[kDeltaMiniblocks];
    for (size_t m = 0; m < kDeltaMiniblocks; ++m) {
      uint64_t bits = 0;  // the widest delta's bits: the OR of them all
      for (size_t k = m * kDeltaMiniblock; k < (m + 1) * kDeltaMiniblock; ++k) {
        deltas[k] -= k < n ? static_cast<uint64_t>(min_delta) : 0;
        bits |= deltas[k];
      }
      widths[m] = BitWidth64(bits);
    }
    for (const int w : widths) out->push_back(static_cast<char>(w));
    // Miniblocks past the last value are not written (their width bytes are 0).
    for (size_t m = 0; m * kDeltaMiniblock < n; ++m) {
      const int w = widths[m];
      // 32 values of w bits are 4w bytes; a last partial word is at most 4 bytes of them.
      const uint8_t* dst = PackBits<unsigned __int128, uint64_t>(
          deltas + m * kDeltaMiniblock, kDeltaMiniblock, kDeltaMiniblock, w, packed);
      out->append(reinterpret_cast<const char*>(packed), static_cast<size_t>(dst - packed));
    }
  }
}

Status DecodeDeltaBinaryPacked(const uint8_t* data, size_t size, size_t count, int64_t* out) {
  const uint8_t* p = data;
  const uint8_t* end = data + size;
  uint64_t block = 0, miniblocks = 0, total = 0, first = 0;
  if (!ReadUleb(p, end, &block) || !ReadUleb(p, end, &miniblocks) || !ReadUleb(p, end, &total) ||
      !ReadUleb(p, end, &first)) {
    return Status::Corruption("DELTA_BINARY_PACKED: header ends early");
  }
  if (block == 0 || block % 128 != 0 || block > (1u << 20) || miniblocks == 0 ||
      block % miniblocks != 0 || (block / miniblocks) % 32 != 0) {
    return Status::Corruption("DELTA_BINARY_PACKED: block of " + std::to_string(block) + " values in " +
                              std::to_string(miniblocks) + " miniblocks");
  }
  if (total < count) {
    return Status::Corruption("DELTA_BINARY_PACKED: " + std::to_string(total) + " values for " +
                              std::to_string(count));
  }
  if (count == 0) return Status::Ok();
  const size_t per_miniblock = block / miniblocks;
  std::vector<uint8_t> buffer(per_miniblock * 64 / 8 + 16);
  auto value = static_cast<uint64_t>(UnZigZag(first));
  out[0] = static_cast<int64_t>(value);
  size_t produced = 1;
  while (produced < count) {
    uint64_t zigzag_min;
    if (!ReadUleb(p, end, &zigzag_min)) return Status::Corruption("DELTA_BINARY_PACKED: block ends early");
    const auto min_delta = static_cast<uint64_t>(UnZigZag(zigzag_min));
    if (static_cast<uint64_t>(end - p) < miniblocks) {
      return Status::Corruption("DELTA_BINARY_PACKED: bit widths end early");
    }
    const uint8_t* widths = p;
    p += miniblocks;
    for (size_t m = 0; m < miniblocks && produced < count; ++m) {
      const int w = widths[m];
      if (w > 64) return Status::Corruption("DELTA_BINARY_PACKED: bit width " + std::to_string(w));
      const size_t bytes = per_miniblock * static_cast<size_t>(w) / 8;
      if (static_cast<size_t>(end - p) < bytes) {
        return Status::Corruption("DELTA_BINARY_PACKED: miniblock ends early");
      }
      std::memcpy(buffer.data(), p, bytes);
      std::memset(buffer.data() + bytes, 0, 16);
      p += bytes;
      for (size_t k = 0; k < per_miniblock && produced < count; ++k) {
        value += min_delta + (w == 0 ? 0 : Extract(buffer.data(), k * static_cast<size_t>(w), w));
        out[produced++] = static_cast<int64_t>(value);
      }
    }
  }
  return Status::Ok();
}

StringDictionary::StringDictionary(int64_t max_plain_bytes) : max_plain_bytes_(max_plain_bytes) {
  slots_.assign(1024, 0);
  mask_ = slots_.size() - 1;
}

void StringDictionary::Grow() {
  slots_.assign(slots_.size() * 2, 0);
  mask_ = slots_.size() - 1;
  for (const uint32_t at : entries_at_) {
    uint64_t h;
    std::memcpy(&h, entries_.data() + at, 8);
    uint64_t s = h & mask_;
    while (slots_[s] != 0) s = (s + 1) & mask_;
    slots_[s] = at + 1;
  }
}

void StringDictionary::Clear() {
  entries_.clear();
  entries_at_.clear();
  plain_bytes_ = 0;
  std::fill(slots_.begin(), slots_.end(), 0);
}

bool StringDictionary::Insert(std::string_view value, uint32_t* index, bool* added) {
  if (added != nullptr) *added = false;
  const uint64_t h = XXH3_64bits(value.data(), value.size());
  uint64_t s = h & mask_;
  for (;;) {
    const uint32_t slot = slots_[s];
    if (slot == 0) break;
    const char* e = entries_.data() + (slot - 1);
    uint64_t entry_hash;
    uint32_t length;
    std::memcpy(&entry_hash, e, 8);
    std::memcpy(&length, e + 12, 4);
    if (entry_hash == h && length == value.size() && SameBytes(e + kEntryHeader, value.data(), value.size())) {
      std::memcpy(index, e + 8, 4);
      return true;
    }
    s = (s + 1) & mask_;
  }
  if (plain_bytes_ + 4 + static_cast<int64_t>(value.size()) > max_plain_bytes_) return false;
  // Entry offsets are 32-bit: a dictionary that large is refused like a full one.
  if (entries_.size() + kEntryHeader + value.size() >= UINT32_MAX) return false;
  const auto i = static_cast<uint32_t>(entries_at_.size());
  const auto at = static_cast<uint32_t>(entries_.size());
  const auto length = static_cast<uint32_t>(value.size());
  char header[kEntryHeader];
  std::memcpy(header, &h, 8);
  std::memcpy(header + 8, &i, 4);
  std::memcpy(header + 12, &length, 4);
  entries_.append(header, kEntryHeader);
  entries_.append(value);
  entries_at_.push_back(at);
  slots_[s] = at + 1;
  plain_bytes_ += 4 + static_cast<int64_t>(value.size());
  *index = i;
  if (added != nullptr) *added = true;
  if (entries_at_.size() * 2 > slots_.size()) Grow();  // keep the load factor at most 1/2
  return true;
}

}  // namespace tidemark::lake
