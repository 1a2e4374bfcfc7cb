// The embedded log: topics of partitions under one directory, an append queue drained by a
// single writer thread that group-commits (one write and one fdatasync per dirty partition
// per round), and the options/topic helpers of embedded_log.h.
#include "log/embedded_log.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/fault_points.h"
#include "common/files.h"
#include "log/log_internal.h"
#include "log/partition_internal.h"

namespace tidemark::log {
namespace {

using internal::PendingAppend;
using internal::Partition;

using internal::kMaxPartitions;
using internal::ValidTopicName;

// Per-record bytes counted against max_pending_bytes on top of key and value: the queue
// entry and the record's framing.
constexpr int64_t kRecordOverheadBytes = 16;

std::vector<std::string> ListDir(const std::string& dir, bool directories) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (::stat((dir + "/" + name).c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode) == directories) out.push_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

class EmbeddedLog final : public Log {
 public:
  explicit EmbeddedLog(const EmbeddedLogOptions& options)
      : options_(options), clock_(options.clock != nullptr ? options.clock : &SystemClock::Instance()) {
    if (options_.metrics != nullptr) {
      append_seconds_ = &options_.metrics->GetHistogram(
          "tidemark_log_append_seconds", "time from Append to the batch being durable", LatencyBuckets());
      fsync_seconds_ = &options_.metrics->GetHistogram("tidemark_log_fsync_seconds",
                                                       "duration of one segment fdatasync", LatencyBuckets());
      pending_gauge_ = &options_.metrics->GetGauge("tidemark_log_pending_bytes",
                                                   "appended bytes not yet durable (bounded by log.max_pending_bytes)");
    }
  }

  ~EmbeddedLog() override {
    Close();
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      stopping_ = true;
    }
    queue_cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    {
      std::lock_guard<std::mutex> lock(sync_mu_);
      sync_stop_ = true;
    }
    sync_cv_.notify_all();
    for (std::thread& t : sync_helpers_) t.join();
  }

  Status Init(std::vector<std::string>* notes) {
    if (options_.read_only) {
      if (!std::filesystem::is_directory(options_.dir)) {
        return Status::NotFound("log directory " + options_.dir + " does not exist");
      }
    } else {
      RETURN_IF_ERROR(CreateDirectories(options_.dir));
    }
    for (const std::string& name : ListDir(options_.dir, true)) {
      if (!ValidTopicName(name)) {
        spdlog::warn("log: ignoring directory {}/{}: not a topic name", options_.dir, name);
        continue;
      }
      const std::string topic_dir = options_.dir + "/" + name;
      int partitions = 0;
      auto meta = ReadFileToString(topic_dir + "/topic.meta");
      if (meta.ok()) {
        if (std::sscanf(meta->c_str(), "partitions=%d", &partitions) != 1 || partitions < 1 ||
            partitions > kMaxPartitions) {
          return Status::Corruption(topic_dir + "/topic.meta: expected \"partitions=N\" with 1 <= N <= 10000");
        }
      } else {
        // No meta (written by hand, or lost): the partition directories say how many.
        for (const std::string& p : ListDir(topic_dir, true)) {
          if (!p.empty() && p.size() <= 5 && std::all_of(p.begin(), p.end(), ::isdigit)) {
            partitions = std::max(partitions, std::stoi(p) + 1);
          }
        }
        if (partitions == 0) continue;
      }
      RETURN_IF_ERROR(OpenTopic(name, partitions, notes));
    }
    writer_ = std::thread([this] { WriterLoop(); });
    if (!options_.read_only) {
      for (int i = 1; i < options_.sync_threads; ++i) sync_helpers_.emplace_back([this] { SyncHelperLoop(); });
    }
    return Status::Ok();
  }

  Status CreateTopic(std::string_view topic, int partitions) override {
    if (!ValidTopicName(topic)) {
      return Status::InvalidArgument(fmt::format("log: topic name '{}' must be 1-200 of [A-Za-z0-9._-]", topic));
    }
    if (partitions < 1 || partitions > kMaxPartitions) {
      return Status::InvalidArgument(fmt::format("log: topic '{}' needs 1 to {} partitions, not {}", topic,
                                                 kMaxPartitions, partitions));
    }
    std::lock_guard<std::mutex> create_lock(create_mu_);
    auto existing = PartitionCount(topic);
    if (existing.ok()) {
      if (*existing == partitions) return Status::Ok();
      return Status::AlreadyExists(
          fmt::format("log: topic '{}' exists with {} partitions, not {}", topic, *existing, partitions));
    }
    const std::string topic_dir = options_.dir + "/" + std::string(topic);
    RETURN_IF_ERROR(CreateDirectories(topic_dir));
    RETURN_IF_ERROR(WriteFileAtomic(topic_dir + "/topic.meta", fmt::format("partitions={}\n", partitions)));
    RETURN_IF_ERROR(OpenTopic(std::string(topic), partitions, nullptr));
    return FsyncDirectory(options_.dir);
  }

