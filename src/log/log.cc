// Helpers shared by every Log implementation.
#include "log/log.h"

#include <algorithm>
#include <future>

#include "log/log_internal.h"

namespace tidemark::log {

Result<int64_t> AppendAndWait(Log& log, std::string_view topic, int partition, std::vector<Record> records) {
  // The callback runs on a log-owned thread, so a promise hands its answer back here.
  auto promise = std::make_shared<std::promise<Result<int64_t>>>();
  std::future<Result<int64_t>> answer = promise->get_future();
  log.Append(topic, partition, std::move(records),
             [promise](Result<int64_t> base_offset) { promise->set_value(std::move(base_offset)); });
  return answer.get();
}

namespace internal {

bool ValidTopicName(std::string_view name) {
  if (name.empty() || name.size() > 200 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

}  // namespace internal
namespace {

// HeaderValue over copied headers or their views alike.
template <typename Pairs>
std::string_view FindHeader(const Pairs& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace

std::string_view HeaderValue(const Headers& headers, std::string_view name) { return FindHeader(headers, name); }

std::string_view HeaderValue(std::span<const HeaderView> headers, std::string_view name) {
  return FindHeader(headers, name);
}

namespace {

// Log::ReadViews' default storage: the records copied by ReadInto.
struct CopiedRecords : RecordViews::Storage {
  ReadBatch batch;
};

}  // namespace

Status Log::ReadViews(std::string_view topic, int partition, int64_t from, const ReadOptions& options,
                      RecordViews* out) const {
  out->Clear();
  ReadBatch& batch = out->StorageAs<CopiedRecords>().batch;
  RETURN_IF_ERROR(ReadInto(topic, partition, from, options, &batch));
  for (const StoredRecord& r : batch) {
    for (const auto& [name, text] : r.headers) out->headers().emplace_back(name, text);
  }
  size_t header = 0;
  for (const StoredRecord& r : batch) {
    out->records().push_back({r.offset, r.timestamp_ms, r.key, r.value,
                              std::span<const HeaderView>(out->headers()).subspan(header, r.headers.size())});
    header += r.headers.size();
  }
  return Status::Ok();
}

}  // namespace tidemark::log
