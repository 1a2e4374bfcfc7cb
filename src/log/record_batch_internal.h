// The record batch: the unit the embedded log writes, checksums and reads back. The byte
// layout is a file-format contract documented in docs/formats-log.md; change it only with a
// new magic value. Everything here is pure computation on memory (no I/O), so the writer and
// readers can share it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "log/embedded_log.h"
#include "log/log.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace tidemark::log::internal {

// Fixed header, all integers little-endian:
//   0  int64  base_offset
//   8  uint32 length           bytes after this field (whole batch = 12 + length)
//  12  uint32 crc              CRC32C of bytes [16, 12 + length)
//  16  uint8  magic            kBatchMagic
//  17  uint8  attributes       bits 0-2: codec (0 none, 1 zstd); other bits zero
//  18  uint16 reserved         zero
//  20  int32  record_count     >= 1
//  24  int64  first_timestamp_ms
//  32  int64  max_timestamp_ms
//  40  uint32 records_size     uncompressed size of the records section
//  44  records section (zstd frame when compressed)
inline constexpr size_t kBatchHeaderSize = 44;
inline constexpr size_t kBatchPrefixSize = 12;  // base_offset + length: enough to find the next batch
inline constexpr size_t kCrcStart = 16;
inline constexpr uint8_t kBatchMagic = 1;
// A batch's length field never exceeds this; larger values mean a corrupt header.
inline constexpr uint32_t kMaxBatchLength = 1u << 30;

struct BatchHeader {
  int64_t base_offset = 0;
  uint32_t length = 0;
  uint32_t crc = 0;
  uint8_t magic = 0;
  uint8_t attributes = 0;
  int32_t record_count = 0;
  int64_t first_timestamp_ms = 0;
  int64_t max_timestamp_ms = 0;
  uint32_t records_size = 0;

  size_t total_size() const { return kBatchPrefixSize + length; }
  int64_t next_offset() const { return base_offset + record_count; }
  Codec codec() const { return static_cast<Codec>(attributes & 0x7); }
};

// A growable byte buffer that, unlike std::string, does not zero what it grows into: the
// writer encodes hundreds of MB/s straight into it. Keeps its capacity across rounds.
class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  ByteBuffer(ByteBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  ByteBuffer& operator=(ByteBuffer&& other) noexcept {
    if (this != &other) {
      std::free(data_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
  }
  ~ByteBuffer() { std::free(data_); }

  char* data() { return data_; }
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear() { size_ = 0; }
  // Grows by n bytes (uninitialized) and returns a pointer to them.
  char* Extend(size_t n) {
    if (size_ + n > capacity_) Reserve(std::max(size_ + n, capacity_ * 2));
    char* p = data_ + size_;
    size_ += n;
    return p;
  }
  void Resize(size_t n) {
    if (n > capacity_) Reserve(n);
    size_ = n;
  }
  void Reserve(size_t n);
  size_t capacity() const { return capacity_; }
  // Frees the memory (capacity back to zero).
  void Release() {
    std::free(data_);
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Exact encoded size of a batch of these records without compression.
size_t UncompressedBatchSize(const std::vector<Record>& records);

// Encodes record batches. Not thread-safe: the log writer owns one.
class BatchEncoder {
 public:
  BatchEncoder();
  ~BatchEncoder();
  BatchEncoder(const BatchEncoder&) = delete;
  BatchEncoder& operator=(const BatchEncoder&) = delete;

  // Appends one batch holding `records` (non-empty) at the end of `out` and returns its
  // header. With kZstd the records section is compressed unless that would not shrink it.
  BatchHeader Encode(int64_t base_offset, const std::vector<Record>& records, Codec codec,
                     ByteBuffer* out);

 private:
  ZSTD_CCtx_s* cctx_ = nullptr;
  ByteBuffer scratch_;
};

// Stamps the base offset into the encoded batch at p. The base offset lies outside the
// CRC-covered bytes, so a batch can be encoded (and checksummed) on the appending thread
// before the writer knows which offset it gets.
inline void SetBatchBaseOffset(char* p, BatchHeader* header, int64_t base_offset);

// Parses the fixed header at p (at least kBatchHeaderSize bytes). Returns false with a
// reason when the header cannot be a batch (bad magic, length out of range, …).
bool ParseBatchHeader(const char* p, BatchHeader* header, std::string* why);
// Reads only the length field of the batch prefix at p (kBatchPrefixSize bytes).
uint32_t PeekBatchLength(const char* p);

// CRC32C of the batch at p (header.total_size() bytes) equals its crc field.
bool BatchCrcMatches(const BatchHeader& header, const char* p);

// Limits shared by the records a Read collects across batches.
struct ReadBudget {
  size_t max_bytes;
  size_t max_records;
  size_t bytes = 0;
  bool keys = true;  // ReadOptions::keys
  bool Full(size_t records_so_far) const {
    return records_so_far >= max_records || (records_so_far > 0 && bytes >= max_bytes);
  }
};

// Decodes the records of a CRC-checked batch at p into out's next records, those with
// offset >= from, while the budget allows (always at least one record in total). `where`
// names the batch for error messages ("user-events/3/….log: … in batch at byte N").
Status DecodeBatchRecords(const BatchHeader& header, const char* p, int64_t from,
                          ReadBudget* budget, ReadBatch* out, const std::string& where);

// What DecodeBatchRecordViews finds, kept as byte ranges while the read goes on (its
// buffers may still move as they grow) and turned into views by MakeViews at the end. The
// batches lie in `raw`, the buffer the read fills; compressed records sections are
// inflated into `inflated`. Log::ReadViews' storage in the embedded log.
struct ViewedRecords : RecordViews::Storage {
  // A byte range: `at` indexes raw, or inflated when kInflated is set in it.
  struct Range {
    uint64_t at = 0;
    uint64_t size = 0;
  };
  static constexpr uint64_t kInflated = uint64_t{1} << 63;
  struct Entry {
    int64_t offset;
    int64_t timestamp_ms;
    Range key;
    Range value;
    uint32_t first_header;
    uint32_t header_count;
  };
  ByteBuffer raw;
  ByteBuffer inflated;
  std::vector<Entry> records;
  std::vector<std::pair<Range, Range>> headers;

  // Forgets every record and byte, keeping the memory.
  void Clear() {
    raw.clear();
    inflated.clear();
    records.clear();
    headers.clear();
  }
  // Fills out (cleared first) with views of every record.
  void MakeViews(RecordViews* out) const;
};

// DecodeBatchRecords for a batch at p inside out->raw: records as ranges, not copies.
Status DecodeBatchRecordViews(const BatchHeader& header, const char* p, int64_t from,
                              ReadBudget* budget, ViewedRecords* out, const std::string& where);

// Little-endian fixed-width integers.
inline void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void PutU64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
inline uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

inline void SetBatchBaseOffset(char* p, BatchHeader* header, int64_t base_offset) {
  static_assert(kCrcStart >= 8, "the base offset must lie outside the CRC-covered bytes");
  header->base_offset = base_offset;
  PutU64(p, static_cast<uint64_t>(base_offset));
}

}  // namespace tidemark::log::internal
