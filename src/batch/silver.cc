// The silver job: per event date, every bronze row of that date → one row per event_id
// (silver.events) → sessions (silver.sessions). A date is always rebuilt whole from all of its
// bronze files, so a rebuild after late files is the same as a first build over all of them.
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "batch/batch_internal.h"
#include "common/hashing.h"
#include "lake/bronze_schema.h"

namespace tidemark::batch::internal {
namespace {

using lake::Column;
using lake::ColumnBatch;
using lake::ColumnType;
using lake::Schema;

// Bronze columns the job reads, in this order.
enum BronzeColumn {
  kEventId, kEventType, kEventTime, kReceivedAt, kUserId, kAnonymousId, kSessionId,
  kPlatform, kSource, kSchemaVersion, kLogPartition, kLogOffset, kProperties,
};

Schema BronzeReadSchema() {
  const Schema full = lake::bronze::EventTableSchema();
  Schema s;
  for (const char* name : {"event_id", "event_type", "event_time", "received_at", "user_id",
                           "anonymous_id", "session_id", "platform", "source", "schema_version",
                           "log_partition", "log_offset", "properties"}) {
    s.fields.push_back(full.fields[static_cast<size_t>(full.FindField(name))]);
  }
  return s;
}

// Copies rows `rows` of src, in that order, to the end of dst.
void Gather(const Column& src, const std::vector<uint32_t>& rows, Column* dst) {
  const bool nulls = src.has_nulls();
  switch (src.type()) {
    case ColumnType::kString: {
      size_t bytes = 0;
      for (const uint32_t r : rows) bytes += src.StringAt(r).size();
      dst->Reserve(dst->size() + rows.size(), dst->string_bytes().size() + bytes);
      for (const uint32_t r : rows) {
        if (nulls && src.IsNull(r))
          dst->AppendNull();
        else
          dst->AppendString(src.StringAt(r));
      }
      return;
    }
    case ColumnType::kInt64:
    case ColumnType::kTimestampMillis:
      dst->Reserve(dst->size() + rows.size());
      for (const uint32_t r : rows) {
        if (nulls && src.IsNull(r))
          dst->AppendNull();
        else
          dst->AppendInt64(src.Int64At(r));
      }
      return;
    case ColumnType::kInt32:
      dst->Reserve(dst->size() + rows.size());
      for (const uint32_t r : rows) {
        if (nulls && src.IsNull(r))
          dst->AppendNull();
        else
          dst->AppendInt32(src.Int32At(r));
      }
      return;
    case ColumnType::kDouble:
      for (const uint32_t r : rows) {
        if (nulls && src.IsNull(r))
          dst->AppendNull();
        else
          dst->AppendDouble(src.DoubleAt(r));
      }
      return;
    case ColumnType::kBoolean:
      for (const uint32_t r : rows) {
        if (nulls && src.IsNull(r))
          dst->AppendNull();
        else
          dst->AppendBool(src.BoolAt(r));
      }
      return;
  }
}

// One bronze row per event_id: the first received; ties go to the lowest (log_partition,
// log_offset), then to user_events over server_events. Open addressing over row indices,
// keyed by the event id's hash: a million ids cost one allocation.
std::vector<uint32_t> FirstOccurrences(const ColumnBatch& rows, size_t server_from) {
  const Column& ids = rows.column(kEventId);
  const Column& received = rows.column(kReceivedAt);
  const Column& partition = rows.column(kLogPartition);
  const Column& offset = rows.column(kLogOffset);
  const size_t n = rows.num_rows();
  size_t capacity = 16;
  while (capacity < n * 2) capacity <<= 1;
  std::vector<uint32_t> slots(capacity, UINT32_MAX);
  auto earlier = [&](uint32_t a, uint32_t b) {
    const int64_t ra = received.Int64At(a), rb = received.Int64At(b);
    if (ra != rb) return ra < rb;
    const int32_t pa = partition.Int32At(a), pb = partition.Int32At(b);
    if (pa != pb) return pa < pb;
    const int64_t oa = offset.Int64At(a), ob = offset.Int64At(b);
    if (oa != ob) return oa < ob;
    return (a >= server_from) < (b >= server_from);
  };
  for (uint32_t r = 0; r < n; ++r) {
    const std::string_view id = ids.StringAt(r);
    size_t slot = Hash64(id) & (capacity - 1);
    for (;;) {
      uint32_t& s = slots[slot];
      if (s == UINT32_MAX) {
        s = r;
        break;
      }
      if (ids.StringAt(s) == id) {
        if (earlier(r, s)) s = r;
        break;
      }
      slot = (slot + 1) & (capacity - 1);
    }
  }
  std::vector<uint32_t> keep;
  keep.reserve(n);
  for (const uint32_t s : slots)
    if (s != UINT32_MAX) keep.push_back(s);
  return keep;
}

// properties.revenue (a JSON number), properties.experiment and properties.variant (JSON
// strings), from the top level of the properties object. Anything else is NULL.
class PropertyExtractor {
 public:
  struct Values {
    std::optional<double> revenue;
    std::optional<std::string_view> experiment, variant;
  };

