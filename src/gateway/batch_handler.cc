#include "gateway/batch_handler_internal.h"

#include <simdjson.h>

#include "common/hashing.h"
#include "event/json_writer.h"

namespace tidemark::gateway::internal {
namespace {

// Deep enough for any sane context/properties; a deeper body is refused as a whole.
constexpr size_t kMaxJsonDepth = 128;

simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  thread_local bool configured = false;
  if (!configured) {
    configured = true;
    // On failure the parser allocates on first use with the default depth instead.
    if (parser.allocate(64 * 1024, kMaxJsonDepth) != simdjson::SUCCESS) {
    }
  }
  return parser;
}

void RejectBody(const BatchInput& in, const BatchLimits& limits, const TopicPartitions& partitions,
                std::string message, BatchPlan* plan) {
  plan->status = 400;
  plan->error_code = "invalid_json";
  plan->error_message = std::move(message);
  TopicAppend dlq;
  dlq.topic = log::kDlqEvents;
  dlq.partition = KafkaPartition(in.source, partitions.dlq_events);
  dlq.records.push_back(log::Record{
      std::string(in.source),
      DlqRecordJson("invalid_json", plan->error_message, -1, in.source, in.received_at_ms, {},
                    in.body, limits.dlq_raw_body_bytes),
      in.received_at_ms});
  plan->appends.push_back(std::move(dlq));
}

}  // namespace

BatchLimits BatchLimits::FromConfig(const Config& config) {
  BatchLimits l;
  l.event = event::EventLimits::FromConfig(config);
  l.max_batch_events = static_cast<size_t>(config.GetInt("gateway.max_batch_events"));
  l.dlq_raw_body_bytes = static_cast<size_t>(config.GetInt("gateway.dlq_raw_body_bytes"));
  return l;
}

std::string DlqRecordJson(std::string_view reason, std::string_view message, int64_t index,
                          std::string_view source, int64_t received_at_ms,
                          std::string_view raw_json, std::string_view raw_text,
                          size_t max_raw_bytes) {
  std::string out;
  out.reserve(128 + message.size() + std::min(max_raw_bytes, raw_json.size() + raw_text.size()) + 16);
  out.append("{\"reason\":");
  event::AppendJsonString(&out, reason);
  out.append(",\"message\":");
  event::AppendJsonString(&out, message);
  out.append(",\"index\":");
  event::AppendJsonInt(&out, index);
  out.append(",\"source\":");
  event::AppendJsonString(&out, source);
  out.append(",\"received_at\":");
  event::AppendJsonInt(&out, received_at_ms);
  out.append(",\"raw\":");
  if (!raw_json.empty() && raw_json.size() <= max_raw_bytes) {
    out.append(raw_json);
  } else {
    event::AppendJsonStringTruncated(&out, raw_json.empty() ? raw_text : raw_json, max_raw_bytes);
  }
  out.push_back('}');
  return out;
}

