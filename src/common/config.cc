#include "common/config.h"

#include <toml++/toml.h>

#include <cassert>
#include <charconv>
#include <fstream>
#include <sstream>

namespace tidemark {
namespace {

using T = SettingType;

// The one table of settings. Keep names stable: config files and tests rely on them.
const std::vector<SettingDef> kSettings = {
    // server
    {"server.listen", T::kString, "127.0.0.1:8080", "HTTP listener for ingestion, queries and /metrics"},
    {"server.registry_listen", T::kString, "127.0.0.1:8081", "schema registry REST listener (Confluent's API); empty turns it off"},
    {"server.log_level", T::kString, "info", "trace|debug|info|warn|error"},
    // gateway
    {"gateway.io_threads", T::kInt, "0", "HTTP I/O threads; 0 means one per core"},
    {"gateway.max_event_bytes", T::kInt, "32768", "largest accepted event: bytes of its log value (compact JSON, or the encoded Avro when schema.enabled)"},
    {"gateway.max_request_bytes", T::kInt, "5242880", "largest request body, before and after decompression"},
    {"gateway.max_batch_events", T::kInt, "2000", "most events in one batch"},
    {"gateway.max_inflight_bytes", T::kInt, "268435456", "request bytes being processed at once; beyond it requests get 503"},
    {"gateway.rate_limit_events_per_second", T::kDouble, "0", "per-key token bucket refill rate in events/s; 0 disables rate limiting"},
    {"gateway.rate_limit_burst", T::kDouble, "0", "per-key token bucket size in events; 0 means twice the rate"},
    {"gateway.keepalive_timeout_ms", T::kInt, "60000", "idle keep-alive connections are closed after this long"},
    {"gateway.max_future_ms", T::kInt, "86400000", "events timed further in the future than this are rejected (timestamp_out_of_range)"},
    {"gateway.max_past_ms", T::kInt, "31536000000", "events timed further in the past than this are rejected (timestamp_out_of_range)"},
    {"gateway.dlq_raw_body_bytes", T::kInt, "65536", "an unparseable body is kept in dlq-events truncated to this many bytes"},
    {"gateway.retry_after_seconds", T::kInt, "1", "Retry-After sent with 503 answers"},
    // schema
    {"schema.enabled", T::kBool, "true", "validate events against the registry, mask PII and write Confluent-framed Avro; false writes canonical JSON unchecked"},
    {"schema.unknown_event_types", T::kString, "permissive", "event types without a registered schema: permissive (accepted under the generic schema) or strict (rejected, unknown_event_type)"},
    {"schema.unknown_event_types_by_source", T::kString, "", "per-source exceptions, e.g. \"ios-app:strict,partner:permissive\""},
    {"schema.pii_hash_secret", T::kString, "", "HMAC-SHA256 key for \"pii\":\"hash\" fields; empty: a random secret kept in DATA/pii-secret (mode 0600)"},
    // log
    {"log.segment_bytes", T::kInt, "268435456", "a partition rolls to a new segment file past this size"},
    {"log.index_interval_bytes", T::kInt, "4096", "bytes of records between two sparse index entries"},
    {"log.fsync_max_wait_us", T::kInt, "0", "group commit: longest an append waits for more appends to share its fsync"},
    {"log.sync_threads", T::kInt, "4", "threads that fdatasync a group-commit round's dirty partitions side by side (1: one after the other)"},
    {"log.max_pending_bytes", T::kInt, "268435456", "appended bytes waiting for fsync; beyond it appends fail with Unavailable (503)"},
    {"log.compression", T::kString, "none", "record batch codec: none|zstd"},
    {"log.retention_hours", T::kInt, "168", "segments whose newest record is older than this are deleted; 0 keeps forever"},
    {"log.retention_bytes", T::kInt, "0", "per-partition size bound; oldest segments go first; 0 means unbounded"},
    {"log.fsync", T::kBool, "true", "fsync before acknowledging (turn off only for throwaway benchmarks)"},
    // topics
    {"topics.user_events.partitions", T::kInt, "8", "partitions of user-events (key user_id)"},
    {"topics.server_events.partitions", T::kInt, "4", "partitions of server-events (key service)"},
    {"topics.dlq_events.partitions", T::kInt, "1", "partitions of dlq-events"},
    {"topics.late_events.partitions", T::kInt, "1", "partitions of late-events"},
    // stream (per partition task unless stated)
    {"stream.enabled", T::kBool, "true", "run the stream tasks in `tidemark serve` (log → windows, /v1/query); off answers /v1/query with 503"},
    {"stream.dedup_ttl_ms", T::kInt, "3600000", "an event_id seen within this much received_at time is a duplicate"},
    {"stream.dedup_max_keys", T::kInt, "4000000", "live event ids kept per partition (~18-24 bytes each); when full the task pauses, records stay in the log"},
    {"stream.dedup_expected_keys", T::kInt, "0", "pre-size each partition's dedup table for this many live ids (0 grows as ids arrive)"},
    {"stream.allowed_lateness_ms", T::kInt, "7200000", "watermark = max event time minus this; older windows are final and later events go to late-events"},
    {"stream.idle_timeout_ms", T::kInt, "60000", "a partition without records for this long no longer holds back the combined watermark"},
    {"stream.session_gap_ms", T::kInt, "1800000", "inactivity gap that ends a user session"},
    {"stream.max_open_sessions", T::kInt, "2000000", "open sessions per partition; beyond it the least recently active tenth close early"},
    {"stream.max_window_cells", T::kInt, "500000", "open (window, dimensions) cells per partition; beyond it new combinations count as __overflow__"},
    {"stream.dimensions", T::kString, "event_type,platform,app_version", "window dimensions: event_type, platform, app_version, source, browser, os, device_class, device_type"},
    {"stream.numeric_properties", T::kString, "revenue,duration_ms", "numeric properties summed and sketched (p50/p95/p99) per window"},
    {"stream.early_result_interval_ms", T::kInt, "1000", "open windows publish early results this often"},
    {"stream.checkpoint_interval_ms", T::kInt, "10000", "operator state and offsets are checkpointed this often"},
    {"stream.read_max_bytes", T::kInt, "4194304", "bytes read from the log per poll"},
    {"stream.late_alert_ratio", T::kDouble, "0.05", "alert when late events exceed this share of the last 5 minutes"},
    // realtime
    {"realtime.retention_days", T::kInt, "30", "window aggregates are kept this many days"},
    // batch
    {"batch.session_gap_minutes", T::kInt, "30", "silver sessions: a user's events without a session_id start a new session after this much inactivity"},
    {"batch.daily_run_utc", T::kString, "01:00", "UTC time of day (HH:MM) when serve rebuilds yesterday's silver and all gold"},
    {"batch.correction_interval_minutes", T::kInt, "60", "how often the scheduler runs the correction that rebuilds dates whose bronze changed (late events)"},
    {"batch.retention_days", T::kInt, "30", "gold retention reports days 1 … N after the first-seen date"},
    {"batch.ab_conversion_event", T::kString, "purchase", "A/B results: the event type that counts as a conversion"},
    {"batch.ab_conversion_window_hours", T::kInt, "168", "A/B results: a conversion counts within this long after the user's first exposure"},
    {"batch.ab_control_variant", T::kString, "control", "A/B results: the variant others are compared with"},
    {"batch.ab_srm_p_threshold", T::kDouble, "0.001", "A/B results: a sample-ratio-mismatch chi-square p-value below this flags a broken split"},
    {"batch.threads", T::kInt, "2", "threads the batch jobs use to read and write lake files"},
    // lake
    {"lake.enabled", T::kBool, "true", "run the bronze writer in `tidemark serve` (log → data/lake/bronze)"},
    {"lake.flush_interval_ms", T::kInt, "300000", "the bronze writer commits buffered rows once the oldest has waited this long"},
    {"lake.flush_bytes", T::kInt, "67108864", "the bronze writer commits once its micro-batches hold this many bytes of records"},
    {"lake.stream_rows", T::kInt, "8192", "rows the bronze writer buffers per table before streaming them into the micro-batch's Parquet files"},
    {"lake.poll_interval_ms", T::kInt, "100", "the bronze writer polls the log this often when it has caught up"},
    {"lake.max_context_columns", T::kInt, "256", "context_<field> columns per bronze table; values of further fields are not stored"},
    {"lake.zstd_level", T::kInt, "-2", "ZSTD level of lake Parquet pages; negative ones are ZSTD's fast levels, literals still Huffman-coded"},
};

bool ParseInt(std::string_view s, int64_t* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool ParseDouble(std::string_view s, double* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

const SettingDef* FindDef(std::string_view name) {
  for (const auto& d : kSettings) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

std::string TomlQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void Flatten(const toml::table& table, const std::string& prefix,
             std::vector<std::pair<std::string, const toml::node*>>* out) {
  for (const auto& [k, node] : table) {
    std::string name = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* sub = node.as_table()) {
      Flatten(*sub, name, out);
    } else {
      out->emplace_back(name, &node);
    }
  }
}

}  // namespace

const std::vector<SettingDef>& AllSettings() { return kSettings; }

Config::Config() {
  for (const auto& d : kSettings) values_[d.name] = d.default_value;
}

Status Config::Set(std::string_view name, std::string_view value) {
  const SettingDef* def = FindDef(name);
  if (!def) return Status::InvalidArgument("unknown setting '" + std::string(name) + "'");
  std::string v(value);
  switch (def->type) {
    case T::kInt: {
      int64_t parsed;
      if (!ParseInt(v, &parsed)) {
        return Status::InvalidArgument("setting " + std::string(name) + " takes an integer, got '" + v + "'");
      }
      break;
    }
    case T::kDouble: {
      double parsed;
      if (!ParseDouble(v, &parsed)) {
        return Status::InvalidArgument("setting " + std::string(name) + " takes a number, got '" + v + "'");
      }
      break;
    }
    case T::kBool:
      if (v != "true" && v != "false") {
        return Status::InvalidArgument("setting " + std::string(name) + " takes true or false, got '" + v + "'");
      }
      break;
    case T::kString:
      break;
  }
  values_[std::string(name)] = std::move(v);
  return Status::Ok();
}

Status Config::SetAssignment(std::string_view assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string_view::npos) {
    return Status::InvalidArgument("--set takes KEY=VALUE, got '" + std::string(assignment) + "'");
  }
  return Set(assignment.substr(0, eq), assignment.substr(eq + 1));
}

Status Config::LoadTomlString(std::string_view text, std::string_view origin) {
  toml::table table;
  try {
    table = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ": " << e.description();
    return Status::InvalidArgument(msg.str());
  }
  if (auto* keys = table.get_as<toml::array>("keys")) {
    for (const auto& node : *keys) {
      const auto* t = node.as_table();
      if (!t) return Status::InvalidArgument(std::string(origin) + ": [[keys]] entries must be tables");
      ConfiguredKey k;
      k.key = t->get_as<std::string>("key") ? **t->get_as<std::string>("key") : "";
      k.source = t->get_as<std::string>("source") ? **t->get_as<std::string>("source") : "";
      k.platform = t->get_as<std::string>("platform") ? **t->get_as<std::string>("platform") : "server";
      if (const auto* scopes = t->get_as<toml::array>("scopes")) {
        for (const auto& s : *scopes) {
          if (auto v = s.value<std::string>()) k.scopes.push_back(*v);
        }
      } else {
        k.scopes = {"write"};
      }
      if (k.key.empty() || k.source.empty()) {
        return Status::InvalidArgument(std::string(origin) + ": a [[keys]] entry needs key and source");
      }
      keys_.push_back(std::move(k));
    }
    table.erase("keys");
  }
  std::vector<std::pair<std::string, const toml::node*>> flat;
  Flatten(table, "", &flat);
  for (const auto& [name, node] : flat) {
    std::string value;
    if (auto s = node->value<std::string>()) {
      value = *s;
    } else if (node->is_integer()) {
      value = std::to_string(*node->value<int64_t>());
    } else if (node->is_floating_point()) {
      std::ostringstream os;
      os << *node->value<double>();
      value = os.str();
    } else if (auto b = node->value<bool>()) {
      value = *b ? "true" : "false";
    } else {
      return Status::InvalidArgument(std::string(origin) + ": setting " + name + " has an unsupported type");
    }
    Status st = Set(name, value);
    if (!st.ok()) return Status::InvalidArgument(std::string(origin) + ": " + st.message());
  }
  return Status::Ok();
}

Status Config::LoadTomlFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("config file " + path + " cannot be opened");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return LoadTomlString(buffer.str(), path);
}

const std::string& Config::Raw(std::string_view name) const {
  auto it = values_.find(name);
  assert(it != values_.end() && "Config: setting read but not declared in kSettings");
  return it->second;
}

int64_t Config::GetInt(std::string_view name) const {
  int64_t v = 0;
  ParseInt(Raw(name), &v);
  return v;
}

double Config::GetDouble(std::string_view name) const {
  double v = 0;
  ParseDouble(Raw(name), &v);
  return v;
}

bool Config::GetBool(std::string_view name) const { return Raw(name) == "true"; }

const std::string& Config::GetString(std::string_view name) const { return Raw(name); }

std::string Config::DumpToml() const {
  std::ostringstream out;
  std::string section;
  for (const auto& d : kSettings) {
    std::string_view name(d.name);
    auto dot = name.rfind('.');
    std::string sec(name.substr(0, dot));
    if (sec != section) {
      out << (section.empty() ? "" : "\n") << "[" << sec << "]\n";
      section = sec;
    }
    out << "# " << d.help << "\n";
    const std::string& v = Raw(d.name);
    out << name.substr(dot + 1) << " = " << (d.type == T::kString ? TomlQuote(v) : v) << "\n";
  }
  return out.str();
}

}  // namespace tidemark
