#include "lake/bronze_schema.h"

namespace tidemark::lake::bronze {

Schema EventTableSchema() {
  using T = ColumnType;
  return Schema{{
      {"event_id", T::kString, false},
      {"event_type", T::kString, false},
      {"event_time", T::kTimestampMillis, false},
      {"client_timestamp", T::kTimestampMillis, true},
      {"received_at", T::kTimestampMillis, false},
      {"user_id", T::kString, true},
      {"anonymous_id", T::kString, true},
      {"session_id", T::kString, true},
      {"platform", T::kString, true},
      {"source", T::kString, true},
      {"schema_version", T::kInt64, true},
      {"log_partition", T::kInt32, false},
      {"log_offset", T::kInt64, false},
      {"properties", T::kString, true},
  }};
}

Schema DlqTableSchema() {
  using T = ColumnType;
  return Schema{{
      {"reason", T::kString, true},
      {"message", T::kString, true},
      {"batch_index", T::kInt64, true},
      {"source", T::kString, true},
      {"received_at", T::kTimestampMillis, false},
      {"raw", T::kString, true},
      {"log_partition", T::kInt32, false},
      {"log_offset", T::kInt64, false},
  }};
}

}  // namespace tidemark::lake::bronze