void PlanBatch(const BatchInput& in, const BatchLimits& limits, const TopicPartitions& partitions,
               const AdmitFn& admit, BatchPlan* plan) {
  simdjson::dom::parser& parser = ThreadParser();
  simdjson::dom::element root;
  static_assert(kBodyPadding >= simdjson::SIMDJSON_PADDING);
  const bool copy_body = in.readable_padding < kBodyPadding;
  if (auto err = parser.parse(in.body.data(), in.body.size(), copy_body).get(root); err) {
    RejectBody(in, limits, partitions,
               std::string("body is not valid JSON: ") + simdjson::error_message(err), plan);
    return;
  }

  simdjson::dom::array batch;
  std::optional<int64_t> sent_at;
  if (root.get(batch) != simdjson::SUCCESS) {
    simdjson::dom::object obj;
    if (root.get(obj) != simdjson::SUCCESS || obj["batch"].get(batch) != simdjson::SUCCESS) {
      RejectBody(in, limits, partitions,
                 "body must be a JSON array of events or an object with a \"batch\" array", plan);
      return;
    }
    simdjson::dom::element sent;
    if (obj["sent_at"].get(sent) == simdjson::SUCCESS && !sent.is_null()) {
      sent_at = event::ParseTimeElement(sent);
      if (!sent_at) {
        RejectBody(in, limits, partitions,
                   "sent_at: must be RFC 3339 text or integer epoch milliseconds", plan);
        return;
      }
    }
  }

  plan->event_count = batch.size();
  if (plan->event_count > limits.max_batch_events) {
    plan->status = 413;
    plan->error_code = "too_many_events";
    plan->error_message = "batch has " + std::to_string(plan->event_count) +
                          " events; the limit is " + std::to_string(limits.max_batch_events);
    return;
  }
  if (admit) {
    if (int64_t wait = admit(plan->event_count); wait > 0) {
      plan->status = 429;
      plan->error_code = "rate_limited";
      plan->error_message = "this key's event rate limit is exhausted; retry in " +
                            std::to_string(wait) + " s";
      plan->retry_after_s = wait;
      return;
    }
  }

  event::IngestContext ctx;
  ctx.received_at_ms = in.received_at_ms;
  ctx.sent_at_ms = sent_at;
  ctx.source = in.source;
  ctx.default_platform = in.default_platform;
  ctx.client_ip = in.client_ip;

  // One append per (topic, partition) that receives anything.
  std::vector<int> user_slot(static_cast<size_t>(partitions.user_events), -1);
  std::vector<int> server_slot(static_cast<size_t>(partitions.server_events), -1);
  int dlq_slot = -1;
  auto slot_for = [&](std::string_view topic, int partition, int* slot) -> TopicAppend& {
    if (*slot < 0) {
      *slot = static_cast<int>(plan->appends.size());
      plan->appends.push_back(TopicAppend{topic, partition, {}});
      plan->appends.back().records.reserve(plan->event_count / 4 + 4);
    }
    return plan->appends[static_cast<size_t>(*slot)];
  };

  thread_local event::JsonBuffer scratch;
  std::string errors;
  errors.push_back('[');
  size_t index = 0;
  auto reject = [&](simdjson::dom::element raw, const event::EventError& err) {
    ++plan->rejected;
    ++plan->rejected_by_reason[static_cast<size_t>(err.reason)];
    std::string_view code = event::ReasonCode(err.reason);
    if (errors.size() > 1) errors.push_back(',');
    errors.append("{\"index\":");
    event::AppendJsonInt(&errors, static_cast<int64_t>(index));
    errors.append(",\"code\":");
    event::AppendJsonString(&errors, code);
    errors.append(",\"message\":");
    event::AppendJsonString(&errors, err.message);
    errors.push_back('}');

    std::string raw_json;
    size_t max_raw = SIZE_MAX;
    if (in.encoder != nullptr) {
      in.encoder->AppendMaskedEvent(raw, &raw_json);
      max_raw = limits.dlq_raw_body_bytes;
    } else {
      event::AppendJsonElementBounded(&raw_json, raw, limits.dlq_raw_body_bytes);
    }
    int partition = KafkaPartition(in.source, partitions.dlq_events);
    slot_for(log::kDlqEvents, partition, &dlq_slot)
        .records.push_back(log::Record{
            std::string(in.source),
            DlqRecordJson(code, err.message, static_cast<int64_t>(index), in.source,
                          in.received_at_ms, raw_json, {}, max_raw),
            in.received_at_ms});
  };

  for (simdjson::dom::element raw : batch) {
    scratch.Clear();
    // With an encoder the canonical JSON is not needed: the event is only checked, and the
    // size limit applies to the value the encoder writes.
    event::NormalizeOutcome outcome =
        event::NormalizeEvent(raw, ctx, limits.event, in.encoder != nullptr ? nullptr : &scratch);
    if (!outcome.ok()) {
      reject(raw, *outcome.error);
      ++index;
      continue;
    }
    log::Record record{std::string(outcome.partition_key), {}, in.received_at_ms};
    if (in.encoder != nullptr) {
      EncodeInput encode{raw, &outcome, in.source, in.client_ip, sent_at.has_value()};
      if (std::optional<event::EventError> err = in.encoder->Encode(encode, &record)) {
        reject(raw, *err);
        ++index;
        continue;
      }
      if (record.value.size() > limits.event.max_event_bytes) {
        reject(raw, {event::Reason::kEventTooLarge,
                     "event: " + std::to_string(record.value.size()) + " bytes encoded exceed the limit of " +
                         std::to_string(limits.event.max_event_bytes)});
        ++index;
        continue;
      }
    } else {
      record.value.assign(scratch.view());  // one exact-size allocation per record value
    }
    ++plan->accepted;
    TopicAppend* target;
    if (outcome.server_event) {
      int partition = KafkaPartition(record.key, partitions.server_events);
      target = &slot_for(log::kServerEvents, partition, &server_slot[static_cast<size_t>(partition)]);
    } else {
      int partition = KafkaPartition(record.key, partitions.user_events);
      target = &slot_for(log::kUserEvents, partition, &user_slot[static_cast<size_t>(partition)]);
    }
    target->records.push_back(std::move(record));
    ++index;
  }
  errors.push_back(']');
  plan->errors_json = std::move(errors);
}

}  // namespace tidemark::gateway::internal
