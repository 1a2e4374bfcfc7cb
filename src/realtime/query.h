// GET /v1/query over the real-time store (DESIGN §2 "Query API"): parses and checks the
// parameters, merges one-minute cells into the requested step (HyperLogLogs and quantile
// sketches merge, so an hour's unique users or p95 is computed from the hour's merged
// sketch, not from minute answers) and renders the JSON series.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "gateway/gateway.h"
#include "realtime/realtime_store.h"

namespace tidemark::realtime {

struct QueryRequest {
  enum class Metric { kEvents, kUsers, kSessions, kLate, kDlq, kSum, kQuantile };
  std::string metric_text;  // as given: "p95:duration_ms"
  Metric metric = Metric::kEvents;
  std::string property;     // for kSum and kQuantile
  double quantile = 0;      // for kQuantile, in [0, 1]
  int64_t from_ms = 0;      // inclusive window start
  int64_t to_ms = 0;        // exclusive
  int64_t step_ms = 60'000;
  std::vector<std::string> group_by;
  std::vector<std::pair<std::string, std::vector<std::string>>> where;  // dim -> allowed values
};

// InvalidArgument with a message fit for the 400 body ("step: must be 1m, 5m, 1h or 1d").
// dimensions are the configured window dimensions; now_ms fills defaults (last hour).
Result<QueryRequest> ParseQueryRequest(const std::multimap<std::string, std::string>& params,
                                       const std::vector<std::string>& dimensions, int64_t now_ms);

// {"metric":…,"step_ms":…,"series":[{"group":{…},"points":[[t,v],…]}]}
std::string RunQuery(const RealtimeStore& store, const QueryRequest& request);

// The whole route: 200 with the series, 400 {"error":"…"} for bad parameters.
gateway::HttpResponse HandleQueryRequest(const RealtimeStore& store, const std::vector<std::string>& dimensions,
                                         int64_t now_ms, const gateway::HttpRequest& request);

}  // namespace tidemark::realtime
