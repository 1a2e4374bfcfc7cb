// The CPU half of POST /v1/batch, with no networking: parse a decoded body, check every
// event, and plan the log appends (accepted events by topic and partition, rejected ones
// and unparseable bodies to dlq-events). gateway.cc performs the plan and answers once
// every append is durable. Split out so it can be tested and measured on its own.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "event/event.h"
#include "event/event_parser.h"
#include "gateway/event_encoder.h"
#include "log/log.h"

namespace tidemark::gateway::internal {

struct BatchLimits {
  event::EventLimits event;
  size_t max_batch_events = 2000;
  size_t dlq_raw_body_bytes = 65536;
  static BatchLimits FromConfig(const Config& config);
};

// simdjson reads up to this many bytes past the end of its input.
inline constexpr size_t kBodyPadding = 64;

struct TopicPartitions {
  int user_events = 1;
  int server_events = 1;
  int dlq_events = 1;
};

struct BatchInput {
  std::string_view body;  // decoded
  // Bytes readable (owned by the caller, any content) past the end of `body`. With at least
  // kBodyPadding the body is parsed in place instead of being copied into the parser.
  size_t readable_padding = 0;
  std::string_view source;
  std::string_view default_platform;
  std::string_view client_ip;
  int64_t received_at_ms = 0;
  // Encodes accepted events (Avro through the registry) and masks rejected ones; null:
  // canonical JSON values, rejected events kept as sent.
  EventEncoder* encoder = nullptr;
};

struct TopicAppend {
  std::string_view topic;
  int partition = 0;
  std::vector<log::Record> records;
};

struct BatchPlan {
  // 200: answer with the counts once `appends` are durable. 400: the body is unusable;
  // `appends` holds its DLQ record. 413: too many events. 429: the admit hook refused.
  int status = 200;
  std::string error_code;     // for status != 200
  std::string error_message;  // for status != 200
  int64_t retry_after_s = 0;  // for 429
  size_t event_count = 0;
  size_t accepted = 0;
  size_t rejected = 0;
  std::array<size_t, event::kReasonCount> rejected_by_reason{};
  std::string errors_json = "[]";  // [{"index":i,"code":"…","message":"…"},…]
  std::vector<TopicAppend> appends;
  std::string source;  // the key's source, for metrics (set by the caller)
};

// Called once the events are counted, before any is checked: returns 0 to go on, or the
// Retry-After seconds of a 429.
using AdmitFn = std::function<int64_t(size_t event_count)>;

// Fills *plan. Uses a per-thread simdjson parser; views in the plan's records are copies,
// so the plan outlives the body.
void PlanBatch(const BatchInput& in, const BatchLimits& limits, const TopicPartitions& partitions,
               const AdmitFn& admit, BatchPlan* plan);

// The dlq-events record value for a rejected event or body.
std::string DlqRecordJson(std::string_view reason, std::string_view message, int64_t index,
                          std::string_view source, int64_t received_at_ms,
                          std::string_view raw_json_or_empty, std::string_view raw_text,
                          size_t max_raw_bytes);

}  // namespace tidemark::gateway::internal
