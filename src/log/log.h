// The Log: tidemark's durable, partitioned, append-only buffer between stages. Producers
// append batches of records to a topic partition and hear back once the batch is durable;
// consumers read from any offset at their own pace. Implementations: the embedded segment
// log (embedded_log.h), an in-memory log for unit tests (memory_log.h) and, for scale-out,
// Kafka through librdkafka — all behind this interface.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tidemark::log {

// Topic names of DESIGN §2.
inline constexpr std::string_view kUserEvents = "user-events";
inline constexpr std::string_view kServerEvents = "server-events";
inline constexpr std::string_view kDlqEvents = "dlq-events";
inline constexpr std::string_view kLateEvents = "late-events";
inline constexpr std::string_view kSchemas = "_schemas";
inline constexpr std::string_view kDeletions = "_deletions";

// Record headers, as Kafka's: small named values beside the record value. The gateway keeps
// its own metadata (received_at, source, …) here so that the value stays exactly the
// Confluent-framed Avro event a registry client expects.
using Headers = std::vector<std::pair<std::string, std::string>>;

// What a producer appends.
struct Record {
  std::string key;
  std::string value;
  int64_t timestamp_ms = 0;
  Headers headers;
};

// What a consumer reads back.
struct StoredRecord {
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::string key;
  std::string value;
  Headers headers;
};

// The value of the named header, or empty.
std::string_view HeaderValue(const Headers& headers, std::string_view name);

// The records of one Log::ReadInto: the first size() records of a pool whose records keep
// their buffers from read to read, so a consumer polling in a loop with one ReadBatch does
// not allocate per record once the pool has grown. Not thread-safe.
class ReadBatch {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const StoredRecord& operator[](size_t i) const { return pool_[i]; }
  const StoredRecord& back() const { return pool_[size_ - 1]; }
  const StoredRecord* begin() const { return pool_.data(); }
  const StoredRecord* end() const { return pool_.data() + size_; }

  // For implementations: empties the batch (keeping the pool) and hands out the next
  // record slot, whose previous contents the caller overwrites field by field.
  void Clear() { size_ = 0; }
  StoredRecord& Next() {
    if (size_ == pool_.size()) pool_.emplace_back();
    return pool_[size_++];
  }
  void Reserve(size_t n) { pool_.reserve(n); }
  // The records read, moved out (the pool goes with them).
  std::vector<StoredRecord> Release() {
    pool_.resize(size_);
    size_ = 0;
    return std::move(pool_);
  }

 private:
  std::vector<StoredRecord> pool_;
  size_t size_ = 0;
};

// A header as a RecordView sees it.
using HeaderView = std::pair<std::string_view, std::string_view>;

// A record read in place (Log::ReadViews): key, value and headers view bytes owned by the
// RecordViews that holds it, valid until that RecordViews is read into again.
struct RecordView {
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::string_view key;
  std::string_view value;
  std::span<const HeaderView> headers;
};

// The value of the named header, or empty.
std::string_view HeaderValue(std::span<const HeaderView> headers, std::string_view name);

// The records of one Log::ReadViews and the bytes they view. For a consumer that takes
// what it needs from each record and keeps nothing (the bronze writer), it saves copying
// every key, value and header out of what the log read. Reading into the same RecordViews
// again reuses its memory. Not thread-safe.
class RecordViews {
 public:
  // Where an implementation keeps the bytes the views point into: a type of its own,
  // reused from read to read.
  struct Storage {
    virtual ~Storage() = default;
  };

  size_t size() const { return records_.size(); }
  bool empty() const { return records_.empty(); }
  const RecordView& operator[](size_t i) const { return records_[i]; }
  const RecordView& back() const { return records_.back(); }
  const RecordView* begin() const { return records_.data(); }
  const RecordView* end() const { return records_.data() + records_.size(); }

