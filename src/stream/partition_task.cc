#include "stream/partition_task.h"

#include <spdlog/spdlog.h>

#include <future>

#include "common/hashing.h"
#include "stream/checkpoint.h"
#include "stream/event_decoder.h"

namespace tidemark::stream {

PartitionTask::PartitionTask(log::Log* log, RowSink* sink, const Clock* clock, MetricsRegistry* metrics,
                             std::string data_dir, std::string topic, int partition,
                             PartitionProcessor::Mode mode, ProcessorOptions processor_options,
                             TaskOptions task_options)
    : log_(log),
      sink_(sink),
      clock_(clock),
      data_dir_(std::move(data_dir)),
      topic_(std::move(topic)),
      partition_(partition),
      options_(task_options),
      processor_(processor_options, topic_, partition, mode,
                 NewLogEventDecoder(processor_options.registry, processor_options.numeric_properties)) {
  if (metrics) {
    auto counter = [&](const char* outcome) {
      return &metrics->GetCounter("tidemark_stream_records_total", "records processed by the stream stage",
                                  {{"topic", topic_}, {"partition", std::to_string(partition_)}, {"outcome", outcome}});
    };
    on_time_ = counter("on_time");
    late_ = counter("late");
    duplicates_ = counter("duplicate");
    undecodable_ = counter("undecodable");
    rejected_ = counter("rejected");
    checkpoint_count_ = &metrics->GetCounter("tidemark_stream_checkpoints_total", "checkpoints written",
                                             {{"topic", topic_}, {"partition", std::to_string(partition_)}});
  }
  status_.shard = processor_.shard();
}

Status PartitionTask::Restore() {
  const std::string dir = CheckpointDir(data_dir_, topic_, partition_);
  ASSIGN_OR_RETURN(std::optional<stream::Checkpoint> cp, ReadCheckpoint(dir));
  ASSIGN_OR_RETURN(int64_t start, log_->StartOffset(topic_, partition_));
  if (cp) {
    RETURN_IF_ERROR(processor_.RestoreState(cp->state));
    next_offset_ = cp->next_offset;
    if (next_offset_ < start) {
      spdlog::warn("stream {}: checkpoint offset {} is before the log start {} (retention); "
                   "{} records were never processed", processor_.shard(), next_offset_, start,
                   start - next_offset_);
      next_offset_ = start;
    }
  } else {
    next_offset_ = start;
  }
  last_emit_ms_ = last_checkpoint_ms_ = clock_->NowMillis();
  PublishStatus();
  return Status::Ok();
}

Result<size_t> PartitionTask::PollOnce() {
  log::ReadOptions ro;
  ro.max_bytes = options_.read_max_bytes;
  // Read into the records of the previous poll: their buffers are reused.
  if (Status st = log_->ReadInto(topic_, partition_, next_offset_, ro, &batch_); !st.ok()) {
    if (st.code() == StatusCode::kOutOfRange) {
      ASSIGN_OR_RETURN(int64_t start, log_->StartOffset(topic_, partition_));
      if (next_offset_ < start) {
        spdlog::warn("stream {}: offset {} fell behind log retention; skipping to {}", processor_.shard(),
                     next_offset_, start);
        next_offset_ = start;
        return size_t{0};
      }
    }
    return st;
  }
  size_t consumed = 0;
  backpressured_ = false;
  for (size_t i = 0; i < batch_.size(); ++i) {
    const log::StoredRecord& rec = batch_[i];
    if (i + 2 < batch_.size()) processor_.Prefetch(batch_[i + 2]);
    PartitionProcessor::Outcome outcome = processor_.Process(rec);
    if (outcome == PartitionProcessor::Outcome::kBackpressure) {
      if (!backpressured_) {
        spdlog::error("stream {}: dedup state full ({} ids, stream.dedup_max_keys); pausing at offset {}",
                      processor_.shard(), processor_.dedup().size(), rec.offset);
      }
      backpressured_ = true;
      break;
    }
    next_offset_ = rec.offset + 1;
    ++consumed;
    Counter* c = nullptr;
    switch (outcome) {
      case PartitionProcessor::Outcome::kOnTime: c = on_time_; break;
      case PartitionProcessor::Outcome::kLate: c = late_; break;
      case PartitionProcessor::Outcome::kDuplicate: c = duplicates_; break;
      case PartitionProcessor::Outcome::kUndecodable: c = undecodable_; break;
      case PartitionProcessor::Outcome::kRejected: c = rejected_; break;
      case PartitionProcessor::Outcome::kBackpressure: break;
    }
    if (c) c->Inc();
  }
  records_ += consumed;
  for (auto& r : processor_.TakeLateRecords()) pending_late_.push_back(std::move(r));
  const int64_t now = clock_->NowMillis();
  if (now - last_emit_ms_ >= options_.early_result_interval_ms) EmitResults();
  if (now - last_checkpoint_ms_ >= options_.checkpoint_interval_ms) {
    if (Status st = Checkpoint(); !st.ok()) {
      spdlog::warn("stream {}: checkpoint failed, will retry: {}", processor_.shard(), st.ToString());
    }
  }
  PublishStatus();
  return consumed;
}

void PartitionTask::EmitResults() {
  processor_.Emit(sink_);
  last_emit_ms_ = clock_->NowMillis();
}

Status PartitionTask::FlushLateRecords() {
  if (pending_late_.empty()) return Status::Ok();
  // Late records are grouped per late-events partition (by key, as Kafka would) and
  // appended; the checkpoint waits for the log's acknowledgement.
  const int parts = std::max(1, options_.late_events_partitions);
  std::vector<std::vector<log::Record>> by_partition(static_cast<size_t>(parts));
  for (const auto& r : pending_late_) by_partition[static_cast<size_t>(KafkaPartition(r.key, parts))].push_back(r);
  for (int p = 0; p < parts; ++p) {
    if (by_partition[p].empty()) continue;
    std::promise<Result<int64_t>> done;
    auto fut = done.get_future();
    log_->Append(log::kLateEvents, p, std::move(by_partition[p]),
                 [&done](Result<int64_t> r) { done.set_value(std::move(r)); });
    Result<int64_t> r = fut.get();
    if (!r.ok()) {
      // Earlier partitions may have been appended already; a retry appends them again.
      // late-events is at-least-once: each record carries its source offset and event_id.
      return Status(r.status().code(), "late-events append: " + r.status().message());
    }
  }
  pending_late_.clear();
  return Status::Ok();
}

Status PartitionTask::Checkpoint() {
  EmitResults();
  RETURN_IF_ERROR(sink_->Flush(processor_.shard()));
  RETURN_IF_ERROR(FlushLateRecords());
  stream::Checkpoint cp;
  cp.next_offset = next_offset_;
  cp.written_at_ms = clock_->NowMillis();
  processor_.AppendState(&cp.state);
  RETURN_IF_ERROR(WriteCheckpoint(CheckpointDir(data_dir_, topic_, partition_), cp));
  last_checkpoint_ms_ = cp.written_at_ms;
  ++checkpoints_;
  if (checkpoint_count_) checkpoint_count_->Inc();
  PublishStatus();
  return Status::Ok();
}

void PartitionTask::PublishStatus() {
  TaskStatus s;
  s.shard = processor_.shard();
  s.next_offset = next_offset_;
  s.max_event_time_ms = processor_.max_event_time_ms();
  s.watermark_ms = processor_.watermark_ms();
  s.backpressured = backpressured_;
  s.dedup_keys = processor_.dedup().size();
  s.dedup_bytes_per_key = processor_.dedup().BytesPerKey();
  s.open_window_cells = processor_.open_window_cells();
  s.open_sessions = processor_.open_sessions();
  s.late = processor_.RecentLateStats();
  s.ledger = processor_.ledger();
  s.records = records_;
  s.checkpoints = checkpoints_;
  auto end = log_->EndOffset(topic_, partition_);
  s.lag_records = end.ok() ? *end - next_offset_ : 0;
  std::lock_guard<std::mutex> lock(status_mu_);
  status_ = std::move(s);
}

TaskStatus PartitionTask::Snapshot() const {
  std::lock_guard<std::mutex> lock(status_mu_);
  return status_;
}

}  // namespace tidemark::stream