  Values Extract(std::string_view json) {
    Values v;
    // Most events carry neither key; skip the parse for them.
    const bool has_revenue = json.find("\"revenue\"") != std::string_view::npos;
    const bool has_experiment = json.find("\"experiment\"") != std::string_view::npos;
    if (!has_revenue && !has_experiment) return v;
    buffer_.assign(json);
    buffer_.resize(json.size() + simdjson::SIMDJSON_PADDING);
    simdjson::ondemand::document doc;
    if (parser_.iterate(buffer_.data(), json.size(), buffer_.size()).get(doc)) return v;
    simdjson::ondemand::object obj;
    if (doc.get_object().get(obj)) return v;
    experiment_.clear();
    variant_.clear();
    bool got_experiment = false, got_variant = false;
    for (auto field : obj) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return {};
      simdjson::ondemand::value value;
      if (field.value().get(value)) return {};
      simdjson::ondemand::json_type type;
      if (value.type().get(type)) return {};
      if (key == "revenue") {
        double d;
        if (type == simdjson::ondemand::json_type::number && !value.get_double().get(d)) {
          v.revenue = d;
        } else {
          v.revenue.reset();
        }
      } else if (key == "experiment" || key == "variant") {
        std::string_view s;
        std::string& slot = key == "experiment" ? experiment_ : variant_;
        bool& got = key == "experiment" ? got_experiment : got_variant;
        if (type == simdjson::ondemand::json_type::string && !value.get_string().get(s)) {
          slot.assign(s);
          got = true;
        } else {
          got = false;
        }
      }
    }
    if (got_experiment) v.experiment = experiment_;
    if (got_variant) v.variant = variant_;
    return v;
  }

 private:
  simdjson::ondemand::parser parser_;
  std::string buffer_;
  std::string experiment_, variant_;
};

struct DateOutput {
  std::unique_ptr<ColumnBatch> events;
  std::unique_ptr<ColumnBatch> sessions;
  SilverDateState state;
};

// Sessions of one date's silver rows (which are ordered by event_time, event_id).
void Sessionize(const ColumnBatch& ev, const BatchOptions& options, ColumnBatch* out) {
  const Column& user = ev.column(4);
  const Column& session = ev.column(7);
  const Column& platform = ev.column(8);
  const Column& time = ev.column(2);
  const size_t n = ev.num_rows();
  // Users as small integers, so the ordering below compares integers, not strings.
  std::unordered_map<std::string_view, uint32_t> user_ids;
  user_ids.reserve(n / 4 + 16);
  std::vector<uint32_t> uid(n, UINT32_MAX);
  for (size_t r = 0; r < n; ++r) {
    if (user.IsNull(r)) continue;
    uid[r] = user_ids.try_emplace(user.StringAt(r), static_cast<uint32_t>(user_ids.size()))
                 .first->second;
  }
  struct Session {
    uint32_t first_row;  // earliest event: gives user, platform
    int64_t start, end, count;
    bool client;  // the client's session_id
  };
  std::vector<Session> sessions;
  // Client sessions: every event of (user, session_id). Rows arrive in time order, so the
  // first row seen is the earliest.
  std::unordered_map<std::string, size_t> client;
  std::string key;
  std::vector<uint32_t> gap_rows;
  gap_rows.reserve(n);
  for (uint32_t r = 0; r < n; ++r) {
    if (uid[r] == UINT32_MAX) continue;
    if (session.IsNull(r)) {
      gap_rows.push_back(r);
      continue;
    }
    key.assign(reinterpret_cast<const char*>(&uid[r]), sizeof(uint32_t));
    key.append(session.StringAt(r));
    auto [it, inserted] = client.try_emplace(key, sessions.size());
    const int64_t t = time.Int64At(r);
    if (inserted) {
      sessions.push_back({r, t, t, 1, true});
    } else {
      Session& s = sessions[it->second];
      s.end = std::max(s.end, t);
      s.count += 1;
    }
  }
  // The rest: per user in time order, a gap longer than session_gap_ms starts a session.
  // The stable sort keeps (event_time, event_id) order within a user.
  std::stable_sort(gap_rows.begin(), gap_rows.end(),
                   [&](uint32_t a, uint32_t b) { return uid[a] < uid[b]; });
  for (size_t i = 0; i < gap_rows.size(); ++i) {
    const uint32_t r = gap_rows[i];
    const int64_t t = time.Int64At(r);
    if (i > 0 && uid[gap_rows[i - 1]] == uid[r] &&
        t - sessions.back().end <= options.session_gap_ms && !sessions.back().client) {
      sessions.back().end = t;
      sessions.back().count += 1;
    } else {
      sessions.push_back({r, t, t, 1, false});
    }
  }
  std::vector<uint32_t> order(sessions.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (sessions[a].start != sessions[b].start) return sessions[a].start < sessions[b].start;
    return sessions[a].first_row < sessions[b].first_row;
  });
  for (size_t c = 0; c < out->num_columns(); ++c) out->column(c).Reserve(sessions.size());
  for (const uint32_t i : order) {
    const Session& s = sessions[i];
    out->column(0).AppendString(user.StringAt(s.first_row));
    if (s.client)
      out->column(1).AppendString(session.StringAt(s.first_row));
    else
      out->column(1).AppendNull();
    out->column(2).AppendInt64(s.start);
    out->column(3).AppendInt64(s.end);
    out->column(4).AppendInt64(s.end - s.start);
    out->column(5).AppendInt64(s.count);
    if (platform.IsNull(s.first_row))
      out->column(6).AppendNull();
    else
      out->column(6).AppendString(platform.StringAt(s.first_row));
  }
}