  // For implementations: empties the views, keeping their memory and the storage.
  void Clear() {
    records_.clear();
    headers_.clear();
  }
  // The storage, as a T: the one kept from an earlier read when it is a T, else a new one.
  template <typename T>
  T& StorageAs() {
    if (auto* kept = dynamic_cast<T*>(storage_.get())) return *kept;
    auto made = std::make_unique<T>();
    T& result = *made;
    storage_ = std::move(made);
    return result;
  }
  // The arrays an implementation fills: each record's headers are a span of headers(),
  // set once headers() holds all of them (it may move while it grows).
  std::vector<RecordView>& records() { return records_; }
  std::vector<HeaderView>& headers() { return headers_; }

 private:
  std::unique_ptr<Storage> storage_;
  std::vector<RecordView> records_;
  std::vector<HeaderView> headers_;
};

struct ReadOptions {
  size_t max_bytes = 1 << 20;  // stop after roughly this many key+value bytes (at least one record)
  size_t max_records = std::numeric_limits<size_t>::max();
  // False: records come back with empty keys, not copied, for readers that do not use them.
  bool keys = true;
};

// Runs exactly once per Append, on a log-owned thread: with the offset given to the batch's
// first record once the whole batch is durable, or with the error that kept it from being
// durable (nothing of a failed batch is ever served to readers). Must not block.
using AppendCallback = std::function<void(Result<int64_t> base_offset)>;

// Thread-safe: any thread may append and read concurrently.
class Log {
 public:
  virtual ~Log() = default;

  // Creates the topic with this many partitions; OK when it exists with the same count,
  // AlreadyExists when the count differs.
  virtual Status CreateTopic(std::string_view topic, int partitions) = 0;
  virtual Result<int> PartitionCount(std::string_view topic) const = 0;
  virtual std::vector<std::string> Topics() const = 0;

  // Appends records as one batch (all or nothing). Never blocks on I/O. Fails through the
  // callback with Unavailable when the bytes awaiting fsync exceed the configured bound, so
  // the gateway can answer 503 instead of growing memory.
  virtual void Append(std::string_view topic, int partition, std::vector<Record> records,
                      AppendCallback done) = 0;

  // Durable records with offset >= from, in offset order. An empty vector when from equals
  // the end offset; OutOfRange when from is before the start or past the end offset.
  virtual Result<std::vector<StoredRecord>> Read(std::string_view topic, int partition,
                                                 int64_t from,
                                                 const ReadOptions& options = {}) const = 0;
  // Read into *out, which holds exactly the records read afterwards (empty on error), its
  // pooled records overwritten in place. The default calls Read.
  virtual Status ReadInto(std::string_view topic, int partition, int64_t from, const ReadOptions& options,
                          ReadBatch* out) const {
    out->Clear();
    ASSIGN_OR_RETURN(std::vector<StoredRecord> records, Read(topic, partition, from, options));
    for (StoredRecord& r : records) out->Next() = std::move(r);
    return Status::Ok();
  }
  // Like ReadInto, into views of the records in place instead of copies: the same records,
  // and *out empty on error. The default reads with ReadInto into out's storage and views
  // those copies.
  virtual Status ReadViews(std::string_view topic, int partition, int64_t from, const ReadOptions& options,
                           RecordViews* out) const;
  // Oldest offset still retained.
  virtual Result<int64_t> StartOffset(std::string_view topic, int partition) const = 0;
  // One past the newest durable record.
  virtual Result<int64_t> EndOffset(std::string_view topic, int partition) const = 0;

  // Deletes whole segments past the retention age or size bounds.
  virtual Status EnforceRetention() = 0;

  // Completes every append already queued (callbacks included) and stops the writer;
  // later appends fail with Unavailable.
  virtual void Close() = 0;
};

// Appends and waits: for tools and tests, never on a request path.
Result<int64_t> AppendAndWait(Log& log, std::string_view topic, int partition,
                              std::vector<Record> records);

}  // namespace tidemark::log
