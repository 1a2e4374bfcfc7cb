// A partition task: the loop that feeds one log partition through its PartitionProcessor.
// It reads from the checkpointed offset, processes, appends late records to late-events,
// emits early/final results to the RowSink every early-result interval and checkpoints
// every checkpoint interval. A checkpoint is taken only when everything it covers is
// durable elsewhere: results flushed by the sink, late records acknowledged by the log —
// then state and next offset are written together. After a crash the task restores that
// checkpoint and replays from its offset; replays rewrite the same rows (upserts).
//
// Threading: PollOnce/Checkpoint/Restore are called by one thread at a time (the task's
// own thread under StreamService, or a test). Snapshot() and the atomics behind metrics may
// be read from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "log/log.h"
#include "stream/partition_processor.h"
#include "stream/window_aggregate.h"

namespace tidemark::stream {

struct TaskOptions {
  int64_t early_result_interval_ms = 5'000;
  int64_t checkpoint_interval_ms = 10'000;
  size_t read_max_bytes = 4 << 20;
  int late_events_partitions = 1;
};

// What a running task reports (for metrics, readiness and the ledger).
struct TaskStatus {
  std::string shard;
  int64_t next_offset = 0;
  int64_t max_event_time_ms = INT64_MIN;
  int64_t watermark_ms = INT64_MIN;
  bool backpressured = false;
  size_t dedup_keys = 0;
  double dedup_bytes_per_key = 0;
  size_t open_window_cells = 0;
  size_t open_sessions = 0;
  LateStats late;
  std::map<int64_t, LedgerCounts> ledger;
  uint64_t records = 0;
  uint64_t checkpoints = 0;
  int64_t lag_records = 0;  // log end offset − next offset, as of the last poll
};

class PartitionTask {
 public:
  // log, sink and clock must outlive the task; metrics may be null.
  PartitionTask(log::Log* log, RowSink* sink, const Clock* clock, MetricsRegistry* metrics,
                std::string data_dir, std::string topic, int partition, PartitionProcessor::Mode mode,
                ProcessorOptions processor_options, TaskOptions task_options);

  // Loads the latest checkpoint (if any) and positions the reader at its offset (or at the
  // log's start offset when there is none, or when retention has passed it).
  Status Restore();
  // Reads and processes one batch; returns how many records were consumed. Emits and
  // checkpoints when their intervals have passed (by the Clock).
  Result<size_t> PollOnce();
  // Emits results, flushes the sink, makes late records durable and writes the checkpoint.
  Status Checkpoint();
  // Emits early/final results without checkpointing.
  void EmitResults();

  TaskStatus Snapshot() const;
  int64_t next_offset() const { return next_offset_; }
  const std::string& shard() const { return processor_.shard(); }
  const std::string& topic() const { return topic_; }
  int partition() const { return partition_; }

 private:
  Status FlushLateRecords();
  void PublishStatus();

  log::Log* log_;
  RowSink* sink_;
  const Clock* clock_;
  std::string data_dir_;
  std::string topic_;
  int partition_;
  TaskOptions options_;
  PartitionProcessor processor_;
  int64_t next_offset_ = 0;
  log::ReadBatch batch_;  // the last poll's records, reused by the next
  int64_t last_emit_ms_ = 0;
  int64_t last_checkpoint_ms_ = 0;
  std::vector<log::Record> pending_late_;  // processed, not yet acknowledged by the log
  bool backpressured_ = false;
  uint64_t records_ = 0;
  uint64_t checkpoints_ = 0;

  mutable std::mutex status_mu_;
  TaskStatus status_;

  Counter* on_time_ = nullptr;
  Counter* late_ = nullptr;
  Counter* duplicates_ = nullptr;
  Counter* undecodable_ = nullptr;
  Counter* rejected_ = nullptr;
  Counter* checkpoint_count_ = nullptr;
};

}  // namespace tidemark::stream
