#include "realtime/query.h"

#include <fmt/format.h>

#include <charconv>
#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "common/time_format.h"
#include "event/json_writer.h"

namespace tidemark::realtime {
namespace {

using Metric = QueryRequest::Metric;
constexpr int64_t kMaxPoints = 100'000;  // per series: bounds the answer's size

Status Bad(std::string message) { return Status::InvalidArgument(std::move(message)); }

std::vector<std::string> SplitList(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t end = s.find(sep);
    std::string_view part = s.substr(0, end);
    if (!part.empty()) out.emplace_back(part);
    if (end == std::string_view::npos) break;
    s.remove_prefix(end + 1);
  }
  return out;
}

std::optional<int64_t> ParseTime(std::string_view s) {
  int64_t ms;
  auto r = std::from_chars(s.data(), s.data() + s.size(), ms);
  if (r.ec == std::errc() && r.ptr == s.data() + s.size()) return ms;
  return ParseRfc3339Millis(s);
}

const std::string* Param(const std::multimap<std::string, std::string>& params, const std::string& name) {
  auto it = params.find(name);
  return it == params.end() ? nullptr : &it->second;
}

void AppendNumber(std::string* out, double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15) {
    event::AppendJsonInt(out, static_cast<int64_t>(v));
  } else if (std::isfinite(v)) {
    out->append(fmt::format("{}", v));
  } else {
    out->append("null");
  }
}

}  // namespace

Result<QueryRequest> ParseQueryRequest(const std::multimap<std::string, std::string>& params,
                                       const std::vector<std::string>& dimensions, int64_t now_ms) {
  static const std::set<std::string> kKnown = {"metric", "from", "to", "step", "group_by", "where"};
  for (const auto& [name, value] : params) {
    if (!kKnown.count(name)) return Bad("unknown parameter '" + name + "' (metric, from, to, step, group_by, where)");
  }
  QueryRequest q;
  const std::string* metric = Param(params, "metric");
  if (!metric || metric->empty()) {
    return Bad("metric: required (events, users, sessions, late, dlq, sum:<property>, p50|p95|p99:<property>)");
  }
  q.metric_text = *metric;
  if (*metric == "events") q.metric = Metric::kEvents;
  else if (*metric == "users") q.metric = Metric::kUsers;
  else if (*metric == "sessions") q.metric = Metric::kSessions;
  else if (*metric == "late") q.metric = Metric::kLate;
  else if (*metric == "dlq") q.metric = Metric::kDlq;
  else {
    size_t colon = metric->find(':');
    std::string head = metric->substr(0, colon);
    if (colon == std::string::npos || colon + 1 == metric->size()) {
      return Bad("metric: unknown '" + *metric + "' (events, users, sessions, late, dlq, sum:<property>, p95:<property>)");
    }
    q.property = metric->substr(colon + 1);
    if (head == "sum") {
      q.metric = Metric::kSum;
    } else if (head.size() >= 2 && head[0] == 'p') {
      double pct;
      auto r = std::from_chars(head.data() + 1, head.data() + head.size(), pct);
      if (r.ec != std::errc() || r.ptr != head.data() + head.size() || !(pct > 0 && pct <= 100)) {
        return Bad("metric: quantile '" + head + "' must be p<percent> with 0 < percent <= 100, e.g. p95");
      }
      q.metric = Metric::kQuantile;
      q.quantile = pct / 100;
    } else {
      return Bad("metric: unknown aggregate '" + head + "' (sum or p<percent>)");
    }
  }
  const std::string* step = Param(params, "step");
  if (!step || *step == "1m") q.step_ms = 60'000;
  else if (*step == "5m") q.step_ms = 300'000;
  else if (*step == "1h") q.step_ms = 3'600'000;
  else if (*step == "1d") q.step_ms = 86'400'000;
  else return Bad("step: must be 1m, 5m, 1h or 1d, got '" + *step + "'");

  q.to_ms = now_ms;
  q.from_ms = now_ms - 3'600'000;
  if (const std::string* to = Param(params, "to")) {
    auto t = ParseTime(*to);
    if (!t) return Bad("to: not RFC 3339 or epoch milliseconds: '" + *to + "'");
    q.to_ms = *t;
  }
  if (const std::string* from = Param(params, "from")) {
    auto t = ParseTime(*from);
    if (!t) return Bad("from: not RFC 3339 or epoch milliseconds: '" + *from + "'");
    q.from_ms = *t;
  } else {
    q.from_ms = q.to_ms - 3'600'000;
  }
  if (q.from_ms >= q.to_ms) return Bad("from must be before to");
  if ((q.to_ms - q.from_ms) / q.step_ms > kMaxPoints) {
    return Bad("range too large for step: more than " + std::to_string(kMaxPoints) + " points");
  }
  auto known_dim = [&](const std::string& d) {
    return std::find(dimensions.begin(), dimensions.end(), d) != dimensions.end();
  };
  auto dims_list = [&]() {
    std::string s;
    for (const auto& d : dimensions) s += (s.empty() ? "" : ", ") + d;
    return s;
  };
  auto [gb_begin, gb_end] = params.equal_range("group_by");
  for (auto it = gb_begin; it != gb_end; ++it) {
    for (auto& d : SplitList(it->second, ',')) {
      if (!known_dim(d)) return Bad("group_by: unknown dimension '" + d + "' (" + dims_list() + ")");
      if (std::find(q.group_by.begin(), q.group_by.end(), d) == q.group_by.end()) q.group_by.push_back(d);
    }
  }
  auto [w_begin, w_end] = params.equal_range("where");
  for (auto it = w_begin; it != w_end; ++it) {
    for (auto& clause : SplitList(it->second, ',')) {
      size_t colon = clause.find(':');
      if (colon == std::string::npos || colon == 0) {
        return Bad("where: expected dimension:value, got '" + clause + "'");
      }
      std::string dim = clause.substr(0, colon);
      if (!known_dim(dim)) return Bad("where: unknown dimension '" + dim + "' (" + dims_list() + ")");
      q.where.emplace_back(dim, SplitList(std::string_view(clause).substr(colon + 1), '|'));
      if (q.where.back().second.empty()) q.where.back().second.push_back("");
    }
  }
  if (q.metric == Metric::kDlq && (!q.group_by.empty() || !q.where.empty())) {
    return Bad("metric dlq has no dimensions: group_by and where do not apply");
  }
  return q;
}

