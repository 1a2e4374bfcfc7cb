// Helpers shared by every Log implementation.
#include "log/log.h"

#include <future>

namespace tidemark::log {

Result<int64_t> AppendAndWait(Log& log, std::string_view topic, int partition, std::vector<Record> records) {
  // The callback runs on a log-owned thread, so a promise hands its answer back here.
  auto promise = std::make_shared<std::promise<Result<int64_t>>>();
  std::future<Result<int64_t>> answer = promise->get_future();
  log.Append(topic, partition, std::move(records),
             [promise](Result<int64_t> base_offset) { promise->set_value(std::move(base_offset)); });
  return answer.get();
}

}  // namespace tidemark::log
