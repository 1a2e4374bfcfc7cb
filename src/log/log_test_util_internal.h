// Helpers shared by the log's tests: a scratch directory and record builders.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "log/log.h"

namespace tidemark::log::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/tidemark-log-test-XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// n records whose values say where they came from, so a read-back can be checked exactly.
inline std::vector<Record> MakeRecords(int batch, int n, size_t value_bytes = 40, int64_t ts = 1000) {
  std::vector<Record> records;
  for (int i = 0; i < n; ++i) {
    std::string value = "b" + std::to_string(batch) + "r" + std::to_string(i) + ":";
    value.resize(std::max(value.size(), value_bytes), static_cast<char>('a' + (batch + i) % 26));
    records.push_back({"key-" + std::to_string(i), std::move(value), ts + i});
  }
  return records;
}

}  // namespace tidemark::log::testing
