#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "batch/event_generator_internal.h"
#include "common/hashing.h"
#include "lake/bronze_schema.h"
#include "lake/table.h"

namespace tidemark::batch::testing {
namespace {

constexpr int64_t kDay = 86'400'000;
constexpr int kPartitions = 8;

// splitmix64: fast, deterministic, good enough for synthetic data.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double Uniform() { return (Next() >> 11) * (1.0 / 9007199254740992.0); }
  int64_t Range(int64_t lo, int64_t hi) {  // [lo, hi]
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(double p) { return Uniform() < p; }

 private:
  uint64_t s_;
};

struct Experiment {
  const char* name;
  std::vector<const char*> variants;
  std::vector<double> weights;
  std::vector<double> purchase_boost;
  double exposure_share;
};

const std::vector<Experiment>& Experiments() {
  static const std::vector<Experiment> kExperiments = {
      {"checkout_button", {"control", "treatment"}, {0.5, 0.5}, {1.0, 1.25}, 0.6},
      // A broken split: the assignment service favours control.
      {"onboarding_flow", {"control", "short", "video"}, {0.50, 0.25, 0.25}, {1.0, 1.1, 0.9}, 0.4},
      {"pricing_page", {"control", "annual_first"}, {0.5, 0.5}, {1.0, 1.0}, 0.05},
  };
  return kExperiments;
}

class ChunkBuilder {
 public:
  ChunkBuilder(const lake::Schema& schema, bool server) : batch_(schema), server_(server) {}

  struct Row {
    std::string event_id;
    const char* event_type;
    int64_t event_time, received_at;
    const std::string* user_id;
    const std::string* anonymous_id;
    const std::string* session_id;
    const char* platform;
    const char* source;
    int32_t partition;
    int64_t offset;
    std::string properties;
    const char* device;
    double lat;
  };

  void Append(const Row& r) {
    auto& c = batch_;
    c.column(0).AppendString(r.event_id);
    c.column(1).AppendString(r.event_type);
    c.column(2).AppendInt64(r.event_time);
    c.column(3).AppendInt64(r.event_time);  // client_timestamp (no skew in this data)
    c.column(4).AppendInt64(r.received_at);
    auto str = [](lake::Column& col, const std::string* s) {
      if (s)
        col.AppendString(*s);
      else
        col.AppendNull();
    };
    str(c.column(5), r.user_id);
    str(c.column(6), r.anonymous_id);
    str(c.column(7), r.session_id);
    if (r.platform)
      c.column(8).AppendString(r.platform);
    else
      c.column(8).AppendNull();
    c.column(9).AppendString(r.source);
    c.column(10).AppendInt64(1);
    c.column(11).AppendInt32(r.partition);
    c.column(12).AppendInt64(r.offset);
    if (r.properties.empty())
      c.column(13).AppendNull();
    else
      c.column(13).AppendString(r.properties);
    if (!server_) {
      c.column(14).AppendString(r.device);
      c.column(15).AppendDouble(r.lat);
    }
  }
  lake::ColumnBatch& batch() { return batch_; }

