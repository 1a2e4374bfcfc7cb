// The in-memory Log: the embedded log's semantics (offsets from 0, all-or-nothing batches,
// OutOfRange rules, callbacks on a log-owned thread, Unavailable after Close) with records in
// vectors. Everything appended is "durable" at once; retention keeps everything.
#include "log/memory_log.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "log/log_internal.h"

namespace tidemark::log {
namespace {

class MemoryLog final : public Log {
 public:
  MemoryLog() : callback_thread_([this] { RunCallbacks(); }) {}

  ~MemoryLog() override {
    Close();
    {
      std::lock_guard<std::mutex> lock(callbacks_mu_);
      stopping_ = true;
    }
    callbacks_cv_.notify_all();
    callback_thread_.join();
  }

  Status CreateTopic(std::string_view topic, int partitions) override {
    if (!internal::ValidTopicName(topic)) {
      return Status::InvalidArgument(fmt::format("log: topic name '{}' must be 1-200 of [A-Za-z0-9._-]", topic));
    }
    if (partitions < 1 || partitions > internal::kMaxPartitions) {
      return Status::InvalidArgument(fmt::format("log: topic '{}' needs 1 to {} partitions, not {}", topic,
                                                 internal::kMaxPartitions, partitions));
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto it = topics_.find(topic);
    if (it != topics_.end()) {
      if (static_cast<int>(it->second.size()) == partitions) return Status::Ok();
      return Status::AlreadyExists(fmt::format("log: topic '{}' exists with {} partitions, not {}", topic,
                                               it->second.size(), partitions));
    }
    topics_.emplace(std::string(topic), std::vector<std::vector<StoredRecord>>(static_cast<size_t>(partitions)));
    return Status::Ok();
  }

  Result<int> PartitionCount(std::string_view topic) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = topics_.find(topic);
    if (it == topics_.end()) return Status::NotFound(fmt::format("log: no topic '{}'", topic));
    return static_cast<int>(it->second.size());
  }

  std::vector<std::string> Topics() const override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& [name, parts] : topics_) out.push_back(name);
    return out;
  }

