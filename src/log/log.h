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