  Result<int> PartitionCount(std::string_view topic) const override {
    std::shared_lock lock(topics_mu_);
    auto it = topics_.find(topic);
    if (it == topics_.end()) return Status::NotFound(fmt::format("log: no topic '{}'", topic));
    return static_cast<int>(it->second->partitions.size());
  }

  std::vector<std::string> Topics() const override {
    std::shared_lock lock(topics_mu_);
    std::vector<std::string> out;
    for (const auto& [name, t] : topics_) out.push_back(name);
    return out;
  }

  void Append(std::string_view topic, int partition, std::vector<Record> records, AppendCallback done) override {
    PendingAppend a;
    a.done = std::move(done);
    a.enqueued = std::chrono::steady_clock::now();
    int64_t bytes = 0;
    auto p = Find(topic, partition);
    if (!p.ok()) {
      a.reject = p.status();
    } else if (records.empty()) {
      a.reject = Status::InvalidArgument(fmt::format("log: append to {} has no records", (*p)->display()));
    } else {
      for (const Record& r : records) {
        bytes += static_cast<int64_t>(r.key.size() + r.value.size()) + kRecordOverheadBytes;
        for (const auto& [hk, hv] : r.headers) bytes += static_cast<int64_t>(hk.size() + hv.size()) + 4;
      }
      if (bytes + static_cast<int64_t>(internal::kBatchHeaderSize) > internal::kMaxBatchLength) {
        a.reject = Status::InvalidArgument(fmt::format("log: append of {} bytes to {} exceeds the {}-byte batch limit",
                                                       bytes, (*p)->display(), internal::kMaxBatchLength));
      }
    }
    if (a.reject.ok()) {
      // Encoded (and checksummed) here, on the appending thread: the writer thread only
      // stamps the base offset and writes, and the records' strings are freed by the thread
      // that allocated them.
      thread_local internal::BatchEncoder encoder;
      a.batch = TakeSpareBuffer();
      a.header = encoder.Encode(0, records, options_.compression, &a.batch);
      records = std::vector<Record>();
    }
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      if (options_.read_only) {
        a.reject = Status::Unavailable(fmt::format("log: opened read-only; append to {}/{} refused", topic, partition));
      } else if (closing_) {
        a.reject = Status::Unavailable(fmt::format("log: closed; append to {}/{} refused", topic, partition));
      } else if (a.reject.ok()) {
        const int64_t pending = pending_bytes_;
        // An append into an empty queue always goes through, so one large batch cannot be
        // refused forever.
        if (pending > 0 && pending + bytes > options_.max_pending_bytes) {
          a.reject = Status::Unavailable(fmt::format(
              "log: {} bytes pending fsync exceed log.max_pending_bytes ({}); retry later", pending + bytes,
              options_.max_pending_bytes));
        } else {
          pending_bytes_ += bytes;
          a.partition = *p;
          a.pending_bytes = bytes;
          if (pending_gauge_ != nullptr) pending_gauge_->Set(pending_bytes_);
        }
      }
      wake = queue_.empty();
      queue_.push_back(std::move(a));
    }
    if (wake) queue_cv_.notify_one();
  }

  Result<std::vector<StoredRecord>> Read(std::string_view topic, int partition, int64_t from,
                                         const ReadOptions& options) const override {
    ASSIGN_OR_RETURN(Partition * p, Find(topic, partition));
    return p->Read(from, options);
  }

  Status ReadInto(std::string_view topic, int partition, int64_t from, const ReadOptions& options,
                  ReadBatch* out) const override {
    ASSIGN_OR_RETURN(Partition * p, Find(topic, partition));
    return p->ReadInto(from, options, out);
  }

  Status ReadViews(std::string_view topic, int partition, int64_t from, const ReadOptions& options,
                   RecordViews* out) const override {
    out->Clear();
    ASSIGN_OR_RETURN(Partition * p, Find(topic, partition));
    return p->ReadViews(from, options, out);
  }

  Result<int64_t> StartOffset(std::string_view topic, int partition) const override {
    ASSIGN_OR_RETURN(Partition * p, Find(topic, partition));
    return p->StartOffset();
  }

  Result<int64_t> EndOffset(std::string_view topic, int partition) const override {
    ASSIGN_OR_RETURN(Partition * p, Find(topic, partition));
    return p->EndOffset();
  }