 private:
  lake::ColumnBatch batch_;
  bool server_;
};

}  // namespace

lake::Schema GeneratedUserEventsSchema() {
  lake::Schema s = lake::bronze::EventTableSchema();
  s.fields.push_back({"context_device_type", lake::ColumnType::kString, true});
  s.fields.push_back({"context_geo_lat", lake::ColumnType::kDouble, true});
  return s;
}

Status GenerateEvents(
    const GeneratorOptions& options,
    const std::function<Status(const lake::ColumnBatch& chunk, bool server)>& sink) {
  Rng rng(options.seed);
  const lake::Schema user_schema = GeneratedUserEventsSchema();
  const lake::Schema server_schema = lake::bronze::EventTableSchema();
  auto chunk = std::make_unique<ChunkBuilder>(user_schema, false);
  auto server_chunk = std::make_unique<ChunkBuilder>(server_schema, true);
  std::vector<int64_t> offsets(kPartitions, 0);
  std::vector<int64_t> server_offsets(4, 0);
  int64_t produced = 0;
  uint64_t id_counter = 0;
  auto new_id = [&] {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%016llx-%06llx",
                  static_cast<unsigned long long>(Hash64(std::to_string(id_counter), options.seed)),
                  static_cast<unsigned long long>(id_counter & 0xffffff));
    ++id_counter;
    return std::string(buf);
  };
  static const char* kPlatforms[] = {"web", "ios", "android"};
  static const char* kDevices[] = {"desktop", "phone", "tablet"};
  static const char* kWebEvents[] = {"page_view", "page_view", "page_view", "click", "click",
                                     "search", "add_to_cart"};
  static const char* kAppEvents[] = {"screen_view", "screen_view", "screen_view", "tap", "tap",
                                     "search", "add_to_cart", "app_open"};
  const int64_t end_ms = (options.start_day + options.days) * kDay;
  int64_t user_no = 0;
  while (produced < options.events) {
    const std::string user = "u" + std::to_string(options.seed) + "-" + std::to_string(user_no);
    ++user_no;
    const int platform_idx = static_cast<int>(rng.Next() % 3);
    const char* platform = rng.Chance(0.01) ? nullptr : kPlatforms[platform_idx];
    const bool mobile = platform_idx != 0;
    const bool anonymous = rng.Chance(0.1);
    const std::string* uid = anonymous ? nullptr : &user;
    const std::string* aid = anonymous ? &user : nullptr;
    const int32_t partition = static_cast<int32_t>(Hash64(user) % kPartitions);
    const double lat = rng.Uniform() * 120 - 60;
    const char* device = kDevices[rng.Next() % 3];
    // First day, then returns with a decaying probability.
    const int64_t first_day = options.start_day + static_cast<int64_t>(
        std::pow(rng.Uniform(), 1.3) * options.days);
    std::vector<int64_t> active_days = {first_day};
    double p_return = 0.45;
    for (int64_t d = first_day + 1; d < options.start_day + options.days; ++d) {
      if (rng.Chance(p_return)) active_days.push_back(d);
      p_return *= 0.97;
    }
    // Experiment assignment at first exposure; one user in 200 is later shown another variant.
    struct Assignment {
      const Experiment* e;
      size_t variant;
      bool exposed = false;
    };
    std::vector<Assignment> assignments;
    for (const Experiment& e : Experiments()) {
      if (!rng.Chance(e.exposure_share)) continue;
      double u = rng.Uniform();
      size_t v = 0;
      while (v + 1 < e.variants.size() && u >= e.weights[v]) u -= e.weights[v++];
      assignments.push_back({&e, v});
    }
    for (const int64_t day : active_days) {
      const int sessions = static_cast<int>(rng.Range(1, 3));
      int64_t t = day * kDay + rng.Range(0, kDay * 2 / 3);
      for (int s = 0; s < sessions && t < (day + 1) * kDay; ++s) {
        const std::string session_id = mobile ? new_id() : std::string();
        const int events = static_cast<int>(rng.Range(2, 16));
        for (int i = 0; i < events; ++i) {
          // Mostly seconds to minutes apart; sometimes a pause past the 30-minute gap.
          t += rng.Chance(0.04) ? rng.Range(31 * 60'000, 50 * 60'000) : rng.Range(1'000, 240'000);
          if (t >= end_ms || t >= (day + 1) * kDay) break;
          ChunkBuilder::Row r;
          r.event_time = t;
          r.user_id = uid;
          r.anonymous_id = aid;
          r.session_id = mobile ? &session_id : nullptr;
          r.platform = platform;
          r.source = mobile ? "mobile-sdk" : "web-sdk";
          r.partition = partition;
          r.device = device;
          r.lat = lat;
          r.event_type = mobile ? kAppEvents[rng.Next() % 8] : kWebEvents[rng.Next() % 7];
          if (i == 0 && !assignments.empty()) {
            Assignment& a = assignments[rng.Next() % assignments.size()];
            size_t v = a.variant;
            if (a.exposed && rng.Chance(0.005)) v = (v + 1) % a.e->variants.size();
            a.exposed = true;
            r.event_type = "experiment_exposure";
            r.properties = std::string("{\"experiment\":\"") + a.e->name + "\",\"variant\":\"" +
                           a.e->variants[v] + "\"}";
          } else if (rng.Chance(0.012)) {
            double boost = 1.0;
            for (const Assignment& a : assignments)
              if (a.exposed) boost *= a.e->purchase_boost[a.variant];
            if (rng.Chance(std::min(1.0, 0.6 * boost))) {
              r.event_type = "purchase";
              const int64_t cents = rng.Range(199, 25'000);
              char buf[96];
              if (rng.Chance(0.02)) {
                // A client that sends revenue as text: not a number, so not revenue.
                std::snprintf(buf, sizeof buf, "{\"revenue\":\"%lld.%02lld\",\"currency\":\"USD\"}",
                              static_cast<long long>(cents / 100), static_cast<long long>(cents % 100));
              } else {
                std::snprintf(buf, sizeof buf, "{\"revenue\":%lld.%02lld,\"currency\":\"USD\",\"items\":%d}",
                              static_cast<long long>(cents / 100), static_cast<long long>(cents % 100),
                              static_cast<int>(rng.Range(1, 4)));
              }
              r.properties = buf;
            }
          }
          if (r.properties.empty() && rng.Chance(0.5)) {
            r.properties = "{\"path\":\"/p/" + std::to_string(rng.Next() % 500) + "\"}";
          }
          r.received_at = rng.Chance(options.late_share)
                              ? t + rng.Range(2 * 3'600'000, 3 * kDay)
                              : t + rng.Range(40, 3'000);
          r.event_id = new_id();
          r.offset = offsets[partition]++;
          chunk->Append(r);
          ++produced;
          if (rng.Chance(options.duplicate_share)) {
            // A retry: same event id, received later (or at the same instant, one time in
            // ten, so the log-offset tie-break decides), sometimes with a shifted event time
            // as a skew correction gives.
            ChunkBuilder::Row d = r;
            d.received_at = rng.Chance(0.1) ? r.received_at : r.received_at + rng.Range(1, 60'000);
            if (rng.Chance(0.5)) d.event_time = r.event_time + rng.Range(1, 50);
            if (d.event_time >= (day + 1) * kDay) d.event_time = r.event_time;
            d.source = "retry";
            d.offset = offsets[partition]++;
            chunk->Append(d);
          }
          if (rng.Chance(options.server_share)) {
            ChunkBuilder::Row sv;
            sv.event_id = new_id();
            sv.event_type = rng.Chance(0.5) ? "api_call" : "job_run";
            sv.event_time = t + rng.Range(0, 500);
            if (sv.event_time >= (day + 1) * kDay) sv.event_time = t;
            sv.received_at = sv.event_time + rng.Range(1, 100);
            sv.user_id = rng.Chance(0.5) ? uid : nullptr;
            sv.anonymous_id = nullptr;
            sv.session_id = nullptr;
            sv.platform = "server";
            sv.source = "billing-service";
            sv.partition = static_cast<int32_t>(rng.Next() % 4);
            sv.offset = server_offsets[sv.partition]++;
            sv.properties = rng.Chance(0.3) ? "{\"revenue\":1.5}" : "";
            sv.device = nullptr;
            sv.lat = 0;
            server_chunk->Append(sv);
          }
          if (produced >= options.events) break;
        }
        t += rng.Range(35 * 60'000, 6 * 3'600'000);
        if (produced >= options.events) break;
      }
      if (produced >= options.events) break;
    }
    if (static_cast<int64_t>(chunk->batch().num_rows()) >= options.chunk_rows) {
      RETURN_IF_ERROR(sink(chunk->batch(), false));
      chunk = std::make_unique<ChunkBuilder>(user_schema, false);
    }
  }
  if (chunk->batch().num_rows() > 0) RETURN_IF_ERROR(sink(chunk->batch(), false));
  if (server_chunk->batch().num_rows() > 0) RETURN_IF_ERROR(sink(server_chunk->batch(), true));
  return Status::Ok();
}

Result<int64_t> WriteBronze(
    const std::string& data_dir, const GeneratorOptions& options,
    const std::function<bool(const lake::ColumnBatch& chunk, size_t row)>& keep) {
  const std::string root = data_dir + "/lake";
  auto open = [&](const char* name, lake::Schema schema) -> Result<std::unique_ptr<lake::Table>> {
    auto t = lake::Table::Open(root, "bronze", name);
    if (t.ok() || t.status().code() != StatusCode::kNotFound) return t;
    return lake::Table::Create(root, "bronze", name, std::move(schema), "event_time");
  };
  ASSIGN_OR_RETURN(auto users, open("user_events", GeneratedUserEventsSchema()));
  ASSIGN_OR_RETURN(auto servers, open("server_events", lake::bronze::EventTableSchema()));
  int64_t written = 0;
  RETURN_IF_ERROR(GenerateEvents(options, [&](const lake::ColumnBatch& chunk, bool server) {
    lake::Table& table = server ? *servers : *users;
    lake::ColumnBatch rows(table.current().schema);
    // Runs of kept rows, copied column by column.
    for (size_t r = 0; r < chunk.num_rows();) {
      if (keep && !keep(chunk, r)) {
        ++r;
        continue;
      }
      size_t end = r + 1;
      while (end < chunk.num_rows() && (!keep || keep(chunk, end))) ++end;
      for (size_t c = 0; c < rows.num_columns(); ++c)
        rows.column(c).AppendRange(chunk.column(c), r, end);
      r = end;
    }
    if (rows.num_rows() == 0) return Status::Ok();
    written += static_cast<int64_t>(rows.num_rows());
    ASSIGN_OR_RETURN(auto files, table.WriteFiles(rows));
    return table.Commit(files, {}, {});
  }));
  return written;
}

}  // namespace tidemark::batch::testing