Result<DateOutput> BuildDate(const std::string& date, BronzeFiles& bronze,
                             const std::unordered_set<std::string_view>& deleted,
                             const Schema& events_schema, const Schema& sessions_schema,
                             const BatchOptions& options) {
  const Schema want = BronzeReadSchema();
  ColumnBatch rows(want);
  size_t server_from = 0;
  for (const lake::Table* t : {bronze.user_events.get(), bronze.server_events.get()}) {
    if (t == bronze.server_events.get()) server_from = rows.num_rows();
    if (t == nullptr) continue;
    std::vector<const lake::DataFile*> files;
    for (const lake::DataFile& f : t->current().files)
      if (f.event_date == date) files.push_back(&f);
    if (files.empty()) continue;
    ASSIGN_OR_RETURN(ColumnBatch part, ReadFiles(*t, files, want, options.threads));
    if (rows.num_rows() == 0) {
      rows = std::move(part);
    } else {
      for (size_t c = 0; c < want.fields.size(); ++c)
        rows.column(c).AppendRange(part.column(c), 0, part.num_rows());
    }
  }
  DateOutput out;
  out.state.bronze_rows = static_cast<int64_t>(rows.num_rows());
  std::vector<uint32_t> keep = FirstOccurrences(rows, server_from);
  out.state.duplicates = static_cast<int64_t>(rows.num_rows() - keep.size());
  if (!deleted.empty()) {
    const Column& u = rows.column(kUserId);
    const Column& a = rows.column(kAnonymousId);
    const size_t before = keep.size();
    std::erase_if(keep, [&](uint32_t r) {
      return (!u.IsNull(r) && deleted.count(u.StringAt(r))) ||
             (!a.IsNull(r) && deleted.count(a.StringAt(r)));
    });
    out.state.deleted = static_cast<int64_t>(before - keep.size());
  }
  const Column& times = rows.column(kEventTime);
  const Column& ids = rows.column(kEventId);
  std::sort(keep.begin(), keep.end(), [&](uint32_t a, uint32_t b) {
    const int64_t ta = times.Int64At(a), tb = times.Int64At(b);
    if (ta != tb) return ta < tb;
    return ids.StringAt(a) < ids.StringAt(b);
  });
  out.state.silver_rows = static_cast<int64_t>(keep.size());

  out.events = std::make_unique<ColumnBatch>(events_schema);
  ColumnBatch& ev = *out.events;
  const int copied[][2] = {{0, kEventId},        {1, kEventType},     {2, kEventTime},
                           {3, kReceivedAt},     {5, kUserId},        {6, kAnonymousId},
                           {7, kSessionId},      {8, kPlatform},      {9, kSource},
                           {10, kSchemaVersion}, {11, kLogPartition}, {12, kLogOffset},
                           {13, kProperties}};
  for (const auto& [to, from] : copied) Gather(rows.column(from), keep, &ev.column(to));
  {
    const Column& u = rows.column(kUserId);
    const Column& a = rows.column(kAnonymousId);
    Column& key = ev.column(4);
    key.Reserve(keep.size());
    for (const uint32_t r : keep) {
      if (!u.IsNull(r))
        key.AppendString(u.StringAt(r));
      else if (!a.IsNull(r))
        key.AppendString(a.StringAt(r));
      else
        key.AppendNull();
    }
  }
  {
    PropertyExtractor extractor;
    const Column& props = rows.column(kProperties);
    Column& revenue = ev.column(14);
    Column& experiment = ev.column(15);
    Column& variant = ev.column(16);
    for (const uint32_t r : keep) {
      PropertyExtractor::Values v;
      if (!props.IsNull(r)) v = extractor.Extract(props.StringAt(r));
      if (v.revenue)
        revenue.AppendDouble(*v.revenue);
      else
        revenue.AppendNull();
      if (v.experiment)
        experiment.AppendString(*v.experiment);
      else
        experiment.AppendNull();
      if (v.variant)
        variant.AppendString(*v.variant);
      else
        variant.AppendNull();
    }
  }
  out.sessions = std::make_unique<ColumnBatch>(sessions_schema);
  Sessionize(ev, options, out.sessions.get());
  return out;
}

}  // namespace