  Status EnforceRetention() override {
    if (options_.retention_ms <= 0 && options_.retention_bytes <= 0) return Status::Ok();
    const int64_t now = clock_->NowMillis();
    std::vector<Partition*> all;
    {
      std::shared_lock lock(topics_mu_);
      for (const auto& [name, t] : topics_) {
        for (const auto& p : t->partitions) all.push_back(p.get());
      }
    }
    for (Partition* p : all) RETURN_IF_ERROR(p->EnforceRetention(now, options_.retention_ms, options_.retention_bytes));
    return Status::Ok();
  }

  void Close() override {
    std::unique_lock<std::mutex> lock(queue_mu_);
    closing_ = true;
    queue_cv_.notify_all();
    // From a callback (the writer thread itself) waiting would deadlock; the writer seals
    // after the current round anyway.
    if (std::this_thread::get_id() == writer_.get_id()) return;
    closed_cv_.wait(lock, [this] { return sealed_ || !writer_.joinable(); });
  }

 private:
  struct Topic {
    std::vector<std::unique_ptr<Partition>> partitions;
  };

  Status OpenTopic(const std::string& name, int partitions, std::vector<std::string>* notes) {
    auto topic = std::make_unique<Topic>();
    internal::PartitionOptions po;
    po.segment_bytes = options_.segment_bytes;
    po.index_interval_bytes = options_.index_interval_bytes;
    po.compression = options_.compression;
    po.fsync = options_.fsync;
    po.read_only = options_.read_only;
    po.fsync_seconds = fsync_seconds_;
    if (options_.metrics != nullptr) {
      po.appended_records = &options_.metrics->GetCounter("tidemark_log_appended_records_total",
                                                          "records made durable", {{"topic", name}});
      po.appended_bytes = &options_.metrics->GetCounter(
          "tidemark_log_appended_bytes_total", "record batch bytes made durable (after compression)",
          {{"topic", name}});
    }
    for (int i = 0; i < partitions; ++i) {
      ASSIGN_OR_RETURN(std::unique_ptr<Partition> p, Partition::Open(options_.dir, name, i, po, notes));
      topic->partitions.push_back(std::move(p));
    }
    std::unique_lock lock(topics_mu_);
    topics_[name] = std::move(topic);
    return Status::Ok();
  }

  Result<Partition*> Find(std::string_view topic, int partition) const {
    std::shared_lock lock(topics_mu_);
    auto it = topics_.find(topic);
    if (it == topics_.end()) return Status::NotFound(fmt::format("log: no topic '{}'", topic));
    const auto& parts = it->second->partitions;
    if (partition < 0 || partition >= static_cast<int>(parts.size())) {
      return Status::NotFound(
          fmt::format("log: topic '{}' has {} partitions; there is no partition {}", topic, parts.size(), partition));
    }
    return parts[static_cast<size_t>(partition)].get();
  }