  void Append(std::string_view topic, int partition, std::vector<Record> records, AppendCallback done) override {
    Result<int64_t> result = Status::Internal("log: unset");
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto part = Find(topic, partition);
      if (closed_) {
        result = Status::Unavailable(fmt::format("log: closed; append to {}/{} refused", topic, partition));
      } else if (!part.ok()) {
        result = part.status();
      } else if (records.empty()) {
        result = Status::InvalidArgument(fmt::format("log: append to {}/{} has no records", topic, partition));
      } else {
        std::vector<StoredRecord>& stored = **part;
        const int64_t base = static_cast<int64_t>(stored.size());
        for (size_t i = 0; i < records.size(); ++i) {
          StoredRecord& r = stored.emplace_back();
          r.offset = base + static_cast<int64_t>(i);
          r.timestamp_ms = records[i].timestamp_ms;
          r.key = std::move(records[i].key);
          r.value = std::move(records[i].value);
          r.headers = std::move(records[i].headers);
        }
        result = base;
      }
    }
    {
      std::lock_guard<std::mutex> lock(callbacks_mu_);
      callbacks_.emplace_back(std::move(done), std::move(result));
    }
    callbacks_cv_.notify_one();
  }

  Result<std::vector<StoredRecord>> Read(std::string_view topic, int partition, int64_t from,
                                         const ReadOptions& options) const override {
    ReadBatch out;
    RETURN_IF_ERROR(ReadInto(topic, partition, from, options, &out));
    return out.Release();
  }

  Status ReadInto(std::string_view topic, int partition, int64_t from, const ReadOptions& options,
                  ReadBatch* out) const override {
    out->Clear();
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(const std::vector<StoredRecord>* stored, Find(topic, partition));
    const int64_t end = static_cast<int64_t>(stored->size());
    if (from < 0 || from > end) {
      return Status::OutOfRange(
          fmt::format("log: {}/{}: offset {} is outside the retained range [0, {}]", topic, partition, from, end));
    }
    CopyRange(*stored, from, options, out);
    return Status::Ok();
  }

  Result<int64_t> StartOffset(std::string_view topic, int partition) const override {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(const std::vector<StoredRecord>* stored, Find(topic, partition));
    (void)stored;
    return int64_t{0};
  }

  Result<int64_t> EndOffset(std::string_view topic, int partition) const override {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(const std::vector<StoredRecord>* stored, Find(topic, partition));
    return static_cast<int64_t>(stored->size());
  }

  Status EnforceRetention() override { return Status::Ok(); }

  void Close() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    // Every callback queued before Close has run when it returns (unless called from one).
    if (std::this_thread::get_id() == callback_thread_.get_id()) return;
    std::unique_lock<std::mutex> lock(callbacks_mu_);
    drained_cv_.wait(lock, [this] { return callbacks_.empty() && !running_callback_; });
  }

 private:
  using Partitions = std::vector<std::vector<StoredRecord>>;

  // Requires mu_.
  // Copies the records from `from` on that the options allow into *out, reusing its records.
  static void CopyRange(const std::vector<StoredRecord>& stored, int64_t from, const ReadOptions& options,
                        ReadBatch* out) {
    size_t bytes = 0;
    for (size_t o = static_cast<size_t>(from); o < stored.size(); ++o) {
      if (out->size() >= options.max_records || (!out->empty() && bytes >= options.max_bytes)) break;
      const StoredRecord& r = stored[o];
      StoredRecord& to = out->Next();
      to.offset = r.offset;
      to.timestamp_ms = r.timestamp_ms;
      if (options.keys) {
        to.key.assign(r.key);
      } else {
        to.key.clear();
      }
      to.value.assign(r.value);
      to.headers.resize(r.headers.size());
      for (size_t h = 0; h < r.headers.size(); ++h) {
        to.headers[h].first.assign(r.headers[h].first);
        to.headers[h].second.assign(r.headers[h].second);
      }
      bytes += r.key.size() + r.value.size();
    }
  }

  Result<std::vector<StoredRecord>*> Find(std::string_view topic, int partition) const {
    auto it = topics_.find(topic);
    if (it == topics_.end()) return Status::NotFound(fmt::format("log: no topic '{}'", topic));
    if (partition < 0 || partition >= static_cast<int>(it->second.size())) {
      return Status::NotFound(fmt::format("log: topic '{}' has {} partitions; there is no partition {}", topic,
                                          it->second.size(), partition));
    }
    return const_cast<std::vector<StoredRecord>*>(&it->second[static_cast<size_t>(partition)]);
  }

  void RunCallbacks() {
    std::unique_lock<std::mutex> lock(callbacks_mu_);
    for (;;) {
      callbacks_cv_.wait(lock, [this] { return !callbacks_.empty() || stopping_; });
      if (callbacks_.empty()) return;
      auto [done, result] = std::move(callbacks_.front());
      callbacks_.pop_front();
      running_callback_ = true;
      lock.unlock();
      if (done) done(std::move(result));
      lock.lock();
      running_callback_ = false;
      if (callbacks_.empty()) drained_cv_.notify_all();
    }
  }

  mutable std::mutex mu_;
  std::map<std::string, Partitions, std::less<>> topics_;
  bool closed_ = false;

  std::mutex callbacks_mu_;
  std::condition_variable callbacks_cv_;
  std::condition_variable drained_cv_;
  std::deque<std::pair<AppendCallback, Result<int64_t>>> callbacks_;
  bool running_callback_ = false;
  bool stopping_ = false;
  std::thread callback_thread_;  // last: starts after the members it uses exist
};

}  // namespace

std::unique_ptr<Log> NewMemoryLog() { return std::make_unique<MemoryLog>(); }

}  // namespace tidemark::log
