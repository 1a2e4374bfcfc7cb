// The bronze tables' columns: the contract between the bronze writer (which fills them from
// the log) and the batch jobs (which read them). Bronze keeps every log record as it came,
// duplicates and late events included, in tables partitioned by event date and hour of
// event_time under data/lake/bronze/{user_events,server_events,dlq_events}.
#pragma once

#include <string_view>

#include "lake/parquet.h"

namespace tidemark::lake::bronze {

inline constexpr std::string_view kLayer = "bronze";
inline constexpr std::string_view kUserEvents = "user_events";
inline constexpr std::string_view kServerEvents = "server_events";
inline constexpr std::string_view kDlqEvents = "dlq_events";

// Event tables. Every column but event_id, event_type, event_time, received_at,
// log_partition and log_offset is nullable.
//   event_id STRING, event_type STRING, event_time TIMESTAMP (skew-corrected, the partition
//   column), client_timestamp TIMESTAMP (as sent), received_at TIMESTAMP, user_id STRING,
//   anonymous_id STRING, session_id STRING, platform STRING, source STRING,
//   schema_version INT64, log_partition INT32, log_offset INT64, properties STRING (JSON text)
// followed by one column per context field seen, named context_<field> (STRING for text,
// DOUBLE for numbers, BOOLEAN for booleans), added by schema evolution as new fields appear.
Schema EventTableSchema();
inline constexpr std::string_view kPartitionColumn = "event_time";
inline constexpr std::string_view kContextPrefix = "context_";

// dlq_events: reason STRING, message STRING, batch_index INT64, source STRING,
// received_at TIMESTAMP (also the partition column), raw STRING, log_partition INT32,
// log_offset INT64.
Schema DlqTableSchema();
inline constexpr std::string_view kDlqPartitionColumn = "received_at";

}  // namespace tidemark::lake::bronze