  void WriterLoop() {
    pthread_setname_np(pthread_self(), "tm-log-writer");
    std::vector<PendingAppend> round;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(queue_mu_);
        queue_cv_.wait(lock, [this] { return !queue_.empty() || stopping_ || (closing_ && !sealed_); });
        if (queue_.empty() && stopping_ && (sealed_ || !closing_)) return;
      }
      // Test hook: hold the writer so that appends pile up into one round.
      while (FaultArmed("log.writer_pause")) std::this_thread::sleep_for(std::chrono::microseconds(200));
      bool seal_after = false;
      {
        std::unique_lock<std::mutex> lock(queue_mu_);
        if (options_.fsync_max_wait_us > 0 && !queue_.empty()) {
          // Group commit window: the oldest append waits at most this long to share a sync.
          const auto deadline = queue_.front().enqueued + std::chrono::microseconds(options_.fsync_max_wait_us);
          queue_cv_.wait_until(lock, deadline, [this] { return closing_ || stopping_; });
        }
        round.swap(queue_);
        seal_after = closing_ && !sealed_;
      }
      RunRound(round);
      round.clear();
      if (seal_after) {
        SealAll();
        std::lock_guard<std::mutex> lock(queue_mu_);
        sealed_ = true;
        closed_cv_.notify_all();
      }
    }
  }

  void RunRound(std::vector<PendingAppend>& round) {
    std::vector<Partition*> touched;
    for (PendingAppend& a : round) {
      if (!a.reject.ok()) {
        a.result = a.reject;
      } else if (a.partition->Stage(&a)) {
        touched.push_back(a.partition);
      }
    }
    bool unsynced = false;
    for (Partition* p : touched) {
      p->WriteStaged();
      unsynced |= p->HasUnsynced();
    }
    if (unsynced) {
      internal::CrashBeforeFsyncIfArmed();
      // Test hook: hold written-but-unsynced data so a test can look at what readers see.
      while (FaultArmed("log.writer_pause_before_sync")) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    CompleteAll(touched);

    int64_t freed = 0;
    for (const PendingAppend& a : round) freed += a.pending_bytes;
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      pending_bytes_ -= freed;
      if (pending_gauge_ != nullptr) pending_gauge_->Set(pending_bytes_);
    }
    const auto now = std::chrono::steady_clock::now();
    for (PendingAppend& a : round) {
      if (append_seconds_ != nullptr && a.reject.ok() && a.result.ok()) {
        append_seconds_->Observe(std::chrono::duration<double>(now - a.enqueued).count());
      }
      if (a.done) a.done(std::move(a.result));
    }
    ReturnSpareBuffers(round);
  }

  // Syncs and publishes every touched partition: the writer and the helpers each take the
  // next partition until none is left; returns once all are done. Partitions are
  // independent (each is completed by exactly one thread), and nothing is acknowledged
  // until all of them are, as before.
  void CompleteAll(const std::vector<Partition*>& touched) {
    if (sync_helpers_.empty() || touched.size() < 2 || !options_.fsync) {
      for (Partition* p : touched) p->CompleteStaged();
      return;
    }
    std::unique_lock<std::mutex> lock(sync_mu_);
    sync_jobs_ = &touched;
    sync_next_ = 0;
    sync_remaining_ = touched.size();
    sync_cv_.notify_all();
    while (sync_next_ < touched.size()) {
      Partition* p = touched[sync_next_++];
      lock.unlock();
      p->CompleteStaged();
      lock.lock();
      --sync_remaining_;
    }
    sync_done_cv_.wait(lock, [this] { return sync_remaining_ == 0; });
    sync_jobs_ = nullptr;
  }

  void SyncHelperLoop() {
    pthread_setname_np(pthread_self(), "tm-log-sync");
    std::unique_lock<std::mutex> lock(sync_mu_);
    for (;;) {
      sync_cv_.wait(lock, [this] { return sync_stop_ || (sync_jobs_ != nullptr && sync_next_ < sync_jobs_->size()); });
      if (sync_stop_) return;
      Partition* p = (*sync_jobs_)[sync_next_++];
      lock.unlock();
      p->CompleteStaged();
      lock.lock();
      if (--sync_remaining_ == 0) sync_done_cv_.notify_one();
    }
  }

  // Batch buffers go round between appenders and the writer instead of back to malloc: a
  // freed 50-100 KB block is often trimmed off the heap and the next append faults fresh
  // pages in, which costs more than the encoding itself (and far more on a virtual machine).
  internal::ByteBuffer TakeSpareBuffer() {
    std::lock_guard<std::mutex> lock(spare_mu_);
    if (spare_.empty()) return {};
    internal::ByteBuffer b = std::move(spare_.back());
    spare_.pop_back();
    spare_bytes_ -= static_cast<int64_t>(b.capacity());
    b.clear();
    return b;
  }

  void ReturnSpareBuffers(std::vector<PendingAppend>& round) {
    std::lock_guard<std::mutex> lock(spare_mu_);
    for (PendingAppend& a : round) {
      const auto capacity = static_cast<int64_t>(a.batch.capacity());
      if (capacity == 0 || capacity > kMaxSpareBufferBytes || spare_bytes_ + capacity > kMaxSpareBytes) continue;
      spare_bytes_ += capacity;
      spare_.push_back(std::move(a.batch));
    }
  }

  void SealAll() {
    std::shared_lock lock(topics_mu_);
    for (const auto& [name, t] : topics_) {
      for (const auto& p : t->partitions) {
        Status st = p->Seal();
        if (!st.ok()) spdlog::warn("log: {}: index not written at close ({}); the next open scans it", p->display(), st.ToString());
      }
    }
  }

  const EmbeddedLogOptions options_;
  const Clock* clock_;
  Histogram* append_seconds_ = nullptr;
  Histogram* fsync_seconds_ = nullptr;
  Gauge* pending_gauge_ = nullptr;

  mutable std::shared_mutex topics_mu_;
  std::map<std::string, std::unique_ptr<Topic>, std::less<>> topics_;
  std::mutex create_mu_;  // one CreateTopic at a time

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;   // wakes the writer
  std::condition_variable closed_cv_;  // wakes Close once the writer has sealed
  std::vector<PendingAppend> queue_;
  int64_t pending_bytes_ = 0;  // guarded by queue_mu_
  bool closing_ = false;
  bool sealed_ = false;
  bool stopping_ = false;
  std::thread writer_;

  // Round completion shared with the sync helpers (see CompleteAll).
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;       // wakes helpers: jobs posted, or stop
  std::condition_variable sync_done_cv_;  // wakes the writer: the last job finished
  const std::vector<Partition*>* sync_jobs_ = nullptr;
  size_t sync_next_ = 0;
  size_t sync_remaining_ = 0;
  bool sync_stop_ = false;
  std::vector<std::thread> sync_helpers_;

  // Spare batch buffers (see TakeSpareBuffer), bounded by the bytes they hold.
  static constexpr int64_t kMaxSpareBufferBytes = 4 << 20;
  static constexpr int64_t kMaxSpareBytes = 32 << 20;
  std::mutex spare_mu_;
  std::vector<internal::ByteBuffer> spare_;
  int64_t spare_bytes_ = 0;  // capacity held in spare_
};

