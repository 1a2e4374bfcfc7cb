// One segment of a partition: the .log file of record batches starting at base_offset and
// its sparse .index (relative offset -> file position). This file holds the file-level
// mechanics — write, sync, truncate, scan, seal the index — and the chunked batch reader that
// both recovery and Read use. Policy (when to roll, what to publish) lives in partition.cc.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "log/record_batch_internal.h"

namespace tidemark::log::internal {

struct IndexEntry {
  uint32_t relative_offset;  // batch base offset - segment base offset
  uint32_t position;         // byte position of the batch in the .log file
};

// What readers may see of a segment. Guarded by the owning partition's mutex.
struct SegmentState {
  int64_t durable_size = 0;  // bytes known durable; readers never look past them
  int64_t end_offset = 0;    // one past the last durable record
  int64_t max_timestamp_ms = INT64_MIN;
  std::vector<IndexEntry> index;
};

// "user-events/3/00000000000000001024.log"
std::string SegmentFileName(int64_t base_offset, const char* extension);

// A segment. Shared (shared_ptr) by its partition and by reads in flight, so a segment that
// retention deletes stays readable through its open descriptor until the last reader is
// done. File mutation (Write/Sync/Truncate/Seal) happens only on the log's writer thread or
// during recovery; `state` is guarded by the partition's mutex; `written_size` and
// `bytes_since_index` belong to the writer thread.
class Segment {
 public:
  // Creates a new empty segment file and makes its existence durable (file and directory
  // fsync). Fails when the file already exists: a stale file is never overwritten.
  static Result<std::shared_ptr<Segment>> Create(const std::string& dir, const std::string& display_dir,
                                                 int64_t base_offset, bool fsync);
  // Opens an existing segment file for recovery.
  static Result<std::shared_ptr<Segment>> Open(const std::string& dir, const std::string& display_dir,
                                               int64_t base_offset);
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  int64_t base_offset() const { return base_offset_; }
  const std::string& log_path() const { return log_path_; }
  const std::string& index_path() const { return index_path_; }
  // Path relative to the log root, for messages.
  const std::string& display() const { return display_; }
  int fd() const { return fd_; }

  Result<int64_t> FileSize() const;
  // Writes the buffers back to back from pos (pwritev, continuing short writes). On
  // failure some prefix may have reached the file; the caller truncates it off.
  Status WriteAt(int64_t pos, const iovec* iov, size_t count);
  // Starts write-back of [pos, pos + n) without waiting (sync_file_range), so the device
  // works on one partition's data while the writer copies the next one's.
  void StartWriteback(int64_t pos, int64_t n);
  // Reserves disk blocks past the end of the file up to at least `end`, in steps of
  // kPreallocateStepBytes (fallocate with FALLOC_FL_KEEP_SIZE: the file's size, and so what
  // recovery sees, does not change). Appends then land in allocated blocks, so an
  // fdatasync writes back no block bitmap or group descriptor, only data and the inode.
  // Best effort: where the file system cannot, appends allocate as before.
  void Preallocate(int64_t end);
  // Gives back the reserved blocks past `size` (a segment that will not grow any more).
  void ReleasePreallocation(int64_t size);
  // fdatasync. Fault point "log.fsync_fails" makes it fail with EIO.
  Status Sync();
  Status TruncateTo(int64_t size);
  // Writes the .index file for a segment that will not grow any more (rolled, or the log
  // is closing): entries plus a footer that lets recovery trust it without a scan.
  Status WriteIndexFile(const SegmentState& state, bool fsync) const;
  // Loads the .index file when it is known-good: footer intact and CRC-valid, and it was
  // written for exactly `log_size` bytes of .log. Returns false otherwise.
  bool LoadIndexFile(int64_t log_size, SegmentState* state) const;
  Status RemoveFiles() const;

  SegmentState state;              // guarded by the partition's mutex
  int64_t written_size = 0;        // writer thread: bytes written, durable or not
  int64_t bytes_since_index = 0;   // writer thread: batch bytes since the last index entry

  static constexpr int64_t kPreallocateStepBytes = 4 << 20;

 private:
  Segment(std::string dir, std::string display_dir, int64_t base_offset, int fd);

  int64_t base_offset_;
  std::string log_path_;
  std::string index_path_;
  std::string display_;
  int fd_;
  int64_t preallocated_end_ = 0;  // writer thread: blocks reserved up to here
  bool preallocate_ = true;       // writer thread: false once fallocate is refused
};

// Reads consecutive batches of one segment file from `pos` up to `limit` with large preads
// into `buffer` (borrowed, so a reading thread can keep one warm buffer across reads instead
// of faulting in fresh pages every time). Not thread-safe; one per read or scan.
// With kKeep, the bytes read are appended to what the buffer holds and stay there (for
// views of the records): it grows by what is read instead of being refilled.
class BatchReader {
 public:
  enum class Outcome { kBatch, kEnd, kTorn, kInvalidHeader };
  enum class Bytes { kRefill, kKeep };

  BatchReader(const Segment& segment, int64_t pos, int64_t limit, size_t chunk_bytes, ByteBuffer* buffer,
              Bytes bytes = Bytes::kRefill);

  // Advances to the next batch. On kBatch, header() and data() describe it (data valid until
  // the next call) and position() is its byte position. kTorn: fewer bytes remain than the
  // batch needs; kInvalidHeader: the header cannot be a batch. Then problem() names the case
  // and detail() gives the numbers. I/O errors come back as Status.
  Result<Outcome> Next();
  const BatchHeader& header() const { return header_; }
  const char* data() const { return data_; }
  int64_t position() const { return batch_pos_; }
  const char* problem() const { return problem_; }
  const std::string& detail() const { return detail_; }

 private:
  Status Ensure(size_t n, bool* available);

  const Segment& segment_;
  int64_t pos_;
  int64_t limit_;
  size_t chunk_bytes_;
  ByteBuffer& buf_;
  const bool keep_;
  size_t base_ = 0;      // buf_[base_] onwards are this reader's bytes (0 unless kKeep)
  int64_t buf_pos_ = 0;  // file position of buf_[base_]
  BatchHeader header_;
  const char* data_ = nullptr;
  int64_t batch_pos_ = 0;
  const char* problem_ = "";
  std::string detail_;
};

// What a recovery scan of one segment found.
struct ScanResult {
  SegmentState state;      // of the valid prefix (durable_size = valid bytes)
  int64_t file_size = 0;
  std::string problem;     // empty when every byte was a valid batch; else "CRC mismatch", …
  std::string detail;      // numbers behind the problem, may be empty
};

// Validates every batch (framing, header, CRC, consecutive offsets) and rebuilds the index
// of the valid prefix.
Result<ScanResult> ScanSegment(const Segment& segment, int64_t index_interval_bytes);

// How many batches (at least one when bytes remain) start in [pos, file_size) judging by
// their length fields only: for the "truncated N batches" part of recovery messages.
int64_t CountBatchesFrom(const Segment& segment, int64_t pos, int64_t file_size);

}  // namespace tidemark::log::internal
