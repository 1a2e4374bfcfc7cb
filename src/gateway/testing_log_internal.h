// A small in-memory Log for the gateway's tests only (src/log's NewMemoryLog is written
// elsewhere). Appends are stored at once and acknowledged from a separate callback thread,
// as a real log does; a test can make appends fail (FailAppendsWith) or hold their
// acknowledgements back (HoldAcks) to observe a request waiting for durability.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "log/log.h"

namespace tidemark::gateway::testing {

class TestingLog final : public log::Log {
 public:
  TestingLog() : TestingLog({{std::string(log::kUserEvents), 4},
                             {std::string(log::kServerEvents), 2},
                             {std::string(log::kDlqEvents), 1}}) {}
  explicit TestingLog(const std::map<std::string, int>& topics) {
    for (const auto& [name, n] : topics) topics_[name].resize(static_cast<size_t>(n));
    worker_ = std::thread([this] { RunCallbacks(); });
  }
  ~TestingLog() override { Close(); }

  // Every later append fails with this status (Ok() to succeed again).
  void FailAppendsWith(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_with_ = std::move(status);
  }
  // While held, acknowledgements queue up; releasing delivers them.
  void HoldAcks(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = hold;
    cv_.notify_all();
  }
  size_t pending_acks() const {
    std::lock_guard<std::mutex> lock(mu_);
    return callbacks_.size();
  }
  size_t append_calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return append_calls_;
  }
  // Every record of a topic, partition by partition.
  std::vector<std::pair<int, log::StoredRecord>> All(std::string_view topic) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::pair<int, log::StoredRecord>> out;
    auto it = topics_.find(std::string(topic));
    if (it == topics_.end()) return out;
    for (size_t p = 0; p < it->second.size(); ++p) {
      for (const auto& r : it->second[p]) out.emplace_back(static_cast<int>(p), r);
    }
    return out;
  }

  Status CreateTopic(std::string_view topic, int partitions) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto& parts = topics_[std::string(topic)];
    if (!parts.empty() && parts.size() != static_cast<size_t>(partitions)) {
      return Status::AlreadyExists("topic " + std::string(topic) + " has another partition count");
    }
    parts.resize(static_cast<size_t>(partitions));
    return Status::Ok();
  }
  Result<int> PartitionCount(std::string_view topic) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = topics_.find(std::string(topic));
    if (it == topics_.end()) return Status::NotFound("no topic " + std::string(topic));
    return static_cast<int>(it->second.size());
  }
  std::vector<std::string> Topics() const override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& [name, parts] : topics_) out.push_back(name);
    return out;
  }
  void Append(std::string_view topic, int partition, std::vector<log::Record> records,
              log::AppendCallback done) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++append_calls_;
    Result<int64_t> result = Status::Internal("unset");
    auto it = topics_.find(std::string(topic));
    if (closed_) {
      result = Status::Unavailable("log closed");
    } else if (!fail_with_.ok()) {
      result = fail_with_;
    } else if (it == topics_.end() || partition < 0 ||
               static_cast<size_t>(partition) >= it->second.size()) {
      result = Status::NotFound("no partition " + std::string(topic) + "/" + std::to_string(partition));
    } else {
      auto& part = it->second[static_cast<size_t>(partition)];
      int64_t base = static_cast<int64_t>(part.size());
      for (auto& r : records) {
        part.push_back(log::StoredRecord{static_cast<int64_t>(part.size()), r.timestamp_ms,
                                         std::move(r.key), std::move(r.value)});
      }
      result = base;
    }
    callbacks_.emplace_back([done = std::move(done), result]() mutable { done(std::move(result)); });
    cv_.notify_all();
  }
  Result<std::vector<log::StoredRecord>> Read(std::string_view topic, int partition, int64_t from,
                                              const log::ReadOptions& options) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = topics_.find(std::string(topic));
    if (it == topics_.end() || partition < 0 || static_cast<size_t>(partition) >= it->second.size()) {
      return Status::NotFound("no partition");
    }
    const auto& part = it->second[static_cast<size_t>(partition)];
    if (from < 0 || from > static_cast<int64_t>(part.size())) return Status::OutOfRange("offset");
    std::vector<log::StoredRecord> out;
    for (size_t i = static_cast<size_t>(from); i < part.size() && out.size() < options.max_records; ++i) {
      out.push_back(part[i]);
    }
    return out;
  }
  Result<int64_t> StartOffset(std::string_view, int) const override { return int64_t{0}; }
  Result<int64_t> EndOffset(std::string_view topic, int partition) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = topics_.find(std::string(topic));
    if (it == topics_.end() || partition < 0 || static_cast<size_t>(partition) >= it->second.size()) {
      return Status::NotFound("no partition");
    }
    return static_cast<int64_t>(it->second[static_cast<size_t>(partition)].size());
  }
  Status EnforceRetention() override { return Status::Ok(); }
  void Close() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;
      closed_ = true;
      hold_ = false;
      cv_.notify_all();
    }
    worker_.join();
  }

 private:
  void RunCallbacks() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return (!callbacks_.empty() && !hold_) || (closed_ && callbacks_.empty()); });
      if (callbacks_.empty()) return;
      auto cb = std::move(callbacks_.front());
      callbacks_.pop_front();
      lock.unlock();
      cb();
      lock.lock();
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<std::vector<log::StoredRecord>>> topics_;
  std::deque<std::function<void()>> callbacks_;
  Status fail_with_;
  bool hold_ = false;
  bool closed_ = false;
  size_t append_calls_ = 0;
  std::thread worker_;
};

}  // namespace tidemark::gateway::testing