std::string RunQuery(const RealtimeStore& store, const QueryRequest& q) {
  // group key (values joined by \x1f) -> bucket start -> merged aggregate
  std::map<std::string, std::map<int64_t, WindowAggregate>> groups;
  auto visit = [&](int64_t ws, std::string_view dims, const WindowAggregate& agg) {
    for (const auto& [dim, values] : q.where) {
      std::string_view v;
      if (!stream::FindDim(dims, dim, &v)) v = "";
      if (std::find(values.begin(), values.end(), v) == values.end()) return;
    }
    std::string key;
    for (const auto& d : q.group_by) {
      std::string_view v;
      if (!stream::FindDim(dims, d, &v)) v = "";
      key.append(v);
      key.push_back(stream::kDimSeparator);
    }
    int64_t bucket = ws - ((ws % q.step_ms) + q.step_ms) % q.step_ms;
    groups[key][bucket].Merge(agg);
  };
  // Rows are selected by window start; a bucket only ever contains whole steps of minutes.
  auto scan = [&](RowKind kind) { store.Scan(kind, q.from_ms, q.to_ms, visit); };
  switch (q.metric) {
    case Metric::kEvents:
    case Metric::kUsers:
    case Metric::kSessions:
      scan(RowKind::kWindow);
      break;
    case Metric::kLate:
      scan(RowKind::kLate);
      break;
    case Metric::kDlq:
      scan(RowKind::kDlq);
      break;
    case Metric::kSum:
    case Metric::kQuantile:
      scan(q.property == stream::kSessionDurationProp || q.property == stream::kSessionEventsProp
               ? RowKind::kSession
               : RowKind::kWindow);
      break;
  }
  std::string out = "{\"metric\":";
  event::AppendJsonString(&out, q.metric_text);
  out += ",\"step_ms\":";
  event::AppendJsonInt(&out, q.step_ms);
  out += ",\"series\":[";
  bool first_series = true;
  for (const auto& [key, buckets] : groups) {
    std::string points;
    for (const auto& [t, agg] : buckets) {
      double v = 0;
      switch (q.metric) {
        case Metric::kEvents: v = static_cast<double>(agg.events); break;
        case Metric::kUsers: v = std::round(agg.users.Estimate()); break;
        case Metric::kSessions: v = static_cast<double>(agg.sessions); break;
        case Metric::kLate: v = static_cast<double>(agg.late); break;
        case Metric::kDlq: v = static_cast<double>(agg.dlq); break;
        case Metric::kSum:
        case Metric::kQuantile: {
          const stream::QuantileSketch* s = agg.FindProp(q.property);
          if (!s || s->count() == 0) continue;  // no values in this bucket: no point
          v = q.metric == Metric::kSum ? s->sum() : s->Quantile(q.quantile);
          break;
        }
      }
      points += points.empty() ? "[" : ",[";
      event::AppendJsonInt(&points, t);
      points += ',';
      AppendNumber(&points, v);
      points += ']';
    }
    if (points.empty()) continue;
    out += first_series ? "{\"group\":{" : ",{\"group\":{";
    first_series = false;
    std::string_view rest = key;
    for (size_t i = 0; i < q.group_by.size(); ++i) {
      size_t end = rest.find(stream::kDimSeparator);
      if (i) out += ',';
      event::AppendJsonString(&out, q.group_by[i]);
      out += ':';
      event::AppendJsonString(&out, rest.substr(0, end));
      rest.remove_prefix(end + 1);
    }
    out += "},\"points\":[";
    out += points;
    out += "]}";
  }
  out += "]}";
  return out;
}

gateway::HttpResponse HandleQueryRequest(const RealtimeStore& store, const std::vector<std::string>& dimensions,
                                         int64_t now_ms, const gateway::HttpRequest& request) {
  gateway::HttpResponse resp;
  if (request.method != "GET") {
    resp.status = 405;
    resp.headers["allow"] = "GET";
    resp.body = "{\"error\":\"method not allowed: use GET\"}";
    return resp;
  }
  auto q = ParseQueryRequest(request.query, dimensions, now_ms);
  if (!q.ok()) {
    resp.status = 400;
    resp.body = "{\"error\":";
    event::AppendJsonString(&resp.body, q.status().message());
    resp.body += "}";
    return resp;
  }
  resp.body = RunQuery(store, *q);
  return resp;
}

}  // namespace tidemark::realtime
