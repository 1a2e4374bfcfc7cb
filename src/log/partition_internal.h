// One partition of the embedded log: its ordered segments, recovery on open, reads,
// retention, and the writer thread's per-round work (encode, write, sync, publish).
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "log/embedded_log.h"
#include "log/log.h"
#include "log/record_batch_internal.h"
#include "log/segment_internal.h"

namespace tidemark::log::internal {

class Partition;

// Fault point "log.crash_after_write_before_fsync": _exit(137) between writing a round's
// data and syncing it, for the end-to-end kill tests.
void CrashBeforeFsyncIfArmed();

// An append between Append() and its callback. Owned by the writer's round.
struct PendingAppend {
  Partition* partition = nullptr;
  // The records, encoded and checksummed by the appending thread with base offset 0; the
  // writer stamps the real offset (outside the CRC) and writes the bytes as they are. So
  // the writer thread neither copies records nor frees their strings.
  ByteBuffer batch;
  BatchHeader header;
  AppendCallback done;
  std::chrono::steady_clock::time_point enqueued;
  int64_t pending_bytes = 0;          // counted against max_pending_bytes until the callback
  Status reject;                      // non-OK: answer with it, write nothing
  Result<int64_t> result = Status::Internal("log: append was not processed");
};

struct PartitionOptions {
  int64_t segment_bytes = 0;
  int64_t index_interval_bytes = 0;
  Codec compression = Codec::kNone;
  bool fsync = true;
  bool read_only = false;  // recovery reports a bad tail but changes no file
  Counter* appended_records = nullptr;  // optional, per topic
  Counter* appended_bytes = nullptr;    // optional, per topic
  Histogram* fsync_seconds = nullptr;   // optional
};

// Thread-safety: Read/StartOffset/EndOffset/EnforceRetention from any thread. The Stage /
// WriteStaged / CompleteStaged / Seal sequence runs only on the log's writer
// thread. `mu_` guards the segment list and each segment's `state`; readers copy what they
// need under it and do their I/O without it.
class Partition {
 public:
  // Opens the partition directory (creating it and a first segment when empty) and recovers
  // it: segments without a known-good index are scanned, the first bad batch and everything
  // after it are truncated, and each truncation is described in *notes.
  static Result<std::unique_ptr<Partition>> Open(const std::string& root, const std::string& topic, int id,
                                                 const PartitionOptions& options,
                                                 std::vector<std::string>* notes);

  Result<std::vector<StoredRecord>> Read(int64_t from, const ReadOptions& options) const;
  // Log::ReadInto.
  Status ReadInto(int64_t from, const ReadOptions& options, ReadBatch* out) const;
  // Log::ReadViews: the batches are read into out's storage and the records viewed there.
  Status ReadViews(int64_t from, const ReadOptions& options, RecordViews* out) const;
  int64_t StartOffset() const;
  int64_t EndOffset() const { return end_offset_.load(std::memory_order_acquire); }
  // Deletes whole non-active segments, oldest first, while they are older than retention_ms
  // (by their newest record) or the partition exceeds retention_bytes. Zero disables a bound.
  Status EnforceRetention(int64_t now_ms, int64_t retention_ms, int64_t retention_bytes);

  const std::string& display() const { return display_; }

  // --- writer thread only ---
  // Adds an append to this round; returns true when it is the partition's first this round.
  bool Stage(PendingAppend* append);
  // Gives the staged (already encoded) batches their offsets and writes them with one
  // pwritev, rolling segments as needed (a roll syncs and publishes what precedes it).
  // Failures are recorded in the appends.
  void WriteStaged();
  // True when WriteStaged left written-but-unsynced data.
  bool HasUnsynced() const { return unsynced_.segment != nullptr; }
  // Syncs what WriteStaged wrote, then publishes it (readers see it, results are set) or,
  // on failure, truncates it off and fails its appends. Clears the round.
  void CompleteStaged();
  // Writes the active segment's index so that the next open needs no scan.
  Status Seal();

 private:
  // The read both ReadInto and ReadViews do: every CRC-checked batch from the one holding
  // `from`, read into *buffer as `bytes` says, handed to decode(header, data, budget, where),
  // which returns how many records the read holds so far, until the budget is full.
  template <typename Decode>
  Status ReadBatches(int64_t from, const ReadOptions& options, ByteBuffer* buffer, BatchReader::Bytes bytes,
                     Decode decode) const;
  Partition(std::string dir, std::string display, const PartitionOptions& options);
  Status Recover(std::vector<std::string>* notes);

  // The appends [first, last) of staged_ written to `segment` at [start, end) but not synced.
  struct Unsynced {
    std::shared_ptr<Segment> segment;
    size_t first = 0;
    size_t last = 0;
    int64_t start = 0;
    int64_t end = 0;
    int64_t bytes_since_index_before = 0;
    SegmentState added;  // end_offset, max_timestamp_ms, index entries of the written batches
  };
  Status SyncSegment(Segment& segment);
  void Publish(const Unsynced& u);
  void Fail(const Unsynced& u, size_t fail_until, const Status& status);
  Status Roll(int64_t base_offset);

  const std::string dir_;
  const std::string display_;  // "user-events/3"
  const PartitionOptions options_;

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Segment>> segments_;  // by base offset; back() is active
  std::atomic<int64_t> end_offset_{0};

  // Writer thread state.
  int64_t next_offset_ = 0;
  std::vector<PendingAppend*> staged_;
  std::vector<iovec> iov_;  // the staged batches of the current span, in file order
  Unsynced unsynced_;
};

}  // namespace tidemark::log::internal
