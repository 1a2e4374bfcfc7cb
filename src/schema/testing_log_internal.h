// A tiny in-memory log::Log for schema tests (test-only): append-only vectors per topic
// partition, callbacks run inline on the appending thread, and a switch that makes appends
// fail so tests can see how the registry reports a log that is down.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "log/log.h"

namespace tidemark::schema::testing {

class InMemoryLog : public log::Log {
 public:
  Status CreateTopic(std::string_view topic, int partitions) override {
    std::lock_guard lock(mu_);
    auto it = topics_.find(std::string(topic));
    if (it != topics_.end()) {
      return static_cast<int>(it->second.size()) == partitions
                 ? Status::Ok()
                 : Status::AlreadyExists(std::string(topic) + ": exists with another partition count");
    }
    topics_[std::string(topic)].resize(static_cast<size_t>(partitions));
    return Status::Ok();
  }
  Result<int> PartitionCount(std::string_view topic) const override {
    std::lock_guard lock(mu_);
    auto it = topics_.find(std::string(topic));
    if (it == topics_.end()) return Status::NotFound(std::string(topic));
    return static_cast<int>(it->second.size());
  }
  std::vector<std::string> Topics() const override {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (auto& [name, parts] : topics_) out.push_back(name);
    return out;
  }
  void Append(std::string_view topic, int partition, std::vector<log::Record> records,
              log::AppendCallback done) override {
    Result<int64_t> result = Status::Unavailable("in-memory log: appends are failing");
    {
      std::lock_guard lock(mu_);
      auto* part = Partition(topic, partition);
      if (!fail_appends_ && part) {
        int64_t base = static_cast<int64_t>(part->size());
        for (auto& r : records) {
          part->push_back({static_cast<int64_t>(part->size()), r.timestamp_ms, std::move(r.key),
                           std::move(r.value)});
        }
        result = base;
      } else if (!part) {
        result = Status::NotFound(std::string(topic) + ": no such topic partition");
      }
    }
    done(std::move(result));
  }
  Result<std::vector<log::StoredRecord>> Read(std::string_view topic, int partition, int64_t from,
                                              const log::ReadOptions& options = {}) const override {
    std::lock_guard lock(mu_);
    auto* part = const_cast<InMemoryLog*>(this)->Partition(topic, partition);
    if (!part) return Status::NotFound(std::string(topic));
    if (from < 0 || from > static_cast<int64_t>(part->size())) return Status::OutOfRange("offset");
    std::vector<log::StoredRecord> out;
    for (size_t i = static_cast<size_t>(from); i < part->size() && out.size() < options.max_records; ++i) {
      out.push_back((*part)[i]);
    }
    return out;
  }
  Result<int64_t> StartOffset(std::string_view, int) const override { return int64_t{0}; }
  Result<int64_t> EndOffset(std::string_view topic, int partition) const override {
    std::lock_guard lock(mu_);
    auto* part = const_cast<InMemoryLog*>(this)->Partition(topic, partition);
    if (!part) return Status::NotFound(std::string(topic));
    return static_cast<int64_t>(part->size());
  }
  Status EnforceRetention() override { return Status::Ok(); }
  void Close() override {}

  void set_fail_appends(bool fail) {
    std::lock_guard lock(mu_);
    fail_appends_ = fail;
  }
  // Appends one record directly (to plant foreign or corrupt records in tests).
  void Plant(std::string_view topic, std::string key, std::string value) {
    std::lock_guard lock(mu_);
    auto* part = Partition(topic, 0);
    part->push_back({static_cast<int64_t>(part->size()), 0, std::move(key), std::move(value)});
  }

 private:
  std::vector<log::StoredRecord>* Partition(std::string_view topic, int partition) {
    auto it = topics_.find(std::string(topic));
    if (it == topics_.end() || partition < 0 || partition >= static_cast<int>(it->second.size())) {
      return nullptr;
    }
    return &it->second[static_cast<size_t>(partition)];
  }

  mutable std::mutex mu_;
  std::map<std::string, std::vector<std::vector<log::StoredRecord>>> topics_;
  bool fail_appends_ = false;
};

}  // namespace tidemark::schema::testing