Status ValidateOptions(const EmbeddedLogOptions& o) {
  if (o.dir.empty()) return Status::InvalidArgument("log: options.dir is empty");
  if (o.segment_bytes < 1 || o.segment_bytes > INT32_MAX) {
    return Status::InvalidArgument(fmt::format("log.segment_bytes must be 1 to {}, not {}", INT32_MAX, o.segment_bytes));
  }
  if (o.index_interval_bytes < 0) {
    return Status::InvalidArgument(fmt::format("log.index_interval_bytes must be >= 0, not {}", o.index_interval_bytes));
  }
  if (o.max_pending_bytes < 1) {
    return Status::InvalidArgument(fmt::format("log.max_pending_bytes must be positive, not {}", o.max_pending_bytes));
  }
  if (o.sync_threads < 1 || o.sync_threads > 64) {
    return Status::InvalidArgument(fmt::format("log.sync_threads must be 1 to 64, not {}", o.sync_threads));
  }
  if (o.fsync_max_wait_us < 0 || o.fsync_max_wait_us > 1000000) {
    return Status::InvalidArgument(fmt::format("log.fsync_max_wait_us must be 0 to 1000000, not {}", o.fsync_max_wait_us));
  }
  if (o.compression != Codec::kNone && o.compression != Codec::kZstd) {
    return Status::InvalidArgument("log.compression must be none or zstd");
  }
  return Status::Ok();
}

}  // namespace

EmbeddedLogOptions EmbeddedLogOptionsFromConfig(const Config& config, std::string dir) {
  EmbeddedLogOptions o;
  o.dir = std::move(dir);
  o.segment_bytes = config.GetInt("log.segment_bytes");
  o.index_interval_bytes = config.GetInt("log.index_interval_bytes");
  o.fsync_max_wait_us = config.GetInt("log.fsync_max_wait_us");
  o.max_pending_bytes = config.GetInt("log.max_pending_bytes");
  o.sync_threads = static_cast<int>(config.GetInt("log.sync_threads"));
  const std::string& codec = config.GetString("log.compression");
  if (codec == "zstd") {
    o.compression = Codec::kZstd;
  } else {
    if (codec != "none") spdlog::warn("log.compression '{}' is not none|zstd; using none", codec);
    o.compression = Codec::kNone;
  }
  o.retention_ms = config.GetInt("log.retention_hours") * 3600 * 1000;
  o.retention_bytes = config.GetInt("log.retention_bytes");
  o.fsync = config.GetBool("log.fsync");
  return o;
}

Result<std::unique_ptr<Log>> OpenEmbeddedLog(const EmbeddedLogOptions& options,
                                             std::vector<std::string>* recovery_notes) {
  RETURN_IF_ERROR(ValidateOptions(options));
  auto log = std::make_unique<EmbeddedLog>(options);
  RETURN_IF_ERROR(log->Init(recovery_notes));
  return std::unique_ptr<Log>(std::move(log));
}

Status CreateStandardTopics(Log& log, const Config& config) {
  const std::pair<std::string_view, int> topics[] = {
      {kUserEvents, static_cast<int>(config.GetInt("topics.user_events.partitions"))},
      {kServerEvents, static_cast<int>(config.GetInt("topics.server_events.partitions"))},
      {kDlqEvents, static_cast<int>(config.GetInt("topics.dlq_events.partitions"))},
      {kLateEvents, static_cast<int>(config.GetInt("topics.late_events.partitions"))},
      {kSchemas, 1},
      {kDeletions, 1},
  };
  for (const auto& [name, partitions] : topics) RETURN_IF_ERROR(log.CreateTopic(name, partitions));
  return Status::Ok();
}

}  // namespace tidemark::log