Status RunSilver(const std::string& data_dir, const std::vector<std::string>& dates,
                 const BatchOptions& options, BronzeFiles& bronze, SilverState& state,
                 BatchRunStats& stats) {
  if (dates.empty()) return Status::Ok();
  const auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(auto events, OpenOrCreate(data_dir, kSilver, kSilverEvents,
                                             SilverEventsSchema(), "event_time"));
  ASSIGN_OR_RETURN(auto sessions, OpenOrCreate(data_dir, kSilver, kSilverSessions,
                                               SilverSessionsSchema(), "session_start"));
  std::unordered_set<std::string_view> deleted(options.deleted_users.begin(),
                                               options.deleted_users.end());
  std::vector<lake::DataFile> events_added, sessions_added;
  std::vector<std::string> events_removed, sessions_removed;
  SilverState next = state;
  for (const std::string& date : dates) {
    ASSIGN_OR_RETURN(DateOutput out, BuildDate(date, bronze, deleted, events->current().schema,
                                               sessions->current().schema, options));
    ASSIGN_OR_RETURN(auto ev_files, events->WriteFiles(*out.events));
    ASSIGN_OR_RETURN(auto se_files, sessions->WriteFiles(*out.sessions));
    events_added.insert(events_added.end(), ev_files.begin(), ev_files.end());
    sessions_added.insert(sessions_added.end(), se_files.begin(), se_files.end());
    for (const lake::DataFile& f : events->current().files)
      if (f.event_date == date) events_removed.push_back(f.path);
    for (const lake::DataFile& f : sessions->current().files)
      if (f.event_date == date) sessions_removed.push_back(f.path);
    auto fp = bronze.fingerprints.find(date);
    out.state.fingerprint = fp == bronze.fingerprints.end() ? 0 : fp->second;
    if (out.state.bronze_rows == 0)
      next.erase(date);
    else
      next[date] = out.state;
    stats.silver_dates.push_back(date);
    stats.bronze_rows += out.state.bronze_rows;
    stats.silver_rows += out.state.silver_rows;
    stats.duplicates += out.state.duplicates;
    stats.deleted_rows += out.state.deleted;
    stats.sessions += static_cast<int64_t>(out.sessions->num_rows());
  }
  // One snapshot per table for the whole run: readers see all rebuilt dates at once.
  RETURN_IF_ERROR(events->Commit(events_added, events_removed, {}));
  RETURN_IF_ERROR(sessions->Commit(sessions_added, sessions_removed, {}));
  RETURN_IF_ERROR(SaveSilverState(data_dir, next));
  state = std::move(next);
  stats.silver_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return Status::Ok();
}

}  // namespace tidemark::batch::internal
