// Record batch encoding and decoding (see record_batch_internal.h for the layout).
#include "log/record_batch_internal.h"

#include <zstd.h>

#include <fmt/format.h>

#include "common/hashing.h"

namespace tidemark::log::internal {
namespace {

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

// Returns false when the varint runs past end or exceeds 64 bits.
bool GetVarint(const char** p, const char* end, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    uint64_t byte = static_cast<uint8_t>(*(*p)++);
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Size of the records section for these records, relative to first_ts.
size_t RecordsSectionSize(const std::vector<Record>& records, int64_t first_ts) {
  size_t n = 0;
  for (const Record& r : records) {
    n += VarintSize(ZigZag(r.timestamp_ms - first_ts)) + VarintSize(r.key.size()) + r.key.size() +
         VarintSize(r.value.size()) + r.value.size() + VarintSize(r.headers.size());
    for (const auto& [hk, hv] : r.headers) {
      n += VarintSize(hk.size()) + hk.size() + VarintSize(hv.size()) + hv.size();
    }
  }
  return n;
}

char* PutRecords(char* p, const std::vector<Record>& records, int64_t first_ts) {
  for (const Record& r : records) {
    p = PutVarint(p, ZigZag(r.timestamp_ms - first_ts));
    p = PutVarint(p, r.key.size());
    std::memcpy(p, r.key.data(), r.key.size());
    p += r.key.size();
    p = PutVarint(p, r.value.size());
    std::memcpy(p, r.value.data(), r.value.size());
    p += r.value.size();
    p = PutVarint(p, r.headers.size());
    for (const auto& [hk, hv] : r.headers) {
      p = PutVarint(p, hk.size());
      std::memcpy(p, hk.data(), hk.size());
      p += hk.size();
      p = PutVarint(p, hv.size());
      std::memcpy(p, hv.data(), hv.size());
      p += hv.size();
    }
  }
  return p;
}

// One decompression context per reading thread: creating one costs more than a small batch.
struct ThreadZstd {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  ByteBuffer buffer;
  ~ThreadZstd() { ZSTD_freeDCtx(dctx); }
};

ThreadZstd& ThreadDecompressor() {
  thread_local ThreadZstd z;
  return z;
}

}  // namespace

void ByteBuffer::Reserve(size_t n) {
  if (n <= capacity_) return;
  char* p = static_cast<char*>(std::realloc(data_, n));
  if (p == nullptr) std::abort();  // out of memory: nothing sensible left to do
  data_ = p;
  capacity_ = n;
}

size_t UncompressedBatchSize(const std::vector<Record>& records) {
  int64_t first_ts = records.empty() ? 0 : records.front().timestamp_ms;
  return kBatchHeaderSize + RecordsSectionSize(records, first_ts);
}

BatchEncoder::BatchEncoder() = default;
BatchEncoder::~BatchEncoder() {
  if (cctx_ != nullptr) ZSTD_freeCCtx(cctx_);
}

BatchHeader BatchEncoder::Encode(int64_t base_offset, const std::vector<Record>& records,
                                 Codec codec, ByteBuffer* out) {
  BatchHeader h;
  h.base_offset = base_offset;
  h.magic = kBatchMagic;
  h.record_count = static_cast<int32_t>(records.size());
  h.first_timestamp_ms = records.front().timestamp_ms;
  h.max_timestamp_ms = h.first_timestamp_ms;
  for (const Record& r : records) h.max_timestamp_ms = std::max(h.max_timestamp_ms, r.timestamp_ms);
  const size_t records_size = RecordsSectionSize(records, h.first_timestamp_ms);
  h.records_size = static_cast<uint32_t>(records_size);

  const size_t start = out->size();
  size_t section_size = records_size;
  if (codec == Codec::kZstd) {
    if (cctx_ == nullptr) cctx_ = ZSTD_createCCtx();
    scratch_.Resize(records_size);
    PutRecords(scratch_.data(), records, h.first_timestamp_ms);
    const size_t bound = ZSTD_compressBound(records_size);
    char* p = out->Extend(kBatchHeaderSize + bound);
    // Level 1: the writer has about one core for 230 MB/s; higher levels cannot keep up.
    size_t n = ZSTD_compressCCtx(cctx_, p + kBatchHeaderSize, bound, scratch_.data(), records_size, 1);
    if (!ZSTD_isError(n) && n < records_size) {
      h.attributes = static_cast<uint8_t>(Codec::kZstd);
      section_size = n;
    } else {
      std::memcpy(p + kBatchHeaderSize, scratch_.data(), records_size);
    }
    out->Resize(start + kBatchHeaderSize + section_size);
  } else {
    char* p = out->Extend(kBatchHeaderSize + records_size);
    PutRecords(p + kBatchHeaderSize, records, h.first_timestamp_ms);
  }

  h.length = static_cast<uint32_t>(kBatchHeaderSize + section_size - kBatchPrefixSize);
  char* p = out->data() + start;
  PutU64(p, static_cast<uint64_t>(h.base_offset));
  PutU32(p + 8, h.length);
  p[16] = static_cast<char>(h.magic);
  p[17] = static_cast<char>(h.attributes);
  p[18] = 0;
  p[19] = 0;
  PutU32(p + 20, static_cast<uint32_t>(h.record_count));
  PutU64(p + 24, static_cast<uint64_t>(h.first_timestamp_ms));
  PutU64(p + 32, static_cast<uint64_t>(h.max_timestamp_ms));
  PutU32(p + 40, h.records_size);
  h.crc = Crc32c(p + kCrcStart, h.total_size() - kCrcStart);
  PutU32(p + 12, h.crc);
  return h;
}

uint32_t PeekBatchLength(const char* p) { return GetU32(p + 8); }

bool ParseBatchHeader(const char* p, BatchHeader* h, std::string* why) {
  h->base_offset = static_cast<int64_t>(GetU64(p));
  h->length = GetU32(p + 8);
  h->crc = GetU32(p + 12);
  h->magic = static_cast<uint8_t>(p[16]);
  h->attributes = static_cast<uint8_t>(p[17]);
  h->record_count = static_cast<int32_t>(GetU32(p + 20));
  h->first_timestamp_ms = static_cast<int64_t>(GetU64(p + 24));
  h->max_timestamp_ms = static_cast<int64_t>(GetU64(p + 32));
  h->records_size = GetU32(p + 40);
  if (h->length < kBatchHeaderSize - kBatchPrefixSize || h->length > kMaxBatchLength) {
    *why = fmt::format("batch length {} out of range", h->length);
    return false;
  }
  if (h->magic != kBatchMagic) {
    *why = fmt::format("unknown batch magic {}", h->magic);
    return false;
  }
  if (h->base_offset < 0 || h->record_count <= 0) {
    *why = fmt::format("batch claims base offset {} and {} records", h->base_offset, h->record_count);
    return false;
  }
  return true;
}

bool BatchCrcMatches(const BatchHeader& h, const char* p) {
  return Crc32c(p + kCrcStart, h.total_size() - kCrcStart) == h.crc;
}

namespace {

// A batch's records section, checked against its header; a compressed one is inflated at
// the end of *inflated (grown by records_size bytes).
Result<std::string_view> RecordsSection(const BatchHeader& h, const char* p, ByteBuffer* inflated,
                                        const std::string& where) {
  const char* section = p + kBatchHeaderSize;
  const size_t section_size = h.total_size() - kBatchHeaderSize;
  switch (h.codec()) {
    case Codec::kNone:
      if (section_size != h.records_size) {
        return Status::Corruption(where + ": records section size disagrees with its header");
      }
      return std::string_view(section, section_size);
    case Codec::kZstd: {
      char* to = inflated->Extend(h.records_size);
      size_t n = ZSTD_decompressDCtx(ThreadDecompressor().dctx, to, h.records_size, section, section_size);
      if (ZSTD_isError(n) || n != h.records_size) {
        return Status::Corruption(where + ": zstd records section does not decompress (" +
                                  (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short") + ")");
      }
      return std::string_view(to, h.records_size);
    }
    default:
      return Status::Corruption(fmt::format("{}: unknown codec {}", where, h.attributes & 0x7));
  }
}

// One record of a records section, its bounds checked.
struct RecordAt {
  int64_t offset;
  int64_t timestamp_ms;
  std::string_view key;
  std::string_view value;
  const char* headers;  // header_count length-prefixed (name, value) pairs, within the section
  uint64_t header_count;
};

// Calls each(const RecordAt&) for the records with offset >= from while the budget allows,
// *count being the records the read holds so far (each adds one).
template <typename Each>
Status ForEachRecord(const BatchHeader& h, std::string_view section, int64_t from, ReadBudget* budget,
                     size_t* count, const std::string& where, Each each) {
  const char* cur = section.data();
  const char* end = section.data() + section.size();
  for (int32_t i = 0; i < h.record_count; ++i) {
    uint64_t ts_delta = 0, key_len = 0, value_len = 0;
    if (!GetVarint(&cur, end, &ts_delta) || !GetVarint(&cur, end, &key_len) ||
        key_len > static_cast<uint64_t>(end - cur)) {
      return Status::Corruption(fmt::format("{}: malformed record {}", where, i));
    }
    const char* key = cur;
    cur += key_len;
    if (!GetVarint(&cur, end, &value_len) || value_len > static_cast<uint64_t>(end - cur)) {
      return Status::Corruption(fmt::format("{}: malformed record {}", where, i));
    }
    const char* value = cur;
    cur += value_len;
    uint64_t header_count = 0;
    if (!GetVarint(&cur, end, &header_count) || header_count > static_cast<uint64_t>(end - cur)) {
      return Status::Corruption(fmt::format("{}: malformed headers of record {}", where, i));
    }
    const char* headers_begin = cur;
    for (uint64_t k = 0; k < header_count * 2; ++k) {
      uint64_t len = 0;
      if (!GetVarint(&cur, end, &len) || len > static_cast<uint64_t>(end - cur)) {
        return Status::Corruption(fmt::format("{}: malformed headers of record {}", where, i));
      }
      cur += len;
    }
    const int64_t offset = h.base_offset + i;
    if (offset < from) continue;
    if (budget->Full(*count)) return Status::Ok();
    each(RecordAt{offset, h.first_timestamp_ms + UnZigZag(ts_delta), std::string_view(key, key_len),
                  std::string_view(value, value_len), headers_begin, header_count});
    ++*count;
    budget->bytes += key_len + value_len;
  }
  if (cur != end) return Status::Corruption(where + ": trailing bytes after the last record");
  return Status::Ok();
}

// The next (already bounds-checked) length-prefixed string at *p.
std::string_view NextString(const char** p, const char* end) {
  uint64_t len = 0;
  GetVarint(p, end, &len);
  std::string_view s(*p, len);
  *p += len;
  return s;
}

}  // namespace

Status DecodeBatchRecords(const BatchHeader& h, const char* p, int64_t from, ReadBudget* budget,
                          ReadBatch* out, const std::string& where) {
  ByteBuffer& inflated = ThreadDecompressor().buffer;
  inflated.clear();
  ASSIGN_OR_RETURN(const std::string_view section, RecordsSection(h, p, &inflated, where));
  const char* end = section.data() + section.size();
  out->Reserve(out->size() + static_cast<size_t>(h.record_count));
  size_t count = out->size();
  return ForEachRecord(h, section, from, budget, &count, where, [&](const RecordAt& at) {
    StoredRecord& r = out->Next();
    r.offset = at.offset;
    r.timestamp_ms = at.timestamp_ms;
    if (budget->keys) {
      r.key.assign(at.key);
    } else {
      r.key.clear();
    }
    r.value.assign(at.value);
    r.headers.resize(at.header_count);
    const char* hp = at.headers;
    for (auto& [name, text] : r.headers) {
      name.assign(NextString(&hp, end));
      text.assign(NextString(&hp, end));
    }
  });
}

Status DecodeBatchRecordViews(const BatchHeader& h, const char* p, int64_t from, ReadBudget* budget,
                              ViewedRecords* out, const std::string& where) {
  ASSIGN_OR_RETURN(const std::string_view section, RecordsSection(h, p, &out->inflated, where));
  // Ranges are kept relative to the buffer the section lies in, which no longer moves
  // while this batch is decoded.
  const bool compressed = h.codec() != Codec::kNone;
  const char* base = compressed ? out->inflated.data() : out->raw.data();
  const uint64_t tag = compressed ? ViewedRecords::kInflated : 0;
  auto range = [&](std::string_view v) {
    return ViewedRecords::Range{tag | static_cast<uint64_t>(v.data() - base), v.size()};
  };
  const char* end = section.data() + section.size();
  size_t count = out->records.size();
  return ForEachRecord(h, section, from, budget, &count, where, [&](const RecordAt& at) {
    out->records.push_back({at.offset, at.timestamp_ms, budget->keys ? range(at.key) : ViewedRecords::Range{},
                            range(at.value), static_cast<uint32_t>(out->headers.size()),
                            static_cast<uint32_t>(at.header_count)});
    const char* hp = at.headers;
    for (uint64_t k = 0; k < at.header_count; ++k) {
      const std::string_view name = NextString(&hp, end);
      out->headers.emplace_back(range(name), range(NextString(&hp, end)));
    }
  });
}

void ViewedRecords::MakeViews(RecordViews* out) const {
  out->Clear();
  auto view = [&](Range r) {
    const char* base = (r.at & kInflated) != 0 ? inflated.data() : raw.data();
    return std::string_view(base + (r.at & ~kInflated), r.size);
  };
  std::vector<HeaderView>& header_views = out->headers();
  header_views.reserve(headers.size());
  for (const auto& [name, text] : headers) header_views.emplace_back(view(name), view(text));
  const std::span<const HeaderView> all(header_views);
  std::vector<RecordView>& views = out->records();
  views.reserve(records.size());
  for (const Entry& e : records) {
    views.push_back({e.offset, e.timestamp_ms, view(e.key), view(e.value), all.subspan(e.first_header, e.header_count)});
  }
}

}  // namespace tidemark::log::internal
