// Test-only: a small in-memory Log so the stream and real-time tests do not depend on the
// log stage being built. Appends complete synchronously on the caller's thread (the
// interface allows any thread); a test can make appends fail to exercise retries.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "log/log.h"

namespace tidemark::stream::testing {

class TestingLog final : public log::Log {
 public:
  Status CreateTopic(std::string_view topic, int partitions) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = topics_.find(std::string(topic));
    if (it != topics_.end()) {
      return static_cast<int>(it->second.size()) == partitions
                 ? Status::Ok()
                 : Status::AlreadyExists("topic " + std::string(topic) + " has another partition count");
    }
    topics_[std::string(topic)].resize(static_cast<size_t>(partitions));
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
    Result<int64_t> result = Status::Unavailable("append failed (test)");
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto* part = Partition(topic, partition);
      if (!part) {
        result = Status::NotFound("no partition " + std::string(topic) + "/" + std::to_string(partition));
      } else if (!fail_appends_) {
        int64_t base = static_cast<int64_t>(part->size());
        for (auto& r : records) {
          part->push_back(log::StoredRecord{static_cast<int64_t>(part->size()), r.timestamp_ms, std::move(r.key),
                                            std::move(r.value), std::move(r.headers)});
        }
        result = base;
      }
    }
    done(std::move(result));
  }
  Result<std::vector<log::StoredRecord>> Read(std::string_view topic, int partition, int64_t from,
                                              const log::ReadOptions& options) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto* part = const_cast<TestingLog*>(this)->Partition(topic, partition);
    if (!part) return Status::NotFound("no partition");
    if (from < 0 || from > static_cast<int64_t>(part->size())) return Status::OutOfRange("offset out of range");
    std::vector<log::StoredRecord> out;
    size_t bytes = 0;
    for (size_t i = static_cast<size_t>(from); i < part->size(); ++i) {
      if (!out.empty() && (bytes >= options.max_bytes || out.size() >= options.max_records)) break;
      out.push_back((*part)[i]);
      bytes += (*part)[i].key.size() + (*part)[i].value.size();
    }
    return out;
  }
  Result<int64_t> StartOffset(std::string_view, int) const override { return int64_t{0}; }
  Result<int64_t> EndOffset(std::string_view topic, int partition) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto* part = const_cast<TestingLog*>(this)->Partition(topic, partition);
    if (!part) return Status::NotFound("no partition");
    return static_cast<int64_t>(part->size());
  }
  Status EnforceRetention() override { return Status::Ok(); }
  void Close() override {}

  void set_fail_appends(bool fail) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_appends_ = fail;
  }
  // Appends synchronously; for test setup.
  int64_t Put(std::string_view topic, int partition, log::Record record) {
    int64_t offset = -1;
    Append(topic, partition, {std::move(record)}, [&](Result<int64_t> r) { offset = r.ok() ? *r : -1; });
    return offset;
  }

 private:
  std::vector<log::StoredRecord>* Partition(std::string_view topic, int partition) {
    auto it = topics_.find(std::string(topic));
    if (it == topics_.end() || partition < 0 || partition >= static_cast<int>(it->second.size())) return nullptr;
    return &it->second[static_cast<size_t>(partition)];
  }
  mutable std::mutex mu_;
  std::map<std::string, std::vector<std::vector<log::StoredRecord>>> topics_;
  bool fail_appends_ = false;
};

}  // namespace tidemark::stream::testing
